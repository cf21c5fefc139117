"""High- and low-rate limits: the 3 dB gap between DiffC-A and DiffC-F, and DiffC-F against the RD function.

Per component, ``D_A / D_F = 1 + rho`` rises from 1 (``snr -> 0``) to 2
(``snr -> oo``, ``10 log10 2 = 3.0103`` dB), and
``D_F / D_rd(R) = 2 / (1 + sqrt(1 - exp(-2R))) = 1 + exp(-2R)/4 + O(exp(-4R))``
falls from 2 (``R -> 0``) to 1 (``R -> oo``). With isotropic noise the total
distortions of any spectrum have the same high-rate limit ``D_A / D_F -> 2``.
"""

from __future__ import annotations

import sympy as sp

from theory import symbols as S
from theory.claims import Claim, Derivation, check_unique_ids
from theory.scalar import flow_gain, mse_diffc_a, mse_diffc_f, mse_rd, rate_nats, snr_for_rate_nats

__all__ = ["gap_db_ancestral_over_flow_limit", "ratio_flow_over_rd", "CLAIMS"]

_LAM, _SNR, _R = S.eigval, S.snr, S.rate_nats


def gap_db_ancestral_over_flow_limit():
    """High-rate gap ``10 log10 2`` dB of DiffC-A over DiffC-F (exact sympy number)."""
    return 10 * sp.log(2) / sp.log(10)


def ratio_flow_over_rd(rate_nats=S.rate_nats):
    """Ratio ``D_F / D_rd = 2 / (1 + sqrt(1 - exp(-2R)))`` at equal rate ``R`` nats (dimensionless)."""
    return 2 / (1 + sp.sqrt(1 - sp.exp(-2 * rate_nats)))


def _derive_three_db(e, d: Derivation):
    """Checks D_A/D_F against the closed forms, its limits at both ends, the dB value and monotonicity."""
    d.equal("D_A / D_F from the closed forms", mse_diffc_a() / mse_diffc_f(), e["ratio"])
    high = sp.limit(e["ratio"], _SNR, sp.oo)
    d.limit("D_A / D_F -> 2 as snr -> oo", e["ratio"], _SNR, sp.oo, 2)
    d.limit("D_A / D_F -> 1 as snr -> 0", e["ratio"], _SNR, 0, 1)
    d.equal("gap in dB: 10 log10 of the high-rate limit", 10 * sp.log(high) / sp.log(10), e["gap_db_limit"])
    d.define("numerically", sp.Symbol("gap_dB"), sp.N(e["gap_db_limit"], 15))
    d.positive(
        "D_A / D_F increases strictly with snr (the limit 2 is a supremum, not attained)",
        sp.simplify(sp.diff(e["ratio"], _SNR)),
    )
    lam1, lam2 = sp.symbols("lambda_1 lambda_2", positive=True)
    total_a = mse_diffc_a(lam1) + mse_diffc_a(lam2)
    total_f = mse_diffc_f(lam1) + mse_diffc_f(lam2)
    d.limit(
        "two components, isotropic noise: total D_A / total D_F -> 2 as snr -> oo", total_a / total_f, _SNR, sp.oo, 2
    )


def _derive_flow_at_rd(e, d: Derivation):
    """Checks D_F/D_rd at equal rate, its limits, its first-order expansions in exp(-2R) and 1/snr, and D_F > D_rd."""
    w, eps = S.w, sp.Symbol("epsilon", positive=True)
    ratio = mse_diffc_f(_LAM, snr_for_rate_nats(_LAM, _R)) / mse_rd(_LAM, _R)
    d.equal("D_F(snr(R)) / D_rd(R)", ratio, e["ratio_flow_over_rd"])
    d.limit("-> 1 as R -> oo: DiffC-F attains the RD function at high rate", e["ratio_flow_over_rd"], _R, sp.oo, 1)
    d.limit("-> 2 as R -> 0+", e["ratio_flow_over_rd"], _R, 0, 2)
    on_w = {_R: -sp.log(w) / 2}
    d.series(
        "first-order correction in w = exp(-2R)",
        e["ratio_flow_over_rd"].subs(on_w),
        w,
        2,
        sp.expand(1 + sp.simplify(e["first_order_rate"].subs(on_w))),
    )
    on_eps = {_SNR: 1 / eps}
    d.series(
        "first-order correction in epsilon = 1/snr",
        sp.simplify(e["ratio_flow_over_rd"].subs(_R, rate_nats(_LAM, _SNR)).subs(on_eps)),
        eps,
        2,
        sp.expand(1 + e["first_order_snr"].subs(on_eps)),
    )
    on_rho = sp.simplify(e["ratio_flow_over_rd"].subs(_R, -sp.log(1 - S.rho**2) / 2))
    d.positive(
        "D_F > D_rd at every rate (R = -1/2 ln(1 - rho^2), rho = 1/(1+u))",
        sp.simplify(on_rho.subs(S.rho, 1 / (1 + S.u)) - 1),
    )


CLAIMS = check_unique_ids(
    [
        Claim(
            id="three_db_limit",
            kind="limit",
            statement=(
                "D_A / D_F = 1 + rho -> 2 (10 log10 2 = 3.0103 dB) as snr -> oo and -> 1 as snr "
                "-> 0; also for the totals of any spectrum under isotropic noise"
            ),
            domain="lam > 0 (lam_1, lam_2 > 0 for the two-component case), snr > 0",
            source="Theis et al. 2022 (arXiv 2206.08889); derived here",
            expressions={"ratio": 1 + flow_gain(), "gap_db_limit": gap_db_ancestral_over_flow_limit()},
            derive=_derive_three_db,
        ),
        Claim(
            id="flow_attains_rd_at_high_rate",
            kind="limit",
            statement=(
                "D_F / D_rd(R) = 2 / (1 + sqrt(1 - exp(-2R))) -> 1 as R -> oo, = 1 + exp(-2R)/4 + O(exp(-4R)) "
                "= 1 + 1/(4 snr lam) + O(snr^-2); -> 2 as R -> 0; > 1 at every rate"
            ),
            domain="lam > 0, R > 0 nats",
            source="Theis et al. 2022 (arXiv 2206.08889); expansion derived here",
            expressions={
                "ratio_flow_over_rd": ratio_flow_over_rd(),
                "first_order_rate": sp.exp(-2 * _R) / 4,
                "first_order_snr": 1 / (4 * _SNR * _LAM),
            },
            derive=_derive_flow_at_rd,
        ),
    ]
)
