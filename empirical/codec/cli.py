"""The codec CLIs' model options: ``--model`` / ``--data``, the oracle's model spec a stream records, the input range.

::

    compress:    --model, --data, source flags  --model_and_source-->  (model, source)
                 check_input_range(x, source)   (pixel range, or 50 data stds of the mean)
                 oracle_spec(args)  -->  "model=oracle;data=gaussian;dim=8"   (recorded in the stream header)
    decompress:  header model spec  --apply_stream_spec-->  the options not given, checked against those given
                 --model_and_source-->  (model, source)

The helpers every CLI shares (one-line errors, bounded inputs, atomic outputs,
the synthetic sources' flags) are in :mod:`empirical._cli`.
"""
from __future__ import annotations

import argparse

from empirical._cli import SOURCE_DEFAULTS, SOURCE_PARAMETERS, add_source_parameters, set_threads, source_from_args

INPUT_STD_LIMIT = 50.0
"""A compress input of an unbounded source may lie at most this many data standard deviations from the data mean."""


def check_input_range(x, source, flag: str, where: str) -> None:
    """ValueError naming ``flag`` unless sample ``x`` lies in ``source``'s data range (the rule of compress --help).

    Images (a ``pixel_range``): every value inside it. Unbounded sources: every value within
    :data:`INPUT_STD_LIMIT` standard deviations (square root of the largest covariance eigenvalue) of the data mean.
    A sample of the wrong size is left to the codec's own check.
    """
    import numpy as np

    x = np.asarray(x, dtype=np.float64).reshape(-1)
    if x.size != source.dim:
        return
    if source.pixel_range is not None:
        lo, hi = source.pixel_range
        if x.min() < lo or x.max() > hi:
            raise ValueError(f"{flag}: the values of {where} span {x.min():.6g}..{x.max():.6g}, outside "
                             f"[{lo:g}, {hi:g}], the pixel range of {source.name}; rescale them to it "
                             f"(8-bit pixels v: 2 v / 255 - 1)")
        return
    eigvals = source.eigvals if source.eigvals is not None else np.linalg.eigvalsh(source.covariance)
    std = float(np.sqrt(max(float(np.max(eigvals)), 0.0)))
    deviation = float(np.max(np.abs(x - source.mean)))
    if deviation > INPUT_STD_LIMIT * std:
        raise ValueError(f"{flag}: {where} has a value {deviation:.3g} away from the data mean, over "
                         f"{INPUT_STD_LIMIT:g} standard deviations of {source.name} ({INPUT_STD_LIMIT:g} x {std:.3g}); "
                         "rescale it to the data's range")


_SPEC_TYPES = {"spectrum": str, "dim": int, "basis": str, "basis_seed": int, "num_components": int, "std": float,
               "means_seed": int}


def oracle_spec(args) -> str:
    """The model spec an oracle stream records: ``model=M;data=D`` and the source's non-default parameters."""
    parts = [f"model={args.model}", f"data={args.data}"]
    for name in SOURCE_PARAMETERS.get(args.data, ()):
        value = getattr(args, name)
        if value is not None and value != SOURCE_DEFAULTS[name]:
            parts.append(f"{name}={value}")
    return ";".join(parts)


def parse_spec(text: str) -> dict:
    """``{key: value}`` of a model spec written by :func:`oracle_spec` (values typed); ValueError if malformed."""
    out = {}
    for item in text.split(";") if text else ():
        key, sep, value = item.partition("=")
        if not sep or key in out or key not in ("model", "data", *_SPEC_TYPES):
            raise ValueError(f"file: the stream's model spec {text!r} is not one this decoder understands")
        try:
            out[key] = _SPEC_TYPES.get(key, str)(value)
        except ValueError:
            raise ValueError(f"file: the stream's model spec {text!r} has a bad value for {key}") from None
    return out


def apply_stream_spec(args, header_spec: bytes) -> None:
    """Fill the oracle options not given on the command line from the stream's model spec; a given option that
    differs from it is a ValueError naming the flag. For a checkpoint, check that the stream is not an oracle's."""
    spec = parse_spec(header_spec.decode("ascii"))
    is_oracle = args.model.split(":")[0] in ("oracle", "mixture-oracle")
    if not spec:
        if is_oracle:
            raise ValueError(f"model: the stream was made with a checkpoint, not --model {args.model}; "
                             "give that checkpoint (--model PATH)")
        return
    if not is_oracle:
        raise ValueError(f"model: the stream was made with the oracle '{header_spec.decode()}'; decode it with "
                         f"--model {spec['model']} (the data options come from the stream)")
    if args.model != spec["model"]:
        raise ValueError(f"model: the stream was made with --model {spec['model']}, not {args.model}")
    if args.data is not None and args.data != spec["data"]:
        raise ValueError(f"data: the stream was made with --data {spec['data']}, not {args.data}")
    args.data = spec["data"]
    for name in SOURCE_PARAMETERS.get(spec["data"], ()):
        recorded = spec.get(name, SOURCE_DEFAULTS[name])
        given = getattr(args, name)
        if given is not None and given != recorded:
            flag = "--" + name.replace("_", "-")
            shown = f"{flag} {recorded}" if name in spec else f"the default {flag} {recorded}"
            raise ValueError(f"{name}: the stream was made with {shown}, not {given}")
        setattr(args, name, recorded)
    for name in set(SOURCE_DEFAULTS) - set(SOURCE_PARAMETERS.get(spec["data"], ())):
        if getattr(args, name) is None:
            setattr(args, name, SOURCE_DEFAULTS[name])


def add_model_arguments(p: argparse.ArgumentParser, from_stream: bool = False) -> None:
    """``--model``, ``--data`` (optional for checkpoints) and the synthetic-source parameters."""
    from empirical import data as data_mod

    p.add_argument("--model", required=True,
                   help="checkpoint of python -m empirical.train, or 'oracle' / 'oracle:plugin' (Gaussian oracle of "
                        "--data) / 'mixture-oracle', or for an image file 'oracle:stationary' (the stationary model of "
                        "photographs at the image's size), 'unet' / 'unet-rdp' / 'unet:CHECKPOINT.pt' (the learned U-Net, any size; "
                        "'unet-rdp' codes --schedule rdp) or "
                        "'tiled:oracle' / 'tiled:CHECKPOINT.pt' (an 8x8 patch model on every block)")
    p.add_argument("--data", choices=data_mod.SOURCES, default=None,
                   help="data source (default for a checkpoint: the one it was trained on"
                        + ("; for an oracle: the stream's)" if from_stream else ")"))
    add_source_parameters(p, from_stream)
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads for a checkpoint (default: %(default)s)")


def model_and_source(args):
    """``(model, source or None)`` from ``--model`` and ``--data``; a checkpoint supplies its own data source."""
    from empirical import data as data_mod
    from empirical import models

    is_oracle = args.model.split(":")[0] in ("oracle", "mixture-oracle")
    if is_oracle:
        if args.data is None:
            raise ValueError(f"data: --model {args.model} needs --data")
        source = source_from_args(args)
        return models.load(args.model, source), source
    set_threads(args.threads)
    model = models.load(args.model)
    if args.data is not None:
        source = source_from_args(args)
    else:
        recorded = model.config.get("data")
        if (not isinstance(recorded, dict) or not all(isinstance(k, str) for k in recorded)
                or not isinstance(recorded.get("name"), str)):
            raise ValueError(f"data: {args.model} records no data source; give --data")
        source = data_mod.make(**recorded)
    if source.dim != model.dim:
        raise ValueError(f"data: {source.name} has {source.dim} dims, the model {model.dim}")
    return model, source


MODEL_FLAGS = {name: "--" + name.replace("_", "-") for name in (
    "model", "data", "spectrum", "dim", "basis", "basis_seed", "num_components", "std", "means_seed", "threads")}
