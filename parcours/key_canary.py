"""Key canaries: does this process hold the database's own FIELD_ENCRYPTION_KEYS and
SEARCH_INDEX_KEY? (issue 16; docs/operations.md, « Témoins des clés »)

Both keys are only checked for their form at start-up (parcours/crypto_keys.py). A well-formed
but wrong field key would pass and then make every read of a person, pathway or referral fail;
a wrong search key would start cleanly and silently let duplicate persons through (their blind
indexes no longer match). The canary row (models.KeyCanary) holds a known text encrypted under
the field keys and the blind index of a known string under the search key; `canary_problems`
says, in French and naming the variable, which key does not match it.

The row is written when missing (after `migrate`, or by the first check): before writing it
into a database that already holds people, one person's encrypted e-mail and identity index are
checked with the same keys, so that a first deployment with a wrong key does not enshrine it.
`rotate_field_keys` re-encrypts the row with every other encrypted column.

Read by: the system check `parcours.E104`/`E105` (tag `database`: `manage.py check --database
default`, `migrate`), the WSGI application's start (backend/wsgi.py) and `/readyz`
(backend/health.py). Never puts a key or a decrypted value in a message.
"""

import hmac
from dataclasses import dataclass

from cryptography.fernet import InvalidToken
from django.db import DEFAULT_DB_ALIAS, IntegrityError, connections, transaction

from .fields import blind_index, multifernet

PLAINTEXT = "parcours : témoin des clés de chiffrement"
SEARCH_KIND = "key-canary"
SEARCH_VALUE = "parcours-search-index-canary"

FIELD_KEYS_MESSAGE = (
    "FIELD_ENCRYPTION_KEYS ne déchiffre pas les données de cette base (témoin des clés) : "
    "aucune des clés listées n'est celle qui les a chiffrées (clé remplacée au lieu d'être "
    "ajoutée en tête, mauvais fichier d'environnement, base restaurée d'une autre instance). "
    "Démarrage refusé : chaque lecture d'un dossier échouerait. Remettez la ou les clés "
    "d'origine dans FIELD_ENCRYPTION_KEYS (une nouvelle clé s'ajoute en premier, les anciennes "
    "restent après elle). Voir docs/operations.md, « Témoins des clés »."
)
SEARCH_KEY_MESSAGE = (
    "SEARCH_INDEX_KEY n'est pas la clé qui a calculé les index de recherche de cette base "
    "(le témoin des clés ne correspond pas). Démarrage refusé : les doublons de personnes ne "
    "seraient plus détectés et les recherches par NIR ou identifiant France Travail ne "
    "trouveraient rien. Remettez la SEARCH_INDEX_KEY d'origine : elle ne se change pas (aucune "
    "commande ne recalcule les index). Voir docs/operations.md, « Témoins des clés »."
)


@dataclass(frozen=True)
class KeyProblem:
    variable: str  # the environment variable at fault: FIELD_ENCRYPTION_KEYS or SEARCH_INDEX_KEY
    message: str


FIELD_KEYS_PROBLEM = KeyProblem("FIELD_ENCRYPTION_KEYS", FIELD_KEYS_MESSAGE)
SEARCH_KEY_PROBLEM = KeyProblem("SEARCH_INDEX_KEY", SEARCH_KEY_MESSAGE)


def search_digest() -> str:
    return blind_index(SEARCH_KIND, SEARCH_VALUE)


def _table() -> str:
    from .models import KeyCanary

    return KeyCanary._meta.db_table


def _read(using: str) -> tuple[str, str] | None:
    """The canary's (token, digest), read raw: the ORM would raise on a token that does not
    decrypt, and that is exactly what is being asked."""
    connection = connections[using]
    table = connection.ops.quote_name(_table())
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT sealed, search_digest FROM {table} WHERE id = 1")  # noqa: S608
        row = cursor.fetchone()
    return (row[0], row[1]) if row else None


def _decrypts(token: str) -> bool:
    try:
        return multifernet().decrypt(token.encode()).decode() == PLAINTEXT
    except (InvalidToken, UnicodeDecodeError, ValueError, TypeError):
        return False


def _existing_data_problems(using: str) -> list[KeyProblem]:
    """Before the canary is first written into a database that already holds people: one
    person's encrypted e-mail must decrypt and its identity index must match (computed from
    its clear name key and birth date), else the keys are not this database's."""
    from .models import Person

    connection = connections[using]
    table = connection.ops.quote_name(Person._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT email, name_key, birth_date, identity_index FROM {table} "  # noqa: S608
            "WHERE identity_index <> '' ORDER BY id LIMIT 1"
        )
        row = cursor.fetchone()
    if row is None:
        return []
    email, name_key, birth_date, identity_index = row
    problems = []
    if email is not None:
        try:
            multifernet().decrypt(email.encode())
        except (InvalidToken, ValueError, TypeError):
            problems.append(FIELD_KEYS_PROBLEM)
    birth = birth_date if isinstance(birth_date, str) else birth_date.isoformat()
    if not hmac.compare_digest(blind_index("identity", f"{name_key}|{birth}"), identity_index):
        problems.append(SEARCH_KEY_PROBLEM)
    return problems


def _write(using: str) -> None:
    from .models import KeyCanary

    try:
        with transaction.atomic(using=using):
            KeyCanary.objects.using(using).create(
                id=1, sealed=PLAINTEXT, search_digest=search_digest()
            )
    except IntegrityError:
        pass  # another process wrote it first: it is read back and checked below


def canary_installed(using: str = DEFAULT_DB_ALIAS) -> bool:
    """False before `migrate` created the table (the check then has nothing to read)."""
    connection = connections[using]
    with connection.cursor() as cursor:
        return _table() in connection.introspection.table_names(cursor)


def canary_problems(using: str = DEFAULT_DB_ALIAS) -> list[KeyProblem]:
    """What is wrong with the configured keys, [] when both match the canary. Writes the canary
    when it is missing and the existing data agree with the keys. Raises the database's own
    errors (OperationalError when it is unreachable): the caller decides what that means."""
    if not canary_installed(using):
        return []
    row = _read(using)
    if row is None:
        problems = _existing_data_problems(using)
        if problems:
            return problems
        _write(using)
        row = _read(using)
        if row is None:  # pragma: no cover - written just above, never deleted
            return []
    token, digest = row
    problems = []
    if not _decrypts(token):
        problems.append(FIELD_KEYS_PROBLEM)
    if not hmac.compare_digest(search_digest(), digest):
        problems.append(SEARCH_KEY_PROBLEM)
    return problems


def refuse_wrong_keys(using: str = DEFAULT_DB_ALIAS) -> None:
    """For a server's start (backend/wsgi.py): raise ImproperlyConfigured naming the wrong key.
    An unreachable database does not stop the start: the server then answers 503 and /readyz
    says so until the database is back, when the keys are checked by /readyz."""
    from django.core.exceptions import ImproperlyConfigured
    from django.db import Error as DatabaseError

    try:
        problems = canary_problems(using)
    except DatabaseError:
        return
    finally:
        # The check's connection must not be inherited by forked workers (gunicorn --preload).
        connections[using].close()
    if problems:
        raise ImproperlyConfigured(" ".join(problem.message for problem in problems))


def install_canary(sender, using: str = DEFAULT_DB_ALIAS, **kwargs) -> None:
    """post_migrate: the canary written as soon as its table exists. Keys that disagree with
    the existing data leave it unwritten; the next check (`check --database default`, the
    server's start, /readyz) reports them."""
    canary_problems(using)
