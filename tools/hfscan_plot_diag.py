"""Fit-diagnostics figures for hfscan-plot (imported by it).

  hfscan-plot yields YIELDS.h5 [-o FIG.png] [--channel NAME]
      per channel: the pre-fit and the post-fit samples stacked side by side,
      the total's uncertainty band (hatched), the data with Poisson (Garwood
      68%) error bars, and a data/model ratio panel under each.
  hfscan-plot corr FIT.h5 [-o FIG.png] [--top N]
      the correlation matrix of the fit (/fit/correlation of hfscan fit or
      hfscan yields), optionally only the N parameters with the largest
      off-diagonal correlations.
  hfscan-plot pulls YIELDS.h5 [-o FIG.png] [--top N]
      (theta-hat - theta0) / prefit width with the post-fit constraint as the
      error bar for every constrained parameter, from hfscan yields' file.

  hfscan-plot pscan SCAN.h5 [-o FIG.png]
      a scan of hfscan scan --par: 2 delta NLL against the parameter (1D),
      or the 68% and 95% CL contours (2 delta NLL = 2.30, 5.99) with the
      best fit (2D).

  hfscan-plot gof GOF.h5 [-o FIG.png] [--title NAME]
      the saturated-model statistic of the toys of hfscan gof --calc toys
      (histogram, normalised) against the chi2 density of the asymptotic
      p-value, with the observed value and both p-values.

Reads the layouts of docs/output.md.  Needs Debian's python3-matplotlib,
python3-h5py and python3-scipy (/usr/bin/python3).
"""
import h5py
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from hfscan_plot_io import attr as _attr, strings as _strings  # noqa: E402
from scipy.stats import chi2  # noqa: E402




def _group(f, path, what, cmd):
    if path not in f:
        raise SystemExit("hfscan-plot: %s holds no %s (run hfscan %s -o FILE)"
                         % (f.filename, what, cmd))
    return f[path]


def _channels(g):
    out = []
    for i, name in enumerate(_strings(g["channels"])):
        c = g[str(i)]
        out.append(dict(name=name, samples=_strings(c["samples"]), yields=c["yields"][...],
                        total=c["total"][...], unc=c["total_uncertainty"][...],
                        data=c["data"][...]))
    return out


def poisson_interval(n):
    """Garwood 68.27% central interval of a Poisson count (lower, upper)."""
    n = np.asarray(n, dtype=float)
    a = 1 - 0.682689492
    lo = np.where(n > 0, chi2.ppf(a / 2, 2 * n) / 2, 0.0)
    hi = chi2.ppf(1 - a / 2, 2 * (n + 1)) / 2
    return n - lo, hi - n


def _data_label(f):
    g = f["yields"]
    if _attr(g, "data_kind", "observed") == "asimov":
        return "Asimov data (mu = %g, %s)" % (_attr(g, "asimov_mu"), _attr(g, "asimov_nuisance"))
    return "data"


def _stack(ax, rax, ch, data, title, colors):
    nb = len(ch["total"])
    edges = np.arange(nb + 1)
    bottom = np.zeros(nb)
    for s, name in enumerate(ch["samples"]):
        ax.stairs(bottom + ch["yields"][s], edges, baseline=bottom, fill=True,
                  color=colors[name], label=name)
        bottom = bottom + ch["yields"][s]
    tot, unc = ch["total"], ch["unc"]
    ax.stairs(tot + unc, edges, baseline=tot - unc, fill=True, facecolor="none",
              edgecolor="0.35", hatch="///", lw=0, label="uncertainty")
    ax.stairs(tot, edges, color="k", lw=0.8)
    dlo, dhi = poisson_interval(data)
    x = edges[:-1] + 0.5
    ax.errorbar(x, data, yerr=[dlo, dhi], fmt="ko", ms=3, lw=1, label="data")
    ax.set_title(title, fontsize=9)
    ax.set_ylabel("events / bin")
    ax.set_xlim(0, nb)
    ax.set_ylim(0, 1.35 * max(np.max(tot + unc), np.max(data + dhi)))
    ok = tot > 0
    r = np.where(ok, data / np.where(ok, tot, 1), np.nan)
    rax.stairs(np.where(ok, 1 + unc / np.where(ok, tot, 1), 1),
               edges, baseline=np.where(ok, 1 - unc / np.where(ok, tot, 1), 1), fill=True,
               facecolor="none", edgecolor="0.25", hatch="////", lw=0)
    rax.errorbar(x, r, yerr=[np.where(ok, dlo / np.where(ok, tot, 1), 0),
                             np.where(ok, dhi / np.where(ok, tot, 1), 0)], fmt="ko", ms=3, lw=1)
    rax.axhline(1, color="k", lw=0.8)
    rax.set_ylim(0.5, 1.5)
    rax.set_xlim(0, nb)
    rax.set_ylabel("data / model")
    rax.set_xlabel("bin")


def yields(args):
    with h5py.File(args.file, "r") as f:
        g = _group(f, "/yields", "yields", "yields")
        pre = _channels(g["prefit"])
        post = _channels(g["postfit"]) if "postfit" in g else None
        label = _data_label(f)
    chans = [i for i, c in enumerate(pre) if not args.channel or c["name"] in args.channel]
    if not chans:
        raise SystemExit("hfscan-plot: %s: no channel named %s" % (args.file, args.channel))
    cols = 2 if post else 1
    # one colour per sample name, the same in every channel
    names = sorted({n for c in pre for n in c["samples"]})
    palette = plt.get_cmap("tab20").colors
    colors = {n: palette[k % len(palette)] for k, n in enumerate(names)}
    fig = plt.figure(figsize=(5.2 * cols, 4.4 * len(chans)))
    outer = fig.add_gridspec(len(chans), cols, hspace=0.35, wspace=0.25)
    for row, i in enumerate(chans):
        for col, (stage, chs) in enumerate([("pre-fit", pre), ("post-fit", post)][:cols]):
            inner = outer[row, col].subgridspec(2, 1, height_ratios=[3, 1], hspace=0.05)
            ax = fig.add_subplot(inner[0])
            rax = fig.add_subplot(inner[1], sharex=ax)
            ch = chs[i]
            name = ch["name"] if len(ch["name"]) <= 36 else ch["name"][:16] + "..." + ch["name"][-17:]
            _stack(ax, rax, ch, ch["data"], "%s\n%s (%s)" % (name, stage, label), colors)
            plt.setp(ax.get_xticklabels(), visible=False)
            if col == cols - 1:
                ax.legend(fontsize=6, ncol=2, loc="upper right")
    fig.savefig(args.output, dpi=args.dpi, bbox_inches="tight")
    print("hfscan-plot: wrote %s" % args.output)


def _fit_matrix(f):
    g = _group(f, "/fit", "fit", "fit")
    if "correlation" not in g:
        raise SystemExit("hfscan-plot: %s: the fit has no correlation matrix" % f.filename)
    names = _strings(g["parameters/name"])
    return names, g["correlation"][...], g["parameters/fixed"][...]


def corr(args):
    with h5py.File(args.file, "r") as f:
        names, c, fixed = _fit_matrix(f)
    keep = np.where(fixed == 0)[0]
    off = np.abs(c - np.diag(np.diag(c)))
    if args.top and args.top < len(keep):
        score = off[np.ix_(keep, keep)].max(axis=1)
        keep = keep[np.sort(np.argsort(-score, kind="stable")[:args.top])]
    m = c[np.ix_(keep, keep)]
    n = len(keep)
    size = min(max(4.5, 0.28 * n + 2), 30)
    fig, ax = plt.subplots(figsize=(size + 1, size))
    im = ax.imshow(m, cmap="RdBu_r", vmin=-1, vmax=1)
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="correlation")
    if n <= 60:
        ax.set_xticks(range(n))
        ax.set_yticks(range(n))
        ax.set_xticklabels([names[k] for k in keep], rotation=90, fontsize=7)
        ax.set_yticklabels([names[k] for k in keep], fontsize=7)
        if n <= 20:
            for a in range(n):
                for b in range(n):
                    ax.text(b, a, "%.2f" % m[a, b], ha="center", va="center", fontsize=6,
                            color="w" if abs(m[a, b]) > 0.6 else "k")
    ax.set_title("post-fit correlations (%s)" % ("%d most correlated parameters" % n
                                                   if args.top else "%d free parameters" % n),
                 fontsize=9)
    fig.tight_layout()
    fig.savefig(args.output, dpi=args.dpi)
    print("hfscan-plot: wrote %s" % args.output)


def pulls(args):
    with h5py.File(args.file, "r") as f:
        g = _group(f, "/fit", "fit", "yields")
        p = g["parameters"]
        if "prefit_width" not in p:
            raise SystemExit("hfscan-plot: %s: no pre-fit widths (use the file of hfscan yields)"
                             % args.file)
        names = _strings(p["name"])
        val, err = p["value"][...], p["error"][...]
        init, width, fixed = p["init"][...], p["prefit_width"][...], p["fixed"][...]
    use = np.where((width > 0) & (fixed == 0))[0]
    pull = (val[use] - init[use]) / width[use]
    cons = err[use] / width[use]
    if args.top and args.top < len(use):
        sel = np.sort(np.argsort(-np.abs(pull), kind="stable")[:args.top])
        use, pull, cons = use[sel], pull[sel], cons[sel]
    n = len(use)
    fig, ax = plt.subplots(figsize=(6.4, max(3, 0.22 * n + 1.2)))
    y = np.arange(n)[::-1]
    ax.axvspan(-2, 2, color="#fddc3b", zorder=0)
    ax.axvspan(-1, 1, color="#3fb950", zorder=0)
    ax.errorbar(pull, y, xerr=cons, fmt="ko", ms=3, lw=1)
    ax.axvline(0, color="k", lw=0.6)
    ax.set_yticks(y)
    ax.set_yticklabels([names[k] for k in use], fontsize=7)
    ax.set_ylim(-0.7, n - 0.3)
    ax.set_xlim(-3, 3)
    ax.set_xlabel(r"$(\hat\theta - \theta_0) / \Delta\theta$   (error bar: $\hat\sigma / \Delta\theta$)")
    ax.set_title("pulls of %d constrained parameters%s" % (n, " (largest)" if args.top else ""),
                 fontsize=9)
    fig.tight_layout()
    fig.savefig(args.output, dpi=args.dpi)
    print("hfscan-plot: wrote %s" % args.output)


def pscan(args):
    with h5py.File(args.file, "r") as f:
        g = _group(f, "/pscan", "scan of hfscan scan --par", "scan --par NAME=LO:HI:N")
        names = _strings(g["parameters"])
        best = g["best_fit"][...]
        d = g["dnll2"][...]
        x = g["axis0"][...]
        y = g["axis1"][...] if "axis1" in g else None
        frozen = _attr(g, "frozen_groups", "")
        status = g["status"][...]
    what = " (frozen: %s)" % frozen if frozen else ""
    fig, ax = plt.subplots(figsize=(6.0, 4.8))
    if y is None:
        ax.plot(x, d, "k-", marker="o", ms=3, label="profile likelihood" + what)
        for lev, lab in ((1.0, "68% CL"), (3.84, "95% CL")):
            ax.axhline(lev, color="0.5", ls=":", lw=1)
            ax.text(x[-1], lev, " " + lab, va="bottom", ha="right", fontsize=7, color="0.4")
        ax.axvline(best[0], color="red", lw=0.8, label="best fit %.4g" % best[0])
        ax.set_xlabel(names[0])
        ax.set_ylabel(r"$-2\,\Delta\ln L$")
        ax.set_ylim(0, min(max(np.nanmax(d), 4.5), 1.15 * np.nanmax(d)))
        ax.legend(fontsize=8)
    else:
        X, Y = np.meshgrid(x, y, indexing="ij")
        cs = ax.contourf(X, Y, d, levels=[0, 2.30, 5.99], colors=["#3fb950", "#fddc3b"], alpha=0.8)
        ax.contour(X, Y, d, levels=[2.30, 5.99], colors=["k", "k"], linestyles=["-", "--"],
                   linewidths=1)
        ax.plot(best[0], best[1], "r+", ms=12, mew=2, label="best fit")
        bad = status != 0
        if bad.any():
            ax.plot(X[bad], Y[bad], "rx", ms=4, label="fit not converged")
        ax.plot([], [], "k-", label="68% CL (2.30)")
        ax.plot([], [], "k--", label="95% CL (5.99)")
        ax.set_xlabel(names[0])
        ax.set_ylabel(names[1])
        ax.legend(fontsize=8, loc="best")
        del cs
    ax.set_title("profile-likelihood scan%s" % what, fontsize=9)
    fig.tight_layout()
    fig.savefig(args.output, dpi=args.dpi)
    print("hfscan-plot: wrote %s" % args.output)


def gof(args):
    with h5py.File(args.file, "r") as f:
        g = _group(f, "/gof", "goodness of fit", "gof --calc toys")
        if "toys" not in g or _attr(g, "p_toys") is None:
            raise SystemExit("hfscan-plot: %s holds no finished goodness-of-fit toys (run hfscan "
                             "gof --calc toys -o FILE to the end)" % f.filename)
        t = g["toys/t"][...]
        status = g["toys/status"][...]
        t_obs, ndof = _attr(g, "t_obs"), _attr(g, "ndof")
        p_asy, p_toys, p_err = _attr(g, "p_asymptotic"), _attr(g, "p_toys"), _attr(g, "p_toys_err")
        ws = _attr(f, "workspace", "")
    used = t[(status == 0) & np.isfinite(t)]
    fig, ax = plt.subplots(figsize=(6.0, 4.4))
    hi = max(np.quantile(used, 0.999), t_obs) * 1.1
    ax.hist(used, bins=60, range=(0, hi), density=True, histtype="stepfilled", color="#9ecae1",
            edgecolor="#3182bd", label="toys (%d)" % used.size)
    if ndof > 0:
        xs = np.linspace(0, hi, 400)
        ax.plot(xs, chi2.pdf(xs, ndof), "k-", lw=1.2, label=r"$\chi^2_{%d}$" % ndof)
    ax.axvline(t_obs, color="red", lw=1.5, label="observed t = %.2f" % t_obs)
    ax.set_xlabel("saturated-model statistic t")
    ax.set_ylabel("density")
    ax.set_xlim(0, hi)
    ax.legend(fontsize=8)
    name = args.title or ws.rsplit("/", 1)[-1]
    ax.set_title("%s: p = %.3f (asymptotic), %.3f $\\pm$ %.3f (toys)" % (name, p_asy, p_toys, p_err),
                 fontsize=9)
    fig.tight_layout()
    fig.savefig(args.output, dpi=args.dpi)
    print("hfscan-plot: wrote %s" % args.output)


def register(subparsers):
    y = subparsers.add_parser("yields", help="stacked pre- and post-fit yields with data and "
                                             "ratio panels")
    y.add_argument("file")
    y.add_argument("-o", "--output", default="yields.png")
    y.add_argument("--channel", action="append", help="only this channel (repeatable)")
    y.add_argument("--dpi", type=int, default=110)
    y.set_defaults(func=yields)
    c = subparsers.add_parser("corr", help="correlation matrix of the fit")
    c.add_argument("file")
    c.add_argument("-o", "--output", default="corr.png")
    c.add_argument("--top", type=int, default=0, help="only the N most correlated (0: all)")
    c.add_argument("--dpi", type=int, default=110)
    c.set_defaults(func=corr)
    p = subparsers.add_parser("pulls", help="pulls and constraints of the nuisance parameters")
    p.add_argument("file")
    p.add_argument("-o", "--output", default="pulls.png")
    p.add_argument("--top", type=int, default=0, help="only the N largest pulls (0: all)")
    p.add_argument("--dpi", type=int, default=110)
    p.set_defaults(func=pulls)
    s = subparsers.add_parser("pscan", help="1D curve or 2D contours of hfscan scan --par")
    s.add_argument("file")
    s.add_argument("-o", "--output", default="pscan.png")
    s.add_argument("--dpi", type=int, default=110)
    s.set_defaults(func=pscan)
    g = subparsers.add_parser("gof", help="goodness-of-fit toys against the chi2 distribution")
    g.add_argument("file")
    g.add_argument("-o", "--output", default="gof.png")
    g.add_argument("--title", help="name of the input in the title (default: the file name)")
    g.add_argument("--dpi", type=int, default=110)
    g.set_defaults(func=gof)
