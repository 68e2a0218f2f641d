"""`{% form_field field %}`: one form field in DSFR markup, its errors in French under it (a
template builtin: backend/settings/base.py).

It was a template, `web/_field.html`, included once per field: ≈ 300 µs a field, most of it
the template engine resolving `field.errors`, `field.auto_id` and the widget's type a dozen
times each (every `field.errors` builds a new error list). The person page's two closed forms
(break-glass, objection) spent a tenth of its CPU there (issue 17). Written here, each of them
is read once and the markup is the template's, byte for byte: tests/web/test_form_fields.py
renders every form of the pages, empty and with errors, through the former template
(tests/web/reference_templates/_field.html) and through this tag and compares them.

Every value is written as the template engine writes a variable (`render_value_in_context`:
local time, localisation, escaping), so what a field shows does not depend on which of the two
wrote it."""

from django import template
from django.template.base import render_value_in_context
from django.template.context import Context
from django.utils.safestring import SafeData, SafeString, mark_safe

from web.templatetags.web_tags import select_options

register = template.Library()

_CHOICES = ("checkboxselectmultiple", "radioselect")
_FILES = ("clearablefile", "file")


@register.simple_tag(takes_context=True)
def form_field(context: Context, field) -> SafeString:
    def text(value) -> str:
        return render_value_in_context(value, context)

    widget_type = field.widget_type
    errors = field.errors
    auto_id = text(field.auto_id)
    label = text(field.label)
    help_text = field.help_text
    hint = f'<span class="fr-hint-text">{text(help_text)}</span>' if help_text else ""
    if widget_type in _CHOICES:
        markup = _choices(field, widget_type, errors, auto_id, label + hint, text)
    else:
        name = text(field.html_name)
        for_id = text(field.id_for_label)
        described = f'aria-describedby="erreur-{auto_id}"' if errors else ""
        optional = "" if field.field.required else ' <span class="fr-hint-text">Facultatif</span>'
        if widget_type == "checkbox":
            markup = _checkbox(field, errors, auto_id, name, for_id, described, label + hint, text)
        else:
            below = "".join(
                f'<p class="fr-error-text" id="erreur-{auto_id}">{text(error)}</p>'
                for error in errors
            )
            label_tag = f'<label class="fr-label" for="{for_id}">{label}{optional}{hint}</label>'
            if widget_type in _FILES:
                error_class = " fr-upload-group--error" if errors else ""
                markup = (
                    f'\n<div class="fr-upload-group{error_class}">\n'
                    f"  {label_tag}\n"
                    f'  <input class="fr-upload" type="file" id="{for_id}" name="{name}" '
                    f"{described}>\n"
                    f"  {below}\n"
                    "</div>\n"
                )
            else:
                markup = _entry(field, widget_type, errors, name, for_id, described, text)
                group = "select" if widget_type == "select" else "input"
                error_class = f" fr-{group}-group--error" if errors else ""
                markup = (
                    f'\n<div class="fr-{group}-group{error_class}">\n'
                    f"  {label_tag}\n"
                    f"  {markup}\n"
                    f"  {below}\n"
                    "</div>\n"
                )
    # The former template's own lines around its branches: a comment, `load`, `with`, `if`.
    return mark_safe(f"\n\n\n{markup}\n\n")  # noqa: S308 (every value escaped above)


def _choices(field, widget_type: str, errors, auto_id: str, legend: str, text) -> str:
    kind = "radio" if widget_type == "radioselect" else "checkbox"
    name = text(field.html_name)
    options = "".join(
        '\n  <div class="fr-fieldset__element">\n'
        f'    <div class="fr-{kind}-group">\n'
        f'      <input type="{kind}" id="{text(option.id_for_label)}" name="{name}" '
        f'value="{text(option.data["value"])}" {"checked" if option.data["selected"] else ""}>\n'
        f'      <label class="fr-label" for="{text(option.id_for_label)}">'
        f"{text(option.choice_label)}</label>\n"
        "    </div>\n"
        "  </div>\n  "
        for option in field
    )
    messages = (
        f'<div class="fr-messages-group" id="erreurs-{auto_id}" aria-live="assertive">'
        + "".join(f'<p class="fr-message fr-message--error">{text(error)}</p>' for error in errors)
        + "</div>"
        if errors
        else ""
    )
    labelled = f'aria-labelledby="legend-{auto_id} erreurs-{auto_id}"' if errors else ""
    return (
        f'\n<fieldset class="fr-fieldset{" fr-fieldset--error" if errors else ""}" '
        f'id="fieldset-{auto_id}" {labelled}>\n'
        f'  <legend class="fr-fieldset__legend fr-text--regular" id="legend-{auto_id}">'
        f"{legend}</legend>\n"
        f"  {options}\n"
        f"  {messages}\n"
        "</fieldset>\n"
    )


def _checkbox(field, errors, auto_id, name, for_id, described, label, text) -> str:
    messages = (
        '<div class="fr-messages-group" aria-live="assertive">'
        + "".join(
            f'<p class="fr-message fr-message--error" id="erreur-{auto_id}">{text(error)}</p>'
            for error in errors
        )
        + "</div>"
        if errors
        else ""
    )
    return (
        f'\n<div class="fr-checkbox-group{" fr-checkbox-group--error" if errors else ""}">\n'
        f'  <input type="checkbox" id="{for_id}" name="{name}" '
        f"{'checked' if field.value() else ''} {described}>\n"
        f'  <label class="fr-label" for="{for_id}">{label}</label>\n'
        f"  {messages}\n"
        "</div>\n"
    )


def _entry(field, widget_type, errors, name, for_id, described, text) -> str:
    """The select, text area or input, with the lines the template wrote around it."""
    widget = field.field.widget
    if widget_type == "select":
        error_class = " fr-select--error" if errors else ""
        return (
            f'\n  <select class="fr-select{error_class}" id="{for_id}" name="{name}" '
            f"{described} {text(widget.attrs or '')}>\n"
            f"    {select_options(field)}\n"
            "  </select>\n  "
        )
    value = field.value()
    error_class = " fr-input--error" if errors else ""
    if widget_type == "textarea":
        return (
            f'\n  <textarea class="fr-input{error_class}" id="{for_id}" name="{name}" rows="3" '
            f"{described}>{text('' if value is None else value)}</textarea>\n  "
        )
    # `default_if_none:''|stringformat:'s'`: the value's string, still safe if it was.
    shown = "" if value is None else value
    written = "%s" % shown  # noqa: UP031 (the `stringformat` filter's own operation)
    if isinstance(shown, SafeData):
        written = mark_safe(written)  # noqa: S308 (it was safe already)
    return (
        f'\n  <input class="fr-input{error_class}" id="{for_id}" name="{name}" '
        f'type="{text(getattr(widget, "input_type", None) or "text")}" value="{text(written)}" '
        f"{'required' if field.field.required else ''} {described}>\n  "
    )
