"""The rate-bias-compute frontier of reverse channel coding on DiffC steps: this package's settings and the
reference operating point of JeremyIV/diffc (``python -m empirical.rcc_bench --frontier --chunk-cost-bits none``:
budget, padding and tail target alone, without the compute cap on a chunk, which is a knob of its own)."""
from __future__ import annotations

from . import style

NAME = "rcc_frontier"


def make(out_dir, quick: bool = False):
    """Run the frontier benchmark, write ``rcc_frontier.json`` and ``rcc_frontier.png``; returns the PNG path."""
    from empirical.rcc import bench

    args = bench.build_parser().parse_args(["--frontier", "--chunk-cost-bits", "none", "--no-progress"]
                                           + (["--quick"] if quick else []))
    return plot(style.write_json(out_dir, NAME, bench.run(args)), out_dir)


def plot(data, out_dir):
    """Draw ``rcc_frontier.png`` from the benchmark's JSON; returns the PNG path."""
    plt = style.pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(12, 4.4), layout="constrained")
    rows = data["frontier"]
    ours = [r for r in rows if r["method"] == "ours"]
    reference = [r for r in rows if r["method"] != "ours"]
    budgets = sorted({r["budget_bits"] for r in ours})
    colours = style.sequence_colours(len(budgets))
    panels = (("coded_over_kl", "coded bits / KL"), ("mean_shift", "mean shift of the projection (sd)"),
              ("ks_distance", "KS distance of the projection"))
    for ax, (key, label) in zip(axes, panels):
        for budget, colour in zip(budgets, colours):
            pts = sorted((r for r in ours if r["budget_bits"] == budget), key=lambda r: r["coordinates_per_coded_bit"])
            x = [r["coordinates_per_coded_bit"] for r in pts]
            y = [r[key] for r in pts]
            ax.plot(x, y, "o-", color=colour, ms=4, label=f"this package, budget {budget}")
            for r in pts:
                ax.annotate(f"{r['tail_target']:g}", (r["coordinates_per_coded_bit"], r[key]), fontsize=6,
                            xytext=(3, 3), textcoords="offset points", color=colour)
            if key == "mean_shift":
                ax.errorbar(x, y, yerr=[1.96 * r["mean_shift_se"] for r in pts], fmt="none", ecolor=colour, lw=0.8)
        for r in reference:
            ax.plot(r["coordinates_per_coded_bit"], r[key], "k*", ms=11, label="JeremyIV/diffc operating point")
        if key == "mean_shift":
            ax.axhline(0.0, color="k", lw=0.6)
        ax.set_xscale("log")
        ax.set_xlabel("candidate coordinates per coded bit")
        ax.set_ylabel(label)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles[:len(budgets) + 1], labels[:len(budgets) + 1], loc="outside lower center",
               ncol=len(budgets) + 1, title="numbers beside the points: tail targets", title_fontsize=7)
    fig.suptitle("Reverse channel coding on the same DiffC steps: rate, bias and compute "
                 "(an exact sampler has mean shift 0 and KS 0)")
    return style.save(fig, out_dir, NAME)
