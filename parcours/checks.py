"""System checks on the project's Celery tasks and on the settings the security rests on
(registered by ParcoursConfig.ready).

Celery checks a task's time limits only when something queues it: a hard limit below the
global soft limit makes `apply_async` raise at run time, after the caller's transaction has
committed (finding 3 of issue 12). These checks make `manage.py check` — run by bin/test and
before a deployment — refuse such a task instead, and a beat entry naming no registered task.

`key_canary_check` (tag `database`) refuses keys that are not the database's own (issue 16).
`throttle_counters_check` (`--deploy`) warns when the API's rate counters would be kept per
process (issue 17: a RabbitMQ broker leaves them no Redis to default to).
"""

from collections.abc import Iterable

from celery import Celery, Task, current_app
from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register
from django.db import DEFAULT_DB_ALIAS

# Celery's registry also holds its own tasks (celery.*); these are the project's.
PROJECT_TASK_PREFIXES = ("parcours.", "notifications.")


def project_tasks(app: Celery | None = None) -> dict[str, Task]:
    """The project's registered tasks by name (the worker's and the web process's registry)."""
    registry = (app or current_app).tasks
    return {
        name: task
        for name, task in sorted(registry.items())
        if name.startswith(PROJECT_TASK_PREFIXES)
    }


def task_limits(task: Task, app: Celery | None = None) -> tuple[float | None, float | None]:
    """(soft, hard) time limits the worker applies to `task`: its own, else the global ones."""
    conf = (app or current_app).conf
    soft = task.soft_time_limit if task.soft_time_limit is not None else conf.task_soft_time_limit
    hard = task.time_limit if task.time_limit is not None else conf.task_time_limit
    return soft, hard


def task_limit_errors(app: Celery | None = None) -> list[str]:
    """What is wrong with the project's tasks' limits, one sentence per problem."""
    app = app or current_app
    visibility = (app.conf.broker_transport_options or {}).get("visibility_timeout")
    problems = []
    for name, task in project_tasks(app).items():
        soft, hard = task_limits(task, app)
        if soft is None or hard is None:
            problems.append(f"{name}: no soft or no hard time limit (every task needs both)")
        elif soft >= hard:
            problems.append(
                f"{name}: soft time limit {soft} s is not below its hard limit {hard} s "
                "(Celery refuses to queue a task whose soft limit exceeds its hard limit; the "
                "global soft limit applies when the task sets only a hard one)"
            )
        elif visibility is not None and hard > visibility:
            problems.append(
                f"{name}: hard time limit {hard} s exceeds the broker's visibility timeout "
                f"{visibility} s (Redis would deliver it again while it still runs)"
            )
    return problems


def beat_entry_errors(schedule: dict, registered: Iterable[str]) -> list[str]:
    known = set(registered)
    return [
        f"beat entry {entry!r} names {spec['task']!r}, which no module registers"
        for entry, spec in sorted(schedule.items())
        if spec["task"] not in known
    ]


@register("celery")
def check_celery_tasks(app_configs=None, **kwargs) -> list[CheckMessage]:
    errors: list[CheckMessage] = [
        Error(problem, id="parcours.E101") for problem in task_limit_errors()
    ]
    errors += [
        Error(problem, id="parcours.E102")
        for problem in beat_entry_errors(settings.CELERY_BEAT_SCHEDULE, current_app.tasks)
    ]
    return errors


TOKEN_REVOCATION_HOOK = "parcours.passwords.RevokeApiTokensOnPasswordChange"  # noqa: S105


@register()
def token_revocation_hook_check(app_configs=None, **kwargs) -> list[CheckMessage]:
    """A changed password revokes the account's API tokens through this validator's hook:
    settings without it would let tokens outlive their owner's password (issue 15)."""
    names = [v.get("NAME") for v in settings.AUTH_PASSWORD_VALIDATORS]
    if TOKEN_REVOCATION_HOOK in names:
        return []
    return [
        Error(
            f"AUTH_PASSWORD_VALIDATORS must include {TOKEN_REVOCATION_HOOK}: a password change "
            "must revoke the account's API tokens.",
            id="parcours.E103",
        )
    ]


KEY_CANARY_CHECK_IDS = {
    "FIELD_ENCRYPTION_KEYS": "parcours.E104",
    "SEARCH_INDEX_KEY": "parcours.E105",
}


@register(Tags.database)
def key_canary_check(app_configs=None, databases=None, **kwargs) -> list[CheckMessage]:
    """The field and search keys are this database's own (parcours/key_canary.py). Tagged
    `database`: run by `manage.py check --database default` and `migrate`, which open the
    database; a plain `check` (no database, e.g. while building the image) skips it."""
    if not databases or DEFAULT_DB_ALIAS not in databases:
        return []
    from django.db import OperationalError

    from .key_canary import canary_problems

    try:
        problems = canary_problems(DEFAULT_DB_ALIAS)
    except OperationalError:
        return [
            Error(
                "La base de données est injoignable : les témoins des clés (FIELD_ENCRYPTION_KEYS, "
                "SEARCH_INDEX_KEY) ne peuvent pas être vérifiés.",
                id="parcours.E106",
            )
        ]
    return [
        Error(problem.message, id=KEY_CANARY_CHECK_IDS[problem.variable]) for problem in problems
    ]


@register(Tags.security, deploy=True)
def throttle_counters_check(app_configs=None, **kwargs) -> list[CheckMessage]:
    """The API's rate counters must be shared by every web process: in memory, each process
    counts on its own and a token's rate is multiplied by their number. They default to the
    broker's URL, which is no Redis when the broker is RabbitMQ (docs/operations.md)."""
    if settings.CACHES["throttle"]["BACKEND"].endswith("RedisCache"):
        return []
    return [
        Warning(
            "The API's rate counters are kept in each process's memory: set "
            "PARCOURS_THROTTLE_CACHE_URL to a Redis (redis://…) shared by the web processes.",
            id="parcours.W101",
        )
    ]
