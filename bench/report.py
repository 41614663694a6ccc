#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""report - bench/run's summary: medians of the raw measurements, the
ceiling from openssl speed, the table, results/latest.json and (unless
--smoke 1) the chart results/latest.png drawn with gnuplot.

Ceiling for one core: 1 / (1/ops + mean_bytes / sha256_bytes_per_s),
ops being the key operation's rate (sign or verify); for N threads it is
N times that.  Does not measure anything itself."""
import argparse
import json
import os
import statistics
import subprocess
import sys


def main():
    ap = argparse.ArgumentParser()
    for name in ("raw", "out", "cpu", "dns"):
        ap.add_argument("--" + name, required=True)
    for name in ("smoke", "cores", "count", "runs"):
        ap.add_argument("--" + name, type=int, required=True)
    for name in ("mean", "rsa-sign", "rsa-verify", "ed-sign",
                 "ed-verify", "sha256"):
        ap.add_argument("--" + name, type=float, required=True)
    a = ap.parse_args()

    rows = [json.loads(line) for line in open(a.raw) if line.strip()]
    keyops = {("sign", "rsa-sha256"): a.rsa_sign,
              ("verify", "rsa-sha256"): a.rsa_verify,
              ("sign", "ed25519-sha256"): a.ed_sign,
              ("verify", "ed25519-sha256"): a.ed_verify}

    def ceiling(op, alg, threads):
        one = 1.0 / (1.0 / keyops[(op, alg)] + a.mean / a.sha256)
        return one * threads

    groups = {}
    for r in rows:
        k = (r["tool"], r["op"], r["alg"], r["threads"])
        groups.setdefault(k, []).append(r["r"])

    def med(k, field):
        vals = [x[field] for x in groups.get(k, [])]
        return statistics.median(vals) if vals else None

    configs = sorted({(r["op"], r["alg"], r["threads"]) for r in rows},
                     key=lambda c: (c[1], c[0], c[2]))
    out = []
    for op, alg, t in configs:
        d = ("dkimq", op, alg, t)
        o = ("libopendkim", op, alg, t)
        e = {"op": op, "alg": alg, "threads": t,
             "ceiling_msg_s": ceiling(op, alg, t)}
        for tool, k in (("dkimq", d), ("libopendkim", o)):
            mps = med(k, "messages_per_second")
            cpu = med(k, "cpu_seconds")
            e[tool] = {
                "msg_s": mps,
                "msg_per_cpu_s": (med(k, "messages") / cpu
                                  if cpu else None),
                "mb_s": (med(k, "bytes") / med(k, "seconds") / 1e6
                         if mps else None),
                "peak_rss_kib": med(k, "peak_rss_kib"),
                "runs": [x["messages_per_second"] for x in
                         groups.get(k, [])],
            }
        dk = e["dkimq"]["msg_s"]
        ok = e["libopendkim"]["msg_s"]
        e["ratio_dkimq_libopendkim"] = dk / ok if dk and ok else None
        e["dkimq_pct_of_ceiling"] = (100.0 * dk / e["ceiling_msg_s"]
                                     if dk else None)
        pc = e["dkimq"]["msg_per_cpu_s"]
        e["dkimq_cpu_pct_of_ceiling"] = (
            100.0 * pc / ceiling(op, alg, 1) if pc else None)
        one = med(("dkimq", op, alg, 1), "messages_per_second")
        e["dkimq_scaling_pct"] = (100.0 * dk / (one * t)
                                  if dk and one and t > 1 else None)
        sample = groups.get(d, [{}])[0]
        e["dkimq_results"] = sample.get("results")
        out.append(e)

    print()
    print("machine: %s, %d cores; corpus %d messages, mean %.0f bytes; "
          "median of %d runs; keys: %s" % (a.cpu, a.cores, a.count,
                                           a.mean, a.runs, a.dns))
    hdr = ("%-6s %-14s %3s | %8s %6s %7s %7s | %8s %6s %7s | %5s | %8s "
           "%5s %5s %5s" % ("op", "alg", "thr", "dkimq/s", "MB/s", "/cpu-s",
                            "RSS MiB", "odkim/s", "MB/s", "RSS MiB",
                            "ratio", "ceiling", "%ceil", "%cpu", "scale"))
    print(hdr)
    print("-" * len(hdr))

    def f(v, fmt):
        return fmt % v if v is not None else "-"

    for e in out:
        dk, ok = e["dkimq"], e["libopendkim"]
        print("%-6s %-14s %3d | %8s %6s %7s %7s | %8s %6s %7s | %5s | "
              "%8.0f %5s %5s %5s" % (
                  e["op"], e["alg"], e["threads"], f(dk["msg_s"], "%.0f"),
                  f(dk["mb_s"], "%.1f"), f(dk["msg_per_cpu_s"], "%.0f"),
                  f(dk["peak_rss_kib"] and dk["peak_rss_kib"] / 1024,
                    "%.1f"),
                  f(ok["msg_s"], "%.0f"), f(ok["mb_s"], "%.1f"),
                  f(ok["peak_rss_kib"] and ok["peak_rss_kib"] / 1024,
                    "%.1f"),
                  f(e["ratio_dkimq_libopendkim"], "%.2f"),
                  e["ceiling_msg_s"], f(e["dkimq_pct_of_ceiling"], "%.0f%%"),
                  f(e["dkimq_cpu_pct_of_ceiling"], "%.0f%%"),
                  f(e["dkimq_scaling_pct"], "%.0f%%")))
    print("%ceil: wall-clock msg/s against the ceiling; %cpu: messages "
          "per CPU-second against one core's ceiling (robust to a "
          "shared machine); scale: N-thread msg/s over N x 1-thread")

    doc = {"machine": {"cpu": a.cpu, "cores": a.cores},
           "corpus": {"messages": a.count, "mean_bytes": a.mean,
                      "seed": 42},
           "runs": a.runs, "dns": a.dns, "smoke": bool(a.smoke),
           "openssl_speed": {"rsa2048_sign": a.rsa_sign,
                             "rsa2048_verify": a.rsa_verify,
                             "ed25519_sign": a.ed_sign,
                             "ed25519_verify": a.ed_verify,
                             "sha256_8k_bytes_per_s": a.sha256},
           "results": out}
    name = "smoke" if a.smoke else "latest"
    with open(os.path.join(a.out, name + ".json"), "w") as fp:
        json.dump(doc, fp, indent=1)
        fp.write("\n")
    print("\nwrote %s" % os.path.join(a.out, name + ".json"))
    if not a.smoke:
        chart(a, out)


def chart(a, out):
    """Four panels (op x alg): msg/s against threads for both tools,
    with the ceiling dashed."""
    dat = os.path.join(a.out, "latest.dat")
    panels = []
    with open(dat, "w") as fp:
        for alg in ("rsa-sha256", "ed25519-sha256"):
            for op in ("sign", "verify"):
                es = [e for e in out if e["op"] == op and e["alg"] == alg]
                if not es:
                    continue
                panels.append("%s %s" % (alg, op))
                fp.write("# %s %s\n" % (alg, op))
                for e in sorted(es, key=lambda e: e["threads"]):
                    fp.write("%d %f %f %f\n" % (
                        e["threads"], e["dkimq"]["msg_s"] or 0,
                        e["libopendkim"]["msg_s"] or 0,
                        e["ceiling_msg_s"]))
                fp.write("\n\n")
    png = os.path.join(a.out, "latest.png")
    g = ["set terminal pngcairo size 1200,900" if has_cairo() else
         "set terminal png size 1200,900",
         "set output '%s'" % png,
         "set multiplot layout 2,2 title 'dkimq batch vs libopendkim, "
         "%s, %d cores'" % (a.cpu.replace("'", ""), a.cores),
         "set xlabel 'threads'", "set ylabel 'messages/s'",
         "set key top left", "set xtics 1", "set yrange [0:*]",
         "set xrange [0.8:%f]" % (a.cores + 0.2)]
    for i, title in enumerate(panels):
        g.append("set title '%s'" % title)
        g.append("plot '%s' index %d using 1:2 with linespoints lw 2 "
                 "title 'dkimq', '' index %d using 1:3 with linespoints "
                 "lw 2 title 'libopendkim', '' index %d using 1:4 with "
                 "lines dt 2 lw 2 title 'ceiling'" % (dat, i, i, i))
    g.append("unset multiplot")
    try:
        subprocess.run(["gnuplot"], input="\n".join(g) + "\n", text=True,
                       check=True)
        print("wrote %s" % png)
    except (OSError, subprocess.CalledProcessError) as ex:
        print("no chart: gnuplot failed: %s" % ex, file=sys.stderr)


def has_cairo():
    try:
        r = subprocess.run(["gnuplot", "-e", "set terminal"],
                           capture_output=True, text=True)
        return "pngcairo" in (r.stdout + r.stderr)
    except OSError:
        return False


if __name__ == "__main__":
    main()
