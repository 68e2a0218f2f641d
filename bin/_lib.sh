# Shared by bin/run and bin/test: Python environment and local services.
# shellcheck shell=bash

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
TOOLS="$ROOT/var/tools"
UV_VERSION="0.13.9"

say() { printf '\033[1;34m==>\033[0m %s\n' "$*"; }
warn() { printf '\033[1;33m!!\033[0m %s\n' "$*" >&2; }

find_python() {
  for candidate in python3.13 python3.12 python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
      command -v "$candidate"; return 0
    fi
  done
  warn "Python 3.11 ou plus récent est requis (python3 --version)."; return 1
}

ensure_python_env() {
  local python; python="$(find_python)"
  if [[ ! -x "$TOOLS/bin/uv" ]]; then
    say "Installation de l'outil uv $UV_VERSION (gestionnaire de dépendances) dans var/tools"
    "$python" -m venv "$TOOLS"
    "$TOOLS/bin/pip" install --quiet "uv==$UV_VERSION"
  fi
  say "Installation des dépendances verrouillées (uv.lock)"
  UV_PYTHON="$python" "$TOOLS/bin/uv" sync --frozen --quiet --project "$ROOT"
  export PATH="$VENV/bin:$PATH"
}

# Where the fallback mode's e-mails go: files in <root>/var/mail. filemail:// + an absolute
# path, i.e. four slashes: django-environ reads what follows "filemail:///" as a path relative
# to the working directory (tests/test_settings.py sends one from elsewhere).
fallback_email_url() {  # $1: the checkout's absolute path
  printf 'filemail:///%s/var/mail' "$1"
}

is_installed() { command -v "$1" >/dev/null 2>&1; }

postgres_up() { is_installed pg_isready && pg_isready -q -h 127.0.0.1 -p 5432; }
redis_up() { [[ "$(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null)" == "PONG" ]]; }

start_postgres() {
  postgres_up && return 0
  is_installed pg_ctlcluster || return 1
  say "PostgreSQL est installé mais arrêté : démarrage"
  local version; version="$(pg_lsclusters -h 2>/dev/null | awk '{print $1; exit}')"
  [[ -n "$version" ]] || version="$(ls /etc/postgresql 2>/dev/null | head -1)"
  pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  for _ in $(seq 1 30); do postgres_up && return 0; sleep 1; done
  return 1
}

start_redis() {
  redis_up && return 0
  is_installed redis-server || return 1
  say "Redis est installé mais arrêté : démarrage"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null || true
  for _ in $(seq 1 30); do redis_up && return 0; sleep 0.5; done
  return 1
}

ensure_database() {  # $1: database name
  psql -h 127.0.0.1 -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname='$1'" | grep -q 1 ||
    psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE \"$1\"" >/dev/null
}

# The application's PostgreSQL role (cluster-wide): created if missing, its password (re)set,
# never a superuser nor able to create anything (docs/operations.md, "Database roles").
ensure_app_role() {  # $1: role name, $2: password
  psql -h 127.0.0.1 -U postgres -d postgres -qAt -v ON_ERROR_STOP=1 -v role="$1" -v password="$2" >/dev/null <<'SQL'
SELECT format('CREATE ROLE %I LOGIN', :'role')
  WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'role') \gexec
SELECT format('ALTER ROLE %I WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION '
              'NOBYPASSRLS PASSWORD %L', :'role', :'password') \gexec
SQL
}

# Browser tests drive Debian's chromium through Playwright (never `playwright install`).
ensure_chromium() {
  is_installed chromium && return 0
  if [[ "$(id -u)" == 0 ]] && is_installed apt-get; then
    say "Installation de chromium (paquet Debian) pour les tests de navigateur"
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    is_installed chromium && return 0
  fi
  warn "Installez chromium : sudo apt-get install chromium"
  return 1
}

# The local OpenID provider standing in for ProConnect (tools/oidc-provider: the certified
# `oidc-provider` package on Node.js), used by the tests and offered by `make run`. Its locked
# dependencies are installed once (`npm ci`), again only when package-lock.json changes.
OIDC_PROVIDER_DIR="$ROOT/tools/oidc-provider"
node_usable() {
  is_installed node && is_installed npm &&
    node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)'
}
ensure_oidc_provider() {
  if ! node_usable && [[ "$(id -u)" == 0 ]] && is_installed apt-get; then
    say "Installation de Node.js et npm (paquets Debian) pour le fournisseur ProConnect local"
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null || true
  fi
  node_usable || { warn "Node.js 20.19 ou plus récent (et npm) est requis pour le fournisseur ProConnect local."; return 1; }
  local stamp="$OIDC_PROVIDER_DIR/node_modules/.package-lock.json"
  if [[ ! -f "$stamp" || "$OIDC_PROVIDER_DIR/package-lock.json" -nt "$stamp" ]]; then
    say "Installation du fournisseur d'identité local (oidc-provider, npm ci) dans tools/oidc-provider"
    (cd "$OIDC_PROVIDER_DIR" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  fi
}
