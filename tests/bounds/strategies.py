"""Shared hypothesis strategies for ``tests/bounds``: sources, SNRs and dimensions."""
from __future__ import annotations

import math

from hypothesis import settings
from hypothesis import strategies as st

from bounds.sources import Discrete, Gaussian, GaussianMixture, Laplace, Product, Uniform

#: Default settings of the property tests: deterministic, no deadline (quadrature is not instant).
PROPERTY = settings(max_examples=20, deadline=None, derandomize=True)
FAST_PROPERTY = settings(max_examples=40, deadline=None, derandomize=True)


def log_uniform(lo, hi):
    """Floats in ``[lo, hi]``, uniform in ``log``."""
    return st.floats(math.log(lo), math.log(hi)).map(math.exp)


def snrs(lo=1e-3, hi=1e4):
    """SNR values, log-uniform in ``[lo, hi]``."""
    return log_uniform(lo, hi)


@st.composite
def mixtures(draw, max_components=3):
    """Gaussian mixtures with 1..3 components, weights >= 0.05 (normalised), means in [-3, 3], stds in [0.2, 2]."""
    k = draw(st.integers(1, max_components))
    raw = [draw(st.floats(0.05, 1.0)) for _ in range(k)]
    total = sum(raw)
    weights = tuple(w / total for w in raw)
    means = tuple(draw(st.floats(-3.0, 3.0)) for _ in range(k))
    stds = tuple(draw(log_uniform(0.2, 2.0)) for _ in range(k))
    return GaussianMixture(weights, means, stds)


def laplaces():
    """Laplace sources with scale in [0.2, 3] and location in [-1, 1]."""
    return st.builds(Laplace, log_uniform(0.2, 3.0), st.floats(-1.0, 1.0))


def uniforms():
    """Uniform sources with half-width in [0.2, 3] and center in [-1, 1]."""
    return st.builds(Uniform, log_uniform(0.2, 3.0), st.floats(-1.0, 1.0))


def gaussians():
    """Gaussian sources with variance in [0.05, 9]."""
    return st.builds(Gaussian, log_uniform(0.05, 9.0), st.floats(-1.0, 1.0))


def discretes():
    """PAM (2..5 levels, step in [0.5, 3]) and binary (P(+1) in [0.05, 0.95], amplitude in [0.3, 2]) sources."""
    pam = st.builds(Discrete.pam, st.integers(2, 5), log_uniform(0.5, 3.0))
    binary = st.builds(Discrete.binary, st.floats(0.05, 0.95), log_uniform(0.3, 2.0))
    return st.one_of(pam, binary)


def continuous_sources():
    """Scalar sources with a density: mixtures, Laplace, uniform, Gaussian."""
    return st.one_of(mixtures(), laplaces(), uniforms(), gaussians())


def scalar_sources():
    """Every scalar source family, with or without a density."""
    return st.one_of(continuous_sources(), discretes())


def dims():
    """Dimensions of i.i.d. products."""
    return st.integers(1, 4)


@st.composite
def products(draw, element=None):
    """Products of 1..3 independent scalar sources (heterogeneous), or i.i.d. copies of one."""
    element = element if element is not None else continuous_sources()
    if draw(st.booleans()):
        return Product.iid(draw(element), draw(dims()))
    return Product(tuple(draw(element) for _ in range(draw(st.integers(1, 3)))))
