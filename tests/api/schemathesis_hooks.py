"""Schemathesis hooks for tests/api/test_schemathesis.py, loaded by the `st` process
(SCHEMATHESIS_HOOKS); no Django here.

Ids drawn at random almost never name a record, so every answer would be a 404: an id in a
path is drawn either as schemathesis made it or among the test world's records of that
resource, listed by the test in PARCOURS_SCHEMATHESIS_IDS (JSON: resource → ids)."""

import json
import os
import re

import schemathesis
from hypothesis import strategies as st

IDS: dict[str, list[int]] = json.loads(os.environ.get("PARCOURS_SCHEMATHESIS_IDS", "{}"))
# "/api/v1/dpo/rights-requests/{id}/decide/" → "dpo/rights-requests"
RESOURCE = re.compile(r"^/api/v1/((?:dpo/)?[a-z-]+)/\{")


@schemathesis.hook
def flatmap_path_parameters(context, path_parameters):
    match = RESOURCE.match(context.operation.path) if context.operation else None
    known = IDS.get(match.group(1), []) if match else []
    value = (path_parameters or {}).get("id")
    if not known or not isinstance(value, int) or isinstance(value, bool):
        return st.just(path_parameters)
    return st.one_of(
        st.sampled_from(known).map(lambda pk: {**path_parameters, "id": pk}),
        st.just(path_parameters),
    )
