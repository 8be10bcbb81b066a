"""Ranking and likelihood-scan figures for hfscan-plot (imported by it).

  hfscan-plot ranking OUT.h5 [-o FIG.png] [--top N]
      impacts of the top N nuisance parameters on the POI (pre-fit impacts as
      open boxes, post-fit impacts filled, up and down shifts in two colours)
      on the top axis, and beside them the pulls with the constraints as
      error bars on the bottom axis, the largest impact first.
  hfscan-plot scan OUT.h5 [-o FIG.png]
      -2 delta ln L against the POI for the profiled (total) and the
      statistics-only curve, the crossing levels and the intervals.

Reads the layout of docs/output.md ("Ranking", "Scan").  Needs Debian's
python3-matplotlib and python3-h5py (/usr/bin/python3).
"""
import h5py
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from hfscan_plot_io import attr as _attr, strings as _strings  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402




def _poi_label(poi):
    return r"$\mu$" if poi == "mu" else poi


def _num(v, fmt="%.3f"):
    """A crossing that does not exist (the POI's bound) has no number."""
    return fmt % v if np.isfinite(v) else "n.d."


def _bound_note(g):
    at = _attr(g, "poi_at_bound", "no")
    at = at.decode() if isinstance(at, bytes) else at
    return "" if at in ("no", None) else "  (%s at its %s bound)" % ("POI", at)


def _need(f, group, what):
    if group not in f:
        raise SystemExit("hfscan-plot: %s holds no %s (run hfscan %s -o FILE)"
                         % (f.filename, what, group.strip("/")))
    g = f[group]
    if not _attr(g, "complete", 0):
        raise SystemExit("hfscan-plot: %s: the %s is not finished (%d of %d fits); run the "
                         "same hfscan command again to resume it"
                         % (f.filename, what, _attr(g, "n_done", 0), _attr(g, "n_units", 0)))
    return g


def ranking(args):
    with h5py.File(args.file, "r") as f:
        g = _need(f, "/ranking", "ranking")
        p = g["parameters"]
        names = _strings(p["name"])
        pull = p["pull"][...]
        constraint = p["constraint"][...]
        impact = p["impact"][...]          # columns: pre up, pre down, post up, post down
        status = p["status"][...]
        order = g["order"][...]
        poi = _attr(g, "poi", "mu")
        poi_hat = _attr(g, "poi_hat")
        poi_err = _attr(g, "poi_error")
        note = _bound_note(g)
    n = len(order) if args.top <= 0 else min(args.top, len(order))
    sel = order[:n]
    y = np.arange(n)[::-1]                 # largest impact at the top
    fig_h = max(3.0, 0.32 * n + 2.2)
    fig, ax = plt.subplots(figsize=(8.0, fig_h))
    # Pulls with constraints on the bottom axis.
    # Lines, not a shaded band: the pull axis is drawn over the impact bars.
    for x in (-1, 1):
        ax.axvline(x, color="grey", lw=0.8, ls="--", zorder=1)
    ax.axvline(0, color="grey", lw=0.8, zorder=1)
    ax.errorbar(pull[sel], y, xerr=constraint[sel], fmt="o", color="black", ms=4,
                elinewidth=1.2, capsize=2, zorder=4, label="pull")
    ax.set_xlim(-2, 2)
    ax.set_ylim(-0.7, n - 0.3)
    ax.set_yticks(y)
    labels = []
    for k in sel:
        bad = np.any(status[k] != 0)
        labels.append(names[k] + (" *" if bad else ""))
    ax.set_yticklabels(labels, fontsize=8)
    for t, k in zip(ax.get_yticklabels(), sel):
        if np.any(status[k] != 0):
            t.set_color("red")
    ax.set_xlabel(r"$(\hat\theta-\theta_0)/\Delta\theta$  (pull, constraint as error bar)")
    # Impacts on the top axis, symmetric range.
    ax2 = ax.twiny()
    h = 0.7
    colors = {"up": "#1f77b4", "down": "#17becf"}
    ax2.barh(y, impact[sel, 0], height=h, fill=False, edgecolor=colors["up"], lw=1.0, zorder=2)
    ax2.barh(y, impact[sel, 1], height=h, fill=False, edgecolor=colors["down"], lw=1.0, zorder=2)
    ax2.barh(y, impact[sel, 2], height=h, color=colors["up"], alpha=0.55, zorder=3)
    ax2.barh(y, impact[sel, 3], height=h, color=colors["down"], alpha=0.55, zorder=3)
    lim = np.nanmax(np.abs(impact[sel])) if n else 1.0
    if not np.isfinite(lim) or lim <= 0:
        lim = 1.0
    ax2.set_xlim(-1.15 * lim, 1.15 * lim)
    ax2.set_xlabel(r"$\Delta$%s" % _poi_label(poi))
    # Draw the pulls above the bars.
    ax.set_zorder(ax2.get_zorder() + 1)
    ax.patch.set_visible(False)
    handles = [
        Patch(facecolor="none", edgecolor=colors["up"], label=r"pre-fit impact $\theta=\hat\theta+\Delta\theta$"),
        Patch(facecolor="none", edgecolor=colors["down"], label=r"pre-fit impact $\theta=\hat\theta-\Delta\theta$"),
        Patch(facecolor=colors["up"], alpha=0.55, label=r"post-fit impact $\theta=\hat\theta+\hat\sigma$"),
        Patch(facecolor=colors["down"], alpha=0.55, label=r"post-fit impact $\theta=\hat\theta-\hat\sigma$"),
        Line2D([], [], color="black", marker="o", ms=4, label="pull"),
    ]
    fig.legend(handles=handles, fontsize=7, loc="lower center", ncol=3, frameon=False)
    title = "%s = %.3f $\\pm$ %.3f, top %d of %d" % (_poi_label(poi), poi_hat, poi_err, n,
                                                      len(order))
    if np.any(status[sel] != 0):
        title += "  (* a fit did not converge)"
    if note:
        title += note + ": impacts not defined"
    fig.suptitle(title, fontsize=9, y=0.995)
    fig.tight_layout(rect=(0, 0.55 / fig_h, 1, 1))
    fig.savefig(args.output, dpi=args.dpi)
    print("hfscan-plot: wrote %s" % args.output)


def scan(args):
    with h5py.File(args.file, "r") as f:
        g = _need(f, "/scan", "scan")
        mu = g["points/mu"][...]
        dnll = g["points/dnll"][...]        # columns: total, stat
        status = g["points/status"][...]
        poi = _attr(g, "poi", "mu")
        poi_hat = _attr(g, "poi_hat")
        note = _bound_note(g)
        iv = g["intervals"] if "intervals" in g else None
        levels = iv["level"][...] if iv is not None else np.array([])
        lo = iv["lo"][...] if iv is not None else None
        hi = iv["hi"][...] if iv is not None else None
        dn = iv["dn"][...] if iv is not None else None
        up = iv["up"][...] if iv is not None else None
        sdn = iv["syst_dn"][...] if iv is not None else None
        sup = iv["syst_up"][...] if iv is not None else None
        cf = g["crossing_fits"] if "crossing_fits" in g else None
        cmu = cf["mu"][...] if cf is not None else np.array([])
        cd = cf["dnll"][...] if cf is not None else np.array([])
        cc = cf["curve"][...] if cf is not None else np.array([])
    fig, ax = plt.subplots(figsize=(6.4, 4.6))
    styles = [("black", "-", "total (profiled)"), ("#1f77b4", "--", "stat. only (NPs at best fit)")]
    for c, (col, ls, lab) in enumerate(styles):
        # The grid and the root searches' fits together trace the curve.
        xs = np.concatenate([mu, cmu[cc == c], [poi_hat]])
        ys = np.concatenate([dnll[:, c], cd[cc == c], [0.0]])
        o = np.argsort(xs)
        ax.plot(xs[o], ys[o], color=col, ls=ls, lw=1.4, label=lab)
        ax.plot(mu, dnll[:, c], "o", color=col, ms=3)
        bad = status[:, c] != 0
        if np.any(bad):
            ax.plot(mu[bad], dnll[bad, c], "x", color="red", ms=7, label="fit not converged" if c == 0 else None)
    ymax = max(2.0 * levels.max() if levels.size else 5.0, 1.0)
    for l, lev in enumerate(levels):
        ax.axhline(lev, color="grey", lw=0.8, ls=":")
        for c, col in ((0, "black"), (1, "#1f77b4")):
            for x in (lo[l, c], hi[l, c]):
                if np.isfinite(x):
                    ax.plot([x, x], [0, lev], color=col, lw=0.8, ls=":")
        ax.text(mu.max(), lev, " %g" % lev, va="bottom", ha="right", fontsize=7, color="grey")
    ax.set_ylim(0, ymax)
    ax.set_xlim(mu.min(), mu.max())
    ax.set_xlabel(_poi_label(poi))
    ax.set_ylabel(r"$-2\,\Delta\ln L$")
    if levels.size:
        k = int(np.argmin(np.abs(levels - 1.0)))
        txt = ("%s = %.3f $^{+%s}_{-%s}$ (total) $^{+%s}_{-%s}$ (stat) "
               "$^{+%s}_{-%s}$ (syst)%s"
               % (_poi_label(poi), poi_hat, _num(up[k, 0]), _num(dn[k, 0]), _num(up[k, 1]),
                  _num(dn[k, 1]), _num(sup[k]), _num(sdn[k]), note))
        ax.set_title(txt, fontsize=9)
    ax.legend(fontsize=8, loc="upper center")
    fig.tight_layout()
    fig.savefig(args.output, dpi=args.dpi)
    print("hfscan-plot: wrote %s" % args.output)


def register(subparsers):
    r = subparsers.add_parser("ranking", help="impacts, pulls and constraints of the top N "
                                              "nuisance parameters")
    r.add_argument("file")
    r.add_argument("-o", "--output", default="ranking.png")
    r.add_argument("--top", type=int, default=20, help="parameters shown (0: all)")
    r.add_argument("--dpi", type=int, default=120)
    r.set_defaults(func=ranking)
    s = subparsers.add_parser("scan", help="profile-likelihood scan with stat-only curve")
    s.add_argument("file")
    s.add_argument("-o", "--output", default="scan.png")
    s.add_argument("--dpi", type=int, default=120)
    s.set_defaults(func=scan)
