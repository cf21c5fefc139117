"""``python -m empirical.images --scheduler``: the same images on a Dask ``LocalCluster`` give the same report as the
local loop, and a scheduler that cannot be reached is one line naming the flag. Images are made by the test."""
from __future__ import annotations

import json

import numpy as np
import pytest

from empirical import image_files, models
from empirical.images import evaluate

Image = pytest.importorskip("PIL.Image")
distributed = pytest.importorskip("distributed")


def _folder(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    oracle = models.StationaryImageOracle((16, 24, 3))
    rng = np.random.default_rng(5)
    for i in range(3):  # draws of the stationary model, quantised to 8 bits
        x = oracle.mean + oracle.from_eigen(np.sqrt(oracle.eigvals) * rng.standard_normal(oracle.dim))
        pixels = image_files.to_uint8(np.clip(x, -1, 1).reshape(16, 24, 3))[0]
        Image.fromarray(pixels).save(folder / f"im{i}.png")
    return folder


def test_dask_local_cluster_gives_the_local_report(tmp_path, capsys):
    """Per-image records (but their encode times) and every CompressAI record are identical: each image is the same
    function of its pixels and seed wherever it runs (two worker processes of a LocalCluster against the in-process
    loop)."""
    folder = _folder(tmp_path)
    argv = ["--images", str(folder), "--scale", "1/1", "--rates", "1.5,3", "--steps", "12", "--format", "json",
            "--no-progress"]
    assert evaluate.main(argv) == 0
    local = json.loads(capsys.readouterr().out)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        assert evaluate.main(argv + ["--scheduler", cluster.scheduler_address]) == 0
    remote = json.loads(capsys.readouterr().out)
    for report in (local, remote):
        assert all(r.pop("encode_s") > 0 for r in report["per_image"])
    assert remote["per_image"] == local["per_image"] and remote["methods"] == local["methods"]
    assert [r["image"] for r in remote["per_image"]] == ["im0.png", "im1.png", "im2.png"]


def test_unreachable_scheduler_is_one_line_naming_the_flag(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(evaluate, "SCHEDULER_TIMEOUT_S", 1)
    folder = _folder(tmp_path)
    with pytest.raises(SystemExit) as exc:
        evaluate.main(["--images", str(folder), "--scale", "1/1", "--rates", "2", "--steps", "10",
                       "--scheduler", "tcp://127.0.0.1:9", "--no-progress"])
    err = capsys.readouterr().err.strip()
    assert exc.value.code == 2 and err.count("\n") == 0 and "--scheduler" in err
    with pytest.raises(SystemExit):
        evaluate.main(["--images", str(folder), "--workers", "2", "--scheduler", "tcp://127.0.0.1:9"])
    assert "--workers" in capsys.readouterr().err
