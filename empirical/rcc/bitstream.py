"""The DiffC stream container: a checked header and one range-coded segment per diffusion step.

::

    +------+---------+-------+------------+---------------+------------+------+--------+---------+-------------+
    | DFRC | version | shape | model hash | schedule hash | model spec | seed | budget | padding | index model |
    |  4B  |   u8    |  var  |    16B     |      16B      |  var + var | u64  |   u8   |   u8    |  CRC-32 u32 |
    +------+---------+-------+------------+---------------+------------+------+--------+---------+-------------+
    | step count | segment lengths (one varint per step) | payload CRC-32 | header CRC-32 |
    +------------+---------------------------------------+----------------+---------------+
    | segment 0 | segment 1 | ... | segment S-1 |       <- payload: each one step's StepMessage
    +-----------+-----------+-----+-------------+

Integers are little-endian; ``shape`` is ``ndim`` (u8, 1..8) followed by
``ndim`` varints; varints are LEB128 (7 bits per byte, low first, at most 10
bytes). ``model spec`` is a varint length and that many bytes of ASCII text
that tell a decoder how to rebuild the model besides its hash (for the Gaussian
oracles: the data source and its parameters; empty for a checkpoint, whose file
the decoder is given). The header CRC-32 covers every header byte before it, so corrupted
lengths, shapes or parameters are caught before any segment is read; the
payload CRC-32 covers all segments. ``index model`` is
``empirical.rcc.index_model_checksum(budget, padding)`` of the encoder's
index table (package data); a decoder whose table differs refuses the stream.

Progressive decoding: the header lists every segment's length, so the first
``k`` segments decode without the rest. ``Bitstream.prefix(k)`` repacks a
complete ``k``-step stream (with its own checksums); a stream cut anywhere
inside the payload decodes to its complete steps, with ``truncated`` set and a
``BitstreamTruncatedWarning`` saying how many steps survived (the payload CRC
cannot be checked on a cut stream). Everything else that is wrong raises
``BitstreamError`` (a ``ValueError``) saying what.

>>> bs = Bitstream(shape=(2, 3), model_hash=content_hash(b"model"), schedule_hash=content_hash(b"sched"),
...                seed=7, budget_bits=8, padding_bits=8, segments=(b"ab", b"", b"cde"))
>>> data = bs.to_bytes()
>>> Bitstream.from_bytes(data) == bs
True
>>> import warnings
>>> with warnings.catch_warnings(record=True) as caught:
...     warnings.simplefilter("always")
...     cut = Bitstream.from_bytes(data[:-2])
>>> cut.segments, cut.truncated, cut.declared_num_steps
((b'ab', b''), True, 3)
"""
from __future__ import annotations

import hashlib
import math
import struct
import warnings
import zlib
from dataclasses import dataclass

from .._errors import BitstreamError, BitstreamTruncatedWarning
from .._errors import check_int as _check_int
from .checks import BUDGET_BITS_RANGE, MAX_INDEX_BITS, PADDING_BITS_RANGE

__all__ = [
    "MAGIC",
    "VERSION",
    "HASH_BYTES",
    "Bitstream",
    "BitstreamError",
    "BitstreamTruncatedWarning",
    "content_hash",
]

MAGIC = b"DFRC"
VERSION = 4
HASH_BYTES = 16
MAX_NDIM = 8
MAX_NUM_DIMS = 2**32 - 1
MAX_NUM_STEPS = 2**32 - 1
MAX_SEGMENT_BYTES = 2**40
MAX_MODEL_SPEC_BYTES = 1024
_MAX_VARINT_BYTES = 10


def content_hash(data):
    """16-byte BLAKE2b digest of ``data`` (bytes), for ``model_hash`` / ``schedule_hash``."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ValueError(f"data must be bytes, got {type(data).__name__}")
    return hashlib.blake2b(bytes(data), digest_size=HASH_BYTES).digest()


def _varint(value):
    """LEB128 encoding of a non-negative int."""
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


class _Reader:
    """Sequential reader of header fields that raises ``BitstreamError`` when the stream ends early."""

    def __init__(self, data):
        self.data = data
        self.pos = 0

    def take(self, count, what):
        """The next ``count`` bytes, for the field ``what``."""
        end = self.pos + count
        if end > len(self.data):
            raise BitstreamError(f"stream ends inside the header (in the {what}, after {len(self.data)} bytes: "
                                 f"truncated, or a corrupted length field); no step can be decoded")
        chunk = self.data[self.pos:end]
        self.pos = end
        return chunk

    def unpack(self, fmt, what):
        """One little-endian struct field."""
        return struct.unpack(fmt, self.take(struct.calcsize(fmt), what))[0]

    def varint(self, what, limit):
        """One LEB128 varint in ``[0, limit]``."""
        value = 0
        for i in range(_MAX_VARINT_BYTES):
            byte = self.take(1, what)[0]
            value |= (byte & 0x7F) << (7 * i)
            if not byte & 0x80:
                if value > limit:
                    raise BitstreamError(f"corrupted header: {what} is {value}, above the limit {limit}")
                return value
        raise BitstreamError(f"corrupted header: {what} is a varint longer than {_MAX_VARINT_BYTES} bytes")


@dataclass(frozen=True)
class Bitstream:
    """A DiffC stream: header fields and one segment (``bytes``) per coded step.

    ``declared_num_steps`` is the step count in the header of a stream that was
    read truncated (``from_bytes``); ``None`` means ``len(segments)``.
    ``to_bytes`` always writes a complete stream of the segments present.
    """

    shape: tuple                      # data shape, 1..8 dims, product < 2^32
    model_hash: bytes                 # 16 bytes identifying the denoiser (content_hash of its weights)
    schedule_hash: bytes              # 16 bytes identifying the noise schedule and step grid
    seed: int                         # shared seed in [0, 2^64)
    budget_bits: int                  # chunk KL budget in bits, [1, 24]
    padding_bits: int                 # index range 2^(budget + padding): the most candidates a chunk scans
    segments: tuple = ()              # one bytes object per step, in step order
    declared_num_steps: int | None = None
    model_spec: bytes = b""           # ASCII text: how to rebuild the model (oracles), empty for checkpoints

    def __post_init__(self):
        try:
            shape = tuple(self.shape)
        except TypeError:
            raise ValueError(f"shape must be a tuple of ints, got {self.shape!r}") from None
        if not 1 <= len(shape) <= MAX_NDIM:
            raise ValueError(f"shape must have 1 to {MAX_NDIM} dimensions, got {len(shape)}")
        shape = tuple(_check_int("shape entries", s, 1, MAX_NUM_DIMS) for s in shape)
        if math.prod(shape) > MAX_NUM_DIMS:
            raise ValueError(f"shape must have at most {MAX_NUM_DIMS} elements, got {math.prod(shape)}")
        for name in ("model_hash", "schedule_hash"):
            value = getattr(self, name)
            if not isinstance(value, (bytes, bytearray)) or len(value) != HASH_BYTES:
                raise ValueError(f"{name} must be {HASH_BYTES} bytes (see content_hash), got {value!r}")
            object.__setattr__(self, name, bytes(value))
        for name, lo, hi in (("seed", 0, 2**64 - 1), ("budget_bits", *BUDGET_BITS_RANGE),
                             ("padding_bits", *PADDING_BITS_RANGE)):
            object.__setattr__(self, name, _check_int(name, getattr(self, name), lo, hi))
        if self.budget_bits + self.padding_bits > MAX_INDEX_BITS:
            raise ValueError(f"budget_bits + padding_bits must be <= {MAX_INDEX_BITS}, "
                             f"got {self.budget_bits} + {self.padding_bits}")
        segments = tuple(self.segments)
        if len(segments) > MAX_NUM_STEPS:
            raise ValueError(f"segments must hold at most {MAX_NUM_STEPS} steps, got {len(segments)}")
        for i, seg in enumerate(segments):
            if not isinstance(seg, (bytes, bytearray, memoryview)):
                raise ValueError(f"segments[{i}] must be bytes, got {type(seg).__name__}")
        segments = tuple(bytes(seg) for seg in segments)
        if self.declared_num_steps is not None:
            object.__setattr__(self, "declared_num_steps", _check_int(
                "declared_num_steps", self.declared_num_steps, len(segments), MAX_NUM_STEPS))
        spec = self.model_spec
        if isinstance(spec, str):
            spec = spec.encode("ascii", errors="strict") if spec.isascii() else None
        if not isinstance(spec, (bytes, bytearray)) or len(spec) > MAX_MODEL_SPEC_BYTES or not bytes(spec).isascii():
            raise ValueError(f"model_spec must be ASCII text of at most {MAX_MODEL_SPEC_BYTES} bytes, "
                             f"got {self.model_spec!r:.80}")
        object.__setattr__(self, "model_spec", bytes(spec))
        object.__setattr__(self, "shape", shape)
        object.__setattr__(self, "segments", segments)

    @property
    def num_steps(self):
        """Number of steps present (complete segments)."""
        return len(self.segments)

    @property
    def num_dims(self):
        """Number of data dimensions, the product of ``shape``."""
        return math.prod(self.shape)

    @property
    def truncated(self):
        """Whether the stream this was read from declared more steps than it contained."""
        return self.declared_num_steps is not None and self.declared_num_steps > len(self.segments)

    @property
    def segment_lengths(self):
        """Byte length of each segment."""
        return tuple(len(seg) for seg in self.segments)

    @property
    def payload_bits(self):
        """``8 x`` the total segment bytes: the coded steps without the header."""
        return 8 * sum(self.segment_lengths)

    def header_bytes(self):
        """The serialized header, checksums included."""
        from .index_coding import index_model_checksum

        payload_crc = zlib.crc32(b"".join(self.segments))
        head = bytearray(MAGIC)
        head += struct.pack("<BB", VERSION, len(self.shape))
        for s in self.shape:
            head += _varint(s)
        head += self.model_hash + self.schedule_hash
        head += _varint(len(self.model_spec)) + self.model_spec
        head += struct.pack("<QBBI", self.seed, self.budget_bits, self.padding_bits,
                            index_model_checksum(self.budget_bits, self.padding_bits))
        head += _varint(len(self.segments))
        for seg in self.segments:
            head += _varint(len(seg))
        head += struct.pack("<I", payload_crc)
        head += struct.pack("<I", zlib.crc32(bytes(head)))
        return bytes(head)

    def num_bits(self, include_header=True):
        """``8 len(to_bytes())`` with the header, or ``payload_bits`` without it."""
        return 8 * len(self.header_bytes()) + self.payload_bits if include_header else self.payload_bits

    def to_bytes(self):
        """The complete stream: header then segments."""
        return self.header_bytes() + b"".join(self.segments)

    def prefix(self, num_steps):
        """A complete stream of the first ``num_steps`` steps (new header and checksums)."""
        num_steps = _check_int("num_steps", num_steps, 0, len(self.segments))
        return Bitstream(self.shape, self.model_hash, self.schedule_hash, self.seed, self.budget_bits,
                         self.padding_bits, self.segments[:num_steps], model_spec=self.model_spec)

    @classmethod
    def from_bytes(cls, data, *, model_hash=None, schedule_hash=None):
        """Parse and check a stream; a stream cut inside the payload yields its complete steps.

        Parameters
        ----------
        data : bytes
            The stream, possibly truncated.
        model_hash, schedule_hash : bytes, optional
            The decoder's own hashes; a stream made for another model or
            schedule is refused.

        Returns
        -------
        Bitstream
            With ``truncated`` set (and a ``BitstreamTruncatedWarning``) if
            ``data`` ends inside a segment.

        Raises
        ------
        BitstreamError
            Wrong magic, version, hash or index model; a stream that ends in the
            header; corrupted header, lengths or payload (checksums).
        """
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise ValueError(f"data must be bytes, got {type(data).__name__}")
        data = bytes(data)
        if len(data) < len(MAGIC) + 1:
            raise BitstreamError(f"stream too short: {len(data)} bytes, the magic and version need "
                                 f"{len(MAGIC) + 1}")
        if data[:len(MAGIC)] != MAGIC:
            raise BitstreamError(f"wrong magic {data[:len(MAGIC)]!r} (expected {MAGIC!r}): "
                                 f"not a DiffC RCC stream")
        version = data[len(MAGIC)]
        if version != VERSION:
            raise BitstreamError(f"unsupported version {version} (this decoder reads version {VERSION})")
        reader = _Reader(data)
        reader.take(len(MAGIC) + 1, "magic")
        ndim = reader.unpack("<B", "shape")
        shape = tuple(reader.varint("shape entry", MAX_NUM_DIMS) for _ in range(ndim))
        stream_model_hash = reader.take(HASH_BYTES, "model hash")
        stream_schedule_hash = reader.take(HASH_BYTES, "schedule hash")
        model_spec = reader.take(reader.varint("model spec length", MAX_MODEL_SPEC_BYTES), "model spec")
        seed = reader.unpack("<Q", "seed")
        budget_bits = reader.unpack("<B", "chunk budget")
        padding_bits = reader.unpack("<B", "padding")
        model_crc = reader.unpack("<I", "index model checksum")
        num_steps = reader.varint("step count", MAX_NUM_STEPS)
        lengths = [reader.varint("segment length", MAX_SEGMENT_BYTES) for _ in range(num_steps)]
        payload_crc = reader.unpack("<I", "payload checksum")
        header_end = reader.pos
        header_crc = reader.unpack("<I", "header checksum")
        if zlib.crc32(data[:header_end]) != header_crc:
            raise BitstreamError("header checksum mismatch: the header (shape, hashes, seed, budget, padding, "
                                 "step count or segment lengths) is corrupted")
        try:
            cls(shape, stream_model_hash, stream_schedule_hash, seed, budget_bits, padding_bits,
                model_spec=model_spec)  # validates fields
        except ValueError as exc:
            raise BitstreamError(f"corrupted header: {exc}") from None
        from .index_coding import index_model_checksum

        if model_crc != index_model_checksum(budget_bits, padding_bits):
            raise BitstreamError(
                f"index model checksum mismatch: the stream's index table (budget {budget_bits}, padding "
                f"{padding_bits}) has CRC {model_crc:08x}, this decoder builds "
                f"{index_model_checksum(budget_bits, padding_bits):08x} (a stream from another version of the index tables)")
        for name, expected, got in (("model", model_hash, stream_model_hash),
                                    ("schedule", schedule_hash, stream_schedule_hash)):
            if expected is not None and bytes(expected) != got:
                raise BitstreamError(f"{name} hash mismatch: the stream was encoded for {name} {got.hex()}, "
                                     f"this decoder has {bytes(expected).hex()}")
        payload = data[reader.pos:]
        total = sum(lengths)
        if len(payload) > total:
            raise BitstreamError(f"corrupted segment lengths: {len(payload) - total} bytes follow the last "
                                 f"segment (lengths add up to {total}, the payload has {len(payload)})")
        segments, start = [], 0
        for length in lengths:
            if start + length > len(payload):
                break
            segments.append(payload[start:start + length])
            start += length
        if len(segments) < num_steps:
            warnings.warn(
                f"stream truncated inside segment {len(segments) + 1} of {num_steps}: decoded the complete "
                f"prefix of {len(segments)} steps ({len(payload)} of {total} payload bytes present; the "
                f"payload checksum cannot be verified on a cut stream)", BitstreamTruncatedWarning, stacklevel=2)
            return cls(shape, stream_model_hash, stream_schedule_hash, seed, budget_bits, padding_bits,
                       tuple(segments), declared_num_steps=num_steps, model_spec=model_spec)
        if zlib.crc32(payload) != payload_crc:
            raise BitstreamError("payload checksum mismatch: segment bytes are corrupted")
        return cls(shape, stream_model_hash, stream_schedule_hash, seed, budget_bits, padding_bits,
                   tuple(segments), model_spec=model_spec)
