"""Settings, read from environment variables (12-factor).

The defaults are for the embedded run (`make run`): SQLite, local-memory cache, e-mail
on the console. Set DJANGO_ENV=production for a deployment; it then refuses to start with
the development secret key, without ALLOWED_HOSTS, or with DEBUG on.
"""

import hashlib
import os
from pathlib import Path

import dj_database_url
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BASE_DIR.parent.parent
VAR_DIR = Path(os.environ.get("IMPFTERMIN_VAR_DIR", PROJECT_DIR / "var"))

DEVELOPMENT_SECRET_KEY = "insecure-development-key-do-not-use-in-production"  # noqa: S105


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}")


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if not value:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if not value:
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}") from exc


ENVIRONMENT = os.environ.get("DJANGO_ENV", "development")
if ENVIRONMENT not in {"development", "production"}:
    raise ImproperlyConfigured("DJANGO_ENV must be 'development' or 'production'")
PRODUCTION = ENVIRONMENT == "production"

SECRET_KEY = os.environ.get("SECRET_KEY", DEVELOPMENT_SECRET_KEY)
DEBUG = env_bool("DEBUG", default=not PRODUCTION)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", [] if PRODUCTION else ["127.0.0.1", "localhost", "[::1]"])

if PRODUCTION:
    if SECRET_KEY == DEVELOPMENT_SECRET_KEY or len(SECRET_KEY) < 50:
        raise ImproperlyConfigured(
            "Production needs its own SECRET_KEY (at least 50 characters), not the development key."
        )
    if DEBUG:
        raise ImproperlyConfigured("DEBUG must be off in production.")
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured("Production needs ALLOWED_HOSTS.")

# Keys of the fields encrypted at rest (impftermin/core/encryption.py): Fernet keys, newest
# first. Production sets its own, kept apart from the database's backups and SECRET_KEY;
# development derives one from SECRET_KEY.
FIELD_ENCRYPTION_KEYS = env_list("FIELD_ENCRYPTION_KEYS", [])
for _key in FIELD_ENCRYPTION_KEYS:
    try:
        Fernet(_key)
    except ValueError as _exc:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEYS must be Fernet keys (32 bytes, URL-safe base64), newest first."
        ) from _exc
if PRODUCTION and not FIELD_ENCRYPTION_KEYS:
    raise ImproperlyConfigured(
        "Production needs FIELD_ENCRYPTION_KEYS (make one with: python -c 'from"
        " cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')."
    )

INSTALLED_APPS = [
    # Django's admin whose site requires the second factor (impftermin/staff/sites.py).
    "impftermin.staff.apps.StaffAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_tasks",
    "django_tasks_db",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "impftermin.core",
    "impftermin.audit",
    "impftermin.regions",
    "impftermin.vaccines",
    "impftermin.centres",
    "impftermin.booking",
    "impftermin.notifications",
    "impftermin.codes",
    "impftermin.registrations",
    "impftermin.staff",
    "impftermin.console",
    "impftermin.information",
    "impftermin.vaccinations",
    "impftermin.its",
    "impftermin.api",
    "impftermin.waitingroom",
    "ninja",  # serves its API documentation's scripts itself (no CDN)
    "django_altcha",  # the proof-of-work widget's script, served from our static files
    "impftermin.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",  # issue 10: Content-Security-Policy on every response
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "impftermin.api.middleware.ApiLanguageMiddleware",  # the API: Accept-Language
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",  # request.user.is_verified(): the second factor
    "django.contrib.messages.middleware.MessageMiddleware",
    "impftermin.staff.middleware.StaffIdleMiddleware",  # staff log-out after STAFF_IDLE_MINUTES
    "impftermin.waitingroom.middleware.WaitingRoomMiddleware",  # issue 9: the queue at peaks
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "impftermin.urls"
WSGI_APPLICATION = "impftermin.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# Database: SQLite file by default; PostgreSQL (or any) via DATABASE_URL.
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'impftermin.sqlite3'}",
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 0),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Serialise writers up front: a deferred transaction that later needs the write lock
    # fails with "database is locked" instead of waiting.
    DATABASES["default"]["OPTIONS"] = {"transaction_mode": "IMMEDIATE", "timeout": 30}
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            # Redis holds nothing that cannot be lost: when it is down, degrade.
            "OPTIONS": {"IGNORE_EXCEPTIONS": True},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# The waiting rooms' queues (issue 9): in Redis when there is one, else in the database.
WAITING_ROOM_BACKEND = os.environ.get("WAITING_ROOM_BACKEND", "redis" if REDIS_URL else "database")

TASKS = {
    "default": {
        "BACKEND": os.environ.get("TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
        "QUEUES": ["default"],
    }
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Staff log in with password and a TOTP code (django-otp; staff/). Each wrong code doubles
# the wait before the next is checked (1, 2, 4 … seconds per device); the key is never
# shown in the admin. A staff session ends after STAFF_IDLE_MINUTES without a request.
OTP_TOTP_ISSUER = "Impftermin"
OTP_TOTP_THROTTLE_FACTOR = 1
OTP_ADMIN_HIDE_SENSITIVE_DATA = True
STAFF_IDLE_MINUTES = env_int("STAFF_IDLE_MINUTES", 15)
if STAFF_IDLE_MINUTES < 1:
    raise ImproperlyConfigured("STAFF_IDLE_MINUTES must be at least 1.")

# Password reset links (citizens and staff) are valid for an hour.
PASSWORD_RESET_TIMEOUT = 60 * 60
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]

# German is the source language; English is the first translation.
LANGUAGE_CODE = "de"
LANGUAGES = [("de", _("Deutsch")), ("en", _("Englisch"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Europe/Berlin"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
# The KERN UX design system (npm @kern-ux/native, installed by `make frontend`): plain CSS
# and fonts, served from our own host under static/kern/ (no third-party requests).
KERN_DIST = PROJECT_DIR / "node_modules" / "@kern-ux" / "native" / "dist"
STATICFILES_DIRS = [("kern", KERN_DIST)] if KERN_DIST.is_dir() else []
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# Development serves static files straight from the apps (no collectstatic needed).
WHITENOISE_USE_FINDERS = not PRODUCTION
WHITENOISE_AUTOREFRESH = DEBUG

# E-mail: console in development; SMTP settings from the environment otherwise.
# Development prints every e-mail and SMS and keeps each as a file in OUTBOX_DIR.
OUTBOX_DIR = Path(os.environ.get("OUTBOX_DIR", VAR_DIR / "outbox"))
EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if PRODUCTION
    else "impftermin.notifications.transports.ConsoleFileEmailBackend",
)
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", default=False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Impftermin <noreply@impftermin.example>")

# The address people reach the site at, for links in e-mails.
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000")
# How many reverse proxies of ours stand in front of the app: the client's address for
# per-client limits is then read from X-Forwarded-For (core/throttle.py).
TRUSTED_PROXIES = env_int("TRUSTED_PROXIES", 0)

# SMS: a console-and-file backend for development, an HTTP gateway in production.
SMS_BACKEND = os.environ.get(
    "SMS_BACKEND",
    "impftermin.notifications.transports.HttpGatewaySmsBackend"
    if PRODUCTION
    else "impftermin.notifications.transports.ConsoleFileSmsBackend",
)
SMS_GATEWAY_URL = os.environ.get("SMS_GATEWAY_URL", "")
SMS_GATEWAY_TOKEN = os.environ.get("SMS_GATEWAY_TOKEN", "")
SMS_GATEWAY_BODY = os.environ.get(
    "SMS_GATEWAY_BODY", '{{"from": "{sender}", "to": "{to}", "text": "{text}"}}'
)
SMS_GATEWAY_TIMEOUT = env_int("SMS_GATEWAY_TIMEOUT", 10)
SMS_SENDER = os.environ.get("SMS_SENDER", "Impftermin")
# Issue 9, SMS pumping: PINs go only to these countries (ISO codes; default Germany and
# its neighbours in the EU), not twice to one number within the cooldown, and at most the
# budget per hour and per day for the whole service; reaching it stops PINs and alerts
# OPERATIONS_EMAIL.
SMS_ALLOWED_COUNTRIES = [
    code.strip().upper()
    for code in os.environ.get("SMS_ALLOWED_COUNTRIES", "DE,AT,BE,CZ,DK,FR,LU,NL,PL").split(",")
    if code.strip()
]
SMS_PIN_COOLDOWN_SECONDS = env_int("SMS_PIN_COOLDOWN_SECONDS", 60)
SMS_BUDGET_PER_HOUR = env_int("SMS_BUDGET_PER_HOUR", 20_000)
SMS_BUDGET_PER_DAY = env_int("SMS_BUDGET_PER_DAY", 200_000)
OPERATIONS_EMAIL = os.environ.get("OPERATIONS_EMAIL", "")
# Issue 9, bots: a proof of work (ALTCHA, core/proof_of_work.py) on PIN requests,
# registrations, log-ins and bookings. A browser tries about half of MAX_NUMBER hashes
# (SHA-256) per form; without JavaScript the form is accepted NO_SCRIPT_WAIT_SECONDS after
# the page was served, at most NO_SCRIPT_PER_MINUTE times a minute for the whole service.
ALTCHA_VERIFICATION_ENABLED = env_bool("ALTCHA_VERIFICATION_ENABLED", True)
ALTCHA_HMAC_KEY = hashlib.sha256(f"altcha:{SECRET_KEY}".encode()).hexdigest()
ALTCHA_CHALLENGE_EXPIRE = 20 * 60 * 1000  # milliseconds, as django-altcha counts
PROOF_OF_WORK_MAX_NUMBER = env_int("PROOF_OF_WORK_MAX_NUMBER", 200_000)
PROOF_OF_WORK_NO_SCRIPT_WAIT_SECONDS = env_int("PROOF_OF_WORK_NO_SCRIPT_WAIT_SECONDS", 15)
PROOF_OF_WORK_NO_SCRIPT_PER_MINUTE = env_int("PROOF_OF_WORK_NO_SCRIPT_PER_MINUTE", 60)
# Issue 9: free times are served from the cache, renewed by bookings that fill a slot and
# by cancellations (booking/availability.py), and at the latest after this many seconds.
AVAILABILITY_CACHE_SECONDS = env_int("AVAILABILITY_CACHE_SECONDS", 30)
if (
    PRODUCTION
    and SMS_BACKEND.endswith("HttpGatewaySmsBackend")
    and not SMS_GATEWAY_URL.startswith("https://")
):
    raise ImproperlyConfigured("Production sends SMS through SMS_GATEWAY_URL (https://…).")

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
# Issue 10: every script, style, font and image comes from us (no third party, no inline
# script). Two allowances, both for the proof of work's widget (altcha.min.js): it adds
# its <style> element (styles cannot run code) and starts its solver as a worker from a
# blob: URL (a worker cannot reach the page).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "worker-src": ["'self'", "blob:"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = 31536000
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact_link_tokens": {"()": "impftermin.core.logging.RedactLinkTokens"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["redact_link_tokens"]}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        # Django's own loggers through our handler too, so that no link token is logged.
        "django": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "django.db.backends": {"level": "WARNING"},
        # WeasyPrint reports every step of every PDF at INFO.
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
    },
}

# How far ahead slots are generated (daily top-up): the 28-day release window plus the
# longest minimum second-dose interval (28 days) plus a week, so that the earliest second
# dose always finds slots.
SLOT_PLANNING_DAYS = env_int("SLOT_PLANNING_DAYS", 63)

# The population-register check (R14): the adapter, and for the CSV adapter its file
# (the demo's fictitious register by default).
POPULATION_REGISTER_BACKEND = os.environ.get(
    "POPULATION_REGISTER_BACKEND", "impftermin.registrations.register.CsvPopulationRegister"
)
POPULATION_REGISTER_FILE = Path(
    os.environ.get(
        "POPULATION_REGISTER_FILE", BASE_DIR / "demo" / "data" / "population_register.csv"
    )
)

# People per assignment transaction (R16): throughput against lock time (README, benchmark).
ASSIGNMENT_BATCH_SIZE = env_int("ASSIGNMENT_BATCH_SIZE", 2000)

# How long an offer from the standby list (R8) may be taken before it passes on.
STANDBY_OFFER_HOURS = env_int("STANDBY_OFFER_HOURS", 12)
# Issue 10: how long personal data is kept (days); a daily task erases what has expired.
RETENTION_CONTACT_DAYS = env_int("RETENTION_CONTACT_DAYS", 42)  # after the last appointment
RETENTION_UNUSED_DAYS = env_int("RETENTION_UNUSED_DAYS", 180)  # codes never used to book
RETENTION_MESSAGE_DAYS = env_int("RETENTION_MESSAGE_DAYS", 30)  # sent and failed messages
# the audit log: longer, so that a person can still learn who looked at their data; deleted
# by `manage.py expire_audit_log` as the table's owner (impftermin/audit/retention.py)
RETENTION_AUDIT_DAYS = env_int("RETENTION_AUDIT_DAYS", 730)

# The shared reference data (postcodes, districts, populations) used by the importer.
REFERENCE_DATA_DIR = Path(
    os.environ.get("REFERENCE_DATA_DIR", PROJECT_DIR.parent / "shared" / "data")
)
