#!/usr/bin/env python3
"""The peer of bench/diffusion: optidiff's class-conditional DiT (optidiff/diffusion/dit.hpp) written
again in Python PyTorch, timed on the same work as the C++ side:

  sampling  batch B images, S Euler steps of the rectified-flow ODE with classifier-free guidance
            (one forward pass of 2B rows per step: [uncond; cond]), reported as images per second;
  training  flow-matching steps (forward, backward, gradient clipping, AdamW) at batch 128, reported as
            steps per second.

Same architecture, same thread count (torch.set_num_threads), float32, CPU. Weights are random (speed
does not depend on their values). Prints one JSON object (or writes it to --json).
"""
import argparse
import json
import math
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def timestep_features(t, dim, max_period=10000.0):
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32) / half)
    args = t.float()[:, None] * freqs[None]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=1)


def sincos_position_embedding(width, grid):
    quarter = width // 4
    omega = 1.0 / 10000.0 ** (torch.arange(quarter, dtype=torch.float64) / quarter)
    pos = torch.arange(grid, dtype=torch.float64)
    rows = pos.repeat_interleave(grid)
    cols = pos.repeat(grid)

    def enc(p):
        out = p[:, None] * omega[None]
        return torch.cat([torch.sin(out), torch.cos(out)], dim=1)

    return torch.cat([enc(cols), enc(rows)], dim=1).float()


def modulate(x, shift, scale):
    return x * (1 + scale.unsqueeze(1)) + shift.unsqueeze(1)


class Block(nn.Module):
    def __init__(self, width, heads, mlp_ratio):
        super().__init__()
        self.heads = heads
        self.norm1 = nn.LayerNorm(width, elementwise_affine=False, eps=1e-6)
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)
        self.norm2 = nn.LayerNorm(width, elementwise_affine=False, eps=1e-6)
        self.fc1 = nn.Linear(width, mlp_ratio * width)
        self.fc2 = nn.Linear(mlp_ratio * width, width)
        self.ada = nn.Linear(width, 6 * width)

    def forward(self, h, c):
        m = self.ada(F.silu(c)).chunk(6, dim=1)
        B, N, D = h.shape
        a = modulate(self.norm1(h), m[0], m[1])
        qkv = self.qkv(a).reshape(B, N, 3, self.heads, D // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        att = torch.matmul(torch.softmax(torch.matmul(q, k.transpose(-2, -1)) / math.sqrt(q.shape[-1]), -1), v)
        out = h + m[2].unsqueeze(1) * self.proj(att.transpose(1, 2).reshape(B, N, D))
        y = modulate(self.norm2(out), m[3], m[4])
        return out + m[5].unsqueeze(1) * self.fc2(F.gelu(self.fc1(y), approximate="tanh"))


class DiT(nn.Module):
    def __init__(self, image_size=28, channels=1, patch=4, width=128, depth=6, heads=4, mlp_ratio=4,
                 num_classes=10, frequency_dim=256):
        super().__init__()
        self.image_size, self.channels, self.patch, self.frequency_dim = image_size, channels, patch, frequency_dim
        self.patch_embed = nn.Conv2d(channels, width, patch, stride=patch)
        self.t_fc1 = nn.Linear(frequency_dim, width)
        self.t_fc2 = nn.Linear(width, width)
        self.label_embed = nn.Embedding(num_classes + 1, width)
        self.blocks = nn.ModuleList([Block(width, heads, mlp_ratio) for _ in range(depth)])
        self.final_norm = nn.LayerNorm(width, elementwise_affine=False, eps=1e-6)
        self.final_ada = nn.Linear(width, 2 * width)
        self.final_linear = nn.Linear(width, patch * patch * channels)
        self.register_buffer("pos_embed", sincos_position_embedding(width, image_size // patch)[None])

    def forward(self, x, t, y):
        h = self.patch_embed(x).flatten(2).transpose(1, 2) + self.pos_embed
        c = self.t_fc2(F.silu(self.t_fc1(timestep_features(t, self.frequency_dim)))) + self.label_embed(y)
        for b in self.blocks:
            h = b(h, c)
        m = self.final_ada(F.silu(c)).chunk(2, dim=1)
        out = self.final_linear(modulate(self.final_norm(h), m[0], m[1]))
        B, g, p, C = x.shape[0], self.image_size // self.patch, self.patch, self.channels
        return out.reshape(B, g, g, p, p, C).permute(0, 5, 1, 3, 2, 4).reshape(B, C, g * p, g * p)


@torch.no_grad()
def sample_euler_cfg(model, labels, steps, w, generator):
    n = labels.shape[0]
    x = torch.randn(n, 1, 28, 28, generator=generator)
    null = torch.full_like(labels, 10)
    ts = torch.linspace(1.0, 0.0, steps + 1)
    for s in range(steps):
        t = torch.full((2 * n,), float(ts[s]))
        out = model(torch.cat([x, x]), t, torch.cat([null, labels]))
        vu, vc = out[:n], out[n:]
        x = x + (ts[s + 1] - ts[s]) * (vc + (w - 1.0) * (vc - vu))
    return x


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--sample-batch", type=int, default=64)
    ap.add_argument("--sample-steps", type=int, default=50)
    ap.add_argument("--sample-repeats", type=int, default=1)
    ap.add_argument("--train-batch", type=int, default=128)
    ap.add_argument("--train-steps", type=int, default=20)
    ap.add_argument("--cfg", type=float, default=3.0)
    ap.add_argument("--width", type=int, default=128)
    ap.add_argument("--depth", type=int, default=6)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--patch", type=int, default=4)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", default="")
    ap.add_argument("--precision", choices=["fp32", "bf16"], default="fp32",
                    help="bf16: torch.autocast('cpu', torch.bfloat16) around forward and loss, as optidiff's")
    a = ap.parse_args()
    autocast = lambda: torch.autocast("cpu", dtype=torch.bfloat16, enabled=a.precision == "bf16")
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    model = DiT(patch=a.patch, width=a.width, depth=a.depth, heads=a.heads)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.02 * torch.randn_like(p))
    params = sum(p.numel() for p in model.parameters())
    g = torch.Generator().manual_seed(a.seed)
    labels = torch.arange(a.sample_batch) % 10
    model.eval()
    with torch.no_grad(), autocast():
        sample_euler_cfg(model, labels, 2, a.cfg, g)  # warm-up
        start = time.perf_counter()
        for _ in range(a.sample_repeats):
            sample_euler_cfg(model, labels, a.sample_steps, a.cfg, g)
    sample_seconds = time.perf_counter() - start
    images_per_s = a.sample_repeats * a.sample_batch / sample_seconds

    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.0)
    x0 = torch.rand(a.train_batch, 1, 28, 28, generator=g) * 2 - 1
    y = torch.randint(0, 11, (a.train_batch,), generator=g)

    def train_step():
        noise = torch.randn(x0.shape, generator=g)
        t = torch.sigmoid(torch.randn(a.train_batch, generator=g))
        tt = t[:, None, None, None]
        with autocast():
            loss = F.mse_loss(model((1 - tt) * x0 + tt * noise, t, y), noise - x0)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        return loss.item()

    train_step()  # warm-up
    start = time.perf_counter()
    for _ in range(a.train_steps):
        train_step()
    train_seconds = time.perf_counter() - start
    result = {
        "impl": "python-pytorch",
        "precision": a.precision,
        "torch_version": torch.__version__,
        "threads": torch.get_num_threads(),
        "parameters": params,
        "sample_batch": a.sample_batch,
        "sample_steps": a.sample_steps,
        "sample_images_per_s": images_per_s,
        "train_batch": a.train_batch,
        "train_steps": a.train_steps,
        "train_steps_per_s": a.train_steps / train_seconds,
    }
    text = json.dumps(result, indent=2)
    if a.json:
        with open(a.json, "w") as f:
            f.write(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
