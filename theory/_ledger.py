"""The ledger itself: every claim, in the order ``python -m theory`` prints them (imports sympy)."""

from __future__ import annotations

from typing import Iterable

from theory import asymptotics, flow, scalar, vector
from theory.claims import Claim, Derivation, Step, Verification, check_unique_ids

__all__ = ["CLAIMS", "Claim", "Derivation", "Step", "Verification", "get_claim", "verify_all"]

#: Every claim of the ledger, in the order ``python -m theory`` prints them.
CLAIMS: tuple[Claim, ...] = check_unique_ids(scalar.CLAIMS + flow.CLAIMS + vector.CLAIMS + asymptotics.CLAIMS)


def get_claim(claim_id: str) -> Claim:
    """The claim with id ``claim_id``; raises ValueError naming the known ids otherwise."""
    for claim in CLAIMS:
        if claim.id == claim_id:
            return claim
    raise ValueError(f"claim_id must be one of {', '.join(c.id for c in CLAIMS)}: got {claim_id!r}")


def verify_all(claim_ids: Iterable[str] | None = None) -> tuple[Verification, ...]:
    """Verify the claims named by ``claim_ids`` (all if None), in ledger order; returns their verifications."""
    claims = CLAIMS if claim_ids is None else tuple(get_claim(i) for i in claim_ids)
    return tuple(claim.verify() for claim in claims)
