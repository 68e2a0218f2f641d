"""The monthly figures gained columns (0033: alerts raised and resolved; 0035: answers and first
appointments within the agreed delay), which the months before the refresh's window hold as 0.
Forgetting the previous runs makes the next refresh (nightly, or after retention) a full one
(services/referral_figures.py): no operator's command to remember after the upgrade."""

from django.db import migrations


def forget_previous_runs(apps, schema_editor):
    apps.get_model("parcours", "ReferralFigureRefresh").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [
        ("parcours", "0037_rights_end_date"),
    ]

    operations = [
        migrations.RunPython(forget_previous_runs, migrations.RunPython.noop, elidable=True),
    ]
