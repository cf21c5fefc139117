"""Measured vs predicted on every non-Gaussian data source: mixture2d, digits, image patches.

The codec's model is the Gaussian oracle fitted to each source's train split
(exact transitions), and the samples are drawn from that split. Then both
coordinates of every point have a closed form, although the data are not
Gaussian: the decoders are linear in ``z`` (plus independent noise for
DiffC-A), so the MSE at the stopping log-SNR is the Gaussian closed form, and
the expected chain KL is ``I_G(X; Z)`` of the moment-matched Gaussian
(``empirical.measure.sweep.expected_kl_eigvals``). Each panel draws the closed-form
curves (MSE against ``I_G``) and the measured points (MSE against the realised
sum KL, both with 95% CIs; open markers: against the payload bits actually
written, header excluded).
"""
from __future__ import annotations

import numpy as np

from . import style

NAME = "measured_sources"

# source -> (codec grid points, samples, target rates in bits/dim); quick: fewer samples and rates
SETTINGS = {
    "mixture2d": (32, 256, (0.5, 1.0, 2.0, 4.0)),
    "digits": (32, 64, (0.25, 0.5, 1.0, 2.0)),
    "patches": (64, 256, (0.25, 1.0, 2.0)),  # heavy tails: n = 48 gave skewed sample means (README)
}
QUICK = {"mixture2d": (32, 8, (1.0,)), "digits": (32, 4, (0.5,)), "patches": (64, 2, (0.25,))}


def _measure_source(name: str, num_steps: int, n: int, rates, quick: bool) -> dict:
    from empirical.measure import compare, sweep

    common = dict(data={"name": name}, model="oracle", n=n, num_steps=num_steps, split="train", seed=0,
                  ancestral_steps=64 if quick else 512, flow_steps=16 if quick else 64)
    probe = sweep.SweepSpec(stop_steps=(num_steps,), **common)
    spec = sweep.SweepSpec(stop_steps=sweep.stop_steps_for_rates(rates, sweep.expected_chain_bits_per_dim(probe)),
                           **common)
    points = sweep.measure(spec, workers=1 if quick else None)
    source, model = sweep.build(spec)
    eigvals = sweep.expected_kl_eigvals(spec, source, model)
    report = compare.compare(points, eigvals)
    curves = style.closed_form_curves(eigvals, np.linspace(-6.0, 12.0, 40 if quick else 200))
    return {"spec": {"data": name, "model": "oracle (fitted to the train split)", "split": "train", "n": n,
                     "num_steps": num_steps, "stop_steps": list(spec.stop_steps), "dim": int(model.dim)},
            "closed_form": curves, **report.to_dict()}


def _measure(quick: bool) -> dict:
    table = QUICK if quick else SETTINGS
    return {name: _measure_source(name, *table[name], quick=quick) for name in table}


def make(out_dir, quick: bool = False):
    """Write ``measured_sources.json`` and ``measured_sources.png``; returns the PNG path."""
    return plot(style.write_json(out_dir, NAME, _measure(quick)), out_dir)


def plot(data, out_dir):
    """Draw ``measured_sources.png`` from the JSON; returns the PNG path."""
    from empirical.measure.plot import draw_points

    plt = style.pyplot()
    fig, axes = plt.subplots(1, len(data), figsize=(3.3 * len(data), 3.4), layout="constrained")
    methods = []
    for ax, (name, entry) in zip(np.atleast_1d(axes), data.items()):
        rate = entry["closed_form"]["rate_bits_per_dim"]
        drawn = draw_points(ax, entry)
        methods += [m for m in drawn if m not in methods]
        for method in drawn:
            ax.plot(rate, entry["closed_form"][method], lw=1, **style.method_line(method))
        top = max(p["payload_bits_per_dim"] for p in entry["points"])
        ax.set_xlim(0.0, 1.1 * top)
        inside = np.asarray(rate) <= 1.1 * top
        shown = np.concatenate([np.asarray(entry["closed_form"][m])[inside] for m in drawn]
                               + [[p["mse"] for p in entry["points"]]])
        ax.set_ylim(0.5 * shown.min(), 2.0 * shown.max())
        ax.set_yscale("log")
        ax.set_xlabel(style.RATE_LABEL)
        spec = entry["spec"]
        ax.set_title(f"{name} ({spec['dim']} dims), $n = {spec['n']}$")
    np.atleast_1d(axes)[0].set_ylabel("MSE per dimension")
    handles, labels = style.legend_handles(methods, ("kl", "payload"))
    style.legend_below(fig, handles, labels, ncol=3, fontsize=9, title_fontsize=9, title=r"curves: closed forms against $I_G(X; Z)$ of the "
                       "moment-matched Gaussian; codec: the Gaussian oracle fitted to each train split")
    return style.save(fig, out_dir, NAME)
