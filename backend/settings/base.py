"""Settings shared by every environment (12-factor: values come from the environment).

Environments (`test`, `production`, `local`) only override. Nothing here reads the database
or the network at import time.
"""

from pathlib import Path

import environ
from celery.schedules import crontab
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from backend import broker
from parcours.crypto_keys import parse_encryption_keys, parse_search_index_key
from parcours.request_origin import parse_trusted_proxies

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()


def required(name: str, hint: str) -> str:
    """Read a mandatory variable, stopping start-up with a message a newcomer can act on."""
    value = env.str(name, default="")
    if not value:
        raise ImproperlyConfigured(f"La variable d'environnement {name} est obligatoire : {hint}")
    return value


SECRET_KEY = required("DJANGO_SECRET_KEY", "une longue chaîne aléatoire (voir docs/operations.md)")

# Field encryption (docs/security.md): Fernet keys, newest first; never derived from SECRET_KEY.
# Exact search on encrypted identifiers goes through blind indexes under a separate HMAC key.
FIELD_ENCRYPTION_KEYS = parse_encryption_keys(env.str("FIELD_ENCRYPTION_KEYS", default=""))
SEARCH_INDEX_KEY = parse_search_index_key(
    env.str("SEARCH_INDEX_KEY", default=""),
    encryption_keys=FIELD_ENCRYPTION_KEYS,
    secret_key=SECRET_KEY,
)
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
# The reverse proxies (addresses or CIDR networks) whose X-Forwarded-For is believed: the journal
# records the client's address behind them, the direct peer otherwise (docs/operations.md).
PARCOURS_TRUSTED_PROXIES = parse_trusted_proxies(env.list("PARCOURS_TRUSTED_PROXIES", default=[]))

INSTALLED_APPS = [
    # Django's admin, whose site asks staff for their second factor (parcours/admin_site.py).
    "parcours.admin_site.ParcoursAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.forms",
    "dsfr",
    "django_htmx",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI served from our static files, never a CDN
    "csp",
    "guardian",
    "simple_history",
    # Sign-in hardening (docs/security.md, "Signing in"): lockout after repeated failures and
    # the second factor (TOTP, recovery codes). Before parcours: its failure receiver runs first.
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "parcours",
    "notifications",
    "web",
]

# Django's database sessions, the session read by a compiled, prepared statement
# (web/session_store.py).
SESSION_ENGINE = "web.session_store"

MIDDLEWARE = [
    # First: the request's id, checked or generated, and the client's address (behind the
    # trusted proxies below) — parcours/request_origin.py.
    "parcours.request_origin.RequestOriginMiddleware",
    # Then every request goes through one door of the gate (journal rows name it).
    "parcours.gate.context.DoorMiddleware",
    # With a read replica: a write sends the rest of the request's reads to the primary, and a
    # POST/PUT/PATCH/DELETE pins its user there for a few seconds (parcours/db_routing.py).
    "parcours.db_routing.ReplicaPinningMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Content-Security-Policy with a nonce per response, Permissions-Policy (below).
    "csp.middleware.CSPMiddleware",
    "backend.security_headers.PermissionsPolicyMiddleware",
    # /healthz and /readyz for load balancers (backend/health.py): inside the headers above,
    # before sessions, host validation, sign-in and the second factor — no session, no journal
    # row, no throttle, and an answer even when the database is down.
    "backend.health.HealthCheckMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The idle timeout slides with activity, the session saved at most once a minute.
    "web.middleware.SessionActivityMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # request.user.is_verified(): the session passed its second factor.
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "web.middleware.SessionExpiryMessageMiddleware",
    # An account that must type its code (or enrol) reaches nothing else until it has.
    "web.middleware.SecondFactorMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last: turns a login attempt axes refused into the French lockout page.
    "axes.middleware.AxesMiddleware",
]

# --- Response headers (docs/security.md, "Headers") --------------------------------------------
# Scripts and styles from our own origin, or inline with the response's nonce (`dsfr_js` and the
# templates read `request.csp_nonce`); no style attribute, no eval, nothing from another site.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, NONCE],
        "img-src": [SELF, "data:"],  # the DSFR's and Swagger UI's icons inlined in their CSS
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}
# Every powerful browser feature off: parcours uses none of them.
PARCOURS_PERMISSIONS_POLICY = (
    "accelerometer=(), autoplay=(), camera=(), display-capture=(), encrypted-media=(), "
    "fullscreen=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), midi=(), "
    "payment=(), picture-in-picture=(), screen-wake-lock=(), usb=(), xr-spatial-tracking=()"
)
# Django's defaults, named here: no Referer to other sites, nosniff, X-Frame-Options: DENY.
SECURE_REFERRER_POLICY = "same-origin"
# A load balancer probes the servers directly over plain HTTP: no redirect to HTTPS for them.
SECURE_REDIRECT_EXEMPT = [r"^healthz/?$", r"^readyz/?$"]
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

ROOT_URLCONF = "backend.urls"
WSGI_APPLICATION = "backend.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            # `{% url %}` with its answers remembered, the `date` filter's common formats
            # written directly, `{% form_field %}` in Python (web/templatetags/
            # remembered_urls.py, quick_dates.py, form_fields.py).
            "builtins": [
                "web.templatetags.remembered_urls",
                "web.templatetags.quick_dates",
                "web.templatetags.form_fields",
            ],
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "web.context_processors.csp_nonce",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default="")} if env.str("DATABASE_URL", "") else {}
if not DATABASES:
    raise ImproperlyConfigured(
        "La variable d'environnement DATABASE_URL est obligatoire "
        "(ex. postgres://postgres@127.0.0.1:5432/parcours) ; `make run` la fixe pour vous."
    )
# The read replica (docs/operations.md, « Read replica »): optional. Present, the DPO's reports
# and their files may read from it (parcours/db_routing.py); absent, the router does nothing.
if env.str("DATABASE_REPLICA_URL", ""):
    DATABASES["replica"] = env.db("DATABASE_REPLICA_URL")
    # The test runner never creates a database for it: it is the primary's, replayed.
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
for _database in DATABASES.values():
    _database["ATOMIC_REQUESTS"] = False
    _database["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
    # A kept connection may have died since the last request (PostgreSQL restarted or failed
    # over, an idle session killed): each request's first query checks it and reconnects,
    # instead of failing once per web worker with a 500 (issue 16, finding 4). One cheap round
    # trip per request.
    _database["CONN_HEALTH_CHECKS"] = True
    # Short OLTP queries only: a parallel plan makes a small organisation's scoped list walk the
    # whole recent-first index (100 ms) instead of reading its few grants first
    # (docs/performance.md).
    if _database["ENGINE"].endswith("postgresql"):
        # Nor JIT: it compiles a plan whose estimated cost passes 100,000 (the dashboards'
        # sums, the area's overdue referrals at 1 M pathways: 10-20 ms of compilation for
        # queries that run in tens of milliseconds), each time, in every request.
        _database.setdefault("OPTIONS", {}).setdefault(
            "options", "-c max_parallel_workers_per_gather=0 -c jit=off"
        )
        # A database host that does not answer at all must not hold a request (or /readyz)
        # for the system's TCP timeout (minutes): the request fails fast with a 503 instead.
        _database["OPTIONS"].setdefault(
            "connect_timeout", env.int("DATABASE_CONNECT_TIMEOUT", default=5)
        )
# Reads go to the primary but inside the replica-eligible blocks; there, to the replica unless
# it lags more than MAX_LAG seconds (measured at most every CHECK seconds per process) or
# does not answer, or the user wrote less than PIN seconds ago (then the primary, which has
# their write). PIN covers the largest lag still served plus the age of its measure.
DATABASE_ROUTERS = ["parcours.db_routing.ReplicaRouter"]
DATABASE_REPLICA_MAX_LAG_SECONDS = env.float("DATABASE_REPLICA_MAX_LAG_SECONDS", default=5.0)
DATABASE_REPLICA_CHECK_SECONDS = env.float("DATABASE_REPLICA_CHECK_SECONDS", default=2.0)
DATABASE_REPLICA_PIN_SECONDS = env.float(
    "DATABASE_REPLICA_PIN_SECONDS",
    default=DATABASE_REPLICA_MAX_LAG_SECONDS + DATABASE_REPLICA_CHECK_SECONDS + 3,
)
if DATABASE_REPLICA_PIN_SECONDS < DATABASE_REPLICA_MAX_LAG_SECONDS + DATABASE_REPLICA_CHECK_SECONDS:
    raise ImproperlyConfigured(
        "DATABASE_REPLICA_PIN_SECONDS doit couvrir DATABASE_REPLICA_MAX_LAG_SECONDS + "
        "DATABASE_REPLICA_CHECK_SECONDS : sinon un utilisateur pourrait lire la réplique avant "
        "qu'elle n'ait reçu ce qu'il vient d'écrire (docs/operations.md, « Read replica »)."
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    # First: refuses a locked-out username + address before any password is checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
# CNIL, délibération n° 2022-100 (passwords alone: about 80 bits): 12 characters of the four
# kinds, or 14 of three (a passphrase); plus Django's similarity, common and numeric checks.
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "parcours.passwords.CnilPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    # Not a rule: Django tells every validator when a password was changed (set_password then
    # save: the pages, the admin, a reset, `changepassword`); this one revokes the account's
    # API tokens (services/api_token.py). parcours.checks refuses settings without it.
    {"NAME": "parcours.passwords.RevokeApiTokensOnPasswordChange"},
]

# --- Lockout (django-axes) and second factor (django-otp): docs/security.md -------------------
# A username tried from one address is locked after this many failures (password or second
# factor) for the cool-off; a success resets the count.
AXES_FAILURE_LIMIT = env.int("PARCOURS_LOGIN_FAILURE_LIMIT", default=5)
PARCOURS_LOGIN_COOLOFF_MINUTES = env.int("PARCOURS_LOGIN_COOLOFF_MINUTES", default=15)
AXES_COOLOFF_TIME = "parcours.services.account_security.lockout_cool_off"
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_USERNAME_CALLABLE = "parcours.services.account_security.axes_username"
AXES_RESET_ON_SUCCESS = True
# Trying again while locked neither extends the lockout (someone who knows a username could keep
# its owner out for ever) nor counts as a new one.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
# The address the journal records (the same function: one place decides the client's address).
AXES_CLIENT_IP_CALLABLE = "parcours.request_origin.client_ip_for"
AXES_LOCKOUT_CALLABLE = "web.views.account.locked_out"
# The journal keeps every failure and lockout; axes keeps only the running counts (no log of
# successful logins, no copy of what was posted).
AXES_DISABLE_ACCESS_LOG = True
AXES_ENABLE_ACCESS_FAILURE_LOG = False
AXES_SENSITIVE_PARAMETERS = ["username", "password", "code", "csrfmiddlewaretoken"]
AXES_VERBOSE = False
# TOTP (RFC 6238, 30 s, 6 digits, one step of tolerance); the issuer the authenticator app shows.
OTP_TOTP_ISSUER = env.str("PARCOURS_OTP_ISSUER", default="parcours")
OTP_ADMIN_HIDE_SENSITIVE_DATA = True
PARCOURS_RECOVERY_CODES = 10

# --- Partner systems' API tokens (docs/security.md, « Jetons d'accès ») ------------------------
PARCOURS_API_TOKEN_MAX_DAYS = env.int("PARCOURS_API_TOKEN_MAX_DAYS", default=365)
PARCOURS_API_TOKEN_DEFAULT_DAYS = min(90, PARCOURS_API_TOKEN_MAX_DAYS)
# A renewed token keeps working this long beside its successor (the system switches meanwhile).
PARCOURS_API_TOKEN_RENEWAL_GRACE_HOURS = env.int(
    "PARCOURS_API_TOKEN_RENEWAL_GRACE_HOURS", default=72
)
# Each token's own rate (the administrator may set another per token); then 429 + Retry-After.
PARCOURS_API_TOKEN_REQUESTS_PER_MINUTE = env.int(
    "PARCOURS_API_TOKEN_REQUESTS_PER_MINUTE", default=120
)
# --- Partner systems' webhooks (docs/guide-integration-partenaires.md) -------------------------
# http:// endpoints are refused except on a loopback host when this is true (development and the
# tests' receiver); production accepts https:// only, never to a loopback or private address.
PARCOURS_WEBHOOK_ALLOW_HTTP_LOOPBACK = env.bool(
    "PARCOURS_WEBHOOK_ALLOW_HTTP_LOOPBACK", default=DEBUG
)
# After a secret is rotated, the previous one signs beside it this long (two signatures).
PARCOURS_WEBHOOK_ROTATION_OVERLAP_HOURS = env.int(
    "PARCOURS_WEBHOOK_ROTATION_OVERLAP_HOURS", default=24
)
# One request waits this long for the partner's answer; a claimed delivery whose relay died is
# taken back after the lease (longer than the timeout).
PARCOURS_WEBHOOK_TIMEOUT_SECONDS = env.int("PARCOURS_WEBHOOK_TIMEOUT_SECONDS", default=10)
PARCOURS_WEBHOOK_LEASE_SECONDS = env.int("PARCOURS_WEBHOOK_LEASE_SECONDS", default=60)
# Retries: 30 s, 1 min, 2 min… doubling up to 6 h, then given up after this many attempts.
PARCOURS_WEBHOOK_RETRY_BASE_SECONDS = env.int("PARCOURS_WEBHOOK_RETRY_BASE_SECONDS", default=30)
PARCOURS_WEBHOOK_RETRY_MAX_SECONDS = env.int("PARCOURS_WEBHOOK_RETRY_MAX_SECONDS", default=6 * 3600)
PARCOURS_WEBHOOK_MAX_ATTEMPTS = env.int("PARCOURS_WEBHOOK_MAX_ATTEMPTS", default=12)
WEBHOOK_RELAY_SECONDS = env.int("WEBHOOK_RELAY_SECONDS", default=30)
# An Idempotency-Key's answer is kept this long (then purged by a task).
PARCOURS_IDEMPOTENCY_KEY_HOURS = env.int("PARCOURS_IDEMPOTENCY_KEY_HOURS", default=24)
# Anonymous API requests, per client address (they only ever get 401 or the public schema).
PARCOURS_API_ANONYMOUS_RATE = env.str("PARCOURS_API_ANONYMOUS_RATE", default="60/minute")
# Refused tokens (unknown, expired, revoked), per client address.
PARCOURS_API_REFUSED_TOKEN_RATE = env.str("PARCOURS_API_REFUSED_TOKEN_RATE", default="30/minute")
# A form posted without its valid token (expired session, old tab): a French page, not Django's.
CSRF_FAILURE_VIEW = "web.views.errors.csrf_failure"
LOGIN_URL = "web:login"
LOGIN_REDIRECT_URL = "web:home"
LOGOUT_REDIRECT_URL = "web:login"
# Pages: the session ends after this much inactivity. Activity is stamped at most once a minute
# (web.middleware.SessionActivityMiddleware), not by a session write on every request (issue 17:
# two commits per view): the idle timeout is then 29 to 30 minutes after the last request.
PARCOURS_SESSION_IDLE_MINUTES = env.int("PARCOURS_SESSION_IDLE_MINUTES", default=30)
SESSION_COOKIE_AGE = PARCOURS_SESSION_IDLE_MINUTES * 60
SESSION_SAVE_EVERY_REQUEST = False
PARCOURS_SESSION_ACTIVITY_STAMP_SECONDS = 60
FORM_RENDERER = "django.forms.renderers.TemplatesSetting"

LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", _("Français"))]
TIME_ZONE = "Europe/Paris"
USE_I18N = True
USE_TZ = True
LOCALE_PATHS = [BASE_DIR / "locale"]

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "var" / "static"
MEDIA_ROOT = BASE_DIR / "var" / "media"
# Uploads: consent evidence files only (docs/security.md, "Consent evidence files"): PDF, JPEG or
# PNG by their content, at most PARCOURS_EVIDENCE_MAX_BYTES, kept encrypted in MEDIA_ROOT under a
# random name. No URL serves MEDIA_ROOT (MEDIA_URL stays empty): downloads go through the gate.
PARCOURS_EVIDENCE_MAX_BYTES = env.int("PARCOURS_EVIDENCE_MAX_BYTES", default=10 * 1024 * 1024)
if PARCOURS_EVIDENCE_MAX_BYTES < 1:
    raise ImproperlyConfigured(
        "PARCOURS_EVIDENCE_MAX_BYTES : la taille maximale d'une pièce justificative, en octets "
        "(par défaut 10485760, soit 10 Mo)."
    )
# A file past that limit is cut as it arrives, then refused: neither memory nor the temporary
# directory ever holds more than the limit and one 64 KiB chunk of it, whatever is sent.
FILE_UPLOAD_HANDLERS = [
    "parcours.evidence.BoundedUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]
# An upload up to 2.5 MB stays in memory while the request lasts, a larger one goes to a
# temporary file (deleted with the request); the other fields of a request, 2.5 MB at most.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
# The stored files (tokens) and their folders: the application's own user only.
FILE_UPLOAD_PERMISSIONS = 0o600
FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o700

# --- REST API --------------------------------------------------------------------------------
REST_FRAMEWORK = {
    # Token first: its WWW-Authenticate header makes anonymous requests answer 401, not 403.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "parcours.api.token_auth.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # Per token (its own rate), per address for anonymous requests; browser sessions are not
    # throttled here (their sign-in is: django-axes). Counted in Redis (the "throttle" cache).
    "DEFAULT_THROTTLE_CLASSES": [
        "parcours.api.token_auth.ApiTokenThrottle",
        "parcours.api.token_auth.AnonymousThrottle",
    ],
    "DEFAULT_PARSER_CLASSES": [
        # Deep nesting → 400, not a RecursionError 500; control characters and bidirectional
        # overrides in any string → 400 (parcours/text.py).
        "parcours.api.parsers.JSONParser",
        "parcours.api.parsers.FormParser",
        "parcours.api.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "parcours.api.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    # Adds the error answers (400/401/403/404/409) to every operation: parcours/api/schema.py.
    "DEFAULT_SCHEMA_CLASS": "parcours.api.schema.ParcoursAutoSchema",
    "EXCEPTION_HANDLER": "parcours.api.errors.exception_handler",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "parcours — API",
    "DESCRIPTION": "Dossier de parcours partagé entre partenaires de l'emploi et de l'insertion.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The contract is public (it holds no personal data): partner IT teams read it unauthenticated.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    # Swagger UI from drf-spectacular-sidecar's static files (no CDN; the CSP allows no other
    # origin) and without the validator badge, which would call validator.swagger.io.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        # An optional query parameter sent empty is ignored: documented (allowEmptyValue).
        "parcours.api.schema.document_empty_query_values",
    ],
    "ENUM_NAME_OVERRIDES": {
        "OrganisationKindEnum": "parcours.models.organisation.OrganisationKind",
        "ReferralKindEnum": "parcours.models.referral.ReferralKind",
        "BarrierKindEnum": "parcours.models.pathway.BarrierKind",
        "ReferralStatusEnum": "parcours.models.referral.ReferralStatus",
        "PathwayStatusEnum": "parcours.models.pathway.PathwayStatus",
        "BarrierStatusEnum": "parcours.models.pathway.BarrierStatus",
        "ReferralOutcomeEnum": "parcours.models.referral.ReferralOutcome",
        "PathwayOutcomeEnum": "parcours.models.pathway.PathwayOutcome",
        "AppointmentOutcomeEnum": "parcours.models.appointment.AppointmentOutcome",
        "NoteKindEnum": [("note", "Note"), ("action", "Action"), ("diagnostic", "Diagnostic")],
        # Consents, shared categories of a referral and break-glass all name data categories.
        "DataCategoryEnum": "parcours.categories.DataCategory",
        "AlertStateEnum": "notifications.models.alert.AlertState",
        "DiagnosticLevelEnum": "parcours.diagnostic_domains.DiagnosticLevel",
        "DeliveryModeEnum": "notifications.models.preference.DeliveryMode",
        # Who an alert's e-mail went to (a delivery), and who a rung of a ladder tells.
        "DeliveryAudienceEnum": "notifications.models.outbox.Audience",
        "EscalationAudienceEnum": "parcours.models.agreement.EscalationAudience",
        "RightsRequestKindEnum": "parcours.models.rights_request.RightsRequestKind",
        "AppointmentChannelEnum": "parcours.models.appointment.AppointmentChannel",
        "RightsRequestChannelEnum": "parcours.models.rights_request.RightsRequestChannel",
        "ObjectiveStatusEnum": "parcours.models.action_plan.ObjectiveStatus",
        "PlanActionStatusEnum": "parcours.models.action_plan.PlanActionStatus",
        "WebhookDeliveryStatusEnum": "parcours.models.webhook.WebhookDeliveryStatus",
        # The case committee (CLCVP): a session's, a proposal's states and a decision's outcome.
        "CommitteeStatusEnum": "parcours.models.committee.CommitteeStatus",
        "ProposalStatusEnum": "parcours.models.committee.ProposalStatus",
        "DecisionOutcomeEnum": "parcours.models.committee.DecisionOutcome",
    },
}

# --- Celery (Redis on developer machines and in tests, RabbitMQ in production) -----------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="redis://127.0.0.1:6379/0")
# amqp:// (or pyamqp://, amqps://): RabbitMQ, with quorum queues (below, and docs/operations.md
# « RabbitMQ in production »).
PARCOURS_BROKER_IS_RABBITMQ = broker.is_rabbitmq(CELERY_BROKER_URL)
# No code reads a task's result: parcours.queueing fires and forgets, beat ignores them. The tests
# wait on a few with `.get()`, on Redis, where results stay an hour in the broker's database.
# With RabbitMQ none is kept unless CELERY_RESULT_BACKEND names a store (redis://…).
CELERY_RESULT_BACKEND = (
    env.str(
        "CELERY_RESULT_BACKEND", default="" if PARCOURS_BROKER_IS_RABBITMQ else CELERY_BROKER_URL
    )
    or None
)
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = True

# The API's rate counters live in Redis, shared by every web process (a per-process memory
# would multiply a token's rate by the number of workers), and so do the read replica's pins
# (a user who wrote reads the primary for a few seconds, whichever web process answers: see
# parcours/db_routing.py). `make run`'s fallback mode (no Redis, in-process tasks) keeps them in
# memory instead.
PARCOURS_THROTTLE_CACHE_URL = env.str("PARCOURS_THROTTLE_CACHE_URL", default=CELERY_BROKER_URL)


def _shared_cache(prefix: str) -> dict:
    if CELERY_TASK_ALWAYS_EAGER or not PARCOURS_THROTTLE_CACHE_URL.startswith("redis"):
        return {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": prefix}
    return {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": PARCOURS_THROTTLE_CACHE_URL,
        "KEY_PREFIX": prefix,
        "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
    }


CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "throttle": _shared_cache("parcours-throttle"),
    "pins": _shared_cache("parcours-replica-pin"),
}
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
# socket_connect_timeout: a broker host that does not answer at all (rather than refusing) must
# not hold a request that queues a task after commit for the system's TCP timeout (minutes);
# parcours.queueing then logs the failure and the periodic jobs catch up.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600, "socket_connect_timeout": 5}
CELERY_RESULT_EXPIRES = 3600
CELERY_TIMEZONE = TIME_ZONE
# Three queues, so that work cannot starve other work (docs/operations.md, « Queues and workers »):
# - `mail`: the relay alone — a slow or dead SMTP server fills this queue and no other;
# - `prompt`: what has a delay to keep — the alert scan, the receivers' reminders, the daily
#   digests and the journal's sealer — consumed, with `mail`, by a worker of its own;
# - `celery` (the default): bulk work — access recomputes after an agreement changes, expiry,
#   pruning, the journal's checkpoint and verification, retention — by another worker.
# A flood of recomputes then waits behind itself, never in front of an alert e-mail.
PROMPT_QUEUE = "prompt"
# A run of the access recompute stops after this long and queues its continuation (behind the
# other work of its queue): a worker is never held for a whole large organisation.
PARCOURS_RECOMPUTE_BUDGET_SECONDS = env.int("PARCOURS_RECOMPUTE_BUDGET_SECONDS", default=30)
MAIL_QUEUE = "mail"
CELERY_TASK_ROUTES = {
    "notifications.outbox_relay": {"queue": MAIL_QUEUE},
    # Like the e-mails: a slow or dead partner endpoint fills this queue and no other.
    "parcours.webhooks_deliver": {"queue": MAIL_QUEUE},
    "notifications.alerts_scan": {"queue": PROMPT_QUEUE},
    "notifications.reminders_send": {"queue": PROMPT_QUEUE},
    "notifications.digests_send": {"queue": PROMPT_QUEUE},
    "parcours.journal_seal_pending": {"queue": PROMPT_QUEUE},
}

# RabbitMQ (production): the three queues are quorum queues — replicated, durable, a message the
# broker confirmed survives its restart — declared alike by every worker and publisher.
# - publisher confirms: `apply_async` returns once the broker has the message (written to the
#   quorum's log), so parcours.queueing's "queued" means kept, and a refusal is an error it logs;
# - a message delivered PARCOURS_QUEUE_DELIVERY_LIMIT times without an acknowledgement (a task
#   that kills its worker each time: acks_late redelivers it) is dropped, not looped over;
# - quorum queues have no global prefetch: Celery detects them and counts per consumer;
# - countdown/ETA (none in the code today: delays are rows, ADR 0006) go through Celery's native
#   delayed delivery, which needs the topic exchange of backend/broker.py; a worker waiting on
#   an ETA in memory would hold a message quorum queues would not redeliver elsewhere.
# Redis keeps its own options (visibility_timeout above), which mean nothing to RabbitMQ.
PARCOURS_QUEUE_DELIVERY_LIMIT = env.int("PARCOURS_QUEUE_DELIVERY_LIMIT", default=5)
if PARCOURS_BROKER_IS_RABBITMQ:
    CELERY_TASK_DEFAULT_QUEUE = "celery"
    CELERY_TASK_DEFAULT_EXCHANGE = broker.EXCHANGE
    CELERY_TASK_DEFAULT_EXCHANGE_TYPE = "topic"
    CELERY_TASK_DEFAULT_ROUTING_KEY = "celery"
    CELERY_TASK_DEFAULT_QUEUE_TYPE = "quorum"
    CELERY_TASK_CREATE_MISSING_QUEUE_TYPE = "quorum"
    CELERY_TASK_QUEUES = broker.quorum_queues(
        ("celery", PROMPT_QUEUE, MAIL_QUEUE), delivery_limit=PARCOURS_QUEUE_DELIVERY_LIMIT
    )
    CELERY_WORKER_DETECT_QUORUM_QUEUES = True
    CELERY_BROKER_NATIVE_DELAYED_DELIVERY_QUEUE_TYPE = "quorum"
    CELERY_BROKER_TRANSPORT_OPTIONS = {"confirm_publish": True}
    # A broker host that does not answer at all fails a connection after this (per attempt).
    CELERY_BROKER_CONNECTION_TIMEOUT = 5
PARCOURS_ALERT_SCAN_SECONDS = env.int("PARCOURS_ALERT_SCAN_SECONDS", default=300)
PARCOURS_REMINDER_SCAN_SECONDS = env.int("PARCOURS_REMINDER_SCAN_SECONDS", default=300)
OUTBOX_RELAY_SECONDS = env.int("OUTBOX_RELAY_SECONDS", default=30)
PARCOURS_DIGEST_HOUR = env.int("PARCOURS_DIGEST_HOUR", default=8)
# The benefit-transition warning (issue 18): how many days before a recorded end of
# unemployment rights the référent and a département following the person are told.
PARCOURS_RIGHTS_END_WARNING_DAYS = env.int("PARCOURS_RIGHTS_END_WARNING_DAYS", default=60)
# The retention job (docs/retention.md) runs once a day at this hour (local time), at night.
PARCOURS_RETENTION_HOUR = env.int("PARCOURS_RETENTION_HOUR", default=3)
CELERY_BEAT_SCHEDULE = {
    "access-prune-expired": {
        "task": "parcours.tasks.access_prune_expired",
        "schedule": env.int("ACCESS_PRUNE_SECONDS", default=300),
    },
    # Catch-up of the recompute queued after an agreement changes (a lost message leaves its
    # marks, services/access_grants.py::access_recompute_pending); one runner at a time.
    "access-recompute-pending": {
        "task": "parcours.tasks.access_recompute_pathways",
        "schedule": env.int("ACCESS_RECOMPUTE_SECONDS", default=60),
        "options": {"expires": env.int("ACCESS_RECOMPUTE_SECONDS", default=60)},
    },
    "referrals-expire-unanswered": {
        "task": "parcours.tasks.referrals_expire_unanswered",
        "schedule": env.int("REFERRAL_EXPIRY_SCAN_SECONDS", default=3600),
    },
    # Seal the access journal's new rows into the hash chain (docs/journal.md).
    "journal-seal-pending": {
        "task": "parcours.journal_seal_pending",
        "schedule": env.int("JOURNAL_SEAL_SECONDS", default=10),
        "options": {"expires": env.int("JOURNAL_SEAL_SECONDS", default=10)},
    },
    # No-show alerts (docs/operations.md): the scan raises alerts and writes their e-mails to the
    # outbox; the relay sends them (and retries) — both expire rather than pile up behind a
    # stopped worker, the next run does the same work.
    "alerts-scan": {
        "task": "notifications.alerts_scan",
        "schedule": PARCOURS_ALERT_SCAN_SECONDS,
        "options": {"expires": PARCOURS_ALERT_SCAN_SECONDS},
    },
    # Reminders to the receiver before its deadlines: written to the outbox when they fall due
    # (scheduled by the moves that set the deadlines); same expiry as the alerts' scan.
    "reminders-send": {
        "task": "notifications.reminders_send",
        "schedule": PARCOURS_REMINDER_SCAN_SECONDS,
        "options": {"expires": PARCOURS_REMINDER_SCAN_SECONDS},
    },
    "outbox-relay": {
        "task": "notifications.outbox_relay",
        "schedule": OUTBOX_RELAY_SECONDS,
        "options": {"expires": OUTBOX_RELAY_SECONDS, "queue": MAIL_QUEUE},
    },
    # Partner systems' webhooks: due deliveries (new, retried, replayed) and leases run out.
    "webhooks-deliver": {
        "task": "parcours.webhooks_deliver",
        "schedule": WEBHOOK_RELAY_SECONDS,
        "options": {"expires": WEBHOOK_RELAY_SECONDS, "queue": MAIL_QUEUE},
    },
    "idempotency-keys-purge": {
        "task": "parcours.idempotency_keys_purge",
        "schedule": crontab(minute=20),
        "options": {"expires": 3600},
    },
    "person-sign-in-codes-purge": {
        "task": "parcours.person_sign_in_codes_purge",
        "schedule": crontab(minute=25),
        "options": {"expires": 3600},
    },
    # Sign the journal's chain head (docs/journal.md, "Checkpoints"); skipped, with a log line,
    # when JOURNAL_SIGNING_KEY_FILE is not set. A run missed while the workers were down is not
    # worth queuing behind the next one: it expires.
    "journal-checkpoint": {
        "task": "parcours.journal_checkpoint_scheduled",
        "schedule": env.int("JOURNAL_CHECKPOINT_SECONDS", default=3600),
        "options": {"expires": env.int("JOURNAL_CHECKPOINT_SECONDS", default=3600)},
    },
    # The access journal's monthly partitions to come (docs/journal.md, "Partitions"); daily,
    # so a missed run or two never leaves a month without its table (the DEFAULT one catches it).
    "journal-partitions-ensure": {
        "task": "parcours.journal_partitions_ensure",
        "schedule": crontab(minute=15, hour=2),
        "options": {"expires": 12 * 3600},
    },
    # Walk the journal's hash chain daily; the DPO's integrity report shows the last result.
    "journal-verify-daily": {
        "task": "parcours.journal_verify_daily",
        "schedule": crontab(minute=30, hour=env.int("JOURNAL_VERIFY_HOUR", default=3)),
    },
    # Ends of unemployment rights coming (issue 18): once a day, before the digests; a run
    # missed is done by the next (the window still holds the same ends).
    "rights-end-warnings": {
        "task": "notifications.rights_end_warnings_raise",
        "schedule": crontab(minute=30, hour=max(PARCOURS_DIGEST_HOUR - 1, 0)),
        "options": {"expires": 12 * 3600},
    },
    "alerts-digest": {
        "task": "notifications.digests_send",
        "schedule": crontab(minute=0, hour=PARCOURS_DIGEST_HOUR),
    },
    # Archive, anonymise, erase early and purge the journal (docs/retention.md). A run missed
    # while the workers were down is not worth queuing behind the next one: it expires.
    "retention-apply": {
        "task": "parcours.retention_apply",
        "schedule": crontab(minute=30, hour=PARCOURS_RETENTION_HOUR),
        "options": {"expires": 12 * 3600},
    },
    # The managers' statistics (issue 18): the months that may have moved, recomputed nightly
    # after the retention job (which also queues a run when it ends). Never per request.
    "referral-figures-refresh": {
        "task": "parcours.referral_figures_refresh",
        "schedule": crontab(minute=45, hour=env.int("PARCOURS_STATISTICS_HOUR", default=4)),
        "options": {"expires": 12 * 3600},
    },
}

# --- E-mail ------------------------------------------------------------------------------------
# Either EMAIL_URL (smtp://user:password@host:587/?tls=True, smtp+ssl://…, consolemail://,
# filemail:////absolute/path: four slashes, three make the path relative) or the classic
# EMAIL_HOST / EMAIL_PORT / EMAIL_HOST_USER / EMAIL_HOST_PASSWORD / EMAIL_USE_TLS /
# EMAIL_USE_SSL; with neither, e-mails go to the console.
if env.str("EMAIL_URL", default="") or not env.str("EMAIL_HOST", default=""):
    EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
else:
    EMAIL_CONFIG = {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": env.str("EMAIL_HOST"),
        "EMAIL_PORT": env.int("EMAIL_PORT", default=25),
        "EMAIL_HOST_USER": env.str("EMAIL_HOST_USER", default=""),
        "EMAIL_HOST_PASSWORD": env.str("EMAIL_HOST_PASSWORD", default=""),
        "EMAIL_USE_TLS": env.bool("EMAIL_USE_TLS", default=False),
        "EMAIL_USE_SSL": env.bool("EMAIL_USE_SSL", default=False),
    }
vars().update(EMAIL_CONFIG)
# Each SMTP step's wait: never block a relay on a dead server (below the outbox lease, 30 s).
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=20)
DEFAULT_FROM_EMAIL = env.str(
    "DEFAULT_FROM_EMAIL", default="parcours <ne-pas-repondre@parcours.local>"
)
# The right-hand side of the outbox's deterministic Message-IDs.
PARCOURS_MAIL_DOMAIN = env.str(
    "PARCOURS_MAIL_DOMAIN", default=DEFAULT_FROM_EMAIL.rsplit("@", 1)[-1].strip("> ")
)

# --- Alerts and the e-mail outbox (docs/operations.md) ------------------------------------------
# Level-1 alerts nobody acknowledged, whose referral did not move, go to managers after this.
PARCOURS_ALERT_ESCALATION_HOURS = env.int("PARCOURS_ALERT_ESCALATION_HOURS", default=72)
# Rows a relay claims at a time (advisory locks of its database session: a relay that dies lets
# go of them at once; it holds one message `sending`, the one in flight). Relays × batch must
# stay well below PostgreSQL's lock table (max_locks_per_transaction × max_connections).
OUTBOX_BATCH_SIZE = env.int("OUTBOX_BATCH_SIZE", default=100)
OUTBOX_MAX_ATTEMPTS = env.int("OUTBOX_MAX_ATTEMPTS", default=8)
# Past OUTBOX_MAX_ATTEMPTS transient failures a message keeps waiting (an SMTP outage longer
# than the retry budget loses nothing) and is logged at ERROR; true: it fails for good instead.
OUTBOX_GIVE_UP_AFTER_MAX_ATTEMPTS = env.bool("OUTBOX_GIVE_UP_AFTER_MAX_ATTEMPTS", default=False)
OUTBOX_RETRY_BASE_SECONDS = env.int("OUTBOX_RETRY_BASE_SECONDS", default=60)
OUTBOX_RETRY_MAX_SECONDS = env.int("OUTBOX_RETRY_MAX_SECONDS", default=3600)
OUTBOX_RELAY_BUDGET_SECONDS = env.int("OUTBOX_RELAY_BUDGET_SECONDS", default=100)
# The lease of the row in flight: renewed every OUTBOX_LEASE_RENEW_SECONDS while it is being sent
# (however slow the server), so only a dead relay's row runs out — and is taken back by the next
# pass once its batch lock is free too.
OUTBOX_LEASE_SECONDS = env.int("OUTBOX_LEASE_SECONDS", default=30)
OUTBOX_LEASE_RENEW_SECONDS = env.int("OUTBOX_LEASE_RENEW_SECONDS", default=5)

# --- Domain defaults ---------------------------------------------------------------------------
# Delays used when no partnership agreement (Agreement) covers a sender/receiver pair.
PARCOURS_DEFAULT_ACKNOWLEDGE_WORKING_DAYS = env.int("PARCOURS_ACKNOWLEDGE_WORKING_DAYS", default=5)
PARCOURS_DEFAULT_APPOINTMENT_SET_DAYS = env.int("PARCOURS_APPOINTMENT_SET_DAYS", default=5)
PARCOURS_DEFAULT_FIRST_APPOINTMENT_DAYS = env.int("PARCOURS_FIRST_APPOINTMENT_DAYS", default=15)
PARCOURS_DEFAULT_NO_SHOW_GRACE_HOURS = env.int("PARCOURS_NO_SHOW_GRACE_HOURS", default=24)
# How long before each of the receiver's deadlines its counsellors are reminded (0: never).
PARCOURS_DEFAULT_REMINDER_HOURS = env.int("PARCOURS_REMINDER_HOURS", default=24)
# A referral nobody answered for this many calendar days is expired by the periodic task.
PARCOURS_REFERRAL_EXPIRY_DAYS = env.int("PARCOURS_REFERRAL_EXPIRY_DAYS", default=30)
# A recorded attendance or absence may be corrected by its author until the end of the Nth French
# working day after it was recorded (weekends and public holidays do not count).
PARCOURS_ATTENDANCE_CORRECTION_WORKING_DAYS = env.int(
    "PARCOURS_ATTENDANCE_CORRECTION_WORKING_DAYS", default=3
)
# A receiver without an account answers a referral through a link e-mailed to its contact
# address (issue 19): valid this many days (and never once the referral is over).
PARCOURS_RECEIVER_LINK_DAYS = env.int("PARCOURS_RECEIVER_LINK_DAYS", default=30)
# Refused link tokens (forged, another referral's) one address may try in ten minutes before the
# link pages answer 429 (no enumeration).
PARCOURS_RECEIVER_LINK_REFUSALS = env.int("PARCOURS_RECEIVER_LINK_REFUSALS", default=20)
# The person's space: codes asked for and wrong codes typed from one address in fifteen minutes
# before its sign-in pages answer 429 (each person's own limits hold besides).
PARCOURS_PERSON_SPACE_TRIES = env.int("PARCOURS_PERSON_SPACE_TRIES", default=30)
# Sign-in codes are deleted this long after they were made (hourly; a code lives ten minutes).
PARCOURS_PERSON_CODE_KEEP_HOURS = env.int("PARCOURS_PERSON_CODE_KEEP_HOURS", default=24)
PARCOURS_PUBLIC_URL = env.str("PARCOURS_PUBLIC_URL", default="http://127.0.0.1:8000")
# Who runs this instance, for the footer's mandatory pages (mentions légales, données
# personnelles): each deployment names itself (docs/operations.md). The defaults say plainly
# that nobody has.
PARCOURS_OPERATOR_NAME = env.str("PARCOURS_OPERATOR_NAME", default="Instance de démonstration")
PARCOURS_OPERATOR_ADDRESS = env.str("PARCOURS_OPERATOR_ADDRESS", default="non renseignée")
PARCOURS_PUBLICATION_DIRECTOR = env.str("PARCOURS_PUBLICATION_DIRECTOR", default="non renseigné")
PARCOURS_HOST = env.str("PARCOURS_HOST", default="non renseigné")
PARCOURS_DPO_CONTACT = env.str("PARCOURS_DPO_CONTACT", default="non renseigné")
# RGAA conformity as last audited: "non" (no audit yet), "partiellement" or "totalement".
PARCOURS_ACCESSIBILITY_STATUS = env.str("PARCOURS_ACCESSIBILITY_STATUS", default="non")

# --- Access journal (docs/journal.md) ----------------------------------------------------------
# Ed25519 private key (PEM) that signs the journal's checkpoints: the beat task
# `journal-checkpoint` (on the worker), `manage.py journal_checkpoint` and the retention job.
# Mounted read-only from the secret store in production (docs/operations.md).
JOURNAL_SIGNING_KEY_FILE = env.str("JOURNAL_SIGNING_KEY_FILE", default="")
# The purge function never deletes journal rows younger than this many days, whatever its
# caller asks (CNIL's lower bound for access logs: 6 months). Built into the database function
# when `migrate` runs (by the owner role): change it there, not in the application's environment.
JOURNAL_PURGE_MIN_AGE_DAYS = env.int("JOURNAL_PURGE_MIN_AGE_DAYS", default=180)
# How many months ahead the journal's monthly partitions exist (created after every migrate and
# daily by beat; docs/journal.md, "Partitions").
JOURNAL_PARTITION_MONTHS_AHEAD = env.int("JOURNAL_PARTITION_MONTHS_AHEAD", default=3)
# The application's database role (web, worker, beat), which `manage.py db_grant_app_role` grants
# exactly what it needs; the owner role runs the migrations (docs/operations.md).
PARCOURS_DB_APP_ROLE = env.str("PARCOURS_DB_APP_ROLE", default="parcours_app")
# The daily chain verification whose result the DPO's integrity report shows.
JOURNAL_VERIFY_HOUR = env.int("JOURNAL_VERIFY_HOUR", default=3)

# --- DPO anomaly report (docs/dpo-guide.md) ----------------------------------------------------
# A user's distinct people read in a day is flagged above FACTOR × the larger of their own and
# their peers' (same organisation and role) daily median over the previous BASELINE_DAYS, and
# never below MIN_PEOPLE.
PARCOURS_ANOMALY_VOLUME_FACTOR = env.float("PARCOURS_ANOMALY_VOLUME_FACTOR", default=3.0)
PARCOURS_ANOMALY_VOLUME_MIN_PEOPLE = env.int("PARCOURS_ANOMALY_VOLUME_MIN_PEOPLE", default=20)
PARCOURS_ANOMALY_BASELINE_DAYS = env.int("PARCOURS_ANOMALY_BASELINE_DAYS", default=30)
PARCOURS_ANOMALY_DENIALS_PER_DAY = env.int("PARCOURS_ANOMALY_DENIALS_PER_DAY", default=3)
# Working hours (Europe/Paris): access outside them, at weekends or on public holidays is shown.
PARCOURS_WORKING_HOURS_START = env.int("PARCOURS_WORKING_HOURS_START", default=7)
PARCOURS_WORKING_HOURS_END = env.int("PARCOURS_WORKING_HOURS_END", default=20)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # django-axes logs every sign-in at INFO; the journal holds the failures and lockouts.
    "loggers": {"axes": {"level": "WARNING"}},
}

# --- Access ------------------------------------------------------------------------------------
# After a referral ends (refused, withdrawn, expired, closed) its parties keep their view this long.
PARCOURS_RELATIONSHIP_GRACE_DAYS = env.int("PARCOURS_RELATIONSHIP_GRACE_DAYS", default=30)
PARCOURS_BREAK_GLASS_HOURS = env.int("PARCOURS_BREAK_GLASS_HOURS", default=24)

# --- ProConnect (docs/operations.md, « ProConnect ») ---------------------------------------------
# Sign-in for public agents through ProConnect (OpenID Connect). Off unless a client id is set:
# the login page then offers password login only. Issuer (discovery at
# <issuer>/.well-known/openid-configuration): https://fca.integ01.dev-agentconnect.fr/api/v2 for
# the integration environment, https://auth.agentconnect.gouv.fr/api/v2 in production. The
# redirect URIs to register with ProConnect are <PARCOURS_PUBLIC_URL>/connexion/proconnect/retour/
# and, after logout, <PARCOURS_PUBLIC_URL>/deconnexion/proconnect/retour/.
PROCONNECT_CLIENT_ID = env.str("PROCONNECT_CLIENT_ID", default="")
PROCONNECT_CLIENT_SECRET = env.str("PROCONNECT_CLIENT_SECRET", default="")
PROCONNECT_ISSUER = env.str("PROCONNECT_ISSUER", default="")
PROCONNECT_SCOPES = env.str(
    "PROCONNECT_SCOPES", default="openid email given_name usual_name uid siret idp_id"
)
# The authentication level asked for (and required in the ID token's `acr`); empty: none.
PROCONNECT_ACR_VALUES = env.str("PROCONNECT_ACR_VALUES", default="eidas1")
PROCONNECT_USE_PKCE = env.bool("PROCONNECT_USE_PKCE", default=True)
PROCONNECT_TIMEOUT_SECONDS = env.int("PROCONNECT_TIMEOUT_SECONDS", default=10)
# The local provider of `make run` (tools/oidc-provider) sets this to say so on the login page.
PROCONNECT_LOCAL_PROVIDER = env.bool("PROCONNECT_LOCAL_PROVIDER", default=False)
if PROCONNECT_CLIENT_ID:
    if not PROCONNECT_CLIENT_SECRET or not PROCONNECT_ISSUER:
        raise ImproperlyConfigured(
            "ProConnect est activé (PROCONNECT_CLIENT_ID) : PROCONNECT_CLIENT_SECRET et "
            "PROCONNECT_ISSUER sont obligatoires (voir docs/operations.md, « ProConnect »)."
        )
    if not PROCONNECT_ISSUER.startswith(("https://", "http://127.0.0.1:", "http://localhost:")):
        raise ImproperlyConfigured(
            "PROCONNECT_ISSUER doit être une adresse https:// (http seulement sur cette machine, "
            "pour le fournisseur local)."
        )

# --- FranceConnect (docs/security.md, « Espace personnel ») -------------------------------------
# Sign-in for the persons followed to their own space (/mon-parcours/, issue 19), through the same
# OpenID Connect client as ProConnect (web/oidc.py). Off unless a client id is set: the space then
# offers the one-time code by e-mail only. The redirect URIs to register with FranceConnect are
# <PARCOURS_PUBLIC_URL>/mon-parcours/connexion/franceconnect/retour/ and, after logout,
# <PARCOURS_PUBLIC_URL>/mon-parcours/deconnexion/franceconnect/retour/.
FRANCECONNECT_CLIENT_ID = env.str("FRANCECONNECT_CLIENT_ID", default="")
FRANCECONNECT_CLIENT_SECRET = env.str("FRANCECONNECT_CLIENT_SECRET", default="")
FRANCECONNECT_ISSUER = env.str("FRANCECONNECT_ISSUER", default="")
# The pivot identity (matched against the person's record) and the address.
FRANCECONNECT_SCOPES = env.str(
    "FRANCECONNECT_SCOPES",
    default="openid given_name family_name birthdate birthplace gender email preferred_username",
)
FRANCECONNECT_ACR_VALUES = env.str("FRANCECONNECT_ACR_VALUES", default="eidas1")
FRANCECONNECT_USE_PKCE = env.bool("FRANCECONNECT_USE_PKCE", default=True)
FRANCECONNECT_TIMEOUT_SECONDS = env.int("FRANCECONNECT_TIMEOUT_SECONDS", default=10)
if FRANCECONNECT_CLIENT_ID:
    if not FRANCECONNECT_CLIENT_SECRET or not FRANCECONNECT_ISSUER:
        raise ImproperlyConfigured(
            "FranceConnect est activé (FRANCECONNECT_CLIENT_ID) : FRANCECONNECT_CLIENT_SECRET et "
            "FRANCECONNECT_ISSUER sont obligatoires (voir docs/security.md)."
        )
    if not FRANCECONNECT_ISSUER.startswith(("https://", "http://127.0.0.1:", "http://localhost:")):
        raise ImproperlyConfigured(
            "FRANCECONNECT_ISSUER doit être une adresse https:// (http seulement sur cette "
            "machine, pour le fournisseur local)."
        )
