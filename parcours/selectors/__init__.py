"""Reads. Selectors acting for a user start from `parcours.access`; system selectors say so."""
