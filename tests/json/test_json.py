#!/usr/bin/python3
"""The --json outputs keep the fields the issues specify, with consistent
values, and the HDF5 files (-o) hold the same numbers (h5py).

usage: test_json.py HFSCAN WORKSPACE OUTDIR"""
import json
import os
import subprocess
import sys

import h5py
import numpy as np

H, WS, OUT = sys.argv[1:4]
fails = []


def run(*args):
    p = subprocess.run([H, *args], capture_output=True, text=True)
    if p.returncode != 0:
        fails.append("%s: exit %d: %s" % (args[0], p.returncode, p.stderr.strip()))
        return None
    return json.loads(p.stdout)


def check(cond, what):
    if not cond:
        fails.append(what)


fit = run("fit", WS, "--json", "-o", OUT + "/fit.h5")
if fit:
    for k in ("status", "twice_nll", "parameters", "correlation", "n_eval", "time_s"):
        check(k in fit, "fit: no key %s" % k)
    check(fit["status"] == "converged", "fit: status %s" % fit["status"])
    n = len(fit["parameters"])
    check(all(set(p) >= {"name", "value", "error"} for p in fit["parameters"]), "fit: parameter keys")
    c = np.array(fit["correlation"], dtype=float)
    check(c.shape == (n, n), "fit: correlation shape %s" % (c.shape,))
    free = np.array([p["error"] > 0 for p in fit["parameters"]])
    check(np.allclose(np.diag(c)[free], 1.0), "fit: correlation diagonal")
    check(np.allclose(c, c.T), "fit: correlation not symmetric")
    check(any("[" in p["name"] for p in fit["parameters"]), "fit: no per-bin name[i]")
    with h5py.File(OUT + "/fit.h5") as f:
        names = [x.decode() if isinstance(x, bytes) else x for x in f["fit/parameters/name"][...]]
        check(names == [p["name"] for p in fit["parameters"]], "fit: HDF5 names differ")
        check(np.allclose(f["fit/parameters/value"][...], [p["value"] for p in fit["parameters"]],
                          rtol=1e-10, atol=1e-12), "fit: HDF5 values differ")
        check(abs(f["fit"].attrs["twice_nll"] - fit["twice_nll"]) < 1e-9, "fit: HDF5 twice_nll")
        check(len(f.attrs["workspace_sha256"]) == 64, "fit: no workspace sha256")

ht = run("hypotest", WS, "--mu", "3", "--json")
if ht:
    for k in ("mu", "CLs_obs", "CLsb_obs", "CLb_obs", "CLs_exp", "test_stat", "fits"):
        check(k in ht, "hypotest: no key %s" % k)
    e = ht["CLs_exp"]
    check(len(e) == 5 and all(e[i] <= e[i + 1] for i in range(4)), "hypotest: CLs_exp %s" % e)
    check(abs(ht["CLs_obs"] - ht["CLsb_obs"] / ht["CLb_obs"]) < 1e-12, "hypotest: CLs != CLsb/CLb")
    check(len(ht["fits"]) == 5 and all("status" in x for x in ht["fits"]), "hypotest: fits")

lim = run("limit", WS, "--cl", "0.9", "--scan", "0:10:6", "--json", "-o", OUT + "/limit.h5")
if lim:
    for k in ("cl", "obs", "exp", "scan"):
        check(k in lim, "limit: no key %s" % k)
    e = lim["exp"]
    check(len(e) == 5 and all(e[i] < e[i + 1] for i in range(4)), "limit: exp %s" % e)
    check(len(lim["scan"]) == 6 and all(set(p) >= {"mu", "CLs_obs", "CLs_exp"} for p in lim["scan"]),
          "limit: scan entries")
    with h5py.File(OUT + "/limit.h5") as f:
        check(abs(f["limit"].attrs["obs"] - lim["obs"]) < 1e-12, "limit: HDF5 obs")
        check(np.allclose(f["limit/exp"][...], e, rtol=1e-12), "limit: HDF5 exp")

sig = run("significance", WS, "--json")
if sig:
    for k in ("p0", "Z", "p0_exp", "Z_exp"):
        check(k in sig, "significance: no key %s" % k)
    check(abs(sig["Z"] ** 2 - sig["q0"]) < 1e-9, "significance: Z^2 != q0")

# The sanitizer build (HFS_TEST_QUICK=1) ranks the 67 parameters other than
# the 108 staterror bins: a third of the fits, the same checks.
quick = ["--freeze", "rgx{^staterror_}"] if os.environ.get("HFS_TEST_QUICK") else []
rk = run("ranking", WS, "--json", "--top", "5", *quick)
if rk:
    lst = rk["ranking"] if isinstance(rk, dict) else rk
    keys = {"name", "pull", "constraint", "impact_prefit_up", "impact_prefit_down",
            "impact_postfit_up", "impact_postfit_down"}
    check(len(lst) == 5 and all(set(x) >= keys for x in lst), "ranking: entries")
    imp = [max(abs(x["impact_postfit_up"]), abs(x["impact_postfit_down"])) for x in lst]
    check(all(imp[i] >= imp[i + 1] for i in range(len(imp) - 1)), "ranking: not sorted by impact")

print("\n".join("FAIL: " + f for f in fails))
print("%d passed, %d failed" % (1 if not fails else 0, len(fails)))
sys.exit(1 if fails else 0)
