"""The PyTorch peer of one training step of attnum's learned transformer.

The model is `attnum_attention::transformer::TokenTransformer` (crates/attnum-attention/src/
transformer.rs), written again in PyTorch, float64 on the CPU:

* tokens z_i = (1, o_i, f_i, 0) for the samples at offsets o = -2..2 and z_q = (1, 0, 0, 1) for
  the query, last; embedded by a 4 x d matrix (x @ W, no bias);
* pre-normalised blocks: x += MultiHead(LN(x)) W_o, then x += W_2 GELU(W_1 LN(x) + b_1) + b_2;
  the heads are contiguous slices of width d/H of the projections x W_q, x W_k, x W_v (no
  biases), scores <q, k>/sqrt(d/H), softmax over all tokens (the query token included, no mask);
  LayerNorm with a gain and a bias, eps 1e-5, biased variance; GELU in its tanh form; FFN width 2d;
* the output <x_q, w_out> of the query token after the last block (no final LayerNorm).

The step is `attnum_attention::learn::Trainer::step`: the learning rate of the cosine schedule,
the forward pass on a training batch of 512, the mean squared error, the backward pass, the
AdamW update (PyTorch's AdamW and candle's are the same algorithm: decoupled weight decay,
bias-corrected moments, eps added to the square root) and one evaluation forward pass on a
validation batch of 512, with no gradient.

    python torch_step.py --threads 1 [--steps 60] [--warmup 10] [--shapes 2x1,8x1,2x4]
    python torch_step.py --check DIR   # DIR/HxB.json from the candle example's --dump
    python torch_step.py --table OUT.json --check DIR CSV...  # check again, then join the timings

prints `implementation,profile,threads,heads,blocks,warmup,steps,median_ms,min_ms` (CSV with a
header; `profile` is empty: it names candle's cargo profile), or with
--check, that the weights, batch, outputs and one step written by the candle side are reproduced
here: outputs, losses and updated weights to a relative 1e-9, the gradients of the training loss
to 1e-8 (relative to the largest entry of each).
"""

import argparse
import glob
import json
import math
import os
import statistics
import sys
import time

import torch

WIDTH = 16
BATCH = 512
OFFSETS = [-2.0, -1.0, 0.0, 1.0, 2.0]
LEARNING_RATE = 1e-2
WEIGHT_DECAY = 1e-4
EPOCHS = 1000
DTYPE = torch.float64


class LayerNorm(torch.nn.Module):
    def __init__(self, width):
        super().__init__()
        self.gain = torch.nn.Parameter(torch.ones(width, dtype=DTYPE))
        self.bias = torch.nn.Parameter(torch.zeros(width, dtype=DTYPE))

    def forward(self, x):
        return torch.nn.functional.layer_norm(x, x.shape[-1:], self.gain, self.bias, 1e-5)


def matrix(rows, columns):
    return torch.nn.Parameter(torch.randn(rows, columns, dtype=DTYPE) / math.sqrt(rows))


class Block(torch.nn.Module):
    def __init__(self, width, heads):
        super().__init__()
        self.heads = heads
        self.attention_norm = LayerNorm(width)
        self.query = matrix(width, width)
        self.key = matrix(width, width)
        self.value = matrix(width, width)
        self.output = matrix(width, width)
        self.feed_forward_norm = LayerNorm(width)
        self.hidden = matrix(width, 2 * width)
        self.hidden_bias = torch.nn.Parameter(torch.zeros(2 * width, dtype=DTYPE))
        self.back = matrix(2 * width, width)
        self.back_bias = torch.nn.Parameter(torch.zeros(width, dtype=DTYPE))

    def forward(self, x):
        batch, tokens, width = x.shape
        head_width = width // self.heads
        a = self.attention_norm(x)

        def split(w):
            return (a @ w).view(batch, tokens, self.heads, head_width).transpose(1, 2)

        q, k, v = split(self.query), split(self.key), split(self.value)
        scores = q @ k.transpose(2, 3) / math.sqrt(head_width)
        mixed = (torch.softmax(scores, dim=-1) @ v).transpose(1, 2).reshape(batch, tokens, width)
        x = x + mixed @ self.output
        b = self.feed_forward_norm(x)
        hidden = torch.nn.functional.gelu(b @ self.hidden + self.hidden_bias, approximate="tanh")
        return x + hidden @ self.back + self.back_bias


class TokenTransformer(torch.nn.Module):
    def __init__(self, offsets, width, heads, blocks):
        super().__init__()
        self.register_buffer("offsets", torch.tensor(offsets, dtype=DTYPE))
        self.register_buffer("query_token", torch.tensor([1.0, 0.0, 0.0, 1.0], dtype=DTYPE))
        self.embedding = matrix(4, width)
        self.blocks = torch.nn.ModuleList(Block(width, heads) for _ in range(blocks))
        self.readout = torch.nn.Parameter(torch.randn(width, dtype=DTYPE) / math.sqrt(width))

    def forward(self, values):
        batch, n = values.shape
        offsets = self.offsets.expand(batch, n)
        samples = torch.stack(
            [torch.ones_like(offsets), offsets, values, torch.zeros_like(offsets)], dim=2
        )
        tokens = torch.cat([samples, self.query_token.expand(batch, 1, 4)], dim=1)
        x = tokens @ self.embedding
        for block in self.blocks:
            x = block(x)
        return x[:, n, :] @ self.readout

    def named_like_candle(self):
        """The parameters under the names of `TokenTransformer::parameters` in Rust."""
        names = {"embedding": self.embedding, "readout": self.readout}
        for i, b in enumerate(self.blocks):
            for name, p in [
                ("attention_norm.gain", b.attention_norm.gain),
                ("attention_norm.bias", b.attention_norm.bias),
                ("attention.query", b.query),
                ("attention.key", b.key),
                ("attention.value", b.value),
                ("attention.output", b.output),
                ("feed_forward_norm.gain", b.feed_forward_norm.gain),
                ("feed_forward_norm.bias", b.feed_forward_norm.bias),
                ("feed_forward.hidden", b.hidden),
                ("feed_forward.hidden_bias", b.hidden_bias),
                ("feed_forward.back", b.back),
                ("feed_forward.back_bias", b.back_bias),
            ]:
                names[f"block{i}.{name}"] = p
        return names


class Trainer:
    """`learn::Trainer`: AdamW with candle's defaults (betas 0.9, 0.999, eps 1e-8)."""

    def __init__(self, model, learning_rate, weight_decay, epochs):
        self.model = model
        self.learning_rate = learning_rate
        self.epochs = epochs
        self.optimizer = torch.optim.AdamW(
            model.parameters(), lr=learning_rate, betas=(0.9, 0.999), eps=1e-8,
            weight_decay=weight_decay, foreach=False,
        )

    def step(self, epoch, train, validation):
        progress = epoch / max(self.epochs, 1)
        lr = self.learning_rate * (0.01 + 0.99 * 0.5 * (1.0 + math.cos(math.pi * progress)))
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        self.optimizer.zero_grad(set_to_none=True)
        loss = (self.model(train[0]) - train[1]).square().mean()
        train_loss = loss.item()
        loss.backward()
        self.optimizer.step()
        with torch.no_grad():
            validation_loss = (self.model(validation[0]) - validation[1]).square().mean().item()
        return lr, train_loss, validation_loss


def data(generator):
    """Samples of random trigonometric polynomials of degree 3 at x0 + o h, h = 0.1, and
    h f'(x0) (the family of the candle side; the values do not change the cost)."""
    a = torch.randn(BATCH, 3, 2, generator=generator, dtype=DTYPE)
    x0 = (torch.rand(BATCH, 1, generator=generator, dtype=DTYPE) * 2 - 1) * math.pi
    k = torch.arange(1, 4, dtype=DTYPE)
    x = x0 + 0.1 * torch.tensor(OFFSETS, dtype=DTYPE)
    phase = k.view(1, 1, 3) * x.unsqueeze(2)
    values = ((a[:, :, 0].unsqueeze(1) * torch.cos(phase) + a[:, :, 1].unsqueeze(1) * torch.sin(phase))
              / k).sum(2)
    phase0 = k * x0
    targets = 0.1 * (-a[:, :, 0] * torch.sin(phase0) + a[:, :, 1] * torch.cos(phase0)).sum(1)
    return values, targets


def time_steps(heads, blocks, steps, warmup):
    torch.manual_seed(1)
    generator = torch.Generator().manual_seed(1)
    train, validation = data(generator), data(generator)
    model = TokenTransformer(OFFSETS, WIDTH, heads, blocks)
    trainer = Trainer(model, LEARNING_RATE, WEIGHT_DECAY, EPOCHS)
    times = []
    for epoch in range(warmup + steps):
        start = time.perf_counter()
        _, train_loss, _ = trainer.step(epoch, train, validation)
        elapsed = (time.perf_counter() - start) * 1e3
        assert math.isfinite(train_loss), "the loss diverged"
        if epoch >= warmup:
            times.append(elapsed)
    return statistics.median(times), min(times)


def close(a, b, what, rel=1e-9):
    a = torch.as_tensor(a, dtype=DTYPE)
    b = torch.as_tensor(b, dtype=DTYPE)
    scale = max(b.abs().max().item(), 1e-300)
    error = (a - b).abs().max().item() / scale
    if not error <= rel:
        raise SystemExit(f"{what}: relative difference {error:.3e} > {rel:g}")
    return error


def check(directory):
    """Rebuild each dumped model from its weights and reproduce its outputs and one step; returns
    the largest relative difference of any quantity."""
    files = sorted(glob.glob(os.path.join(directory, "*.json")))
    if not files:
        raise SystemExit(f"no dumps in {directory}")
    largest = 0.0
    for path in files:
        with open(path) as f:
            d = json.load(f)
        model = TokenTransformer(d["offsets"], d["width"], d["heads"], d["blocks"])
        params = model.named_like_candle()
        if set(params) != set(d["before"]):
            raise SystemExit(f"{path}: parameter names differ: {sorted(set(params) ^ set(d['before']))}")
        with torch.no_grad():
            for name, p in params.items():
                p.copy_(torch.tensor(d["before"][name]["values"], dtype=DTYPE).view(p.shape))
        tensor = lambda key: torch.tensor(d[key], dtype=DTYPE)
        n = len(d["offsets"])
        train = (tensor("train_inputs").view(-1, n), tensor("train_targets"))
        validation = (tensor("validation_inputs").view(-1, n), tensor("validation_targets"))
        with torch.no_grad():
            worst = close(model(train[0]), tensor("outputs"), f"{path}: outputs")
        loss = (model(train[0]) - train[1]).square().mean()
        gradients = torch.autograd.grad(loss, list(params.values()))
        for (name, p), g in zip(params.items(), gradients):
            expected = torch.tensor(d["gradients"][name], dtype=DTYPE).view(p.shape)
            worst = max(worst, close(g, expected, f"{path}: gradient of {name}", rel=1e-8))
        # Epoch 0 of the cosine schedule is the initial learning rate.
        trainer = Trainer(model, d["learning_rate"], d["weight_decay"], 1)
        _, train_loss, validation_loss = trainer.step(0, train, validation)
        worst = max(worst, close(train_loss, d["train_loss"], f"{path}: training loss"))
        worst = max(worst, close(validation_loss, d["validation_loss"], f"{path}: validation loss"))
        for name, p in params.items():
            after = torch.tensor(d["after"][name]["values"], dtype=DTYPE).view(p.shape)
            worst = max(worst, close(p.detach(), after, f"{path}: {name} after the step"))
        print(f"{os.path.basename(path)}: outputs, gradients, losses and updated weights agree "
              f"(largest relative difference {worst:.1e})", file=sys.stderr)
        largest = max(largest, worst)
    return largest


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform
    return platform.processor() or platform.machine()


def git(*args):
    import subprocess
    return subprocess.run(["git", *args], capture_output=True, text=True, check=True).stdout.strip()


def table(out, inputs, agreement):
    """One row per thread count and shape, from timing CSVs of candle and torch taken in turn
    (same machine, same run, several rounds): the median over rounds of each implementation's
    median step, the ratio candle / torch of those, and the fastest step seen; written as JSON
    with what the runs share (rounds, warm-up and timed steps, candle's cargo profile), the CPU
    model and count, the torch version, the commit, and `agreement`, the largest relative
    difference of the check that preceded the timings, for the paper's compute appendix."""
    import csv
    runs = {}
    shared = {}
    for path in inputs:
        with open(path) as f:
            for r in csv.DictReader(f):
                key = (int(r["threads"]), int(r["heads"]), int(r["blocks"]))
                runs.setdefault(key, {}).setdefault(r["implementation"], []).append(r)
                for field in ("warmup", "steps") + (("profile",) if r["implementation"] == "candle" else ()):
                    shared.setdefault(field, set()).add(r[field])
    for field, values in shared.items():
        if len(values) != 1:
            raise SystemExit(f"the runs differ in {field}: {sorted(values)}")
    rows = []
    rounds = set()
    for (threads, heads, blocks), r in sorted(runs.items()):
        if set(r) != {"candle", "torch"} or len(r["candle"]) != len(r["torch"]):
            raise SystemExit(f"{threads} threads, {heads}x{blocks}: needs as many candle as torch runs")
        rounds.add(len(r["candle"]))
        median = {k: statistics.median(float(x["median_ms"]) for x in v) for k, v in r.items()}
        fastest = {k: min(float(x["min_ms"]) for x in v) for k, v in r.items()}
        rows.append({
            "threads": threads,
            "heads": heads,
            "blocks": blocks,
            "candle_ms": round(median["candle"], 4),
            "torch_ms": round(median["torch"], 4),
            "ratio": round(median["candle"] / median["torch"], 4),
            "candle_min_ms": round(fastest["candle"], 4),
            "torch_min_ms": round(fastest["torch"], 4),
        })
    if len(rounds) != 1:
        raise SystemExit(f"the shapes have different numbers of rounds: {sorted(rounds)}")
    document = {
        "recipe": "just bench-peers",
        "commit": git("rev-parse", "HEAD"),
        "dirty": git("status", "--porcelain") != "",
        "profile": shared["profile"].pop(),
        "cpu": cpu_model(),
        "cpus": os.cpu_count(),
        "largest_check_difference": float(f"{agreement:.3g}"),
        "torch_version": torch.__version__.split("+")[0],
        "rounds": rounds.pop(),
        "warmup": int(shared["warmup"].pop()),
        "steps": int(shared["steps"].pop()),
        "rows": rows,
    }
    os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
    with open(out, "w") as f:
        json.dump(document, f, indent=2)
        f.write("\n")
    print(f"wrote {out}", file=sys.stderr)
    print("threads  shape  candle (ms)  torch (ms)  candle/torch")
    for row in rows:
        print(f"{row['threads']:>7}  {row['heads']}x{row['blocks']:<3}  {row['candle_ms']:>11.2f}"
              f"  {row['torch_ms']:>10.2f}  {row['ratio']:>12.3f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--shapes", default="2x1,8x1,2x4")
    parser.add_argument("--check", metavar="DIR")
    parser.add_argument("--table", metavar="OUT.json", help="with --check DIR: the check, then the table")
    parser.add_argument("inputs", nargs="*", help="timing CSVs for --table")
    args = parser.parse_args()
    if args.table:
        if not args.check:
            raise SystemExit("--table needs --check DIR (the dumps the timed step was checked on)")
        table(args.table, args.inputs, check(args.check))
        return
    torch.set_num_threads(args.threads)
    if args.check:
        check(args.check)
        return
    print("implementation,profile,threads,heads,blocks,warmup,steps,median_ms,min_ms")
    for shape in args.shapes.split(","):
        heads, blocks = (int(s) for s in shape.split("x"))
        median, fastest = time_steps(heads, blocks, args.steps, args.warmup)
        print(f"torch,,{torch.get_num_threads()},{heads},{blocks},{args.warmup},{args.steps},"
              f"{median:.4f},{fastest:.4f}",
              flush=True)


if __name__ == "__main__":
    main()
