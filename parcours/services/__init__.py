"""Writes. Each service is `<entity>_<verb>`, keyword-only, owns its transaction, takes an Actor."""
