"""Channel-simulation cost: the exact index law of the Poisson functional representation and the bounds."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from bounds.rcc_cost import (
    huffman_expected_length_bits,
    kl_bits,
    li_2025_entropy_bound_bits,
    li_2025_length_bound_bits,
    li_el_gamal_entropy_bound_bits,
    li_el_gamal_length_bound_bits,
    pfr_channel_index_costs,
    pfr_index_costs,
    pfr_index_pmf,
    pfr_log_index_bound_bits,
    pfr_sample,
    rcc_cost_bounds,
    rcc_cost_bounds_per_step,
)
from tests.bounds.strategies import FAST_PROPERTY


def test_bound_formulas_at_hand_computed_points():
    """LEG: I + log2(I+1) + 4 (+1); Li 2025: I + log2(I+3.4) + 1 (+1), at I = 0, 1, 3, 0.6."""
    assert li_el_gamal_entropy_bound_bits(0.0) == 4.0
    assert li_el_gamal_entropy_bound_bits(1.0) == 6.0
    assert li_el_gamal_length_bound_bits(3.0) == 10.0
    assert li_2025_entropy_bound_bits(0.6) == pytest.approx(3.6, rel=1e-15)       # 0.6 + log2(4) + 1
    assert li_2025_length_bound_bits(4.6) == pytest.approx(4.6 + 3 + 2, rel=1e-15)  # log2(8) = 3
    totals = rcc_cost_bounds_per_step([1.0, 3.0])
    assert totals.li_el_gamal_entropy_bits == 6.0 + 9.0 and totals.info_bits == 4.0
    with pytest.raises(ValueError, match="info_bits"):
        rcc_cost_bounds(-0.1)


def test_index_law_matches_simulation():
    """Exact P(K = k) (geometric mixture) vs 200000 simulated PFR runs: |diff| <= 4.5 binomial sigma for k <= 12."""
    q = np.array([0.6, 0.3, 0.1, 0.0])
    p = np.array([0.1, 0.2, 0.3, 0.4])
    pmf, tail = pfr_index_pmf(q, p)
    # the omitted tail plus the rounding of summing pmf.size terms (each with a few ulps)
    assert tail <= 1e-17 and abs(pmf.sum() - 1) <= tail + 4 * pmf.size * np.finfo(float).eps
    k, y = pfr_sample(q, p, 200000, seed=1)
    n = k.size
    emp = np.bincount(k, minlength=13)[1:13] / n
    sigma = np.sqrt(pmf[:12] * (1 - pmf[:12]) / n)
    assert np.all(np.abs(emp - pmf[:12]) <= 4.5 * sigma)
    emp_y = np.bincount(y, minlength=4) / n        # the selected sample has law q exactly
    assert np.all(np.abs(emp_y - q) <= 4.5 * np.sqrt(q * (1 - q) / n) + 1e-12)


@pytest.mark.parametrize("eps", [0.5, 0.1, 0.01])
def test_point_mass_target_gives_a_geometric_index(eps):
    """q = delta_y0 with p(y0) = eps: K ~ Geometric(eps): H(K) = h_b(eps)/eps bits, E[log2 K] = sum eps(1-eps)^(k-1) log2 k."""
    q = np.array([1.0, 0.0])
    p = np.array([eps, 1 - eps])
    pmf, _ = pfr_index_pmf(q, p)
    k = np.arange(1, pmf.size + 1)
    assert np.allclose(pmf, eps * (1 - eps) ** (k - 1), rtol=1e-12, atol=0)
    costs = pfr_index_costs(q, p)
    hb = -(eps * math.log2(eps) + (1 - eps) * math.log2(1 - eps))
    assert costs.index_entropy_bits == pytest.approx(hb / eps, rel=1e-12)
    assert costs.info_bits == pytest.approx(-math.log2(eps), rel=1e-15)


@st.composite
def channels(draw):
    """Small discrete channels: |X| in 1..3, |Y| in 2..4, probabilities bounded below by 1e-3 before normalising."""
    nx, ny = draw(st.integers(1, 3)), draw(st.integers(2, 4))
    px = np.array([draw(st.floats(1e-3, 1.0)) for _ in range(nx)])
    w = np.array([[draw(st.floats(1e-3, 1.0)) for _ in range(ny)] for _ in range(nx)])
    return px / px.sum(), w / w.sum(axis=1, keepdims=True)


@FAST_PROPERTY
@given(channels())
@example((np.array([0.1, 0.9]), np.array([[0.3, 0.3, 0.4], [0.3, 0.3, 0.4]])))  # plain sum gave I = -1.9e-16
def test_bounds_hold_against_exact_index_costs(channel):
    """I <= H(K) <= Li 2025 <= ...; H(K) <= LEG; H(K) <= Huffman <= H(K) + 1 <= length bounds; E[log2 K] <= I + 1."""
    px, w = channel
    c = pfr_channel_index_costs(px, w)
    i = c.info_bits
    assert i <= c.index_entropy_bits + 1e-12
    assert c.index_entropy_bits <= li_2025_entropy_bound_bits(i)
    assert c.index_entropy_bits <= li_el_gamal_entropy_bound_bits(i)
    assert c.index_entropy_bits - 1e-12 <= c.huffman_length_bits <= c.index_entropy_bits + 1 + 1e-12
    assert c.huffman_length_bits <= li_2025_length_bound_bits(i)
    assert c.huffman_length_bits <= li_el_gamal_length_bound_bits(i)
    assert c.expected_log2_index <= pfr_log_index_bound_bits(i) + 1e-12


def _rounding_entropy_bound_bits(m):
    """``m log2(1/m) + 2 m``: the most entropy (bits) a law with ``P(K != 1) <= m < 1/e`` can have with K - 1 ~ Geom."""
    return m * math.log2(1.0 / m) + 2.0 * m


@FAST_PROPERTY
@given(st.integers(2, 6), st.floats(1e-3, 1.0))
def test_lower_bound_attained_when_x_and_y_are_independent(ny, scale):
    """I = 0 (identical rows): K = 1 always, so H(K) = E[log2 K] = I = 0 up to float64 rounding.

    Rounding bound: p_Y = 0.4 row + 0.6 row and r = q/p_Y carry a few ulps, so each
    mu(y) = sum_y' (p_Y(y') r(y) - q(y'))_+ <= 8 eps (the q(y') sum to 1), and the sum of
    the 2 ny mixture terms of P(K = 1) adds 2 ny eps: P(K != 1) as computed is at most
    m = (8 + 2 ny) eps, which gives H(K) <= m log2(1/m) + 2 m (~2e-13 bits), E[log2 K] <= m
    and |I| = |sum q log2(q/p_Y)| <= 8 eps. A real cost (mu of order 1/ny) is 1e10 times larger.
    """
    eps = np.finfo(float).eps
    row = np.linspace(scale, 1.0, ny)
    row /= row.sum()
    c = pfr_channel_index_costs(np.array([0.4, 0.6]), np.vstack([row, row]))
    m = (8 + 2 * ny) * eps
    assert abs(c.info_bits) <= 8 * eps
    assert 0.0 <= c.index_entropy_bits <= _rounding_entropy_bound_bits(m)
    assert 0.0 <= c.expected_log2_index <= m


def test_rounding_entropy_bound_is_not_vacuous():
    """The tolerance above rejects a channel whose rows differ by 1e-6 (I ~ 1e-12 bits, H(K) ~ 1e-5 bits)."""
    row = np.array([0.25, 0.25, 0.5])
    other = row + np.array([1e-6, -1e-6, 0.0])
    c = pfr_channel_index_costs(np.array([0.4, 0.6]), np.vstack([row, other]))
    assert c.index_entropy_bits > _rounding_entropy_bound_bits((8 + 2 * 3) * np.finfo(float).eps)


def test_identity_channel_costs_approach_log2_e_above_information():
    """Y = X uniform on M symbols: K | x ~ Geometric(1/M), so H(K) - I = M h_b(1/M) - log2 M -> log2 e as M grows."""
    m = 256
    c = pfr_channel_index_costs(np.full(m, 1.0 / m), np.eye(m))
    assert c.info_bits == pytest.approx(8.0, rel=1e-14)
    expected = m * -((1 / m) * math.log2(1 / m) + (1 - 1 / m) * math.log2(1 - 1 / m))
    assert c.index_entropy_bits == pytest.approx(expected, rel=1e-12)
    assert c.index_entropy_bits - c.info_bits == pytest.approx(math.log2(math.e), abs=5e-3)


def test_helpers_and_bad_input():
    """KL in bits, Huffman of a dyadic law, and ValueErrors naming q/p."""
    assert kl_bits([0.5, 0.5], [0.25, 0.75]) == pytest.approx(0.5 * 1 + 0.5 * math.log2(2 / 3), rel=1e-15)
    assert huffman_expected_length_bits([0.5, 0.25, 0.125, 0.125]) == 1.75
    with pytest.raises(ValueError, match="absolutely continuous"):
        pfr_index_pmf([0.5, 0.5], [1.0, 0.0])
    with pytest.raises(ValueError, match="q must sum"):
        pfr_index_pmf([0.5, 0.6], [0.5, 0.5])
