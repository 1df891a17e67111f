from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from config import checks  # noqa: F401  (registers the project's system checks)

        from . import signals  # registers the audit receivers

        signals.connect()
