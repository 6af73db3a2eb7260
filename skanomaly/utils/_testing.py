"""Small settings for the test suite: constructor arguments and expected failures.

Every estimator exported by skanomaly needs an entry in ``INIT_PARAMS``: the
arguments that make it fit in well under a second on the tiny data of
scikit-learn's estimator checks.
"""

from __future__ import annotations

INIT_PARAMS: dict[str, dict] = {
    "DenoisingAE": {"hidden_dims": (16, 8), "max_epochs": 2, "batch_size": 32},
}

#: shared by every entry: CPU, fixed seed, quiet
COMMON_TEST_PARAMS = {"device": "cpu", "random_state": 0, "verbose": 0}

#: ``{estimator name: {check name: reason}}``
EXPECTED_FAILED_CHECKS: dict[str, dict[str, str]] = {}


def make_test_instance(estimator_class, **overrides):
    """An instance of ``estimator_class`` with the small test settings."""
    params = {
        **COMMON_TEST_PARAMS,
        **INIT_PARAMS[estimator_class.__name__],
        **overrides,
    }
    return estimator_class(**params)


def expected_failed_checks(estimator) -> dict[str, str]:
    """The checks ``estimator`` is known to fail, with reasons."""
    return EXPECTED_FAILED_CHECKS.get(type(estimator).__name__, {})
