"""The DPO tests use `history` and `period` from tests/conftest.py."""
