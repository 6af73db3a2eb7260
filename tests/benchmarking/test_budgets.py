"""skanomaly.benchmarking._budgets: training budgets."""

import pytest

from skanomaly.benchmarking import BUDGETS, Budget, get_budget


def test_budgets():
    assert get_budget("quick") is BUDGETS["quick"]
    assert get_budget("paper").epochs(1600) == 1600
    assert get_budget("quick", max_epochs=4).epochs(1600) == 4
    custom = Budget("mine", 7, "cpu")
    assert get_budget(custom) is custom
    with pytest.raises(ValueError, match="unknown budget"):
        get_budget("huge")
    with pytest.raises(ValueError, match="max_epochs"):
        get_budget("quick", max_epochs=0)
