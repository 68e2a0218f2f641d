"""The subject-access pack (GDPR art. 15): one ZIP made from `subject_access_data`'s dict.

    acces-donnees-<ref>.pdf   the human-readable copy, in French
    donnees-<ref>.json        the same data, machine-readable (format "parcours-subject-access/1")
    LISEZMOI.txt              what the files are, the person's rights, how to read the JSON

Both documents are made from the one dict, so they never disagree. Nothing here queries the
database or journals: `parcours.services.subject_access` does.
"""

import datetime as dt
import io
import json
import re
import zipfile
from collections import Counter
from typing import Any

from django.utils import timezone

from ..categories import DataCategory
from ..labels import organisation_kind_recipients
from ..models import BarrierKind
from .pdf import PdfSection, render_report_pdf
from .subject_access_texts import INTRO, LISEZMOI, RETENTION_NOTE, RIGHTS

NOT_SET = "—"
# Beyond this many accesses the PDF counts them per month, organisation and operation (the JSON
# always lists every one): docs/subject-access.md, docs/performance.md.
PDF_DETAIL_LIMIT = 2000
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def pack_filenames(reference: str) -> dict[str, str]:
    return {
        "pdf": f"acces-donnees-{reference}.pdf",
        "json": f"donnees-{reference}.json",
        "readme": "LISEZMOI.txt",
    }


def zip_filename(data: dict) -> str:
    return f"acces-donnees-{data['reference']}-{data['generated_at'][:10]}.zip"


# --- Formatting --------------------------------------------------------------------------------


def _when(value: str | None) -> str:
    """An ISO date or date-time of the dict, in French ("17/05/1990", "12/03/2026 14:05")."""
    if not value:
        return NOT_SET
    if len(value) == 10:
        return dt.date.fromisoformat(value).strftime("%d/%m/%Y")
    moment = dt.datetime.fromisoformat(value)
    # Stored in UTC: shown at the time of Paris, as everywhere else.
    if timezone.is_aware(moment):
        moment = timezone.localtime(moment)
    return moment.strftime("%d/%m/%Y %H:%M")


def _text(value: Any) -> str:
    if value is None or value == "":
        return NOT_SET
    if isinstance(value, bool):
        return "oui" if value else "non"
    return str(value)


def _field_text(value: Any) -> str:
    """A field of the person's record: dates (the birth date) in French too."""
    if isinstance(value, str) and ISO_DATE.fullmatch(value):
        return _when(value)
    return _text(value)


def _categories(codes: list[str], labels: dict[str, str]) -> str:
    return ", ".join(labels.get(code, code) for code in codes) or NOT_SET


def _transfer(referral: dict) -> str:
    """A referral's réorientation in words: proposed, done (and to which referral), or the one
    it follows."""
    parts = []
    partner = referral["transfer_organisation"]
    if partner and referral["transfer_service"]:
        partner = f"{partner} ({referral['transfer_service']})"
    if referral["transferred_to"]:
        parts.append(
            f"Réorientée vers {partner} le {_when(referral['transferred_at'])} "
            f"(suite : {referral['transferred_to']})"
        )
    elif partner:
        parts.append(
            f"Réorientation vers {partner} proposée le {_when(referral['transfer_proposed_at'])}"
        )
    if partner and referral["transfer_reason"]:
        parts.append(f"motif : {referral['transfer_reason']}")
    if referral["transferred_from"]:
        parts.append(f"Suite de la réorientation de {referral['transferred_from']}")
    return " — ".join(parts) or NOT_SET


# --- PDF sections ------------------------------------------------------------------------------


def _identity_line(data: dict) -> str:
    fields = {f["name"]: f["value"] for c in data["categories"] for f in c["fields"]}
    name = f"{fields.get('first_name', '')} {fields.get('last_name', '')}".strip()
    born = fields.get("birth_date")
    return f"Dossier {data['reference']} : {name}" + (f", né(e) le {_when(born)}" if born else "")


def _category_sections(data: dict) -> list[PdfSection]:
    sections = [
        PdfSection(
            heading="Vos données, par catégorie",
            paragraphs=[
                "Les données de votre dossier sont rangées en catégories ; chaque organisation "
                "ne voit que les catégories que la loi, une convention ou votre accord lui "
                "ouvrent. Les autres données de chaque catégorie (diagnostic, freins, plan "
                "d'action, notes du journal de suivi) sont détaillées plus bas."
            ],
        )
    ]
    for category in data["categories"]:
        other = category["other_records"]
        counted = [
            (other["diagnostic_summaries"], "synthèse de diagnostic", "synthèses de diagnostic"),
            (other["barriers"], "frein périphérique", "freins périphériques"),
            (
                other["diagnostic_versions"],
                "version du diagnostic partagé",
                "versions du diagnostic partagé",
            ),
            (other["plan_objectives"], "objectif du plan d'action", "objectifs du plan d'action"),
            (other["plan_actions"], "action du plan d'action", "actions du plan d'action"),
            (
                other["referral_context_notes"],
                "élément de contexte d'orientation",
                "éléments de contexte d'orientation",
            ),
            (other["timeline_events"], "entrée du journal de suivi", "entrées du journal de suivi"),
        ]
        held = [f"{n} {one if n == 1 else many}" for n, one, many in counted if n]
        sections.append(
            PdfSection(
                heading=category["label"],
                paragraphs=[f"Ailleurs dans votre dossier : {', '.join(held)}."] if held else [],
                columns=["Donnée", "Valeur"],
                rows=[[f["label"], _field_text(f["value"])] for f in category["fields"]],
                widths=[1, 2],
                empty_text="Pas d'autre donnée de cette catégorie dans la fiche.",
                level=2,
            )
        )
    return sections


def _pathway_sections(data: dict) -> list[PdfSection]:
    labels = data["category_labels"]
    sections = [
        PdfSection(
            heading="Votre parcours d'accompagnement",
            paragraphs=[] if data["pathways"] else ["Aucun parcours n'est ouvert à votre nom."],
        )
    ]
    for pathway in data["pathways"]:
        number = pathway["number"]
        sections.append(
            PdfSection(
                heading=f"Parcours n°{number}",
                columns=["", ""],
                header=False,
                rows=[
                    ["Statut", pathway["status_label"]],
                    ["Ouvert le", _when(pathway["opened_at"])],
                    ["Clôturé le", _when(pathway["closed_at"])],
                    ["Motif de sortie", pathway["outcome_label"] or NOT_SET],
                    ["Organisation responsable du dossier", pathway["owner_organisation"]],
                    ["Organisation de votre référent", _text(pathway["referent_organisation"])],
                    ["Modalité d'accompagnement", pathway["modality_label"]],
                    [
                        f"Synthèse du diagnostic ({labels[DataCategory.SOCIAL]})",
                        _text(pathway["diagnostic_summary"]),
                    ],
                ],
                widths=[1, 2],
                level=2,
            )
        )
        sections.append(
            PdfSection(
                heading=f"Parcours n°{number} : modalités d'accompagnement successives",
                columns=["Modalité", "Depuis le", "Jusqu'au"],
                rows=[
                    [p["modality_label"], _when(p["started_at"]), _when(p["ended_at"])]
                    for p in pathway["modality_history"]
                ],
                level=2,
            )
        )
        sections.append(
            PdfSection(
                heading=f"Parcours n°{number} : freins périphériques",
                columns=["Frein", "Catégorie", "Statut", "Repéré le", "Levé le", "Précisions"],
                rows=[
                    [
                        b["kind_label"] or str(BarrierKind(b["kind"]).label),
                        labels.get(b["category"], b["category"]),
                        b["status_label"],
                        _when(b["identified_at"]),
                        _when(b["resolved_at"]),
                        _text(b["detail"]),
                    ]
                    for b in pathway["barriers"]
                ],
                widths=[2, 2, 1.5, 1.5, 1.5, 4],
                level=2,
            )
        )
        sections.append(
            PdfSection(
                heading=f"Parcours n°{number} : diagnostic partagé",
                paragraphs=[
                    "Votre situation par domaine, telle que les organisations qui vous "
                    "accompagnent l'ont écrite : chaque version est conservée."
                ],
                columns=["Domaine", "Catégorie", "Appréciation", "Écrit le", "Par", "Situation"],
                rows=[
                    [
                        v["domain_label"],
                        labels.get(v["category"], v["category"]),
                        _text(v["level_label"]),
                        _when(v["written_at"]),
                        v["organisation"],
                        _text(v["text"]),
                    ]
                    for v in pathway["diagnostic"]
                ],
                widths=[2, 2, 1.5, 1.5, 2, 4],
                level=2,
            )
        )
        sections.extend(_plan_sections(pathway))
        sections.append(
            PdfSection(
                heading=f"Parcours n°{number} : équipe de suivi",
                paragraphs=["Les organisations ajoutées à l'équipe qui vous accompagne."],
                columns=["Organisation", "Depuis le", "Jusqu'au", "Motif de fin"],
                rows=[
                    [
                        m["organisation"],
                        _when(m["started_at"]),
                        _when(m["ended_at"]),
                        _text(m["end_reason"]),
                    ]
                    for m in pathway["care_team"]
                ],
                widths=[3, 1.5, 1.5, 3],
                level=2,
            )
        )
    return sections


def _plan_sections(pathway: dict) -> list[PdfSection]:
    """The pathway's action plan: its objectives, then their actions (when there are some)."""
    number, plan = pathway["number"], pathway["action_plan"]
    sections = [
        PdfSection(
            heading=f"Parcours n°{number} : plan d'action",
            paragraphs=[
                "Les objectifs convenus avec vous et les actions prévues pour les atteindre : "
                "l'organisation qui porte chaque action, son échéance et où elle en est."
            ],
            columns=["N°", "Objectif", "Statut", "Ajouté le", "Par", "Atteint ou abandonné le"],
            rows=[
                [
                    str(o["number"]),
                    _text(o["title"]),
                    o["status_label"],
                    _when(o["created_at"]),
                    o["created_by_organisation"],
                    _when(o["closed_at"]),
                ]
                for o in plan
            ],
            widths=[0.6, 4, 1.3, 1.7, 2.4, 1.8],
            empty_text="Aucun objectif.",
            level=2,
        )
    ]
    if plan:
        sections.append(
            PdfSection(
                heading=f"Parcours n°{number} : actions du plan d'action",
                columns=[
                    "Objectif n°",
                    "Action",
                    "Portée par",
                    "Échéance",
                    "Statut",
                    "Faite le",
                    "Ajoutée par",
                ],
                rows=[
                    [
                        str(o["number"]),
                        _text(a["label"]),
                        a["owner_organisation"],
                        _when(a["due_on"]),
                        a["status_label"],
                        _when(a["done_at"]),
                        a["created_by_organisation"],
                    ]
                    for o in plan
                    for a in o["actions"]
                ],
                widths=[0.9, 3.4, 2.2, 1.4, 1.3, 1.6, 2.2],
                empty_text="Aucune action.",
                level=2,
            )
        )
    return sections


def _referral_sections(data: dict) -> list[PdfSection]:
    referrals = data["referrals"]
    labels = data["category_labels"]
    return [
        PdfSection(
            heading="Vos orientations",
            paragraphs=[
                "Une orientation est l'envoi de votre dossier d'une organisation à une autre "
                "(un chantier d'insertion, une mission locale…), avec les données que vous "
                "avez accepté de partager."
            ],
            columns=["Référence", "Créée le", "De", "Vers", "Type", "Motif", "Statut"],
            rows=[
                [
                    r["reference"],
                    _when(r["created_at"]),
                    r["sender_organisation"],
                    r["receiver_organisation"]
                    + (f" ({r['receiver_service']})" if r["receiver_service"] else ""),
                    r["kind_label"],
                    r["reason"],
                    r["status_label"],
                ]
                for r in referrals
            ],
            widths=[1.6, 1.6, 2.4, 2.6, 2.2, 3, 1.6],
            empty_text="Aucune orientation.",
        ),
        PdfSection(
            heading="Orientations : données partagées, réponses et suites",
            columns=[
                "Référence",
                "Données partagées",
                "Contexte",
                "Refus",
                "Suite donnée",
                "Réorientation",
            ],
            rows=[
                [
                    r["reference"],
                    _categories(r["shared_categories"], labels),
                    _text(r["context_note"]),
                    " — ".join(x for x in (r["refusal_reason_label"], r["refusal_comment"]) if x)
                    or NOT_SET,
                    " — ".join(x for x in (r["outcome_label"], r["outcome_comment"]) if x)
                    or NOT_SET,
                    _transfer(r),
                ]
                for r in referrals
            ],
            widths=[1.4, 2.2, 2.6, 2.0, 1.9, 1.9],
            level=2,
        ),
        PdfSection(
            heading="Orientations : historique des statuts",
            columns=["Référence", "Date", "Statut"],
            rows=[
                [
                    r["reference"],
                    _when(move["at"]),
                    move["status_label"]
                    + (" (correction de la saisie précédente)" if move.get("correction") else ""),
                ]
                for r in referrals
                for move in r["status_history"]
            ],
            widths=[1, 1, 2],
            level=2,
        ),
        PdfSection(
            heading="Orientations : corrections de votre venue ou de votre absence",
            paragraphs=[
                "L'organisation qui a noté votre venue ou votre absence à un rendez-vous peut "
                "corriger une erreur dans les jours qui suivent. Le motif qu'elle a donné figure "
                "au journal de suivi, à la même date."
            ],
            columns=["Référence", "Corrigée le", "Par", "Saisie d'abord", "Après correction"],
            rows=[
                [
                    r["reference"],
                    _when(c["at"]),
                    _text(c["organisation"]),
                    c["previous_status_label"],
                    c["corrected_status_label"],
                ]
                for r in referrals
                for c in r["attendance_corrections"]
            ],
            widths=[1.5, 1.7, 3, 1.8, 1.8],
            empty_text="Aucune correction.",
            level=2,
        ),
        PdfSection(
            heading="Orientations : rendez-vous",
            columns=["Référence", "Date", "Modalité", "Lieu", "Issue"],
            rows=[
                [
                    r["reference"],
                    _when(a["starts_at"]),
                    a["channel_label"],
                    _text(a["place"]),
                    a["outcome_label"],
                ]
                for r in referrals
                for a in r["appointments"]
            ],
            widths=[1.5, 1.5, 1.5, 3, 1.5],
            level=2,
        ),
        PdfSection(
            heading="Orientations : messages échangés entre les organisations",
            paragraphs=[
                "Les messages que l'organisation qui vous a orienté(e) et celle qui vous a "
                "reçu(e) ont échangés à propos de chaque orientation."
            ],
            columns=["Référence", "Date", "Organisation", "Message"],
            rows=[
                [r["reference"], _when(m["at"]), _text(m["organisation"]), _text(m["text"])]
                for r in referrals
                for m in r["messages"]
            ],
            widths=[1.5, 1.5, 2.5, 5],
            empty_text="Aucun message.",
            level=2,
        ),
    ]


def _timeline_section(data: dict) -> PdfSection:
    labels = data["category_labels"]
    return PdfSection(
        heading="Journal de suivi de votre parcours",
        paragraphs=[
            "Les événements et notes inscrits par les organisations qui vous accompagnent, "
            "avec la catégorie de données à laquelle chacun appartient."
        ],
        columns=["Date", "Parcours", "Organisation", "Événement", "Catégorie", "Texte"],
        rows=[
            [
                _when(e["occurred_at"]),
                f"n°{e['pathway_number']}",
                _text(e["organisation"]),
                e["kind_label"]
                + (
                    f" {e['referral']} : {e['referral_status_label']}"
                    if e["referral"] and e["referral_status_label"]
                    else ""
                ),
                labels.get(e["category"], e["category"]),
                _text(e["text"]),
            ]
            for e in data["timeline"]
        ],
        widths=[1.7, 1.1, 2.4, 2.6, 2, 4],
        empty_text="Aucun événement.",
    )


def _consent_sections(data: dict) -> list[PdfSection]:
    labels = data["category_labels"]

    def recipients(item: dict) -> str:
        return (
            ", ".join(
                item["organisations"] + organisation_kind_recipients(item["organisation_kinds"])
            )
            or NOT_SET
        )

    return [
        PdfSection(
            heading="Vos accords (consentements)",
            paragraphs=[
                "Votre accord permet à des organisations nommées de voir certaines catégories "
                "de vos données, pour une finalité. Vous pouvez le restreindre ou le retirer à "
                "tout moment, auprès de n'importe quelle organisation qui vous accompagne : le "
                "retrait prend effet immédiatement."
            ],
            columns=["N°", "Finalité", "Catégories", "Organisations", "Période", "Preuve", "État"],
            rows=[
                [
                    str(c["number"]),
                    c["purpose"],
                    _categories(c["categories"], labels),
                    recipients(c),
                    f"du {_when(c['starts_on'])}"
                    + (f" au {_when(c['ends_on'])}" if c["ends_on"] else ""),
                    c["evidence_kind_label"],
                    c["state_label"] + (f" le {_when(c['revoked_at'])}" if c["revoked_at"] else ""),
                ]
                for c in data["consents"]
            ],
            widths=[0.6, 3, 2.4, 3, 2, 2, 1.6],
            empty_text="Aucun accord enregistré.",
        ),
        PdfSection(
            heading="Historique de vos accords",
            columns=["N°", "Date", "Changement", "Catégories", "Organisations", "Jusqu'au"],
            rows=[
                [
                    str(c["number"]),
                    _when(h["at"]),
                    h["change_label"],
                    _categories(h["categories"], labels),
                    recipients(h),
                    _when(h["ends_on"]),
                ]
                for c in data["consents"]
                for h in c["history"]
            ],
            widths=[0.6, 1.8, 2.4, 3, 3.4, 1.5],
            level=2,
        ),
    ]


def _requests_sections(data: dict) -> list[PdfSection]:
    labels = data["category_labels"]
    return [
        PdfSection(
            heading="Vos oppositions",
            columns=["Enregistrée le", "Motif", "Levée le"],
            rows=[
                [_when(o["recorded_at"]), _text(o["reason"]), _when(o["withdrawn_at"])]
                for o in data["objections"]
            ],
            widths=[1, 3, 1],
            empty_text="Aucune opposition enregistrée.",
        ),
        PdfSection(
            heading="Demandes d'accès à votre dossier",
            paragraphs=[
                "Les demandes d'organisations qui souhaitaient rejoindre votre accompagnement."
            ],
            columns=["Date", "Organisation", "Motif", "Réponse", "Le", "Commentaire"],
            rows=[
                [
                    _when(r["created_at"]),
                    r["requesting_organisation"],
                    r["reason"],
                    r["status_label"],
                    _when(r["decided_at"]),
                    _text(r["decision_comment"]),
                ]
                for r in data["access_requests"]
            ],
            widths=[1.5, 2.5, 3, 1.3, 1.5, 2.5],
            empty_text="Aucune demande d'accès.",
        ),
        PdfSection(
            heading="Accès exceptionnels",
            paragraphs=[
                "Un accès exceptionnel permet, en cas de nécessité, d'ouvrir une catégorie de "
                "données pour une courte durée, avec un motif ; il est signalé au délégué à la "
                "protection des données de l'organisation."
            ],
            columns=["Organisation", "Catégorie", "Motif", "Du", "Au"],
            rows=[
                [
                    b["organisation"],
                    labels.get(b["category"], b["category"]),
                    b["reason"],
                    _when(b["starts_at"]),
                    _when(b["ends_at"]),
                ]
                for b in data["break_glass"]
            ],
            widths=[2.5, 2, 4, 1.6, 1.6],
            empty_text="Aucun accès exceptionnel.",
        ),
    ]


def _access_report_sections(data: dict) -> list[PdfSection]:
    report = data["access_report"]
    count = len(report["rows"])
    return [
        PdfSection(
            heading="Qui a consulté ou modifié vos données",
            paragraphs=[
                f"{count} accès enregistré{'s' if count > 1 else ''} au journal des accès "
                f"(conservé {data['retention']['journal_kept_months']} mois), jusqu'au "
                f"{_when(report['period']['to'])}. Conformément à l'article 15 du RGPD tel que "
                "l'interprète la Cour de justice de l'Union européenne (arrêt C-579/21), les "
                "noms des personnels ne figurent pas : chaque accès est attribué à "
                "l'organisation pour le compte de laquelle il a eu lieu."
            ],
            columns=["Organisation", "Nombre d'accès"],
            rows=[[t["organisation"], str(t["count"])] for t in report["totals_by_organisation"]],
            widths=[4, 1],
            empty_text="Aucun accès enregistré.",
        ),
        _access_detail_section(report["rows"]),
    ]


def _access_detail_section(rows: list[dict]) -> PdfSection:
    """Every access, one line each — or, beyond PDF_DETAIL_LIMIT, the count per month,
    organisation and operation: a table of thousands of lines is not what a person can read,
    and laying it out would make the pack slow (~1 ms a line); the JSON keeps every line."""
    if len(rows) <= PDF_DETAIL_LIMIT:
        return PdfSection(
            heading="Détail des accès",
            columns=["Date", "Organisation", "Opération", "Données", "Finalité", "Base"],
            rows=[
                [
                    _when(r["occurred_at"]),
                    r["organisation"],
                    r["operation"],
                    r["record"] + (f" ({r['categories']})" if r["categories"] else ""),
                    _text(r["purpose"]),
                    _text(r["basis"]),
                ]
                for r in rows
            ],
            widths=[1.7, 2.4, 1.6, 3, 3, 2.2],
            empty_text="Aucun accès enregistré.",
            level=2,
        )
    # "2026-01-16T10:00:00+01:00": the local year and month are the first seven characters.
    counts = Counter((r["occurred_at"][:7], r["organisation"], r["operation"]) for r in rows)
    return PdfSection(
        heading="Accès par mois, organisation et opération",
        paragraphs=[
            f"Vos données ont fait l'objet de {len(rows)} accès : ce document les regroupe par "
            "mois, organisation et opération. Le détail de chacun (date et heure, données, "
            "finalité, base) figure dans le fichier de données joint (JSON, partie "
            "« access_report »)."
        ],
        columns=["Mois", "Organisation", "Opération", "Nombre d'accès"],
        rows=[
            [f"{month[5:7]}/{month[:4]}", organisation, operation, str(n)]
            for (month, organisation, operation), n in sorted(counts.items())
        ],
        widths=[1.2, 3, 2, 1.2],
        level=2,
    )


def _retention_section(data: dict) -> PdfSection:
    retention = data["retention"]
    return PdfSection(
        heading="Combien de temps vos données sont conservées",
        paragraphs=[RETENTION_NOTE.format(months=retention["journal_kept_months"])],
        columns=["", ""],
        header=False,
        rows=[
            ["Dernier contact enregistré", _when(retention["last_contact_at"])],
            ["Archivage (lecture seule) prévu le", _when(retention["archive_on"])],
            ["Anonymisation prévue le", _when(retention["anonymise_on"])],
            ["Textes de référence", "\n".join(retention["references"])],
        ],
        widths=[1, 2],
    )


def subject_access_pdf(data: dict) -> bytes:
    sections = [
        PdfSection(heading="Ce document", paragraphs=INTRO),
        PdfSection(heading="Vos droits", paragraphs=RIGHTS),
        *_category_sections(data),
        *_pathway_sections(data),
        *_referral_sections(data),
        _timeline_section(data),
        *_consent_sections(data),
        *_requests_sections(data),
        *_access_report_sections(data),
        _retention_section(data),
    ]
    return render_report_pdf(
        title="Vos données personnelles",
        subtitle_lines=["Droit d'accès — RGPD, article 15", _identity_line(data)],
        sections=sections,
        generated_at=dt.datetime.fromisoformat(data["generated_at"]),
        subject="Droit d'accès (RGPD art. 15)",
    )


# --- The ZIP -----------------------------------------------------------------------------------


def subject_access_json(data: dict) -> bytes:
    return json.dumps(data, ensure_ascii=False, indent=2).encode("utf-8")


def subject_access_zip(data: dict) -> bytes:
    """The pack: the PDF, the JSON and LISEZMOI.txt, deflated, dated at the generation."""
    names = pack_filenames(data["reference"])
    generated = dt.datetime.fromisoformat(data["generated_at"])
    files = {
        names["pdf"]: subject_access_pdf(data),
        names["json"]: subject_access_json(data),
        names["readme"]: LISEZMOI.format(
            reference=data["reference"],
            generated=_when(data["generated_at"]),
            pdf=names["pdf"],
            json=names["json"],
            format=data["format"],
        ).encode("utf-8"),
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            info = zipfile.ZipInfo(name, date_time=generated.timetuple()[:6])
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16  # rw-r--r-- once extracted
            archive.writestr(info, content)
    return buffer.getvalue()
