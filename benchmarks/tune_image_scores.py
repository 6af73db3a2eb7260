"""Which reconstruction score and budget for images: validation tasks only.

The task (``fmnist-val``): Fashion-MNIST's *training* split only. For each
normal class k of ``--classes``, a seeded 80 % of the class's training images
train; the other 20 % and as many images of the nine other classes (drawn from
the training split, seeded) are the validation set. The official test split is
never read.

Each configuration is fitted once per class; every score below is computed
from that one fit (they differ at scoring only):

- ``reconstruction``: the sum of squared pixel errors (the papers' score);
- ``rapp_sap`` / ``rapp_nap``: RaPP (Kim et al., ICLR 2020): the reconstruction
  is fed through the encoder again and the hidden activations of ``x`` and of
  ``rec(x)`` are compared layer by layer, input layer included; SAP sums the
  squared differences, NAP first whitens them with the principal directions of
  the training data's differences;
- ``nap_oas``: NAP with the covariance shrunk by OAS instead of truncated
  (``skanomaly.nets.pathway``, what the detectors use);
- ``latent_mahalanobis``: Mahalanobis distance of the latent code to the
  training codes (Ledoit-Wolf covariance; Denouden et al., 2018);
- ``reconstruction+latent``: the sum of the two, each divided by its training
  median.

Run (about 15 minutes on one core for the defaults)::

    python benchmarks/tune_image_scores.py --threads 1

Writes ``results/image_scores_tune.md`` and ``results/image_scores_tune.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.covariance import LedoitWolf
from sklearn.metrics import roc_auc_score

from skanomaly import ARAE, DenoisingAE
from skanomaly.benchmarking import environment_info
from skanomaly.datasets import load_fashion_mnist
from skanomaly.metrics import fpr_at_tpr
from skanomaly.nets.pathway import NAPScore, PathwayMoments, pathway_differences

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
# the same validation tasks as CRBND's tuning
from tune_crbnd import validation_task  # noqa: E402

DETECTORS = {"denoising-ae": DenoisingAE, "arae": ARAE}

CONFIGS = {
    "defaults": {},
    "5000 steps": {"max_epochs": 67},
    "paper network, 5000 steps": {"activation": "sigmoid", "max_epochs": 67},
    # the budget of the Fashion-MNIST run at the 6-minute cap: 200
    # epochs of 64 rows (15,000 steps here; 18,800 on a full class)
    "200 epochs": {"max_epochs": 200},
}


@torch.no_grad()
def pathway(module, X, batch=1024):
    """Per layer ``h_l(x) - h_l(rec(x))`` (input layer first) and the codes."""
    diffs, codes = [], []
    for start in range(0, len(X), batch):
        x = torch.as_tensor(X[start : start + batch], dtype=torch.float32)
        diffs.append([d.double().numpy() for d in pathway_differences(module, x)])
        codes.append(module.encode(x).double().numpy())
    layers = [np.concatenate(layer) for layer in zip(*diffs, strict=True)]
    return layers, np.concatenate(codes)


class Scores:
    """All the scores of one fitted MLP autoencoder."""

    def __init__(self, module, X_train):
        module = module.cpu().eval()
        self.module = module
        diffs, codes = pathway(module, X_train)
        self.nap = []
        for d in diffs:
            mean = d.mean(axis=0)
            _, s, vt = np.linalg.svd(d - mean, full_matrices=False)
            keep = s > s[0] * 1e-6
            self.nap.append((mean, vt[keep], s[keep] / np.sqrt(len(d))))
        self.cov = LedoitWolf().fit(codes)
        moments = PathwayMoments()
        with torch.no_grad():
            for start in range(0, len(X_train), 1024):
                xb = torch.as_tensor(X_train[start : start + 1024], dtype=torch.float32)
                moments.update(pathway_differences(module, xb))
        self.nap_oas = NAPScore(module, moments.whitening("oas"))
        self.nap_trunc = NAPScore(module, moments.whitening(shrinkage=None))
        base = self._raw(diffs, codes)
        self.medians = {key: np.median(value) for key, value in base.items()}

    def _raw(self, diffs, codes):
        nap = sum(
            ((((d - m) @ v.T) / s) ** 2).sum(axis=1)
            for d, (m, v, s) in zip(diffs, self.nap, strict=True)
        )
        return {
            "reconstruction": (diffs[0] ** 2).sum(axis=1),
            "rapp_sap": sum((d**2).sum(axis=1) for d in diffs),
            "rapp_nap": nap,
            "latent_mahalanobis": self.cov.mahalanobis(codes),
        }

    def __call__(self, X):
        raw = self._raw(*pathway(self.module, X))
        with torch.no_grad():
            raw["nap_oas"] = np.concatenate(
                [
                    self.nap_oas(
                        torch.as_tensor(X[i : i + 1024], dtype=torch.float32)
                    ).numpy()
                    for i in range(0, len(X), 1024)
                ]
            )
            raw["nap_truncated"] = np.concatenate(
                [
                    self.nap_trunc(
                        torch.as_tensor(X[i : i + 1024], dtype=torch.float32)
                    ).numpy()
                    for i in range(0, len(X), 1024)
                ]
            )
        raw["reconstruction+latent"] = (
            raw["reconstruction"] / self.medians["reconstruction"]
            + raw["latent_mahalanobis"] / self.medians["latent_mahalanobis"]
        )
        return raw


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--classes", type=int, nargs="+", default=list(range(10)))
    parser.add_argument("--detectors", nargs="+", default=["denoising-ae"])
    parser.add_argument("--configs", nargs="+", default=list(CONFIGS))
    parser.add_argument(
        "--rows",
        type=int,
        nargs="+",
        default=[None],
        help="training rows per task (a seeded subset of the 80 %%; default all)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--output", default=str(HERE / "results" / "image_scores_tune"))
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    X, y = load_fashion_mnist(split="train", return_X_y=True)
    rows = []
    for name in args.detectors:
        for config in args.configs:
            for k, rows_ in ((k, r) for r in args.rows for k in args.classes):
                X_train, X_val, y_val = validation_task(X, y, k, args.seed)
                X_train = X_train[:rows_]
                det = DETECTORS[name](
                    random_state=args.seed, device="cpu", **CONFIGS[config]
                )
                start = time.perf_counter()
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    det.fit(X_train)
                fit_s = time.perf_counter() - start
                scores = Scores(det.net_.module_, X_train)(X_val)
                auc = {
                    key: roc_auc_score(y_val, value) for key, value in scores.items()
                }
                fpr = {key: fpr_at_tpr(y_val, value) for key, value in scores.items()}
                row = {
                    "detector": name,
                    "config": config,
                    "class": k,
                    "rows": len(X_train),
                    "fit_s": round(fit_s, 1),
                    "epochs": det.n_epochs_,
                    "plateau": any("plateau" in str(w.message) for w in caught),
                    "auc": auc,
                    "fpr_at_tpr": fpr,
                }
                rows.append(row)
                print(json.dumps(row), flush=True)
    write(rows, args)


def write(rows, args):
    out = Path(args.output)
    out.with_suffix(".json").write_text(
        json.dumps({"environment": environment_info(), "rows": rows}, indent=1)
    )
    scores = list(rows[0]["auc"])
    lines = [
        "# Image scores and budgets: validation tasks (Fashion-MNIST training split only)",
        "",
        "Written by `benchmarks/tune_image_scores.py`. For each normal class, 80 % "
        "of its training images train; the other 20 % and as many training images "
        f"of other classes validate. Seed {args.seed}; mean ROC AUC over classes "
        f"{args.classes}.",
        "",
    ]
    lines += [f"- {key}: {value}" for key, value in environment_info().items()]
    lines += [
        "",
        "| detector | config | rows | fit s | "
        + " | ".join(scores)
        + " | nap_oas FPR@TPR0.995 |",
    ]
    lines += ["|---|---|---:|---:|" + "---:|" * (len(scores) + 1)]
    groups = {}
    for row in rows:
        key = (row["detector"], row["config"], row.get("rows"))
        groups.setdefault(key, []).append(row)
    for (name, config, n_rows), group in groups.items():
        means = [np.mean([r["auc"][s] for r in group]) for s in scores]
        fit = np.mean([r["fit_s"] for r in group])
        fprs = [r["fpr_at_tpr"]["nap_oas"] for r in group if "fpr_at_tpr" in r]
        fpr = f"{np.mean(fprs):.4f}" if len(fprs) == len(group) else "-"
        lines.append(
            f"| {name} | {config} | {n_rows} | {fit:.0f} | "
            + " | ".join(f"{m:.4f}" for m in means)
            + f" | {fpr} |"
        )
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
