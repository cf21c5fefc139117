"""Non-Gaussian test sources with numerically exact ``I(X;Z)``, ``mmse(snr)`` and posteriors.

Channel (``DESIGN.md``): ``Z = alpha X + sigma U`` with ``U ~ N(0, I)``,
``alpha^2 + sigma^2 = 1`` (VP) and ``snr = alpha^2 / sigma^2``. The scaled
output ``Y = Z / sigma = sqrt(snr) X + U`` carries the same information, and all
quadrature runs over ``y``. Decoder-facing methods take ``z`` in the VP scale.

Scalar sources (``dim == 1``)::

    Gaussian(variance, mean)            GaussianMixture(weights, means, stds)
    Laplace(scale)                      Uniform(halfwidth)
    Discrete(atoms, probs)  with  Discrete.pam(m, step), Discrete.binary(p_plus)

and ``Product(factors)`` / ``Product.iid(source, dim)`` for independent
coordinates. Every source exposes, for a scalar ``snr >= 0``:

- ``mutual_information_nats(snr)``: ``I(X; Z)`` in nats, summed over coordinates;
- ``mmse(snr)``: ``E||X - E[X|Z]||^2``, the *total* over coordinates (not per
  dimension; ``mmse_per_dim`` divides by ``dim``);
- ``mse_diffc_f_total(snr)``: ``E||X - T(Z)||^2`` for the probability-flow map
  ``T`` (exact: see ``flow_map``);
- ``differential_entropy_nats()``: ``h(X)``, or ``None`` for a source with atoms
  (``Discrete``, or a product containing one), where ``h`` does not exist;
- ``entropy_nats()``: ``H(X)`` for purely discrete sources, else ``None``;
- ``variance_total()``, ``sample(n, rng)``, ``sample_channel(x, snr, rng)``,
  ``posterior_mean(z, snr)``, ``posterior_variance(z, snr)``,
  ``sample_posterior(z, snr, rng)`` and ``flow_map(z, snr)``.

Example (values agree with 24-digit references in ``tests/bounds``):

>>> src = Laplace(1.0)
>>> round(src.mutual_information_nats(1.0), 10), round(src.mmse(1.0), 10)
(0.5330570036, 0.6315255773)
>>> round(Product.iid(src, 3).mmse(1.0) / 3, 10)
0.6315255773

Numerics. For one coordinate the output density ``p_Y`` and the posterior
``p(x | y)`` are finite mixtures in closed form: Gaussian components for
``GaussianMixture`` and ``Discrete`` (an atom is a zero-variance component),
truncated Gaussians for the piecewise log-linear densities ``Laplace`` and
``Uniform`` (masses from ``_numerics.halfline_moments``). Then

- ``I = 1/2 ln(1 + snr var) - KL(p_Y || N(E Y, Var Y))`` for sources with a
  density (the Gaussian term is exact; the non-Gaussianness is a non-negative
  integral), and ``I = H(X) - H(X | Y)`` for discrete sources once
  ``1/2 ln(1 + snr var) > H(X)``;
- ``mmse = int p_Y(y) Var(X | Y=y) dy`` with a cancellation-free posterior
  variance;

each integral by ``scipy.integrate.quad`` (adaptive Gauss-Kronrod, relative
tolerance ``QUAD_EPSREL = 1e-11``, absolute tolerance 0) over a finite range
outside which the integrand is below ``1e-30`` of its peak, with break points at
the features of ``p_Y``. Accuracy, checked in ``tests/bounds`` against 40-digit
mpmath references built from independent closed forms: relative error below
``1e-9`` for ``1e-6 <= snr <= 1e6`` and unit-scale sources.
"""
from __future__ import annotations

import abc
import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from scipy import special

from bounds._numerics import (
    _GL_T,
    _GL_W,
    LOG_SQRT_2PI,
    chunked,
    divergence_integrand,
    halfline_moments,
    integrate_adaptive,
    mixture_label_entropy,
    mixture_reduce,
)

__all__ = [
    "ScalarSource",
    "Gaussian",
    "GaussianMixture",
    "Laplace",
    "Uniform",
    "Discrete",
    "Product",
    "vp_alpha_sigma",
    "check_snr",
]

# Integration ranges reach 13 standard deviations (density ratio e^-84.5 < 1e-36)
# or 80 e-foldings of an exponential tail.
_GAUSS_REACH = 13.0
_EXP_REACH = 80.0
_WEIGHT_ATOL = 1e-9
# Mixtures with more components evaluate only those within reach of each output (see _MixtureMixin._window).
_WINDOW_MIN_COMPONENTS = 16
# exp(-750) underflows to 0 in float64: components that far below the top weigh exactly nothing.
_NEGLIGIBLE_LOG = 750.0


def check_snr(snr, name="snr"):
    """Return ``snr`` as a float after checking it is a finite number ``>= 0``."""
    try:
        value = float(snr)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a finite number >= 0, got {snr!r}") from None
    if not math.isfinite(value) or value < 0.0:
        raise ValueError(f"{name} must be a finite number >= 0, got {snr!r}")
    return value


def vp_alpha_sigma(snr):
    """VP coefficients ``(alpha, sigma)`` with ``alpha^2 / sigma^2 = snr`` and ``alpha^2 + sigma^2 = 1``."""
    s = check_snr(snr)
    return math.sqrt(s / (1.0 + s)), math.sqrt(1.0 / (1.0 + s))


def _check_positive(value, name):
    """Return ``value`` as a float after checking it is finite and ``> 0``."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}") from None
    if not math.isfinite(v) or v <= 0.0:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return v


def _check_probabilities(probs, name):
    """Return ``probs`` as a tuple summing to 1 after checking positivity and normalisation (atol 1e-9)."""
    p = np.asarray(probs, dtype=float).ravel()
    if p.size == 0 or not np.all(np.isfinite(p)) or np.any(p <= 0.0):
        raise ValueError(f"{name} must be a non-empty list of finite numbers > 0, got {probs!r}")
    total = float(p.sum())
    if abs(total - 1.0) > _WEIGHT_ATOL:
        raise ValueError(f"{name} must sum to 1 (within {_WEIGHT_ATOL:g}), got sum {total!r}")
    return tuple(float(v) for v in p / total)


def _ndtri_log(log_p):
    """Standard normal quantile ``q`` with ``log Phi(q) = log_p`` for ``log_p <= 0``, accurate far into the tail."""
    log_p = np.asarray(log_p, dtype=float)
    p = np.exp(log_p)
    moderate = p > 1e-300
    q = special.ndtri(np.where(moderate, p, 0.5))
    # Deep tail: start from the asymptotic inverse of log Phi(q) ~ -q^2/2 - ln(-q sqrt(2 pi)).
    lp = np.where(moderate, -1000.0, log_p)
    q0 = -np.sqrt(-2.0 * lp - np.log(-2.0 * lp) - math.log(2.0 * math.pi))
    q = np.where(moderate, q, q0)
    for _ in range(4):
        lphi = special.log_ndtr(q)
        slope = np.exp(-0.5 * q * q - LOG_SQRT_2PI - lphi)
        q = np.where(moderate, q, q - (lphi - log_p) / slope)
    return q


class ScalarSource(abc.ABC):
    """Base class of one-dimensional sources; subclasses supply the closed-form mixture pieces.

    A subclass implements ``_pieces(y, a)`` (unnormalised log-weights, means and
    variances of the posterior mixture components, shape ``(n, J)``; their
    log-sum-exp is ``ln p_Y(y)``), ``_y_range(a)``, ``mean``, ``variance_total``,
    ``sample``, ``_output_log_cdf(y, a)`` (``ln P(Y <= y)``), and
    ``_quantile(log_cdf, log_sf)``.
    """

    dim = 1
    has_atoms = False

    # ----- channel and posterior -------------------------------------------------
    def sample_channel(self, x, snr, rng):
        """Noisy observation ``z = alpha x + sigma u`` (VP) for data ``x`` and a numpy Generator ``rng``."""
        alpha, sigma = vp_alpha_sigma(snr)
        x = np.asarray(x, dtype=float)
        return alpha * x + sigma * rng.standard_normal(x.shape)

    # ----- what a concrete source supplies ---------------------------------------
    @property
    @abc.abstractmethod
    def mean(self):
        """``E[X]``."""

    @abc.abstractmethod
    def variance_total(self):
        """``Var[X]``."""

    @abc.abstractmethod
    def sample(self, n, rng):
        """``n`` i.i.d. draws (shape ``(n,)``) from Generator ``rng``."""

    @abc.abstractmethod
    def differential_entropy_nats(self):
        """``h(X)`` in nats, or ``None`` when the source has atoms."""

    @abc.abstractmethod
    def _pieces(self, y, a):
        """Posterior mixture at outputs ``y`` (shape ``(n,)``) for ``a = sqrt(snr) > 0``.

        Returns ``(log_w, means, variances)``, each ``(n, J)``: unnormalised
        log-weights whose log-sum-exp is ``ln p_Y(y)``, and the components'
        means and variances.
        """

    @abc.abstractmethod
    def _y_range(self, a):
        """``(lo, hi, points)``: integration range in ``y`` and interior break points."""

    @abc.abstractmethod
    def _sample_posterior_y(self, y, a, rng):
        """One posterior draw per output ``y``."""

    @abc.abstractmethod
    def _output_log_cdf(self, y, a):
        """``ln P(Y <= y)``."""

    @abc.abstractmethod
    def _output_log_cdf_upper(self, y, a):
        """``ln P(Y > y)``."""

    @abc.abstractmethod
    def _quantile(self, log_cdf, log_sf):
        """``F_X^{-1}`` at level ``exp(log_cdf) = 1 - exp(log_sf)``, using the smaller tail."""

    def posterior_mean(self, z, snr):
        """Posterior mean ``E[X | Z=z]`` for VP observations ``z`` (same shape as ``z``)."""
        s = check_snr(snr)
        z = np.asarray(z, dtype=float)
        if s == 0.0:
            return np.full(z.shape, self.mean)
        y = z.ravel() * math.sqrt(1.0 + s)
        _, _, mean, _ = mixture_reduce(*self._pieces(y, math.sqrt(s)))
        return mean.reshape(z.shape)

    def posterior_variance(self, z, snr):
        """Posterior variance ``Var[X | Z=z]`` for VP observations ``z`` (same shape as ``z``)."""
        s = check_snr(snr)
        z = np.asarray(z, dtype=float)
        if s == 0.0:
            return np.full(z.shape, self.variance_total())
        y = z.ravel() * math.sqrt(1.0 + s)
        _, _, _, var = mixture_reduce(*self._pieces(y, math.sqrt(s)))
        return var.reshape(z.shape)

    def sample_posterior(self, z, snr, rng):
        """One draw ``x_hat ~ p(x | z)`` per entry of ``z`` (DiffC-A's decoder), using Generator ``rng``."""
        s = check_snr(snr)
        z = np.asarray(z, dtype=float)
        if s == 0.0:
            return self.sample(z.size, rng).reshape(z.shape)
        y = z.ravel() * math.sqrt(1.0 + s)
        return self._sample_posterior_y(y, math.sqrt(s), rng).reshape(z.shape)

    def log_output_density(self, y, snr):
        """``ln p_Y(y)`` of the scaled output ``Y = sqrt(snr) X + N(0, 1)``, elementwise."""
        s = check_snr(snr)
        y = np.asarray(y, dtype=float)
        if s == 0.0:
            return -0.5 * y * y - LOG_SQRT_2PI
        log_w, means, variances = self._pieces(y.ravel(), math.sqrt(s))
        log_norm, _, _, _ = mixture_reduce(log_w, means, variances)
        return log_norm.reshape(y.shape)

    # ----- information and estimation -------------------------------------------
    def _integrate(self, integrand, a, lo, hi, points, **options):
        """``integrate_adaptive`` of ``integrand`` in bounded memory (evaluated in chunks of points)."""
        return integrate_adaptive(chunked(integrand, self._max_pieces(a)), lo, hi, points, **options)

    def _max_pieces(self, a):
        """Most columns ``_pieces`` returns at ``a`` (sizes the chunks of the quadrature)."""
        return self._pieces(np.zeros(1), a)[0].shape[1]

    def _label_entropy_given_output(self, a, scale=0.0):
        """``H(C | Y)`` in nats: entropy of the posterior over the pieces of ``_pieces`` (atoms or components).

        ``scale`` is the quadrature's absolute scale (0: relative accuracy of the value itself).
        """
        lo, hi, points = self._y_range(a)

        def integrand(y):
            log_norm, entropy = mixture_label_entropy(self._pieces(y, a)[0])
            return np.exp(log_norm) * entropy

        value, _ = self._integrate(integrand, a, lo, hi, points, scale=scale)
        return value

    def _output_gaussian_log_density(self, y, a):
        """``ln g(y)`` for the Gaussian with the mean and variance of ``Y``."""
        v = 1.0 + a * a * self.variance_total()
        d = y - a * self.mean
        return -0.5 * d * d / v - 0.5 * math.log(2.0 * math.pi * v)

    def _centred(self):
        """The same law translated to mean 0, or ``self`` if it has mean 0 (or no cheap translate).

        ``I``, ``mmse`` and the DiffC-F error do not depend on a translation, and
        the quadrature keeps more digits near 0: a location many scales away
        from 0 would cost ``|loc| / scale`` ulps in every log-density.
        """
        return self

    def mutual_information_nats(self, snr):
        """``I(X; Z)`` in nats at ``snr`` (exact up to quadrature tolerance; see module docstring)."""
        s = check_snr(snr)
        if s == 0.0:
            return 0.0
        centred = self._centred()
        if centred is not self:
            return centred.mutual_information_nats(s)
        a = math.sqrt(s)
        i_gauss = 0.5 * math.log1p(s * self.variance_total())
        lo, hi, points = self._y_range(a)
        if self.has_atoms and i_gauss > self.entropy_nats():
            h_x = self.entropy_nats()
            return max(h_x - self._label_entropy_given_output(a, scale=h_x), 0.0)

        def integrand(y):
            log_norm, _, _, _ = mixture_reduce(*self._pieces(y, a))
            return divergence_integrand(log_norm, self._output_gaussian_log_density(y, a))

        value, _ = self._integrate(integrand, a, lo, hi, points, scale=i_gauss)
        return i_gauss - value

    def mmse(self, snr):
        """``E[(X - E[X|Z])^2]`` at ``snr`` (for a scalar source total and per-dim coincide)."""
        s = check_snr(snr)
        if s == 0.0:
            return self.variance_total()
        centred = self._centred()
        if centred is not self:
            return centred.mmse(s)
        a = math.sqrt(s)
        lo, hi, points = self._y_range(a)

        def integrand(y):
            log_norm, _, _, var = mixture_reduce(*self._pieces(y, a))
            return np.exp(log_norm) * var

        value, _ = self._integrate(integrand, a, lo, hi, points)
        return value

    def mmse_per_dim(self, snr):
        """``mmse(snr) / dim``: the MMSE per coordinate."""
        return self.mmse(snr) / self.dim

    # ----- probability-flow (DiffC-F) decoder -------------------------------------
    def flow_map(self, z, snr):
        """DiffC-F reconstruction ``T(z) = F_X^{-1}(F_Z(z))`` for VP observations ``z``.

        In one dimension the probability-flow ODE of the exact score is an
        order-preserving map that pushes ``p_Z`` to ``p_X``, so it equals the
        unique monotone transport, the quantile map. For sources with atoms the
        map is the limit of the flow (a step function onto the atoms).
        """
        s = check_snr(snr)
        z = np.asarray(z, dtype=float)
        y = z.ravel() * math.sqrt(1.0 + s)
        return self._flow_y(y, math.sqrt(s)).reshape(z.shape)

    def _flow_y(self, y, a):
        """Quantile map ``F_X^{-1}(F_Y(y))`` at outputs ``y`` for ``a = sqrt(snr) >= 0``."""
        if a == 0.0:
            return self._quantile(special.log_ndtr(y), special.log_ndtr(-y))
        return self._quantile(self._output_log_cdf(y, a), self._output_log_cdf_upper(y, a))

    def mse_diffc_f_total(self, snr):
        """DiffC-F distortion ``E[(X - T(Z))^2] = mmse + E[(E[X|Z] - T(Z))^2]`` (exact; see ``flow_map``)."""
        s = check_snr(snr)
        if s == 0.0:
            return 2.0 * self.variance_total()
        centred = self._centred()
        if centred is not self:
            return centred.mse_diffc_f_total(s)
        a = math.sqrt(s)
        lo, hi, points = self._y_range(a)
        points = list(points) + list(self._flow_jumps(a, lo, hi))

        def integrand(y):
            log_norm, _, mean, _ = mixture_reduce(*self._pieces(y, a))
            return np.exp(log_norm) * (mean - self._flow_y(y, a)) ** 2

        mmse = self.mmse(s)
        value, _ = self._integrate(integrand, a, lo, hi, points, scale=mmse)
        return mmse + value

    def _flow_jumps(self, a, lo, hi):
        """Outputs ``y`` where the flow map jumps (none for a source with a density)."""
        return []

    def entropy_nats(self):
        """``H(X)`` in nats for a purely discrete source, else ``None``."""
        return None


# ======================================================================================
# Gaussian mixtures (including atoms: zero-variance components)
# ======================================================================================
class _MixtureMixin(ScalarSource):
    """Sources whose law is ``sum_k w_k N(m_k, v_k)`` with ``v_k >= 0``."""

    @cached_property
    def _w(self):
        return np.asarray(self._weights, dtype=float)

    @cached_property
    def _m(self):
        return np.asarray(self._means, dtype=float)

    @cached_property
    def _v(self):
        return np.asarray(self._variances, dtype=float)

    @property
    def mean(self):
        """``E[X]``."""
        return float(np.dot(self._w, self._m))

    def variance_total(self):
        """``Var[X]``, computed as ``sum_k w_k v_k + sum_{i<j} w_i w_j (m_i - m_j)^2``."""
        diff = self._m[:, None] - self._m[None, :]
        between = 0.5 * float((self._w[:, None] * self._w[None, :] * diff * diff).sum())
        return float(np.dot(self._w, self._v)) + between

    def _centred(self):
        """A copy with the means shifted by ``-mean`` (marked, so that it is not shifted again)."""
        if self.mean == 0.0 or getattr(self, "_is_centred", False):
            return self
        copy = self._shifted(-self.mean)
        object.__setattr__(copy, "_is_centred", True)
        return copy

    def component_entropy_nats(self):
        """``H(C) = -sum_k w_k ln w_k``: entropy of the component label ``C`` (``H(X)`` for a discrete source)."""
        w = self._w
        return float(-(w * np.log(w)).sum())

    def component_posterior_entropy_nats(self, snr):
        """``H(C | Z)`` in nats, to the quadrature's relative accuracy even where it is tiny (high snr).

        With the label ``C`` (``X | C=k ~ N(m_k, v_k)``), ``C -> X -> Z`` gives the
        exact decomposition ``I(X; Z) = H(C) - H(C | Z) + sum_k w_k 1/2 ln(1 + snr v_k)``;
        for a discrete source ``H(C | Z) = H(X | Z)``.
        """
        s = check_snr(snr)
        if s == 0.0:
            return self.component_entropy_nats()
        return self._centred()._label_entropy_given_output(math.sqrt(s))

    def within_component_information_nats(self, snr):
        """``sum_k w_k 1/2 ln(1 + snr v_k)``: ``I(X; Z | C)`` in nats (0 for a discrete source)."""
        s = check_snr(snr)
        return float(np.dot(self._w, 0.5 * np.log1p(s * self._v)))

    def within_component_mmse(self, snr):
        """``sum_k w_k v_k / (1 + snr v_k)``: ``2 d/dsnr I(X; Z | C)``, the MMSE given the label."""
        s = check_snr(snr)
        return float(np.dot(self._w, self._v / (1.0 + s * self._v)))

    @cached_property
    def _order(self):
        return np.argsort(self._m, kind="stable")

    @cached_property
    def _log_w(self):
        return np.log(self._w)

    def _max_pieces(self, a):
        return self._w.size

    def _window(self, y, a):
        """``(idx [n, W], valid [n, W])``: the components that can carry weight at outputs ``y``; None if all can.

        Only for more than ``_WINDOW_MIN_COMPONENTS`` components. A component
        ``k`` at distance ``d_k`` from ``y`` (centres ``a m_k``, output
        variances ``ov_k = 1 + snr v_k``) has a log-weight below the top one by
        more than ``_NEGLIGIBLE_LOG`` (its weight underflows to exactly 0) once
        ``d_k^2 > ov_max (d_near^2 / ov_min + 2 L)``,
        ``L = _NEGLIGIBLE_LOG + ln(w_max / w_min) + 1/2 ln(ov_max / ov_min)``,
        ``d_near`` the distance to the nearest centre; the rest is a contiguous
        run of the sorted centres. Work per point is then ``O(W)``, not ``O(J)``.
        """
        size = self._w.size
        if size <= _WINDOW_MIN_COMPONENTS:
            return None
        ov = 1.0 + a * a * self._v
        centres = a * self._m[self._order]
        pos = np.searchsorted(centres, y)
        d_near = np.minimum(np.abs(y - centres[np.clip(pos - 1, 0, size - 1)]),
                            np.abs(y - centres[np.clip(pos, 0, size - 1)]))
        spread = (_NEGLIGIBLE_LOG + math.log(self._w.max() / self._w.min())
                  + 0.5 * math.log(ov.max() / ov.min()))
        reach = np.sqrt(ov.max() * (d_near * d_near / ov.min() + 2.0 * spread))
        lo = np.searchsorted(centres, y - reach, side="left")
        hi = np.searchsorted(centres, y + reach, side="right")
        width = int((hi - lo).max()) if y.size else 0
        if width >= size:
            return None
        idx = lo[:, None] + np.arange(width)
        valid = idx < hi[:, None]
        return self._order[np.minimum(idx, size - 1)], valid

    def _pieces(self, y, a):
        s = a * a
        window = self._window(y, a)
        if window is None:
            m, v, log_prior = self._m, self._v, self._log_w
        else:
            idx, valid = window
            m, v = self._m[idx], self._v[idx]
            log_prior = np.where(valid, self._log_w[idx], -np.inf)
        out_var = 1.0 + s * v
        d = y[:, None] - a * m
        log_w = log_prior - 0.5 * d * d / out_var - 0.5 * np.log(2.0 * math.pi * out_var)
        means = m + a * v * d / out_var
        variances = np.broadcast_to(v / out_var, log_w.shape)
        return log_w, means, variances

    def _y_range(self, a):
        s = a * a
        centers = a * self._m
        sds = np.sqrt(1.0 + s * self._v)
        g_center = a * self.mean
        g_sd = math.sqrt(1.0 + s * self.variance_total())
        lo = min(float(np.min(centers - _GAUSS_REACH * sds)), g_center - _GAUSS_REACH * g_sd)
        hi = max(float(np.max(centers + _GAUSS_REACH * sds)), g_center + _GAUSS_REACH * g_sd)
        order = np.argsort(centers)
        c, sd = centers[order], sds[order]
        mids = 0.5 * (c[1:] + c[:-1])
        points = [*_around(c, sd), *_around(mids, np.ones_like(mids)), *_around([g_center], [g_sd])]
        if self._w.size > _WINDOW_MIN_COMPONENTS:
            # features of p_Y are at least one noise sd wide: break points closer than 1/4 add nothing
            # (and would make the panel count grow with the atoms even where their images overlap)
            points = _thinned(points, 0.25)
        return lo, hi, points

    def sample(self, n, rng):
        """``n`` i.i.d. draws (shape ``(n,)``) from Generator ``rng``."""
        k = rng.choice(self._w.size, size=int(n), p=self._w)
        return self._m[k] + np.sqrt(self._v[k]) * rng.standard_normal(int(n))

    def _sample_posterior_y(self, y, a, rng):
        log_w, means, variances = self._pieces(y, a)
        _, weights, _, _ = mixture_reduce(log_w, means, variances)
        k = _choose_rows(weights, rng)
        rows = np.arange(y.size)
        return means[rows, k] + np.sqrt(variances[rows, k]) * rng.standard_normal(y.size)

    def _output_log_cdf(self, y, a):
        sds = np.sqrt(1.0 + a * a * self._v)
        terms = np.log(self._w) + special.log_ndtr((y[:, None] - a * self._m) / sds)
        return special.logsumexp(terms, axis=1)

    def _output_log_cdf_upper(self, y, a):
        sds = np.sqrt(1.0 + a * a * self._v)
        terms = np.log(self._w) + special.log_ndtr(-(y[:, None] - a * self._m) / sds)
        return special.logsumexp(terms, axis=1)


def _thinned(points, min_gap):
    """The sorted ``points`` with every point closer than ``min_gap`` to the previous kept one dropped."""
    kept = []
    for p in sorted(points):
        if not kept or p - kept[-1] >= min_gap:
            kept.append(p)
    return kept


def _around(centers, widths, multiples=(0.0, 1.0, 3.0, 8.0)):
    """Break points ``c +- k w`` for each center ``c`` and width ``w`` (resolves features of width ``w``)."""
    out = []
    for c, w in zip(np.asarray(centers, dtype=float), np.asarray(widths, dtype=float)):
        out += [c + k * w for k in multiples] + [c - k * w for k in multiples[1:]]
    return out


def _choose_rows(weights, rng):
    """Index ``k`` drawn per row of a ``(n, J)`` weight matrix (inverse-CDF with one uniform per row)."""
    cum = np.cumsum(weights, axis=1)
    u = rng.random(weights.shape[0]) * cum[:, -1]
    return np.minimum((cum < u[:, None]).sum(axis=1), weights.shape[1] - 1)


@dataclass(frozen=True)
class GaussianMixture(_MixtureMixin):
    """Scalar Gaussian mixture ``sum_k weights[k] N(means[k], stds[k]^2)``.

    ``weights`` must be positive and sum to 1 within 1e-9 (they are then
    renormalised exactly); ``stds`` must be positive.
    """

    weights: tuple
    means: tuple
    stds: tuple

    def __post_init__(self):
        w = _check_probabilities(self.weights, "weights")
        m = tuple(float(v) for v in np.asarray(self.means, dtype=float).ravel())
        s = tuple(float(v) for v in np.asarray(self.stds, dtype=float).ravel())
        if len(m) != len(w) or len(s) != len(w):
            raise ValueError(
                f"weights, means and stds must have the same length, got {len(w)}, {len(m)}, {len(s)}")
        if not all(math.isfinite(v) for v in m):
            raise ValueError(f"means must be finite numbers, got {self.means!r}")
        for v in s:
            _check_positive(v, "stds")
        object.__setattr__(self, "weights", w)
        object.__setattr__(self, "means", m)
        object.__setattr__(self, "stds", s)

    def _shifted(self, shift):
        return GaussianMixture(self.weights, tuple(m + shift for m in self.means), self.stds)

    @property
    def _weights(self):
        return self.weights

    @property
    def _means(self):
        return self.means

    @property
    def _variances(self):
        return tuple(v * v for v in self.stds)

    def differential_entropy_nats(self):
        """``h(X) = -int p ln p`` in nats by adaptive quadrature over ``x`` (closed form for one component)."""
        if len(self.weights) == 1:
            return 0.5 * math.log(2.0 * math.pi * math.e * self.stds[0] ** 2)
        m, sd = self._m, np.sqrt(self._v)
        lo = float(np.min(m - _GAUSS_REACH * sd))
        hi = float(np.max(m + _GAUSS_REACH * sd))
        logw = np.log(self._w)

        def log_density(x):
            z = (x[:, None] - m) / sd
            return special.logsumexp(logw - 0.5 * z * z - np.log(sd) - LOG_SQRT_2PI, axis=1)

        # -p ln p changes sign; integrate p * (c - ln p) >= 0 with c >= max ln p, then subtract c.
        c = float(np.max(logw - np.log(sd) - LOG_SQRT_2PI)) + math.log(len(self.weights))

        def integrand(x):
            lp = log_density(x)
            return np.exp(lp) * (c - lp)

        value, _ = integrate_adaptive(chunked(integrand, len(self.weights)), lo, hi, list(m), scale=abs(c))
        return value - c

    def _quantile(self, log_cdf, log_sf):
        return _mixture_quantile(self._w, self._m, np.sqrt(self._v), log_cdf, log_sf)


def _mixture_quantile(w, m, sd, log_cdf, log_sf):
    """Solve ``F_X(x) = exp(log_cdf)`` for a Gaussian mixture by safeguarded Newton in log space.

    Uses the lower tail where ``log_cdf <= log_sf`` and the upper tail otherwise,
    so both tails keep full relative precision. The safeguard is that of
    ``rtsafe``: a Newton step is taken only if it lands inside the bracket and
    is at most half the step before last, otherwise the bracket is bisected.
    (Inside-the-bracket alone is not enough: where a narrow component gives
    ``ln F`` an inflection, Newton settles into a 2-cycle whose iterates creep
    towards the bracket's ends without leaving it, and the map returned points
    off by up to 0.15 after 200 rounds.) So the root is found to a few ulps in
    at most ~2 log2(bracket / ulp) rounds, and a row that is not raises.
    """
    log_cdf = np.asarray(log_cdf, dtype=float)
    log_sf = np.asarray(log_sf, dtype=float)
    upper = log_sf < log_cdf
    target = np.where(upper, log_sf, log_cdf)
    sign = np.where(upper, -1.0, 1.0)  # solve in the reflected variable for the upper tail
    mm = sign[:, None] * m[None, :]
    # Bracket: the component quantiles of the same level enclose the mixture quantile.
    comp_q = mm + sd * _ndtri_log(np.minimum(target, 0.0))[:, None]
    lo = comp_q.min(axis=1)
    hi = comp_q.max(axis=1)
    x = 0.5 * (lo + hi)
    logw = np.log(w)
    step = step_old = hi - lo
    # a level that is 0 or 1 to float64 (or nan) has no finite bracket: its quantile is returned as nan
    unbracketed = ~(np.isfinite(lo) & np.isfinite(hi))
    x = np.where(unbracketed, np.nan, x)
    done = unbracketed | (hi - lo <= _QUANTILE_XTOL * (1.0 + np.abs(x)))
    for _ in range(_QUANTILE_ROUNDS):
        if np.all(done):
            return sign * x
        zz = (x[:, None] - mm) / sd
        lf = special.logsumexp(logw + special.log_ndtr(zz), axis=1)
        lpdf = special.logsumexp(logw - 0.5 * zz * zz - np.log(sd) - LOG_SQRT_2PI, axis=1)
        g = lf - target
        lo = np.where(g < 0, x, lo)
        hi = np.where(g >= 0, x, hi)
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            newton = x - g / np.exp(lpdf - lf)
        bisect = (~np.isfinite(newton) | (newton <= lo) | (newton >= hi)
                  | (np.abs(newton - x) > 0.5 * step_old))
        x_new = np.where(g == 0.0, x, np.where(bisect, 0.5 * (lo + hi), newton))
        step_old, step = step, np.abs(x_new - x)
        tol = _QUANTILE_XTOL * (1.0 + np.abs(x))
        x = np.where(done, x, x_new)
        done = done | (step <= tol) | (hi - lo <= tol)
    if np.all(done):
        return sign * x
    raise ArithmeticError(f"mixture quantile did not converge in {_QUANTILE_ROUNDS} rounds "
                          f"at {int(np.sum(~done))} of {done.size} levels")


#: Absolute-plus-relative tolerance of ``_mixture_quantile`` (a few ulps of ``x``).
_QUANTILE_XTOL = 1e-15
_QUANTILE_ROUNDS = 400


@dataclass(frozen=True, init=False)
class Gaussian(GaussianMixture):
    """Scalar Gaussian ``N(mean, variance)``: a one-component ``GaussianMixture``.

    Its rate and MMSE go through the same quadrature as every mixture (not
    the closed forms), so the tests can compare them with ``gaussian.components``.
    """

    def __init__(self, variance, mean=0.0):
        var = _check_positive(variance, "variance")
        GaussianMixture.__init__(self, (1.0,), (float(mean),), (math.sqrt(var),))

    @property
    def variance(self):
        """``Var[X]``."""
        return self.stds[0] ** 2

    def __repr__(self):
        return f"Gaussian(variance={self.variance!r}, mean={self.means[0]!r})"


@dataclass(frozen=True)
class Discrete(_MixtureMixin):
    """Scalar discrete source: ``P(X = atoms[k]) = probs[k]`` (a mixture of zero-variance components).

    ``differential_entropy_nats()`` returns ``None`` (no density);
    ``entropy_nats()`` returns ``H(X)``. Atoms must be distinct.
    """

    atoms: tuple
    probs: tuple
    has_atoms = True

    def __post_init__(self):
        p = _check_probabilities(self.probs, "probs")
        x = tuple(float(v) for v in np.asarray(self.atoms, dtype=float).ravel())
        if len(x) != len(p):
            raise ValueError(f"atoms and probs must have the same length, got {len(x)} and {len(p)}")
        if not all(math.isfinite(v) for v in x) or len(set(x)) != len(x):
            raise ValueError(f"atoms must be distinct finite numbers, got {self.atoms!r}")
        order = np.argsort(x)
        object.__setattr__(self, "atoms", tuple(x[i] for i in order))
        object.__setattr__(self, "probs", tuple(p[i] for i in order))

    @classmethod
    def pam(cls, m, step=2.0):
        """Equiprobable ``m``-PAM: atoms ``step * (k - (m-1)/2)``, ``k = 0..m-1`` (``step=2``: ``+-1, +-3, ...``)."""
        if isinstance(m, bool) or int(m) != m or int(m) < 2:
            raise ValueError(f"m (number of PAM levels) must be an integer >= 2, got {m!r}")
        step = _check_positive(step, "step")
        m = int(m)
        return cls(tuple(step * (k - 0.5 * (m - 1)) for k in range(m)), tuple([1.0 / m] * m))

    @classmethod
    def binary(cls, p_plus=0.5, amplitude=1.0):
        """Binary source on ``{-amplitude, +amplitude}`` with ``P(X = +amplitude) = p_plus`` in (0, 1)."""
        p = float(p_plus)
        if not 0.0 < p < 1.0:
            raise ValueError(f"p_plus must be in (0, 1), got {p_plus!r}")
        amp = _check_positive(amplitude, "amplitude")
        return cls((-amp, amp), (1.0 - p, p))

    def _shifted(self, shift):
        return Discrete(tuple(x + shift for x in self.atoms), self.probs)

    @property
    def _weights(self):
        return self.probs

    @property
    def _means(self):
        return self.atoms

    @property
    def _variances(self):
        return tuple(0.0 for _ in self.atoms)

    def differential_entropy_nats(self):
        """``None``: a discrete source has no density, so ``h(X)`` does not exist."""
        return None

    def entropy_nats(self):
        """``H(X) = -sum_k p_k ln p_k`` in nats."""
        p = self._w
        return float(-(p * np.log(p)).sum())

    def _quantile(self, log_cdf, log_sf):
        """Generalised inverse ``min{x_k : F(x_k) >= u}``, using the upper tail where it is smaller."""
        log_cum = np.log(np.cumsum(self._w))
        log_cum_upper = np.log(np.cumsum(self._w[::-1]))  # P(X >= x_k), from the top atom down
        lower_idx = np.searchsorted(log_cum, np.asarray(log_cdf), side="left")
        upper_idx = len(self.atoms) - 1 - np.searchsorted(log_cum_upper, np.asarray(log_sf), side="left")
        idx = np.where(np.asarray(log_sf) < np.asarray(log_cdf), upper_idx, lower_idx)
        return self._m[np.clip(idx, 0, len(self.atoms) - 1)]

    def _flow_jumps(self, a, lo, hi):
        """The ``M - 1`` outputs where ``T`` steps from atom ``k`` to ``k + 1`` (bisection of ``_flow_y``'s test).

        The step functions's jumps are break points of the flow quadrature: an
        adaptive rule only estimates its error reliably on smooth pieces (without
        them DiffC-F of 20-PAM at snr 0.01 was off by 1e-5).
        """
        size = self._m.size
        k = np.arange(size - 1)
        y_lo, y_hi = np.full(size - 1, float(lo)), np.full(size - 1, float(hi))
        for _ in range(200):
            y = 0.5 * (y_lo + y_hi)
            past = self._flow_index(y, a) > k
            y_lo, y_hi = np.where(past, y_lo, y), np.where(past, y, y_hi)
            if np.all(y_hi - y_lo <= 4 * np.finfo(float).eps * np.maximum(1.0, np.abs(y))):
                break
        return 0.5 * (y_lo + y_hi)

    def _flow_y(self, y, a):
        """Quantile map ``F_X^{-1}(F_Y(y))``: the atom of ``_flow_index``."""
        return self._m[self._flow_index(y, a)]

    def _flow_index(self, y, a):
        """Index of the atom the flow maps ``y`` to, decided boundary by boundary without forming ``F_Y(y) - cum_k``.

        ``F_Y(y) > sum_{j<=k} p_j`` iff ``sum_{j>k} p_j Phi(y - a x_j) > sum_{j<=k} p_j Q(y - a x_j)``;
        both sides are evaluated in log space, so the step between two atoms
        is placed correctly even where ``F_Y`` is flat to machine precision.

        With many atoms only those in ``_window`` are summed: every boundary left
        of it is passed (its right side holds the window's mass, its left side
        only masses ``exp(-750)`` smaller) and none right of it, so the index is
        the window's first atom plus the boundaries passed inside it.
        """
        window = self._window(y, a) if a > 0.0 else None
        if window is None:
            first, m, log_p = 0, self._m, np.log(self._w)
        else:
            idx, valid = window                   # atoms are sorted: idx[:, j] = idx[:, 0] + j
            first, m = idx[:, 0], self._m[idx]
            log_p = np.where(valid, np.log(self._w)[idx], -np.inf)
        d = y[:, None] - a * m
        below = log_p + special.log_ndtr(d)     # ln P(X = x_j, Y <= y)
        above = log_p + special.log_ndtr(-d)    # ln P(X = x_j, Y > y)
        left_mass = np.logaddexp.accumulate(above, axis=1)[:, :-1]            # sum_{j<=k}, k=0..M-2
        right_mass = np.logaddexp.accumulate(below[:, ::-1], axis=1)[:, ::-1][:, 1:]  # sum_{j>k}
        return first + (right_mass > left_mass).sum(axis=1)


# ======================================================================================
# Piecewise log-linear densities (Laplace, Uniform)
# ======================================================================================
class _PiecewiseLogLinearMixin(ScalarSource):
    """Sources with density ``exp(c0_k + c1_k x)`` on intervals ``[lo_k, hi_k]``.

    Given ``y``, each interval contributes up to two truncated-Gaussian posterior
    components (either side of the clipped peak ``x*``), with mass
    ``p(x*) phi(y - a x*) M / a`` where ``M`` comes from ``halfline_moments``.
    """

    @abc.abstractmethod
    def _intervals(self):
        """Arrays ``(lo, hi, c0, c1)`` of shape ``(K,)``."""

    def _pieces(self, y, a):
        lo, hi, c0, c1 = self._intervals()
        y = y[:, None]
        with np.errstate(invalid="ignore"):
            t_lo = a * lo - y
            t_hi = a * hi - y
        t_mu = np.broadcast_to(c1 / a, t_lo.shape)
        t_star = np.clip(t_mu, t_lo, t_hi)
        x_star = np.where(t_mu < t_lo, lo, np.where(t_mu > t_hi, hi, y / a + c1 / (a * a)))
        log_peak = c0 + c1 * x_star - 0.5 * t_star * t_star - LOG_SQRT_2PI - math.log(a)
        alpha_r = np.maximum(t_star - t_mu, 0.0)
        alpha_l = np.maximum(t_mu - t_star, 0.0)
        # where x* is clipped to an edge the other side spans the whole interval: use a (hi - lo), exact,
        # rather than (a hi - y) - (a lo - y), which loses |y| / (a (hi - lo)) ulps at low snr
        with np.errstate(invalid="ignore"):
            width = np.broadcast_to(a * (hi - lo), t_lo.shape)
        len_r = np.where(t_mu < t_lo, width, t_hi - t_star)
        len_l = np.where(t_mu > t_hi, width, t_star - t_lo)
        lm_r, mu_r, var_r = halfline_moments(alpha_r, len_r)
        lm_l, mu_l, var_l = halfline_moments(alpha_l, len_l)
        log_w = np.concatenate([log_peak + lm_r, log_peak + lm_l], axis=1)
        means = np.concatenate([x_star + mu_r / a, x_star - mu_l / a], axis=1)
        variances = np.concatenate([var_r, var_l], axis=1) / (a * a)
        return log_w, means, variances

    def _sample_posterior_y(self, y, a, rng):
        from scipy.stats import truncnorm

        lo, hi, c0, c1 = self._intervals()
        log_w, means, _ = self._pieces(y, a)
        _, weights, _, _ = mixture_reduce(log_w, means, np.zeros_like(means))
        k = _choose_rows(weights, rng)
        kk = len(lo)
        side_right = k < kk
        piece = np.where(side_right, k, k - kk)
        yy = y
        t_lo = a * lo[piece] - yy
        t_hi = a * hi[piece] - yy
        t_mu = c1[piece] / a
        t_star = np.clip(t_mu, t_lo, t_hi)
        # Posterior in t = a x - y restricted to the chosen side of t_star: N(t_mu, 1) truncated.
        lower = np.where(side_right, t_star, t_lo) - t_mu
        upper = np.where(side_right, t_hi, t_star) - t_mu
        t = t_mu + truncnorm.rvs(lower, upper, random_state=rng)
        return (t + yy) / a

    def _y_range(self, a):
        lo, hi, c0, c1 = self._intervals()
        # Features of p_Y: the images a*x of the interval edges (smoothed over a unit
        # width by the noise) and exponential tails of length a/|c1|.
        edges = np.array([a * v for v in np.concatenate([lo, hi]) if np.isfinite(v)])
        g_center = a * self.mean
        g_sd = math.sqrt(1.0 + a * a * self.variance_total())
        tails = [a / abs(c) for c, l, h in zip(c1, lo, hi) if not (np.isfinite(l) and np.isfinite(h))]
        extent = max([float(np.max(np.abs(edges))) if edges.size else 0.0]
                     + [_EXP_REACH * t for t in tails]) + _GAUSS_REACH
        extent = max(extent, abs(g_center) + _GAUSS_REACH * g_sd)
        points = [*_around(edges, np.ones_like(edges)), *_around([g_center], [g_sd])]
        for t in tails:
            points += [e + sign * k * t for e in edges for sign in (-1, 1) for k in (1, 5, 20)]
        return -extent, extent, points


@dataclass(frozen=True)
class Laplace(_PiecewiseLogLinearMixin):
    """Scalar Laplace source with density ``exp(-|x - mean|/scale) / (2 scale)``; variance ``2 scale^2``."""

    scale: float
    loc: float = 0.0

    def __post_init__(self):
        object.__setattr__(self, "scale", _check_positive(self.scale, "scale"))
        loc = float(self.loc)
        if not math.isfinite(loc):
            raise ValueError(f"loc must be a finite number, got {self.loc!r}")
        object.__setattr__(self, "loc", loc)

    @property
    def mean(self):
        """``E[X] = loc``."""
        return self.loc

    def _centred(self):
        return self if self.loc == 0.0 else Laplace(self.scale)

    def variance_total(self):
        """``Var[X] = 2 scale^2``."""
        return 2.0 * self.scale ** 2

    def differential_entropy_nats(self):
        """``h(X) = 1 + ln(2 scale)`` nats."""
        return 1.0 + math.log(2.0 * self.scale)

    def _intervals(self):
        b, m = self.scale, self.loc
        c0 = -math.log(2.0 * b)
        return (np.array([-np.inf, m]), np.array([m, np.inf]),
                np.array([c0 - m / b, c0 + m / b]), np.array([1.0 / b, -1.0 / b]))

    def sample(self, n, rng):
        """``n`` i.i.d. draws (shape ``(n,)``) from Generator ``rng``."""
        return self.loc + rng.laplace(0.0, self.scale, size=int(n))

    def _log_cdf_centered(self, y, a):
        """``ln P(Y <= y)`` for ``loc = 0`` from ``Phi(y) + a b (mass_- - mass_+)`` (integration by parts)."""
        beta = a * self.scale
        src = Laplace(self.scale)
        log_w, _, _ = src._pieces(y, a)
        # columns: [right of x* in piece (-inf,0], right in [0,inf), left in (-inf,0], left in [0,inf)]
        log_minus = np.logaddexp(log_w[:, 0], log_w[:, 2])
        log_plus = np.logaddexp(log_w[:, 1], log_w[:, 3])
        l_phi = special.log_ndtr(y)
        l_pos = np.logaddexp(l_phi, math.log(beta) + log_minus)
        l_neg = math.log(beta) + log_plus
        with np.errstate(divide="ignore"):
            return l_pos + np.log1p(-np.exp(l_neg - l_pos))

    def _output_log_cdf(self, y, a):
        yc = y - a * self.loc
        neg = yc <= 0.0
        lower = self._log_cdf_centered(np.where(neg, yc, -yc), a)  # P(Y <= -|yc|)
        return np.where(neg, lower, np.log1p(-np.exp(np.where(neg, -1.0, lower))))

    def _output_log_cdf_upper(self, y, a):
        yc = y - a * self.loc
        pos = yc > 0.0
        upper = self._log_cdf_centered(np.where(pos, -yc, yc), a)  # P(Y > |yc|) by symmetry
        return np.where(pos, upper, np.log1p(-np.exp(np.where(pos, -1.0, upper))))

    def _quantile(self, log_cdf, log_sf):
        log_cdf = np.asarray(log_cdf)
        log_sf = np.asarray(log_sf)
        b = self.scale
        lower = log_cdf <= log_sf
        # F(x) = exp((x - loc)/b)/2 below loc; S(x) = exp(-(x - loc)/b)/2 above.
        return self.loc + np.where(lower, b * (math.log(2.0) + log_cdf), -b * (math.log(2.0) + log_sf))


@dataclass(frozen=True)
class Uniform(_PiecewiseLogLinearMixin):
    """Scalar uniform source on ``[center - halfwidth, center + halfwidth]``; variance ``halfwidth^2 / 3``."""

    halfwidth: float
    center: float = 0.0

    def __post_init__(self):
        object.__setattr__(self, "halfwidth", _check_positive(self.halfwidth, "halfwidth"))
        c = float(self.center)
        if not math.isfinite(c):
            raise ValueError(f"center must be a finite number, got {self.center!r}")
        object.__setattr__(self, "center", c)

    @property
    def mean(self):
        """``E[X] = center``."""
        return self.center

    def _centred(self):
        return self if self.center == 0.0 else Uniform(self.halfwidth)

    def variance_total(self):
        """``Var[X] = halfwidth^2 / 3``."""
        return self.halfwidth ** 2 / 3.0

    def differential_entropy_nats(self):
        """``h(X) = ln(2 halfwidth)`` nats."""
        return math.log(2.0 * self.halfwidth)

    def _intervals(self):
        w, c = self.halfwidth, self.center
        return (np.array([c - w]), np.array([c + w]), np.array([-math.log(2.0 * w)]), np.array([0.0]))

    def sample(self, n, rng):
        """``n`` i.i.d. draws (shape ``(n,)``) from Generator ``rng``."""
        return self.center + rng.uniform(-self.halfwidth, self.halfwidth, size=int(n))

    def _log_cdf_centered(self, y, a):
        """``ln P(Y <= y)`` for ``center = 0`` and ``y <= 0``: the mean of ``Phi`` over ``[y - h, y + h]``, ``h = a w``."""
        h = a * self.halfwidth
        if h <= 1.0:
            t = (y - h)[:, None] + 2.0 * h * _GL_T
            return special.logsumexp(special.log_ndtr(t), b=_GL_W, axis=1)
        with np.errstate(divide="ignore"):
            return np.log(_integrated_ndtr(y + h) - _integrated_ndtr(y - h)) - math.log(2.0 * h)

    def _output_log_cdf(self, y, a):
        yc = y - a * self.center
        neg = yc <= 0.0
        lower = self._log_cdf_centered(np.where(neg, yc, -yc), a)
        return np.where(neg, lower, np.log1p(-np.exp(np.where(neg, -1.0, lower))))

    def _output_log_cdf_upper(self, y, a):
        yc = y - a * self.center
        pos = yc > 0.0
        upper = self._log_cdf_centered(np.where(pos, -yc, yc), a)
        return np.where(pos, upper, np.log1p(-np.exp(np.where(pos, -1.0, upper))))

    def _quantile(self, log_cdf, log_sf):
        log_cdf = np.asarray(log_cdf)
        log_sf = np.asarray(log_sf)
        w, c = self.halfwidth, self.center
        lower = log_cdf <= log_sf
        return c + np.where(lower, -w + 2.0 * w * np.exp(log_cdf), w - 2.0 * w * np.exp(log_sf))


def _integrated_ndtr(t):
    """``G(t) = int_{-inf}^t Phi = t Phi(t) + phi(t)``; for ``t < -5`` via the Laplace continued fraction.

    For ``t = -u``, ``u > 5``: ``G = phi(u) / (C_1 C_2)`` with ``C_k = u + k / C_{k+1}``
    (80 terms), avoiding the cancellation of ``phi(u) - u Q(u)``.
    """
    t = np.asarray(t, dtype=float)
    deep = t < -5.0
    u = np.where(deep, -t, 6.0)
    c = u.copy()
    for k in range(80, 1, -1):
        c = u + k / c
    c2 = c
    c1 = u + 1.0 / c2
    phi_u = np.exp(-0.5 * u * u) / math.sqrt(2.0 * math.pi)
    tail = phi_u / (c1 * c2)
    tt = np.where(deep, 0.0, t)
    direct = tt * special.ndtr(tt) + np.exp(-0.5 * tt * tt) / math.sqrt(2.0 * math.pi)
    return np.where(deep, tail, direct)


# ======================================================================================
# Products of independent coordinates
# ======================================================================================
@dataclass(frozen=True)
class Product:
    """Source with independent coordinates ``X = (X_1, ..., X_d)``, ``X_i ~ factors[i]``.

    Rates, entropies and squared errors add over coordinates, so every method
    returns the *total* over the ``d`` coordinates (``mmse_per_dim`` divides by
    ``d``). With isotropic channel noise the posterior and the probability-flow
    map act coordinate by coordinate. Use ``Product.iid(source, dim)`` for
    i.i.d. coordinates; equal factors are computed once.
    """

    factors: tuple

    def __post_init__(self):
        f = tuple(self.factors)
        if len(f) == 0 or not all(isinstance(v, ScalarSource) for v in f):
            raise ValueError("factors must be a non-empty sequence of scalar sources")
        object.__setattr__(self, "factors", f)

    @classmethod
    def iid(cls, source, dim):
        """``dim`` i.i.d. copies of the scalar ``source``; ``dim`` must be an integer ``>= 1``."""
        if isinstance(dim, bool) or int(dim) != dim or int(dim) < 1:
            raise ValueError(f"dim must be an integer >= 1, got {dim!r}")
        return cls(tuple([source] * int(dim)))

    @property
    def dim(self):
        """Number of coordinates ``d``."""
        return len(self.factors)

    @property
    def has_atoms(self):
        """True when some coordinate has atoms."""
        return any(f.has_atoms for f in self.factors)

    def _groups(self):
        """Distinct factors with their multiplicities, in first-appearance order (computed once)."""
        cached = self.__dict__.get("_groups_cache")
        if cached is not None:
            return cached
        out = []
        for f in self.factors:
            for i, (g, n) in enumerate(out):
                if g == f:
                    out[i] = (g, n + 1)
                    break
            else:
                out.append((f, 1))
        self.__dict__["_groups_cache"] = out
        return out

    def _sum(self, method, *args):
        return float(sum(n * getattr(g, method)(*args) for g, n in self._groups()))

    @property
    def mean(self):
        """Mean vector, shape ``(d,)``."""
        return np.array([f.mean for f in self.factors])

    def variance_total(self):
        """Trace of the covariance ``sum_i Var[X_i]``."""
        return self._sum("variance_total")

    def variances(self):
        """Per-coordinate variances, shape ``(d,)`` (the covariance is diagonal)."""
        return np.array([f.variance_total() for f in self.factors])

    def mutual_information_nats(self, snr):
        """``I(X; Z) = sum_i I(X_i; Z_i)`` in nats."""
        return self._sum("mutual_information_nats", check_snr(snr))

    def mmse(self, snr):
        """Total ``E||X - E[X|Z]||^2 = sum_i mmse_i(snr)``."""
        return self._sum("mmse", check_snr(snr))

    def mmse_per_dim(self, snr):
        """``mmse(snr) / d``."""
        return self.mmse(snr) / self.dim

    def mse_diffc_f_total(self, snr):
        """Total DiffC-F squared error ``sum_i E[(X_i - T_i(Z_i))^2]``."""
        return self._sum("mse_diffc_f_total", check_snr(snr))

    def differential_entropy_nats(self):
        """``h(X) = sum_i h(X_i)`` in nats, or ``None`` if some coordinate has atoms."""
        hs = [(g.differential_entropy_nats(), n) for g, n in self._groups()]
        if any(h is None for h, _ in hs):
            return None
        return float(sum(n * h for h, n in hs))

    def entropy_nats(self):
        """``H(X) = sum_i H(X_i)`` in nats if every coordinate is discrete, else ``None``."""
        hs = [(g.entropy_nats(), n) for g, n in self._groups()]
        if any(h is None for h, _ in hs):
            return None
        return float(sum(n * h for h, n in hs))

    def sample(self, n, rng):
        """``n`` i.i.d. draws, shape ``(n, d)``, from Generator ``rng``."""
        return np.stack([f.sample(n, rng) for f in self.factors], axis=1)

    def sample_channel(self, x, snr, rng):
        """``z = alpha x + sigma u`` (VP) for ``x`` of shape ``(..., d)``."""
        alpha, sigma = vp_alpha_sigma(snr)
        x = np.asarray(x, dtype=float)
        return alpha * x + sigma * rng.standard_normal(x.shape)

    def _per_coordinate(self, method, z, *args):
        z = np.asarray(z, dtype=float)
        if z.shape[-1:] != (self.dim,):
            raise ValueError(f"z must have last axis of length dim={self.dim}, got shape {z.shape}")
        cols = [getattr(f, method)(z[..., i], *args) for i, f in enumerate(self.factors)]
        return np.stack(cols, axis=-1)

    def posterior_mean(self, z, snr):
        """``E[X | Z=z]`` for ``z`` of shape ``(..., d)``."""
        return self._per_coordinate("posterior_mean", z, snr)

    def posterior_variance(self, z, snr):
        """Per-coordinate ``Var[X_i | Z=z]``, shape ``(..., d)``."""
        return self._per_coordinate("posterior_variance", z, snr)

    def sample_posterior(self, z, snr, rng):
        """One draw ``x_hat ~ p(x | z)`` per row of ``z`` (shape ``(..., d)``)."""
        return self._per_coordinate("sample_posterior", z, snr, rng)

    def flow_map(self, z, snr):
        """Coordinate-wise probability-flow (quantile) map, shape ``(..., d)``."""
        return self._per_coordinate("flow_map", z, snr)
