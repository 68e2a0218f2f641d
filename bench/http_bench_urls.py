"""The project's URLs plus the HTTP bench's floor view (bench/http_bench.py, bench-only).

The floor answers `GET /__bench_floor__/<key>/` with what the database alone costs for the
request the bench captured under `key`: the same SQL statements, parameters bound, replayed
through a plain psycopg connection (one per worker process, kept) in a transaction rolled back,
and the rows as JSON. No ORM, no serializer, no template, no session: network + WSGI + the
middleware an anonymous request goes through + the database.
"""

import json
import os

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from measures import floor_connection, replay_rows

import backend.urls

_captured: dict[str, list[str]] = {}
_database = None


def _statements(key: str) -> list[str] | None:
    if not _captured:
        with open(os.environ["BENCH_FLOOR_SQL"], encoding="utf-8") as captured:
            _captured.update(json.load(captured))
    return _captured.get(key)


@csrf_exempt
def floor(request: HttpRequest, key: str) -> HttpResponse:
    global _database
    statements = _statements(key)
    if statements is None:
        return JsonResponse({"error": f"unknown key {key}"}, status=404)
    if _database is None or _database.closed:
        _database = floor_connection()
    fetched = replay_rows(_database, statements)
    return HttpResponse(json.dumps(fetched, default=str), content_type="application/json")


urlpatterns = [path("__bench_floor__/<str:key>/", floor), *backend.urls.urlpatterns]
handler404 = backend.urls.handler404
handler403 = backend.urls.handler403
handler500 = backend.urls.handler500
