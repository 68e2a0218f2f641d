"""Rules of the house style that a test can check on the source (docs/decisions/0010-one-gate.md).

* Who may do what is the gate's table (`parcours/rules.py`): no other module compares a
  role, nor queries memberships by a role written in the code — it asks the table
  (`gate.require`, `gate.may`, `roles_for`).
* Journal rows are written by the gate alone (`parcours/gate/journal.py`): nothing else builds or
  inserts an `AccessEvent`; doors (API, pages, admin, tasks) only tell the gate what they showed
  (`record_read`, `record_list` and their `_of` forms); writes, refusals and events are
  journaled by the services through the gate.
* CSV files are written by `parcours/spreadsheet.py` alone, which neutralises every cell
  against formula injection: nothing else calls `csv.writer` or `csv.DictWriter`.
"""

import ast
from pathlib import Path

import pytest

from parcours.models import Role

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("parcours", "notifications", "web", "backend")
GATE = ROOT / "parcours" / "gate"
TABLE = ROOT / "parcours" / "rules.py"
# Data, not decisions: role choices are defined in the models; seeds create demo memberships.
NOT_DECISIONS = ("migrations", "models", "management/commands/seed_")
ROLE_VALUES = set(Role.values)
# Keyword filters that select memberships by role.
ROLE_FILTERS = {"role", "role__in", "memberships__role", "memberships__role__in"}
QUERY_METHODS = {"filter", "exclude", "get", "Q", "get_or_create", "update_or_create"}
# What a door may call to tell the gate what it showed.
DOOR_JOURNAL_NAMES = {"record_read", "record_list", "record_read_of", "record_list_of", "Seen"}
DOORS = ("parcours/api", "parcours/admin.py", "web", "notifications/api", "notifications/views")
TASK_MODULES = ("tasks.py", "_tasks.py")


def _sources():
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            yield path, path.relative_to(ROOT).as_posix()


def _is_role_literal(node: ast.AST) -> bool:
    if isinstance(node, ast.Attribute) and node.attr == "role":
        return True  # actor.role, membership.role
    if (
        isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == "Role"
        and node.attr.isupper()
    ):
        return True  # Role.MANAGER
    if isinstance(node, ast.Constant) and node.value in ROLE_VALUES:
        return True  # "manager"
    if isinstance(node, ast.Set | ast.Tuple | ast.List):
        return any(_is_role_literal(element) for element in node.elts)
    if isinstance(node, ast.Call) and getattr(node.func, "id", "") in {"frozenset", "set"}:
        return any(_is_role_literal(arg) for arg in node.args)
    return False


def _role_decisions(tree: ast.AST) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            if any(_is_role_literal(operand) for operand in operands):
                found.append((node.lineno, ast.unparse(node)))
        elif isinstance(node, ast.Call):
            name = getattr(node.func, "attr", getattr(node.func, "id", ""))
            if name in QUERY_METHODS:
                for keyword in node.keywords:
                    if keyword.arg in ROLE_FILTERS and _is_role_literal(keyword.value):
                        found.append((node.lineno, ast.unparse(keyword)))
    return found


def test_no_module_outside_the_gate_decides_by_role():
    violations = []
    for path, name in _sources():
        if path.is_relative_to(GATE) or path == TABLE or any(p in name for p in NOT_DECISIONS):
            continue
        for line, text in _role_decisions(ast.parse(path.read_text(), filename=name)):
            violations.append(f"{name}:{line}: {text}")
    assert violations == [], "decide through parcours/rules.py:\n" + "\n".join(violations)


def _journal_writes(tree: ast.AST) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Name) and func.id == "AccessEvent":
            found.append((node.lineno, ast.unparse(node)[:80]))
        elif isinstance(func, ast.Attribute) and func.attr in {
            "create",
            "bulk_create",
            "get_or_create",
            "update_or_create",
            "update",
        }:
            target = ast.unparse(func.value)
            if target.startswith("AccessEvent"):
                found.append((node.lineno, ast.unparse(node)[:80]))
    return found


# The journal's own upkeep: sealing sets the three sealing fields of rows the gate wrote (the
# database's guard allows nothing else), never a row of its own.
SEALING = ROOT / "parcours" / "services" / "journal.py"


def test_only_the_gate_writes_journal_rows():
    violations = []
    for path, name in _sources():
        if path in (GATE / "journal.py", SEALING):
            continue
        for line, text in _journal_writes(ast.parse(path.read_text(), filename=name)):
            violations.append(f"{name}:{line}: {text}")
    assert violations == [], "journal through parcours/gate/journal.py:\n" + "\n".join(violations)


def _journal_imports(tree: ast.AST) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").endswith("gate.journal"):
            names |= {alias.name for alias in node.names}
    return names


def _is_door(name: str) -> bool:
    return name.startswith(DOORS) or name.endswith(TASK_MODULES)


@pytest.mark.parametrize("name", [n for _p, n in _sources() if _is_door(n)])
def test_doors_only_tell_the_gate_what_they_showed(name):
    """A door never records a write, a refusal or an event itself: the service it calls (or the
    gate's `locate`) does; it only reports the records it displayed."""
    imported = _journal_imports(ast.parse((ROOT / name).read_text(), filename=name))
    assert imported <= DOOR_JOURNAL_NAMES, f"{name} imports {sorted(imported)}"


# The one CSV writer (its cells neutralised against formula injection).
CSV_WRITER = ROOT / "parcours" / "spreadsheet.py"


def _csv_writers(tree: ast.AST) -> list[tuple[int, str]]:
    return [
        (node.lineno, ast.unparse(node)[:80])
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute | ast.Name)
        and ast.unparse(node.func) in {"csv.writer", "csv.DictWriter", "writer", "DictWriter"}
    ]


def test_only_the_spreadsheet_module_writes_csv():
    violations = [
        f"{name}:{line}: {text}"
        for path, name in _sources()
        if path != CSV_WRITER
        for line, text in _csv_writers(ast.parse(path.read_text(), filename=name))
    ]
    assert violations == [], "CSV through parcours/spreadsheet.py:\n" + "\n".join(violations)


def test_the_checks_see_what_they_look_for():
    """The detectors themselves: a role comparison, a role filter, a journal write."""
    sample = ast.parse(
        "actor.role == Role.MANAGER\n"
        "x in ('counsellor', 'social_worker')\n"
        "Membership.objects.filter(role=Role.DPO)\n"
        "AccessEvent.objects.create(operation='read')\n"
        "AccessEvent(operation='read')\n"
    )
    assert len(_role_decisions(sample)) == 3
    assert len(_journal_writes(sample)) == 2
    assert len(_csv_writers(ast.parse("csv.writer(s)\nw = csv.DictWriter(s, f)"))) == 2
    harmless = ast.parse("Actor(user=u, organisation=o, role=Role.ADMIN)\nrole in table[action]\n")
    assert _role_decisions(harmless) == []
