"""Checkpoints are data: code in a pickle, hand-made configs and state dicts are refused with one line, up front."""
from __future__ import annotations

import os
import pickle
import re
import threading

import numpy as np
import pytest

from empirical import models

torch = pytest.importorskip("torch")
torch.set_num_threads(1)

from empirical.codec import compress  # noqa: E402
from empirical.models import learned  # noqa: E402

CONFIG = {"dim": 6, "hidden": 16, "depth": 2, "num_freqs": 4, "prediction": "x", "log_snr_min": -10.0,
          "log_snr_max": 12.0}


def _payload():
    """A valid checkpoint payload (dict) of a small perturbed network."""
    torch.manual_seed(0)
    net = learned.DenoiserNet(dict(CONFIG), np.zeros(6), np.linspace(2.0, 0.5, 6), np.eye(6))
    state = {k: v.detach().clone() for k, v in net.state_dict().items()}
    return {"format": learned.FORMAT, "version": learned.VERSION, "config": dict(CONFIG), "state_dict": state,
            "sha256": learned.state_hash(CONFIG, state)}


def _save(path, payload, rehash=True):
    """``torch.save`` of ``payload``, with a sha256 that matches its (possibly edited) config and state."""
    if rehash:
        payload["sha256"] = learned.state_hash(payload["config"], payload["state_dict"])
    torch.save(payload, path)
    return str(path)


class _RunsCode:
    """Unpickling this calls ``os.system`` (touches a marker file): what a malicious checkpoint would do."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("writer", ["torch.save", "pickle"])
def test_a_checkpoint_that_would_run_code_is_refused(tmp_path, capsys, writer):
    marker, path = tmp_path / "code-ran", tmp_path / "evil.pt"
    payload = _payload()
    payload["config"] = _RunsCode(marker)
    if writer == "torch.save":
        torch.save(payload, path)
    else:
        path.write_bytes(pickle.dumps(payload, protocol=2))
    with pytest.raises(ValueError, match=rf"^model: refused {re.escape(str(path))}: it asks to import \S*system when loaded"):
        models.load(str(path))
    assert not marker.exists()
    with pytest.raises(SystemExit) as exc:
        compress.main(["--model", str(path), "--out", str(tmp_path / "x.dfrc")])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"python -m empirical.compress: error: --model: refused {path}"), err
    assert not marker.exists() and not (tmp_path / "x.dfrc").exists()


@pytest.mark.parametrize("edit, match", [
    (lambda c: c.update(hidden=10**7), r"config hidden: must be an integer in 1\.\.8192, got 10000000"),
    (lambda c: c.update(hidden=1e7), r"config hidden: must be an integer"),
    (lambda c: c.update(hidden="16"), r"config hidden: must be an integer"),
    (lambda c: c.update(depth=True), r"config depth: must be an integer"),
    (lambda c: c.pop("depth"), r"config depth: missing"),
    (lambda c: c.update(dim=0), r"config dim: must be an integer in 1\.\."),
    (lambda c: c.update(num_freqs=10**6), r"config num_freqs: must be an integer in 1\.\.256"),
    (lambda c: c.update(prediction="v"), r"config prediction: expected one of"),
    (lambda c: c.update(log_snr_min=float("nan")), r"config log_snr_min: must be a finite number"),
    (lambda c: c.update(log_snr_max=1e300), r"config log_snr_max: must be a finite number"),
    (lambda c: c.update(log_snr_max=10**400), r"config log_snr_max: must be a finite number"),
    (lambda c: c.update(log_snr_min=20.0), r"config log_snr_min: must be < log_snr_max"),
    # in range key by key, too big together: 64 blocks of 4 x 8192^2 float32 weights, and a 30000^2 basis
    (lambda c: c.update(hidden=8192, depth=64), r"config hidden: a network with .* needs about \S+ GiB .* over the limit"),
    (lambda c: c.update(dim=30000, hidden=1, depth=0), r"config dim: a network with dim=30000, .* GiB"),
])
def test_hand_made_configs_are_refused_naming_the_key(tmp_path, monkeypatch, edit, match):
    """Each bad config (with a matching sha256) is refused before any network is built: DenoiserNet is not called
    (hidden=10**7 used to try to allocate ~400 TB)."""
    payload = _payload()
    edit(payload["config"])
    path = _save(tmp_path / "m.pt", payload)

    def forbidden(*args, **kwargs):
        raise AssertionError("a network was built from an unchecked config")

    monkeypatch.setattr(learned.DenoiserNet, "__init__", forbidden)
    with pytest.raises(ValueError, match=rf"^model: {re.escape(path)}: {match}"):
        models.load(path)


def _drop(state, name):
    del state[name]


@pytest.mark.parametrize("edit, match", [
    (lambda s: _drop(s, "out.bias"), r"state_dict: does not match the config's network \(missing 'out.bias'\)"),
    (lambda s: s.update(extra=torch.zeros(1)), r"state_dict: does not match the config's network \(unexpected 'extra'\)"),
    (lambda s: s.update({"out.weight": torch.zeros(6, 17)}), r"state_dict: out.weight is torch.float32 \(6, 17\), "
                                                               r"the config's network needs torch.float32 \(6, 16\)"),
    (lambda s: s.update({"out.weight": torch.zeros(6, 16, dtype=torch.float64)}), r"state_dict: out.weight is torch.float64"),
    (lambda s: s.update({"skip_basis": torch.full((6, 6), float("nan"), dtype=torch.float64)}),
     r"state_dict: skip_basis has NaN or inf entries"),
])
def test_hand_made_state_dicts_are_refused(tmp_path, edit, match):
    payload = _payload()
    edit(payload["state_dict"])
    path = _save(tmp_path / "m.pt", payload)
    with pytest.raises(ValueError, match=rf"^model: {re.escape(path)}: {match}"):
        models.load(path)


@pytest.mark.parametrize("edit, match", [
    (lambda p: p["state_dict"].update({"out.bias": [0.0] * 6}), r"state_dict: out.bias is not a dense tensor"),
    (lambda p: p.update(state_dict=[1, 2]), r"state_dict: expected a dict of named tensors"),
    (lambda p: p.update(config=[1, 2]), r"config: expected a dict"),
    (lambda p: p.pop("sha256"), r"has no 'sha256' entry"),
    (lambda p: p.pop("state_dict"), r"has no 'state_dict' entry"),
])
def test_malformed_payloads_are_refused(tmp_path, edit, match):
    payload = _payload()
    edit(payload)
    path = str(tmp_path / "m.pt")
    torch.save(payload, path)
    with pytest.raises(ValueError, match=rf"^model: {re.escape(path)}:? .*{match}"):
        models.load(path)


def test_parameter_estimate_is_the_built_network():
    """parameter_count (closed form, used to refuse before building) equals the built network's weights."""
    for config in (CONFIG, dict(CONFIG, dim=3, hidden=5, depth=0, num_freqs=1), dict(CONFIG, hidden=33, depth=3)):
        net = learned.DenoiserNet(config)
        assert learned.parameter_count(config) == sum(p.numel() for p in net.parameters())
        tensors = list(net.parameters()) + list(net.buffers())
        stored = sum(t.numel() * t.element_size() for t in tensors)
        assert learned.estimated_bytes(config) == stored + 8 * sum(t.numel() for t in tensors)


def test_a_fifo_or_folder_is_not_read_as_a_checkpoint(tmp_path):
    """A FIFO would block torch.load forever; it is refused from its file type (a writer thread stands by so that a
    regression fails instead of hanging)."""
    fifo = tmp_path / "m.pt"
    os.mkfifo(fifo)

    def writer():
        with open(fifo, "wb") as f:
            f.write(b"not a checkpoint")

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    try:
        with pytest.raises(ValueError, match=rf"^model: {re.escape(str(fifo))} is not a regular file"):
            models.load(str(fifo))
    finally:
        reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # releases the writer
        thread.join()
        os.close(reader)
    with pytest.raises(ValueError, match=rf"^model: {re.escape(str(tmp_path))} is a folder"):
        models.load(str(tmp_path))


def test_a_valid_checkpoint_still_loads(tmp_path):
    """The checks accept what save_checkpoint writes (and the recorded hash is the fingerprint)."""
    payload = _payload()
    path = _save(tmp_path / "m.pt", payload)
    model = models.load(path)
    assert model.fingerprint == payload["sha256"] and model.dim == 6
