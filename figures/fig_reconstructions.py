"""Reconstructions at several rates, digits and image patches: one bitstream per image, decoded at prefixes.

Each test image is encoded once by the DiffC codec (Gaussian oracle fitted to
the train split, exact transitions) up to the highest rate; every column is a
byte prefix of that stream (progressive decoding), reconstructed by DiffC-F
(probability-flow ODE, RK4) and DiffC-A (ancestral sampling). Column titles
give the mean realised sum KL and the mean bits actually written (segments,
header excluded) per dimension (each image's own bits are in the JSON). Digits:
the first test draws; patches: the most varied of :data:`POOL` test draws
(flat patches show little). Each image and its decodes share one grey scale.
``python -m figures --only reconstructions --checkpoint digits=PATH`` (and/or
``patches=PATH``) encodes and decodes with learned checkpoints instead
(``python -m empirical.train``).
"""
from __future__ import annotations

import pathlib

import numpy as np

from . import style

NAME = "reconstructions"

# source -> (codec grid points, images, target rates in bits/dim of expected chain KL)
SETTINGS = {"digits": (32, 3, (0.1, 0.25, 0.5, 1.0, 2.0)), "patches": (64, 3, (0.1, 0.25, 0.5, 1.0, 2.0))}
POOL = 32  # images are the first ones of the test draw (digits) or its highest-variance ones among POOL (patches)
QUICK = {"digits": (32, 1, (0.25, 1.0)), "patches": (64, 1, (0.25,))}
METHODS = ("flow", "ancestral")
SEED = 0


def _reconstruct(name: str, num_steps: int, num_images: int, rates, quick: bool, checkpoint=None) -> dict:
    from empirical.codec import receivers
    from empirical.measure import sweep

    if checkpoint is not None:
        from empirical import models

        trained_on = (models.load(str(checkpoint)).config.get("data") or {}).get("name")
        if trained_on != name:
            raise ValueError(f"--checkpoint: {name}={checkpoint} was trained on {trained_on!r}, not {name!r}")
    common = dict(data={"name": name}, model=checkpoint or "oracle", n=POOL, num_steps=num_steps, split="test",
                  seed=SEED)
    train_probe = sweep.SweepSpec(stop_steps=(num_steps,), **{**common, "split": "train"})
    steps = sweep.stop_steps_for_rates(rates, sweep.expected_chain_bits_per_dim(train_probe))
    spec = sweep.SweepSpec(stop_steps=steps, **common)
    source, model = sweep.build(spec)
    pool = source.sample(spec.n, seed=SEED, split="test")
    # flat patches show little; take the most varied ones (a stated rule, not a hand pick)
    chosen = np.argsort(-pool.var(axis=1), kind="stable")[:num_images] if name == "patches" else np.arange(num_images)
    images = []
    for i in (int(c) for c in chosen):
        x = pool[[i]]
        enc = sweep.encode_prefixes(x[0], model, spec, i)
        row = {"index": i, "original": x[0].tolist(), "kl_bits_per_dim": (enc.kl_bits / model.dim).tolist(),
               "payload_bits_per_dim": (enc.payload_bits / model.dim).tolist(),
               "header_bits": enc.header_bits, "log_snrs": enc.log_snrs.tolist()}
        for method in METHODS:
            recon = []
            for j, (z, log_snr) in enumerate(zip(enc.latents, enc.log_snrs)):
                if method == "flow":
                    xh = receivers.flow(z, log_snr, model, None, num_steps=16 if quick else 64, solver="rk4")
                else:
                    rng = np.random.default_rng(np.random.SeedSequence([SEED, i, j]))
                    xh = receivers.ancestral(z, log_snr, model, rng, num_steps=64 if quick else 512)
                recon.append(np.asarray(xh, dtype=np.float64).tolist())
            row[method] = recon
        images.append(row)
    label = "oracle (fitted to the train split)" if checkpoint is None else f"learned ({pathlib.Path(checkpoint).name})"
    return {"spec": {"data": name, "model": label, "split": "test", "pool": POOL,
                     "num_steps": num_steps, "stop_steps": list(steps), "target_rates_bits_per_dim": list(rates),
                     "shape": list(source.shape), "pixel_range": list(source.pixel_range)},
            "images": images}


def _measure(quick: bool, checkpoints: dict) -> dict:
    table = QUICK if quick else SETTINGS
    return {name: _reconstruct(name, *table[name], quick=quick, checkpoint=checkpoints.get(name)) for name in table}


def make(out_dir, quick: bool = False, checkpoints=None):
    """Write ``reconstructions.json`` and ``reconstructions.png``; returns the PNG path.

    ``checkpoints`` maps ``"digits"`` / ``"patches"`` to learned checkpoints used instead of the oracle.
    """
    data = style.write_json(out_dir, NAME, _measure(quick, dict(checkpoints or {})))
    plt = style.pyplot()
    widths = [1 + len(entry["spec"]["stop_steps"]) for entry in data.values()]
    rows = max(len(entry["images"]) * len(METHODS) for entry in data.values())
    fig = plt.figure(figsize=(1.05 * (sum(widths) + 0.5), 1.2 * rows + 0.6))
    grid = fig.add_gridspec(rows, sum(widths) + len(widths) - 1, wspace=0.08, hspace=0.12)
    col0 = 0
    for (name, entry), width in zip(data.items(), widths):
        spec = entry["spec"]
        shape = spec["shape"][:2]
        imgs = entry["images"]
        for i, img in enumerate(imgs):
            shown = [img["original"]] + img["flow"] + img["ancestral"]
            lo, hi = float(np.min(shown)), float(np.max(shown))  # one grey scale per image and its decodes
            for k, method in enumerate(METHODS):
                r = i * len(METHODS) + k
                ax = fig.add_subplot(grid[r, col0])
                ax.imshow(np.reshape(img["original"], shape), cmap="gray", vmin=lo, vmax=hi, interpolation="nearest")
                ax.set_xticks([])
                ax.set_yticks([])
                ax.set_ylabel({"flow": "DiffC-F", "ancestral": "DiffC-A"}[method], fontsize=7)
                if r == 0:
                    ax.set_title(f"{name}, {spec['model'].split(' (')[0]}\noriginal", fontsize=7)
                for j in range(len(spec["stop_steps"])):
                    ax = fig.add_subplot(grid[r, col0 + 1 + j])
                    ax.imshow(np.reshape(img[method][j], shape), cmap="gray", vmin=lo, vmax=hi,
                              interpolation="nearest")
                    ax.set_xticks([])
                    ax.set_yticks([])
                    if r == 0:
                        kl = np.mean([im["kl_bits_per_dim"][j] for im in imgs])
                        coded = np.mean([im["payload_bits_per_dim"][j] for im in imgs])
                        ax.set_title(f"KL {kl:.2f}\ncoded {coded:.2f}", fontsize=6.5)
        col0 += width + 1
    models = "; ".join(f"{name}: {entry['spec']['model']}" for name, entry in data.items())
    fig.suptitle("One stream per image, decoded at byte prefixes (bits per dimension); one grey scale per image "
                 f"(original and its decodes); patches: the 3 most varied of 32 test draws\n{models}", fontsize=8)
    return style.save(fig, out_dir, NAME)
