"""Exact expectations of polynomials in independent standard normal variables.

The ledger derives rates and distortions from moments rather than from the
closed forms it is checking: a polynomial in independent ``N(0, 1)`` variables
(coefficients may be any sympy expressions) is expanded into monomials and each
``E[N^p]`` is replaced by ``(p - 1)!!`` for even ``p`` and ``0`` for odd ``p``.
"""

from __future__ import annotations

from typing import Sequence

import sympy as sp

__all__ = ["expect_normals"]


def expect_normals(expr, normals: Sequence[sp.Symbol]) -> sp.Expr:
    """Expectation of ``expr`` over the independent standard normals ``normals`` (exact sympy expression).

    Parameters
    ----------
    expr : sympy.Expr
        Polynomial in ``normals``; its coefficients may involve other symbols.
    normals : sequence of sympy.Symbol
        Independent ``N(0, 1)`` variables.

    Returns
    -------
    sympy.Expr
        ``E[expr]``.

    Examples
    --------
    >>> import sympy as sp
    >>> a, n = sp.symbols("a n")
    >>> expect_normals((a + n) ** 4, [n])
    a**4 + 6*a**2 + 3
    """
    if not normals:
        raise ValueError("normals must name at least one variable")
    poly = sp.Poly(sp.expand(expr), *normals)
    total = sp.Integer(0)
    for powers, coeff in poly.terms():
        moment = sp.Integer(1)
        for p in powers:
            moment *= 0 if p % 2 else sp.factorial2(p - 1)
        total += coeff * moment
    return sp.expand(total)
