"""Messages on a referral in a real browser (Debian chromium through Playwright): France Travail's
counsellor writes to the SIAE from the referral page (an empty message first: the French error),
the SIAE's counsellor finds « 1 non lu » in her inbox, reads the message (« Nouveau ») and
answers; axe clean on every page and state."""

import pytest
from django.urls import reverse

from parcours.models import ReferralMessage, Role
from tests.factories import MembershipFactory
from tests.web.test_pages import World

from .browser import check_accessibility, log_in, shot

pytestmark = pytest.mark.django_db(transaction=True)

THREAD = "section[aria-labelledby=messages]"
QUESTION = "Bonjour, Léa pourra-t-elle commencer lundi ? Elle n'a pas de véhicule."
ANSWER = "Oui, nous l'attendons lundi à 9 h ; le chantier est desservi par le bus."


def test_the_sender_writes_and_the_receiver_reads_and_answers(live_server, new_page):
    world = World()  # France Travail (me) sent Léa Martin to the SIAE (`outgoing`)
    siae_counsellor = MembershipFactory(organisation=world.siae, role=Role.COUNSELLOR).user
    base = live_server.url
    referral_page = base + reverse("web:referral-detail", args=[world.outgoing.pk])

    sender = new_page()
    log_in(sender, base, world.me)
    sender.goto(referral_page)
    sender.get_by_role("heading", name="Messages").wait_for()
    sender.get_by_text("Aucun message pour l'instant.").wait_for()
    check_accessibility(sender, "orientation : fil vide")
    sender.get_by_role("button", name="Envoyer le message").click()
    sender.get_by_text("Ce champ est obligatoire.").wait_for()
    check_accessibility(sender, "orientation : message vide (erreur)")
    assert not ReferralMessage.objects.exists()
    sender.get_by_label("Votre message").fill(QUESTION)
    sender.get_by_role("button", name="Envoyer le message").click()
    sender.get_by_text("Message envoyé : l'autre organisation en est prévenue.").wait_for()
    sender.get_by_text(QUESTION).wait_for()
    check_accessibility(sender, "orientation : message envoyé")

    receiver = new_page()
    log_in(receiver, base, siae_counsellor)
    receiver.goto(base + reverse("web:inbox"))
    unread = receiver.get_by_role(
        "link", name=f"1 non lu : lire les messages de l'orientation {world.outgoing.reference}"
    )
    unread.wait_for()
    check_accessibility(receiver, "orientations reçues : un message non lu")
    unread.click()
    receiver.get_by_text(QUESTION).wait_for()
    receiver.locator(THREAD).get_by_text("Nouveau").wait_for()
    shot(receiver, "orientation-messages")
    check_accessibility(receiver, "orientation : message reçu")
    receiver.get_by_label("Votre message").fill(ANSWER)
    receiver.get_by_role("button", name="Envoyer le message").click()
    receiver.get_by_text(ANSWER).wait_for()
    assert receiver.locator(THREAD).get_by_text("Nouveau").count() == 0  # read now

    # Back in the inbox: nothing unread; France Travail sees the answer as new.
    receiver.goto(base + reverse("web:inbox"))
    row = receiver.get_by_role("row").filter(has_text=world.outgoing.reference)
    row.get_by_role("cell", name="Aucun").wait_for()
    assert receiver.get_by_text("1 non lu").count() == 0
    sender.goto(referral_page)
    sender.get_by_text(ANSWER).wait_for()
    sender.locator(THREAD).get_by_text("Nouveau").wait_for()
    check_accessibility(sender, "orientation : réponse reçue")
    assert list(ReferralMessage.objects.order_by("id").values_list("text", flat=True)) == [
        QUESTION,
        ANSWER,
    ]
