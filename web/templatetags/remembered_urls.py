"""`{% url %}` with its answers remembered (a template builtin: backend/settings/base.py).

A page reverses 20 to 40 addresses (the menu, the footer, each row's link) and Django's
`reverse` walks the URL patterns each time, ≈ 15–20 µs apiece: about half a millisecond of a
page's CPU (issue 17). An address depends only on the URL configuration's resolver, the script
prefix, the namespace the page is in, the view's name and its arguments, so the same question
gets the same answer for the life of the process; the patterns never change while it runs (a
test that swaps ROOT_URLCONF gets a new resolver from Django, hence new keys).

Everything else is Django's own tag: the same parsing, the same `as` form, the same error for
an unknown view, the same escaping."""

from functools import lru_cache

from django import template
from django.template.defaulttags import URLNode, url
from django.urls import NoReverseMatch, get_resolver, get_script_prefix, get_urlconf, reverse
from django.utils.html import conditional_escape

register = template.Library()


@lru_cache(maxsize=16_384)
def _remembered(resolver, prefix, current_app, view_name, typed_args, typed_kwargs) -> str:
    # The resolver and prefix are in the key only: `reverse` reads the same ones itself.
    del resolver, prefix
    return reverse(
        view_name,
        args=[value for _, value in typed_args],
        kwargs={name: value for name, _, value in typed_kwargs},
        current_app=current_app,
    )


def remembered_reverse(view_name, args, kwargs, current_app) -> str:
    """`reverse`, remembered. The arguments' types are in the key (1 and True are equal keys
    but make different addresses); an argument that cannot be a key is reversed directly."""
    typed_args = tuple((type(value), value) for value in args)
    typed_kwargs = tuple(sorted((name, type(value), value) for name, value in kwargs.items()))
    try:
        return _remembered(
            get_resolver(get_urlconf()),
            get_script_prefix(),
            current_app,
            view_name,
            typed_args,
            typed_kwargs,
        )
    except TypeError:  # unhashable
        return reverse(view_name, args=args, kwargs=kwargs, current_app=current_app)


class RememberedURLNode(URLNode):
    def render(self, context):
        args = [arg.resolve(context) for arg in self.args]
        kwargs = {k: v.resolve(context) for k, v in self.kwargs.items()}
        view_name = self.view_name.resolve(context)
        # As Django's tag: the request's current_app, else its namespace (without raising and
        # catching AttributeError on every tag: a request seldom has a current_app).
        request = getattr(context, "request", None)
        current_app = getattr(request, "current_app", _NONE)
        if current_app is _NONE:
            current_app = getattr(getattr(request, "resolver_match", None), "namespace", None)
        address = ""
        try:
            address = remembered_reverse(view_name, args, kwargs, current_app)
        except NoReverseMatch:
            if self.asvar is None:
                raise
        if self.asvar:
            context[self.asvar] = address
            return ""
        return conditional_escape(address) if context.autoescape else address


_NONE = object()


@register.tag("url")
def remembered_url(parser, token):
    node = url(parser, token)
    return RememberedURLNode(node.view_name, node.args, node.kwargs, node.asvar)
