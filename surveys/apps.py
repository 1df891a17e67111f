from django.apps import AppConfig


class SurveysConfig(AppConfig):
    name = "surveys"
    verbose_name = "Surveys"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from .models import WebhookEndpoint
        from .services.webhooks import forget_webhook_endpoints

        # Cache invalidation only: the process that changes an endpoint forgets its cached list.
        for signal in (post_save, post_delete):
            signal.connect(
                lambda **kwargs: forget_webhook_endpoints(), sender=WebhookEndpoint, weak=False, dispatch_uid=signal
            )
