"""Sphinx configuration of the skanomaly documentation site.

Build (warnings are errors, every cross-reference must resolve)::

    pip install -e ".[docs]"
    sphinx-build -W --keep-going -n -b html docs docs/_build/html

The build never touches the network: intersphinx reads the inventories
committed in ``docs/_inventories/`` (see ``make_inventories.py`` there), and
the gallery runs the scripts of ``examples/`` on the local machine.
"""

import importlib
import pkgutil
from pathlib import Path

from sphinx.pycode import ModuleAnalyzer

import skanomaly

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent

# -- project --------------------------------------------------------------------
project = "skanomaly"
author = "The skanomaly developers"
copyright = "the skanomaly developers"  # noqa: A001 (Sphinx's name)
release = skanomaly.__version__
version = ".".join(release.split(".")[:2])

# -- extensions -----------------------------------------------------------------
extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "myst_parser",
    "sphinx_copybutton",
    "sphinx_design",
    "sphinx_gallery.gen_gallery",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = [
    "_build",
    "_inventories",
    "_templates",
    "Thumbs.db",
    ".DS_Store",
    # sphinx-gallery writes these next to the rendered examples
    "auto_examples/*.ipynb",
    "auto_examples/*.py",
    "auto_examples/*.zip",
    "auto_examples/*.md5",
    "auto_examples/*.codeobj.json",
    "sg_execution_times.rst",
]
templates_path = ["_templates"]

# -- nitpicky mode: every reference must resolve ----------------------------------
nitpicky = True
# Short and justified. Names of private modules (``skanomaly.x._y.Z``,
# ``sklearn.x._y.Z``) have no page: they appear as the bases of public classes
# (``show-inheritance``) and in a few docstrings about internals.
nitpick_ignore_regex = [
    (r"py:.*", r"(skanomaly|sklearn)(\.\w+)*\._\w+(\.\w+)*"),
]
nitpick_ignore = [
    # torch's docstring of Module.forward, inherited by our modules' forward,
    # says :class:`Module`
    ("py:class", "Module"),
]

# -- autodoc / autosummary / numpydoc -------------------------------------------
autosummary_generate = True
autosummary_imported_members = False
autosummary_ignore_module_all = False  # a module page lists its __all__

autodoc_inherit_docstrings = True
autodoc_typehints = "none"  # numpydoc's Parameters sections carry the types
autodoc_member_order = "bysource"
# numpydoc: the class template lists the methods (as scikit-learn's does)
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False  # types are words ("array of shape (n, C, H, W)")
numpydoc_xref_aliases = {
    # the short names the docstrings use for external types
    "BaseEstimator": "sklearn.base.BaseEstimator",
    "estimator": "sklearn.base.BaseEstimator",
    "Tensor": "torch.Tensor",
    "torch.Tensor": "torch.Tensor",
    "nn.Module": "torch.nn.Module",
    "torch.nn.Module": "torch.nn.Module",
    "torch.device": "torch.device",
    "torch.dtype": "torch.dtype",
    "Generator": "numpy.random.Generator",
    "RandomState": "numpy.random.RandomState",
    "ndarray": "numpy.ndarray",
    "DataFrame": "pandas.DataFrame",
    "Path": "pathlib.Path",
}
numpydoc_xref_ignore = {
    "of",
    "or",
    "and",
    "shape",
    "default",
    "optional",
    "instance",
    "array-like",
    "sparse",
    "matrix",
    "callable",
    "n_samples",
    "n_features",
    "n_outputs",
    "positive",
    "non-negative",
    "int,",
}
numpydoc_validation_checks: set[str] = set()

# -- MyST -------------------------------------------------------------------------
myst_enable_extensions = ["colon_fence", "deflist", "dollarmath", "substitution"]
myst_heading_anchors = 3  # links such as conventions.md#training-budget

# -- intersphinx: offline ----------------------------------------------------------
# Every inventory is a committed file written by docs/_inventories/make_inventories.py,
# which lists the external objects these pages and the docstrings reference and
# maps each to its page in the project's online documentation (the URLs in the
# rendered site are the real ones). Nothing is downloaded during a build; a name
# that an inventory lacks is a nitpicky warning, hence an error: add it to the
# script and rerun it (``python docs/_inventories/make_inventories.py``).
_INV = DOCS / "_inventories"
intersphinx_mapping = {
    "python": ("https://docs.python.org/3", str(_INV / "python.inv")),
    "numpy": ("https://numpy.org/doc/stable", str(_INV / "numpy.inv")),
    "scipy": ("https://docs.scipy.org/doc/scipy", str(_INV / "scipy.inv")),
    "sklearn": ("https://scikit-learn.org/stable", str(_INV / "sklearn.inv")),
    "torch": ("https://docs.pytorch.org/docs/stable", str(_INV / "torch.inv")),
    "skorch": ("https://skorch.readthedocs.io/en/stable", str(_INV / "skorch.inv")),
    "pyod": ("https://pyod.readthedocs.io/en/latest", str(_INV / "pyod.inv")),
    "matplotlib": ("https://matplotlib.org/stable", str(_INV / "matplotlib.inv")),
    "joblib": ("https://joblib.readthedocs.io/en/stable", str(_INV / "joblib.inv")),
}
intersphinx_timeout = 1  # never reached: every location above is a local file

# -- sphinx-gallery -----------------------------------------------------------------
EXAMPLES = ROOT / "examples"
_has_gallery = any((EXAMPLES / f"README.{ext}").exists() for ext in ("txt", "rst"))
if not _has_gallery:
    # No examples folder yet (a fresh branch): a placeholder keeps the toctree whole.
    (DOCS / "auto_examples").mkdir(exist_ok=True)
    (DOCS / "auto_examples" / "index.rst").write_text(
        "Gallery\n=======\n\nThe gallery is built from the scripts of ``examples/``,"
        " which this checkout does not have.\n"
    )
sphinx_gallery_conf = {
    "examples_dirs": ["../examples"] if _has_gallery else [],
    "gallery_dirs": ["auto_examples"] if _has_gallery else [],
    "filename_pattern": r"/plot_",  # run the plot_*.py scripts, show the others
    "ignore_pattern": r"__init__\.py|/_",
    "within_subsection_order": "FileNameSortKey",
    "download_all_examples": False,
    "remove_config_comments": True,
    "abort_on_example_error": False,  # an example's error is reported as a warning
    "only_warn_on_example_error": False,
    "reference_url": {"skanomaly": None},
    "doc_module": ("skanomaly",),
    "backreferences_dir": "api/generated/backreferences",
    "inspect_global_variables": False,
    "matplotlib_animations": False,
    "image_scrapers": ("matplotlib",),
    "show_memory": False,
}

# -- HTML ---------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"skanomaly {release}"
html_static_path = ["_static"]
html_css_files = ["skanomaly.css"]
html_show_sourcelink = False
html_theme_options = {
    "navbar_align": "left",
    "show_toc_level": 2,
    "navigation_with_keys": False,
    "header_links_before_dropdown": 7,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version", "theme-version"],
}
html_sidebars = {"index": [], "getting_started": [], "changelog": []}
html_context = {"default_mode": "light"}


# -- constants re-exported by a package ------------------------------------------------
def _constant_docstring(app, what, name, obj, options, lines):
    """A constant gets the ``#:`` comment of the module that defines it.

    autodoc looks for the comment in the module named in the API reference
    (``skanomaly.benchmarking``), not in the private one that defines the
    constant; without this, a dict's page would show the docstring of ``dict``.
    """
    if what != "data":
        return
    package, _, attr = name.rpartition(".")
    path = getattr(importlib.import_module(package), "__path__", [])
    for info in pkgutil.iter_modules(path):
        analyzer = ModuleAnalyzer.for_module(f"{package}.{info.name}")
        comment = analyzer.find_attr_docs().get(("", attr))
        if comment:
            lines[:] = list(comment)
            return
    lines[:] = []


def setup(app):
    app.connect("autodoc-process-docstring", _constant_docstring)
