#!/usr/bin/env python3
"""Writes sklearn_fixture.json: scikit-learn's roc_auc_score and roc_curve on
random and tied data, the independent reference for privlm's metrics.
Run with Debian's python3-sklearn: /usr/bin/python3 make_sklearn_fixture.py"""
import json

import numpy as np
import sklearn
from sklearn.metrics import roc_auc_score, roc_curve

rng = np.random.default_rng(20261122)
cases = []
for name, n, ties in [("random", 200, False), ("tied", 150, True), ("small-tied", 12, True), ("separable", 40, False)]:
    y = rng.integers(0, 2, n)
    y[0], y[1] = 0, 1
    if name == "separable":
        s = y + rng.random(n) * 0.5
    elif ties:
        s = rng.integers(0, 5, n).astype(float) + 0.7 * y * rng.integers(0, 2, n)
    else:
        s = rng.normal(size=n) + 0.6 * y
    fpr, tpr, thr = roc_curve(y, s, drop_intermediate=False)
    cases.append({
        "name": name,
        "labels": [bool(v) for v in y],
        "scores": [float(v) for v in s],
        "auroc": float(roc_auc_score(y, s)),
        "fpr": [float(v) for v in fpr],
        "tpr": [float(v) for v in tpr],
    })
with open("sklearn_fixture.json", "w") as f:
    json.dump({"sklearn": sklearn.__version__, "cases": cases}, f)
