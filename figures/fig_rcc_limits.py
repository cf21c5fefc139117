"""How far the reverse channel coder is from its limit: coded bits / KL against candidate coordinates on the image
oracle's chain (``python -m empirical.rcc_bench --image-scale``), measured at several chunk budgets and compute
caps, beside the idealised coder of ``empirical.rcc.limits`` (perfectly filled chunks, a free partition, the index
at the exact PFR entropy; every dimension in chunks of the KL it likes, or every chunk of a step alike).
"""
from __future__ import annotations

from . import style

NAME = "rcc_limits"
#: (budget bits, chunk cost cap bits or None) of the measured chains; padding 8 and tail target 0.02 throughout
SETTINGS = ((6, 25), (8, 25), (8, None), (10, 25))
QUICK_SETTINGS = ((6, 25), (8, 25))


def make(out_dir, quick: bool = False):
    """Code the chain at each setting (seed 0, one worker, as ``python -m empirical.rcc_bench --image-scale``),
    compute the idealised trade-offs, write ``rcc_limits.json`` and draw ``rcc_limits.png``; returns the PNG path."""
    from empirical.rcc import DEFAULT_PADDING_BITS, DEFAULT_TAIL_TARGET, limits, workload

    shape = workload.QUICK_IMAGE_SHAPE if quick else workload.IMAGE_SHAPE
    steps = workload.QUICK_IMAGE_NUM_STEPS if quick else workload.IMAGE_NUM_STEPS
    eigvals = workload.image_eigvals(*shape)
    log_snrs = workload.image_grid(eigvals, steps)
    tail = DEFAULT_TAIL_TARGET
    measured = []
    for budget, cap in (QUICK_SETTINGS if quick else SETTINGS):
        r = workload.measure_chain(eigvals, log_snrs, 0, workers=1, budget_bits=budget,
                                   padding_bits=DEFAULT_PADDING_BITS, tail_target=tail, chunk_cost_bits=cap)
        measured.append({"budget_bits": budget, "chunk_cost_bits": cap,
                         "coded_over_kl": r.coded_bits_total / r.kl_bits_total,
                         "candidate_coordinates": r.candidate_coordinates, "encode_s": r.encode_s,
                         "chunks": int(r.chunks_per_step.sum()), "z_kl": r.z_kl, "z_mse_flow": r.z_mse_flow})
    kl_bits = limits.expected_kl_bits(eigvals, log_snrs)
    ideal = {}
    for name, one in (("free", False), ("one_kl_per_step", True)):
        trade = limits.trade_off(kl_bits, tail, one_kl_per_step=one)
        ideal[name] = {"coordinates": trade.coordinates.tolist(),
                       "coded_over_kl": (trade.coded_bits / trade.kl_bits_total).tolist()}
    data = {"shape": list(shape), "steps": steps, "tail_target": tail, "padding_bits": DEFAULT_PADDING_BITS,
            "measured": measured, "idealised": ideal}
    return plot(style.write_json(out_dir, NAME, data), out_dir)


def _pareto(xs, ys):
    """The points of ``(xs, ys)`` that no other point beats on both, sorted by ``xs`` (the minimisers of a
    Lagrangian sweep repeat and interleave)."""
    out = []
    for x, y in sorted(set(zip(xs, ys))):
        if not out or y < out[-1][1]:
            out.append((x, y))
    return [x for x, _ in out], [y for _, y in out]


def plot(data, out_dir):
    """Draw ``rcc_limits.png`` from the JSON; returns the PNG path."""
    plt = style.pyplot()
    fig, ax = plt.subplots(figsize=(7.5, 4.8), layout="constrained")
    labels = {"free": "idealised coder, every dimension in chunks of the KL it likes",
              "one_kl_per_step": "idealised coder, every chunk of a step alike (a random permutation)"}
    for name, ls in (("free", "-"), ("one_kl_per_step", "--")):
        xs, ys = _pareto(data["idealised"][name]["coordinates"], data["idealised"][name]["coded_over_kl"])
        ax.plot(xs, ys, ls=ls, color="0.3", lw=1.2, label=labels[name])
    colours = style.sequence_colours(len(data["measured"]))
    for r, colour in zip(data["measured"], colours):
        cap = "no cap" if r["chunk_cost_bits"] is None else f"cap 2^{r['chunk_cost_bits']}"
        ax.plot([r["candidate_coordinates"]], [r["coded_over_kl"]], "o", color=colour, ms=7,
                label=f"measured: budget {r['budget_bits']}, {cap}")
        ax.annotate(f"{r['encode_s']:.0f} s", (r["candidate_coordinates"], r["coded_over_kl"]), fontsize=7,
                    xytext=(5, 4), textcoords="offset points", color=colour)
    measured = data["measured"]
    ax.set_xscale("log")
    ax.set_xlim(min(r["candidate_coordinates"] for r in measured) / 30, max(r["candidate_coordinates"]
                                                                           for r in measured) * 300)
    ax.set_ylim(1.2, max(max(r["coded_over_kl"] for r in measured) + 0.1, 1.7))
    ax.set_xlabel("candidate coordinates (the encoder's work for the whole chain)")
    ax.set_ylabel("coded bits / $\\Sigma$KL")
    ax.legend(fontsize=7, loc="upper right")
    height, width, channels = data["shape"]
    ax.set_title(f"The oracle chain of a {height}x{width}x{channels} image, {data['steps']} steps, tail target "
                 f"{data['tail_target']:g}: measured (one core, seconds beside the points) and idealised", fontsize=9)
    return style.save(fig, out_dir, NAME)
