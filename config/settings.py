"""Settings for every environment, read from environment variables.

Unset DATABASE_URL means SQLite in the project folder; unset REDIS_URL means
Celery tasks run in-process. Production sets both (see docker-compose.yml).
"""

import warnings
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from celery.schedules import crontab
from csp.constants import NONE, SELF
from django.utils.translation import gettext_lazy as _

from .env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", default=False)
# The default key is for local runs and tests only; the deploy check
# (`manage.py check --deploy`, run by the web container) refuses it.
DEV_SECRET_KEY = "django-insecure-kelu-local-development-key-do-not-deploy"
SECRET_KEY = env_str("SECRET_KEY", DEV_SECRET_KEY)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_filters",
    "axes",
    "csp",
    "accounts",
    "surveys",
    "diaspora",
    "analytics",
    "privacy",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "config.middleware.RejectNulCharacters",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.audit.AuditActorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # last: turns a sign-in refused by the lockout into its answer (accounts/lockout.py)
    "axes.middleware.AxesMiddleware",
]
# The lockout backend first: it refuses a locked account-and-address before the password is checked.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
AUTH_USER_MODEL = "accounts.User"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "config.landing.site_areas",
            ],
            "libraries": {"site": "config.templatetags.site"},
        },
    },
]

# Database: PostgreSQL in production (DATABASE_URL), SQLite otherwise.
DATABASE_URL = env_str("DATABASE_URL")
DATABASES = {
    "default": dj_database_url.parse(
        DATABASE_URL or f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=env_int("DB_CONN_MAX_AGE", 600 if DATABASE_URL else 0),
        conn_health_checks=bool(DATABASE_URL),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Concurrent writers (gunicorn workers, threads in tests) wait for the
    # write lock instead of failing at once with "database is locked".
    DATABASES["default"]["OPTIONS"] = {"timeout": 20, "transaction_mode": "IMMEDIATE"}
# A PostgreSQL read replica for the analytics frame reads (config/routers.py); in tests
# it mirrors the default database, so the routed reads see the test's rows.
DATABASE_REPLICA_URL = env_str("DATABASE_REPLICA_URL")
if DATABASE_REPLICA_URL:
    DATABASES["replica"] = dj_database_url.parse(
        DATABASE_REPLICA_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 600), conn_health_checks=True
    )
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
DATABASE_ROUTERS = ["config.routers.AnalyticsReplicaRouter"]
# surveys.Response's index of a wave's changes covers (status, id) on PostgreSQL; SQLite keeps
# the index without those columns, which is all the embedded mode needs.
SILENCED_SYSTEM_CHECKS = ["models.W040"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Interface languages: Kazakh, Russian, English.
LANGUAGE_CODE = "en"
LANGUAGES = [("kk", _("Kazakh")), ("ru", _("Russian")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
FORMAT_MODULE_PATH = ["config.formats"]  # Kazakh dates and numbers (Django ships no kk formats)
TIME_ZONE = "Asia/Almaty"
USE_I18N = True
USE_TZ = True

# Without collectstatic (local runs, tests) there is no STATIC_ROOT yet; app
# static files are then served through the finders.
WHITENOISE_USE_FINDERS = True
warnings.filterwarnings("ignore", message="No directory at")
STATIC_URL = "static/"
# The site's own layout and scripts, below every app (templates/base.html loads them).
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(BASE_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        # Compressed, without a manifest: a page never fails over a missing
        # manifest entry when collectstatic has not run (tests, local runs).
        "BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"
    },
}
# Uploaded XLSForms are small; anything larger is refused before parsing.
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
XLSFORM_MAX_BYTES = env_int("XLSFORM_MAX_BYTES", 5 * 1024 * 1024)

LOGIN_URL = "login"
SESSION_ENGINE = "config.sessions"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first: an API client without credentials gets 401 with WWW-Authenticate.
        "config.authentication.StrictTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "config.pagination.StrictLimitOffsetPagination",
    "PAGE_SIZE": 50,
    # Per user (per address for anonymous calls); sign-in attempts are limited by the lockout below.
    "DEFAULT_THROTTLE_CLASSES": ["config.throttles.UserThrottle"],
    "DEFAULT_PARSER_CLASSES": [
        "config.parsers.SafeJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    # \u escapes in JSON output: text that cannot be encoded (a lone surrogate
    # echoed in an error message) can never break a response.
    "UNICODE_JSON": False,
    # Client addresses for throttling: REMOTE_ADDR unless a number of trusted
    # proxies is declared; a client-written X-Forwarded-For is never trusted.
    "NUM_PROXIES": env_int("NUM_PROXIES", 0),
}
# /healthz: past this age of the oldest job waiting for a worker, workers count as behind.
HEALTH_JOB_WAIT_SECONDS = env_int("HEALTH_JOB_WAIT_SECONDS", 300)
API_USER_THROTTLE_RATE = env_str("API_USER_THROTTLE_RATE", "600/min")
# Sign-in lockout (django-axes; accounts/lockout.py): failures are kept in the database, so
# signing in never depends on the cache. One account from one address is paused after
# LOGIN_FAILURE_LIMIT failures, one address over all accounts after LOGIN_ADDRESS_FAILURE_LIMIT;
# the right password from another address still signs in.
AXES_HANDLER = "accounts.lockout.AccountAndAddressHandler"
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "ip_address"]
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
LOGIN_ADDRESS_FAILURE_LIMIT = env_int("LOGIN_ADDRESS_FAILURE_LIMIT", 30)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_LOCKOUT_MINUTES", 15))
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "accounts.lockout.client_address"
AXES_LOCKOUT_CALLABLE = "accounts.lockout.locked_out"
AXES_VERBOSE = False
# How long a process trusts a verified API token before checking it again
# (see config/authentication.py); 0 checks the database on every request.
TOKEN_CACHE_SECONDS = env_int("TOKEN_CACHE_SECONDS", 30)
SPECTACULAR_SETTINGS = {
    "TITLE": "Kelu API",
    "DESCRIPTION": (
        "Surveys of graduates and the diaspora, the diaspora registry and "
        "analytics. Authenticate with a session or `Authorization: Token <key>`."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI assets ship with the project: the docs work without a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "config.openapi.add_error_responses",
    ],
    "ENUM_NAME_OVERRIDES": {
        "VersionStatusEnum": "surveys.models.SurveyVersion.Status",
        "ResponseStatusEnum": "surveys.models.Response.Status",
        "ConsentPurposeEnum": "diaspora.models.Consent.Purpose",
        "RequestFormatEnum": "diaspora.models.ExpertiseRequest.Format",
        "ExportFormatEnum": "surveys.models.ExportJob.Format",
        # choice sets used under one field name by several serializers (named once here)
        "LanguageEnum": "surveys.serializers.LANGUAGE_CHOICES",
        "JobStatusEnum": "config.jobs.Job.Status",
    },
}

# Celery: Redis broker in production; in-process execution without REDIS_URL.
REDIS_URL = env_str("REDIS_URL")
if REDIS_URL and env_str("PYTEST_XDIST_WORKER"):
    # Tests spread over processes (pytest -n): each process gets a Redis database of its own
    # (gw0 -> 1, gw1 -> 2, ...), as it gets a test database of its own, so one process's
    # cache.clear() or queue never touches another's. The Celery workers that tests start
    # inherit the variable and land on the same database.
    REDIS_URL = urlsplit(REDIS_URL)._replace(path=f"/{1 + int(env_str('PYTEST_XDIST_WORKER')[2:])}").geturl()
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
# What keeps a task from being lost when its worker is killed (tests/platform/test_worker_kill.py
# kills pool children and then the whole worker during 1,000 jobs: 0 lost, 0 effects twice with
# these; tasks lost with Celery's defaults). The CELERY_* variables below exist for that test's
# control run; leave them unset.
# Every task is idempotent (job rows claimed by conditional UPDATE, effects upserted), so a task is
# acknowledged only after it ran: a worker killed mid-task leaves its message to be delivered again.
CELERY_TASK_ACKS_LATE = env_bool("CELERY_TASK_ACKS_LATE", default=True)
# Without this, acks_late does not cover a killed pool child: its parent acknowledges the message
# (WorkerLostError) and the task is lost; with it, the message is put back at once.
CELERY_TASK_REJECT_ON_WORKER_LOST = env_bool("CELERY_TASK_REJECT_ON_WORKER_LOST", default=True)
# Long jobs: a worker takes one message at a time so others are not starved, and a killed worker
# leaves no more than one waiting message per process to be given back late.
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Above the longest task's hard limit, or Redis redelivers a running task.
CELERY_TASK_TIME_LIMIT = 60 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 55 * 60
CELERY_BROKER_TRANSPORT_OPTIONS = {
    # A message taken by a worker that then vanished whole (SIGKILL, a lost machine) is put
    # back by kombu only once this has passed since delivery: above the longest task, or a
    # running task would be delivered twice (harmless, the claim lets one run, but wasted).
    # Sooner than that, the job rows' leases and the beat sweepers (config/jobs.py,
    # emails_sweep_stale) send the work again; the message is the fast path, the row the promise.
    "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 2 * 60 * 60),
    # How often a worker looks for such expired messages: kombu's defaults (every 10 s, throttled
    # x10) look about every 100 s on top of the timeout (the reference's fault-injection table:
    # tasks still missing at the end of its window); every 10 s without throttle, a whole killed
    # worker's messages come back within ~10 s of their timeout. The worker-kill test bounds this
    # time (it waits for them); what makes its control run lose tasks is the two settings above.
    "unacked_restore_interval": env_int("CELERY_UNACKED_RESTORE_INTERVAL", 10),
    "unacked_restore_throttle": env_int("CELERY_UNACKED_RESTORE_THROTTLE", 1),
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Queues (docker-compose.yml's worker consumes all three; scale them apart as
# load grows): interactive for short user-facing jobs, bulk for mailings and
# aggregation, export for long file builds.
CELERY_TASK_DEFAULT_QUEUE = "interactive"
KELU_CELERY_QUEUES = ("interactive", "bulk", "export")
# --- invitations, reminders and webhooks (surveys/services/invitations.py, webhooks.py)
# Periodic jobs; each is idempotent, so an overlapping or repeated run is harmless.
CELERY_BEAT_SCHEDULE = {
    # Due invitations and reminders, throttled per wave by Wave.send_rate_per_minute.
    "invitations-send-due": {"task": "surveys.emails_send_due", "schedule": 60.0},
    # Rows left in `sending` by a worker that died (see emails_sweep_stale for the rule).
    "invitations-sweep-stale": {"task": "surveys.emails_sweep_stale", "schedule": 300.0},
    # Webhook deliveries whose retry is due, and any whose enqueue was lost.
    "webhooks-deliver-due": {"task": "surveys.webhooks_deliver_due", "schedule": 30.0},
}
# Mailings go to the bulk queue, so a large wave never delays interactive work.
CELERY_TASK_ROUTES = {
    "surveys.wave_invite": {"queue": "bulk"},
    "surveys.emails_*": {"queue": "bulk"},
    # "Send invitations" from the staff pages: a job row, swept like the other jobs.
    "surveys.invitation_send_*": {"queue": "bulk"},
}
CELERY_BEAT_SCHEDULE["invitation-send-sweep"] = {"task": "surveys.invitation_send_sweep", "schedule": 120.0}
# Export jobs never sent (the broker was down) or left by a dead worker: sent again.
CELERY_BEAT_SCHEDULE["exports-sweep"] = {"task": "surveys.exports_sweep", "schedule": 120.0}
CELERY_TASK_ROUTES["surveys.exports_sweep"] = {"queue": "interactive"}
CELERY_TASK_ROUTES["surveys.export_build"] = {"queue": "export"}
# --- end invitations, reminders and webhooks

# A shared cache (Redis) in production, so throttles count across processes.
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

# Without a mail server configured, each message is written to a file in EMAIL_FILE_PATH
# (a local run's terminal stays readable; the demo's summary says where to look).
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.filebased.EmailBackend")
EMAIL_FILE_PATH = env_str("EMAIL_FILE_PATH", str(BASE_DIR / "var" / "mail"))
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "kelu@localhost")
# --- invitations, reminders and webhooks: mail transport, links, throttles
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", default=False)
# A hung mail server cannot hold a claimed batch longer than this per command.
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 30)
# Links in invitations: /i/<token>/ (answer) and /o/<token>/ (one-click opt-out).
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
# Messages claimed and sent over one SMTP connection.
INVITATION_SEND_BATCH = env_int("INVITATION_SEND_BATCH", 200)
# A row in `sending` longer than this belongs to a dead worker (far above a batch's
# duration: EMAIL_TIMEOUT per command times a few commands per message).
INVITATION_STALE_SECONDS = env_int("INVITATION_STALE_SECONDS", 15 * 60)
WEBHOOK_TIMEOUT_SECONDS = env_int("WEBHOOK_TIMEOUT_SECONDS", 10)
WEBHOOK_MAX_ATTEMPTS = env_int("WEBHOOK_MAX_ATTEMPTS", 8)
# First retry after this many seconds, doubling each time (30 s ... ~1 h for 8 attempts).
WEBHOOK_BACKOFF_SECONDS = env_int("WEBHOOK_BACKOFF_SECONDS", 30)
# How long a process trusts its list of surveys with webhook endpoints (the submission path
# would otherwise query it on every response); a catch-up after this delay records what a
# new endpoint's first seconds would have missed.
WEBHOOK_ENDPOINT_CACHE_SECONDS = env_int("WEBHOOK_ENDPOINT_CACHE_SECONDS", 10)
# Webhooks reach public addresses only (config/outbound.py); true for a closed test network.
WEBHOOK_ALLOW_PRIVATE_ADDRESSES = env_bool("WEBHOOK_ALLOW_PRIVATE_ADDRESSES", default=False)
# --- end invitations, reminders and webhooks

# Content-Security-Policy on every answer (django-csp): scripts, styles, images and fonts from
# the platform itself only, no inline script or style, no plugins, no framing. Browsers report
# refusals to /csp-report/ (config/csp.py); the browser tests fail on any.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "report-uri": ["/csp-report/"],
    }
}

# HTTPS hardening, on by default outside DEBUG; a deployment behind a TLS
# proxy sets SECURE_PROXY_SSL_HEADER=true so Django knows the request was secure.
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", default=not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
# Production sets SECURE_SSL_REDIRECT=true (or redirects in its TLS proxy); off by default so
# that a plain-HTTP trial run (docker compose on localhost) and the tests are not redirected.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=False)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # probes from inside the deployment speak plain HTTP
# HSTS: browsers come back only over HTTPS for a year. Sent on HTTPS answers only, so it is on
# by default outside DEBUG; preloading is a deployment's own decision (SECURE_HSTS_PRELOAD).
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 365 * 24 * 60 * 60)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", default=False)
if env_bool("SECURE_PROXY_SSL_HEADER", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    # In-process tasks (no REDIS_URL) use kombu's memory transport, which has no host
    # to name: its "No hostname was supplied" warning says nothing useful there.
    "loggers": {} if REDIS_URL else {"kombu.connection": {"level": "ERROR"}},
}

# --- diaspora registry and matching
# A profile not confirmed for this many days ranks lower and its owner is warned; one
# still unconfirmed this many days after the warning is hidden until it is confirmed.
REGISTRY_CONFIRM_DAYS = env_int("REGISTRY_CONFIRM_DAYS", 365)
REGISTRY_STALE_GRACE_DAYS = env_int("REGISTRY_STALE_GRACE_DAYS", 30)
# Optional sentence-embedding backend for the text score ("" = TF-IDF only; see README).
MATCHING_EMBEDDING_BACKEND = env_str("MATCHING_EMBEDDING_BACKEND", "")
# How long a process may answer top-20 queries from its in-memory expert index before
# rebuilding it even if no profile changed (capacities are re-checked on every query).
MATCHING_INDEX_MAX_AGE_SECONDS = env_int("MATCHING_INDEX_MAX_AGE_SECONDS", 600)
# While profiles change, rebuild the index in the background at most this often; until then the
# people changed are ranked from fresh rows (and at most this many of them: beyond, rebuild now).
MATCHING_INDEX_REFRESH_SECONDS = env_int("MATCHING_INDEX_REFRESH_SECONDS", 60)
MATCHING_INDEX_DELTA_LIMIT = env_int("MATCHING_INDEX_DELTA_LIMIT", 2000)
# Rebuild in a background thread (off only in tests that run inside one uncommitted transaction,
# which another connection cannot see).
MATCHING_INDEX_BACKGROUND = env_bool("MATCHING_INDEX_BACKGROUND", default=True)
CELERY_BEAT_SCHEDULE.update(
    {
        # Proposals for open requests, once a night; the run is keyed by date, so a repeat is a no-op.
        "matching-nightly": {"task": "diaspora.matching_nightly", "schedule": crontab(hour=2, minute=0)},
        # Offers past their expiry cascade to the next candidate.
        "matching-expire-offers": {"task": "diaspora.matches_expire_due", "schedule": 900.0},
        # runs never sent, or left running by a dead worker (their lease expired): sent again
        "matching-runs-sweep": {"task": "diaspora.matching_runs_sweep", "schedule": 120.0},
        # Yearly confirmation: warn the owners of stale profiles.
        "registry-warn-stale": {"task": "diaspora.people_warn_stale", "schedule": crontab(hour=3, minute=30)},
        "messages-notify": {"task": "diaspora.messages_notify_due", "schedule": 120.0},
    }
)
CELERY_TASK_ROUTES["diaspora.matching_*"] = {"queue": "bulk"}

# --- work obligations (diaspora/services/obligations.py)
# Every participation's standing is recomputed each night (statuses move with the calendar);
# a rerun the same day writes nothing. Administrators get a weekly digest of what changed.
OBLIGATION_UNVERIFIED_MONTHS = env_int("OBLIGATION_UNVERIFIED_MONTHS", 12)  # at risk without a verified episode
OBLIGATION_EMPLOYER_LINK_DAYS = env_int("OBLIGATION_EMPLOYER_LINK_DAYS", 30)  # an employer's link expires
CELERY_BEAT_SCHEDULE.update(
    {
        # The night's recompute job row (once a day); the job's own task runs it.
        "obligations-nightly": {"task": "diaspora.obligations_nightly", "schedule": crontab(hour=1, minute=0)},
        # recomputes never sent, or left running by a dead worker (their lease expired): sent again
        "obligations-recompute-sweep": {"task": "diaspora.obligations_recompute_sweep", "schedule": 120.0},
        # Participants' completed survey responses become self-reported episodes (off the submission path).
        "obligations-from-responses": {"task": "diaspora.obligations_from_responses", "schedule": 600.0},
        "obligations-digest": {
            "task": "diaspora.obligations_digest",
            "schedule": crontab(hour=6, minute=0, day_of_week="mon"),
        },
    }
)
CELERY_TASK_ROUTES["diaspora.obligations_*"] = {"queue": "bulk"}

# --- analytics (analytics/services/aggregation.py)
# Aggregation jobs have a queue of their own, so a night of recomputes never delays
# mailings or exports; each wave is one job, so more workers finish more waves at once.
KELU_CELERY_QUEUES = (*KELU_CELERY_QUEUES, "analytics")
CELERY_TASK_ROUTES["analytics.*"] = {"queue": "analytics"}
CELERY_BEAT_SCHEDULE.update(
    {
        # Every wave with responses changed since its last build (a rerun with unchanged inputs writes nothing).
        "analytics-nightly": {"task": "analytics.aggregation_nightly", "schedule": crontab(hour=1, minute=30)},
        # Waves that closed since the last look get their final figures.
        "analytics-closed-waves": {"task": "analytics.aggregation_closed_waves", "schedule": 900.0},
        # Jobs whose worker died (lease expired) or whose enqueue was lost.
        "analytics-sweep": {"task": "analytics.aggregation_sweep", "schedule": 120.0},
        "research-export-sweep": {"task": "analytics.research_export_sweep", "schedule": 120.0},
    }
)
# --- anonymised research exports (analytics/services/research.py)
# k-anonymity thresholds by licence (the SDC Practice Guide's usual 5 and 3) and how long a
# download link lasts.
RESEARCH_K_PUBLIC = env_int("RESEARCH_K_PUBLIC", 5)
RESEARCH_K_LICENSED = env_int("RESEARCH_K_LICENSED", 3)
RESEARCH_LINK_DAYS = env_int("RESEARCH_LINK_DAYS", 7)
# A worker renews its job's lease at every step; a lease this long outlives any step.
JOB_LEASE_SECONDS = env_int("JOB_LEASE_SECONDS", 300)
# Fault-injection tests only: a pause after each progress report, so a worker can be killed mid-job.
JOB_STEP_PAUSE_SECONDS = float(env_str("JOB_STEP_PAUSE_SECONDS", "0") or 0)
# Incremental frame builds re-read responses changed this long before the last watermark
# (a transaction that committed late is not missed).
ANALYTICS_WATERMARK_OVERLAP_SECONDS = env_int("ANALYTICS_WATERMARK_OVERLAP_SECONDS", 120)
# Connections (so server processes) that read one wave's frame at once on PostgreSQL.
ANALYTICS_READ_CONNECTIONS = env_int("ANALYTICS_READ_CONNECTIONS", 2)
# Primary suppression: a published cell needs at least this many respondents (unweighted).
ANALYTICS_MIN_CELL = {
    "public": env_int("ANALYTICS_MIN_CELL_PUBLIC", 10),
    "programme": env_int("ANALYTICS_MIN_CELL_PROGRAMME", 5),
}
