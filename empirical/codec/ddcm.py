"""DDCM, the codebook baseline (Ohayon, Manor, Michaeli & Elad, ICLR 2025) on the same denoiser as DiffC.

::

    sender (knows x)                                        receiver (knows the model and the bytes)
    grid log_snr_0 < ... < log_snr_{S-1} (ddcm_grid)          same grid, from the header
    step n: p(z_n | z_{n-1}) = N(mu_p, diag(std_p^2))       the same p (model.reverse_transition; the prior at n = 0)
            codebook c_{n,0..K-1}: K = 2^bits standard normal vectors of (seed, n), in the model's basis
            k_n = argmax_k < std_p * c_{n,k}, T(mu_q - mu_p) >                  k_n read from the stream
            z_n = mu_p + T^-1(std_p * c_{n,k_n})                                z_n the same
      |  k_0 .. k_{S-1}, bits each, packed                             x_hat = E[x | z_{S-1}] (model.denoise)
      v
    header | packed indices

The chain is the model's ancestral (DDPM-like) reverse chain, whose fresh
Gaussian noise at each step is one of ``K`` codebook vectors instead of a free
draw. The sender picks the one whose contribution to ``z_n``, ``T^-1(std_p *
c)`` (``T`` the model's orthonormal basis change, ``to_coefficients``), has the
largest inner product with ``mu_q - mu_p``, the gap between the sender's step
``q(z_n | z_{n-1}, x)`` and the model's. For ``n >= 1`` that gap is ``coef_x
(x - x_hat0(z_{n-1}))`` (both steps are ``coef_z z + coef_x (x or x_hat0)``,
``coef_x > 0``), so the rule is the paper's ``argmax_k <C_k, x - x_hat0(z_t)>``
with the noise scaled as it enters ``z_n`` (per basis coordinate for the
oracle's exact transitions); at ``n = 0`` it is ``alpha_0 (x - E[x])``. The
decoder replays the chain with the transmitted indices and outputs the
posterior mean ``E[x | z_{S-1}]`` at the last grid point.

Rate: ``bits`` per step, fixed length, so a stream is ``header + ceil(S bits /
8)`` bytes. Header (little endian)::

    b"DDC" | version u8 | bits u8 | ndim u8, shape (varints) | steps (varint) | seed (varint)
    | first and last log-SNR (f32, f32) | CRC-32 u32 of (model hash, the header before it, the payload)

The CRC covers the model hash (``chain.model_hash``), so a stream decoded with
another model is refused like a corrupted one. A 96x64 RGB image with a seed
below 128 has a header of 23 bytes below 128 steps, 24 bytes from 128 to
16383 steps.

Grid: :func:`ddcm_grid`, uniform in log-SNR from the model's ``log_snr_min``
to where the model's population rate ``I(X; Z)`` reaches
:data:`GRID_RATE_FACTOR` (1) times the stream's ``S bits`` bits, found as the
DiffC image grid's stop is (``image.grid_to_rate``). The factor was chosen on
the photographs the image model was fitted to (never on Kodak); 0.5 to 8
moved their mean PSNR by a few tenths of a dB.

Randomness and exactness: codebook vector ``k`` of step ``n`` is candidate ``k``
of the Philox stream ``(seed, n, chunk 0, domain DOMAIN_CODEBOOK)`` of
``empirical.rcc.sampler`` (Box-Muller, an integer function of ``(seed, n, k)``).
The sender scores the ``K`` vectors in float32 blocks (``sampler.linear_scores``);
sender and receiver compute the chosen vector in float64
(``sampler.selected_normals``), so the index parse is exact everywhere and the
reconstruction is bit-identical on one machine and NumPy build (the scan's
float32 rounding only decides near-ties, and the index is sent).
"""
from __future__ import annotations

import dataclasses
import math
import struct
import zlib

import numpy as np

from empirical import models

from . import chain
from .image import STATIONARY_SPEC, _as_image, grid_to_rate, image_model_for

__all__ = ["DDCMResult", "DDCMHeader", "encode", "encode_detailed", "decode", "read_header", "replay", "ddcm_grid",
           "CODEBOOK_BITS_RANGE", "MAX_STEPS", "GRID_RATE_FACTOR"]

MAGIC = b"DDC"
VERSION = 1
CODEBOOK_BITS_RANGE = (1, 16)
MAX_STEPS = 2**16
MAX_SEED = 2**64 - 1
GRID_RATE_FACTOR = 1.0
"""The grid ends where the model's population rate is this many times the stream's rate (see :func:`ddcm_grid`)."""
SCAN_BLOCK_WORDS = 1 << 17
"""Philox words per float32 scoring block of the sender (1 MiB of words, 14 vectors of a 96x64 RGB image; blocks
of 16 MiB were slower, mostly in page faults)."""


@dataclasses.dataclass(frozen=True)
class DDCMHeader:
    """The fields of a DDCM stream's header; ``header_bytes`` is its length, CRC included."""

    shape: tuple
    codebook_bits: int
    num_steps: int
    seed: int
    grid: chain.Grid
    header_bytes: int

    @property
    def payload_bytes(self) -> int:
        """``ceil(num_steps codebook_bits / 8)``: the packed indices."""
        return -(-self.num_steps * self.codebook_bits // 8)


@dataclasses.dataclass(frozen=True)
class DDCMResult:
    """What :func:`encode_detailed` sent: the stream, the indices, the grid and the sender's reconstruction.

    Attributes
    ----------
    data : bytes
        The stream (header and packed indices).
    indices : numpy.ndarray
        ``[S]`` int64 codebook index of each step.
    grid : chain.Grid
        The log-SNR grid (float32 endpoints, as in the header).
    codebook_bits : int
        ``log2 K``, bits per step.
    x_hat : numpy.ndarray
        The sender's reconstruction ``E[x | z_{S-1}]`` in the image's shape (what :func:`decode` returns).
    header_bits : int
        ``8 x`` the header bytes, CRC included.
    """

    data: bytes
    indices: np.ndarray
    grid: chain.Grid
    codebook_bits: int
    x_hat: np.ndarray
    header_bits: int

    @property
    def coded_bits_total(self) -> int:
        """``8 len(data)``: header included."""
        return 8 * len(self.data)


def _check_int(name, value, lo, hi) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or not lo <= value <= hi:
        raise ValueError(f"{name}: must be an integer in {lo}..{hi}, got {value!r}")
    return int(value)


def ddcm_grid(model, shape, num_steps: int, codebook_bits: int) -> chain.Grid:
    """The grid of a stream of ``num_steps`` steps of ``codebook_bits`` bits: uniform in log-SNR from
    ``model.log_snr_min`` to where the model's population rate reaches ``GRID_RATE_FACTOR x num_steps x
    codebook_bits`` bits (``image.grid_to_rate``, the DiffC image grid's rule)."""
    pixels = int(shape[0]) * int(shape[1])
    return grid_to_rate(model, shape, GRID_RATE_FACTOR * num_steps * codebook_bits / pixels, num_steps)


def _best_index(linear, seed: int, step: int, num_candidates: int) -> int:
    """``argmax_k sum_j linear_j c_kj`` over the step's codebook (float32 scores in blocks; the first on a tie)."""
    from empirical.rcc import sampler

    h = sampler.words_per_candidate(linear.size)
    rows = max(1, SCAN_BLOCK_WORDS // h)
    best_score, best = -np.inf, 0
    for first in range(0, num_candidates, rows):
        count = min(rows, num_candidates - first)
        scores = sampler.linear_scores(linear, seed, step, 0, sampler.DOMAIN_CODEBOOK, first, count)
        k = int(np.argmax(scores))
        if scores[k] > best_score:
            best_score, best = float(scores[k]), first + k
    return best


def _walk(model, grid: chain.Grid, seed: int, codebook_bits: int, x=None, indices=None, progress=None):
    """``(indices, x_hat [dim])`` of the chain: the sender's choices given ``x``, or the receiver's given ``indices``."""
    from empirical.rcc import sampler

    d = model.dim
    log_snrs = grid.log_snrs
    chosen = np.empty(grid.num_points, dtype=np.int64)
    z = None
    for step in range(grid.num_points):
        p, q = chain._step_distributions(model, step, log_snrs, None if z is None else z[None, :],
                                         None if x is None else x[None, :])
        p_mean, p_std = chain._in_basis(p, model, d)
        if indices is None:
            gap = models.to_coefficients(model, q.mean).reshape(d) - p_mean
            chosen[step] = _best_index(p_std * gap, seed, step, 1 << codebook_bits)
        else:
            chosen[step] = indices[step]
        noise = sampler.selected_normals(seed, step, 0, int(chosen[step]), d, domain=sampler.DOMAIN_CODEBOOK)
        z = models.from_coefficients(model, p_mean + p_std * noise)
        if progress is not None:
            progress(step + 1, grid.num_points)
    return chosen, model.denoise(z[None, :], log_snrs[-1])[0]


def _pack(indices, bits: int) -> bytes:
    """The indices, ``bits`` each, low bits first, in ``ceil(len bits / 8)`` bytes (the last byte zero-padded)."""
    acc = 0
    for i, k in enumerate(indices):
        acc |= int(k) << (bits * i)
    return acc.to_bytes(-(-len(indices) * bits // 8), "little")


def _unpack(payload: bytes, bits: int, count: int) -> np.ndarray:
    acc = int.from_bytes(payload, "little")
    if acc >> (bits * count):
        raise ValueError("data: the padding bits after the last index are not zero (corrupted stream)")
    mask = (1 << bits) - 1
    return np.array([(acc >> (bits * i)) & mask for i in range(count)], dtype=np.int64)


def _header_without_crc(shape, codebook_bits, num_steps, seed, grid) -> bytes:
    from empirical.rcc.bitstream import _varint

    head = bytearray(MAGIC) + struct.pack("<BBB", VERSION, codebook_bits, len(shape))
    for s in shape:
        head += _varint(int(s))
    head += _varint(num_steps) + _varint(seed)
    head += struct.pack("<ff", grid.log_snr_start, grid.log_snr_stop)
    return bytes(head)


def _crc(model, head: bytes, payload: bytes) -> int:
    return zlib.crc32(chain.model_hash(model) + head + payload)


def encode_detailed(image, model=STATIONARY_SPEC, num_steps: int = 96, codebook_bits: int = 8, seed: int = 0, *,
                    log_snr_stop=None, progress=None) -> DDCMResult:
    """Encode one image with DDCM; the stream, the indices and the sender's reconstruction.

    Parameters
    ----------
    image : str, path or numpy.ndarray
        A PNG/JPEG/.npy file or an ``[H, W(, C)]`` array in [-1, 1] (as :func:`empirical.codec.encode_image`).
    model : str or Denoiser
        An image model spec (``"oracle:stationary"``, ``"tiled:oracle"``, ``"tiled:CHECKPOINT.pt"``; the decoder,
        given the same spec, makes the model for the header's shape) or a denoiser of the image's size.
    num_steps : int
        Steps ``S`` of the chain, 2..65536 (the grid's points).
    codebook_bits : int
        ``log2 K``, 1..16: each step picks one of ``K = 2^codebook_bits`` vectors and costs that many bits.
    seed : int
        The shared seed of the codebooks, 0..2^64 - 1.
    log_snr_stop : float or None
        The grid's last log-SNR; default :func:`ddcm_grid`'s.
    progress : callable or None
        Called as ``progress(step, num_steps)`` after each step.

    Returns
    -------
    DDCMResult
        ``8 len(data) = 8 header_bytes + 8 ceil(S codebook_bits / 8)`` bits.

    Examples
    --------
    >>> result = encode_detailed(np.zeros((8, 8, 3)), num_steps=4, codebook_bits=3, seed=1)
    >>> len(result.data) - result.header_bits // 8, decode(result.data).shape
    (2, (8, 8, 3))
    """
    x = _as_image(image)
    denoiser = image_model_for(model, x.shape)
    num_steps = _check_int("num_steps", num_steps, 2, MAX_STEPS)
    codebook_bits = _check_int("codebook_bits", codebook_bits, *CODEBOOK_BITS_RANGE)
    seed = _check_int("seed", seed, 0, MAX_SEED)
    grid = ddcm_grid(denoiser, x.shape, num_steps, codebook_bits)
    if log_snr_stop is not None:
        grid = chain.Grid(num_steps, grid.log_snr_start, log_snr_stop)
    indices, x_hat = _walk(denoiser, grid, seed, codebook_bits, x=x.reshape(-1), progress=progress)
    head = _header_without_crc(x.shape, codebook_bits, num_steps, seed, grid)
    payload = _pack(indices, codebook_bits)
    head += struct.pack("<I", _crc(denoiser, head, payload))
    return DDCMResult(head + payload, indices, grid, codebook_bits, x_hat.reshape(x.shape), 8 * len(head))


def encode(image, model=STATIONARY_SPEC, num_steps: int = 96, codebook_bits: int = 8, seed: int = 0, **options) -> bytes:
    """The bytes of :func:`encode_detailed` (same arguments)."""
    return encode_detailed(image, model, num_steps, codebook_bits, seed, **options).data


def read_header(data) -> DDCMHeader:
    """The header fields of a DDCM stream (its CRC is checked by :func:`decode`, which knows the model)."""
    from empirical.rcc.bitstream import _Reader

    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ValueError(f"data: expected bytes, got {type(data).__name__}")
    data = bytes(data)
    if data[:len(MAGIC)] != MAGIC:
        raise ValueError(f"data: starts with {data[:len(MAGIC)]!r}, not {MAGIC!r}: not a DDCM stream")
    reader = _Reader(data)
    try:
        reader.take(len(MAGIC), "magic")
        version, bits, ndim = (reader.unpack("<B", what) for what in ("version", "codebook bits", "shape"))
        if version != VERSION:
            raise ValueError(f"data: DDCM stream version {version}, this decoder reads version {VERSION}")
        if not CODEBOOK_BITS_RANGE[0] <= bits <= CODEBOOK_BITS_RANGE[1] or ndim != 3:
            raise ValueError(f"data: corrupted header ({bits} codebook bits, {ndim} dims)")
        shape = tuple(reader.varint("shape entry", 2**20) for _ in range(ndim))
        if shape[2] not in (1, 3):
            raise ValueError(f"data: corrupted header (an image with {shape[2]} channels)")
        num_steps = reader.varint("step count", MAX_STEPS)
        seed = reader.varint("seed", MAX_SEED)
        start, stop = reader.unpack("<f", "grid"), reader.unpack("<f", "grid")
        reader.take(4, "checksum")
        grid = chain.Grid(num_steps, start, stop)
    except ValueError as err:
        message = str(err)
        raise ValueError(message if message.startswith("data: ") else f"data: corrupted DDCM header: {message}") from None
    return DDCMHeader(shape, bits, num_steps, seed, grid, reader.pos)


def decode(data, model=STATIONARY_SPEC) -> np.ndarray:
    """The reconstruction ``E[x | z_{S-1}]`` (``[H, W, C]`` float64, not clipped) of a DDCM stream.

    ``model`` is the spec or denoiser the encoder used; a truncated, padded or corrupted stream, or one made for
    another model, is a one-line ValueError starting ``data:``.
    """
    header = read_header(data)
    data = bytes(data)
    try:
        denoiser = image_model_for(model, header.shape)
    except ValueError as err:
        raise ValueError(f"data: the header's {'x'.join(map(str, header.shape))} image does not fit the model "
                         f"(corrupted header?): {err}") from None
    payload = data[header.header_bytes:]
    if len(payload) != header.payload_bytes:
        raise ValueError(f"data: {len(payload)} bytes of indices, the header's {header.num_steps} steps of "
                         f"{header.codebook_bits} bits take {header.payload_bytes} (truncated or padded stream)")
    head = data[:header.header_bytes - 4]
    if _crc(denoiser, head, payload) != struct.unpack("<I", data[header.header_bytes - 4:header.header_bytes])[0]:
        raise ValueError("data: checksum mismatch: the stream is corrupted or was made for another model")
    indices = _unpack(payload, header.codebook_bits, header.num_steps)
    return replay(denoiser, header.grid, header.seed, header.codebook_bits, indices).reshape(header.shape)


def replay(model, grid: chain.Grid, seed: int, codebook_bits: int, indices) -> np.ndarray:
    """``[dim]`` reconstruction of the chain that takes codebook vector ``indices[n]`` at step ``n`` (the decoder;
    with uniformly random indices, ancestral sampling from the model with codebook noise)."""
    indices = np.asarray(indices)
    if indices.shape != (grid.num_points,) or np.any(indices < 0) or np.any(indices >= 1 << codebook_bits):
        raise ValueError(f"indices: expected {grid.num_points} integers in 0..{(1 << codebook_bits) - 1}")
    return _walk(model, grid, seed, codebook_bits, indices=indices)[1]
