from rest_framework import pagination


class PageNumberPagination(pagination.PageNumberPagination):
    """Small lists (directory, agreements): numbered pages, `page_size` up to 200."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


class RecentFirstCursorPagination(pagination.CursorPagination):
    """Long lists (pathways, referrals, timeline): cursor pages stay fast at any depth, where
    OFFSET pages slow down with the page number (see docs/performance.md)."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
    ordering = ("-updated_at", "-id")


class TimelineCursorPagination(RecentFirstCursorPagination):
    ordering = ("-occurred_at", "-id")


class MessageCursorPagination(RecentFirstCursorPagination):
    """A referral's thread, newest first: the first page holds what is new."""

    ordering = ("-created_at", "-id")
