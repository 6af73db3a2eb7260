"""The environment a benchmark ran in: versions, date, CPU and device.

:func:`environment_info` is recorded in the metadata of every
:func:`~skanomaly.benchmarking.run_benchmark` result and by the benchmarks/
scripts that time detectors outside the engine, so every result file says
where and with what it was made.
"""

from __future__ import annotations

import datetime
import os
import platform

import numpy as np
import torch

from skanomaly.utils._torch import resolve_device


def _cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _version(module_name):
    try:
        module = __import__(module_name)
    except ImportError:
        return "not installed"
    return getattr(module, "__version__", "unknown")


def environment_info(device="auto"):
    """Versions, date, CPU and device, as recorded in every benchmark file.

    Parameters
    ----------
    device : str, default="auto"
        The torch device of the run; resolved (``"auto"`` becomes ``"cpu"``,
        ``"cuda"``...). A CUDA device adds the GPU's name.

    Returns
    -------
    info : dict

    Examples
    --------
    >>> from skanomaly.benchmarking import environment_info
    >>> sorted(environment_info("cpu"))[:4]
    ['cpu', 'cpu_count', 'date', 'device']
    """
    import sklearn

    import skanomaly

    resolved = resolve_device(device)
    info = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(
            timespec="seconds"
        ),
        "device": resolved,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu": _cpu_name(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "numpy": np.__version__,
        "torch": torch.__version__,
        "sklearn": sklearn.__version__,
        "skorch": _version("skorch"),
        "pyod": _version("pyod"),
        "skanomaly": skanomaly.__version__,
    }
    if torch.device(resolved).type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(torch.device(resolved))
    return info
