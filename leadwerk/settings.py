"""Leadwerk settings: everything comes from environment variables with embedded defaults."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent
VAR_DIR = Path(os.environ.get("LEADWERK_VAR_DIR", BASE_DIR.parent / "var")).resolve()
VAR_DIR.mkdir(parents=True, exist_ok=True)


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _secret_key() -> str:
    """Use LEADWERK_SECRET_KEY, else a random key generated once and kept in var/."""
    key = os.environ.get("LEADWERK_SECRET_KEY")
    if key:
        return key
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        import secrets

        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = env_bool("LEADWERK_DEBUG", False)
ALLOWED_HOSTS = [
    h.strip()
    for h in os.environ.get("LEADWERK_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")
    if h.strip()
]
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in os.environ.get("LEADWERK_CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()
]
# The public URL under which forms, snippets and links in e-mails are reachable.
LEADWERK_BASE_URL = os.environ.get("LEADWERK_BASE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "django_tasks",
    "django_tasks_db",
    "axes",
    "leadwerk.accounts",
    "leadwerk.throttle",
    "leadwerk.contacts",
    "leadwerk.campaigns",
    "leadwerk.leads",
    "leadwerk.activities",
    "leadwerk.audit",
    "leadwerk.consent",
    "leadwerk.messaging",
    "leadwerk.privacy",
    "leadwerk.exports",
    "leadwerk.routing",
    "leadwerk.scoring",
    "leadwerk.demo",
    "leadwerk.dedup",
    "leadwerk.imports",
    "leadwerk.dataquality",
]
if env_bool("LEADWERK_BENCH", False):
    # Only for bench/: a bare insert view as the same-run baseline.
    INSTALLED_APPS.append("bench.baseline")

MIDDLEWARE = [
    "leadwerk.api_limits.BodySizeLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "leadwerk.audit.middleware.AuditContextMiddleware",
    # Last, as django-axes asks: it turns a lock-out into its answer.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "leadwerk.urls"
WSGI_APPLICATION = "leadwerk.wsgi.application"

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
                "leadwerk.accounts.context_processors.navigation",
            ],
        },
    },
]

# --- database ---------------------------------------------------------------
SQLITE_PATH = VAR_DIR / "leadwerk.sqlite3"
DATABASE_URL = os.environ.get("DATABASE_URL", "")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": SQLITE_PATH,
            # Keep each worker thread's connection: opening one (and running the PRAGMAs
            # below) costs about as much as a whole simple request.
            "CONN_MAX_AGE": 600,
        }
    }
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            # WAL lets readers work while one writer writes; IMMEDIATE takes the
            # write lock at BEGIN so concurrent writers queue instead of failing.
            "init_command": (
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
                "PRAGMA busy_timeout=20000; PRAGMA foreign_keys=ON;"
            ),
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        }
    )
    DATABASES["default"].setdefault("TEST", {})
    if os.environ.get("LEADWERK_TEST_SQLITE_FILE"):
        DATABASES["default"]["TEST"]["NAME"] = os.environ["LEADWERK_TEST_SQLITE_FILE"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- auth -------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "leads:inbox"
LOGOUT_REDIRECT_URL = "accounts:login"
AUTHENTICATION_BACKENDS = [
    # django-axes first: it refuses locked-out credentials before the password is checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

# --- i18n -------------------------------------------------------------------
LANGUAGE_CODE = "de"
LANGUAGES = [("de", _("German")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = os.environ.get("LEADWERK_TIME_ZONE", "Europe/Berlin")
USE_TZ = True

# --- static -----------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
# leadwerk/ is a package, not an app: its own static folder must be named here.
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
MEDIA_ROOT = VAR_DIR / "media"

# --- security ---------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
# The CSRF token reaches htmx through the page (hx-headers), never through JavaScript
# reading the cookie.
CSRF_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("LEADWERK_SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
# A working day; signing in again after that is cheap, a stolen session is not.
SESSION_COOKIE_AGE = int(os.environ.get("LEADWERK_SESSION_SECONDS", str(12 * 3600)))
if SESSION_COOKIE_SECURE:
    # Behind HTTPS: tell browsers to stay on HTTPS and trust the proxy's scheme header.
    SECURE_HSTS_SECONDS = int(os.environ.get("LEADWERK_HSTS_SECONDS", str(365 * 24 * 3600)))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("LEADWERK_HSTS_SUBDOMAINS", False)
    SECURE_SSL_REDIRECT = env_bool("LEADWERK_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# Request bodies: the API enforces its own per-endpoint limits (413), see api_limits.
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

# Content-Security-Policy (django-csp): no inline scripts or styles anywhere, no eval; the
# app may not be framed. Public web forms widen frame-ancestors for themselves only.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# Login throttling and lock-out (django-axes, counted in the database so that it holds
# across processes): after this many failures for a username from one address, that pair
# is locked for the cool-off time.
AXES_FAILURE_LIMIT = int(os.environ.get("LEADWERK_LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("LEADWERK_LOGIN_COOLOFF_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "leadwerk.audit.context.client_ip"
AXES_LOCKOUT_TEMPLATE = "accounts/locked.html"
AXES_VERBOSE = False

# --- tasks ------------------------------------------------------------------
TASKS = {
    "default": {
        "BACKEND": os.environ.get("LEADWERK_TASK_BACKEND", "django_tasks_db.DatabaseBackend"),
    }
}

# --- e-mail -----------------------------------------------------------------
EMAIL_HOST = os.environ.get("LEADWERK_EMAIL_HOST", "127.0.0.1")
EMAIL_PORT = int(os.environ.get("LEADWERK_EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("LEADWERK_EMAIL_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("LEADWERK_EMAIL_PASSWORD", "")
EMAIL_USE_TLS = env_bool("LEADWERK_EMAIL_TLS", False)
DEFAULT_FROM_EMAIL = os.environ.get("LEADWERK_FROM_EMAIL", "leadwerk@localhost")
# Every message leaves through leadwerk.messaging.services.message_send; the guard backend
# refuses anything else and hands the rest to the real backend below.
EMAIL_BACKEND = "leadwerk.messaging.backend.GuardedEmailBackend"
# Without a configured SMTP server (LEADWERK_EMAIL_HOST), messages are written as files to
# var/mail/ instead of failing: a fresh installation works, and an admin can read them.
LEADWERK_EMAIL_BACKEND = os.environ.get(
    "LEADWERK_EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if "LEADWERK_EMAIL_HOST" in os.environ
    else "django.core.mail.backends.filebased.EmailBackend",
)
EMAIL_FILE_PATH = VAR_DIR / "mail"

# --- Leadwerk ---------------------------------------------------------------
# Public web forms: submissions per IP and window.
LEADWERK_FORM_RATE_LIMIT = int(os.environ.get("LEADWERK_FORM_RATE_LIMIT", "20"))
LEADWERK_FORM_RATE_WINDOW = int(os.environ.get("LEADWERK_FORM_RATE_WINDOW", "600"))
# A signed form token is valid this long (seconds).
LEADWERK_FORM_TOKEN_MAX_AGE = int(os.environ.get("LEADWERK_FORM_TOKEN_MAX_AGE", "86400"))
# Submissions faster than this after the form was rendered are treated as bots.
LEADWERK_FORM_MIN_FILL_SECONDS = float(os.environ.get("LEADWERK_FORM_MIN_FILL_SECONDS", "2"))
# Whether to trust X-Forwarded-For for the client IP (only behind your own proxy).
LEADWERK_TRUST_X_FORWARDED_FOR = env_bool("LEADWERK_TRUST_X_FORWARDED_FOR", False)
# Default country for phone numbers without a country code.
LEADWERK_DEFAULT_COUNTRY = os.environ.get("LEADWERK_DEFAULT_COUNTRY", "DE")

# Consent and data-subject rights.
# A double opt-in link is valid this long (seconds); a preference-page link this long.
LEADWERK_DOI_MAX_AGE = int(os.environ.get("LEADWERK_DOI_MAX_AGE", str(7 * 24 * 3600)))
LEADWERK_PREFERENCES_MAX_AGE = int(
    os.environ.get("LEADWERK_PREFERENCES_MAX_AGE", str(90 * 24 * 3600))
)
# Public consent links (confirm, unsubscribe, preferences): requests per IP and window.
LEADWERK_LINK_RATE_LIMIT = int(os.environ.get("LEADWERK_LINK_RATE_LIMIT", "30"))
LEADWERK_LINK_RATE_WINDOW = int(os.environ.get("LEADWERK_LINK_RATE_WINDOW", "600"))
# Leads without activity or conversion for this many months are anonymised.
LEADWERK_RETENTION_MONTHS = int(os.environ.get("LEADWERK_RETENTION_MONTHS", "24"))
# Website tracking: page views per IP address and minute.
LEADWERK_TRACK_RATE_LIMIT = int(os.environ.get("LEADWERK_TRACK_RATE_LIMIT", "120"))
# Lead scoring: leads per rescore step (one transaction and one background task each).
LEADWERK_SCORING_CHUNK = int(os.environ.get("LEADWERK_SCORING_CHUNK", "2000"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LEADWERK_LOG_LEVEL", "WARNING")},
}
