"""Reverse channel coding of DiffC steps and the stream container.

One step's data flow, top to bottom through the modules::

    step.encode_step        q, p (diagonal Gaussians), seed, step
      -> partition           cut the (seed, step) permutation of the dimensions into chunks (KL <= budget,
                             candidate coordinates <= 2^chunk_cost_bits)
      -> step.candidate_bits candidates per chunk from its KL (the tail rule)
      -> sampler / gpu       Philox + Box-Muller candidates, the PFR scan -> one index per chunk
      -> index_coding        range code of the partition's side information and the indices -> segment
    bitstream.Bitstream     header + one segment per step; any prefix of steps decodes
    step.decode_segment / decode_step: the receiver's inverse, from integers and p only

``pfr_law`` holds the exact law of the PFR index for Gaussian chunks (tails,
entropy), ``gaussian_ratio`` the per-dimension divergences, ``limits`` an
idealised coder's rate-compute limit, ``bench`` the benchmark behind
``python -m empirical.rcc_bench``. Importing this package
imports NumPy only (constriction when a segment is coded, torch for
``device="cuda"``).
"""
from .._errors import BitstreamError
from .checks import (BUDGET_BITS_RANGE, DEFAULT_BUDGET_BITS, DEFAULT_PADDING_BITS, MAX_INDEX_BITS,
                     PADDING_BITS_RANGE)
from .index_coding import index_model_checksum
from .partition import Partition, choose_partition
from .step import (CHUNK_COST_BITS_RANGE, DEFAULT_CHUNK_COST_BITS, DEFAULT_TAIL_TARGET, StepCode, StepMessage,
                   candidate_bits, chunk_cap, chunk_dims, decode_segment,
                   decode_step, encode_segment, encode_step, kl_bits_per_dim, pfr_index_entropy_bits,
                   pfr_tail_probability)

__all__ = [
    "DEFAULT_BUDGET_BITS",
    "DEFAULT_PADDING_BITS",
    "DEFAULT_TAIL_TARGET",
    "DEFAULT_CHUNK_COST_BITS",
    "CHUNK_COST_BITS_RANGE",
    "BUDGET_BITS_RANGE",
    "PADDING_BITS_RANGE",
    "MAX_INDEX_BITS",
    "StepMessage",
    "StepCode",
    "kl_bits_per_dim",
    "Partition",
    "choose_partition",
    "candidate_bits",
    "chunk_cap",
    "chunk_dims",
    "encode_step",
    "decode_step",
    "encode_segment",
    "decode_segment",
    "pfr_tail_probability",
    "pfr_index_entropy_bits",
    "index_model_checksum",
    "BitstreamError",
]
