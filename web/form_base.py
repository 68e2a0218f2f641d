"""The pages' forms' common base: what no text field may hold (parcours/text.py) is refused on
its field, in French, the values typed kept — like every other form error."""

from django import forms

from parcours.text import MESSAGE, has_forbidden_characters


class Form(forms.Form):
    def _clean_fields(self) -> None:
        super()._clean_fields()
        for name, value in list(self.cleaned_data.items()):
            if isinstance(value, str) and has_forbidden_characters(value):
                self.add_error(name, MESSAGE)
