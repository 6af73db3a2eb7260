"""skanomaly.benchmarking._environment: what a result records about the machine."""

from skanomaly.benchmarking import environment_info


def test_environment_info_resolves_device():
    info = environment_info("cpu")
    assert info["device"] == "cpu"
    assert isinstance(info["cpu_count"], int)
    assert info["skanomaly"]
