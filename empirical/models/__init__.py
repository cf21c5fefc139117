"""Denoisers for VP diffusion with one interface: ``E[x | z, log_snr]`` plus Gaussian reverse steps.

VP diffusion: ``z = alpha x + sigma u``, ``u ~ N(0, I)``, ``alpha^2 + sigma^2 = 1``,
``log_snr = ln(alpha^2 / sigma^2)`` (conversions in :mod:`gaussian.schedule`).
A *denoiser* (:class:`Denoiser`) offers, for flat batches ``z`` of shape ``[n, dim]``
(float64 numpy arrays in and out):

- ``denoise(z, log_snr)``: the posterior mean ``E[x | z]``, shape ``[n, dim]``;
- ``reverse_transition(z_t, log_snr_t, log_snr_s)``: the model's Gaussian
  ``p(z_s | z_t)`` for ``log_snr_s > log_snr_t`` (``+inf`` means ``x`` itself),
  as a :class:`Gaussian` whose covariance is diagonal in the orthonormal
  ``basis`` (its columns), the coordinates in which the codec codes;
- ``prior(log_snr)``: the model's ``p(z)`` at the start of the chain;
- ``dim``, ``basis``, ``log_snr_min``, ``log_snr_max`` (the range it is meant
  for; decoders stop at ``log_snr_max``) and ``fingerprint`` (a hash that a
  bitstream records so that it is never decoded with another model).

The sender's step is the forward-process posterior (:func:`q_reverse`)::

    q(z_s | z_t, x) = N(coef_z z_t + coef_x x, var I),   c = -expm1(log_snr_t - log_snr_s)
    coef_z = (alpha_s / alpha_t) exp(log_snr_t - log_snr_s),  coef_x = alpha_s c,  var = sigma_s^2 c

and a model's reverse step plugs its estimate of ``x`` in. Two models:

- :class:`GaussianOracle`: data ``N(mean, basis diag(eigvals) basis^T)``, all in
  closed form: posterior mean and variance, exact reverse transitions (the true
  ``p(z_s | z_t)``: variance ``var + coef_x^2 lam / (1 + snr_t lam)`` per
  eigen-component; with ``transitions="plugin"`` the VDM/DDPM form with variance
  ``var``), the exact marginal as prior, and the exact flow map
  ``z_s = alpha_s mean + (alpha_s / alpha_t) sqrt((lam + e^-log_snr_s) / (lam + e^-log_snr_t)) (z_t - alpha_t mean)``.
- :class:`MixtureOracle`: the exact posterior mean of an isotropic Gaussian
  mixture (``empirical.data`` ``mixture2d`` / ``mixture``), plug-in reverse steps.
- :class:`StationaryImageOracle`: the exact denoiser of the stationary Gaussian model of
  photographs (:mod:`gaussian.image_model`) for any image size, diagonal after a colour
  rotation and a 2-D DCT (no dense basis).
- The learned torch model (:func:`load`, ``empirical/models/learned.py``): an MLP
  whose output starts at the Gaussian oracle fitted to the training data and
  learns a residual; torch is imported only when one is built or loaded.

Modules, each importing only those above it::

    base.py      Denoiser, Gaussian, q_reverse, transition_coefficients, as_batch (numpy only)
    oracles.py   GaussianOracle, MixtureOracle                                   <- base
    stationary.py StationaryImageOracle                                          <- oracles
    learned.py   DenoiserNet, UNet, checkpoints, LearnedDenoiser (torch)         <- base, stationary
    unet.py      UNetImageModel: the U-Net as a denoiser of one image shape       <- learned
    loader.py    load(spec, source): every kind of model                         <- oracles (learned when asked)
    train.py     train, mmse_check, the CLI behind python -m empirical.train     <- base, oracles, learned
"""
from .base import Denoiser, Gaussian, as_batch, from_coefficients, q_reverse, to_coefficients, transition_coefficients
from .loader import load
from .oracles import GaussianOracle, MixtureOracle
from .stationary import StationaryImageOracle

__all__ = [
    "Denoiser",
    "Gaussian",
    "GaussianOracle",
    "MixtureOracle",
    "StationaryImageOracle",
    "q_reverse",
    "transition_coefficients",
    "as_batch",
    "load",
]
