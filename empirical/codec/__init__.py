"""The DiffC codec: data -> bytes -> reconstruction, and its command-line tools.

::

    x, model (empirical.models)
      |  chain.encode / encode_detailed: the chain of steps q(z_k | z_{k-1}, x) vs p(z_k | z_{k-1}),
      |  each coded by empirical.rcc into one segment of an empirical.rcc.bitstream stream
      v
    bytes  --chain.decode_latent (any prefix of the steps)-->  z at its log-SNR
      |
      v  chain.reconstruct / decode, with receivers.flow (DiffC-F) | receivers.ancestral (DiffC-A) | E[x|z]
    x_hat

Modules: ``chain`` (encode, decode, the header's grid; the names below are
re-exported from it), ``image`` (whole images: ``encode_image`` / ``decode_image``,
re-exported), ``receivers`` (the DiffC-F and DiffC-A receivers), ``schedules``
(per-component noise schedules: ``--schedule rdp``, ``dp:C`` decoders), ``ddcm``
(the DDCM baseline: ``ddcm.encode`` / ``ddcm.decode``, not re-exported),
``cli`` (the CLIs' model options and stream spec), ``compress`` and
``decompress`` (``python -m empirical.compress`` / ``.decompress``).
Importing this package imports NumPy only (torch when a learned model is
built or loaded).
"""
from .chain import (DEFAULT_MAX_BUDGET_BITS, METHODS, BudgetError, EncodeResult, Grid, Latent, decode, decode_latent,
                    default_grid, default_rdp_grid, encode, encode_detailed, grid_from_bytes, ideal_chain,
                    ideal_chain_kl_bits, ideal_chain_steps, model_hash, read_header, reconstruct)
from .schedules import RdpGrid
from .image import decode_image, encode_image, encode_image_detailed

__all__ = [
    "Grid",
    "EncodeResult",
    "Latent",
    "encode",
    "encode_detailed",
    "decode_latent",
    "decode",
    "reconstruct",
    "ideal_chain_kl_bits",
    "ideal_chain",
    "ideal_chain_steps",
    "RdpGrid",
    "default_rdp_grid",
    "grid_from_bytes",
    "model_hash",
    "default_grid",
    "METHODS",
    "BudgetError",
    "read_header",
    "DEFAULT_MAX_BUDGET_BITS",
    "encode_image",
    "encode_image_detailed",
    "decode_image",
]
