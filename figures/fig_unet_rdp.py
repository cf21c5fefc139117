"""Kodak through the U-Net trained on the perfect-realism path (``--model unet-rdp --schedule rdp``) against the
isotropic U-Net, at real and at ideal bits, beside the stationary oracle's own ``rdp`` gain.

``python -m figures --only unet_rdp --kodak DIR`` needs six runs of ``python -m empirical.images`` on the folder at
the ``kodak`` figure's settings, each reused from ``OUT`` when a report with its settings is there (the stored
ones are those of docs/learned.md and docs/images.md) and measured otherwise (about 1.5 CPU hours in all):

- ``unet_rdp/rdp`` and ``unet_rdp/isotropic``: the two U-Nets, real bits (``--model unet-rdp --schedule rdp``,
  ``--model unet``);
- ``kodak_ideal/unet_rdp`` and ``kodak_ideal/unet``: the same at the chains' ideal rate (``--ideal``);
- ``kodak_rdp`` and ``kodak``: the stationary oracle, both schedules, real bits.

``python -m empirical.images.compare`` pairs each couple image by image. Writes ``unet_rdp.json`` (the three
comparisons and the U-Nets' mean curves) and draws ``unet_rdp.png``: PSNR of DiffC-F and DiffC-A against real bits
per pixel for both U-Nets with WebP, and the paired PSNR gain of the ``rdp`` schedule (mean and 95% interval) at
real bits and at ideal bits for the U-Nets and at its streams' ideal bits for the oracle. Without ``--kodak`` the
figure is skipped.
"""
from __future__ import annotations

import pathlib

from . import style

NAME = "unet_rdp"
WEBP_MAX_BPP = 2.5   # the first panel's WebP curve stops here (DiffC's points end near 2 bpp)
RUNS = {  # key: (folder under OUT, model spec, extra arguments of python -m empirical.images)
    "rdp": ("unet_rdp/rdp", "unet-rdp", ["--schedule", "rdp"]),
    "isotropic": ("unet_rdp/isotropic", "unet", []),
    "rdp_ideal": ("kodak_ideal/unet_rdp", "unet-rdp", ["--schedule", "rdp", "--ideal"]),
    "isotropic_ideal": ("kodak_ideal/unet", "unet", ["--ideal"]),
    "oracle_rdp": ("kodak_rdp", "oracle:stationary", ["--schedule", "rdp"]),
    "oracle": ("kodak", "oracle:stationary", []),
}
#: (name in the JSON, report A, report B, which bits): the rdp gains drawn in the second panel
GAINS = (("unet_real", "rdp", "isotropic", "paired_real_bpp"),
         ("unet_ideal", "rdp_ideal", "isotropic_ideal", "paired_ideal_bpp"),
         ("oracle_sum_kl", "oracle_rdp", "oracle", "paired_ideal_bpp"))
GAIN_LABELS = {"unet_real": "U-Net, real bits", "unet_ideal": "U-Net, ideal bits (exact channel)",
               "oracle_sum_kl": "stationary oracle, its streams' $\\Sigma$KL"}
GAIN_STYLES = {"unet_real": dict(ls="-", marker="o", mfc=None), "unet_ideal": dict(ls="--", marker="o", mfc="none"),
               "oracle_sum_kl": dict(ls=":", marker="s", mfc="none")}


def make(out_dir, quick: bool = False, images=None):
    """Reuse or measure the six runs, write ``unet_rdp.json`` and draw ``unet_rdp.png``; returns the PNG path."""
    from empirical.images import compare

    from .fig_unet_kodak import _report

    if images is None:
        raise ValueError("needs --kodak DIR (a folder of photographs, e.g. the 24 Kodak PNGs)")
    folder = pathlib.Path(images)
    out_dir = pathlib.Path(out_dir)
    reports = {key: _report(folder, model, out_dir / sub, quick, None, extra)
               for key, (sub, model, extra) in RUNS.items()}
    curves = {key: [{"name": m["name"], "results": m["results"]} for m in reports[key]["methods"]]
              for key in ("rdp", "isotropic")}
    gains = {}
    for name, a, b, which in GAINS:
        gains[name] = [r for r in compare.compare(reports[a], reports[b])[which] if r["decoder"] in ("flow", "ancestral")]
    data = {"settings": {key: reports[key]["settings"] for key in RUNS}, "curves": curves, "gains": gains}
    return plot(style.write_json(out_dir, NAME, data), out_dir)


def plot(data, out_dir):
    """Draw ``unet_rdp.png`` from the figure's JSON (without measuring again); returns the PNG path."""
    from empirical.images.evaluate import _method_line
    from gaussian import plotstyle

    plt = style.pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.6), layout="constrained")
    ax = axes[0]
    for key, ls in (("rdp", "-"), ("isotropic", "--")):
        for m in data["curves"][key]:
            decoder = m["name"].removeprefix("diffc-").removesuffix("-rdp")
            if decoder not in ("flow", "ancestral") and not (key == "isotropic" and m["name"] == "webp"):
                continue
            line = _method_line(m["name"])
            if m["name"].startswith("diffc"):
                line.update(ls=ls, label=f"{plotstyle.method_line(decoder)['label']}, "
                                         f"{'rdp' if key == 'rdp' else 'isotropic'} U-Net")
            r = m["results"]
            pts = [(b, v) for b, v in zip(r["bpp"], r["psnr-rgb"]) if v is not None and b <= WEBP_MAX_BPP]
            ax.plot([b for b, _ in pts], [v for _, v in pts], ms=3, **dict(line, marker="o"))
    ax.set_xlabel("bits per pixel (file)")
    ax.set_ylabel("PSNR (dB)")
    ax.set_xlim(left=0)
    ax.legend(fontsize=6.5, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2)
    ax = axes[1]
    for name, rows in data["gains"].items():
        for decoder in ("flow", "ancestral"):
            pts = sorted((r["bpp"], r["diff_db"], 0.0 if r["se_db"] is None else 1.96 * r["se_db"])
                         for r in rows if r["decoder"] == decoder and r["diff_db"] is not None)  # 1 image: no interval
            colour = plotstyle.method_line(decoder)["color"]
            style_ = GAIN_STYLES[name]
            ax.errorbar([p[0] for p in pts], [p[1] for p in pts], yerr=[p[2] for p in pts], color=colour,
                        ls=style_["ls"], marker=style_["marker"], mfc=style_["mfc"] or colour, ms=4, capsize=2,
                        lw=1, label=f"{plotstyle.method_line(decoder)['label']}, {GAIN_LABELS[name]}")
    ax.axhline(0.0, color="k", lw=0.6)
    ax.set_xscale("log")
    ax.set_xlabel("bits per pixel of the rdp run at each target (file, or $\\Sigma$KL)")
    ax.set_ylabel("PSNR gain of the rdp schedule (dB, 95% interval)")
    ax.legend(fontsize=6.5, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2)
    s = data["settings"]["rdp"]
    fig.suptitle(f"{s['num_images']} photographs at {s['scale']}: the U-Net trained on the perfect-realism path "
                 "against the isotropic U-Net, paired image by image")
    return style.save(fig, out_dir, NAME)
