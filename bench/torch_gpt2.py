"""PyTorch side of `npm run bench -- ml`: the same GPT-2 training steps as
bpoflow's ml core, timed in a long-lived process so the Node benchmark can
interleave tfjs and torch measurements in the same minutes.

The model is GPT-2 as ml/gpt2.ts builds it: learned positions, pre-LayerNorm
blocks, tanh-GELU MLP, causal attention (torch's scaled_dot_product_attention,
what a PyTorch user gets by default), final LayerNorm, LM head tied to the
token embedding, no dropout. The objectives and optimiser match
ml/train/{sft,dpo,loop}.ts: SFT is the mean negative log-likelihood of the
response tokens; DPO is the sigmoid loss with beta 0.1 on chosen and rejected
sequences in one concatenated batch, reference log-probs precomputed
(constants); AdamW (lr 1e-4, no weight decay), gradient clipping at norm 1.

Protocol: one JSON object per line on stdin, one reply per line on stdout.
  {"op": "setup", "n_layer", "n_head", "n_embd", "n_positions", "vocab",
   "mode": "sft"|"dpo", "batch", "seq", "threads"}  -> {"params"} (after a warm-up step)
  {"op": "run", "seconds"}  -> {"steps", "wall", "cpu"} for at least one step
  {"op": "peak"}            -> {"peak_rss": bytes since setup}
  {"op": "free"}            -> drops the model (before a large tfjs cell runs)
"""

import json
import math
import re
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    def __init__(self, c, h):
        super().__init__()
        self.h = h
        self.ln_1 = nn.LayerNorm(c, eps=1e-5)
        self.c_attn = nn.Linear(c, 3 * c)
        self.c_proj = nn.Linear(c, c)
        self.ln_2 = nn.LayerNorm(c, eps=1e-5)
        self.c_fc = nn.Linear(c, 4 * c)
        self.mlp_proj = nn.Linear(4 * c, c)

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = self.c_attn(self.ln_1(x)).split(C, dim=2)
        heads = lambda t: t.view(B, T, self.h, C // self.h).transpose(1, 2)
        y = F.scaled_dot_product_attention(heads(q), heads(k), heads(v), is_causal=True)
        x = x + self.c_proj(y.transpose(1, 2).reshape(B, T, C))
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))


class Gpt2(nn.Module):
    def __init__(self, n_layer, n_head, n_embd, n_positions, vocab):
        super().__init__()
        self.wte = nn.Embedding(vocab, n_embd)
        self.wpe = nn.Embedding(n_positions, n_embd)
        self.h = nn.ModuleList(Block(n_embd, n_head) for _ in range(n_layer))
        self.ln_f = nn.LayerNorm(n_embd, eps=1e-5)
        for name, p in self.named_parameters():
            if p.dim() >= 2:
                std = 0.02 / math.sqrt(2 * n_layer) if name.endswith("c_proj.weight") or name.endswith("mlp_proj.weight") else 0.02
                nn.init.normal_(p, 0.0, std)
            elif name.endswith("bias"):
                nn.init.zeros_(p)

    def forward(self, ids):
        T = ids.shape[1]
        x = self.wte(ids) + self.wpe(torch.arange(T, device=ids.device))
        for block in self.h:
            x = block(x)
        return self.ln_f(x) @ self.wte.weight.t()  # tied LM head


def seq_logps(model, ids, targets, mask):
    logp = F.log_softmax(model(ids), dim=-1)
    picked = logp.gather(-1, targets.unsqueeze(-1)).squeeze(-1)
    return (picked * mask).sum(-1)


class Cell:
    def __init__(self, cfg):
        torch.manual_seed(0)
        torch.set_num_threads(int(cfg["threads"]))
        self.mode = cfg["mode"]
        self.model = Gpt2(cfg["n_layer"], cfg["n_head"], cfg["n_embd"], cfg["n_positions"], cfg["vocab"])
        self.opt = torch.optim.AdamW(self.model.parameters(), lr=1e-4, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)
        B, T = cfg["batch"], cfg["seq"]
        # As the tfjs side: sequences of T+1 tokens, first half prompt, loss on the rest.
        seqs = torch.randint(0, cfg["vocab"], (B, T + 1))
        self.ids, self.targets = seqs[:, :-1], seqs[:, 1:]
        self.mask = torch.zeros(B, T)
        self.mask[:, T // 2 - 1 :] = 1.0
        self.pairs = max(1, B // 2)
        self.ref = torch.full((self.pairs,), -10.0)
        self.step()  # warm-up: allocator, optimiser state, kernels

    def loss(self):
        lp = seq_logps(self.model, self.ids, self.targets, self.mask)
        if self.mode == "sft":
            return -lp.sum() / self.mask.sum()
        P = self.pairs
        x = (lp[:P] - lp[P : 2 * P]) - (self.ref - self.ref)
        return -F.logsigmoid(0.1 * x).mean()

    def step(self):
        self.opt.zero_grad(set_to_none=True)
        loss = self.loss()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
        self.opt.step()
        return loss.item()

    def run(self, seconds):
        steps, w0, c0 = 0, time.perf_counter(), time.process_time()
        while steps == 0 or time.perf_counter() - w0 < seconds:
            self.step()
            steps += 1
        return {"steps": steps, "wall": time.perf_counter() - w0, "cpu": time.process_time() - c0}


def reset_peak():
    # Linux: writing 5 resets VmHWM to the current RSS, so the peak is per cell.
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def peak_rss():
    with open("/proc/self/status") as f:
        return int(re.search(r"VmHWM:\s+(\d+)", f.read()).group(1)) * 1024


def main():
    torch.set_num_interop_threads(1)
    cell = None
    print(json.dumps({"ready": True, "torch": torch.__version__}), flush=True)
    for line in sys.stdin:
        msg = json.loads(line)
        try:
            if msg["op"] == "setup":
                cell = None
                reset_peak()
                cell = Cell(msg)
                reply = {"params": sum(p.numel() for p in cell.model.parameters())}
            elif msg["op"] == "run":
                reply = cell.run(float(msg["seconds"]))
            elif msg["op"] == "peak":
                reply = {"peak_rss": peak_rss()}
            elif msg["op"] == "free":
                cell = None
                reply = {"freed": True}
            else:
                reply = {"error": f"unknown op {msg['op']}"}
        except Exception as e:  # reported to the Node side, which records it per cell
            reply = {"error": f"{type(e).__name__}: {e}"}
        print(json.dumps(reply), flush=True)


if __name__ == "__main__":
    main()
