"""Train the learned VP diffusion denoiser on a data source and save a checkpoint.

    python -m empirical.train --data patches --steps 4000 --out patches.pt
    python -m empirical.train --data gaussian --spectrum patches --out gauss.pt --json check.json

The network (``empirical/models/learned.py``) starts at the Gaussian-optimal linear
denoiser of the training data (mean and covariance of the train split, or of
``--skip-samples`` draws for synthetic sources) and learns a residual with Adam,
a cosine learning-rate decay (``torch.optim.lr_scheduler.LambdaLR``) and an
exponential moving average of the weights (``torch.optim.swa_utils.AveragedModel``;
the EMA weights are saved). Log-SNR is drawn uniformly (stratified within a
batch) on ``[--log-snr-min, --log-snr-max]``. Every random number is a pure
function of ``(--seed, step)``, so the same command gives the same checkpoint
bit for bit (same torch build, same thread count).

After training, the denoiser's MSE is compared at 23 log-SNRs (-10..12 by
default) with a reference on the same noisy samples: the exact posterior
mean for ``gaussian`` (the oracle; the target is ``mse_ratio_paired <= 1.01``)
and the mixtures, the Gaussian (linear) fit for ``digits`` and ``patches``.
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
import time

import numpy as np

from empirical import _cli
from empirical import data as data_mod
from gaussian import schedule
from gaussian._io import run_cli

from . import base, oracles

__all__ = ["TrainConfig", "MmseRow", "MmseCheck", "train", "mmse_check", "main"]

MODELS = ("mlp", "unet")
"""``--model``: the MLP of flat vectors (``learned.DenoiserNet``) or the image U-Net (``unet.UNet``, ``--data photos``)."""
UNET_KEYS = ("channels", "levels", "num_freqs", "prediction", "log_snr_min", "log_snr_max", "steps", "batch_size", "lr",
             "ema_decay", "seed")
SCHEDULES = ("isotropic", "rdp")
"""``--schedule``: one log-SNR for every coefficient, or (unet only) the stationary oracle's perfect-realism path, on
which the network is conditioned on the path's ``tau`` (drawn on ``[--log-snr-min, --log-snr-max]``)."""
RNG_TAG_TRAIN = 0x5A3D05  # SeedSequence purpose tags (see empirical.data)
RNG_TAG_CHECK = 0x5A3D06
LOG_SNR_LIMIT = 30.0
"""Training log-SNRs lie in [-30, 30]: beyond, sigma (or alpha) is below float32 resolution of the data
(exp(-15) = 3e-7 at log-SNR 30), and e.g. log-SNR 1e6 silently gives a zero x-loss or a non-finite eps-loss."""


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Network and optimisation settings (all recorded in the checkpoint)."""

    model: str = "mlp"
    prediction: str = "x"
    hidden: int = 256
    depth: int = 3
    num_freqs: int = 16
    log_snr_min: float = -10.0
    log_snr_max: float = 12.0
    steps: int = 3000
    batch_size: int = 512
    lr: float = 1e-3
    ema_decay: float = 0.999
    seed: int = 0
    skip_samples: int = 131072
    channels: int = 32
    levels: int = 2
    schedule: str = "isotropic"

    def __post_init__(self):
        checks = [
            ("schedule", self.schedule in SCHEDULES, f"one of {SCHEDULES}"),
            ("schedule", self.schedule == "isotropic" or self.model == "unet", "'isotropic' for the mlp"),
            ("model", self.model in MODELS, f"one of {MODELS}"),
            ("prediction", self.model == "mlp" or self.prediction == "x", "'x' for the unet"),
            ("channels", isinstance(self.channels, int) and 1 <= self.channels <= 512, "an integer in 1..512"),
            ("levels", isinstance(self.levels, int) and 0 <= self.levels <= 6, "an integer in 0..6"),
            ("prediction", self.prediction in ("x", "eps"), "'x' or 'eps'"),
            ("hidden", isinstance(self.hidden, int) and 1 <= self.hidden <= 8192, "an integer in 1..8192"),
            ("depth", isinstance(self.depth, int) and 0 <= self.depth <= 64, "an integer in 0..64"),
            ("num_freqs", isinstance(self.num_freqs, int) and 1 <= self.num_freqs <= 256, "an integer in 1..256"),
            ("log_snr_min", _in_log_snr_range(self.log_snr_min), f"in [-{LOG_SNR_LIMIT:g}, {LOG_SNR_LIMIT:g}]"),
            ("log_snr_max", _in_log_snr_range(self.log_snr_max), f"in [-{LOG_SNR_LIMIT:g}, {LOG_SNR_LIMIT:g}]"),
            ("log_snr_min", self.log_snr_min < self.log_snr_max, "< log_snr_max"),
            ("steps", isinstance(self.steps, int) and self.steps >= 0, "an integer >= 0"),
            ("batch_size", isinstance(self.batch_size, int) and self.batch_size >= 1, "an integer >= 1"),
            ("lr", np.isfinite(self.lr) and self.lr > 0, "finite and > 0"),
            ("ema_decay", 0 <= self.ema_decay < 1, "in [0, 1)"),
            ("seed", isinstance(self.seed, int) and self.seed >= 0, "an integer >= 0"),
            ("skip_samples", isinstance(self.skip_samples, int) and self.skip_samples >= 2, "an integer >= 2"),
        ]
        for name, ok, accepted in checks:
            if not ok:
                raise ValueError(f"{name}: must be {accepted}, got {getattr(self, name)!r}")


def _in_log_snr_range(value) -> bool:
    return (not isinstance(value, bool) and isinstance(value, (int, float, np.floating, np.integer))
            and bool(np.isfinite(value)) and -LOG_SNR_LIMIT <= value <= LOG_SNR_LIMIT)


@dataclasses.dataclass(frozen=True)
class MmseRow:
    """Denoiser MSE per dim at one log-SNR, against a reference denoiser on the same noisy samples."""

    log_snr: float
    mse_model: float  # E||x - x_hat_model||^2 / dim (Monte Carlo)
    mse_reference: float  # E||x - x_hat_ref||^2 / dim on the same samples
    mse_ratio_paired: float  # mse_model / mse_reference
    excess_ratio: float  # E||x_hat_model - x_hat_ref||^2 / dim / mse_reference
    mse_exact: float | None  # closed-form MMSE per dim (Gaussian source only)
    mse_ratio_exact: float | None  # mse_model / mse_exact


@dataclasses.dataclass(frozen=True)
class MmseCheck:
    """The MSE table of :func:`mmse_check`."""

    reference: str  # "oracle" | "mixture-oracle" | "linear"
    num_samples: int
    rows: tuple
    variable: str = "log_snr"  # what a row's log_snr holds: the log-SNR, or "tau" (an rdp U-Net: the path's tau)

    @property
    def max_ratio_paired(self) -> float:
        """Largest ``mse_ratio_paired`` over the log-SNRs."""
        return max(row.mse_ratio_paired for row in self.rows)

    @property
    def max_excess_ratio(self) -> float:
        """Largest ``excess_ratio`` over the log-SNRs."""
        return max(row.excess_ratio for row in self.rows)

    def to_dict(self) -> dict:
        """JSON-ready dict."""
        return {"reference": self.reference, "num_samples": self.num_samples, "variable": self.variable,
                "rows": [dataclasses.asdict(r) for r in self.rows]}


def _network_config(config: TrainConfig, source) -> dict:
    """JSON-able config stored in the checkpoint (network, schedule, data and training settings)."""
    import torch

    if (config.model == "unet") != (source.name == "photos"):
        raise ValueError("model: the unet trains on --data photos, and --data photos trains the unet (--model unet)")
    if config.model == "unet":
        settings = dataclasses.asdict(config)
        out = {"arch": "unet", "shape": list(source.shape), "data": source.spec, "torch": str(torch.__version__)}
        out.update({key: settings[key] for key in UNET_KEYS})
        if config.schedule == "rdp":  # absent for isotropic: the shipped checkpoint's config and hash stay as they are
            out["schedule"] = "rdp"
        return out
    out = {"dim": source.dim, "shape": list(source.shape), "data": source.spec, "torch": str(torch.__version__)}
    out.update({k: v for k, v in dataclasses.asdict(config).items() if k not in ("model", "channels", "levels",
                                                                                "schedule")})
    return out


def _skip_moments(source, config: TrainConfig):
    """``(mean, covariance)`` of the training data: the train split, or ``skip_samples`` draws (seeded)."""
    if source.splits is not None:
        return source.mean, source.covariance
    x = source.sample(config.skip_samples, seed=config.seed, split="train", step=2**32 - 1)
    mean = x.mean(axis=0)
    centred = x - mean
    return mean, centred.T @ centred / x.shape[0]


def _batch(source, config: TrainConfig, step: int):
    """``(x, eps, log_snr)`` float32 tensors for one step: a pure function of ``(seed, step)``."""
    import torch

    x = source.sample(config.batch_size, seed=config.seed, split="train", step=step)
    rng = np.random.default_rng(np.random.SeedSequence([RNG_TAG_TRAIN, config.seed, step]))
    eps = rng.standard_normal(x.shape)
    offsets = (rng.random() + np.arange(config.batch_size) / config.batch_size) % 1.0
    log_snr = config.log_snr_min + (config.log_snr_max - config.log_snr_min) * offsets
    as_t = lambda a: torch.from_numpy(a.astype(np.float32))  # noqa: E731
    return as_t(x), as_t(eps), as_t(log_snr)


def _cosine_factor(num_steps: int):
    """``step -> 0.5 (1 + cos(pi step / num_steps))``: the learning-rate factor of ``LambdaLR`` (1 at step 0)."""
    span = max(num_steps, 1)
    return lambda step: 0.5 * (1.0 + np.cos(np.pi * step / span))


def _ema_average(ema_decay: float):
    """``avg_fn`` of ``AveragedModel``: ``avg decay + current (1 - decay)``, ``decay = min(ema_decay, n / (9 + n))``.

    ``n`` is the number of updates averaged so far (1 at the first update after the initial copy), so the decay
    warms up from 0.1 and the first steps do not leave the random initialisation in the average.
    """

    def average(averaged, current, num_averaged):
        n = float(num_averaged)
        decay = min(ema_decay, n / (9.0 + n))
        return averaged.mul(decay).add_(current, alpha=1.0 - decay)

    return average


def train(source, config: TrainConfig = TrainConfig(), progress: bool = False):
    """Train a :class:`~empirical.models.learned.DenoiserNet` on ``source``.

    Parameters
    ----------
    source : empirical.data.Source
        Training data (train split).
    config : TrainConfig
        Network and optimisation settings.
    progress : bool
        Show a tqdm progress bar (on stderr).

    Returns
    -------
    net : DenoiserNet
        The EMA weights, in float32, in eval mode.
    losses : numpy.ndarray
        ``[steps]`` training loss of each step.
    cpu_seconds : float
        Process CPU time spent training (``time.process_time``).
    """
    import torch
    from torch.optim.swa_utils import AveragedModel

    from . import learned

    net_config = learned.check_config(_network_config(config, source))
    if config.model == "unet":
        torch.manual_seed(config.seed)
        net = learned.UNet(net_config)
        images = (-1,) + tuple(source.shape)
    else:
        mean, cov = _skip_moments(source, config)
        eigvals, basis = base._eig_from_covariance(cov, "training covariance")
        torch.manual_seed(config.seed)
        net = learned.DenoiserNet(net_config, mean, eigvals, basis)
        images = None
    # EMA of the weights: torch.optim.swa_utils.AveragedModel (a copy of ``net``; its first update copies the
    # initial weights) with the warm-up decay min(ema_decay, n / (9 + n)) at the n-th update after that
    ema = AveragedModel(net, avg_fn=_ema_average(config.ema_decay))
    ema.update_parameters(net)
    opt = torch.optim.Adam(net.parameters(), lr=config.lr)
    # cosine decay from --lr at step 0 towards 0 at the last step: lr = config.lr * factor(step)
    lr_decay = torch.optim.lr_scheduler.LambdaLR(opt, _cosine_factor(config.steps))
    losses = np.zeros(config.steps)
    steps = range(config.steps)
    if progress:
        from tqdm import tqdm

        steps = tqdm(steps, desc=f"train {source.name}", file=sys.stderr, mininterval=0.5)
    start = time.process_time()
    for step in steps:
        x, eps, log_snr = _batch(source, config, step)
        if images is not None:
            x, eps = x.reshape(images), eps.reshape(images)
        loss = net.loss(x, eps, log_snr)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        lr_decay.step()
        ema.update_parameters(net)
        losses[step] = float(loss.detach())
        if progress and step % 50 == 0:
            steps.set_postfix(loss=f"{losses[step]:.4f}")
    cpu_seconds = time.process_time() - start
    if not np.isfinite(losses).all():
        raise ValueError("lr: training diverged (non-finite loss); lower --lr")
    return ema.module.requires_grad_(False).eval(), losses, cpu_seconds


def reference_denoiser(source):
    """``(name, denoiser)``: the exact oracle for gaussian / mixture sources, else the Gaussian fit."""
    if source.name == "gaussian":
        return "oracle", oracles.GaussianOracle.from_source(source)
    if source.name == "photos":
        from .stationary import StationaryImageOracle

        return "stationary-oracle", StationaryImageOracle(source.shape)
    if source.mixture is not None:
        return "mixture-oracle", oracles.MixtureOracle.from_source(source)
    return "linear", oracles.GaussianOracle.from_source(source)


def mmse_check(model, source, log_snrs=None, num_samples: int = 4096, seed: int = 0) -> MmseCheck:
    """MSE of ``model.denoise`` vs a reference on the same test samples and noise, at each log-SNR.

    Parameters
    ----------
    model : Denoiser
        The denoiser under test.
    source : empirical.data.Source
        Test data: ``examples("test", num_samples)``.
    log_snrs : array_like or None
        Default: the integers -10..12.
    num_samples : int
        Test samples per log-SNR.
    seed : int
        Seed of the noise (``SeedSequence([RNG_TAG_CHECK, seed, index of the log-SNR])``).

    Returns
    -------
    MmseCheck
        One :class:`MmseRow` per log-SNR.
    """
    log_snrs = np.arange(-10, 13, dtype=np.float64) if log_snrs is None else np.asarray(log_snrs, dtype=np.float64)
    name, ref = reference_denoiser(source)
    if source.splits is not None:
        num_samples = min(num_samples, source.splits["test"].shape[0])
    x = source.examples("test", num_samples)
    rdp = getattr(model, "schedule", "isotropic") == "rdp"
    rows = []
    for i, log_snr in enumerate(log_snrs):
        rng = np.random.default_rng(np.random.SeedSequence([RNG_TAG_CHECK, seed, i]))
        if rdp:  # log_snr is the path's tau: per-coefficient noise in the oracle's eigenbasis, both on the same z
            from gaussian import curves

            ls = curves.rdp_path_log_snrs(ref.eigvals, log_snr)[0]
            alpha, sigma = schedule.alpha_sigma_from_log_snr(ls)
            noise = ref.to_eigen(rng.standard_normal(x.shape))
            z = ref.from_eigen(alpha * ref.to_eigen(x) + sigma * noise)
            x_model, x_ref = model.denoise_per_component(z, ls), ref.denoise_per_component(z, ls)
            rows.append(MmseRow(float(log_snr), *_mse_numbers(x_model, x_ref, x), None, None))
            continue
        alpha, sigma = schedule.alpha_sigma_from_log_snr(log_snr)
        z = alpha * x + sigma * rng.standard_normal(x.shape)
        x_model, x_ref = model.denoise(z, log_snr), ref.denoise(z, log_snr)
        mse_model, mse_ref, ratio, excess = _mse_numbers(x_model, x_ref, x)
        exact = float(ref.mmse_per_dim(log_snr)[0]) if name == "oracle" else None
        rows.append(MmseRow(float(log_snr), mse_model, mse_ref, ratio, excess, exact,
                            None if exact is None else mse_model / exact))
    return MmseCheck(name, int(x.shape[0]), tuple(rows), "tau" if rdp else "log_snr")


def _mse_numbers(x_model, x_ref, x) -> tuple:
    """``(mse_model, mse_ref, ratio, excess)`` of two denoisers' outputs on the same noisy ``x``."""
    mse_model, mse_ref = float(np.mean((x_model - x) ** 2)), float(np.mean((x_ref - x) ** 2))
    return mse_model, mse_ref, mse_model / mse_ref, float(np.mean((x_model - x_ref) ** 2)) / mse_ref


def format_check(check: MmseCheck) -> str:
    """Text table of an :class:`MmseCheck`."""
    lines = [f"MSE per dim vs {check.reference} on {check.num_samples} test samples (same noise)",
             f"{check.variable:>8} {'mse_model':>12} {'mse_ref':>12} {'ratio_paired':>13} {'excess':>10} "
             f"{'mse_exact':>12} {'ratio_exact':>12}"]
    for r in check.rows:
        exact = f"{r.mse_exact:12.5g} {r.mse_ratio_exact:12.5f}" if r.mse_exact is not None else f"{'-':>12} {'-':>12}"
        lines.append(f"{r.log_snr:8.2f} {r.mse_model:12.5g} {r.mse_reference:12.5g} {r.mse_ratio_paired:13.5f} "
                     f"{r.excess_ratio:10.2e} {exact}")
    lines.append(f"max ratio_paired: {check.max_ratio_paired:.5f}; max excess: {check.max_excess_ratio:.2e} "
                 "(excess = mean ||x_hat_model - x_hat_ref||^2 / mse_ref)")
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    """The command-line parser."""
    p = _cli.parser("python -m empirical.train", __doc__)
    add_data_arguments(p)
    d = TrainConfig()
    p.add_argument("--out", required=True,
                   help="checkpoint path to write (checked before training; written to a temporary name, then renamed)")
    p.add_argument("--model", choices=MODELS, default=d.model,
                   help="mlp (flat vectors) or unet (images of any size; --data photos) (default: %(default)s)")
    p.add_argument("--channels", type=int, default=d.channels, help="unet: channels of the first level (default: %(default)s)")
    p.add_argument("--levels", type=int, default=d.levels, help="unet: 2x2 downsamplings (default: %(default)s)")
    p.add_argument("--crop", type=int, default=32, help="photos: side of the random crops (default: %(default)s)")
    p.add_argument("--prediction", choices=("x", "eps"), default=d.prediction, help="parameterisation (default: %(default)s)")
    p.add_argument("--hidden", type=int, default=d.hidden, help="MLP width (default: %(default)s)")
    p.add_argument("--depth", type=int, default=d.depth, help="residual blocks (default: %(default)s)")
    p.add_argument("--num-freqs", type=int, default=d.num_freqs, help="Fourier log-SNR frequencies (default: %(default)s)")
    p.add_argument("--schedule", choices=SCHEDULES, default=d.schedule,
                   help="unet: noise on one log-SNR for every coefficient (isotropic), or on the stationary oracle's "
                        "perfect-realism path, conditioned on its tau, for --schedule rdp streams (default: %(default)s)")
    p.add_argument("--log-snr-min", type=float, default=d.log_snr_min,
                   help=f"lowest training log-SNR (tau with --schedule rdp), >= -{LOG_SNR_LIMIT:g} (default: %(default)s)")
    p.add_argument("--log-snr-max", type=float, default=d.log_snr_max,
                   help=f"highest training log-SNR (tau with --schedule rdp), <= {LOG_SNR_LIMIT:g} (default: %(default)s)")
    p.add_argument("--steps", type=int, default=d.steps, help="optimiser steps (default: %(default)s)")
    p.add_argument("--batch-size", type=int, default=d.batch_size, help="samples per step (default: %(default)s)")
    p.add_argument("--lr", type=float, default=d.lr, help="peak Adam learning rate (default: %(default)s)")
    p.add_argument("--ema-decay", type=float, default=d.ema_decay, help="EMA decay of the saved weights (default: %(default)s)")
    p.add_argument("--seed", type=int, default=d.seed, help="seed of initialisation, data and noise (default: %(default)s)")
    p.add_argument("--skip-samples", type=int, default=d.skip_samples,
                   help="draws that fit the linear skip of a synthetic source (default: %(default)s)")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (default: %(default)s)")
    p.add_argument("--eval-samples", type=int, default=None,
                   help="test samples of the MSE check; 0 skips it (default: 4096, 256 for the unet)")
    p.add_argument("--json", help="also write the training report and MSE check as JSON to this path")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def add_data_arguments(p: argparse.ArgumentParser) -> None:
    """``--data`` and the parameters of the synthetic sources."""
    p.add_argument("--data", required=True, choices=data_mod.SOURCES + data_mod.IMAGE_SOURCES,
                   help="data source (photos: image crops for --model unet)")
    _cli.add_source_parameters(p)


def run(args) -> dict:
    """Train, save and check as the parsed ``args`` say; return the JSON report."""
    from . import learned

    _cli.check_outputs((args.out, "--out"), (args.json, "--json"))
    if args.eval_samples is None:
        args.eval_samples = 256 if args.model == "unet" else 4096
    if args.eval_samples < 0:
        raise ValueError(f"eval_samples: must be >= 0, got {args.eval_samples}")
    config = TrainConfig(
        model=args.model, channels=args.channels, levels=args.levels, prediction=args.prediction, hidden=args.hidden, depth=args.depth, num_freqs=args.num_freqs,
        log_snr_min=args.log_snr_min, log_snr_max=args.log_snr_max, steps=args.steps, batch_size=args.batch_size,
        lr=args.lr, ema_decay=args.ema_decay, seed=args.seed, skip_samples=args.skip_samples, schedule=args.schedule,
    )
    _cli.set_threads(args.threads)
    source = _cli.source_from_args(args)
    learned.check_config(_network_config(config, source))
    wall = time.perf_counter()
    net, losses, cpu_seconds = train(source, config, progress=not args.no_progress)
    wall = time.perf_counter() - wall
    with _cli.writing(args.out):
        digest = learned.save_checkpoint(args.out, net)
    tail = losses[-max(1, len(losses) // 10):] if len(losses) else np.zeros(1)
    report = {"checkpoint": str(args.out), "sha256": digest, "data": source.spec, "config": dataclasses.asdict(config),
              "cpu_seconds": cpu_seconds, "wall_seconds": wall, "threads": args.threads,
              "final_loss_mean_last_10pct": float(tail.mean())}
    print(f"saved {args.out} (sha256 {digest[:16]}): {config.steps} steps in {cpu_seconds:.1f} CPU s "
          f"({wall:.1f} s wall, {args.threads} thread(s)); mean loss of the last 10% {report['final_loss_mean_last_10pct']:.5f}")
    if args.eval_samples:
        if config.model == "unet":
            from .unet import UNetImageModel

            model = UNetImageModel(net, source.shape, digest)
        else:
            model = learned.LearnedDenoiser(net, digest)
        check = mmse_check(model, source,
                           np.linspace(config.log_snr_min, config.log_snr_max, 23), args.eval_samples)
        report["mmse_check"] = check.to_dict()
        print(format_check(check))
    if args.json:
        _cli.write_report(args.json, report)
    return report


FLAGS = {name: "--" + name.replace("_", "-") for name in (
    "model", "channels", "levels", "crop", "prediction", "schedule", "hidden", "depth", "num_freqs", "log_snr_min", "log_snr_max", "steps", "batch_size", "lr",
    "ema_decay", "seed", "skip_samples", "threads", "eval_samples", "spectrum", "dim", "basis", "basis_seed",
    "num_components", "std", "means_seed", "data")}


def main(argv=None) -> int:
    """Command-line entry point: 0 on success; bad input prints one line and exits with status 2."""
    return _cli.main(build_parser, run, FLAGS, argv)


if __name__ == "__main__":
    run_cli(main, prog="python -m empirical.train")
