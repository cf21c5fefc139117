"""Renderers of ``gaussian.table``: each column is computed once, so the output is linear in the number of rates."""
from __future__ import annotations

import numpy as np
import pytest

from gaussian import curves, spectrum, table


@pytest.mark.parametrize("render", ["to_table", "to_csv", "to_json"])
def test_gap_columns_are_computed_once_per_output(monkeypatch, render):
    """Calls of Curves.gap_db do not grow with the number of rates (per-cell recomputation was O(rates^2))."""
    calls = []
    original = curves.Curves.gap_db

    def counting(self, scheme, reference="rd"):
        calls.append(scheme)
        return original(self, scheme, reference)

    monkeypatch.setattr(curves.Curves, "gap_db", counting)
    spec = spectrum.power_law(8, 1.0)
    counts = []
    for n in (3, 300):
        calls.clear()
        result = curves.evaluate(spec, rate_bits_per_dim=np.geomspace(0.1, 4.0, n))
        args = (result, spec) if render in ("to_table", "to_json") else (result,)
        getattr(table, render)(*args)
        counts.append(len(calls))
    assert counts[0] == counts[1] <= 6


def test_table_cells_are_the_curves_values():
    """Each row of the text table shows that rate's MSEs and gaps (4 significant digits), in column order."""
    spec = spectrum.power_law(8, 1.0)
    result = curves.evaluate(spec, rate_bits_per_dim=[0.25, 1.0, 3.0])
    lines = table.to_table(result, spec).splitlines()
    rows = lines[3:6]
    for i, line in enumerate(rows):
        cells = [float(c) for c in line.split()]
        assert cells[0] == pytest.approx(result.rate_bits_per_dim[i], rel=1e-3)
        for j, s in enumerate(curves.SCHEMES):
            assert cells[2 + j] == pytest.approx(result.mse(s)[i], rel=1e-4)
        # gaps: 10 log10 of the MSE ratios, computed here from the MSEs
        assert cells[8] == pytest.approx(10 * np.log10(result.mse_diffc_a[i] / result.mse_diffc_f[i]), abs=1e-4)
        assert cells[9] == pytest.approx(10 * np.log10(result.mse_rdp[i] / result.mse_rd[i]), abs=1e-4)
