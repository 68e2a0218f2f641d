"""The French texts of the subject-access pack: the PDF's introduction and rights, the retention
note, and LISEZMOI.txt. Kept apart from the layout so that a DPO can review them in one place."""

INTRO = [
    "Ce document répond à votre demande d'accès à vos données personnelles (article 15 du "
    "règlement général sur la protection des données, RGPD). Il rassemble ce que le dossier "
    "partagé « parcours » contient à votre sujet : votre fiche, rangée par catégorie de données ; "
    "votre parcours d'accompagnement et vos orientations ; le journal de suivi ; vos accords et "
    "leur historique ; vos oppositions ; les demandes d'accès et les accès exceptionnels à votre "
    "dossier ; la liste des accès à vos données ; les dates auxquelles votre dossier sera archivé "
    "puis anonymisé.",
    "Parcours est utilisé par les organisations de l'emploi et de l'insertion (France Travail, "
    "conseil départemental, mission locale, Cap emploi, structures d'insertion, associations…) "
    "pour coordonner votre accompagnement. Chacune ne voit que les catégories de données que la "
    "loi, une convention entre partenaires ou votre accord lui ouvrent, et chaque consultation "
    "est enregistrée dans un journal des accès.",
    "Les noms des personnels n'apparaissent pas dans ce document : chaque action est attribuée à "
    "l'organisation pour le compte de laquelle elle a eu lieu. Le fichier JSON joint contient les "
    "mêmes informations sous une forme lisible par un ordinateur (voir le fichier LISEZMOI.txt).",
]

RIGHTS = [
    "Rectification (article 16 du RGPD) : si une donnée est inexacte ou incomplète, demandez sa "
    "correction à l'organisation qui vous accompagne. La correction est faite dans votre dossier "
    "et la modification est tracée.",
    "Retrait ou restriction de votre accord (article 7) : vous pouvez à tout moment retirer ou "
    "restreindre un accord que vous avez donné ; le retrait prend effet immédiatement, sans "
    "remettre en cause ce qui a été fait avant.",
    "Opposition (article 21) : vous pouvez vous opposer à ce que vos données soient partagées sur "
    "le fondement de votre accord ; votre opposition est enregistrée et respectée par toutes les "
    "organisations.",
    "Effacement (article 17) et limitation (article 18) : vous pouvez demander l'effacement de vos "
    "données ou la limitation de leur utilisation lorsque la loi le permet. Les données que les "
    "organisations doivent conserver pour une mission prévue par la loi (par exemple le suivi du "
    "rSa) sont conservées pendant la durée fixée par les textes, indiquée à la fin de ce "
    "document. Votre demande est enregistrée, avec une date de réponse.",
    "Pour exercer ces droits, adressez-vous à l'organisation qui vous accompagne ou à son délégué "
    "à la protection des données (DPO). Si vous estimez, après les avoir contactés, que vos "
    "droits ne sont pas respectés, vous pouvez adresser une réclamation à la Commission "
    "nationale de l'informatique et des libertés (CNIL) : www.cnil.fr/plaintes, ou par courrier "
    "à la CNIL, 3 place de Fontenoy, TSA 80715, 75334 Paris Cedex 07.",
]

RETENTION_NOTE = (
    "Par défaut (article R.263-8 du code de l'action sociale et des familles), votre dossier "
    "reste actif deux ans après votre dernier contact avec une organisation qui vous accompagne. "
    "Il est ensuite archivé pendant deux ans : il ne peut plus être modifié et seuls "
    "l'organisation responsable et son délégué à la protection des données peuvent le "
    "consulter. Il est enfin anonymisé : ne restent que des statistiques qui ne permettent plus "
    "de vous identifier. Ces dates sont recalculées à chaque nouveau contact. Le journal des "
    "accès est conservé {months} mois."
)

LISEZMOI = """\
Vos données personnelles dans parcours — droit d'accès (RGPD, article 15)
Dossier {reference}, document établi le {generated}.

Ce dossier compressé contient trois fichiers :

- {pdf}
  Le document à lire : vos données, votre parcours, vos orientations, vos accords et leur
  historique, la liste des accès à vos données et les durées de conservation, ainsi que vos
  droits et la façon de les exercer.

- {json}
  Les mêmes informations, lisibles par un ordinateur (format JSON, encodage UTF-8, version
  « {format} »). Les noms des rubriques sont en anglais, les libellés en français :
    format, generated_at, reference  version du format, date d'établissement, référence du dossier
    record                      création et dernière mise à jour de votre fiche
    category_labels             le nom en français de chaque catégorie de données
    categories                  votre fiche, par catégorie : chaque donnée (name, label, value)
                                et le nombre d'autres éléments de la catégorie (other_records)
    pathways                    vos parcours : statut, dates, organisations, modalités
                                successives, synthèse du diagnostic, freins, diagnostic
                                partagé, plan d'action (action_plan : objectifs et actions,
                                organisation qui porte chaque action, échéance, statut),
                                équipe de suivi
    referrals                   vos orientations : organisations, motif, statut, dates,
                                historique des statuts (status_history), corrections de
                                votre venue ou de votre absence (attendance_corrections),
                                rendez-vous, messages échangés entre les organisations
                                (messages)
    timeline                    le journal de suivi de vos parcours
    consents                    vos accords et leur historique (history : recueil, restriction,
                                retrait, avec les catégories et organisations après chaque
                                changement)
    objections                  vos oppositions
    access_requests             les demandes d'accès à votre dossier
    break_glass                 les accès exceptionnels à votre dossier
    access_report               les accès à vos données (rows) et leur total par organisation
    retention                   dernier contact, dates d'archivage et d'anonymisation
    counts                      le nombre d'éléments de chaque rubrique
  Les dates suivent la norme ISO 8601 (année-mois-jour, heure locale avec décalage horaire).
  Un champ vide ("" ou null) signifie que l'information n'est pas renseignée.

- LISEZMOI.txt
  Ce fichier.

Les noms des personnels ne figurent pas dans ces fichiers : chaque action est attribuée à
l'organisation pour le compte de laquelle elle a eu lieu.

Pour faire corriger une donnée, retirer un accord, vous opposer à un partage ou demander un
effacement lorsque la loi le permet, adressez-vous à l'organisation qui vous accompagne ou à son
délégué à la protection des données. Vous pouvez aussi adresser une réclamation à la CNIL :
www.cnil.fr/plaintes.
"""
