#!/usr/bin/env python3
"""PyTorch CPU baseline for privlm's lm benchmarks.

Same Llama architecture (RMSNorm, interleaved rotary positions, grouped-query
attention, SwiGLU, tied embeddings), batch and sequence length as
framework/lm/bench_test.go, timed the same way: one AdamW step, and per-token
log-likelihoods without gradients. Uses Debian's python3-torch:

    /usr/bin/python3 framework/lm/bench/pytorch_llama.py [--threads 2] [--steps 5]
"""
import argparse
import json
import math
import resource
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

CONFIGS = {
    "small": dict(vocab=512, dim=128, hidden=384, layers=4, heads=4, kv_heads=4),
    "stories260k": dict(vocab=512, dim=64, hidden=172, layers=5, heads=8, kv_heads=4),
}


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

    def forward(self, x, cos, sin):
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
        k = k.repeat_interleave(rep, dim=2)
        v = v.repeat_interleave(rep, dim=2)
        q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)  # [B,H,T,hd]
        scores = (q @ k.transpose(-1, -2)) / math.sqrt(self.hd)
        mask = torch.ones(T, T, dtype=torch.bool).triu(1)
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

    def forward(self, ids):
        x = self.emb(ids)
        for b in self.blocks:
            x = b(x, self.cos, self.sin)
        x = Block.rms(x, self.norm)
        return x @ self.emb.weight.T


def bench(name, c, B, T, steps, compiled):
    torch.manual_seed(0)
    model = Llama(c, T)
    fwd = torch.compile(model) if compiled else model
    ids = torch.randint(0, c["vocab"], (B, T + 1))
    inp, tgt = ids[:, :-1], ids[:, 1:]
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)

    def train():
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(fwd(inp).reshape(-1, c["vocab"]), tgt.reshape(-1))
        loss.backward()
        opt.step()

    def score():
        with torch.no_grad():
            lp = F.log_softmax(fwd(inp), -1).gather(-1, tgt[..., None])
        return lp

    out = {}
    for what, fn in (("train", train), ("score", score)):
        fn()  # warm-up
        t0 = time.perf_counter()
        for _ in range(steps):
            fn()
        dt = (time.perf_counter() - t0) / steps
        out[what] = dict(seconds_per_step=dt, tokens_per_s=B * T / dt)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--compile", action="store_true", help="also time torch.compile")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    results = {"torch": torch.__version__, "threads": args.threads, "batch": args.batch, "seq": args.seq}
    for name, c in CONFIGS.items():
        results[name] = bench(name, c, args.batch, args.seq, args.steps, False)
        if args.compile:
            results[name + "_compiled"] = bench(name, c, args.batch, args.seq, args.steps, True)
    results["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
