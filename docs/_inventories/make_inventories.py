"""Write the intersphinx inventories of docs/conf.py, offline.

The documentation build may not touch the network, so intersphinx reads these
committed files instead of downloading each project's ``objects.inv``. Each
inventory lists only the external objects that our pages and docstrings
reference, mapped to the page that documents them in the project's online
documentation, following that site's URL scheme (checked against the sites, and
against the ``objects.inv`` of Debian's python3.11-doc and python-sklearn-doc
packages for Python and scikit-learn). The rendered links are therefore the real
ones.

A reference that no inventory lists fails the build (nitpicky mode): add the
name below, in its project's list, and rerun::

    python docs/_inventories/make_inventories.py

The files are Sphinx's inventory format, version 2: four header lines, then
``name domain:role priority uri display-name`` lines compressed with zlib (``$``
at the end of a URI stands for the name, ``-`` for a display name equal to the
name).
"""

import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent


# -- URL schemes ----------------------------------------------------------------------
def python(name, role="py:class", page=None, anchor=None):
    """docs.python.org/3: ``library/<page>.html#<name>``."""
    page = page or name.split(".")[0]
    anchor = anchor or (f"module-{name}" if role == "py:module" else name)
    return name, role, f"library/{page}.html#{anchor}"


def numpy(name, role="py:class"):
    """numpy.org/doc/stable: one generated page per object."""
    return name, role, f"reference/generated/{name}.html#{name}"


def scipy(name, role="py:function"):
    """docs.scipy.org/doc/scipy: one generated page per object."""
    return name, role, f"reference/generated/{name}.html#{name}"


def sklearn(name, role="py:class"):
    """scikit-learn.org/stable: one generated page per object, a page per module."""
    if role == "py:module":
        return name, role, f"api/{name}.html#module-{name}"
    owner = name
    if role in ("py:method", "py:attribute"):
        owner = name.rsplit(".", 1)[0]
    return name, role, f"modules/generated/{owner}.html#{name}"


def sklearn_doc(name, role, uri, display="-"):
    """A page, label or glossary term of scikit-learn's user guide."""
    return name, role, uri, display


def torch(name, role="py:class", page=None):
    """docs.pytorch.org/docs/stable: generated pages, or the page named."""
    if role == "py:module":
        return name, role, f"{page or name.split('.', 1)[1]}.html#module-{name}"
    if page is None:
        owner = name
        if role in ("py:method", "py:attribute"):
            owner = name.rsplit(".", 1)[0]
        return name, role, f"generated/{owner}.html#{name}"
    return name, role, f"{page}.html#{name}"


def skorch(name, role="py:class"):
    """skorch.readthedocs.io/en/stable: a page per module (``skorch.net`` -> net.html)."""
    module = name.split(".")[1]
    if role == "py:module":
        return name, role, f"{module}.html#module-{name}"
    return name, role, f"{module}.html#{name}"


def pyod(name, role="py:class"):
    """pyod.readthedocs.io/en/latest: models on pyod.models.html, the base on api_cc.html."""
    if name.startswith("pyod.models.base"):
        page = "api_cc"
    elif name.startswith("pyod.utils"):
        page = "pyod.utils"
    else:
        page = "pyod.models"
    anchor = f"module-{name}" if role == "py:module" else name
    return name, role, f"{page}.html#{anchor}"


def matplotlib(name, role="py:class"):
    """matplotlib.org/stable: ``api/_as_gen/<name>.html``."""
    return name, role, f"api/_as_gen/{name}.html#{name}"


def alias(entry, name):
    """``entry`` under another name (a private path that Sphinx prints), same page."""
    _, role, uri, *display = entry
    return name, role, uri, display[0] if display else entry[0]


# -- the objects our documentation references -------------------------------------
PROJECTS = {
    "python": {
        "project": "Python",
        "version": "3",
        "objects": [
            python("pickle", "py:module"),
            python("float", "py:class", page="functions"),
            python("int", "py:class", page="functions"),
            python("str", "py:class", page="stdtypes"),
            python("bool", "py:class", page="functions"),
            python("dict", "py:class", page="stdtypes"),
            python("list", "py:class", page="stdtypes"),
            python("tuple", "py:class", page="stdtypes"),
            python("object", "py:class", page="functions"),
            python("ValueError", "py:exception", page="exceptions"),
            python("TypeError", "py:exception", page="exceptions"),
            python("FloatingPointError", "py:exception", page="exceptions"),
            python("UserWarning", "py:exception", page="exceptions"),
        ],
    },
    "numpy": {
        "project": "NumPy",
        "version": "2",
        "objects": [
            numpy("numpy.ndarray"),
            numpy("numpy.memmap"),
            numpy("numpy.random.RandomState"),
            numpy("numpy.random.Generator"),
        ],
    },
    "scipy": {
        "project": "SciPy",
        "version": "1",
        "objects": [scipy("scipy.stats.false_discovery_control")],
    },
    "sklearn": {
        "project": "scikit-learn",
        "version": "1.6",
        "objects": [
            sklearn("sklearn.pipeline.Pipeline"),
            sklearn("sklearn.model_selection.GridSearchCV"),
            sklearn("sklearn.base.clone", "py:function"),
            sklearn("sklearn.ensemble.IsolationForest"),
            sklearn("sklearn.base.BaseEstimator"),
            sklearn("sklearn.base.OutlierMixin"),
            sklearn("sklearn.base.MetaEstimatorMixin"),
            sklearn("sklearn.datasets.load_digits", "py:function"),
            sklearn("sklearn.exceptions.ConvergenceWarning"),
            sklearn("sklearn.metrics.roc_auc_score", "py:function"),
            sklearn("sklearn.model_selection.StratifiedKFold"),
            sklearn("sklearn.model_selection.cross_val_score", "py:function"),
            sklearn("sklearn.utils.Bunch"),
            # names the gallery's examples use
            sklearn("sklearn.preprocessing.MinMaxScaler"),
            sklearn("sklearn.preprocessing.StandardScaler"),
            sklearn("sklearn.pipeline.make_pipeline", "py:function"),
            sklearn("sklearn.model_selection.train_test_split", "py:function"),
            sklearn("sklearn.model_selection.KFold"),
            sklearn("sklearn.model_selection.RandomizedSearchCV"),
            sklearn("sklearn.model_selection.cross_validate", "py:function"),
            sklearn("sklearn.metrics.average_precision_score", "py:function"),
            sklearn("sklearn.metrics.roc_curve", "py:function"),
            sklearn("sklearn.metrics.RocCurveDisplay"),
            sklearn("sklearn.neighbors.LocalOutlierFactor"),
            sklearn("sklearn.svm.OneClassSVM"),
            # the inherited get_metadata_routing's docstring
            sklearn("sklearn.utils.metadata_routing.MetadataRequest"),
            sklearn_doc(
                "metadata_routing",
                "std:label",
                "metadata_routing.html#metadata-routing",
                "Metadata Routing",
            ),
        ],
    },
    "torch": {
        "project": "PyTorch",
        "version": "2",
        "objects": [
            torch("torch.nn.Module"),
            torch("torch.Tensor", page="tensors"),
            torch("torch.use_deterministic_algorithms", "py:function"),
            torch("torch.set_num_threads", "py:function"),
            torch("torch.set_num_interop_threads", "py:function"),
            torch("torch.autograd.grad", "py:function"),
            torch("torch.nn.functional.affine_grid", "py:function"),
            torch("torch.nn.functional.grid_sample", "py:function"),
            torch("torch.device", page="tensor_attributes"),
            torch("torch.dtype", page="tensor_attributes"),
            torch("torch.Generator"),
            torch("torch.utils.data.Dataset", page="data"),
            # the name that show-inheritance prints for torch.nn.Module
            alias(torch("torch.nn.Module"), "torch.nn.modules.module.Module"),
        ],
    },
    "skorch": {
        "project": "skorch",
        "version": "1",
        "objects": [
            skorch("skorch.net.NeuralNet"),
            skorch("skorch.callbacks.Callback"),
            skorch("skorch.dataset.Dataset"),
            skorch("skorch.hf.AccelerateMixin"),
            # the names that show-inheritance prints
            alias(skorch("skorch.net.NeuralNet"), "skorch.NeuralNet"),
            alias(
                skorch("skorch.callbacks.Callback"), "skorch.callbacks.base.Callback"
            ),
        ],
    },
    "pyod": {
        "project": "PyOD",
        "version": "2",
        "objects": [
            pyod("pyod.models.base.BaseDetector"),
            pyod("pyod.models.knn.KNN"),
            pyod("pyod.models.iforest.IForest"),
            pyod("pyod.models.ecod.ECOD"),
            pyod("pyod.models.auto_encoder.AutoEncoder"),
            pyod("pyod.models.vae.VAE"),
            pyod("pyod.models.deep_svdd.DeepSVDD"),
        ],
    },
    "matplotlib": {
        "project": "Matplotlib",
        "version": "3",
        "objects": [
            matplotlib("matplotlib.pyplot.subplots", "py:function"),
            matplotlib("matplotlib.figure.Figure"),
            matplotlib("matplotlib.axes.Axes"),
        ],
    },
    "joblib": {
        "project": "joblib",
        "version": "1",
        "objects": [
            ("joblib.dump", "py:function", "generated/joblib.dump.html#joblib.dump"),
            ("joblib.load", "py:function", "generated/joblib.load.html#joblib.load"),
        ],
    },
}


def _line(entry):
    name, role, uri, *display = entry
    display = display[0] if display else "-"
    if uri.endswith("#" + name):
        uri = uri[: -len(name)] + "$"
    return f"{name} {role} 1 {uri} {display}\n"


def write_inventory(path, project, version, objects):
    header = (
        "# Sphinx inventory version 2\n"
        f"# Project: {project}\n"
        f"# Version: {version}\n"
        "# The remainder of this file is compressed using zlib.\n"
    )
    body = "".join(_line(entry) for entry in sorted(set(objects)))
    path.write_bytes(header.encode() + zlib.compress(body.encode(), 9))


def main():
    for name, spec in PROJECTS.items():
        write_inventory(
            HERE / f"{name}.inv", spec["project"], spec["version"], spec["objects"]
        )
        print(f"{name}.inv: {len(set(spec['objects']))} objects")


if __name__ == "__main__":
    main()
