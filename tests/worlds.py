"""A test module's world built once, every test working on its own copy (issue 17).

What Django's `TestCase.setUpTestData` does, for pytest modules: the first test that asks for
the world builds it inside a transaction that stays open until the module's last test; each test
runs in a savepoint of that transaction (pytest-django's `db`: Django's TestCase atomics, nested)
rolled back after it, and gets a deep copy of the world's Python objects. So no row and no
attribute one test changes reaches the next one, as when each test built its own world, but the
world's hundreds of statements (users, organisations, consents, referrals, the grants they
recompute) run once per module instead of once per test.

Usage, in a module whose tests are not transactional (the world's transaction would be in their
way):

    @pytest.fixture(scope="module")
    def world_template(django_db_setup, django_db_blocker):
        with built_once(django_db_blocker):
            yield World()

    @pytest.fixture
    def world(world_template, db):
        return copy.deepcopy(world_template)

`world_template` is module-scoped, so pytest sets it up before the test's `db` (fixtures of a
wider scope first): the world's transaction is the outer one and the test's the savepoint.
Its rows are dated when the module starts rather than when each test starts, and their ids are
the same in every test: a world whose meaning depends on its age (a deadline minutes away) or a
test that depends on which ids exist (test_pickers.py posts "١٢", which Django reads as id 12)
keeps a world per test. The module's tests that do not use the world run before the first one
that does (tests/conftest.py, `pytest_collection_modifyitems`): they never see its rows.
"""

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import transaction


@contextmanager
def built_once(django_db_blocker) -> Iterator[None]:
    """A transaction open until the module's end, then rolled back: what the world wrote goes
    with it, as each test's rows go with its savepoint."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield
        transaction.set_rollback(True)
