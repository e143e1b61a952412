"""Mashup Studio settings: one file, every value from the environment.

Every variable has a default that runs on a fresh checkout (SQLite, django-q2's ORM broker,
the local engine, DEBUG off). The README lists them all. The helpers below fail loudly on a
value they cannot read, so that a typo in production is an error at start-up, not a
surprise at run time.
"""

from __future__ import annotations

import os
import secrets
import warnings
from datetime import timedelta
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean (use 1/0, true/false, yes/no)")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not an integer") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name}={value} must be at least {minimum}")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    value = os.environ.get(name, default).strip().lower()
    if value not in choices:
        raise ImproperlyConfigured(f"{name}={value!r} must be one of {', '.join(choices)}")
    return value


# Where the app keeps what it makes at run time (database, media, secret key): one folder,
# ignored by git, so a fresh checkout starts clean.
VAR_DIR = Path(env_str("VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def _secret_key() -> str:
    """SECRET_KEY from the environment, else one generated once and kept in VAR_DIR."""
    if key := os.environ.get("SECRET_KEY"):
        return key
    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
# A form sent from a page opened before its sender signed in again: a designed page.
CSRF_FAILURE_VIEW = "mashup_site.errors.csrf_failure"
# The address the remote provider uses to reach us: callbacks and source downloads.
PUBLIC_BASE_URL = env_str("PUBLIC_BASE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "django_q",
    "axes",
    "mashup_site.mashups",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # A 405 (an address that takes only a form, opened by hand) as the designed page.
    "mashup_site.errors.MethodNotAllowedPage",
    # Everything past the static files is someone's (Cache-Control: private).
    "mashup_site.mashups.privacy.PrivateCacheMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Who is asking is known before the CSRF check reads (parses) a multipart body, so the
    # upload gate can refuse it unread (mashups/uploads.py).
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "mashup_site.mashups.uploads.UploadGateMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes asks: answers a locked-out sign-in with its lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "mashup_site.urls"
WSGI_APPLICATION = "mashup_site.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]


def _databases() -> dict[str, dict[str, object]]:
    url = os.environ.get("DATABASE_URL")
    if not url:
        return {
            "default": {
                "ENGINE": "django.db.backends.sqlite3",
                "NAME": VAR_DIR / "db.sqlite3",
                # The worker and the web server write to one file: wait for the lock
                # instead of failing, and start write transactions eagerly.
                "OPTIONS": {"timeout": 20, "transaction_mode": "IMMEDIATE"},
            }
        }
    import dj_database_url

    config = dj_database_url.parse(url, conn_max_age=60, conn_health_checks=True)
    return {"default": dict(config)}


DATABASES = _databases()
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Sign-in throttle (django-axes): SIGNIN_FAILURE_LIMIT wrong passwords for one account, or
# from one address, shut that door for SIGNIN_LOCKOUT_MINUTES. Failures during a lockout
# do not extend it, so a stranger cannot keep a person out for longer than that.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("SIGNIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("SIGNIN_LOCKOUT_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # each on its own
AXES_RESET_ON_SUCCESS = True
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_CLIENT_IP_CALLABLE = "mashup_site.proxy.client_ip"
AXES_VERBOSE = False
# Behind proxies (a load balancer), how many append to X-Forwarded-For: the client's address
# is that many entries from its right end. 0: REMOTE_ADDR is the client.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0, minimum=0)

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "mashups:gallery"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(VAR_DIR / "staticfiles")))
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))
# Media is never served as public static files: every file goes through a view that checks
# its owner (or an expiring token for the remote provider).
MEDIA_URL = "/media/"


def _storages() -> dict[str, dict[str, object]]:
    static_backend = (
        "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if env_bool("STATIC_MANIFEST", not DEBUG)
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    )
    default: dict[str, object] = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
    if env_choice("STORAGE", "local", ("local", "s3")) == "s3":
        # django-storages reads its options from settings, not the environment; boto3 reads
        # only the keys (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY) from the environment.
        default = {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": env_str("AWS_STORAGE_BUCKET_NAME", ""),
                "endpoint_url": env_str("AWS_S3_ENDPOINT_URL", "") or None,
                "region_name": env_str("AWS_S3_REGION_NAME", "") or None,
                "default_acl": "private",
                "querystring_auth": True,
            },
        }
    return {"default": default, "staticfiles": {"BACKEND": static_backend}}


STORAGES = _storages()

# The cache (rendered gallery pages): per process by default; CACHE=redis shares it between
# every web worker and machine (Django's own Redis backend, at REDIS_URL).
REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")
if env_choice("CACHE", "local", ("local", "redis")) == "redis":
    # Degrades to no cache while Redis is down (mashup_site/cache.py): pages, not 500s.
    CACHES = {
        "default": {
            "BACKEND": "mashup_site.cache.DegradingRedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }

# Uploads always stream to a temporary file on disk, never into memory (docs/design.md, rule 7), and
# stop taking space once they pass UPLOAD_MAX_MB (they are refused by size).
FILE_UPLOAD_HANDLERS = ["mashup_site.mashups.uploads.CappedTemporaryFileUploadHandler"]
FILE_UPLOAD_TEMP_DIR = None
UPLOAD_MAX_MB = env_int("UPLOAD_MAX_MB", 50, minimum=1)
# A whole multipart request; 0 means four times UPLOAD_MAX_MB. Larger bodies are refused
# by their Content-Length before a byte is read; only signed-in people may send files, and
# only in the fields of the form they post (mashups/uploads.py).
UPLOAD_MAX_REQUEST_MB = env_int("UPLOAD_MAX_REQUEST_MB", 0, minimum=0)
DATA_UPLOAD_MAX_NUMBER_FILES = 2  # the create form's two songs

# Content Security Policy (Django's own middleware). htmx is served from our static files
# and its indicator styles are injected with the request's nonce.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF, CSP.NONCE],
    "img-src": [CSP.SELF, "data:", "https:"],
    "media-src": [CSP.SELF, "https:"],
    "connect-src": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
}

# SECURE_COOKIES=1 means the site is served over HTTPS only: secure cookies, HSTS for
# HSTS_SECONDS (a year), and plain-HTTP requests redirected to HTTPS (but /healthz, which
# load balancers probe over HTTP). Behind a proxy that terminates TLS, SECURE_PROXY_SSL_HEADER
# names the header it sets ("X-Forwarded-Proto: https"), or every request looks like HTTP
# and the redirect never ends; only set it when the proxy always sets (or strips) it.
SECURE_COOKIES = env_bool("SECURE_COOKIES", False)
SESSION_COOKIE_SECURE = SECURE_COOKIES
CSRF_COOKIE_SECURE = SECURE_COOKIES
SECURE_SSL_REDIRECT = SECURE_COOKIES
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = env_int("HSTS_SECONDS", 31_536_000 if SECURE_COOKIES else 0, minimum=0)


def _proxy_ssl_header() -> tuple[str, str] | None:
    raw = os.environ.get("SECURE_PROXY_SSL_HEADER", "").strip()
    if not raw:
        return None
    name, colon, value = raw.partition(":")
    if not colon or not name.strip() or not value.strip():
        raise ImproperlyConfigured(
            f"SECURE_PROXY_SSL_HEADER={raw!r} must read 'Header-Name: value', "
            "e.g. 'X-Forwarded-Proto: https'"
        )
    return "HTTP_" + name.strip().upper().replace("-", "_"), value.strip()


SECURE_PROXY_SSL_HEADER = _proxy_ssl_header()
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# --- Mashups ----------------------------------------------------------------------------

MASHUP_PROVIDER = env_choice("MASHUP_PROVIDER", "local", ("local", "remote"))
MASHUP_API_KEY = env_str("MASHUP_API_KEY", "")
MASHUP_API_BASE_URL = env_str("MASHUP_API_BASE_URL", "https://api.sunoapi.org").rstrip("/")
if MASHUP_PROVIDER == "remote" and not MASHUP_API_KEY:
    raise ImproperlyConfigured("MASHUP_PROVIDER=remote needs MASHUP_API_KEY")
RETENTION_DAYS = env_int("RETENTION_DAYS", 14, minimum=1)
# Per person: jobs running at once, and jobs started in any 24 hours (protects credits).
MASHUP_MAX_ACTIVE_PER_USER = env_int("MASHUP_MAX_ACTIVE_PER_USER", 2, minimum=1)
MASHUP_MAX_PER_DAY = env_int("MASHUP_MAX_PER_DAY", 20, minimum=1)
# Remote jobs: when to give up waiting, how fast to submit, how to trust callbacks.
MASHUP_GIVE_UP_MINUTES = env_int("MASHUP_GIVE_UP_MINUTES", 30, minimum=1)
# The reconciler: a queued job no worker took this long after it was handed to the broker
# is handed again (a broker that lost it); a local job is run at most this many times
# (each worker that died with it counts).
MASHUP_UNCLAIMED_MINUTES = env_int("MASHUP_UNCLAIMED_MINUTES", 5, minimum=1)
MASHUP_MAX_ATTEMPTS = env_int("MASHUP_MAX_ATTEMPTS", 3, minimum=1)
MASHUP_SUBMIT_RATE = env_int("MASHUP_SUBMIT_RATE", 20, minimum=1)  # per MASHUP_SUBMIT_WINDOW
MASHUP_SUBMIT_WINDOW = env_int("MASHUP_SUBMIT_WINDOW", 10, minimum=1)  # seconds
MASHUP_API_TIMEOUT = env_int("MASHUP_API_TIMEOUT", 20, minimum=1)
MASHUP_WEBHOOK_HMAC_KEY = env_str("MASHUP_WEBHOOK_HMAC_KEY", "")
# Uploaded sources are served to the remote provider at unguessable URLs for this long.
MASHUP_SOURCE_URL_HOURS = env_int("MASHUP_SOURCE_URL_HOURS", 24, minimum=1)
# How uploaded songs reach the remote provider (providers/delivery.py): ``link`` serves them
# at the secret links above (PUBLIC_BASE_URL must be reachable from the internet), ``upload``
# sends them to the reseller's upload service, ``auto`` uploads when PUBLIC_BASE_URL is a
# loopback, private or link-local address or a local name.
MASHUP_SOURCE_DELIVERY = env_choice("MASHUP_SOURCE_DELIVERY", "auto", ("auto", "link", "upload"))
# The reseller's upload service: a host of its own, the same key (docs/api-contract.md).
MASHUP_UPLOAD_BASE_URL = env_str(
    "MASHUP_UPLOAD_BASE_URL", "https://sunoapiorg.redpandaai.co"
).rstrip("/")
# Fetching a source URL for the local engine, or a result for our copy.
MASHUP_FETCH_MAX_MB = env_int("MASHUP_FETCH_MAX_MB", UPLOAD_MAX_MB, minimum=1)
MASHUP_FETCH_TIMEOUT = env_int("MASHUP_FETCH_TIMEOUT", 120, minimum=1)


# Fetches refuse private, loopback and link-local addresses. People's links always; the
# provider's result files too, unless this allows them (tests, a provider running on this
# machine). MASHUP_FETCH_ALLOW_PRIVATE was its old name (it read as if it also covered
# people's links, which it did): still read, with a warning.
def _results_allow_private() -> bool:
    if (
        "MASHUP_RESULTS_ALLOW_PRIVATE" in os.environ
        or "MASHUP_FETCH_ALLOW_PRIVATE" not in os.environ
    ):
        return env_bool("MASHUP_RESULTS_ALLOW_PRIVATE", False)
    warnings.warn(
        "MASHUP_FETCH_ALLOW_PRIVATE is deprecated: it only ever concerns the provider's "
        "result files now; set MASHUP_RESULTS_ALLOW_PRIVATE instead",
        FutureWarning,
        stacklevel=1,
    )
    return env_bool("MASHUP_FETCH_ALLOW_PRIVATE", False)


MASHUP_RESULTS_ALLOW_PRIVATE = _results_allow_private()

# --- django-q2 --------------------------------------------------------------------------
# The ORM broker needs nothing but the database; Redis is the production switch.
Q_BROKER = env_choice("Q_BROKER", "orm", ("orm", "redis"))
Q_CLUSTER: dict[str, object] = {
    "name": "mashups",
    "workers": env_int("Q_WORKERS", 2, minimum=1),
    # A job may run the engine for a while; timeout < retry, as django-q2 requires.
    "timeout": env_int("Q_TIMEOUT", 600, minimum=10),
    "retry": env_int("Q_RETRY", 720, minimum=20),
    "max_attempts": 3,
    "catch_up": False,
    # Seconds the ORM broker's idle pusher sleeps between looks: also how long a stopping
    # worker waits for it (the worker stops within about 2 s when idle).
    "poll": 0.5,
    "label": "Task queue",
}
if Q_CLUSTER["retry"] <= Q_CLUSTER["timeout"]:  # type: ignore[operator]
    # Otherwise django-q2 hands a still-running task to a second worker.
    raise ImproperlyConfigured(
        f"Q_RETRY ({Q_CLUSTER['retry']}) must be longer than Q_TIMEOUT ({Q_CLUSTER['timeout']})"
    )
if Q_BROKER == "redis":
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    # Secret tokens in URLs (callbacks, source links, password resets) are blanked from
    # every line (mashup_site/logs.py; gunicorn's access log: the Procfile's logger class).
    "filters": {"secrets": {"()": "mashup_site.logs.RedactSecrets"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["secrets"]}
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.server": {"handlers": ["console"], "propagate": False},  # runserver's lines
        "django.db.backends": {"level": "WARNING"},
        "axes": {"level": "WARNING"},  # a line per sign-in otherwise
    },
}
