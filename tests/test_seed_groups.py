"""Seed groups of the report: runs equal but for the seed, their mean, std and n, and a best group named
only where the difference exceeds the spread (plain Python)."""
from __future__ import annotations

import numpy as np
import pytest

from genlab.evaluate.seed_groups import better_direction, clear_best, group_runs


def sweep(values: dict[tuple[str, str], float], metric: str = "fd_domain"):
    names = [f"beta={beta},seed={seed}" for beta, seed in values]
    overrides = [{"model": "vae", "beta": beta, "seed": seed} for beta, seed in values]
    return group_runs(names, overrides, [{metric: value} for value in values.values()], ["beta", "seed"])


def test_runs_equal_but_for_the_seed_form_one_group_with_mean_std_and_n() -> None:
    values = {("1", "0"): 10.0, ("4", "0"): 20.0, ("1", "1"): 12.0, ("4", "1"): 23.0, ("1", "2"): 17.0}
    groups = sweep(values)
    assert [group.label for group in groups] == ["beta=1", "beta=4"]
    assert [group.seeds for group in groups] == [["0", "1", "2"], ["0", "1"]]
    first, second = (group.summaries["fd_domain"] for group in groups)
    assert (first.n, second.n) == (3, 2)
    assert first.mean == pytest.approx(13.0) and first.std == pytest.approx(np.std([10, 12, 17], ddof=1))
    assert second.mean == pytest.approx(21.5) and second.std == pytest.approx(np.std([20, 23], ddof=1))


def test_a_best_group_is_named_only_beyond_the_spread() -> None:
    apart = sweep({("1", "0"): 10.0, ("1", "1"): 11.0, ("4", "0"): 20.0, ("4", "1"): 21.0})
    best, reason = clear_best(apart, "fd_domain")
    assert best is apart[0] and reason.startswith("beta=1 (by 10")  # lower FD is better
    overlapping = sweep({("1", "0"): 10.0, ("1", "1"): 16.0, ("4", "0"): 12.0, ("4", "1"): 18.0})
    best, reason = clear_best(overlapping, "fd_domain")
    assert best is None and reason.startswith("no clear best: beta=1 leads beta=4 by 2")
    single = sweep({("1", "0"): 10.0, ("4", "0"): 20.0})
    best, reason = clear_best(single, "fd_domain")
    assert best is None and "single seed has no spread" in reason
    higher = sweep({("1", "0"): 0.1, ("1", "1"): 0.11, ("4", "0"): 0.5, ("4", "1"): 0.52}, metric="recall_domain")
    assert clear_best(higher, "recall_domain")[0] is higher[1]  # higher recall is better
    assert clear_best(apart, "kl") == (None, "")  # no better side to name


def test_directions() -> None:
    assert [better_direction(name) for name in ("fd_inception", "kid_domain", "mse", "nll", "elbo_bits_per_dim")] == [-1] * 5
    assert [better_direction(name) for name in ("elbo", "psnr", "precision_domain", "coverage_inception")] == [1] * 4
    assert [better_direction(name) for name in ("kid_domain_std", "nll_stderr", "density_domain", "nn_ratio_domain", "kl")] == [0] * 5


def test_groups_measured_on_other_data_are_not_ranked_against_each_other() -> None:
    from genlab.evaluate.report import groups_section

    groups = sweep({("1", "0"): 10.0, ("1", "1"): 11.0, ("4", "0"): 20.0, ("4", "1"): 21.0})
    assert "- fd_domain: **beta=1 (by 10" in "\n".join(groups_section(groups, ["fd_domain"]))
    groups[0].data, groups[1].data = "fashion_mnist 32x32x1", "fashion_mnist 28x28x1"
    text = "\n".join(groups_section(groups, ["fd_domain"]))
    assert "measured on different data (fashion_mnist 32x32x1: beta=1; fashion_mnist 28x28x1: beta=4)" in text
    assert "**" not in text  # no best named: each data has one group
