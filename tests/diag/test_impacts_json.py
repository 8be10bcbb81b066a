#!/usr/bin/env python3
"""hfscan ranking --impacts-json: the layout CMS Combine's plotImpacts.py reads
(POIs: [{name, fit: [lo, val, hi]}], params: [{name, fit, prefit, <POI>,
impact_<POI>, type, groups}]), with numbers equal to the ranking's HDF5 file,
and what plotImpacts.py derives from them (pulls, constraints, impacts)
consistent with hfscan's own.  Usage: test_impacts_json.py HFSCAN WS OUTDIR"""
import json
import os
import subprocess
import sys

import h5py
import numpy as np

hfscan, ws, out = sys.argv[1:4]
js, h5 = os.path.join(out, "impacts.json"), os.path.join(out, "impacts_ranking.h5")
p = subprocess.run([hfscan, "ranking", ws, "--quiet", "--overwrite", "--group", "norms=norm_.*",
                    "--impacts-json", js, "-o", h5], capture_output=True, text=True)
if p.returncode != 0:
    sys.exit("ranking failed: %s" % p.stderr)
d = json.load(open(js))
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)


check(set(d) >= {"POIs", "params"}, "top-level keys %s" % sorted(d))
poi = d["POIs"][0]
check(poi["name"] == "mu" and len(poi["fit"]) == 3, "POIs: %s" % poi)
with h5py.File(h5, "r") as f:
    r = f["ranking/parameters"]
    names = [s.decode() for s in r["name"][...]]
    impact, held = r["impact"][...], r["held_at"][...]
    value, theta0, width = r["value"][...], r["theta0"][...], r["prefit_width"][...]
    pull, constraint, error = r["pull"][...], r["constraint"][...], r["error"][...]
    order = f["ranking/order"][...]
    # The free fit in the layout of every fit (docs/output.md): parameters/*.
    ff = f["ranking/free_fit/parameters"]
    ffn = [s.decode() for s in ff["name"][...]]
    mu_hat, mu_err = ff["value"][ffn.index("mu")], ff["error"][ffn.index("mu")]
check(abs(poi["fit"][1] - mu_hat) < 1e-12 and abs(poi["fit"][2] - poi["fit"][1] - mu_err) < 1e-12,
      "POI fit %s vs %g +- %g" % (poi["fit"], mu_hat, mu_err))
check(len(d["params"]) == len(names), "%d params for %d ranked" % (len(d["params"]), len(names)))
check([q["name"] for q in d["params"]] == [names[k] for k in order], "params not in ranking order")
for q in d["params"]:
    k = names.index(q["name"])
    for key in ("fit", "prefit", "mu", "impact_mu", "type", "groups"):
        check(key in q, "%s: no %s" % (q["name"], key))
    check(np.allclose(q["fit"], [held[k, 3], value[k], held[k, 2]], rtol=0, atol=1e-12),
          "%s: fit %s" % (q["name"], q["fit"]))
    check(np.allclose(q["prefit"], [theta0[k] - width[k], theta0[k], theta0[k] + width[k]],
                      rtol=0, atol=1e-12), "%s: prefit %s" % (q["name"], q["prefit"]))
    check(np.allclose(q["mu"], [mu_hat + impact[k, 3], mu_hat, mu_hat + impact[k, 2]], rtol=0,
                      atol=1e-12), "%s: mu %s" % (q["name"], q["mu"]))
    check(abs(q["impact_mu"] - max(abs(impact[k, 2]), abs(impact[k, 3]))) < 1e-12,
          "%s: impact_mu" % q["name"])
    # plotImpacts.py's pull for a symmetric prefit: (fit - prefit) / prefit width
    pre, fit = q["prefit"], q["fit"]
    check(abs((fit[1] - pre[1]) / (pre[2] - pre[1]) - pull[k]) < 1e-9, "%s: pull" % q["name"])
    if abs(held[k, 2] - value[k] - error[k]) < 1e-12 and abs(value[k] - held[k, 3] - error[k]) < 1e-12:
        check(abs((fit[2] - fit[0]) / (pre[2] - pre[0]) - constraint[k]) < 1e-9,
              "%s: constraint" % q["name"])
    check(q["type"] in ("Gaussian", "Poisson"), "%s: type %s" % (q["name"], q["type"]))
    check(("norms" in q["groups"]) == q["name"].startswith("norm_"), "%s: groups %s"
          % (q["name"], q["groups"]))
for msg in failures[:20]:
    print("FAIL:", msg)
print("%d params checked, %d failures" % (len(d["params"]), len(failures)))
sys.exit(1 if failures else 0)
