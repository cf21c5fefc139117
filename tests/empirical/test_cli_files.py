"""Files of the codec CLIs: outputs are complete or absent, inputs are read bounded and checked, one-line errors.

Kill tests pause a real ``python -m empirical.<tool>`` process at the rename that completes an output
(``os.replace``, patched in the child to announce itself and wait), then signal it: nothing here
depends on timing. The target file existed before the run and must be left byte for byte as it was.
"""
from __future__ import annotations

import os
import pathlib
import select
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from empirical import data
from empirical.codec import compress, decompress

ROOT = pathlib.Path(__file__).resolve().parents[2]
GAUSS = ["--model", "oracle", "--data", "gaussian", "--spectrum", "powerlaw:1", "--dim", "8"]
SMALL = ["--steps", "12", "--stop-step", "6", "--budget-bits", "8", "--padding-bits", "2"]
HANG_GUARD_S = 300  # only stops a hung child from hanging the suite; no result depends on it

_CHILD = textwrap.dedent("""
    import os, runpy, signal, sys, time
    # Ctrl-C as in a terminal, even when this test runs where SIGINT is ignored (a background job inherits SIG_IGN)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    module, argv, mode = sys.argv[1], sys.argv[2:-1], sys.argv[-1]
    if mode == "pause":
        def replace(src, dst):  # the rename that would complete an output: announce, then wait for a signal
            sys.stderr.write("PAUSED\\n")
            sys.stderr.flush()
            time.sleep(3600)
        os.replace = replace
    elif mode.startswith("fsize="):  # a real short write: the file size limit of the process
        import resource, signal
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        limit = int(mode[6:])
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    sys.argv = ["python -m " + module] + argv
    runpy.run_module(module, run_name="__main__", alter_sys=True)
""")


def child(module: str, argv, mode: str = "plain", **kwargs) -> subprocess.Popen:
    """``python -m module argv`` in a child process, optionally paused at its first rename or with a file size limit."""
    options = dict(stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    options.update(kwargs)
    return subprocess.Popen([sys.executable, "-c", _CHILD, module, *map(str, argv), mode], cwd=ROOT, **options)


def wait_paused(proc: subprocess.Popen) -> None:
    """Block until the child prints PAUSED (it reached the rename of a complete temporary file)."""
    seen = []
    while True:
        ready, _, _ = select.select([proc.stderr], [], [], HANG_GUARD_S)
        assert ready, f"child neither paused nor ended: {seen}"
        line = proc.stderr.readline()
        if line == "" or line.strip() == "PAUSED":
            break
        seen.append(line)
    assert line.strip() == "PAUSED", f"the child ended without renaming a temporary file into place: {seen}"


def finish(proc: subprocess.Popen):
    """``(returncode, stdout, stderr lines)`` of a child that is ending."""
    out, err = proc.communicate(timeout=HANG_GUARD_S)
    return proc.returncode, out, [line for line in err.splitlines() if line.strip() and line.strip() != "PAUSED"]


def leftovers(folder: pathlib.Path, keep) -> list:
    """Files in ``folder`` other than ``keep``."""
    return sorted(p.name for p in folder.iterdir() if p.name not in keep)


# ----------------------------------------------------------------------------- outputs: complete or absent


@pytest.mark.parametrize("sig, status", [(signal.SIGTERM, 143), (signal.SIGINT, 130), (signal.SIGKILL, -9)])
def test_compress_killed_before_its_rename_leaves_the_old_stream(tmp_path, sig, status):
    """SIGTERM / Ctrl-C / SIGKILL while the new stream waits to replace ``--out``: the old file is intact;
    SIGTERM and Ctrl-C also remove the temporary file and print one line (status 143 / 130)."""
    target = tmp_path / "x.dfrc"
    target.write_bytes(b"the previous stream")
    proc = child("empirical.compress", GAUSS + SMALL + ["--out", target], "pause")
    wait_paused(proc)
    proc.send_signal(sig)
    code, _, err = finish(proc)
    assert code == status
    assert target.read_bytes() == b"the previous stream"
    if sig != signal.SIGKILL:
        assert leftovers(tmp_path, {"x.dfrc"}) == []
        assert len(err) == 1 and err[0] in ("python -m empirical.compress: terminated",
                                            "python -m empirical.compress: interrupted"), err


def test_decompress_killed_before_its_rename_leaves_the_old_output(tmp_path):
    stream, target = tmp_path / "g.dfrc", tmp_path / "y.npy"
    assert compress.main(GAUSS + SMALL + ["--out", str(stream)]) == 0
    np.save(target, np.arange(3.0))
    proc = child("empirical.decompress", [stream] + GAUSS + ["--method", "mean", "--out", target], "pause")
    wait_paused(proc)
    proc.send_signal(signal.SIGTERM)
    code, _, err = finish(proc)
    assert code == 143 and len(err) == 1, err
    np.testing.assert_array_equal(np.load(target), np.arange(3.0))
    assert leftovers(tmp_path, {"g.dfrc", "y.npy"}) == []


def test_a_short_write_leaves_no_partial_file_and_names_it(tmp_path):
    """With a 512-byte file size limit the small stream is written, the larger JSON report is not: one line
    naming the report, status 1, no report and no temporary file."""
    stream, report = tmp_path / "g.dfrc", tmp_path / "r.json"
    proc = child("empirical.compress", GAUSS + SMALL + ["--out", stream, "--json", report], "fsize=512")
    code, _, err = finish(proc)
    assert code == 1 and len(err) == 1, err
    assert err[0].startswith(f"python -m empirical.compress: error: cannot write {report}: "), err
    assert stream.exists() and not report.exists()
    assert leftovers(tmp_path, {"g.dfrc"}) == []


def test_stdout_to_dev_full_is_one_line_status_1(tmp_path):
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full")
    with open("/dev/full", "w") as full:
        proc = child("empirical.compress", GAUSS + SMALL + ["--out", tmp_path / "g.dfrc"], stdout=full)
        _, err = proc.communicate(timeout=HANG_GUARD_S)
    lines = err.strip().splitlines()
    assert proc.returncode == 1 and len(lines) == 1 and "cannot write the output" in lines[0], lines


def test_decompress_out_is_exactly_the_named_npy(tmp_path, capsys):
    """``--out x.png`` used to write ``x.png.npy`` and print ``wrote x.png``; now a suffix other than .npy is an
    error naming --out, before decoding, and ``--out y.npy`` writes exactly ``y.npy``."""
    stream = tmp_path / "g.dfrc"
    assert compress.main(GAUSS + SMALL + ["--out", str(stream), "--save-input", str(tmp_path / "x.npy")]) == 0
    with pytest.raises(SystemExit) as exc:
        decompress.main([str(stream)] + GAUSS + ["--out", str(tmp_path / "y.png")])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("python -m empirical.decompress: error: --out:") and ".npy" in err[0]
    assert leftovers(tmp_path, {"g.dfrc", "x.npy"}) == []
    assert decompress.main([str(stream)] + GAUSS + ["--out", str(tmp_path / "y.npy")]) == 0
    assert leftovers(tmp_path, {"g.dfrc", "x.npy"}) == ["y.npy"]
    assert "wrote " + str(tmp_path / "y.npy") in capsys.readouterr().out


@pytest.mark.parametrize("tool, argv, flag", [
    ("compress", ["--out", "{tmp}/no/such/folder/x.dfrc"], "--out"),
    ("compress", ["--out", "{tmp}"], "--out"),
    ("compress", ["--out", "{tmp}/x.dfrc", "--json", "{tmp}/no/r.json"], "--json"),
    ("compress", ["--out", "{tmp}/x.dfrc", "--save-input", "{tmp}/x.txt"], "--save-input"),
    ("compress", ["--out", "{tmp}/x.dfrc", "--json", "{tmp}/x.dfrc"], "--json"),
    ("decompress", ["{tmp}/g.dfrc", "--out", "{tmp}/no/y.npy"], "--out"),
    ("decompress", ["{tmp}/g.dfrc", "--json", "{tmp}/no/r.json"], "--json"),
])
def test_outputs_are_checked_before_any_work(tmp_path, monkeypatch, capsys, tool, argv, flag):
    """An output that cannot be written is refused naming its flag, before encoding or decoding starts."""
    from empirical.codec import chain

    def forbidden(*args, **kwargs):
        raise AssertionError("the codec ran before the outputs were checked")

    for name in ("encode_detailed", "decode_latent"):
        monkeypatch.setattr(chain, name, forbidden)
    (tmp_path / "g.dfrc").write_bytes(b"not looked at")
    main = compress.main if tool == "compress" else decompress.main
    with pytest.raises(SystemExit) as exc:
        main([a.format(tmp=tmp_path) for a in argv] + GAUSS)
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"python -m empirical.{tool}: error: {flag}:"), err


# ----------------------------------------------------------------------------- inputs: bounded and checked


@pytest.mark.parametrize("kind", ["fifo", "device", "folder", "huge"])
def test_decompress_refuses_files_it_should_not_read(tmp_path, kind):
    """A FIFO (would block), /dev/zero (never ends), a folder, a sparse file over the 256 MiB limit: one line,
    status 2, nothing read."""
    if kind == "fifo":
        path = tmp_path / "stream.fifo"
        os.mkfifo(path)
    elif kind == "device":
        path = pathlib.Path("/dev/zero")
        if not path.exists():
            pytest.skip("no /dev/zero")
    elif kind == "folder":
        path = tmp_path
    else:
        path = tmp_path / "huge.dfrc"
        with open(path, "wb") as f:
            f.truncate(300 * 2**20)
    proc = child("empirical.decompress", [path] + GAUSS)
    code, _, err = finish(proc)
    assert code == 2 and len(err) == 1, err
    assert err[0].startswith(f"python -m empirical.decompress: error: file: {path} "), err


def _npy(path, value, **kw):
    np.save(path, value, **kw)
    return path


@pytest.mark.parametrize("name, make, words", [
    ("complex", lambda p: _npy(p, np.full(8, 1 + 2j)), "complex"),
    ("object", lambda p: _npy(p, np.array([None] * 8, dtype=object), allow_pickle=True), "Python objects"),
    ("text", lambda p: _npy(p, np.array(["a"] * 8)), "not real numbers"),
    ("nan", lambda p: _npy(p, np.array([0.0, np.nan] * 4)), "entries must be finite"),
    ("inf", lambda p: _npy(p, np.array([0.0, np.inf] * 4)), "entries must be finite"),
    ("huge", lambda p: _npy(p, np.full(8, 1e200)), "standard deviations"),
    ("garbage", lambda p: p.write_bytes(b"not numpy") and p, "cannot read"),
    ("empty", lambda p: _npy(p, np.zeros(0)), "no numbers"),
])
def test_compress_refuses_bad_input_arrays(tmp_path, capsys, name, make, words):
    """Complex values (the imaginary part used to be dropped), objects, text, NaN/inf and 1e200 (an OverflowError
    deep in the codec before): one line naming --input and the file, status 2."""
    path = tmp_path / f"{name}.npy"
    make(path)
    with pytest.raises(SystemExit) as exc:
        compress.main(GAUSS + SMALL + ["--input", str(path), "--out", str(tmp_path / "x.dfrc")])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("python -m empirical.compress: error: --input:"), err
    assert words in err[0] and str(path) in err[0], err
    assert not (tmp_path / "x.dfrc").exists()


def test_compress_input_range_rule(tmp_path, capsys):
    """An 8x8 uint8 image (0..255) for the patches model, whose pixels are in [-1, 1], is refused saying the range
    and how to rescale; the rescaled image 2 v / 255 - 1 is accepted. For the Gaussian source the limit is 50 data
    standard deviations (sqrt of the largest eigenvalue) from the mean: 49 is accepted by the check, 51 is not."""
    from empirical.codec import cli

    img = (np.arange(64, dtype=np.uint8) * 4).reshape(8, 8)
    path = _npy(tmp_path / "u8.npy", img)
    with pytest.raises(SystemExit):
        compress.main(["--model", "oracle", "--data", "patches", "--input", str(path), "--out", str(tmp_path / "x")])
    err = capsys.readouterr().err.strip()
    assert err.startswith("python -m empirical.compress: error: --input:") and "[-1, 1]" in err and "rescale" in err
    assert "\n" not in err
    patches = data.patches()
    cli.check_input_range(2 * img / 255.0 - 1, patches, "--input", "x")
    for bad in (img.astype(float), np.full((8, 8), -1.0001)):
        with pytest.raises(ValueError, match=r"--input: .*outside \[-1, 1\]"):
            cli.check_input_range(bad, patches, "--input", "x")
    src = data.gaussian("powerlaw:1", dim=8)
    std = np.sqrt(src.eigvals.max())
    unit = np.zeros(8)
    unit[3] = 1.0
    cli.check_input_range(49 * std * unit, src, "--input", "x")
    with pytest.raises(ValueError, match="--input: x has a value .* away from the data mean, over 50 standard deviations"):
        cli.check_input_range(51 * std * unit, src, "--input", "x")
    assert "50 standard deviations" in compress.build_parser().format_help().replace("\n", " ")


def test_decompress_original_must_be_finite_real_numbers(tmp_path, capsys):
    """``--original`` with NaN used to print ``MSE nan`` and exit 0."""
    stream = tmp_path / "g.dfrc"
    assert compress.main(GAUSS + SMALL + ["--out", str(stream)]) == 0
    for value in (np.array([np.nan] * 8), np.full(8, 1j)):
        path = _npy(tmp_path / "orig.npy", value)
        with pytest.raises(SystemExit) as exc:
            decompress.main([str(stream)] + GAUSS + ["--method", "mean", "--original", str(path)])
        assert exc.value.code == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("python -m empirical.decompress: error: --original:"), err


# ----------------------------------------------------------------------------- degenerate decoders


@pytest.mark.parametrize("argv, flag", [
    (["--method", "flow", "--log-snr-end", "0"], "--log-snr-end"),
    (["--method", "ancestral", "--log-snr-end", "-3"], "--log-snr-end"),
    (["--method", "flow", "--log-snr-end", "nan"], "--log-snr-end"),
    (["--method", "flow", "--decoder-steps", "0"], "--decoder-steps"),
    (["--method", "ancestral", "--decoder-steps", "-1"], "--decoder-steps"),
    (["--method", "mean", "--decoder-steps", "8"], "--decoder-steps"),
    (["--method", "mean", "--log-snr-end", "20"], "--log-snr-end"),
])
def test_decoder_settings_that_would_return_the_posterior_mean_are_refused(tmp_path, capsys, argv, flag):
    """The stream stops at log-SNR 0 (step 6 of 12 from -10 to 12): flow / ancestral with --log-snr-end <= 0 or
    0 decoder steps used to return E[x | z] silently; settings that --method mean ignores are refused too."""
    stream = tmp_path / "g.dfrc"
    assert compress.main(GAUSS + SMALL + ["--out", str(stream)]) == 0
    assert "(log-SNR 0)" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exc:
        decompress.main([str(stream)] + GAUSS + argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"python -m empirical.decompress: error: {flag}:"), err
    assert decompress.main([str(stream)] + GAUSS + ["--method", "flow", "--log-snr-end", "0.5",
                                                    "--decoder-steps", "1"]) == 0


# ----------------------------------------------------------------------------- image-sized oracles


@pytest.mark.parametrize("tool, argv, bases", [
    ("compress", ["--model", "oracle", "--out", "{tmp}/x.dfrc"], (["--basis", "random"], ["--basis", "pixel"])),
    ("train", ["--out", "{tmp}/m.pt"], (["--basis", "random"], ["--basis", "pixel"])),
    ("rd", ["--stop-steps", "3", "--n", "4", "--workers", "1", "--no-progress"], ([],)),
])
def test_image_sized_gaussian_oracle_is_refused_naming_spectrum(tmp_path, capsys, monkeypatch, tool, argv, bases):
    """``--spectrum image:100x100x3`` (30000 dims) used to be killed by the kernel building a dense 30000^2 basis:
    now one line naming --spectrum with the memory estimate, for --basis random and pixel."""
    import importlib

    from empirical import data as data_mod

    def forbidden(*args, **kwargs):
        raise AssertionError("a dense matrix was built")

    monkeypatch.setattr(data_mod, "haar_orthogonal", forbidden)
    main = importlib.import_module(f"empirical.{tool}").main
    for basis in bases:
        with pytest.raises(SystemExit) as exc:
            main(["--data", "gaussian", "--spectrum", "image:100x100x3"] + basis + [a.format(tmp=tmp_path) for a in argv])
        assert exc.value.code == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith(f"python -m empirical.{tool}: error: --spectrum: 'image:100x100x3' "
                                                   "gives 30000 dims, over the limit of 4096"), err
        assert "GB" in err[0]
