"""Every detector documents each constructor parameter, in signature order."""

import inspect
import re

import pytest

from skanomaly.utils import all_estimators


@pytest.mark.parametrize("name_and_class", all_estimators(), ids=lambda p: p[0])
def test_parameters_documented_in_signature_order(name_and_class):
    _, cls = name_and_class
    doc = cls.__doc__
    assert "{{" not in doc, "an unfilled shared-docstring placeholder"
    params_section = doc[doc.index("Parameters\n") : doc.index("Attributes\n")]
    documented = re.findall(r"^    (\w+) : ", params_section, re.M)
    assert documented == list(inspect.signature(cls).parameters)


@pytest.mark.parametrize("name_and_class", all_estimators(), ids=lambda p: p[0])
def test_shared_fitted_attributes_documented(name_and_class):
    _, cls = name_and_class
    attributes = cls.__doc__[cls.__doc__.index("Attributes\n") :]
    for name in (
        "net_",
        "device_",
        "n_features_in_",
        "input_shape_",
        "offset_",
        "history_",
        "n_epochs_",
        "n_epochs_per_stage_",
        "batch_size_",
        "scaler_",
    ):
        assert f"    {name} : " in attributes, name
