"""The access journal: who read, wrote, exported or was refused what, when, and on which basis.

django-simple-history records changes; it never sees a read. `AccessEvent` records every access
(reads included). Writers only INSERT (`services.journal.journal_record`, no lock, no hash); a short
periodic task seals new rows into a SHA-256 hash chain (`journal_seal`). A PostgreSQL trigger
(`parcours/journal_trigger.py`) refuses UPDATE, DELETE and TRUNCATE except sealing and the one
documented purge. See docs/journal.md.
"""

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .organisation import Organisation


class AccessOperation(models.TextChoices):
    READ = "read", _("Consultation")
    LIST = "list", _("Liste")
    WRITE = "write", _("Modification")
    EXPORT = "export", _("Export")
    DENIED = "denied", _("Accès refusé")
    BREAK_GLASS = "break_glass", _("Accès d'urgence")
    ACCESS_REQUEST = "access_request", _("Demande d'accès")
    REPORT = "report", _("Rapport")
    PURGE_MARKER = "purge_marker", _("Purge du journal")
    # Security events of an account (object_type "account"; no organisation: nobody acts for
    # one before signing in). The DPO's anomaly report reads them (selectors/anomalies.py).
    LOGIN_FAILED = "login_failed", _("Échec de connexion")
    LOCKOUT = "lockout", _("Verrouillage du compte")
    OTP_FAILED = "otp_failed", _("Code de vérification refusé")
    OTP_RECOVERY = "otp_recovery", _("Code de secours utilisé")
    OTP_ENROLLED = "otp_enrolled", _("Double authentification activée")
    OTP_CODES = "otp_codes", _("Codes de secours renouvelés")
    OTP_REMOVED = "otp_removed", _("Double authentification retirée")
    # A partner system's API token (object_type "api_token"), with the token's organisation.
    TOKEN_CREATED = "token_created", _("Jeton d'accès API créé")
    TOKEN_RENEWED = "token_renewed", _("Jeton d'accès API renouvelé")
    TOKEN_REVOKED = "token_revoked", _("Jeton d'accès API révoqué")


# The journal's security events (an account's, not a person's data).
SECURITY_OPERATIONS = (
    AccessOperation.LOGIN_FAILED,
    AccessOperation.LOCKOUT,
    AccessOperation.OTP_FAILED,
    AccessOperation.OTP_RECOVERY,
    AccessOperation.OTP_ENROLLED,
    AccessOperation.OTP_CODES,
    AccessOperation.OTP_REMOVED,
)


# The journal's events on partner systems' tokens (services/api_token.py).
TOKEN_OPERATIONS = (
    AccessOperation.TOKEN_CREATED,
    AccessOperation.TOKEN_RENEWED,
    AccessOperation.TOKEN_REVOKED,
)


# The operations a person's record can be the object of (the filters of their access report):
# neither the journal's own purge markers nor an account's security events.
PERSON_OPERATION_CHOICES = [
    choice
    for choice in AccessOperation.choices
    if choice[0] not in (AccessOperation.PURGE_MARKER, *SECURITY_OPERATIONS, *TOKEN_OPERATIONS)
]

# The object types of list events the person's access report searches (and indexes).
REPORTED_LIST_TYPES = ("person", "pathway", "referral")


class AccessEvent(models.Model):
    """One access to personal data. Append-only; the sealing fields are set once by the sealer.

    On PostgreSQL the table is partitioned by month of `occurred_at` (journal_partitions.py):
    its primary key there is `(id, occurred_at)`; `id` alone stays unique (one sequence) and is
    what Django calls the primary key."""

    id = models.BigAutoField(primary_key=True)
    occurred_at = models.DateTimeField(_("date"), default=timezone.now)
    # db_index=False: the (user, occurred_at) and (organisation, occurred_at) indexes lead with
    # the same column, a second index would only slow the inserts down.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,  # the journal must outlive the user
        related_name="+",
        null=True,
        blank=True,
        db_index=False,
    )
    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,  # the journal must outlive the organisation
        related_name="+",
        null=True,
        blank=True,
        db_index=False,
    )
    operation = models.CharField(_("opération"), max_length=20, choices=AccessOperation.choices)
    object_type = models.CharField(_("type d'objet"), max_length=30)  # "pathway", "person", …
    object_id = models.BigIntegerField(_("objet"), null=True, blank=True)
    object_ids = models.JSONField(_("objets (liste)"), default=list, blank=True)
    # No foreign key: anonymising or purging a person must never cascade into the journal.
    person_id = models.BigIntegerField(_("personne"), null=True, blank=True)
    categories = models.JSONField(_("catégories"), default=list, blank=True)
    # Text, not CharField: a long break-glass reason must never make the journaling fail.
    purpose = models.TextField(_("finalité"), blank=True)
    basis = models.TextField(_("base"), blank=True)  # "consent:12 legal:rsa"
    request_id = models.CharField(_("identifiant de requête"), max_length=64, blank=True)
    client_ip = models.GenericIPAddressField(_("adresse IP"), null=True, blank=True)
    detail = models.JSONField(_("détail"), default=dict, blank=True)
    # Sealing (set once by services.journal.journal_seal; empty/NULL until then).
    # Unique with `occurred_at` (the constraint below): the journal is partitioned by month and
    # PostgreSQL wants the partition key in every unique constraint (journal_partitions.py).
    # The one sealer, under its lock, numbers rows; `journal_verify` refuses a repeated rank.
    chain_seq = models.BigIntegerField(_("rang dans la chaîne"), null=True, blank=True)
    prev_hash = models.CharField(_("empreinte précédente"), max_length=64, blank=True)
    row_hash = models.CharField(_("empreinte"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("accès journalisé")
        verbose_name_plural = _("journal des accès")
        constraints = [
            models.UniqueConstraint(
                fields=["chain_seq", "occurred_at"], name="journal_chain_seq_unique"
            ),
        ]
        indexes = [
            models.Index(fields=["person_id", "occurred_at"], name="journal_person_idx"),
            models.Index(fields=["user", "occurred_at"], name="journal_user_idx"),
            models.Index(fields=["organisation", "occurred_at"], name="journal_org_idx"),
            models.Index(
                fields=["id"],
                condition=models.Q(chain_seq__isnull=True),
                name="journal_unsealed_idx",
            ),
            # The few purge markers: where the remaining chain starts (`journal_verify`) and the
            # last purge the integrity report shows; without it, looking for the newest marker
            # walks the whole journal backwards when there is none.
            models.Index(
                fields=["id"],
                condition=models.Q(operation="purge_marker"),
                name="journal_purge_marker_idx",
            ),
            # The person's access report (selectors.access_reports) finds the list pages that
            # showed one of their records by JSON containment (`object_ids @> '[42]'`). One
            # partial GIN index per object type the report looks for: the number 42 is a
            # different record in each type, so an index per type only returns rows of the
            # right type (a third of the heap fetches of one shared index on the bench), and
            # together they are half its size. jsonb_path_ops: smaller than the default
            # jsonb_ops and enough for @>. fastupdate off: with GIN's pending list, the insert
            # that fills it merges it into the index, a 1.5 s stall in some request every few
            # thousand list pages; without it every list page's INSERT pays ~0.4 ms, always.
            # Created CONCURRENTLY (migration 0009). docs/performance.md, "Rapports DPO sur un
            # journal de 10 M de lignes".
            *[
                GinIndex(
                    fields=["object_ids"],
                    opclasses=["jsonb_path_ops"],
                    condition=models.Q(operation="list", object_type=object_type),
                    fastupdate=False,
                    name=f"journal_listed_{object_type}s_idx",
                )
                for object_type in REPORTED_LIST_TYPES
            ],
        ]

    def __str__(self) -> str:
        return f"{self.get_operation_display()} {self.object_type} — {self.occurred_at:%d/%m/%Y}"

    def basis_of(self, object_ids) -> str:
        """The bases this row names for some of its objects: a list row whose objects were shown
        under different bases keeps each one's in `detail["bases"]` (parcours/gate/journal.py);
        otherwise the row's own `basis`."""
        per_object = (self.detail or {}).get("bases")
        if not per_object:
            return self.basis
        codes = {code for pk in object_ids for code in per_object.get(str(pk), "").split()}
        return " ".join(sorted(codes))


class JournalCheckpoint(models.Model):
    """A signed statement of the chain head (Ed25519), to be copied outside the system."""

    chain_seq = models.BigIntegerField(_("rang dans la chaîne"))
    row_hash = models.CharField(_("empreinte"), max_length=64)
    signed_payload = models.TextField(_("contenu signé"))  # canonical JSON, exactly as signed
    signature = models.TextField(_("signature (base64)"))
    public_key = models.TextField(_("clé publique (PEM)"))
    created_at = models.DateTimeField(_("date"), default=timezone.now)

    class Meta:
        verbose_name = _("point de contrôle du journal")
        verbose_name_plural = _("points de contrôle du journal")
        ordering = ["-chain_seq", "-id"]

    def __str__(self) -> str:
        return f"Point de contrôle n°{self.chain_seq} — {self.created_at:%d/%m/%Y %H:%M}"


class JournalVerification(models.Model):
    """The outcome of one `journal_verify` run (beat, command or a DPO's button), kept so the
    integrity report can say whether the period it covers is intact without walking the chain."""

    started_at = models.DateTimeField(_("lancée le"))
    finished_at = models.DateTimeField(_("terminée le"))
    ok = models.BooleanField(_("journal intègre"))
    checked = models.BigIntegerField(_("lignes vérifiées"), default=0)
    # The rows the walk covered: their sequence numbers and dates.
    first_seq = models.BigIntegerField(_("première séquence"), null=True, blank=True)
    last_seq = models.BigIntegerField(_("dernière séquence"), null=True, blank=True)
    covered_from = models.DateTimeField(_("du"), null=True, blank=True)
    covered_to = models.DateTimeField(_("au"), null=True, blank=True)
    unsealed = models.BigIntegerField(_("lignes non scellées"), default=0)
    broken_id = models.BigIntegerField(_("ligne rompue"), null=True, blank=True)
    broken_seq = models.BigIntegerField(_("séquence rompue"), null=True, blank=True)
    broken_at = models.DateTimeField(_("date de la ligne rompue"), null=True, blank=True)
    reason = models.TextField(_("motif"), blank=True)
    triggered_by = models.CharField(_("déclenchée par"), max_length=150, blank=True)

    class Meta:
        verbose_name = _("vérification du journal")
        verbose_name_plural = _("vérifications du journal")
        ordering = ["-finished_at", "-id"]

    def __str__(self) -> str:
        state = "intègre" if self.ok else "rompu"
        return f"Vérification du {self.finished_at:%d/%m/%Y %H:%M} : {state}"
