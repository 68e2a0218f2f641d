"""The subject-access pack (GDPR art. 15): gathered, packed and journaled in one action."""

import datetime as dt
import io
import zipfile
from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from ..actor import Actor
from ..db_routing import replica_eligible
from ..exports.subject_access import subject_access_zip, zip_filename
from ..gate.journal import journal_record
from ..models import AccessOperation
from ..selectors.subject_access import FORMAT, subject_access_data

PURPOSE = "Droit d'accès (RGPD art. 15)"


@dataclass(frozen=True)
class SubjectAccessPack:
    content: bytes  # the ZIP
    filename: str  # e.g. acces-donnees-P-0000042-2026-03-12.zip
    counts: dict[str, int]  # items per part of the pack (`subject_access_data`'s "counts")


@replica_eligible
@transaction.atomic
def subject_access_pack_generate(
    *,
    person_id: int,
    actor: Actor | None = None,
    user: User | None = None,
    now: dt.datetime | None = None,
) -> SubjectAccessPack:
    """The person's subject-access pack (ZIP: French PDF, JSON, LISEZMOI.txt), and one `export`
    row in the journal naming who produced it (an actor, or the user running the command), every
    data category, the sizes and the counts.

    Preconditions: none checked here. **Scoping is the caller's**: the DPO page or endpoint
    decides whether this actor may produce this person's pack (and answers 404 otherwise)
    before calling. Raises Person.DoesNotExist for an unknown person (nothing is journaled).

    The pack holds no staff name and no internal id but the record's reference; its access
    report (person version, the whole journal kept) stops at `now`, so it does not list this
    export itself.
    """
    now = now or timezone.now()
    data = subject_access_data(person_id=person_id, now=now)
    content = subject_access_zip(data)
    counts = dict(data["counts"])
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        sizes = {info.filename: info.file_size for info in archive.infolist()}
    journal_record(
        actor=actor,
        user=user,
        operation=AccessOperation.EXPORT,
        object_type="person",
        object_id=person_id,
        person_id=person_id,
        # Every category is disclosed, empty and "no" values included.
        categories=[category["code"] for category in data["categories"]],
        purpose=PURPOSE,
        detail={
            "format": FORMAT,
            "bytes": len(content),
            "files": sizes,
            "counts": counts,
        },
    )
    return SubjectAccessPack(content=content, filename=zip_filename(data), counts=counts)
