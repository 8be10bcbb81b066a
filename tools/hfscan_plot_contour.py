"""hfscan-plot contour: exclusion contours of a signal grid (hfscan grid -o).

Observed and expected CLs = 1 - CL contours with the expected +-1 sigma
band over the grid's two signal parameters, the points marked.  As in the
ATLAS SUSY contour tools, CLs is turned into a one-sided significance
Z = Phi^-1(1 - CLs), which varies smoothly over the plane where CLs spans
orders of magnitude; Z is interpolated with radial basis functions on a fine
grid and the contour drawn at Z(1 - CL).  The interpolation is not trusted
outside the convex hull of the points, where nothing is drawn.
"""
import json

import h5py
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from scipy.interpolate import Rbf  # noqa: E402
from scipy.spatial import Delaunay  # noqa: E402
from scipy.stats import norm  # noqa: E402


def _text(v):
    return v.decode() if isinstance(v, bytes) else v


def _read(path):
    with h5py.File(path, "r") as f:
        if "grid" not in f or "points" not in f["grid"]:
            raise SystemExit("hfscan-plot: %s holds no grid (write one with hfscan grid -o)" % path)
        g = f["grid"]
        labels = _text(g.attrs["labels"]).split(",")
        if len(labels) != 2:
            raise SystemExit("hfscan-plot: %s: a contour needs two grid parameters, the "
                             "patchset has %d (%s)" % (path, len(labels), ", ".join(labels)))
        p = g["points"]
        d = {k: p[k][()] for k in p if p[k].ndim == 1}
        cl = float(g.attrs.get("cl", 0.95))
        calc = _text(g.attrs.get("calc", "asymptotic"))
    return labels, d, cl, calc


def _significance(cls):
    return norm.isf(np.clip(cls, 1e-15, 1 - 1e-15))


def contour(args):
    labels, d, cl, calc = _read(args.file)
    x = np.asarray(d[labels[0]], float)
    y = np.asarray(d[labels[1]], float)
    ok = (d["status"] != 2) & np.isfinite(d["CLs_obs"])
    if ok.sum() < 3:
        raise SystemExit("hfscan-plot: %s: %d usable points, a contour needs 3" % (args.file, ok.sum()))
    # Interpolate in coordinates scaled to the unit square, so that an RBF
    # length scale means the same along both axes.
    x0, x1, y0, y1 = x[ok].min(), x[ok].max(), y[ok].min(), y[ok].max()
    sx, sy = (x1 - x0) or 1.0, (y1 - y0) or 1.0
    u, v = (x[ok] - x0) / sx, (y[ok] - y0) / sy
    gx, gy = np.meshgrid(np.linspace(0, 1, args.fine), np.linspace(0, 1, args.fine))
    inside = Delaunay(np.column_stack([u, v])).find_simplex(np.column_stack([gx.ravel(), gy.ravel()])) >= 0
    inside = inside.reshape(gx.shape)

    def surface(cls):
        z = _significance(np.asarray(cls, float)[ok])
        f = Rbf(u, v, z, function=args.rbf, smooth=args.smooth)
        s = f(gx, gy)
        return np.where(inside, s, np.nan)

    zc = norm.isf(1 - cl)
    z_obs = surface(d["CLs_obs"])
    z_exp = surface(d["CLs_exp_med"])
    z_lo = surface(d["CLs_exp_m1"])  # -1 sigma: the more excluding edge
    z_hi = surface(d["CLs_exp_p1"])
    X, Y = x0 + gx * sx, y0 + gy * sy

    fig, ax = plt.subplots(figsize=(6.4, 5.0))
    band = np.where(inside, ((z_lo >= zc) & (z_hi < zc)).astype(float), np.nan)
    ax.contourf(X, Y, band, levels=[0.5, 1.5], colors=["#fddc3b"], alpha=0.8)
    c_exp = ax.contour(X, Y, z_exp, levels=[zc], colors="k", linestyles="--", linewidths=1.5)
    c_obs = ax.contour(X, Y, z_obs, levels=[zc], colors="#c0392b", linewidths=2)
    excl = ok & (d["CLs_obs"] < 1 - cl)
    ax.scatter(x[ok & ~excl], y[ok & ~excl], s=10, c="#555555", marker="o", zorder=3)
    ax.scatter(x[excl], y[excl], s=14, c="#c0392b", marker="o", zorder=3)
    if (~ok).any():
        ax.scatter(x[~ok], y[~ok], s=30, c="k", marker="x", zorder=3)
    handles = [
        Line2D([], [], color="#c0392b", lw=2, label=r"observed CL$_s$ = %.2f" % (1 - cl)),
        Line2D([], [], color="k", ls="--", lw=1.5, label="expected"),
        Patch(color="#fddc3b", alpha=0.8, label=r"expected $\pm1\sigma$"),
        Line2D([], [], color="#555555", marker="o", ls="", ms=4, label="grid point"),
        Line2D([], [], color="#c0392b", marker="o", ls="", ms=4, label="grid point, excluded"),
    ]
    if (~ok).any():
        handles.append(Line2D([], [], color="k", marker="x", ls="", ms=6, label="failed point"))
    ax.legend(handles=handles, fontsize=8, loc=args.legend)
    ax.set_xlim(min(x.min(), x0) - 0.03 * sx, max(x.max(), x1) + 0.03 * sx)
    ax.set_ylim(min(y.min(), y0) - 0.03 * sy, max(y.max(), y1) + 0.03 * sy)
    ax.set_xlabel(args.xlabel or labels[0])
    ax.set_ylabel(args.ylabel or labels[1])
    ax.set_title(args.title or "%.0f%% CL exclusion (%s CLs, %d points)" % (100 * cl, calc, ok.sum()),
                 fontsize=10)
    fig.tight_layout()
    fig.savefig(args.output, dpi=args.dpi)
    print("hfscan-plot: wrote %s" % args.output)
    if args.export:
        # the lines as drawn, in the grid's coordinates, for other tools
        # (and the test that checks where they lie)
        def lines(cs):
            return [seg.tolist() for seg in cs.allsegs[0] if len(seg) > 1]

        def edge(z):
            cs = plt.figure().gca().contour(X, Y, z, levels=[zc])
            return lines(cs)

        out = {"labels": labels, "cl": cl, "observed": lines(c_obs), "expected": lines(c_exp),
               "expected_m1": edge(z_lo), "expected_p1": edge(z_hi)}
        with open(args.export, "w") as f:
            json.dump(out, f)
        print("hfscan-plot: wrote %s" % args.export)


def register(sub):
    c = sub.add_parser("contour", help="exclusion contours of a signal grid")
    c.add_argument("file")
    c.add_argument("-o", "--output", default="contour.png")
    c.add_argument("--dpi", type=int, default=120)
    c.add_argument("--xlabel")
    c.add_argument("--ylabel")
    c.add_argument("--title")
    c.add_argument("--legend", default="upper right", help="legend position (matplotlib loc)")
    c.add_argument("--fine", type=int, default=300, help="interpolation grid size (default 300)")
    c.add_argument("--rbf", default="linear",
                   help="RBF kernel: linear (default), multiquadric, thin_plate, cubic, gaussian")
    c.add_argument("--smooth", type=float, default=0.0, help="RBF smoothing (default 0: through the points)")
    c.add_argument("--export", metavar="LINES.json",
                   help="also write the contour lines (observed, expected, expected -1/+1 sigma) "
                        "as lists of [x, y] vertices")
    c.set_defaults(func=contour)
