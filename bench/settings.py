"""Settings for benchmark runs: the platform's own, plus the bare baseline endpoint."""

from config.settings import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "bench.baseline"]  # noqa: F405
ROOT_URLCONF = "bench.urls"
DEBUG = False
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "WARNING"}}
