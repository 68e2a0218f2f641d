"""Agreements bind only the organisations that accepted them (issue 12).

Each party of an agreement gets its own answer (`AgreementParty`: pending, accepted or declined,
when and by whom, with its own history). The automatic many-to-many table of the parties becomes
that model, following Django's recipe for adding `through=` to an existing field: the table is
renamed (rows and ids kept), its unnamed unique constraint gives way to the named one, and the
answer columns are added.

Existing agreements keep binding their parties: every existing party is marked accepted, dated
when it joined the agreement (so current deployments keep their access; no recompute needed).

The agreement's former snapshots of its parties (`HistoricalAgreement_parties`, one set per
history row of the agreement) become per-party history rows: a party that appears in a snapshot
is recorded as joining ("+", with the user and reason of that agreement change), one that
disappears as leaving ("-"); then one row per current party records the acceptance carried over.
The snapshot table is then dropped. Going backwards restores the schema, not the snapshots.

Numbered 0012 while issue 11's migration is being written alongside; it depends on 0010 for now
and is re-chained on merge.
"""

import django.db.models.deletion
import simple_history.models
from django.conf import settings
from django.db import migrations, models

CARRIED_OVER = "Acceptation reprise : signataire avant l'acceptation par chaque partie"


def carry_over(apps, schema_editor):
    from django.utils import timezone

    Agreement = apps.get_model("parcours", "Agreement")
    AgreementParty = apps.get_model("parcours", "AgreementParty")
    HistoricalAgreement = apps.get_model("parcours", "HistoricalAgreement")
    Snapshot = apps.get_model("parcours", "HistoricalAgreement_parties")
    HistoricalAgreementParty = apps.get_model("parcours", "HistoricalAgreementParty")
    db = schema_editor.connection.alias

    snapshots: dict[int, dict[int, int]] = {}  # history id → organisation id → party row id
    for row in Snapshot.objects.using(db).values("history_id", "organisation_id", "id"):
        snapshots.setdefault(row["history_id"], {})[row["organisation_id"]] = row["id"]

    joined_at: dict[tuple[int, int], object] = {}  # (agreement, organisation) → joined at
    history_rows = []
    previous: dict[int, dict[int, int]] = {}  # agreement id → its last snapshot
    versions = HistoricalAgreement.objects.using(db).order_by("id", "history_date", "history_id")
    for version in versions:
        before = previous.get(version.id, {})
        after = snapshots.get(version.history_id, {})
        if version.history_type == "-":
            after = {}
        reason = (version.history_change_reason or "")[:100] or None
        for organisation_id, row_id in sorted(after.items() - before.items()):
            joined_at[(version.id, organisation_id)] = version.history_date
            history_rows.append(
                HistoricalAgreementParty(
                    id=row_id,
                    agreement_id=version.id,
                    organisation_id=organisation_id,
                    status="accepted",  # before acceptances, a party was bound from the start
                    decided_at=version.history_date,
                    history_date=version.history_date,
                    history_type="+",
                    history_change_reason=reason,
                    history_user_id=version.history_user_id,
                )
            )
        for organisation_id, row_id in sorted(before.items() - after.items()):
            history_rows.append(
                HistoricalAgreementParty(
                    id=row_id,
                    agreement_id=version.id,
                    organisation_id=organisation_id,
                    status="accepted",
                    decided_at=joined_at.get((version.id, organisation_id)),
                    history_date=version.history_date,
                    history_type="-",
                    history_change_reason=reason,
                    history_user_id=version.history_user_id,
                )
            )
        previous[version.id] = after

    now = timezone.now()
    created = dict(Agreement.objects.using(db).values_list("id", "created_at"))
    for party in AgreementParty.objects.using(db).order_by("pk"):
        party.status = "accepted"
        party.decided_at = (
            joined_at.get((party.agreement_id, party.organisation_id))
            or (created[party.agreement_id])
        )
        party.save(using=db, update_fields=["status", "decided_at"])
        history_rows.append(
            HistoricalAgreementParty(
                id=party.id,
                agreement_id=party.agreement_id,
                organisation_id=party.organisation_id,
                status=party.status,
                decided_at=party.decided_at,
                history_date=now,
                history_type="~",
                history_change_reason=CARRIED_OVER,
            )
        )
    HistoricalAgreementParty.objects.using(db).bulk_create(history_rows, batch_size=1000)


class Migration(migrations.Migration):
    dependencies = [
        ("parcours", "0011_pending_recompute"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="agreement",
            name="proposed_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="parcours.organisation",
                verbose_name="proposée par",
            ),
        ),
        migrations.AddField(
            model_name="historicalagreement",
            name="proposed_by",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="parcours.organisation",
                verbose_name="proposée par",
            ),
        ),
        # The automatic table of the parties becomes the AgreementParty model (rows and ids kept).
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    sql="ALTER TABLE parcours_agreement_parties RENAME TO parcours_agreementparty",
                    reverse_sql=(
                        "ALTER TABLE parcours_agreementparty RENAME TO parcours_agreement_parties"
                    ),
                ),
            ],
            state_operations=[
                migrations.CreateModel(
                    name="AgreementParty",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        (
                            "agreement",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="signatures",
                                to="parcours.agreement",
                            ),
                        ),
                        (
                            "organisation",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="agreement_signatures",
                                to="parcours.organisation",
                                verbose_name="organisation",
                            ),
                        ),
                    ],
                    options={
                        "verbose_name": "signataire d'une convention",
                        "verbose_name_plural": "signataires des conventions",
                        "ordering": ["agreement_id", "pk"],
                        # What the automatic table had; dropped just below for a named one.
                        "unique_together": {("agreement", "organisation")},
                    },
                ),
                migrations.AlterField(
                    model_name="agreement",
                    name="parties",
                    field=models.ManyToManyField(
                        related_name="agreements",
                        through="parcours.AgreementParty",
                        to="parcours.organisation",
                        verbose_name="signataires",
                    ),
                ),
            ],
        ),
        migrations.AlterUniqueTogether(name="agreementparty", unique_together=set()),
        migrations.AddField(
            model_name="agreementparty",
            name="status",
            field=models.CharField(
                choices=[
                    ("pending", "En attente de son acceptation"),
                    ("accepted", "Acceptée"),
                    ("declined", "Refusée"),
                ],
                default="pending",
                max_length=10,
                verbose_name="réponse",
            ),
        ),
        migrations.AddField(
            model_name="agreementparty",
            name="decided_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="répondu le"),
        ),
        migrations.AddField(
            model_name="agreementparty",
            name="decided_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
                verbose_name="répondu par",
            ),
        ),
        migrations.AddField(
            model_name="agreementparty",
            name="decline_reason",
            field=models.TextField(blank=True, verbose_name="motif du refus"),
        ),
        migrations.CreateModel(
            name="HistoricalAgreementParty",
            fields=[
                (
                    "id",
                    models.BigIntegerField(
                        auto_created=True, blank=True, db_index=True, verbose_name="ID"
                    ),
                ),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("pending", "En attente de son acceptation"),
                            ("accepted", "Acceptée"),
                            ("declined", "Refusée"),
                        ],
                        default="pending",
                        max_length=10,
                        verbose_name="réponse",
                    ),
                ),
                (
                    "decided_at",
                    models.DateTimeField(blank=True, null=True, verbose_name="répondu le"),
                ),
                ("decline_reason", models.TextField(blank=True, verbose_name="motif du refus")),
                ("history_id", models.AutoField(primary_key=True, serialize=False)),
                ("history_date", models.DateTimeField(db_index=True)),
                ("history_change_reason", models.CharField(max_length=100, null=True)),
                (
                    "history_type",
                    models.CharField(
                        choices=[("+", "Created"), ("~", "Changed"), ("-", "Deleted")],
                        max_length=1,
                    ),
                ),
                (
                    "agreement",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="parcours.agreement",
                    ),
                ),
                (
                    "decided_by",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="répondu par",
                    ),
                ),
                (
                    "history_user",
                    models.ForeignKey(
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "organisation",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="parcours.organisation",
                        verbose_name="organisation",
                    ),
                ),
            ],
            options={
                "verbose_name": "historical signataire d'une convention",
                "verbose_name_plural": "historical signataires des conventions",
                "ordering": ("-history_date", "-history_id"),
                "get_latest_by": ("history_date", "history_id"),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.RunPython(carry_over, migrations.RunPython.noop),
        migrations.DeleteModel(name="HistoricalAgreement_parties"),
        migrations.AddConstraint(
            model_name="agreementparty",
            constraint=models.UniqueConstraint(
                fields=("agreement", "organisation"),
                name="agreement_party_once",
                violation_error_message="Cette organisation est déjà signataire de la convention.",
            ),
        ),
        migrations.AddConstraint(
            model_name="agreementparty",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("decided_at__isnull", True), ("status", "pending")),
                    models.Q(
                        models.Q(("status", "pending"), _negated=True),
                        ("decided_at__isnull", False),
                    ),
                    _connector="OR",
                ),
                name="agreement_party_answer_dated",
                violation_error_message=(
                    "Une réponse à la convention est datée ; une attente ne l'est pas."
                ),
            ),
        ),
        migrations.AddConstraint(
            model_name="agreementparty",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("status", "pending"), _negated=True),
                    ("decided_by__isnull", True),
                    _connector="OR",
                ),
                name="agreement_party_pending_unattributed",
                violation_error_message="Une convention en attente n'a pas encore de réponse.",
            ),
        ),
        migrations.AddConstraint(
            model_name="agreementparty",
            constraint=models.CheckConstraint(
                condition=models.Q(("status", "declined"), ("decline_reason", ""), _connector="OR"),
                name="agreement_party_reason_only_when_declined",
                violation_error_message="Seul un refus porte un motif.",
            ),
        ),
    ]
