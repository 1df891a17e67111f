from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.security, deploy=True)
def check_secret_key(app_configs, **kwargs):
    if settings.SECRET_KEY == settings.DEV_SECRET_KEY:
        return [
            Error("SECRET_KEY is the local development key.", hint="Set SECRET_KEY in the environment.", id="kelu.E001")
        ]
    return []


@register(Tags.database)
def check_database_url(app_configs, **kwargs):
    engine = settings.DATABASES["default"]["ENGINE"]
    if settings.DATABASE_URL and "sqlite" not in settings.DATABASE_URL and "postgresql" not in engine:
        return [
            Error(
                f"DATABASE_URL names an unsupported database ({engine}).",
                hint="Use postgres://... or leave it unset for SQLite.",
                id="kelu.E002",
            )
        ]
    return []
