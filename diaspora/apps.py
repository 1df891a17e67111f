from django.apps import AppConfig


class DiasporaConfig(AppConfig):
    name = "diaspora"
    verbose_name = "Diaspora registry"

    def ready(self) -> None:
        from config.links import offer

        offer("registry-join", "diaspora-join")  # the survey's thank-you page and the sign-in page link here
