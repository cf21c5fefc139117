"""Shared fixtures for the theory tests: every claim is verified once per session."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def verifications():
    """``{claim id: Verification}`` for every claim of the ledger (verified once, about 12 s)."""
    import theory

    return {v.claim_id: v for v in theory.verify_all()}
