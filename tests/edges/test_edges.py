#!/usr/bin/python3
"""Edge cases of the command line (issue 10), one case per ctest test.

usage: test_edges.py HFSCAN OUTDIR CASE

Each case runs hfscan the way a user would and checks what it prints, its
exit status and what it writes.  Assertion messages show both values."""
import json
import os
import subprocess
import sys

import h5py

HFSCAN, OUT, CASE = sys.argv[1], sys.argv[2], sys.argv[3]
HERE = os.path.dirname(os.path.abspath(__file__))
AT_BOUND = os.path.join(HERE, "data", "at_bound.json")
os.makedirs(OUT, exist_ok=True)


def run(*args, expect=0, stdin=None):
    p = subprocess.run([HFSCAN] + [str(a) for a in args], capture_output=True, text=True,
                       input=stdin)
    if expect is not None and p.returncode != expect:
        sys.exit("FAIL: hfscan %s exited %d, expected %d\nstdout:\n%s\nstderr:\n%s"
                 % (" ".join(map(str, args)), p.returncode, expect, p.stdout[-3000:], p.stderr))
    return p


def check(cond, what, got=None, want=None):
    if not cond:
        sys.exit("FAIL: %s (got %r, expected %r)" % (what, got, want))


def one_line_error(args, needle, expect):
    p = run(*args, expect=expect)
    lines = [l for l in p.stderr.splitlines() if l.strip()]
    check(len(lines) == 1, "one error line for %s" % " ".join(args), p.stderr, 1)
    check(lines[0].startswith("hfscan: ") and needle in lines[0],
          "the error names the problem", lines[0], needle)


def case_poi_at_bound():
    # The POI's best fit at its lower bound: a warning, the JSON and the HDF5
    # attribute say so and name --bounds.
    h5 = os.path.join(OUT, "at_bound_fit.h5")
    p = run("fit", AT_BOUND, "--json", "-o", h5)
    check("is at its lower bound" in p.stderr and "--bounds mu=" in p.stderr,
          "fit warns about the bound and names --bounds", p.stderr, "at its lower bound")
    j = json.loads(p.stdout)
    check(j["poi_at_bound"] == "lower", "JSON poi_at_bound", j.get("poi_at_bound"), "lower")
    check("--bounds" in j["poi_at_bound_note"], "JSON note names --bounds", j["poi_at_bound_note"])
    with h5py.File(h5, "r") as f:
        a = f["/fit"].attrs["poi_at_bound"]
        a = a.decode() if isinstance(a, bytes) else a
        check(a == "lower", "HDF5 /fit poi_at_bound", a, "lower")
    # The ranking there: every impact 0 and the warning says they are undefined.
    rk = os.path.join(OUT, "at_bound_ranking.h5")
    p = run("ranking", AT_BOUND, "--quiet", "--overwrite", "-o", rk, "--json")
    j = json.loads(p.stdout)
    check(j["poi_at_bound"] == "lower", "ranking JSON poi_at_bound", j["poi_at_bound"], "lower")
    check("impacts" in j["poi_at_bound_note"] and "not defined" in j["poi_at_bound_note"],
          "the ranking note says the impacts are not defined", j["poi_at_bound_note"])
    check("warning" in p.stderr and "not defined" in p.stderr, "ranking warning", p.stderr)
    with h5py.File(rk, "r") as f:
        check("poi_at_bound_note" in f["/ranking"].attrs, "HDF5 /ranking note", list(f["/ranking"].attrs))
    # Scan: the lower crossing is explained.
    p = run("scan", AT_BOUND, "--quiet", "--poi", "0:3:7")
    check("interval on this side is not defined" in p.stderr, "scan warning", p.stderr)
    # The way out: wider bounds give a minimum inside, no warning, impacts.
    p = run("ranking", AT_BOUND, "--quiet", "--bounds", "mu=-10:10", "--json")
    j = json.loads(p.stdout)
    check(j["poi_at_bound"] is None, "no bound note with --bounds", j["poi_at_bound"], None)
    check(j["poi_hat"] < -0.5, "mu_hat below the old bound", j["poi_hat"], "< -0.5")
    check(any(abs(e["impact_postfit_up"]) > 1e-3 for e in j["ranking"]),
          "non-zero impacts with --bounds", [e["impact_postfit_up"] for e in j["ranking"]])
    check("warning" not in p.stderr, "no warning inside the bounds", p.stderr, "")


def case_params():
    # --set starts a parameter there, --freeze holds it (names, modifiers,
    # rgx{}); the values appear in the fit.
    p = run("fit", AT_BOUND, "--json", "--set", "bkg_norm=0.5", "--freeze", "bkg_norm",
            "--freeze", "staterror_SR")
    pars = {x["name"]: x for x in json.loads(p.stdout)["parameters"]}
    check(pars["bkg_norm"]["value"] == 0.5, "--set + --freeze holds the value",
          pars["bkg_norm"]["value"], 0.5)
    for b in range(3):
        x = pars["staterror_SR[%d]" % b]
        check(x["value"] == 1.0 and not x["error"], "a modifier name freezes every bin", x)
    p = run("fit", AT_BOUND, "--json", "--freeze", "rgx{^bkg_},mu", "--set", "mu=2")
    pars = {x["name"]: x for x in json.loads(p.stdout)["parameters"]}
    check(pars["mu"]["value"] == 2 and pars["bkg_shape"]["value"] == 0.0,
          "rgx{} and a list freeze", (pars["mu"]["value"], pars["bkg_shape"]["value"]))
    check(pars["staterror_SR[0]"]["error"], "other parameters stay free", pars["staterror_SR[0]"])
    p = run("fit", AT_BOUND, "--json", "--bounds", "bkg_norm=-0.1:0.1")
    v = {x["name"]: x for x in json.loads(p.stdout)["parameters"]}["bkg_norm"]["value"]
    check(-0.1 - 1e-9 <= v <= 0.1 + 1e-9, "--bounds limits the fit", v, "[-0.1, 0.1]")
    # The limit's "raise the bound" names the option.
    p = run("limit", AT_BOUND, "--bounds", "mu=0:0.5", expect=None)
    check(p.returncode != 0 and "--bounds mu=" in p.stderr, "limit names --bounds", p.stderr)
    # Bad input: one clear line each.
    one_line_error(["fit", AT_BOUND, "--bounds", "ghost=0:1"], "--bounds ghost=0:1: no parameter", 1)
    one_line_error(["fit", AT_BOUND, "--bounds", "mu=2:1"], "lower bound must be below", 2)
    one_line_error(["fit", AT_BOUND, "--bounds", "mu=1"], "expected NAME=LO:HI", 2)
    one_line_error(["fit", AT_BOUND, "--set", "mu=20"], "outside the parameter's bounds", 1)
    one_line_error(["fit", AT_BOUND, "--set", "ghost=1"], "no parameter of that name", 1)
    one_line_error(["fit", AT_BOUND, "--freeze", "ghost"], "--freeze ghost", 1)
    one_line_error(["fit", AT_BOUND, "--freeze", "rgx{(}"], "not a valid regular expression", 1)
    one_line_error(["hypotest", AT_BOUND, "--mu", "1", "--set", "mu=x"], "expected NAME=VALUE", 2)


CASES = {k[5:]: v for k, v in globals().items() if k.startswith("case_")}
if CASE not in CASES:
    sys.exit("unknown case %s (have %s)" % (CASE, ", ".join(sorted(CASES))))
CASES[CASE]()
print("PASS %s" % CASE)
