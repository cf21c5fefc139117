"""empirical.train writes its checkpoint through a temporary file and a rename, after checking --out up front.

A run killed or failing while it saves leaves the previous checkpoint byte for byte; a short write (here a real
one: the process's file size limit) leaves no partial ``.pt`` and names the file. Child processes come from
``test_cli_files`` (paused at the rename by a patched ``os.replace``, no timing involved).
"""
from __future__ import annotations

import signal

import pytest

pytest.importorskip("torch")

from empirical.models import train  # noqa: E402
from tests.empirical.test_cli_files import child, finish, leftovers, wait_paused  # noqa: E402

TINY = ["--data", "gaussian", "--spectrum", "flat", "--dim", "3", "--steps", "3", "--hidden", "8", "--depth", "1",
        "--batch-size", "16", "--skip-samples", "100", "--no-progress"]


@pytest.mark.parametrize("sig, status", [(signal.SIGKILL, -9), (signal.SIGTERM, 143)])
def test_train_killed_while_saving_leaves_the_previous_checkpoint(tmp_path, sig, status):
    target = tmp_path / "m.pt"
    target.write_bytes(b"the previous checkpoint")
    proc = child("empirical.train", TINY + ["--eval-samples", "0", "--out", target], "pause")
    wait_paused(proc)
    proc.send_signal(sig)
    code, _, err = finish(proc)
    assert code == status
    assert target.read_bytes() == b"the previous checkpoint"
    if sig == signal.SIGTERM:
        assert leftovers(tmp_path, {"m.pt"}) == [] and err == ["python -m empirical.train: terminated"], err


def test_a_short_checkpoint_write_leaves_no_partial_file(tmp_path):
    """The ~10 kB checkpoint against a 4 kB file size limit: torch.save stops short (it used to leave a 4 kB
    truncated .pt in place of the old one); now one line naming --out's file, status 1, the old file intact."""
    target = tmp_path / "m.pt"
    target.write_bytes(b"the previous checkpoint")
    proc = child("empirical.train", TINY + ["--eval-samples", "0", "--out", target], "fsize=4096")
    code, _, err = finish(proc)
    assert code == 1 and len(err) == 1, err
    assert err[0].startswith(f"python -m empirical.train: error: cannot write {target}: "), err
    assert target.read_bytes() == b"the previous checkpoint"
    assert leftovers(tmp_path, {"m.pt"}) == []


@pytest.mark.parametrize("argv, flag", [
    (["--out", "{tmp}/no/such/folder/m.pt"], "--out"),
    (["--out", "{tmp}"], "--out"),
    (["--out", "{tmp}/m.pt", "--json", "{tmp}/no/r.json"], "--json"),
    (["--out", "{tmp}/m.pt", "--json", "{tmp}/m.pt"], "--json"),
])
def test_outputs_are_checked_before_training(tmp_path, monkeypatch, capsys, argv, flag):
    """An unwritable --out used to fail with a torch traceback after training; now one line before it starts."""
    def forbidden(*args, **kwargs):
        raise AssertionError("training started before the outputs were checked")

    monkeypatch.setattr(train, "train", forbidden)
    with pytest.raises(SystemExit) as exc:
        train.main(TINY + [a.format(tmp=tmp_path) for a in argv])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"python -m empirical.train: error: {flag}:"), err
    assert leftovers(tmp_path, set()) == []


def test_the_same_checkpoint_gives_the_same_bytes(tmp_path):
    """Two saves of one net to different paths are byte-identical (the archive does not carry the file's name)."""
    from empirical.models import learned
    from tests.empirical.test_codec import _tiny_learned

    net = _tiny_learned(4, (4,), seed=3)
    learned.save_checkpoint(tmp_path / "a.pt", net)
    learned.save_checkpoint(tmp_path / "other-name.pt", net)
    assert (tmp_path / "a.pt").read_bytes() == (tmp_path / "other-name.pt").read_bytes()
