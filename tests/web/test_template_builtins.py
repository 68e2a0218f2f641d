"""The templates' two builtins that replace Django's (backend/settings/base.py, issue 17): the
`{% url %}` tag whose addresses are remembered and the `date` filter whose common formats are
written directly. Each answers what Django's own answers, compared with an engine that has
only Django's builtins."""

import datetime as dt
import zoneinfo

import pytest
from django.template import Context, Engine, engines
from django.test import override_settings
from django.urls import NoReverseMatch, clear_script_prefix, set_script_prefix

from web.templatetags import remembered_urls

DJANGO_ONLY = Engine(libraries={"tz": "django.templatetags.tz"})  # only Django's builtins
PARIS = zoneinfo.ZoneInfo("Europe/Paris")
FORMATS = [
    # Every format the templates use…
    "d/m/Y",
    "d/m/Y à H:i",
    "d/m/Y H:i",
    "d/m/Y à H:i:s",
    "d/m/Y H:i:s",
    "H:i",
    # …and some they do not: Django's filter writes them.
    "j F Y",
    "D d M Y",
    "d/m/Y \\à H\\hi",
    "Y-m-d\\TH:i:sO",
    "",
]
VALUES = [
    dt.datetime(2026, 3, 29, 0, 30, 5, tzinfo=dt.UTC),  # the night of the change to summer time
    dt.datetime(2026, 10, 25, 1, 30, tzinfo=dt.UTC),
    dt.datetime(2026, 12, 31, 23, 59, 59, tzinfo=dt.UTC),  # already next year in Paris
    dt.datetime(2026, 7, 14, 9, 5, tzinfo=PARIS),
    dt.datetime(2026, 1, 2, 3, 4, 5),  # naive
    dt.datetime(12, 1, 2, 3, 4, 5, tzinfo=dt.UTC),  # a four-digit year, zero-padded
    dt.date(2026, 2, 28),
    dt.date(987, 6, 5),
    None,
    "",
    "2026-03-01",
    42,
]


def _render(engine, source: str, **context) -> str:
    if engine is DJANGO_ONLY:
        return engine.from_string(source).render(Context(context))
    return engine.from_string(source).render(context)


@pytest.mark.parametrize("format_string", FORMATS)
def test_the_date_filter_writes_what_django_s_writes(format_string):
    project = engines["django"]
    source = "{{ value|date:format_string }}|{{ value|date }}"
    for value in VALUES:
        try:
            expected = _render(DJANGO_ONLY, source, value=value, format_string=format_string)
        except TypeError as refusal:  # a time asked of a date: Django's error, the same
            with pytest.raises(TypeError, match=str(refusal)[:40]):
                _render(project, source, value=value, format_string=format_string)
            continue
        assert _render(project, source, value=value, format_string=format_string) == expected, (
            value,
            format_string,
        )


def test_the_date_filter_in_another_time_zone():
    source = (
        '{% load tz %}{% timezone "America/Cayenne" %}{{ value|date:"d/m/Y à H:i" }}'
        "{% endtimezone %}"
    )
    value = dt.datetime(2026, 1, 1, 1, 0, tzinfo=dt.UTC)
    assert _render(engines["django"], source, value=value) == "31/12/2025 à 22:00"
    assert _render(DJANGO_ONLY, source, value=value) == "31/12/2025 à 22:00"


URLS = [
    "{% url 'web:home' %}",
    "{% url 'web:person-detail' 12 %}",
    "{% url 'web:person-detail' pk %}",
    "{% url 'web:person-detail' pk=pk %}",
    "{% url 'web:referral-detail' text %}",
    "{% url 'web:person-detail' pk as address %}[{{ address }}]",
    "{% url 'web:nothing-by-that-name' as address %}[{{ address }}]",
    "{% url view_name pk %}",
]


@pytest.mark.parametrize("source", URLS)
def test_the_url_tag_answers_what_django_s_answers(source):
    context = {"pk": 7, "text": "8", "view_name": "web:person-detail"}
    for _again in range(2):  # the second time from memory
        assert _render(engines["django"], source, **context) == _render(
            DJANGO_ONLY, source, **context
        )


def test_an_unknown_view_or_wrong_arguments_fail_as_in_django():
    for source in ("{% url 'web:nothing-by-that-name' %}", "{% url 'web:person-detail' %}"):
        with pytest.raises(NoReverseMatch):
            _render(engines["django"], source)


def test_the_remembered_address_follows_the_script_prefix_and_the_url_conf():
    source = "{% url 'web:person-detail' 5 %}"
    assert _render(engines["django"], source) == "/personnes/5/"
    set_script_prefix("/parcours/")
    try:
        assert _render(engines["django"], source) == "/parcours/personnes/5/"
    finally:
        clear_script_prefix()
    assert _render(engines["django"], source) == "/personnes/5/"
    with override_settings(ROOT_URLCONF="tests.web.prefixed_urls"):
        assert _render(engines["django"], source) == "/ailleurs/personnes/5/"
    assert _render(engines["django"], source) == "/personnes/5/"


def test_equal_arguments_of_other_types_are_other_addresses():
    # 1 == True and hash(1) == hash(True): the type is in the key, True is no pathway's id.
    reverse = remembered_urls.remembered_reverse
    assert reverse("web:referral-detail", [1], {}, "web") == "/orientations/1/"
    with pytest.raises(NoReverseMatch):
        reverse("web:referral-detail", [True], {}, "web")
    unhashable = [[1]]  # reversed directly (Django's own answer: no such address)
    with pytest.raises(NoReverseMatch):
        reverse("web:referral-detail", unhashable, {}, "web")


def test_the_url_tag_reads_the_request_s_application_as_django_s():
    """The request's `current_app`, else its resolved namespace, as Django's tag reads them."""
    from django.template import RequestContext
    from django.test import RequestFactory
    from django.urls import resolve

    source = "{% url 'web:person-detail' 3 %}"
    plain = RequestFactory().get("/personnes/3/")
    resolved = RequestFactory().get("/personnes/3/")
    resolved.resolver_match = resolve("/personnes/3/")
    with_app = RequestFactory().get("/")
    with_app.current_app = None
    for request in (plain, resolved, with_app):
        ours = engines["django"].from_string(source).render({}, request)
        django = DJANGO_ONLY.from_string(source).render(RequestContext(request, {}))
        assert ours == django == "/personnes/3/"
