"""Decoding elsewhere never desyncs, and the decoders are wired where they should be.

A decoder on another machine computes the model's outputs with other rounding
(BLAS kernels, thread counts, float32 networks). The segment parse uses integers
only (the header, the partition's side information, the index tables), so every
step still parses and the latent differs from the encoder's by an amount of the
order of the perturbation. Tested with a model whose outputs are perturbed by
1e-12 relative and with one that rounds its outputs to float32.
"""
import dataclasses

import numpy as np
import pytest

from empirical import codec, data, models
from empirical.codec import receivers
from empirical.measure import sweep

FAST = dict(budget_bits=8, padding_bits=4)


@dataclasses.dataclass(eq=False)
class _Perturbed:
    """The oracle with its outputs multiplied by ``1 + eps u`` (``u`` uniform in [-1, 1]) or rounded to float32."""

    inner: models.GaussianOracle
    eps: float = 0.0
    float32: bool = False

    def __post_init__(self):
        self.rng = np.random.default_rng(99)
        for name in ("dim", "basis", "log_snr_min", "log_snr_max", "fingerprint"):
            setattr(self, name, getattr(self.inner, name))

    def _touch(self, a):
        a = np.asarray(a, dtype=np.float64)
        if self.float32:
            return a.astype(np.float32).astype(np.float64)
        return a * (1.0 + self.eps * self.rng.uniform(-1.0, 1.0, a.shape))

    def denoise(self, z, log_snr):
        return self._touch(self.inner.denoise(z, log_snr))

    def prior(self, log_snr):
        g = self.inner.prior(log_snr)
        return models.Gaussian(self._touch(g.mean), self._touch(np.broadcast_to(g.var, g.mean.shape)))

    def reverse_transition(self, z_t, log_snr_t, log_snr_s):
        g = self.inner.reverse_transition(z_t, log_snr_t, log_snr_s)
        return models.Gaussian(self._touch(g.mean), self._touch(np.broadcast_to(g.var, g.mean.shape)))


@pytest.fixture(scope="module")
def stream():
    src = data.gaussian("powerlaw:1", dim=16, basis_seed=2)
    oracle = models.GaussianOracle.from_source(src)
    x = src.examples("test", 1)[0]
    result = codec.encode_detailed(x, oracle, num_steps=24, seed=5, **FAST)
    return oracle, result


@pytest.mark.parametrize("eps,float32,bound", [(1e-12, False, 1e-9), (0.0, True, 1e-4)])
def test_perturbed_decoder_parses_every_step(stream, eps, float32, bound):
    """Every step parses (integers only); |z_decoded - z_encoder| stays of the order of the perturbation."""
    oracle, result = stream
    other = _Perturbed(oracle, eps=eps, float32=float32)
    latent = codec.decode_latent(result.data, other)
    assert latent.num_steps == result.num_steps_coded == 24
    diff = float(np.max(np.abs(latent.z - result.z)))
    assert diff <= bound * max(1.0, float(np.max(np.abs(result.z)))), diff
    if eps or float32:
        assert diff > 0.0      # the perturbation did reach the decoder: the test exercises what it claims


def test_flow_reconstruction_is_the_flow_map_not_the_posterior_mean(stream):
    """codec.reconstruct(..., "flow") = the oracle's exact flow map (RK4, 64 steps), which differs from the
    posterior mean E[x|z] by far more than that tolerance (2e-4 of the scale: RK4 at 64 steps from log-SNR -4)."""
    oracle, result = stream
    latent = codec.decode_latent(result.data, oracle, prefix_steps=12)
    z = latent.z.reshape(1, -1)
    flow = codec.reconstruct(latent, oracle, "flow").reshape(1, -1)
    exact = oracle.flow_map(z, latent.log_snr)
    mean = oracle.denoise(z, latent.log_snr)
    scale = float(np.max(np.abs(exact)))
    assert np.max(np.abs(flow - exact)) <= 2e-4 * scale
    assert np.max(np.abs(mean - exact)) >= 1e-2 * scale
    np.testing.assert_allclose(codec.reconstruct(latent, oracle, "mean").reshape(1, -1), mean, rtol=1e-12, atol=0)


def test_sweep_flow_point_is_the_flow_map():
    """The sweep's DiffC-F reconstructions are the exact flow map of the decoded latents, not E[x|z]."""
    spec = sweep.SweepSpec(data={"name": "gaussian", "spectrum": "powerlaw:1", "dim": 8}, model="oracle", n=2,
                           stop_steps=(4, 6), num_steps=12, methods=("flow", "mmse"), budget_bits=8, padding_bits=4)
    out = sweep._measure_block(spec, 0)
    source, model = sweep.build(spec)
    x = source.sample(spec.n, seed=spec.seed, split=spec.split)
    for row in range(spec.n):
        prefixes = sweep.encode_prefixes(x[row], model, spec, row)
        for j, s in enumerate(spec.stop_steps):
            z = prefixes.latents[j][None, :]
            exact = model.flow_map(z, prefixes.log_snrs[j])[0]
            mean = model.denoise(z, prefixes.log_snrs[j])[0]
            scale = float(np.max(np.abs(exact)))
            assert np.max(np.abs(out["recon"][(s, "flow", "")][row] - exact)) <= 2e-4 * scale
            assert np.max(np.abs(out["recon"][(s, "mmse", "")][row] - mean)) <= 1e-12 * scale
            assert np.max(np.abs(mean - exact)) >= 1e-2 * scale


def test_decoders_flow_matches_the_flow_map_at_several_snrs():
    """receivers.flow (RK4) against the oracle's closed-form flow map from log-SNR -4, 0 and 6."""
    src = data.gaussian("powerlaw:1", dim=8)
    oracle = models.GaussianOracle.from_source(src)
    z = np.random.default_rng(1).normal(size=(3, 8))
    for log_snr in (-4.0, 0.0, 6.0):
        got = receivers.flow(z, log_snr, oracle, None, num_steps=64, solver="rk4")
        want = oracle.flow_map(z, log_snr)
        assert np.max(np.abs(got - want)) <= 2e-4 * np.max(np.abs(want))
