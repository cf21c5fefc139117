"""Claims of the ledger and the verifier that proves them.

A :class:`Claim` is a named result: a stable ``id``, a ``kind`` (``identity``,
``inequality`` on a stated domain, or ``limit``), a one-line ``statement``, the
sympy ``expressions`` it asserts, its ``domain`` and ``source``, and a
``derive`` function. ``derive(expressions, derivation)`` re-derives the result
from definitions (densities, moments, ODEs) and compares every claimed
expression with the independent derivation through the checks of a
:class:`Derivation`::

    claim.expressions ──► derive ──► Derivation.equal / positive / limit / series
                                          │  numeric screen (30 digits): a mismatch is a counterexample
                                          │  symbolic proof: simplify to 0, is_positive, limit, series
                                          └► numeric fallback (50 digits), only where sympy cannot close it
                                   ──► Verification(status, method, steps)

The verifier fails fast: the first failing check ends the derivation and is
named in :attr:`Verification.detail`. A claim verifies only if it ran at least
one check, so a stub cannot pass. ``method`` is ``symbolic`` when every check
closed symbolically and ``numeric`` when any check needed the numeric fallback
(the step's ``note`` says which and why).
"""

from __future__ import annotations

import math
import re
import time
import types
import zlib
from dataclasses import dataclass, field, replace
from typing import Callable, Mapping, Sequence

import numpy as np
import sympy as sp
from sympy.core.function import AppliedUndef

from theory.symbols import SAMPLE_RANGES

__all__ = [
    "KINDS",
    "Claim",
    "Derivation",
    "Step",
    "Verification",
]

KINDS = ("identity", "inequality", "limit")
_ID_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")
_SCREEN_DPS = 30
_FALLBACK_DPS = 50
_DEFAULT_LOG_RANGE = (math.log(1 / 20), math.log(20))


@dataclass(frozen=True)
class Step:
    """One line of a derivation: ``lhs relation rhs``, how it was established, and whether it held."""

    text: str
    lhs: sp.Basic | None
    relation: str  # ":=" (definition), "=" (identity, limit, series) or ">" (inequality)
    rhs: sp.Basic
    method: str  # "definition", "symbolic" or "numeric"
    ok: bool
    note: str = ""


@dataclass(frozen=True)
class Verification:
    """Outcome of verifying one claim: status, method, seconds, the derivation steps and a detail line."""

    claim_id: str
    kind: str
    statement: str
    status: str  # "verified" or "failed"
    method: str  # "symbolic" or "numeric"
    seconds: float
    steps: tuple[Step, ...]
    detail: str

    @property
    def verified(self) -> bool:
        """True if the status is ``verified``."""
        return self.status == "verified"


class _CheckFailed(Exception):
    """Raised inside a derivation when a check fails (ends the derivation)."""


def _is_finite_number(value: sp.Basic) -> bool:
    """True if ``value`` is a finite (real or complex) number."""
    return bool(value.is_number) and value.is_finite is not False and not value.has(sp.nan, sp.zoo, sp.oo, -sp.oo)


def _has_functions(expr: sp.Basic) -> bool:
    """True if ``expr`` contains undefined functions or unevaluated derivatives (cannot be sampled)."""
    return bool(expr.atoms(AppliedUndef)) or expr.has(sp.Derivative)


def _close(a: sp.Basic, b: sp.Basic, dps: int) -> bool:
    """True if two numbers agree to about ``dps - 10`` significant digits."""
    scale = max(abs(a), abs(b))
    if scale == 0:
        return True
    return bool(abs(a - b) <= sp.Float(10) ** (-(dps - 10)) * scale)


class Derivation:
    """Accumulates the steps of one derivation and runs its checks (fail-fast).

    Parameters
    ----------
    claim_id : str
        Seeds the random points of the numeric screens (``SeedSequence([crc32(id), check])``).
    """

    def __init__(self, claim_id: str):
        self.claim_id = claim_id
        self.steps: list[Step] = []
        self.num_checks = 0
        self._seed = zlib.crc32(claim_id.encode("utf-8"))

    # ------------------------------------------------------------------ recording
    def define(self, text: str, lhs: sp.Basic | None, rhs) -> sp.Basic:
        """Record a definition ``lhs := rhs`` (no check); returns ``rhs`` sympified."""
        rhs = sp.sympify(rhs)
        self.steps.append(Step(text, lhs, ":=", rhs, "definition", True))
        return rhs

    def _record(self, text, lhs, relation, rhs, method, ok, note=""):
        """Append a checked step and raise if it failed."""
        self.steps.append(Step(text, lhs, relation, sp.sympify(rhs), method, ok, note))
        if not ok:
            raise _CheckFailed(f"{text}: {note}" if note else text)

    # ------------------------------------------------------------------ sampling
    def _rng(self) -> np.random.Generator:
        """A fresh generator for the current check, derived from (claim id, check index)."""
        return np.random.default_rng(np.random.SeedSequence([self._seed, self.num_checks]))

    @staticmethod
    def _sample(symbols, ranges: Mapping, rng: np.random.Generator) -> dict:
        """One random exact (Rational) point strictly inside the domain of every symbol."""
        point = {}
        for symbol in sorted(symbols, key=str):
            bounds = ranges.get(symbol, SAMPLE_RANGES.get(symbol))
            fraction = sp.Rational(int(rng.integers(1, 2**20)), 2**20)  # strictly inside (0, 1)
            if bounds is not None:
                lo, hi = (sp.sympify(b) for b in bounds)
                point[symbol] = lo + (hi - lo) * fraction
            elif symbol.is_positive or symbol.is_nonnegative:
                lo, hi = _DEFAULT_LOG_RANGE
                point[symbol] = sp.Rational(math.exp(lo + (hi - lo) * float(fraction)))
            elif symbol.is_real:
                point[symbol] = -3 + 6 * fraction
            else:
                raise ValueError(f"symbol {symbol} has no sampling range")
        return point

    @staticmethod
    def _evaluate(expr: sp.Basic, point: dict, dps: int) -> sp.Basic:
        """``expr`` at ``point`` to ``dps`` digits (a sympy number, possibly non-finite).

        The exact point is rounded to ``dps + 20`` digit floats before substitution:
        exact powers of large rationals would make sympy factor integers.
        """
        floats = {symbol: sp.Float(value, dps + 20) for symbol, value in point.items()}
        return sp.N(sp.sympify(expr).xreplace(floats), dps)

    def _compare_at(self, lhs, rhs, symbols, ranges, num_points, dps):
        """Compare lhs and rhs at random points; returns (all_close, counterexample or '', points_used)."""
        rng = self._rng()
        used = 0
        for _ in range(num_points):
            point = self._sample(symbols, ranges, rng)
            a, b = self._evaluate(lhs, point, dps), self._evaluate(rhs, point, dps)
            finite_a, finite_b = _is_finite_number(a), _is_finite_number(b)
            if not finite_a and not finite_b:
                continue
            used += 1
            if finite_a and finite_b and not _close(a, b, dps):
                # a discrepancy that is rounding error (e.g. lhs - rhs = 0 exactly) shrinks as the precision grows
                a2, b2 = self._evaluate(lhs, point, 2 * dps), self._evaluate(rhs, point, 2 * dps)
                if _is_finite_number(a2) and _is_finite_number(b2) and abs(a2 - b2) <= abs(a - b) * sp.Float(10) ** -10:
                    continue
            if finite_a != finite_b or not _close(a, b, dps):
                shown = {str(k): str(v) for k, v in point.items()}
                return False, f"counterexample at {shown}: lhs={sp.N(a, 15)}, rhs={sp.N(b, 15)}", used
        return True, "", used

    # ------------------------------------------------------------------ checks
    def equal(self, text: str, lhs, rhs, *, ranges: Mapping | None = None) -> None:
        """Check the identity ``lhs == rhs`` on the domain (symbols' assumptions and ``ranges``).

        A 30-digit screen at 3 random points looks for a counterexample first;
        then sympy must reduce ``lhs - rhs`` to 0; if it cannot, the identity is
        checked to 40 digits at 12 random points and the step is marked numeric.
        """
        self.num_checks += 1
        lhs, rhs = sp.sympify(lhs), sp.sympify(rhs)
        ranges = dict(ranges or {})
        diff = lhs - rhs
        symbols = lhs.free_symbols | rhs.free_symbols
        samplable = not (_has_functions(lhs) or _has_functions(rhs))
        if samplable:
            ok, counterexample, _ = self._compare_at(lhs, rhs, symbols, ranges, 3, _SCREEN_DPS)
            if not ok:
                self._record(text, lhs, "=", rhs, "numeric", False, counterexample)
        if _reduces_to_zero(diff):
            self._record(text, lhs, "=", rhs, "symbolic", True)
            return
        if not samplable:
            self._record(text, lhs, "=", rhs, "symbolic", False, "sympy could not reduce lhs - rhs to 0")
        ok, counterexample, used = self._compare_at(lhs, rhs, symbols, ranges, 12, _FALLBACK_DPS)
        if used == 0:
            ok, counterexample = False, "no finite sample point"
        note = (
            f"sympy could not reduce lhs - rhs to 0; equal to {_FALLBACK_DPS - 10} digits at {used} random points"
            if ok
            else counterexample
        )
        self._record(text, lhs, "=", rhs, "numeric", ok, note)

    def positive(self, text: str, expr, *, ranges: Mapping | None = None) -> None:
        """Check the strict inequality ``expr > 0`` on the domain (symbols' assumptions and ``ranges``).

        A 30-digit screen at 8 random points looks for a counterexample; the
        proof is sympy's ``is_positive`` on simplified/factored forms, or an
        empty ``solveset(expr <= 0)`` for a univariate rational function on its
        range; failing both, 200 random points at 30 digits (marked numeric).
        """
        self.num_checks += 1
        expr = sp.sympify(expr)
        ranges = dict(ranges or {})
        zero = sp.Integer(0)
        screen = self._positive_at(expr, ranges, 8)
        if screen:
            self._record(text, expr, ">", zero, "numeric", False, screen)
        if _proves_positive(expr, ranges):
            self._record(text, expr, ">", zero, "symbolic", True)
            return
        counterexample = self._positive_at(expr, ranges, 200)
        note = (
            counterexample or f"sympy could not decide the sign; positive at 200 random points ({_SCREEN_DPS} digits)"
        )
        self._record(text, expr, ">", zero, "numeric", not counterexample, note)

    def _positive_at(self, expr, ranges, num_points) -> str:
        """'' if ``expr > 0`` at every random point, else a description of a counterexample."""
        rng = self._rng()
        for _ in range(num_points):
            point = self._sample(expr.free_symbols, ranges, rng)
            value = self._evaluate(expr, point, _SCREEN_DPS)
            if not (_is_finite_number(value) and value.is_real and value > 0):
                shown = {str(k): str(v) for k, v in point.items()}
                return f"counterexample at {shown}: value={sp.N(value, 15)}"
        return ""

    def limit(self, text: str, expr, var: sp.Symbol, point, expected, direction: str = "+") -> None:
        """Check ``expr -> expected`` as ``var -> point`` (one-sided, ``direction`` '+' or '-') with sympy's limit."""
        self.num_checks += 1
        expr, expected = sp.sympify(expr), sp.sympify(expected)
        value = sp.limit(expr, var, point, dir=direction)
        lhs = sp.Limit(expr, var, point, dir=direction)
        if isinstance(value, sp.Limit) or value.has(sp.Limit, sp.AccumBounds):
            self._record(text, lhs, "=", expected, "symbolic", False, f"sympy could not evaluate the limit: {value}")
        if expected.is_infinite or value.is_infinite:
            ok = value == expected
        else:
            ok = _reduces_to_zero(value - expected)
        self._record(text, lhs, "=", expected, "symbolic", ok, "" if ok else f"sympy gives {value}")

    def series(self, text: str, expr, var: sp.Symbol, order: int, expected) -> None:
        """Check ``expr = expected + O(var**order)`` as ``var -> 0+`` (``expected`` a polynomial in ``var``)."""
        self.num_checks += 1
        expr, expected = sp.sympify(expr), sp.sympify(expected)
        expansion = sp.series(expr, var, 0, order).removeO()
        ok = _reduces_to_zero(expansion - expected)
        self._record(
            text,
            expr,
            "=",
            expected + sp.Order(var**order, (var, 0)),
            "symbolic",
            ok,
            "" if ok else f"sympy gives {expansion}",
        )

    def numeric(self, text: str, check: Callable[[], tuple[bool, str]], *, lhs=None, rhs=sp.S.true) -> None:
        """Run a numeric check ``check() -> (ok, note)`` where no symbolic route exists (marked numeric)."""
        self.num_checks += 1
        ok, note = check()
        self._record(text, lhs, "=", rhs, "numeric", ok, note)


def _all_positive(expr: sp.Basic) -> bool:
    """True if every free symbol and applied function of ``expr`` is declared positive."""
    atoms = expr.free_symbols | expr.atoms(AppliedUndef)
    return all(a.is_positive for a in atoms)


def _factor_radicands(expr: sp.Basic) -> sp.Basic:
    """``expr`` with every square-root argument put over a common denominator and factored."""
    return expr.replace(lambda x: x.is_Pow and x.exp == sp.S.Half, lambda x: sp.sqrt(sp.factor(sp.together(x.base))))


def _reduces_to_zero(diff: sp.Basic) -> bool:
    """True if one of a few sympy rewrites turns ``diff`` into exactly 0.

    The forced expansions of logs and powers are used only when every symbol and
    function in ``diff`` is declared positive, where they are valid identities.
    """
    diff = sp.sympify(diff)
    if diff == 0:
        return True
    strategies = []
    if _all_positive(diff):
        strategies += [
            lambda e: sp.cancel(sp.powsimp(sp.expand_power_base(sp.together(e), force=True), force=True)),
            lambda e: sp.simplify(
                sp.powsimp(sp.expand_log(sp.expand_power_base(e, force=True), force=True), force=True)
            ),
        ]
    strategies += [
        lambda e: sp.factor(sp.radsimp(sp.together(sp.expand(e)))),
        lambda e: _factor_radicands(sp.simplify(_factor_radicands(e))),
        sp.simplify,
    ]
    for strategy in strategies:
        try:
            if strategy(diff) == 0:
                return True
        except (TypeError, ValueError, NotImplementedError, sp.PolynomialError):
            continue
    return False


def _proves_positive(expr: sp.Basic, ranges: Mapping) -> bool:
    """True if sympy proves ``expr > 0`` (``is_positive`` on rewritten forms, or an empty solveset)."""
    candidates = [expr]
    rewrites = (
        sp.simplify,
        lambda e: sp.factor(sp.together(e)),
        lambda e: sp.factor(sp.together(sp.simplify(e))),
        lambda e: sp.factor(sp.together(_factor_radicands(sp.simplify(_factor_radicands(e))))),
    )
    for rewrite in rewrites:
        try:
            candidates.append(rewrite(expr))
        except (TypeError, ValueError, NotImplementedError, sp.PolynomialError):
            continue
    if any(c.is_positive is True for c in candidates):
        return True
    symbols = expr.free_symbols
    if len(symbols) == 1:
        (var,) = symbols
        lo, hi = ranges.get(var, SAMPLE_RANGES.get(var, (0 if var.is_positive else -sp.oo, sp.oo)))
        for candidate in candidates:
            if candidate.is_rational_function(var):
                try:
                    bad = sp.solveset(candidate <= 0, var, sp.Interval.open(lo, hi))
                except (TypeError, ValueError, NotImplementedError):
                    continue
                if bad is sp.S.EmptySet:
                    return True
    return False


@dataclass(frozen=True)
class Claim:
    """A named result of the ledger with the expressions it asserts and a verifier.

    Parameters
    ----------
    id : str
        Stable identifier (lower case, digits, underscores).
    kind : str
        ``identity``, ``inequality`` (on ``domain``) or ``limit``.
    statement : str
        One-line statement in words and ASCII formulas.
    domain : str
        Where it holds (assumptions on the symbols).
    source : str
        Reference, or ``derived here``.
    expressions : Mapping[str, sympy.Expr]
        The claimed closed forms; ``derive`` compares each one with an independent derivation.
    derive : callable
        ``derive(expressions, derivation)`` runs the checks.
    """

    id: str
    kind: str
    statement: str
    domain: str
    source: str
    expressions: Mapping[str, sp.Basic] = field(compare=False)
    derive: Callable[[Mapping[str, sp.Basic], Derivation], None] = field(compare=False, repr=False)

    def __post_init__(self):
        if not _ID_PATTERN.match(self.id):
            raise ValueError(f"id must match {_ID_PATTERN.pattern}: got {self.id!r}")
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}: got {self.kind!r}")
        if not self.expressions:
            raise ValueError(f"expressions of claim {self.id!r} must not be empty")
        frozen = types.MappingProxyType({str(k): sp.sympify(v) for k, v in self.expressions.items()})
        object.__setattr__(self, "expressions", frozen)

    def with_expressions(self, **overrides) -> "Claim":
        """A copy of this claim with some expressions replaced (for testing the verifier)."""
        unknown = set(overrides) - set(self.expressions)
        if unknown:
            raise ValueError(
                f"overrides must name expressions of {self.id!r} ({sorted(self.expressions)}): got {sorted(unknown)}"
            )
        return replace(self, expressions={**self.expressions, **overrides})

    def verify(self) -> Verification:
        """Run the derivation and return a :class:`Verification` (never raises for a failing claim)."""
        derivation = Derivation(self.id)
        start = time.perf_counter()
        detail = ""
        try:
            self.derive(self.expressions, derivation)
            failed = derivation.num_checks == 0
            if failed:
                detail = "no checks were run"
        except _CheckFailed as error:
            failed, detail = True, str(error)
        except Exception as error:  # a crashing derivation is a failed verification, reported as such
            failed, detail = True, f"derivation raised {type(error).__name__}: {error}"
        seconds = time.perf_counter() - start
        numeric_steps = [s for s in derivation.steps if s.method == "numeric"]
        method = "numeric" if numeric_steps else "symbolic"
        if not failed and numeric_steps:
            detail = "; ".join(f"{s.text}: {s.note}" for s in numeric_steps)
        return Verification(
            claim_id=self.id,
            kind=self.kind,
            statement=self.statement,
            status="failed" if failed else "verified",
            method=method,
            seconds=seconds,
            steps=tuple(derivation.steps),
            detail=detail,
        )


def check_unique_ids(claims: Sequence[Claim]) -> tuple[Claim, ...]:
    """The claims as a tuple, after checking that their ids are unique."""
    seen: set[str] = set()
    for claim in claims:
        if claim.id in seen:
            raise ValueError(f"claims must have unique ids: {claim.id!r} appears twice")
        seen.add(claim.id)
    return tuple(claims)
