"""Pages (French URLs; ids only, never personal data in a URL)."""

from django.urls import path

from .views import (
    access_requests,
    account,
    action_plan,
    agreement_indicators,
    alerts,
    answers,
    api_tokens,
    care_team,
    committees,
    diagnostic,
    directory,
    dpo,
    home,
    information,
    objections,
    pathways,
    person_space,
    persons,
    proconnect,
    receiver_link,
    referrals,
    sent_referrals,
    statistics,
    territory,
    webhooks,
    worklists,
)

app_name = "web"

urlpatterns = [
    path("", home.home, name="home"),
    path("connexion/", account.LoginView.as_view(), name="login"),
    # The second factor: the code after the password, setting up an app, recovery codes.
    path("connexion/verification/", account.second_factor, name="second-factor"),
    path(
        "compte/double-authentification/",
        account.second_factor_setup,
        name="second-factor-setup",
    ),
    path(
        "compte/double-authentification/codes-de-secours/",
        account.second_factor_recovery_codes,
        name="second-factor-recovery-codes",
    ),
    path(
        "compte/double-authentification/desactivation/",
        account.second_factor_disable,
        name="second-factor-disable",
    ),
    path("deconnexion/", account.LogoutView.as_view(), name="logout"),
    # ProConnect (off unless configured: 404): the button, the provider's two ways back.
    path("connexion/proconnect/", proconnect.start, name="proconnect-start"),
    path("connexion/proconnect/retour/", proconnect.callback, name="proconnect-callback"),
    path("deconnexion/proconnect/retour/", proconnect.logged_out, name="proconnect-logged-out"),
    # The person's own space (issue 19): their own session, never a staff one.
    path("mon-parcours/", person_space.space, name="person-space"),
    path("mon-parcours/connexion/", person_space.sign_in, name="person-space-sign-in"),
    path("mon-parcours/connexion/code/", person_space.code, name="person-space-code"),
    path("mon-parcours/deconnexion/", person_space.sign_out, name="person-space-sign-out"),
    path(
        "mon-parcours/accords/<int:pk>/retirer/",
        person_space.consent_withdraw,
        name="person-space-consent-withdraw",
    ),
    path(
        "mon-parcours/connexion/franceconnect/",
        person_space.franceconnect_start,
        name="person-space-franceconnect-start",
    ),
    path(
        "mon-parcours/connexion/franceconnect/retour/",
        person_space.franceconnect_callback,
        name="person-space-franceconnect-callback",
    ),
    path(
        "mon-parcours/deconnexion/franceconnect/retour/",
        person_space.franceconnect_logged_out,
        name="person-space-franceconnect-logged-out",
    ),
    path(
        "mon-parcours/accords/retire/",
        person_space.consent_withdrawn,
        name="person-space-consent-withdrawn",
    ),
    path("mot-de-passe/", account.PasswordChangeView.as_view(), name="password-change"),
    path("organisation/", account.acting_organisation, name="acting-organisation"),
    path("organisation/acces-api/", api_tokens.api_tokens, name="api-tokens"),
    path(
        "organisation/acces-api/<int:pk>/renouveler/",
        api_tokens.api_token_renew,
        name="api-token-renew",
    ),
    path(
        "organisation/acces-api/<int:pk>/revoquer/",
        api_tokens.api_token_revoke,
        name="api-token-revoke",
    ),
    path("organisation/webhooks/", webhooks.webhooks, name="webhooks"),
    path(
        "organisation/webhooks/<int:pk>/modifier/",
        webhooks.webhook_change,
        name="webhook-change",
    ),
    path(
        "organisation/webhooks/<int:pk>/nouveau-secret/",
        webhooks.webhook_rotate,
        name="webhook-rotate",
    ),
    path(
        "organisation/webhooks/<int:pk>/desactiver/",
        webhooks.webhook_disable,
        name="webhook-disable",
    ),
    path(
        "organisation/webhooks/<int:pk>/envois/",
        webhooks.webhook_deliveries,
        name="webhook-deliveries",
    ),
    path(
        "organisation/webhooks/envois/<int:pk>/renvoyer/",
        webhooks.webhook_replay,
        name="webhook-replay",
    ),
    # The footer's mandatory pages, public.
    # The link of a receiver without an account (issue 19): no sign-in, the link is the actor.
    path("lien/<int:referral_pk>/<str:token>/", receiver_link.receiver_link, name="receiver-link"),
    path(
        "lien/<int:referral_pk>/<str:token>/<str:action>/",
        receiver_link.receiver_link_move,
        name="receiver-link-move",
    ),
    path("accessibilite/", information.accessibility, name="accessibility"),
    path("mentions-legales/", information.legal_notice, name="legal-notice"),
    path("donnees-personnelles/", information.personal_data, name="personal-data"),
    # The managers' dashboard (issue 18): statistics without people.
    path("tableau-de-bord/", statistics.statistics, name="statistics"),
    # An agreement's indicators and their periodic report (issue 18).
    path(
        "conventions/<int:pk>/indicateurs/",
        agreement_indicators.agreement_indicators,
        name="agreement-indicators",
    ),
    path(
        "conventions/<int:pk>/indicateurs/modifier/",
        agreement_indicators.agreement_indicators_edit,
        name="agreement-indicators-edit",
    ),
    # The territorial coordinator's overdue referrals: organisations and delays, no person.
    path(
        "territoire/orientations-en-retard/", territory.overdue_referrals, name="territory-overdue"
    ),
    path("personnes/", persons.person_search, name="person-search"),
    path("personnes/nouvelle/", persons.person_create, name="person-create"),
    # « Voir tout » of « À traiter »'s blocks that no other page lists.
    path("personnes/suivies/", worklists.caseload, name="caseload"),
    path("plan/actions/en-retard/", worklists.overdue_actions, name="overdue-actions"),
    path("personnes/<int:pk>/", persons.person_detail, name="person-detail"),
    path("personnes/<int:pk>/modifier/", persons.person_edit, name="person-edit"),
    path("personnes/<int:pk>/accords/", persons.consent_create, name="consent-create"),
    path(
        "personnes/<int:pk>/accords/<int:consent_pk>/retrait/",
        persons.consent_revoke,
        name="consent-revoke",
    ),
    path(
        "personnes/<int:pk>/accords/<int:consent_pk>/restreindre/",
        persons.consent_narrow,
        name="consent-narrow",
    ),
    # The consent's evidence file, downloaded through the gate (never from the storage).
    path(
        "personnes/<int:pk>/accords/<int:consent_pk>/piece-justificative/",
        persons.consent_evidence,
        name="consent-evidence",
    ),
    path("personnes/<int:pk>/acces-exceptionnel/", persons.break_glass, name="break-glass"),
    path("personnes/<int:pk>/opposition/", objections.objection_record, name="objection-record"),
    path(
        "personnes/<int:pk>/opposition/<int:objection_pk>/levee/",
        objections.objection_withdraw,
        name="objection-withdraw",
    ),
    path("parcours/<int:pathway_pk>/orienter/", referrals.referral_create, name="referral-create"),
    # « Proposer au comité » (before the writes' pattern, which would take it for a write).
    path(
        "parcours/<int:pathway_pk>/proposer-au-comite/",
        committees.proposal_create,
        name="committee-propose",
    ),
    # A new version of one domain of the shared diagnostic (slugs: diagnostic_domains.DOMAINS).
    path(
        "parcours/<int:pathway_pk>/diagnostic/<str:domain>/",
        diagnostic.diagnostic_write,
        name="diagnostic-write",
    ),
    # A note, a barrier, the modality, the référent, closing, reactivating (pathways.WRITES).
    path("parcours/<int:pathway_pk>/<str:write>/", pathways.pathway_write, name="pathway-write"),
    # The care team (équipe de suivi): add an organisation, remove one with a reason.
    path(
        "parcours/<int:pathway_pk>/equipe-de-suivi/ajouter/",
        care_team.care_team_add,
        name="care-team-add",
    ),
    path("equipe-de-suivi/<int:pk>/retrait/", care_team.care_team_end, name="care-team-end"),
    path("orientations/recues/", referrals.inbox, name="inbox"),
    path("orientations/envoyees/", sent_referrals.sent_referrals, name="sent-referrals"),
    path("demandes-d-acces/", access_requests.request_list, name="access-requests"),
    path(
        "demandes-d-acces/nouvelle/",
        access_requests.request_create,
        name="access-request-create",
    ),
    path(
        "demandes-d-acces/<int:pk>/<str:decision>/",
        access_requests.request_decide,
        name="access-request-decide",
    ),
    path("orientations/<int:pk>/", referrals.referral_detail, name="referral-detail"),
    # Before the moves' pattern, which would take « messages » for a move.
    path(
        "orientations/<int:pk>/messages/",
        referrals.referral_message_post,
        name="referral-message-post",
    ),
    # Before the moves' pattern, which would take « reorienter » for a move's name.
    path(
        "orientations/<int:pk>/reorienter/",
        referrals.referral_transfer,
        name="referral-transfer",
    ),
    # The receiving team: « Confier à » (before the moves' pattern, which would take it).
    path("orientations/<int:pk>/confier/", referrals.referral_assign, name="referral-assign"),
    # The sender's side of a receiver's link (issue 19): revoke it, send a new one.
    path(
        "orientations/<int:pk>/lien-destinataire/<str:what>/",
        receiver_link.referral_receiver_link,
        name="referral-receiver-link",
    ),
    path("orientations/<int:pk>/<str:action>/", referrals.referral_move, name="referral-move"),
    path("alertes/", alerts.alert_list, name="alerts"),
    # The partner directory: a page, and the fragments of the forms' pickers (htmx).
    path("annuaire/", directory.organisation_picker, name="directory-organisations"),
    path(
        "annuaire/organismes/<int:pk>/", directory.organisation_sheet, name="directory-organisation"
    ),
    path("alertes/<int:pk>/prise-en-compte/", alerts.alert_acknowledge_view, name="alert-ack"),
    path("preferences/", alerts.preferences, name="preferences"),
    # The receivers' answers to the referrals the user sent, on the home page (issue 14).
    path("reponses/<int:pk>/vue/", answers.answer_seen, name="answer-seen"),
    # The DPO's pages.
    path("protection-des-donnees/", dpo.dpo_home, name="dpo-home"),
    path(
        "protection-des-donnees/personnes/<int:pk>/acces/",
        dpo.dpo_person_report,
        name="dpo-person-report",
    ),
    path(
        "protection-des-donnees/personnes/<int:pk>/droit-d-acces/",
        dpo.dpo_subject_access_pack,
        name="dpo-subject-access-pack",
    ),
    path(
        "protection-des-donnees/personnes/<int:pk>/demande/",
        dpo.dpo_rights_request_create,
        name="dpo-rights-request-create",
    ),
    path("protection-des-donnees/utilisateurs/", dpo.dpo_users, name="dpo-users"),
    path(
        "protection-des-donnees/utilisateurs/<int:pk>/activite/",
        dpo.dpo_user_report,
        name="dpo-user-report",
    ),
    path("protection-des-donnees/anomalies/", dpo.dpo_anomalies, name="dpo-anomalies"),
    path("protection-des-donnees/journal/", dpo.dpo_integrity, name="dpo-integrity"),
    path(
        "protection-des-donnees/journal/verifier/",
        dpo.dpo_integrity_verify,
        name="dpo-integrity-verify",
    ),
    path("protection-des-donnees/registre/", dpo.dpo_register, name="dpo-register"),
    path("protection-des-donnees/demandes/", dpo.dpo_rights_requests, name="dpo-rights-requests"),
    path(
        "protection-des-donnees/demandes/<int:pk>/",
        dpo.dpo_rights_request,
        name="dpo-rights-request",
    ),
    # The case committee (CLCVP): sessions, their agenda, proposals and decisions.
    path("comites/", committees.committee_list, name="committees"),
    path("comites/nouveau/", committees.committee_create, name="committee-create"),
    path("comites/<int:pk>/", committees.committee_detail, name="committee-detail"),
    path("comites/<int:pk>/annuler/", committees.committee_cancel, name="committee-cancel"),
    path("comites/dossiers/<int:pk>/", committees.proposal_detail, name="committee-proposal"),
    path(
        "comites/dossiers/<int:pk>/deplacer/",
        committees.proposal_move,
        name="committee-proposal-move",
    ),
    path(
        "comites/dossiers/<int:pk>/ne-pas-retenir/",
        committees.proposal_decline,
        name="committee-proposal-decline",
    ),
    path(
        "comites/dossiers/<int:pk>/decision/",
        committees.proposal_decide,
        name="committee-proposal-decide",
    ),
    # The pathway's action plan (objectives, actions); shown on the person page.
    path(
        "parcours/<int:pathway_pk>/plan/objectif/",
        action_plan.objective_add,
        name="plan-objective-add",
    ),
    path("plan/objectifs/<int:pk>/action/", action_plan.plan_action_add, name="plan-action-add"),
    path(
        "plan/objectifs/<int:pk>/statut/",
        action_plan.objective_set_status,
        name="plan-objective-status",
    ),
    path(
        "plan/actions/<int:pk>/statut/",
        action_plan.plan_action_set_status,
        name="plan-action-status",
    ),
]
