"""manage.py retention_forecast and retention_apply; the beat entry of the Celery task."""

import datetime as dt
import io

import pytest
from django.core.management import CommandError, call_command

from parcours.models import AccessEvent, Pathway, Person
from tests.factories import PathwayFactory, PersonFactory

pytestmark = pytest.mark.django_db

UTC = dt.UTC
NOW = "2028-06-01T03:30:00+00:00"


def run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


@pytest.fixture
def due_soon(make_actor):
    """Pathways whose 2 years without contact end in 10 days, in 40 days, and already ended
    4 years ago; their people."""
    owner = make_actor()
    soon = PathwayFactory(
        owner_organisation=owner.organisation,
        opened_at=dt.datetime(2026, 6, 11, 9, 0, tzinfo=UTC),
        person=PersonFactory(first_name="Ninon", last_name="Delacroix"),
    )
    later = PathwayFactory(
        owner_organisation=owner.organisation,
        opened_at=dt.datetime(2026, 7, 11, 9, 0, tzinfo=UTC),
    )
    gone = PathwayFactory(
        owner_organisation=owner.organisation,
        opened_at=dt.datetime(2024, 5, 20, 9, 0, tzinfo=UTC),
        archived_at=dt.datetime(2026, 5, 21, 3, 30, tzinfo=UTC),
    )
    return soon, later, gone


def test_forecast_lists_ids_due_within_the_month_without_names(due_soon):
    soon, later, gone = due_soon

    output = run("retention_forecast", "--now", NOW)

    assert output.splitlines() == [
        "Prévision de conservation du 01/06/2028 au 01/07/2028 (30 jours) :",
        "Parcours à archiver : 1 (dernier contact avant le 01/07/2026)",
        f"  parcours n° {soon.pk}",
        "Parcours à anonymiser : 1 (dernier contact avant le 01/07/2024)",
        f"  parcours n° {gone.pk}",
        "Personnes à anonymiser : 1 (tous leurs parcours anonymisés)",
        f"  personne n° {gone.person_id}",
        "Journal des accès à purger : 0 ligne(s) scellée(s) antérieure(s) au 01/07/2027",
    ]
    assert "Delacroix" not in output and "Ninon" not in output
    assert Pathway.objects.filter(archived_at__isnull=False).count() == 1  # nothing changed
    assert not AccessEvent.objects.exists()  # a forecast is not journaled: ids only

    wider = run("retention_forecast", "--now", NOW, "--days", "60", "--max-ids", "1")
    assert "Parcours à archiver : 2 (dernier contact avant le 31/07/2026)" in wider
    assert f"  parcours n° {min(soon.pk, later.pk)} … et 1 autre(s)" in wider


def test_forecast_lists_early_erasures_when_a_category_is_shorter(due_soon):
    from parcours.models import RetentionRule

    RetentionRule.objects.create(category="health", active_months=12, archived_months=0)
    output = run("retention_forecast", "--now", NOW)
    assert (
        "Effacement anticipé « Santé et handicap » : 2 (dernier contact avant le 01/07/2027)"
    ) in output


def test_forecast_refuses_bad_arguments():
    with pytest.raises(CommandError, match="Date invalide"):
        run("retention_forecast", "--now", "hier")
    with pytest.raises(CommandError, match="positif"):
        run("retention_forecast", "--days", "-1")


def test_apply_command_dry_run_then_for_real(due_soon):
    soon, _later, gone = due_soon

    dry = run("retention_apply", "--dry-run", "--now", "2028-06-21T05:30")

    assert dry.splitlines() == [
        "Simulation des durées de conservation au 21/06/2028 05:30…",
        "Simulation : rien n'a été modifié.",
        "Parcours à archiver : 1",
        "Parcours à anonymiser : 1 ; personnes : 1",
        "Journal des accès : 0 ligne(s) à purger",
    ]
    assert Pathway.objects.get(pk=soon.pk).archived_at is None
    assert not AccessEvent.objects.exists()

    done = run("retention_apply", "--now", "2028-06-21T05:30", "--batch-size", "10")

    assert done.splitlines() == [
        "Application des durées de conservation au 21/06/2028 05:30…",
        "Archivage : 1 parcours dans ce lot, 1 au total",
        "Anonymisation : 1 parcours dans ce lot, 1 au total",
        "Conservation appliquée.",
        "Parcours archivés : 1",
        "Parcours anonymisés : 1 ; personnes anonymisées : 1",
        "Journal des accès : 0 ligne(s) purgée(s)",
    ]
    # A naive --now is local time (Europe/Paris, UTC+2 in June).
    assert Pathway.objects.get(pk=soon.pk).archived_at == dt.datetime(
        2028, 6, 21, 3, 30, tzinfo=UTC
    )
    assert Person.objects.get(pk=gone.person_id).anonymised_at is not None
    with pytest.raises(CommandError, match="--batch-size"):
        run("retention_apply", "--batch-size", "0")


def test_task_is_registered_and_scheduled_daily(settings):
    from celery.schedules import crontab

    from backend.celery import app

    app.loader.import_default_modules()
    assert "parcours.retention_apply" in app.tasks
    entry = settings.CELERY_BEAT_SCHEDULE["retention-apply"]
    assert entry["task"] == "parcours.retention_apply"
    assert entry["schedule"] == crontab(minute=30, hour=settings.PARCOURS_RETENTION_HOUR)
