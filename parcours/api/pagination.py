from rest_framework import pagination

# DRF reads `page_size` leniently: what is not a positive integer gives the default size, more
# than the maximum gives the maximum (tests/api/test_bad_input.py). The document says so, and
# so does not pretend that `?page_size=abc` is refused.
PAGE_SIZE_DESCRIPTION = (
    "Nombre de résultats par page : un entier de 1 à 200 (50 par défaut). "
    "Une valeur qui n'est pas un entier positif donne 50 ; au-delà de 200, 200."
)


class LenientPageSizeMixin:
    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)  # type: ignore[misc]
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:  # type: ignore[attr-defined]
                parameter["schema"] = {"type": "string"}
                parameter["description"] = PAGE_SIZE_DESCRIPTION
        return parameters


class PageNumberPagination(LenientPageSizeMixin, pagination.PageNumberPagination):
    """Small lists (directory, agreements): numbered pages, `page_size` up to 200."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


class RecentFirstCursorPagination(LenientPageSizeMixin, pagination.CursorPagination):
    """Long lists (pathways, referrals, timeline): cursor pages stay fast at any depth, where
    OFFSET pages slow down with the page number (see docs/performance.md)."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
    ordering: tuple[str, ...] = ("-updated_at", "-id")


class TimelineCursorPagination(RecentFirstCursorPagination):
    ordering = ("-occurred_at", "-id")


class MessageCursorPagination(RecentFirstCursorPagination):
    """A referral's thread, newest first: the first page holds what is new."""

    ordering = ("-created_at", "-id")


class NameOrderCursorPagination(RecentFirstCursorPagination):
    """The persons list (issue 17): keyset pages in name order — no COUNT over everything the
    organisation sees (it grew with the scope: 480 ms at 300,000 pathways) and no OFFSET.
    `?ordering=` still chooses another order among the view's `ordering_fields`; names shared by
    several people are told apart by the cursor's offset within the name."""

    ordering = ("last_name", "first_name", "id")
