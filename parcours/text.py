"""What free text may hold (issue 16, finding 7): no control character but tab and line breaks,
and no bidirectional override — « Léa\u202eMartin » shows as another name than the one stored
(the "Trojan Source" trick), a bell or an escape sequence reaches a DPO's terminal or CSV. NUL
is already refused by Django's and DRF's fields. One rule, read by the API's parser
(parcours/api/parsers.py) and the pages' forms (web/forms.py)."""

import re

from django.utils.translation import gettext as _

from .errors import InvalidInput

# C0 controls but \t \n \r, DEL, C1 controls, the bidirectional embeddings, overrides and
# isolates (U+202A–U+202E, U+2066–U+2069).
FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
MESSAGE = (
    "Ce texte contient un caractère invisible interdit (caractère de contrôle ou inversion du "
    "sens d'écriture) : retirez-le ou saisissez le texte à nouveau."
)


def has_forbidden_characters(value: str) -> bool:
    return FORBIDDEN.search(value) is not None


def required_text(value: str, *, field: str, limit: int) -> str:
    """A free text a service requires: stripped, not empty, at most `limit` characters — else
    InvalidInput naming `field`, in French (the API's 400 and the pages' field error)."""
    text = (value or "").strip()
    if not text:
        raise InvalidInput(
            _("Ce champ est obligatoire."), fields={field: [_("Ce champ est obligatoire.")]}
        )
    if len(text) > limit:
        message = _("%(limit)s caractères au plus (%(count)s saisis).") % {
            "limit": limit,
            "count": len(text),
        }
        raise InvalidInput(message, fields={field: [message]})
    return text
