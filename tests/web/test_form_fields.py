"""`{% form_field %}` (web/templatetags/form_fields.py) writes what the template it replaced
wrote, byte for byte: every widget the pages use, empty, filled and with errors, and every
form of the pages that can be built without a request."""

import datetime as dt
import decimal
import importlib
import inspect
import pkgutil
from pathlib import Path

import pytest
from django import forms
from django.core.files.uploadedfile import SimpleUploadedFile
from django.template import Context, Template, engines
from django.utils.safestring import mark_safe

import web
from parcours.actor import actor_for
from tests.factories import MembershipFactory

REFERENCE = Template((Path(__file__).parent / "reference_templates" / "_field.html").read_text())
TAG = engines["django"].from_string("{% form_field field %}")

CHOICES = [("", "—"), ("a", "Première <option>"), ("b", "L'autre & la dernière"), (3, "Trois")]


class EveryWidget(forms.Form):
    """Each branch of the markup, with the values that are written differently."""

    name = forms.CharField(label="Nom « usuel »", max_length=5)
    note = forms.CharField(label="Note", required=False, help_text="Ce que vous <voulez>")
    email = forms.EmailField(label="E-mail", required=False)
    number = forms.IntegerField(label="Nombre", required=False)
    amount = forms.DecimalField(label="Montant", required=False)
    day = forms.DateField(
        label="Jour", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    moment = forms.DateTimeField(
        label="Moment",
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    secret = forms.CharField(label="Mot de passe", widget=forms.PasswordInput)
    comment = forms.CharField(label="Commentaire", widget=forms.Textarea(attrs={"rows": 2}))
    hidden_note = forms.CharField(required=False, widget=forms.HiddenInput)
    kind = forms.ChoiceField(label="Type", choices=CHOICES)
    kind_with_attrs = forms.ChoiceField(
        label="Type", choices=CHOICES, required=False, widget=forms.Select(attrs={"data-x": "1"})
    )
    agree = forms.BooleanField(label="J'accepte", help_text="Obligatoire")
    optional_box = forms.BooleanField(label="Facultative", required=False)
    one = forms.ChoiceField(label="Une", choices=CHOICES[1:], widget=forms.RadioSelect)
    many = forms.MultipleChoiceField(
        label="Plusieurs",
        choices=CHOICES[1:],
        widget=forms.CheckboxSelectMultiple,
        help_text="Au moins une",
    )
    evidence = forms.FileField(label="Pièce", help_text="PDF")
    optional_file = forms.FileField(
        label="Autre pièce", required=False, widget=forms.ClearableFileInput
    )

    def clean_note(self):
        note = self.cleaned_data["note"]
        if note == "refusée":
            raise forms.ValidationError(["Première erreur", "Seconde <erreur>"])
        return note


FILLED = {
    "name": "Zoé <b>",
    "note": "refusée",
    "email": "pas-un-email",
    "number": "12",
    "amount": "3.50",
    "day": "2026-12-07",
    "moment": "2026-12-07T09:30",
    "secret": "x",
    "comment": "Texte\nsur deux lignes & <plus>",
    "kind": "b",
    "kind_with_attrs": "3",
    "agree": "on",
    "optional_box": "",
    "one": "a",
    "many": ["a", "b"],
}


def both(field, **context) -> tuple[str, str]:
    values = {"field": field, **context}
    return REFERENCE.render(Context(values)), TAG.render(values)


def every_variant() -> list[forms.Form]:
    initial = {
        "name": mark_safe("<i>sûr</i>"),
        "number": 1234567,
        "amount": decimal.Decimal("1234.5"),
        "day": dt.date(2026, 1, 2),
        "moment": dt.datetime(2026, 1, 2, 3, 4, tzinfo=dt.UTC),
        "kind": 3,
        "agree": True,
        "many": ["b"],
    }
    upload = {"evidence": SimpleUploadedFile("a.pdf", b"%PDF-1.4")}
    return [
        EveryWidget(),
        EveryWidget(initial=initial),
        EveryWidget(data={}),
        EveryWidget(data=FILLED),
        EveryWidget(data=FILLED, files=upload, prefix="p"),
        EveryWidget(data={"many": ["z"], "one": "z"}, auto_id=False),
        EveryWidget(data=FILLED, auto_id="champ-%s"),
    ]


@pytest.mark.parametrize("form", every_variant(), ids=lambda form: repr(form.data)[:40])
def test_every_widget_is_written_as_the_template_wrote_it(form):
    form.is_valid()
    for field in form:
        reference, tag = both(field)
        assert tag == reference, field.name


def test_errors_are_written_under_their_field():
    form = EveryWidget(data=FILLED)
    form.is_valid()
    _, written = both(form["note"])
    assert "Première erreur" in written
    assert "Seconde &lt;erreur&gt;" in written
    assert 'aria-describedby="erreur-id_note"' in written
    _, written = both(form["many"])
    assert "fr-fieldset--error" not in written


def _page_forms() -> list[type[forms.Form]]:
    found = []
    for module_info in pkgutil.iter_modules(web.__path__):
        if not module_info.name.endswith("forms"):
            continue
        module = importlib.import_module(f"web.{module_info.name}")
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, forms.BaseForm) and cls.__module__ == module.__name__:
                found.append(cls)
    return found


@pytest.mark.django_db
def test_every_page_form_built_from_an_actor_is_written_as_before():
    membership = MembershipFactory()
    actor = actor_for(membership.user, membership.organisation_id)
    compared = 0
    for cls in _page_forms():
        for data in (None, {}):
            try:
                form = cls(data=data, actor=actor)
            except TypeError:  # it takes no actor…
                try:
                    form = cls(data=data)
                except TypeError:  # …or needs the person, the referral, the choices
                    continue
            if form.is_bound:
                form.is_valid()
            for field in form:
                reference, tag = both(field)
                assert tag == reference, f"{cls.__name__}.{field.name}"
                compared += 1
    assert compared > 40
