"""The stream container: round trips, progressive prefixes, truncation, corruption and wrong-stream errors."""
import struct
import warnings
import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from empirical import rcc
from empirical.rcc.bitstream import (MAGIC, VERSION, Bitstream, BitstreamError, BitstreamTruncatedWarning, _varint,
                                 content_hash)

MODEL = content_hash(b"model weights")
SCHEDULE = content_hash(b"schedule")


def _stream(segments=(b"\x01\x02", b"", b"\xff" * 5, b"xyz"), **kw):
    args = dict(shape=(2, 3), model_hash=MODEL, schedule_hash=SCHEDULE, seed=2**64 - 1, budget_bits=8,
                padding_bits=8, segments=segments)
    args.update(kw)
    return Bitstream(**args)


def _read(data, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BitstreamTruncatedWarning)
        return Bitstream.from_bytes(data, **kw)


def test_round_trip_and_sizes():
    """Identity: from_bytes(to_bytes(b)) == b; num_bits(True) = 8 len(to_bytes()); payload_bits = 8 sum(lengths)."""
    bs = _stream()
    data = bs.to_bytes()
    assert Bitstream.from_bytes(data, model_hash=MODEL, schedule_hash=SCHEDULE) == bs
    assert bs.num_bits() == 8 * len(data) and bs.payload_bits == 8 * 10 == bs.num_bits(include_header=False)
    assert data.startswith(MAGIC) and bs.segment_lengths == (2, 0, 5, 3) and bs.num_dims == 6


def test_every_prefix_decodes():
    """Progressive: prefix(k) is a complete stream of the first k steps, for every k (0..S)."""
    bs = _stream()
    for k in range(bs.num_steps + 1):
        back = Bitstream.from_bytes(bs.prefix(k).to_bytes())
        assert back.segments == bs.segments[:k] and not back.truncated


def test_every_cut_decodes_the_complete_prefix():
    """Truncation at every byte: inside the header -> BitstreamError; inside the payload -> the steps whose
    segments are complete, truncated=True and a BitstreamTruncatedWarning naming that count."""
    bs = _stream()
    data = bs.to_bytes()
    header = len(bs.header_bytes())
    ends = np.cumsum(bs.segment_lengths)
    for cut in range(len(data)):
        if cut < header:
            with pytest.raises(BitstreamError, match="stream (ends inside the header|too short)"):
                Bitstream.from_bytes(data[:cut])
            continue
        complete = int(np.sum(ends <= cut - header))
        with pytest.warns(BitstreamTruncatedWarning, match=f"complete prefix of {complete} steps"):
            back = Bitstream.from_bytes(data[:cut])
        assert back.truncated and back.declared_num_steps == 4 and back.segments == bs.segments[:complete]


def test_every_single_bit_flip_is_detected():
    """Corruption: each of the 8 len(data) single-bit flips raises BitstreamError (magic, version, header CRC or
    payload CRC; CRC-32 detects every burst of <= 32 bits)."""
    data = bytearray(_stream().to_bytes())
    for pos in range(len(data)):
        for bit in range(8):
            data[pos] ^= 1 << bit
            with pytest.raises(BitstreamError):
                _read(bytes(data))
            data[pos] ^= 1 << bit


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_fuzzed_streams_give_clear_errors(data):
    """Corruption: random bytes, or a valid stream with 1-4 bytes overwritten, raise BitstreamError."""
    good = _stream().to_bytes()
    if data.draw(st.booleans()):
        blob = data.draw(st.binary(max_size=120))
        if blob.startswith(MAGIC):
            return
    else:
        blob = bytearray(good)
        for _ in range(data.draw(st.integers(1, 4))):
            pos = data.draw(st.integers(0, len(blob) - 1))
            blob[pos] = data.draw(st.integers(0, 255).filter(lambda v, p=pos: v != good[p]))
        if bytes(blob) == good:
            return
    with pytest.raises(BitstreamError):
        _read(bytes(blob))


def _reheader(bs, mutate):
    """The stream's bytes with header fields changed by ``mutate`` and a recomputed (valid) header CRC."""
    data = bytearray(bs.to_bytes())
    head_len = len(bs.header_bytes())
    head = bytearray(data[:head_len - 4])
    mutate(head)
    head += struct.pack("<I", zlib.crc32(bytes(head)))
    return bytes(head) + bytes(data[head_len:])


def test_wrong_stream_errors_are_specific():
    """Clear errors: wrong magic, version, model hash, schedule hash, index-model table, lengths that leave
    bytes after the last segment, and a changed length field (header CRC)."""
    bs = _stream()
    data = bs.to_bytes()
    with pytest.raises(BitstreamError, match="wrong magic"):
        Bitstream.from_bytes(b"NOPE" + data[4:])
    with pytest.raises(BitstreamError, match="unsupported version 7"):
        Bitstream.from_bytes(data[:4] + b"\x07" + data[5:])
    with pytest.raises(BitstreamError, match="model hash mismatch"):
        Bitstream.from_bytes(data, model_hash=content_hash(b"other"))
    with pytest.raises(BitstreamError, match="schedule hash mismatch"):
        Bitstream.from_bytes(data, schedule_hash=content_hash(b"other"))
    crc_at = 4 + 1 + 1 + 2 + 2 * 16 + 1 + 8 + 2       # magic, version, ndim, two 1-byte dims, hashes, spec, seed, b, pad

    def bad_table(head):
        head[crc_at:crc_at + 4] = struct.pack("<I", rcc.index_model_checksum(8, 8) ^ 1)

    with pytest.raises(BitstreamError, match="index model checksum mismatch"):
        Bitstream.from_bytes(_reheader(bs, bad_table))
    with pytest.raises(BitstreamError, match="corrupted segment lengths: 3 bytes follow"):
        Bitstream.from_bytes(data + b"abc")
    with pytest.raises(BitstreamError, match="header checksum mismatch"):
        Bitstream.from_bytes(_flip_length(bs))


def _flip_length(bs):
    """The stream with its first segment length field changed (CRC not updated); lengths are 1-byte varints."""
    data = bytearray(bs.to_bytes())
    pos = len(bs.header_bytes()) - 8 - len(bs.segments)     # lengths precede the two CRC-32 fields
    data[pos] ^= 1
    return bytes(data)


def test_header_fields_are_validated_after_the_crc():
    """A header with a valid CRC but an impossible field (budget 0, ndim 0, huge varint) is a BitstreamError."""
    bs = _stream()
    budget_at = 4 + 1 + 1 + 2 + 2 * 16 + 1 + 8           # ... hashes, empty model spec (one length byte), seed

    def zero_budget(head):
        head[budget_at] = 0

    with pytest.raises(BitstreamError, match="corrupted header: budget_bits"):
        Bitstream.from_bytes(_reheader(bs, zero_budget))

    def zero_ndim(head):
        head[5] = 0

    with pytest.raises(BitstreamError, match="corrupted header|header checksum"):
        Bitstream.from_bytes(_reheader(bs, zero_ndim))
    huge = MAGIC + bytes([VERSION, 1]) + b"\xff" * 11
    with pytest.raises(BitstreamError, match="longer than 10 bytes"):
        Bitstream.from_bytes(huge)


def test_constructor_validates_fields():
    """Bad field values raise ValueError naming the field and the accepted range."""
    for kw, match in [(dict(shape=()), "shape must have 1 to 8"), (dict(model_hash=b"x"), "model_hash must be 16"),
                      (dict(seed=-1), "seed must be an integer"), (dict(budget_bits=25), "budget_bits"),
                      (dict(padding_bits=-1), "padding_bits"), (dict(segments=("x",)), "segments\\[0\\]")]:
        with pytest.raises(ValueError, match=match):
            _stream(**kw)


def test_varint_round_trip():
    """Identity: LEB128 of v has ceil(bits(v)/7) bytes and parses back (through a one-step header)."""
    for v in (0, 1, 127, 128, 300, 2**35 + 7):
        assert len(_varint(v)) == max(1, -(-v.bit_length() // 7))
    bs = _stream(segments=(b"q" * 300,))
    assert Bitstream.from_bytes(bs.to_bytes()).segment_lengths == (300,)


def test_multi_step_rcc_stream_decodes_every_cut():
    """End to end: 4 RCC steps in one stream; cut at every payload byte, the complete steps decode to the
    encoder's samples bit for bit."""
    rng = np.random.default_rng(4)
    shape, seed = (3, 5), 12345
    steps = []
    for step in range(4):
        p_mean, p_std = rng.normal(size=shape), np.full(shape, 0.7)
        q_mean = p_mean + rng.normal(0, 0.3, shape)
        code = rcc.encode_step(q_mean, p_std, p_mean, p_std, seed=seed, step=step, budget_bits=6, padding_bits=4)
        steps.append((p_mean, p_std, code))
    bs = Bitstream(shape, MODEL, SCHEDULE, seed, 6, 4, tuple(c.segment for _, _, c in steps))
    data = bs.to_bytes()
    header = len(bs.header_bytes())
    for cut in range(header, len(data) + 1):
        back = _read(data[:cut], model_hash=MODEL, schedule_hash=SCHEDULE)
        for step, seg in enumerate(back.segments):
            p_mean, p_std, code = steps[step]
            message = rcc.decode_segment(seg, back.num_dims, budget_bits=back.budget_bits,
                                         padding_bits=back.padding_bits)
            x = rcc.decode_step(message, p_mean, p_std, seed=back.seed, step=step, budget_bits=6, padding_bits=4)
            assert x.tobytes() == code.samples.tobytes()


def test_model_spec_round_trips_and_is_checked():
    """The model spec is header text: it round-trips (also through prefix()), the header CRC covers it, and
    non-ASCII or oversized specs are refused."""
    bs = Bitstream(shape=(4,), model_hash=content_hash(b"m"), schedule_hash=content_hash(b"s"), seed=1, budget_bits=8,
                   padding_bits=8, segments=(b"ab", b"c"), model_spec=b"model=oracle;data=patches")
    data = bs.to_bytes()
    back = Bitstream.from_bytes(data)
    assert back.model_spec == b"model=oracle;data=patches" and back == bs
    assert Bitstream.from_bytes(bs.prefix(1).to_bytes()).model_spec == bs.model_spec
    at = data.index(b"model=oracle")
    flipped = data[:at] + b"M" + data[at + 1:]
    with pytest.raises(BitstreamError, match="header checksum"):
        Bitstream.from_bytes(flipped)
    for bad in ("caf\u00e9", b"x" * 1025):
        with pytest.raises(ValueError, match="model_spec"):
            Bitstream(shape=(4,), model_hash=content_hash(b"m"), schedule_hash=content_hash(b"s"), seed=1,
                      budget_bits=8, padding_bits=8, model_spec=bad)

