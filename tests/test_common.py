"""scikit-learn's estimator checks over every exported detector."""

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from skanomaly.utils import all_estimators
from skanomaly.utils._testing import (
    INIT_PARAMS,
    expected_failed_checks,
    make_test_instance,
)

# scikit-learn's checks draw from numpy's global generator themselves
pytestmark = pytest.mark.foreign_rng

ESTIMATORS = [make_test_instance(cls) for _, cls in all_estimators()]


def test_every_estimator_has_test_settings():
    missing = [name for name, _ in all_estimators() if name not in INIT_PARAMS]
    assert not missing, f"add INIT_PARAMS entries for {missing}"


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=expected_failed_checks)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


@pytest.mark.parametrize("name_and_class", all_estimators(), ids=lambda p: p[0])
def test_constructor_only_stores_arguments(name_and_class):
    _, cls = name_and_class
    est = make_test_instance(cls)
    assert set(vars(est)) == set(est.get_params(deep=False))
