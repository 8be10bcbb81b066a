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

HFSCAN, OUT, CASE = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2]), sys.argv[3]
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
    # Impacts and a scan of a held POI are zero or empty by construction: refused, not printed.
    one_line_error(["ranking", AT_BOUND, "--freeze", "mu"], "POI mu is held fixed", 2)
    one_line_error(["scan", AT_BOUND, "--freeze", "mu"], "POI mu is held fixed", 2)


def case_toys_too_few():
    # 20 toys: an expected band without a crossing is NaN; the output says
    # why and how many toys it would need, in the text, JSON and HDF5.
    h5 = os.path.join(OUT, "toys_few.h5")
    args = ["limit", AT_BOUND, "--calc", "toys", "--ntoys", "20", "--scan", "0.5:8:4",
            "--quiet", "--overwrite"]
    p = run(*args, "-o", h5, "--json")
    j = json.loads(p.stdout)
    nan = [k for k in range(5) if j["exp"][k] is None]
    check(nan, "some expected limit is NaN with 20 toys", j["exp"], "a null")
    for k in range(5):
        note = j["exp_notes"][k]
        check((note is None) == (j["exp"][k] is not None), "a note exactly where a limit is NaN",
              (k, j["exp"][k], note))
    note = j["exp_notes"][nan[0]]
    check("limit not found" in note and "--ntoys" in note, "the note says why and how many toys",
          note)
    check(p.stderr.count("warning:") == len(nan) + (j["obs"] is None),
          "one warning line per missing limit", p.stderr)
    with h5py.File(h5, "r") as f:
        a = f["/limit"].attrs["notes"]
        a = a.decode() if isinstance(a, bytes) else a
        check("--ntoys" in a, "HDF5 /limit notes", a)
    p = run(*args)
    check("limit not found" in p.stderr, "the text run warns too", p.stderr)


def case_cl_label():
    # The level as given: 0.9999 is 99.99% CL, not 100%.
    p = run("limit", AT_BOUND, "--cl", "0.9999", "--bounds", "mu=0:40")
    check("99.99% CL" in p.stdout and "100% CL" not in p.stdout, "CL label", p.stdout[:300])
    p = run("limit", AT_BOUND, "--cl", "0.95")
    check("95% CL" in p.stdout, "95% CL label", p.stdout[:300])


def case_stdin():
    # "-" reads the workspace from standard input, as pyhf does.
    text = open(AT_BOUND).read()
    a = json.loads(run("fit", AT_BOUND, "--json").stdout)
    b = json.loads(run("fit", "-", "--json", stdin=text).stdout)
    check(a["twice_nll"] == b["twice_nll"], "same fit from stdin", b["twice_nll"], a["twice_nll"])
    p = run("summary", "-", "--quiet", "--top", "3", stdin=text)
    check(p.stdout.count("== ") == 5, "summary from stdin runs its five parts", p.stdout[:400])
    one_line_error(["fit", "-"], "standard input is empty", 1)


def case_significance_toys():
    # significance --calc toys gives p0 and Z from toys; q0 is in --help.
    h = run("hypotest", "--help").stdout
    check("q0" in h, "q0 in hypotest --help", h)
    args = [AT_BOUND, "--calc", "toys", "--ntoys", "100", "--quiet", "--json"]
    s = json.loads(run("significance", *args).stdout)
    t = json.loads(run("hypotest", *args, "--test-stat", "q0", "--mu", "0").stdout)
    check(s["p0"] == t["p0_obs"], "significance toys = hypotest q0 toys", s["p0"], t["p0_obs"])
    check(s["calculator"] == "toys" and "Z" in s and len(s["Z_exp"]) == 5, "Z from toys", s)
    a = json.loads(run("significance", AT_BOUND, "--json").stdout)
    check(abs(s["Z_exp"][2] - a["Z_exp"][2]) < 0.35, "expected median Z near the asymptotic one",
          s["Z_exp"][2], a["Z_exp"][2])
    p = run("significance", *args[:-1])
    check("observed   p0" in p.stdout and "sigma" in p.stdout, "text prints p0 and Z", p.stdout)


def case_interfaces():
    # Every command honours --json, --quiet (with -o: nothing on stdout) and
    # --brief (the headline only).
    ws = AT_BOUND
    cmds = {
        "fit": [], "hypotest": ["--mu", "1"], "limit": ["--scan", "0:4:3"],
        "significance": [], "ranking": ["--overwrite"], "scan": ["--poi", "0:3:4", "--overwrite"],
        "summary": ["--top", "3"],
    }
    for cmd, extra in cmds.items():
        p = run(cmd, ws, *extra, "--json", "--quiet")
        try:
            j = json.loads(p.stdout)
        except ValueError:
            sys.exit("FAIL: %s --json printed no JSON document: %r" % (cmd, p.stdout[:300]))
        out = os.path.join(OUT, "q_%s%s" % (cmd, "" if cmd == "summary" else ".h5"))
        p = run(cmd, ws, *extra, "--quiet", "-o", out)
        # summary keeps its part headings (tests/cli/test_summary.sh), nothing else.
        text = "\n".join(l for l in p.stdout.splitlines() if not l.startswith("== "))
        check(text.strip() == "", "%s -o --quiet prints nothing" % cmd, p.stdout[:300], "")
        check(os.path.exists(out), "%s -o wrote its file" % cmd, out)
        b = json.loads(run(cmd, ws, *extra, "--json", "--quiet", "--brief").stdout)
        check(len(json.dumps(b)) <= len(json.dumps(j)), "%s --brief is not longer" % cmd)
        if cmd == "summary":
            check(set(j) >= {"fit", "limit", "significance", "ranking", "scan"},
                  "summary --json has its five parts", sorted(j))
    big = json.loads(run("fit", ws, "--json").stdout)
    b = json.loads(run("fit", ws, "--json", "--brief").stdout)
    check("correlation" in big and "correlation" not in b, "fit --brief: no matrix", sorted(b))
    check([x["name"] for x in b["parameters"]] == ["mu"], "fit --brief: the POI only",
          b["parameters"])
    b = json.loads(run("limit", ws, "--scan", "0:4:3", "--json", "--brief").stdout)
    check("scan" not in b and b["obs"] > 0, "limit --brief: no scan points", sorted(b))
    b = json.loads(run("scan", ws, "--poi", "0:3:4", "--json", "--brief", "--quiet").stdout)
    check("points" not in b and b["intervals"], "scan --brief: intervals, no points", sorted(b))
    b = json.loads(run("ranking", ws, "--json", "--brief", "--quiet").stdout)
    check("groups" not in b and b["ranking"], "ranking --brief: no group table", sorted(b))
    b = json.loads(run("hypotest", ws, "--mu", "1", "--json", "--brief").stdout)
    check("fits" not in b and "CLs_obs" in b, "hypotest --brief: no fit records", sorted(b))
    p = run("fit", ws, "-o", os.path.join(OUT, "q.h5"), "--quiet")
    check(p.stdout == "", "fit -o --quiet prints nothing", p.stdout[:200], "")


def case_jobs():
    # Job files: paths relative to the job file's folder; output folders
    # made with their parents; failures name the reason.
    import shutil
    d = os.path.join(OUT, "jobs")
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(os.path.join(d, "sub"))
    shutil.copy(AT_BOUND, os.path.join(d, "ws.json"))
    job = os.path.join(d, "sub", "fit.job")
    with open(job, "w") as f:
        f.write("workspace = ../ws.json\ntask = fit\noutput = out/deep/fit.h5\n")
    p = subprocess.run([os.path.abspath(HFSCAN), "run", job, "--quiet"], cwd="/",
                       capture_output=True, text=True)
    check(p.returncode == 0, "job with relative paths runs from another folder", p.stderr)
    want = os.path.join(d, "sub", "out", "deep", "fit.h5")
    check(os.path.exists(want), "output relative to the job file, folders made", want)
    one_line_error(["run", os.path.join(d, "missing.job")], "No such file or directory", 1)
    one_line_error(["fit", AT_BOUND, "-o", "/etc/hostname/x/fit.h5"], "Not a directory", 1)
    os.chdir(d)
    one_line_error(["summary", AT_BOUND, "-o", "x.h5"], "give a folder", 2)
    check(not os.path.exists(os.path.join(d, "x.h5")), "summary -o x.h5 made no folder x.h5")
    p = run("summary", AT_BOUND, "--quiet", "--top", "2", "-o", "a/b/summary")
    for part in ("fit", "limit", "significance", "ranking", "scan"):
        check(os.path.exists(os.path.join(d, "a/b/summary", part + ".h5")), "summary wrote " + part)


CASES = {k[5:]: v for k, v in globals().items() if k.startswith("case_")}
if CASE not in CASES:
    sys.exit("unknown case %s (have %s)" % (CASE, ", ".join(sorted(CASES))))
CASES[CASE]()
print("PASS %s" % CASE)
