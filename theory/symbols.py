"""The sympy symbols of the ledger, each with the assumptions of its domain.

Every claim in ``theory/`` is written in these symbols, so that sympy can use
the assumptions (positivity, reality) when it simplifies. Ranges narrower than
the assumptions express (``0 < w < 1``, ``0 < rho < 1``) are recorded in
:data:`SAMPLE_RANGES`, which the numeric screens of :mod:`theory.claims` use.

Conventions (DESIGN.md): ``Z = alpha X + sigma U`` with ``U ~ N(0, 1)``,
``snr = alpha^2 / sigma^2``, variance-preserving schedules have
``alpha^2 + sigma^2 = 1``; rates are in nats throughout ``theory/``.
"""

from __future__ import annotations

import sympy as sp

__all__ = [
    "eigval",
    "snr",
    "rate_nats",
    "alpha",
    "sigma",
    "t",
    "water_level",
    "multiplier",
    "gain",
    "x_value",
    "score_scale",
    "perception",
    "w",
    "rho",
    "u",
    "n_x",
    "n_u",
    "n_v",
    "alpha_t",
    "sigma_t",
    "SAMPLE_RANGES",
    "LATEX_NAMES",
]

#: Variance ``lam > 0`` of one eigen-component of the source.
eigval = sp.Symbol("lambda", positive=True)
#: Signal-to-noise ratio ``alpha^2 / sigma^2 > 0``.
snr = sp.Symbol("snr", positive=True)
#: Rate ``R > 0`` in nats (per component unless a claim says otherwise).
rate_nats = sp.Symbol("R", positive=True)
#: Signal scale of the noisy copy ``Z = alpha X + sigma U``.
alpha = sp.Symbol("alpha", positive=True)
#: Noise scale of the noisy copy ``Z = alpha X + sigma U``.
sigma = sp.Symbol("sigma", positive=True)
#: Diffusion time.
t = sp.Symbol("t", real=True)
#: Water level ``theta > 0`` of reverse water-filling.
water_level = sp.Symbol("theta", positive=True)
#: Lagrange multiplier ``mu > 0`` of a rate constraint.
multiplier = sp.Symbol("mu", positive=True)
#: Gain ``k > 0`` of a linear decoder ``x_hat = k z / alpha``.
gain = sp.Symbol("k", positive=True)
#: Value ``x`` (real) of one component of one image, in the model's basis with the model mean removed.
x_value = sp.Symbol("x", real=True)
#: Scale ``c > 0`` of the score in a score-scaled flow ODE.
score_scale = sp.Symbol("c", positive=True)
#: Perception index ``P >= 0``: W2 distance between the data and reconstruction laws.
perception = sp.Symbol("P", nonnegative=True)
#: ``w = exp(-2 R)`` in ``(0, 1)``: the fraction of variance left at rate ``R``.
w = sp.Symbol("w", positive=True)
#: Correlation ``rho`` in ``(0, 1)`` between ``X`` and ``E[X | Z]``.
rho = sp.Symbol("rho", positive=True)
#: Free positive parameter used to map bounded intervals onto ``(0, oo)``.
u = sp.Symbol("u", positive=True)
#: Independent standard normal variables for moment algebra (``X = sqrt(lam) n_x``).
n_x, n_u, n_v = sp.symbols("N_x N_u N_v", real=True)
#: General schedule functions ``alpha(t)`` and ``sigma(t)``.
alpha_t = sp.Function("alpha", positive=True)(t)
sigma_t = sp.Function("sigma", positive=True)(t)

#: Sampling ranges (open intervals) for the numeric screens; symbols that are
#: not listed are sampled log-uniformly in ``(1/20, 20)`` if positive.
SAMPLE_RANGES = {
    w: (sp.Rational(1, 1000), sp.Rational(999, 1000)),
    rho: (sp.Rational(1, 1000), sp.Rational(999, 1000)),
}

#: LaTeX names used by ``python -m theory --latex``.
LATEX_NAMES = {snr: r"\mathrm{snr}"}
