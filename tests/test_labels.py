"""The journal's codes in words (parcours/labels.py): what the DPO's reports and the person's
report show instead of "legal:spe consent:12" or "pathway n°3"."""

from parcours.labels import basis_label, list_label, record_label


def test_bases_read_in_words_with_their_numbers_for_the_dpo():
    assert basis_label("legal:owner legal:spe consent:12 referral:7") == (
        "Mission de la structure qui détient le dossier ; Mission de service public de l'emploi"
        " ; accord de la personne n°12 ; orientation en cours n°7"
    )


def test_without_numbers_each_kind_is_named_once():
    assert basis_label("consent:12 consent:13 legal:rsa", numbered=False) == (
        "accord de la personne ; Orientation et accompagnement rSa"
    )


def test_an_unknown_code_is_never_shown_as_such():
    assert basis_label("magic:1") == "base non reconnue"
    assert basis_label("") == ""


def test_records_and_lists_in_french():
    assert record_label("pathway", 3) == "parcours n°3"
    assert record_label("person") == "personne"
    assert list_label("referral", 1) == "liste : 1 orientation"
    assert list_label("person", 20) == "liste : 20 personnes"
    assert record_label("something_new", 4) == "élément n°4"
