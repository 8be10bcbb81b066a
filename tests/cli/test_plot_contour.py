"""hfscan-plot contour draws its lines where CLs crosses 1 - CL.

A synthetic grid (h5py, the layout of docs/grid.md) over m1, m2 in
[100, 1000]^2 whose significance Z = Phi^-1(1 - CLs) is linear, so that the
exact contours are straight lines: observed m1 + m2 = 1000, expected 1100,
its -1 sigma edge 1200 and +1 sigma edge 1000 (the band reaches further where
more is excluded).  Every exported vertex must lie within 1% of the span of
the axes of its line; a point marked failed is left out of the fit.
  test_plot_contour.py HFSCAN-PLOT DIR"""
import json
import os
import subprocess
import sys

import h5py
import numpy as np
from scipy.stats import norm

plot, d = sys.argv[1], sys.argv[2]
os.makedirs(d, exist_ok=True)
grid, lines = os.path.join(d, "synthetic_grid.h5"), os.path.join(d, "contour_lines.json")
cl = 0.95
zc = norm.isf(1 - cl)
m1, m2 = [a.ravel() for a in np.meshgrid(np.linspace(100, 1000, 10), np.linspace(100, 1000, 10))]
# Z grows with the excluded mass reach: Z = zc on m1 + m2 = edge
def cls(edge):
    return norm.sf(zc + (edge - (m1 + m2)) / 300.0)

edges = {"observed": 1000.0, "expected": 1100.0, "expected_m1": 1200.0, "expected_p1": 1000.0}
status = np.zeros(m1.size, np.int32)
status[0] = 2  # a failed point, with a value that would bend the lines
obs = cls(edges["observed"])
obs[0] = 0.999
with h5py.File(grid, "w") as f:
    g = f.create_group("grid")
    g.attrs["labels"] = "m1,m2"
    g.attrs["cl"] = cl
    g.attrs["calc"] = "asymptotic"
    p = g.create_group("points")
    p["name"] = np.array(["p%d" % i for i in range(m1.size)], dtype="S8")
    p["m1"], p["m2"], p["status"] = m1, m2, status
    p["CLs_obs"] = obs
    p["CLs_exp_med"] = cls(edges["expected"])
    p["CLs_exp_m1"] = cls(edges["expected_m1"])
    p["CLs_exp_p1"] = cls(edges["expected_p1"])
r = subprocess.run([sys.executable, plot, "contour", grid, "-o", os.path.join(d, "synthetic.png"),
                    "--export", lines], capture_output=True, text=True)
if r.returncode != 0:
    sys.exit("FAIL: hfscan-plot contour exited %d: %s" % (r.returncode, r.stderr))
got = json.load(open(lines))
assert got["labels"] == ["m1", "m2"], got["labels"]
worst = 0.0
for key, edge in edges.items():
    segs = got[key]
    v = np.concatenate([np.asarray(s) for s in segs]) if segs else np.zeros((0, 2))
    if len(v) < 10:
        sys.exit("FAIL: %s: %d vertices" % (key, len(v)))
    dev = np.abs(v[:, 0] + v[:, 1] - edge) / 900.0
    worst = max(worst, dev.max())
    if dev.max() > 0.01:
        sys.exit("FAIL: %s: a vertex %.3g of the span off m1 + m2 = %g" % (key, dev.max(), edge))
print("PASS: four lines on their exact positions (largest deviation %.2e of the span)" % worst)
