"""Bias of reverse channel coding where it matters: an image-sized oracle chain (10,368 dims, thousands of chunks).

For ``x`` and the channel given, the realised chain ``sum KL`` and the decoders'
squared errors have closed-form expectations per component
(``gaussian.components.chain_kl_nats_given_x``, ``mse_linear_decoder_given_x``);
their residuals are independent across components, so each chain gives a z-score
``sum r / sqrt(sum r^2)`` (``empirical.rcc.workload``), N(0, 1) for an exact
channel simulator. Two chains (images) are combined as ``(z_1 + z_2) / sqrt(2)``.

At the default settings every combined |z| stays below 3 (false alarm 0.3% each
for an exact sampler). The same chains with 2 padding bits and ``2^(budget + 2)``
candidates in every chunk -- a truncation of the size the reference operating
point uses -- give combined z above 4 for both decoders: the test sees a bias of
that size.
"""
import math

import numpy as np
import pytest

from empirical.rcc import workload

SEEDS = (0, 1)


@pytest.fixture(scope="module")
def chains():
    eigvals = workload.image_eigvals(48, 72, 3)
    log_snrs = workload.image_grid(eigvals, 12)
    out = {}
    for name, options in (("default", {}), ("padding 2", dict(tail_target=None, padding_bits=2))):
        out[name] = [workload.measure_chain(eigvals, log_snrs, seed, workers=2, **options) for seed in SEEDS]
    return eigvals, out


def _combined(results, attribute):
    return sum(getattr(r, attribute) for r in results) / math.sqrt(len(results))


def test_chain_is_image_scale(chains):
    eigvals, out = chains
    assert eigvals.size >= 10_000
    assert all(int(r.chunks_per_step.sum()) >= 1000 for r in out["default"])


@pytest.mark.parametrize("attribute", ["z_kl", "z_mse_flow", "z_mse_mean"])
def test_default_settings_are_inside_the_intervals(chains, attribute):
    """Realised sum KL and the DiffC-F / posterior-mean errors agree with their expectations given x (|z| < 3)."""
    _, out = chains
    assert abs(_combined(out["default"], attribute)) < 3.0, [getattr(r, attribute) for r in out["default"]]


@pytest.mark.parametrize("attribute", ["z_mse_flow", "z_mse_mean"])
def test_the_bias_of_two_padding_bits_is_seen(chains, attribute):
    """Power check: with 2^(budget + 2) candidates per chunk the errors exceed their expectations by z > 4."""
    _, out = chains
    assert _combined(out["padding 2"], attribute) > 4.0, [getattr(r, attribute) for r in out["padding 2"]]


def test_the_z_scores_are_calibrated_for_an_exact_channel():
    """The z-score statistic itself: residuals of exact Gaussian draws (no RCC) give |z| < 3 on 10^4 components,
    and a 10% scale error in the expectation is detected (|z| > 4; the resolution of one chain is a few percent)."""
    from gaussian import components

    rng = np.random.default_rng(4)
    eigvals = workload.image_eigvals(48, 72, 3)
    snr = 2.0
    x = rng.normal(size=eigvals.size) * np.sqrt(eigvals)
    rho = components.flow_gain(eigvals, snr)
    z = x + rng.normal(size=x.size) / math.sqrt(snr)                 # z / alpha, exact channel
    sq = (rho * z - x) ** 2
    expected = components.mse_linear_decoder_given_x(x, snr, rho)
    assert abs(workload._z_score(sq - expected)) < 3.0
    assert abs(workload._z_score(sq - 1.10 * expected)) > 4.0
