#!/usr/bin/env python3
"""PyTorch CPU baseline for `privlm bench`.

Same Llama architecture (RMSNorm, interleaved rotary positions, grouped-query
attention, SwiGLU, tied embeddings), same presets (batch x tokens) and the
same JSON fields as `privlm bench --json`, timed the same way: one compiling
(here: first) step, --warmup untimed steps, then the median of --steps.

Stages:
  train  one AdamW step (cross-entropy, backward, step)
  dp     DP-SGD step: per-example gradients (functorch vmap(grad)), each
         clipped to norm 1, summed, Gaussian noise (sigma 1), AdamW step.
         This materialises per-example gradients, unlike privlm's ghost
         clipping; reported as n/a when functorch is not importable.
  score  per-token log-likelihoods without gradients

Uses Debian's python3-torch (1.13) as /usr/bin/python3; unset
OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE for the run, they slow it down:

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 \\
        framework/lm/bench/pytorch_llama.py --model small --json
"""
import argparse
import json
import math
import os
import resource
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

try:
    import functorch
except ImportError:  # pragma: no cover - depends on the torch build
    functorch = None

# name: (config, batch, seq_len); the presets of framework/bench.
PRESETS = {
    "tiny": (dict(vocab=512, dim=32, hidden=96, layers=2, heads=4, kv_heads=2), 4, 32),
    "small": (dict(vocab=512, dim=128, hidden=384, layers=4, heads=4, kv_heads=4), 16, 128),
    "stories260k": (dict(vocab=512, dim=64, hidden=172, layers=5, heads=8, kv_heads=4), 16, 128),
    "stories15m": (dict(vocab=32000, dim=288, hidden=768, layers=6, heads=6, kv_heads=6), 8, 256),
    "llama-125m": (dict(vocab=32000, dim=768, hidden=2048, layers=12, heads=12, kv_heads=12), 4, 256),
}

FLOP_FORMULA = ("PaLM app. B: train 6*N + 12*L*d*T per token, score 2*N + 4*L*d*T per token; "
                "N = matmul params incl. output head, excl. embedding lookup; DP credited as train")


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        d, h, kv = c["dim"], c["heads"], c["kv_heads"]
        self.h, self.kv, self.hd = h, kv, d // h
        self.attention_norm = nn.Parameter(torch.ones(d))
        self.ffn_norm = nn.Parameter(torch.ones(d))
        self.wq = nn.Linear(d, h * self.hd, bias=False)
        self.wk = nn.Linear(d, kv * self.hd, bias=False)
        self.wv = nn.Linear(d, kv * self.hd, bias=False)
        self.wo = nn.Linear(h * self.hd, d, bias=False)
        self.w1 = nn.Linear(d, c["hidden"], bias=False)
        self.w2 = nn.Linear(c["hidden"], d, bias=False)
        self.w3 = nn.Linear(d, c["hidden"], bias=False)

    @staticmethod
    def rms(x, w):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-5) * w

    def forward(self, x, cos, sin, mask):
        B, T, _ = x.shape
        h = self.rms(x, self.attention_norm)
        q = self.wq(h).view(B, T, self.h, self.hd)
        k = self.wk(h).view(B, T, self.kv, self.hd)
        v = self.wv(h).view(B, T, self.kv, self.hd)

        def rope(t):
            pairs = t.view(*t.shape[:-1], -1, 2)
            swapped = torch.stack((pairs[..., 1], pairs[..., 0]), -1).view_as(t)
            return t * cos + swapped * sin

        q, k = rope(q), rope(k)
        rep = self.h // self.kv
        if rep > 1:
            k = k.repeat_interleave(rep, dim=2)
            v = v.repeat_interleave(rep, dim=2)
        q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)  # [B,H,T,hd]
        scores = (q @ k.transpose(-1, -2)) / math.sqrt(self.hd)
        a = torch.softmax(scores.masked_fill(mask, float("-inf")), -1) @ v
        x = x + self.wo(a.transpose(1, 2).reshape(B, T, -1))
        h = self.rms(x, self.ffn_norm)
        return x + self.w2(F.silu(self.w1(h)) * self.w3(h))


class Llama(nn.Module):
    def __init__(self, c, T):
        super().__init__()
        self.emb = nn.Embedding(c["vocab"], c["dim"])
        self.blocks = nn.ModuleList(Block(c) for _ in range(c["layers"]))
        self.norm = nn.Parameter(torch.ones(c["dim"]))
        hd = c["dim"] // c["heads"]
        pos = torch.arange(T, dtype=torch.float64)[:, None]
        freq = 1.0 / (10000 ** (torch.arange(0, hd, 2, dtype=torch.float64) / hd))
        ang = (pos * freq).repeat_interleave(2, dim=1)
        sign = torch.tensor([-1.0, 1.0]).repeat(hd // 2)
        self.register_buffer("cos", torch.cos(ang).float()[None, :, None, :])
        self.register_buffer("sin", (torch.sin(ang) * sign).float()[None, :, None, :])
        self.register_buffer("mask", torch.ones(T, T, dtype=torch.bool).triu(1))

    def forward(self, ids):
        T = ids.shape[-1]
        x = self.emb(ids)
        for b in self.blocks:
            x = b(x, self.cos[:, :T], self.sin[:, :T], self.mask[:T, :T])
        x = Block.rms(x, self.norm)
        return x @ self.emb.weight.T


def matmul_params(c):
    hd = c["dim"] // c["heads"]
    attn = c["dim"] * c["heads"] * hd + 2 * c["dim"] * c["kv_heads"] * hd + c["heads"] * hd * c["dim"]
    return c["layers"] * (attn + 3 * c["dim"] * c["hidden"]) + c["dim"] * c["vocab"]


def step_flops(c, stage, B, T):
    n, tokens, attn = matmul_params(c), B * T, c["layers"] * c["dim"] * T
    if stage == "score":
        return tokens * (2 * n + 4 * attn)
    return tokens * (6 * n + 12 * attn)


def peak_rss_mb():
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def make_step(stage, c, B, T):
    torch.manual_seed(0)
    model = Llama(c, T)
    ids = torch.randint(0, c["vocab"], (B, T + 1))
    inp, tgt = ids[:, :-1], ids[:, 1:]
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.01)

    if stage == "train":
        def step():
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(inp).reshape(-1, c["vocab"]), tgt.reshape(-1))
            loss.backward()
            opt.step()
        return step

    if stage == "score":
        def step():
            with torch.no_grad():
                return F.log_softmax(model(inp), -1).gather(-1, tgt[..., None])
        return step

    if stage == "dp":
        if functorch is None:
            return None
        fmodel, params, buffers = functorch.make_functional_with_buffers(model)

        def loss1(p, x, y):
            logits = fmodel(p, buffers, x[None])
            return F.cross_entropy(logits.reshape(-1, c["vocab"]), y.reshape(-1), reduction="sum")

        per_example = functorch.vmap(functorch.grad(loss1), in_dims=(None, 0, 0))
        plist = list(model.parameters())

        def step():
            grads = per_example(params, inp, tgt)  # one [B, ...] tensor per parameter
            sq = sum(g.reshape(B, -1).pow(2).sum(1) for g in grads)
            factor = torch.clamp(1.0 / (sq.sqrt() + 1e-6), max=1.0)  # clip norm 1
            for p, g in zip(plist, grads):
                s = torch.einsum("b,b...->...", factor, g)
                p.grad = (s + torch.randn_like(s)) / B
            opt.step()
            with torch.no_grad():  # the functional copy follows the update
                for p, fp in zip(plist, params):
                    fp.copy_(p)
        return step
    raise ValueError(stage)


def run(stage, c, B, T, warmup, steps, peak):
    step = make_step(stage, c, B, T)
    if step is None:
        return dict(stage=stage, unavailable="functorch is not importable in this torch build")
    t0 = time.perf_counter()
    step()
    compile_s = time.perf_counter() - t0
    times = []
    for i in range(warmup + steps):
        t = time.perf_counter()
        step()
        if i >= warmup:
            times.append(time.perf_counter() - t)
    med = statistics.median(times)
    gflop = step_flops(c, stage, B, T) / 1e9
    r = dict(stage=stage, compile_seconds=compile_s, step_seconds=times, median_seconds=med,
             tokens_per_s=B * T / med, gflop_per_step=gflop, achieved_gflops=gflop / med,
             peak_rss_mb=peak_rss_mb())
    if peak > 0:
        r["mfu"] = r["achieved_gflops"] / peak
    if stage == "dp":
        r["method"] = "functorch vmap(grad) per-example gradients"
    return r


def parse_dims(s):
    c = dict(kv_heads=0)
    names = {"vocab", "dim", "hidden", "layers", "heads", "kv_heads", "max_seq_len"}
    for kv in s.split(","):
        k, _, v = kv.strip().partition("=")
        if k == "arch":
            if v != "llama":
                sys.exit(f"--dims: arch {v!r}: this script has only the Llama architecture")
            continue
        if k not in names:
            sys.exit(f"--dims: unknown key {k!r}")
        c[k] = int(v)
    c["kv_heads"] = c["kv_heads"] or c["heads"]
    c.pop("max_seq_len", None)
    return c


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="small", choices=sorted(PRESETS))
    ap.add_argument("--dims", default="", help="explicit dims: vocab=V,dim=D,hidden=H,layers=L,heads=N[,kv_heads=K]")
    ap.add_argument("--batch", type=int, default=0)
    ap.add_argument("--seq-len", type=int, default=0)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--stages", default="train,dp,score")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--peak-gflops", type=float, default=0)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    if args.dims:
        name, (c, B, T) = "custom", (parse_dims(args.dims), 8, 128)
    else:
        name, (c, B, T) = args.model, PRESETS[args.model]
    B, T = args.batch or B, args.seq_len or T
    params = sum(p.numel() for p in Llama(c, 1).parameters())
    res = dict(impl="pytorch", model=name, params=params, matmul_params=matmul_params(c), batch=B, seq_len=T,
               threads=torch.get_num_threads(),
               versions=f"torch {torch.__version__} python {sys.version.split()[0]}"
                        + (f" functorch {functorch.__version__}" if functorch else ""),
               flop_formula=FLOP_FORMULA, stages=[])
    for stage in [s.strip() for s in args.stages.split(",") if s.strip()]:
        if stage not in ("train", "dp", "score"):
            sys.exit(f"--stages: unknown stage {stage!r} (known: train, dp, score)")
        res["stages"].append(run(stage, c, B, T, args.warmup, args.steps, args.peak_gflops))
    res["peak_rss_mb"] = peak_rss_mb()
    if args.json:
        print(json.dumps(res, indent=2))
        return
    print(f"{name}: {res['params']} params ({res['matmul_params']} in matmuls), {B} x {T} tokens, "
          f"{res['threads']} threads, {res['versions']}")
    for s in res["stages"]:
        if "unavailable" in s:
            print(f"{s['stage']:>6}  n/a: {s['unavailable']}")
            continue
        print(f"{s['stage']:>6}  {s['median_seconds']:.3f} s/step  {s['tokens_per_s']:.0f} tokens/s  "
              f"{s['achieved_gflops']:.2f} GFLOP/s  peak RSS {s['peak_rss_mb']:.0f} MB")


if __name__ == "__main__":
    main()
