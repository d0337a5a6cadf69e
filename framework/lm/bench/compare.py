#!/usr/bin/env python3
"""Side-by-side CPU comparison of privlm and PyTorch, alternating the two.

For each model it runs `privlm bench --json` and pytorch_llama.py --json in
turn (privlm, torch, privlm, torch, ...) for --rounds rounds, so that both
see the same machine load, and prints per stage the median over rounds of
each run's median tokens/s, the ratio privlm/PyTorch, achieved GFLOP/s and
peak memory. Run with Debian's torch and without the OpenBLAS overrides:

    go build -o /tmp/privlm ./framework/cmd/privlm
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 \\
        framework/lm/bench/compare.py --privlm /tmp/privlm --models small,stories260k
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def run_json(cmd):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({p.returncode}):\n{p.stderr}")
    return json.loads(p.stdout)


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def loadavg():
    try:
        return os.getloadavg()[0]
    except OSError:
        return float("nan")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--privlm", help="privlm binary (required unless --report)")
    ap.add_argument("--models", default="small,stories260k")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--stages", default="train,dp,score")
    ap.add_argument("--batch", type=int, default=0, help="rows per step (default: each preset's)")
    ap.add_argument("--seq-len", type=int, default=0, help="tokens per row (default: each preset's)")
    ap.add_argument("--threads", type=int, default=os.cpu_count(), help="PyTorch threads (privlm uses GOMAXPROCS)")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--report", metavar="FILE", help="print the table of an earlier --json run instead of running")
    args = ap.parse_args()
    if args.report:
        with open(args.report) as f:
            print_table(json.load(f))
        return
    if not args.privlm:
        ap.error("--privlm is required")
    common = ["--warmup", str(args.warmup), "--steps", str(args.steps), "--stages", args.stages, "--json"]
    if args.batch:
        common += ["--batch", str(args.batch)]
    if args.seq_len:
        common += ["--seq-len", str(args.seq_len)]
    out = dict(date=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), cpu=cpu_model(), cpus=os.cpu_count(),
               rounds=args.rounds, models=[])
    for model in [m.strip() for m in args.models.split(",") if m.strip()]:
        runs = {"privlm": [], "pytorch": []}
        loads = []
        for _ in range(args.rounds):
            loads.append(loadavg())
            runs["privlm"].append(run_json([args.privlm, "bench", "--model", model] + common))
            loads.append(loadavg())
            runs["pytorch"].append(run_json([sys.executable, os.path.join(HERE, "pytorch_llama.py"), "--model", model,
                                             "--threads", str(args.threads)] + common))
        first = runs["privlm"][0]
        entry = dict(model=model, params=first["params"], batch=first["batch"], seq_len=first["seq_len"],
                     load_avg_1m=[round(x, 2) for x in loads],
                     versions={k: v[0]["versions"] for k, v in runs.items()}, stages=[])
        for stage in [s["stage"] for s in first["stages"]]:
            row = dict(stage=stage)
            for impl, rs in runs.items():
                ss = [s for r in rs for s in r["stages"] if s["stage"] == stage and "tokens_per_s" in s]
                if not ss:
                    row[impl] = None
                    continue
                row[impl] = dict(tokens_per_s=statistics.median(s["tokens_per_s"] for s in ss),
                                 achieved_gflops=statistics.median(s["achieved_gflops"] for s in ss),
                                 runs_tokens_per_s=[round(s["tokens_per_s"], 1) for s in ss])
            row["peak_rss_mb"] = {impl: max(r["peak_rss_mb"] for r in rs) for impl, rs in runs.items()}
            if row["privlm"] and row["pytorch"]:
                row["ratio"] = row["privlm"]["tokens_per_s"] / row["pytorch"]["tokens_per_s"]
            entry["stages"].append(row)
        out["models"].append(entry)
    if args.json:
        print(json.dumps(out, indent=2))
        return
    print_table(out)


def print_table(out):
    print(f"{out['date']}, {out['cpu']}, {out['cpus']} CPUs, {out['rounds']} alternating rounds, medians")
    print("| model (params), batch x tokens | stage | privlm tok/s | PyTorch tok/s | privlm/PyTorch | privlm GFLOP/s | PyTorch GFLOP/s |")
    print("|---|---|---|---|---|---|---|")
    for e in out["models"]:
        for r in e["stages"]:
            p, t = r["privlm"], r["pytorch"]
            fmt = lambda x, k, f: (f % x[k]) if x else "n/a"
            ratio = f"{r['ratio']:.3f}" if "ratio" in r else "n/a"
            print(f"| {e['model']} ({e['params'] / 1e6:.2f}M), {e['batch']}x{e['seq_len']} | {r['stage']} | "
                  f"{fmt(p, 'tokens_per_s', '%.0f')} | {fmt(t, 'tokens_per_s', '%.0f')} | {ratio} | "
                  f"{fmt(p, 'achieved_gflops', '%.2f')} | {fmt(t, 'achieved_gflops', '%.2f')} |")
    for e in out["models"]:
        print(f"{e['model']}: peak RSS MB privlm {e['stages'][-1]['peak_rss_mb']['privlm']:.0f}, "
              f"PyTorch {e['stages'][-1]['peak_rss_mb']['pytorch']:.0f}; load avg {e['load_avg_1m']}; "
              f"{e['versions']['privlm']}; {e['versions']['pytorch']}")


if __name__ == "__main__":
    main()
