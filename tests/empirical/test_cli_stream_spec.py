"""Self-describing streams: an oracle stream records its data source; decompress needs only the stream and the model."""
import numpy as np
import pytest

from empirical import codec, data, models
from empirical.codec import compress, decompress


@pytest.fixture(scope="module")
def oracle_stream(tmp_path_factory):
    folder = tmp_path_factory.mktemp("spec")
    f = folder / "g.dfrc"
    assert compress.main(["--model", "oracle", "--data", "gaussian", "--spectrum", "powerlaw:1", "--dim", "6",
                          "--basis-seed", "3", "--steps", "6", "--padding-bits", "4", "--no-progress",
                          "--out", str(f)]) == 0
    return f


def _fail(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        decompress.main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    return err


def test_header_records_the_oracle(oracle_stream):
    spec = codec.read_header(oracle_stream.read_bytes()).model_spec
    assert spec == b"model=oracle;data=gaussian;spectrum=powerlaw:1;dim=6;basis_seed=3"


def test_decompress_needs_only_the_stream_and_the_model(oracle_stream, tmp_path, capsys):
    """--model oracle alone decodes; the result equals decoding with the oracle rebuilt by hand."""
    out = tmp_path / "x.npy"
    assert decompress.main([str(oracle_stream), "--model", "oracle", "--out", str(out)]) == 0
    oracle = models.GaussianOracle.from_source(data.gaussian("powerlaw:1", dim=6, basis_seed=3))
    want = codec.decode(oracle_stream.read_bytes(), oracle, "flow")
    np.testing.assert_array_equal(np.load(out), want)


@pytest.mark.parametrize("extra,flag", [(["--spectrum", "flat"], "--spectrum"), (["--dim", "7"], "--dim"),
                                        (["--basis-seed", "0"], "--basis-seed"), (["--data", "patches"], "--data"),
                                        (["--basis", "pixel"], "--basis")])
def test_a_differing_option_is_named(oracle_stream, capsys, extra, flag):
    err = _fail([str(oracle_stream), "--model", "oracle", *extra], capsys)
    assert f"error: {flag}: the stream was made with" in err


def test_oracle_variant_and_checkpoint_mismatches(oracle_stream, capsys, tmp_path):
    assert "--model: the stream was made with --model oracle, not oracle:plugin" in _fail(
        [str(oracle_stream), "--model", "oracle:plugin"], capsys)
    src = data.gaussian("powerlaw:1", dim=6, basis_seed=3)
    blob = codec.encode(src.examples("test", 1)[0], models.GaussianOracle.from_source(src), num_steps=4,
                        padding_bits=4)                    # an API stream without a model spec: a checkpoint's
    f = tmp_path / "api.dfrc"
    f.write_bytes(blob)
    assert "--model: the stream was made with a checkpoint" in _fail([str(f), "--model", "oracle"], capsys)


def test_checkpoint_streams(oracle_stream, tmp_path, capsys):
    """A checkpoint stream records no spec; another checkpoint is refused by hash, naming --model; an oracle stream
    given a checkpoint says which oracle to use."""
    pytest.importorskip("torch")
    from empirical.models import learned
    from tests.empirical.test_codec import _tiny_learned

    src = data.gaussian("powerlaw:1", dim=6, basis_seed=3)
    paths = []
    for seed in (1, 2):
        path = tmp_path / f"m{seed}.pt"
        learned.save_checkpoint(path, _tiny_learned(6, (6,), seed=seed, source=src))
        paths.append(path)
    stream = tmp_path / "c.dfrc"
    assert compress.main(["--model", str(paths[0]), "--data", "gaussian", "--spectrum", "powerlaw:1", "--dim", "6",
                          "--basis-seed", "3", "--steps", "6", "--log-snr-stop", "0", "--padding-bits", "4", "--no-progress",
                          "--out", str(stream)]) == 0
    assert codec.read_header(stream.read_bytes()).model_spec == b""
    assert decompress.main([str(stream), "--model", str(paths[0]), "--method", "mean"]) == 0
    capsys.readouterr()
    assert "--model: the stream was encoded with another model" in _fail([str(stream), "--model", str(paths[1])],
                                                                         capsys)
    assert "--model: the stream was made with the oracle" in _fail([str(oracle_stream), "--model", str(paths[0])],
                                                                   capsys)
