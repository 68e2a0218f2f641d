"""A 10 M-row access journal for the DPO report benchmarks (bench/journal_reports_bench.py).

Everything is generated inside PostgreSQL (`INSERT … SELECT` over `generate_series`): no row
crosses the wire, ~21,000 rows/s here for 10 M rows (2 cores, other work beside it). INSERTs
only — the journal's trigger refuses UPDATE, DELETE and TRUNCATE (docs/journal.md), so a bench
journal is never rewritten: drop and re-create the database instead. The rows are **not
sealed** (`chain_seq` NULL, empty hashes): sealing 10 M rows would rewrite the whole table once
more (an UPDATE per row) for nothing a read benchmark looks at; sealed rows are 2 × 64
characters + 8 bytes longer (see docs/performance.md).

The mix (over `--months`, in time order: ids grow with `occurred_at` as in production):

| operation | share | about |
|---|---:|---|
| read | 60 % | one person, pathway or referral (`object_id`, `person_id`) |
| list | 30 % | a page of 20–50 persons, pathways or referrals (`object_ids`, no `person_id`) |
| write | 6.5 % | like read |
| denied | 2 % | a person or pathway, by a user of a random organisation |
| export | 0.8 % | like read |
| break_glass | 0.3 % | a pathway, with a reason and `break_glass:<n>` as basis |
| access_request | 0.2 % | a pathway, with a reason |
| report | 0.2 % | a person, by a DPO |

97 % of the events fall between 07:30 and 18:30 (Paris; weekends are not treated apart), the rest
anywhere. Detail events
name a person drawn uniformly, except `--hot` people (those with the most referrals) who are
drawn `--hot-share` of the time — thousands of events each. 75 % of detail events come from the
owner organisation of the pathway, the rest from a random one; the user is a member of that
organisation (DPOs only write reports). A list page is a run of consecutive persons (or
referrals) in owner (receiver) organisation order, i.e. a slice of one organisation's caseload;
`--hot-share` of the pages are placed around a hot person (or one of their referrals).
"""

import datetime as dt
import time
from collections.abc import Callable

from django.db import connection

JOURNAL = "parcours_accessevent"
PARIS = "Europe/Paris"

# Cumulative thresholds on one uniform draw: the operation mix above.
OPERATION_CASE = """
    CASE WHEN r_op < 0.600 THEN 'read'
         WHEN r_op < 0.900 THEN 'list'
         WHEN r_op < 0.965 THEN 'write'
         WHEN r_op < 0.985 THEN 'denied'
         WHEN r_op < 0.993 THEN 'export'
         WHEN r_op < 0.996 THEN 'break_glass'
         WHEN r_op < 0.998 THEN 'access_request'
         ELSE 'report' END"""

HELPER_TABLES = ("bench_people", "bench_referrals", "bench_users", "bench_orgs", "bench_dpos")


def _execute(statement: str, params: dict | None = None) -> int:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.rowcount


def _scalar(statement: str, params: dict | None = None):
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.fetchone()[0]


def build_helper_tables(*, hot: int, seed: int) -> dict[str, int]:
    """Numbered copies of the population (UNLOGGED, bench only), so that one random draw picks
    a row by `n = 1 + floor(r × count)`, and neighbours in `n` share an organisation."""
    for table in (*HELPER_TABLES, "bench_hot"):
        _execute(f"DROP TABLE IF EXISTS {table}")
    _execute(
        """
        CREATE UNLOGGED TABLE bench_people AS
        SELECT row_number() OVER (ORDER BY pw.owner_organisation_id, md5(pw.id::text || %(seed)s))
                   AS n,
               pw.person_id, pw.id AS pathway_id, pw.owner_organisation_id AS owner_id,
               coalesce((SELECT array_agg(r.id ORDER BY r.id) FROM parcours_referral r
                         WHERE r.pathway_id = pw.id), '{}') AS referral_ids
        FROM parcours_pathway pw
        """,
        {"seed": str(seed)},
    )
    _execute(
        """
        CREATE UNLOGGED TABLE bench_referrals AS
        SELECT row_number() OVER (ORDER BY r.receiver_organisation_id, r.id) AS n,
               r.id AS referral_id, r.receiver_organisation_id AS org_id, pw.person_id
        FROM parcours_referral r JOIN parcours_pathway pw ON pw.id = r.pathway_id
        """
    )
    _execute(
        """
        CREATE UNLOGGED TABLE bench_users AS
        SELECT row_number() OVER (ORDER BY m.organisation_id, m.user_id) AS n,
               m.user_id, m.organisation_id AS org_id
        FROM parcours_membership m WHERE m.role <> 'dpo'
        """
    )
    _execute(
        """
        CREATE UNLOGGED TABLE bench_orgs AS
        SELECT row_number() OVER (ORDER BY org_id) AS o, org_id, min(n) AS first_n,
               count(*) AS cnt
        FROM bench_users GROUP BY org_id
        """
    )
    _execute(
        """
        CREATE UNLOGGED TABLE bench_dpos AS
        SELECT row_number() OVER (ORDER BY m.user_id) AS d, m.user_id, m.organisation_id AS org_id
        FROM parcours_membership m WHERE m.role = 'dpo'
        """
    )
    _execute(
        """
        CREATE UNLOGGED TABLE bench_hot AS
        SELECT row_number() OVER (ORDER BY bp.n) AS h, bp.n, bp.person_id,
               (SELECT min(br.n) FROM bench_referrals br WHERE br.person_id = bp.person_id)
                   AS ref_n
        FROM (SELECT * FROM bench_people
              ORDER BY cardinality(referral_ids) DESC, md5(person_id::text || %(seed)s)
              LIMIT %(hot)s) bp
        """,
        {"hot": hot, "seed": str(seed)},
    )
    for table, key in (
        ("bench_people", "n"),
        ("bench_referrals", "n"),
        ("bench_users", "n"),
        ("bench_orgs", "org_id"),
        ("bench_dpos", "d"),
        ("bench_hot", "h"),
    ):
        _execute(f"CREATE UNIQUE INDEX ON {table} ({key})")
        _execute(f"ANALYZE {table}")
    counts = {
        table: int(_scalar(f"SELECT count(*) FROM {table}"))
        for table in (*HELPER_TABLES, "bench_hot")
    }
    if not counts["bench_dpos"]:
        raise SystemExit("No DPO in the population: seed_scale makes one per organisation of 5+.")
    return counts


# One batch: `n` events evenly spread over [t0, t0 + span), inserted in time order.
BATCH_SQL = f"""
WITH d AS (
    SELECT g,
           %(t0)s::timestamptz + %(span)s::interval * ((g - 1 + random()) / %(n)s) AS t,
           random() AS r_op, random() AS r_kind, random() AS r_pick, random() AS r_hot,
           random() AS r_person, random() AS r_len, random() AS r_org, random() AS r_org2,
           random() AS r_user, random() AS r_hours
    FROM generate_series(1, %(n)s) AS g
), o AS (
    SELECT d.*, {OPERATION_CASE} AS op, 20 + floor(r_len * 31)::int AS k FROM d
), s AS (
    SELECT o.*, h.n AS hot_n, h.ref_n AS hot_ref_n,
           CASE WHEN o.op <> 'list' THEN NULL
                WHEN o.r_kind < 0.40 THEN 'person'
                WHEN o.r_kind < 0.75 THEN 'pathway'
                ELSE 'referral' END AS list_type
    FROM o
    LEFT JOIN bench_hot h
           ON o.r_hot < %(hot_share)s AND h.h = 1 + floor(o.r_pick * %(hot)s)::int
), w AS (
    SELECT s.*,
           coalesce(s.hot_n, 1 + floor(s.r_person * %(people)s)::int) AS pn,
           CASE WHEN s.list_type = 'referral' THEN
                    greatest(1, least(%(referrals)s - s.k + 1,
                        coalesce(s.hot_ref_n - floor(s.r_person * s.k)::int,
                                 1 + floor(s.r_person * (%(referrals)s - s.k + 1))::int)))
                ELSE
                    greatest(1, least(%(people)s - s.k + 1,
                        coalesce(s.hot_n - floor(s.r_person * s.k)::int,
                                 1 + floor(s.r_person * (%(people)s - s.k + 1))::int)))
           END AS ls
    FROM s
), e AS (
    SELECT w.*, p.person_id AS p_person, p.pathway_id AS p_pathway, p.referral_ids,
           dp.user_id AS dpo_user, dp.org_id AS dpo_org,
           CASE WHEN w.op = 'report' THEN dp.org_id
                WHEN w.list_type = 'referral' THEN lr.org_id
                WHEN w.list_type IS NOT NULL THEN lp.owner_id
                WHEN w.op <> 'denied' AND w.r_org < 0.75 THEN p.owner_id
                ELSE ro.org_id END AS org_id
    FROM w
    LEFT JOIN bench_people p ON w.op <> 'list' AND p.n = w.pn
    LEFT JOIN bench_people lp ON w.list_type IN ('person', 'pathway') AND lp.n = w.ls
    LEFT JOIN bench_referrals lr ON w.list_type = 'referral' AND lr.n = w.ls
    LEFT JOIN bench_dpos dp ON w.op = 'report' AND dp.d = 1 + floor(w.r_org * %(dpos)s)::int
    JOIN bench_orgs ro ON ro.o = 1 + floor(w.r_org2 * %(orgs)s)::int
), f AS (
    SELECT e.*,
           coalesce(e.dpo_user, bu.user_id) AS user_id,
           CASE WHEN e.op = 'list' THEN e.list_type
                WHEN e.op IN ('break_glass', 'access_request') THEN 'pathway'
                WHEN e.op = 'report' THEN 'person'
                WHEN e.op = 'denied' THEN CASE WHEN e.r_kind < 0.5 THEN 'person' ELSE 'pathway' END
                WHEN e.r_kind < 0.45 THEN 'person'
                WHEN e.r_kind < 0.80 OR cardinality(e.referral_ids) = 0 THEN 'pathway'
                ELSE 'referral' END AS object_type
    FROM e
    JOIN bench_orgs bo ON bo.org_id = e.org_id
    LEFT JOIN bench_users bu ON bu.n = bo.first_n + floor(e.r_user * bo.cnt)::int
)
INSERT INTO {JOURNAL} (occurred_at, user_id, organisation_id, operation, object_type, object_id,
                       object_ids, person_id, categories, purpose, basis, request_id, client_ip,
                       detail, prev_hash, row_hash)
SELECT
    CASE WHEN r_hours < 0.97 THEN
        (date_trunc('day', t AT TIME ZONE '{PARIS}') + interval '7 hours 30 minutes'
         + (extract(epoch FROM (t AT TIME ZONE '{PARIS}')
                              - date_trunc('day', t AT TIME ZONE '{PARIS}')) / 86400.0)
           * interval '11 hours') AT TIME ZONE '{PARIS}'
    ELSE t END AS occurred_at,
    user_id, org_id, op, object_type,
    CASE WHEN op = 'list' THEN NULL
         WHEN object_type = 'person' THEN p_person
         WHEN object_type = 'pathway' THEN p_pathway
         ELSE referral_ids[1 + floor(r_len * cardinality(referral_ids))::int] END,
    CASE list_type
         WHEN 'person' THEN (SELECT jsonb_agg(b.person_id ORDER BY b.n) FROM bench_people b
                             WHERE b.n BETWEEN ls AND ls + k - 1)
         WHEN 'pathway' THEN (SELECT jsonb_agg(b.pathway_id ORDER BY b.n) FROM bench_people b
                              WHERE b.n BETWEEN ls AND ls + k - 1)
         WHEN 'referral' THEN (SELECT jsonb_agg(b.referral_id ORDER BY b.n)
                               FROM bench_referrals b WHERE b.n BETWEEN ls AND ls + k - 1)
         ELSE '[]'::jsonb END,
    CASE WHEN op = 'list' THEN NULL ELSE p_person END,
    CASE op WHEN 'list' THEN '["identity", "pathway"]'::jsonb
            WHEN 'break_glass' THEN '["health"]'::jsonb
            WHEN 'denied' THEN '[]'::jsonb
            WHEN 'access_request' THEN '[]'::jsonb
            WHEN 'report' THEN '[]'::jsonb
            ELSE CASE WHEN r_hours < 0.5 THEN '["contact", "identity", "pathway"]'::jsonb
                      ELSE '["contact", "identity", "pathway", "social"]'::jsonb END END,
    CASE op WHEN 'break_glass' THEN 'Adapter le poste dès le premier jour de la mise en situation'
            WHEN 'access_request' THEN 'Préparer l''entretien de suivi avec la personne'
            WHEN 'report' THEN 'Rapport des accès (version interne)'
            ELSE '' END,
    CASE WHEN op IN ('read', 'write', 'export') THEN
              CASE WHEN r_org < 0.75 THEN 'legal:owner legal:referent legal:spe'
                   ELSE 'consent:' || (1 + floor(r_person * 900000))::int || ' legal:spe' END
         WHEN op = 'break_glass' THEN 'break_glass:' || (1 + floor(r_person * 50000))::int
         ELSE '' END,
    md5(g::text || t::text),
    ('10.' || floor(r_user * 250)::int || '.' || floor(r_org2 * 250)::int || '.'
           || (1 + floor(r_len * 250))::int)::inet,
    CASE op WHEN 'read' THEN '{{"action": "retrieve"}}'::jsonb
            WHEN 'list' THEN '{{"action": "list"}}'::jsonb
            WHEN 'write' THEN '{{"action": "partial_update"}}'::jsonb
            WHEN 'denied' THEN '{{"action": "retrieve", "method": "GET", "status": 404}}'::jsonb
            WHEN 'export' THEN '{{"format": "csv"}}'::jsonb
            WHEN 'break_glass' THEN jsonb_build_object('until', t + interval '4 hours')
            WHEN 'access_request' THEN jsonb_build_object('access_request', g)
            ELSE '{{"version": "internal", "rows": 42}}'::jsonb END,
    '', ''
FROM f
ORDER BY 1
"""


def generate_journal(
    *,
    rows: int,
    months: int,
    end: dt.datetime,
    hot: int,
    hot_share: float,
    batch: int,
    counts: dict[str, int],
    progress: Callable[[str], None] = print,
) -> float:
    """Insert `rows` events over the `months` before `end`, oldest first; return the seconds."""
    span_seconds = months * 30.4375 * 86400
    start_ts = end.timestamp() - span_seconds
    batches = max(1, -(-rows // batch))
    started = time.perf_counter()
    done = 0
    with connection.cursor() as cursor:
        # Session settings: the per-batch ORDER BY sorts in memory; nothing else is loosened.
        cursor.execute("SET work_mem TO '256MB'")
        cursor.execute("SET synchronous_commit TO off")
    try:
        for index in range(batches):
            n = min(batch, rows - done)
            t0 = dt.datetime.fromtimestamp(start_ts + span_seconds * done / rows, tz=dt.UTC)
            span = dt.timedelta(seconds=span_seconds * n / rows)
            batch_started = time.perf_counter()
            inserted = _execute(
                BATCH_SQL,
                {
                    "t0": t0,
                    "span": span,
                    "n": n,
                    "hot": hot,
                    "hot_share": hot_share,
                    "people": counts["bench_people"],
                    "referrals": counts["bench_referrals"],
                    "orgs": counts["bench_orgs"],
                    "dpos": counts["bench_dpos"],
                },
            )
            if inserted != n:
                raise SystemExit(f"batch {index + 1}: {inserted} rows inserted, {n} expected")
            done += n
            elapsed = time.perf_counter() - started
            rate = done / elapsed
            progress(
                f"  journal batch {index + 1}/{batches}: {done:,} rows "
                f"({n / (time.perf_counter() - batch_started):,.0f} rows/s this batch, "
                f"{rate:,.0f} overall, ~{(rows - done) / rate:,.0f} s left) "
                f"up to {(t0 + span):%Y-%m-%d}"
            )
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET work_mem")
            cursor.execute("RESET synchronous_commit")
    return time.perf_counter() - started
