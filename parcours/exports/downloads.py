"""The DPO's reports as files: which formats each report has, their names and content types,
and the HTTP answer that downloads them. The API and the pages both serve them from here."""

import datetime as dt
import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TextIO

from django.http import HttpResponse

from ..selectors import (
    access_reports,
    agreement_indicators,
    anomalies,
    referral_statistics,
    user_activity,
)
from ..selectors.access_reports import AccessReport
from ..selectors.agreement_indicators import AgreementReport
from ..selectors.anomalies import Anomaly, AnomalyThresholds
from ..selectors.processing_register import ProcessingRegister
from ..selectors.referral_statistics import ReferralStatistics
from ..selectors.user_activity import UserActivityReport
from .access_report import access_report_pdf
from .agreement_indicators import agreement_indicators_pdf
from .dpo_pdf import anomalies_pdf, register_pdf, user_report_pdf

FORMATS = ("csv", "pdf")
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "pdf": "application/pdf",
    "zip": "application/zip",
}


@dataclass(frozen=True)
class Download:
    content: bytes
    filename: str
    content_type: str

    def as_response(self) -> HttpResponse:
        response = HttpResponse(self.content, content_type=self.content_type)
        response["Content-Disposition"] = f'attachment; filename="{self.filename}"'
        response["Cache-Control"] = "no-store"  # personal data: never kept by a cache
        return response


def _csv(write: Callable[[Any, TextIO], None], report: Any) -> bytes:
    buffer = io.StringIO()
    write(report, buffer)
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")  # BOM: spreadsheets read the accents


def _file(name: str, file_format: str, content: Callable[[], bytes]) -> Download:
    return Download(content(), f"{name}.{file_format}", CONTENT_TYPES[file_format])


def person_report_file(report: AccessReport, file_format: str) -> Download:
    name = f"acces-personne-{report.person_id}-{report.version}"
    if file_format == "csv":
        return _file(name, "csv", lambda: _csv(access_reports.write_csv, report))
    return _file(name, "pdf", lambda: access_report_pdf(report))


def user_report_file(report: UserActivityReport, file_format: str) -> Download:
    name = f"activite-utilisateur-{report.user_id}"
    if file_format == "csv":
        return _file(name, "csv", lambda: _csv(user_activity.write_csv, report))
    return _file(name, "pdf", lambda: user_report_pdf(report))


def anomalies_file(
    findings: list[Anomaly],
    file_format: str,
    *,
    start: dt.datetime,
    end: dt.datetime,
    thresholds: AnomalyThresholds,
) -> Download:
    if file_format == "csv":
        return _file("anomalies", "csv", lambda: _csv(anomalies.write_csv, findings))
    return _file("anomalies", "pdf", lambda: anomalies_pdf(findings, start, end, thresholds))


def register_file(register: ProcessingRegister) -> Download:
    return _file("registre-des-traitements", "pdf", lambda: register_pdf(register))


def pack_file(content: bytes, filename: str) -> Download:
    return Download(content, filename, CONTENT_TYPES["zip"])


def statistics_file(figures: ReferralStatistics) -> Download:
    """The dashboard's cells as CSV, exactly as shown (« < 5 » where the page says it); the page
    and the API both serve it from here."""
    filters = figures.filters
    name = f"tableau-de-bord-{filters.first_month:%Y-%m}-{filters.last_month:%Y-%m}"
    return _file(name, "csv", lambda: _csv(referral_statistics.write_csv, figures))


def agreement_indicators_file(report: AgreementReport, file_format: str) -> Download:
    """An agreement's indicators report as CSV (the page's cells) or PDF; the page and the API
    both serve it from here. Aggregates only: `no-store` all the same, like every report."""
    name = f"indicateurs-convention-{report.agreement.pk}"
    if file_format == "csv":
        return _file(name, "csv", lambda: _csv(agreement_indicators.write_csv, report))
    return _file(name, "pdf", lambda: agreement_indicators_pdf(report))
