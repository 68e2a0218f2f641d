"""PDF exports: the generic renderer (escaping, French text, page numbers, metadata, landscape)
and the person's access report in both versions, opened with pypdf and read back as text."""

import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from pypdf import PdfReader

from parcours.exports.access_report import access_report_pdf
from parcours.exports.pdf import PdfSection, pdf_text, render_report_pdf
from parcours.models import AccessEvent
from parcours.selectors.access_reports import PERSON_VERSION_STAFF, person_access_report

from .conftest import PARIS


def _read(pdf: bytes) -> PdfReader:
    assert pdf.startswith(b"%PDF-")
    return PdfReader(io.BytesIO(pdf))


def _text(reader: PdfReader) -> str:
    return "\n".join(page.extract_text() for page in reader.pages)


def _flat(text: str) -> str:
    """Extracted text with line breaks as spaces (wrapped cells come back on several lines)."""
    return " ".join(text.split())


GENERATED = dt.datetime(2026, 3, 12, 14, 5, tzinfo=PARIS)


def test_user_text_with_markup_characters_prints_as_typed():
    hostile = 'Note <b>&</b> <font size="40">x</font> & <br/> &amp; <unclosed'
    pdf = render_report_pdf(
        title="Titre <b>&",
        subtitle_lines=["Sous-titre & <i>"],
        sections=[
            PdfSection(
                heading="Section <u>",
                paragraphs=[hostile],
                columns=["Colonne <b>", "Valeur"],
                rows=[
                    [hostile, "œuvre, cœur, l’été, « guillemets », 12 €"],
                    ["a<b>&c", "x\ty"],  # short: drawn as a plain string, not a Paragraph
                ],
            )
        ],
        generated_at=GENERATED,
    )
    text = _flat(_text(_read(pdf)))
    assert "Titre <b>&" in text
    assert "Sous-titre & <i>" in text
    assert "Section <u>" in text
    assert text.count('Note <b>&</b> <font size="40">x</font> & <br/> &amp; <unclosed') == 2
    assert "Colonne <b>" in text
    assert "a<b>&c" in text and "x y" in text
    assert "œuvre, cœur, l’été, « guillemets », 12 €" in text
    assert "Document généré le 12/03/2026 à 14:05" in text


def test_characters_outside_the_standard_fonts_lose_only_their_diacritics():
    assert pdf_text("Łukasz Ștefan Đorđe — ok\x07") == "Lukasz Stefan Dorde — ok"
    assert pdf_text("日本") == "??"
    assert pdf_text(None) == ""
    pdf = render_report_pdf(title="Noms", subtitle_lines=[], sections=[PdfSection("Ștefan Łukasz")])
    assert "Stefan Lukasz" in _text(_read(pdf))


def test_a_long_table_runs_over_pages_numbered_with_its_header_repeated():
    rows = [
        [f"{i:04d}", f"Organisation {i % 7}", "Consultation " * (1 + i % 3)] for i in range(400)
    ]
    pdf = render_report_pdf(
        title="Rapport long",
        subtitle_lines=["Période : du 01/01/2026 au 31/12/2026"],
        sections=[PdfSection("Détail", columns=["Rang", "Organisation", "Opération"], rows=rows)],
        generated_at=GENERATED,
    )
    reader = _read(pdf)
    total = len(reader.pages)
    assert total >= 5
    for number, page in enumerate(reader.pages, start=1):
        text = page.extract_text()
        assert f"Page {number} / {total}" in text
        assert "Rang" in text and "Organisation" in text  # the header row, on every page
        assert "parcours — Rapport long" in text
    everything = _text(reader)
    assert all(f"{i:04d}" in everything for i in range(400))
    assert reader.metadata.title == "Rapport long"
    assert reader.metadata.author == "parcours"
    # The outline lists the sections.
    assert [item.title for item in reader.outline] == ["Détail"]


def test_landscape_pages_and_empty_tables():
    pdf = render_report_pdf(
        title="Large",
        subtitle_lines=[],
        sections=[
            PdfSection("Vide", columns=["A", "B"], rows=[], empty_text="Rien à signaler."),
            PdfSection("Sans en-tête", columns=["", ""], rows=[["Clé", "Valeur"]], header=False),
        ],
        landscape=True,
    )
    page = _read(pdf).pages[0]
    assert page.mediabox.width > page.mediabox.height
    text = page.extract_text()
    assert "Rien à signaler." in text
    assert "Clé" in text and "Valeur" in text


def test_a_cell_taller_than_a_page_is_split_not_lost():
    long_note = " ".join(f"mot{i}" for i in range(3000))
    pdf = render_report_pdf(
        title="Note longue",
        subtitle_lines=[],
        sections=[PdfSection("Journal", columns=["Date", "Texte"], rows=[["01/01", long_note]])],
    )
    reader = _read(pdf)
    assert len(reader.pages) >= 2
    text = _flat(_text(reader))
    assert "mot0 " in text and "mot2999" in text


# --- The person's access report ----------------------------------------------------------------


def _report(history, version):
    return person_access_report(
        person_id=history["person"].pk,
        start=dt.datetime(2026, 1, 1, tzinfo=PARIS),
        end=dt.datetime(2026, 2, 1, tzinfo=PARIS),
        version=version,
    )


def test_the_internal_access_report_pdf_names_staff(pack_history):
    report = _report(pack_history, "internal")
    text = _flat(_text(_read(access_report_pdf(report))))
    assert "Rapport des accès aux données — version interne" in text
    assert f"dossier {pack_history['person'].reference}" in text
    assert "Période : du 01/01/2026 au 31/01/2026" in text
    assert "Accès par organisation" in text and "Détail des accès" in text
    assert "Sophie Durandeau" in text and "Marc Lefebvrier" in text
    assert "16/01/2026 10:00" in text
    for name in ("France Travail Lens", "Les Jardins du Bassin", "Mission locale d'Arras"):
        assert name in text
    for operation in ("Consultation", "Modification", "Liste", "Accès refusé", "Accès d'urgence"):
        assert operation in text


def test_the_person_version_pdf_hides_staff_names(pack_history):
    report = _report(pack_history, "person")
    assert len(report.rows) == 25  # the services' writes and the API's accesses (conftest)
    reader = _read(access_report_pdf(report))
    text = _flat(_text(reader))
    assert "Rapport des accès aux données — version destinée à la personne" in text
    assert "25 accès enregistrés (du 01/01/2026 au 31/01/2026)" in text
    assert "C-579/21" in text
    assert PERSON_VERSION_STAFF in text
    for name in pack_history["staff_names"]:
        assert name not in text
    # Totals per organisation, in the order of the report.
    assert "France Travail Lens 16 Les Jardins du Bassin 6 Mission locale d'Arras 3" in text
    assert "Adapter le poste dès le premier jour" in text
    assert "une mission prévue par la loi" in text and "votre accord" in text
    # No internal ids: records are named in words.
    assert "dossier de la personne" in text and "person n°" not in text
    page = reader.pages[0]
    assert page.mediabox.width > page.mediabox.height  # landscape: eight columns


def test_the_command_writes_a_pdf_and_journals_it(pack_history, tmp_path):
    output = tmp_path / "rapport.pdf"
    before = AccessEvent.objects.filter(operation="report").count()
    call_command(
        "access_report",
        "--person",
        str(pack_history["person"].pk),
        "--from",
        "2026-01-01",
        "--to",
        "2026-01-31",
        "--audience",
        "person",
        "--format",
        "pdf",
        "--output",
        str(output),
    )
    text = _flat(_text(_read(output.read_bytes())))
    assert "version destinée à la personne" in text
    assert "Mission locale d'Arras" in text
    assert AccessEvent.objects.filter(operation="report").count() == before + 1


def test_the_command_wants_a_file_for_a_pdf(pack_history):
    with pytest.raises(CommandError, match="--output"):
        call_command("access_report", "--person", str(pack_history["person"].pk), "--format", "pdf")
