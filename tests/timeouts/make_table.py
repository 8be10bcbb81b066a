#!/usr/bin/env python3
"""Rewrite the timeout table from measured test times.

    make_table.py TABLE [--release LOG ...] [--sanitizer LOG ...] [--markdown]

LOG is what ctest printed (lines "N/M Test #K: name ....   Passed   1.23 sec"); several logs
of one build may be given (the last figure of a test wins).  A measured test gets 5x its time,
at least 60 s, rounded up to 10 s; a test without a figure keeps its row.  Only passed tests
count: a failed or timed-out run says nothing about the time a test needs.  The new table
goes to standard output (with --markdown, the docs/performance.md table instead).
"""
import math
import re
import sys

LINE = re.compile(r"Test\s+#\d+:\s+(\S+)\s+\.*\s*Passed\s+([0-9.]+)\s+sec")


def times(paths):
    out = {}
    for path in paths:
        with open(path, errors="replace") as f:
            for line in f:
                m = LINE.search(line)
                if m:
                    out[m.group(1)] = float(m.group(2))
    return out


def timeout(t):
    return max(60, int(math.ceil(5 * t / 10.0)) * 10)


def main(argv):
    table, rel, san, markdown = None, [], [], False
    dest = None
    for a in argv[1:]:
        if a == "--release":
            dest = rel
        elif a == "--sanitizer":
            dest = san
        elif a == "--markdown":
            markdown = True
        elif dest is not None:
            dest.append(a)
        elif table is None:
            table = a
        else:
            sys.exit("make_table.py: unexpected argument %s" % a)
    if table is None:
        sys.exit(__doc__.strip())
    text = open(table).read()
    start = text.index("set(hfs_timeouts\n") + len("set(hfs_timeouts\n")
    end = text.index("\n)\n", start)
    rows = {}
    for line in text[start:end].splitlines():
        f = line.split()
        if len(f) == 3:
            rows[f[0]] = [int(f[1]), int(f[2])]
    t_rel, t_san = times(rel), times(san)
    for name in set(t_rel) | set(t_san):
        if name.startswith("slurm_"):
            continue  # tests/slurm sets its own: they wait for a cluster's scheduler
        row = rows.setdefault(name, [60, 0])
        if name in t_rel:
            row[0] = timeout(t_rel[name])
        if name in t_san:
            row[1] = timeout(t_san[name])
    if markdown:
        print("| test | Release s | sanitizer s | timeout Release | timeout sanitizer |")
        print("|---|---|---|---|---|")
        for name in sorted(rows):
            r, s = rows[name]
            fr = "%.1f" % t_rel[name] if name in t_rel else "—"
            fs = "%.1f" % t_san[name] if name in t_san else "—"
            eff = max(s, 3 * r)
            print("| `%s` | %s | %s | %d | %d |" % (name, fr, fs, r, eff))
        return
    body = "".join("  %-30s %5d %5d\n" % (n, rows[n][0], rows[n][1]) for n in sorted(rows))
    sys.stdout.write(text[:start] + body.rstrip("\n") + text[end:])


if __name__ == "__main__":
    main(sys.argv)
