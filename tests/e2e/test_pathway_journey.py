"""The pathway's daily writes in a real browser (Debian chromium through Playwright), as the
counsellor who holds the record: a note (first sent empty: the French error, then written), a
barrier, the modality, a new référent, then closing with its confirmation (a DSFR modal) — axe
on every page and form state; an archived record reactivated by its holder. And the denial: a
referral's receiver is offered none of the holder's writes and meets the French 403 page on the
direct address."""

import pytest
from django.urls import reverse
from django.utils import timezone

from parcours.models import Barrier, Pathway, PathwayStatus, Role
from tests.factories import MembershipFactory
from tests.web.test_pages import World

from .browser import check_accessibility, follow_link, log_in, modal_opened, shot, tick

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_holder_updates_and_closes_the_pathway(live_server, new_page):
    world = World()
    colleague = MembershipFactory(
        organisation=world.home,
        role=Role.COUNSELLOR,
        user__first_name="Karim",
        user__last_name="Benali",
    ).user
    base = live_server.url
    page = new_page()
    log_in(page, base, world.me)
    person_page = base + reverse("web:person-detail", args=[world.person.pk])

    # A note: sent empty first, the error in French, then written.
    page.goto(person_page)
    page.get_by_role("link", name="Ajouter une note").click()
    page.get_by_role("button", name="Ajouter au parcours").click()
    page.get_by_text("Ce champ est obligatoire.").first.wait_for()
    check_accessibility(page, "note (erreurs)")
    page.get_by_label("Texte").fill("Point d'étape : recherche de logement en cours.")
    page.get_by_role("button", name="Ajouter au parcours").click()
    page.get_by_text("La note est ajoutée").wait_for()
    page.get_by_text("recherche de logement en cours").first.wait_for()
    check_accessibility(page, "fiche après la note")
    shot(page, "parcours-note")

    # A barrier.
    follow_link(page, "Mettre à jour un frein périphérique")
    check_accessibility(page, "frein")
    page.get_by_label("Frein").select_option(label="Logement")
    page.get_by_label("Statut").select_option(label="En cours de levée")
    page.get_by_role("button", name="Enregistrer le frein").click()
    page.get_by_text("Le frein est enregistré").wait_for()
    assert Barrier.objects.get(pathway=world.pathway).status == "in_progress"

    # The modality, then the référent.
    follow_link(page, "Changer la modalité d'accompagnement")
    check_accessibility(page, "modalité")
    tick(page, "Renforcé")
    page.get_by_role("button", name="Changer la modalité").click()
    page.get_by_text("La modalité d'accompagnement est changée").wait_for()
    follow_link(page, "Changer de référent")
    check_accessibility(page, "référent")
    page.get_by_label("Nouveau référent").select_option(label="Karim Benali")
    page.get_by_role("button", name="Désigner ce référent").click()
    page.get_by_text("Le référent est changé").wait_for()
    assert Pathway.objects.get(pk=world.pathway.pk).referent == colleague

    # Closing: the button opens the DSFR modal naming Léa and what follows (the box that
    # confirms without JavaScript is hidden); confirmed, the service refuses while a referral is
    # open (its reason, in French); the referral withdrawn elsewhere, the closing goes through.
    page.get_by_role("link", name="Clôturer le parcours").click()
    page.get_by_label("Motif de sortie").select_option(label="Emploi")
    assert page.get_by_text("Je confirme la clôture").is_hidden()
    page.get_by_role("button", name="Clôturer le parcours").click()
    modal = page.get_by_role("dialog", name="Clôturer le parcours ?")
    modal.get_by_text("Le parcours de Léa Martin sera clôturé").wait_for()
    modal_opened(page, "modale-cloture")
    check_accessibility(page, "clôture (fenêtre de confirmation)")
    modal.get_by_role("button", name="Confirmer la clôture du parcours").click()
    page.get_by_text("Clôturez ou retirez d'abord les orientations en cours").wait_for()
    check_accessibility(page, "clôture (orientation en cours)")
    world.outgoing.refresh_from_db()
    world.outgoing.status = "withdrawn"
    world.outgoing.withdrawn_at = timezone.now()
    world.outgoing.save()
    page.get_by_role("button", name="Clôturer le parcours").click()
    modal.get_by_role("button", name="Confirmer la clôture du parcours").click()
    page.get_by_text("Le parcours est clôturé").wait_for()
    assert Pathway.objects.get(pk=world.pathway.pk).status == PathwayStatus.CLOSED
    check_accessibility(page, "fiche du parcours clôturé")


def test_a_receiver_is_not_offered_the_holder_s_writes(live_server, new_page):
    world = World()
    receiver = MembershipFactory(organisation=world.siae, role=Role.COUNSELLOR).user
    base = live_server.url
    page = new_page()
    log_in(page, base, receiver)
    page.goto(base + reverse("web:person-detail", args=[world.person.pk]))
    assert page.get_by_role("link", name="Clôturer le parcours").count() == 0
    assert page.get_by_role("link", name="Changer de référent").count() == 0
    page.goto(
        base
        + reverse("web:pathway-write", kwargs={"pathway_pk": world.pathway.pk, "write": "cloture"})
    )
    page.get_by_text("Seule l'organisation propriétaire peut clôturer le parcours.").wait_for()
    check_accessibility(page, "clôture refusée")


def test_the_holder_reactivates_an_archived_record(live_server, new_page):
    world = World()
    Pathway.objects.filter(pk=world.pathway.pk).update(archived_at=timezone.now())
    base = live_server.url
    page = new_page()
    log_in(page, base, world.me)
    page.goto(base + reverse("web:person-detail", args=[world.person.pk]))
    # Archived: read-only, its reactivation the only write offered.
    assert page.get_by_role("link", name="Ajouter une note").count() == 0
    page.get_by_role("link", name="Réactiver le dossier archivé").click()
    page.get_by_role("button", name="Réactiver le dossier").click()
    page.get_by_text("Ce champ est obligatoire.").first.wait_for()
    check_accessibility(page, "réactivation (erreurs)")
    page.get_by_label("Motif de la réactivation").fill("La personne revient vers l'agence.")
    page.get_by_role("button", name="Réactiver le dossier").click()
    page.get_by_text("Le dossier est réactivé").wait_for()
    page.get_by_role("link", name="Ajouter une note").wait_for()
    check_accessibility(page, "fiche réactivée")
    assert Pathway.objects.get(pk=world.pathway.pk).archived_at is None
