"""The encoder's automatic budget raise is bounded, and its error names the CLI's flags."""
import pytest

from empirical.codec import compress


def _run(tmp_path, capsys, *extra):
    argv = ["--model", "oracle", "--data", "gaussian", "--spectrum", "powerlaw:1", "--dim", "16", "--steps", "2",
            "--log-snr-stop", "30", "--out", str(tmp_path / "g.dfrc"), "--no-progress", *extra]
    with pytest.raises(SystemExit) as exc:
        compress.main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    return err


def test_raise_stops_at_max_budget_bits(tmp_path, capsys):
    """A step needing ~22 bits in one dimension: refused at --max-budget-bits 16, naming the flags."""
    err = _run(tmp_path, capsys, "--max-budget-bits", "16")
    assert "--max-budget-bits=16" in err and "--steps" in err and "max_budget_bits" not in err
    assert not (tmp_path / "g.dfrc").exists()


def test_fixed_budget_names_its_flags(tmp_path, capsys):
    err = _run(tmp_path, capsys, "--fixed-budget")
    assert "--budget-bits=8 with --fixed-budget" in err and "auto_budget" not in err


@pytest.mark.parametrize("value", ["0", "1", "x"])
def test_tail_target_is_checked(tmp_path, capsys, value):
    err = _run(tmp_path, capsys, "--tail-target", value)
    assert "--tail-target" in err


@pytest.mark.parametrize("value", ["0", "65", "2.5", "x"])
def test_chunk_cost_bits_is_checked(tmp_path, capsys, value):
    err = _run(tmp_path, capsys, "--chunk-cost-bits", value)
    assert "--chunk-cost-bits" in err


def test_budget_error_survives_a_worker_process():
    """A sweep's worker raises BudgetError to its parent: it pickles with its fields (not a BrokenProcessPool)."""
    import pickle

    from empirical.codec import BudgetError

    err = BudgetError(3, 5.6, 12.8, 12, 12, True)
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is BudgetError and str(back) == str(err) and back.kl_bits == 12.8
