#!/usr/bin/env python3
"""JSON of the diagnostics: gof's statistic and p-values are numbers; Asimov
runs state their data set and give the expected results (the fit returns the
injected mu, the observed limit and significance equal their medians); post-fit
yields come from the fit of hfscan fit.
Usage: test_diag_json.py HFSCAN WORKSPACE OUTDIR"""
import json
import math
import subprocess
import sys

hfscan, ws, out = sys.argv[1:4]
failures = []


def run(*args):
    p = subprocess.run([hfscan, *args, "--json"], capture_output=True, text=True)
    if p.returncode != 0:
        failures.append(f"{' '.join(args)}: exit {p.returncode}: {p.stderr.strip()}")
        return None
    return json.loads(p.stdout)


def check(cond, what):
    if not cond:
        failures.append(what)


g = run("gof", ws, "--calc", "toys", "--ntoys", "30", "--quiet")
if g:
    for k in ("t_obs", "p_asymptotic", "p_toys", "p_toys_err", "twice_nll", "twice_nll_saturated"):
        check(isinstance(g.get(k), float), f"gof: {k} is not a number: {g.get(k)!r}")
    check(g["ndof"] == 23, f"gof: ndof {g['ndof']} != 23")
    check(g["data"] == {"kind": "observed"}, f"gof: data {g['data']}")
    check(abs(g["t_obs"] - (g["twice_nll"] - g["twice_nll_saturated"])) < 1e-9, "gof: t_obs")

for nuis in ("prefit", "postfit"):
    f = run("fit", ws, "--data", f"asimov:mu=2.5:nuis={nuis}")
    if f:
        check(f["data"] == {"kind": "asimov", "mu": 2.5, "nuisance": nuis}, f"fit: data {f['data']}")
        mu = [p for p in f["parameters"] if p["name"] == "mu"][0]["value"]
        check(abs(mu - 2.5) < 1e-6, f"fit on asimov:mu=2.5:nuis={nuis}: mu = {mu}")
        if nuis == "prefit":
            worst = max(abs(p["value"] - (1.0 if p["name"].startswith("staterror") else 0.0))
                        for p in f["parameters"] if p["name"] != "mu")
            check(worst < 1e-6, f"fit on prefit Asimov: a nuisance parameter is {worst} off its centre")

lim = run("limit", ws, "--data", "asimov:mu=0")
if lim:
    check(abs(lim["obs"] - lim["exp"][2]) < 1e-4 * lim["obs"],
          f"limit on asimov:mu=0: observed {lim['obs']} != median expected {lim['exp'][2]}")
    check(lim["data"]["kind"] == "asimov", "limit: data not stated")

sig = run("significance", ws, "--data", "asimov:mu=1")
if sig:
    check(abs(sig["p0"] - sig["p0_exp"][2]) < 1e-6,
          f"significance on asimov:mu=1: observed p0 {sig['p0']} != median {sig['p0_exp'][2]}")

obs = run("fit", ws)
asi = run("fit", ws, "--data", "observed")
if obs and asi:
    check(obs["twice_nll"] == asi["twice_nll"], "--data observed differs from the default")

# Post-fit yields rest on the same fit as hfscan fit: the same parameters and
# covariance in both files.
import h5py  # noqa: E402
import os  # noqa: E402
yf, ff = os.path.join(out, "yields_same_fit.h5"), os.path.join(out, "fit_same_fit.h5")
if run("yields", ws, "-o", yf) is not None and run("fit", ws, "-o", ff) is not None:
    with h5py.File(yf, "r") as a, h5py.File(ff, "r") as b:
        for d in ("parameters/value", "covariance"):
            x, y = a["fit/" + d][()], b["fit/" + d][()]
            check(x.shape == y.shape and (x == y).all(), f"yields and fit differ in /fit/{d}")
        check(a["fit"].attrs["twice_nll"] == b["fit"].attrs["twice_nll"], "yields: twice_nll")

for f in failures:
    print("FAIL:", f)
print(f"{len(failures)} failures")
sys.exit(1 if failures else 0)
