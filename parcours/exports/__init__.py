"""Documents produced for people and DPOs: PDF rendering (`pdf`) and the subject-access pack
(`subject_access`). Pure functions from already-gathered data to bytes: no query, no journaling
(the services in parcours/services/ do both)."""
