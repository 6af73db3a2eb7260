"""Small settings for the test suite: constructor arguments and expected failures.

Every estimator exported by skanomaly needs an entry in ``INIT_PARAMS``: the
arguments that make it fit in well under a second on the tiny data of
scikit-learn's estimator checks.
"""

from __future__ import annotations

INIT_PARAMS: dict[str, dict] = {
    "ARAE": {"hidden_dims": (16, 8), "max_epochs": 2, "pgd_steps": 2, "batch_size": 32},
    "DenoisingAE": {"hidden_dims": (16, 8), "max_epochs": 2, "batch_size": 32},
    "PuzzleAE": {
        "base_width": 2,
        "discriminator_width": 2,
        "max_epochs": 2,
        "batch_size": 16,
    },
}

#: shared by every entry: CPU, fixed seed, quiet
COMMON_TEST_PARAMS = {"device": "cpu", "random_state": 0, "verbose": 0}

#: why image-only detectors cannot run most generic checks
_IMAGE_ONLY = (
    "image-only detector: the check fits 2-D tabular data of varying width "
    "without input_shape, which raises ValueError by design; the contract point "
    "is tested on small images in the detector's own test file"
)

#: ``{estimator name: {check name: reason}}``
EXPECTED_FAILED_CHECKS: dict[str, dict[str, str]] = {
    "PuzzleAE": {
        "check_fit_score_takes_y": _IMAGE_ONLY,
        "check_estimators_overwrite_params": _IMAGE_ONLY,
        "check_dont_overwrite_parameters": _IMAGE_ONLY,
        "check_estimators_fit_returns_self": _IMAGE_ONLY,
        "check_readonly_memmap_input": _IMAGE_ONLY,
        "check_n_features_in_after_fitting": _IMAGE_ONLY,
        "check_positive_only_tag_during_fit": _IMAGE_ONLY,
        "check_estimators_dtypes": _IMAGE_ONLY,
        "check_dtype_object": _IMAGE_ONLY,
        "check_pipeline_consistency": _IMAGE_ONLY,
        "check_estimators_nan_inf": _IMAGE_ONLY,
        "check_estimators_pickle": _IMAGE_ONLY,
        "check_f_contiguous_array_estimator": _IMAGE_ONLY,
        "check_outliers_fit_predict": _IMAGE_ONLY,
        "check_outliers_train": _IMAGE_ONLY,
        "check_classifier_data_not_an_array": _IMAGE_ONLY,
        "check_methods_sample_order_invariance": _IMAGE_ONLY,
        "check_methods_subset_invariance": _IMAGE_ONLY,
        "check_fit2d_1feature": _IMAGE_ONLY,
        "check_dict_unchanged": _IMAGE_ONLY,
        "check_fit_idempotent": _IMAGE_ONLY,
        "check_fit_check_is_fitted": _IMAGE_ONLY,
        "check_n_features_in": _IMAGE_ONLY,
        "check_fit2d_predict1d": _IMAGE_ONLY,
    },
}


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
