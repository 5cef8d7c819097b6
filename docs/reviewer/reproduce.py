"""Rebuild every learned derivative model from its weights file and docs/models.md alone, and
reproduce its reported effective stencil; rebuild every model of attention with guaranteed order
(learned_order) the same way and reproduce its mean applied stencil and its RMS error.

Usage (from the repository root): just reviewer
    or: python3 -m pip install -r docs/reviewer/requirements.txt
        python3 docs/reviewer/reproduce.py [results]

For each sweep (learned_derivative, learned_architectures) and each weights file
results/SWEEP/weights/point-NN.safetensors, the script reads the model card in the file's
metadata, regenerates the test set from the documented SplitMix64 stream, rebuilds each trained
model (token heads, transformer, linear attention, ReLU network, least-squares stencil) from
its tensors with the forward passes of docs/models.md written here in numpy, takes its Jacobian
with respect to the samples by the complex-step method (exact to rounding: every operation of
the forward passes is analytic, and ReLU is taken on the real part), averages it over the test
functions, and compares it with the `weight` column of results/SWEEP/stencil.csv. For
learned_order it rebuilds the consistent stencil w(f) = F_m + N theta(f) of each trained module
(adaptive and fixed) and compares its mean over the test functions with stencil.csv and its RMS
error of f^(m) at the evaluation step with errors.csv (the difference relative to the RMS of
f^(m) itself, the scale at which the outputs round). Nothing here imports the project's code.
Exits non-zero if any stencil or relative error differs by more than 1e-12.
"""

import csv
import json
import math
import sys
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file
from safetensors import safe_open

TOLERANCE = 1e-12
SWEEPS = sys.argv[2:] or ["learned_derivative", "learned_architectures", "learned_order"]
MASK = (1 << 64) - 1


class TestStream:
    """SplitMix64 with the uniform and Box-Muller normal numbers of docs/models.md."""

    def __init__(self, seed, stream):
        self.state = (seed * (1 << 32) + stream) & MASK

    def next_u64(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        return z ^ (z >> 31)

    def uniform(self):
        return (self.next_u64() >> 11) * (1.0 / (1 << 53))

    def normal(self):
        u1 = self.uniform()
        u2 = self.uniform()
        return math.sqrt(-2.0 * math.log(1.0 - u1)) * math.cos(2.0 * math.pi * u2)


def trigonometric_test_samples(card):
    """The samples of the trigonometric test set (family k = 0) at the evaluation step."""
    test = card["test_set"]
    k_max = card["training_family"]["max_frequency"]
    count = card["sizes"]["test_per_family"]
    h = test["evaluation_step"]
    offsets = card["offsets"]
    stream = TestStream(test["seed"], 0)
    rows = []
    for _ in range(count):
        coefficients = [stream.normal() for _ in range(2 * k_max)]
        x0 = -math.pi + 2.0 * math.pi * stream.uniform()
        row = []
        for o in offsets:
            x = x0 + o * h
            value = 0.0
            for k in range(1, k_max + 1):
                a, b = coefficients[2 * (k - 1)], coefficients[2 * (k - 1) + 1]
                value += (1.0 / k) * (a * math.cos(k * x) + b * math.sin(k * x))
            row.append(value)
        rows.append(row)
    return np.array(rows)


def taylor_features(offsets):
    n = len(offsets)
    return np.array([[o**j / math.factorial(j) for j in range(n)] for o in offsets])


def softmax(s):
    s = s - np.max(s.real, axis=-1, keepdims=True)
    e = np.exp(s)
    return e / np.sum(e, axis=-1, keepdims=True)


def token_heads(t, card, f):
    """docs/models.md, token heads: f (batch, n) -> g (batch,)."""
    heads, d = card["model"]["heads"], card["model"]["head_width"]
    offsets = card["offsets"]
    n = len(offsets)
    phi = taylor_features(offsets)
    batch = f.shape[0]
    z = np.concatenate([np.broadcast_to(phi, (batch, n, n)), f[:, :, None]], axis=2)
    q = t["w_query"][0].reshape(heads, d)
    k = (z @ t["w_key"]).reshape(batch, n, heads, d)
    s = np.einsum("bihd,hd->bhi", k, q) / math.sqrt(d)
    p = softmax(s)
    v = np.einsum("bif,fh->bhi", z, t["w_value"])
    return np.sum(p * v, axis=(1, 2))


def layer_norm(x, gain, bias):
    mean = np.mean(x, axis=-1, keepdims=True)
    centred = x - mean
    variance = np.mean(centred * centred, axis=-1, keepdims=True)
    return centred / np.sqrt(variance + 1e-5) * gain + bias


def gelu(x):
    return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))


def transformer(t, card, f):
    """docs/models.md, transformer: f (batch, n) -> g (batch,)."""
    spec = card["model"]
    heads, blocks = spec["heads"], spec["blocks"]
    offsets = card["offsets"]
    n = len(offsets)
    phi = taylor_features(offsets)
    batch = f.shape[0]
    samples = np.concatenate(
        [np.broadcast_to(phi, (batch, n, n)), f[:, :, None], np.zeros((batch, n, 1))], axis=2
    )
    query = np.zeros(n + 2)
    query[0] = 1.0
    query[-1] = 1.0
    tokens = np.concatenate([samples, np.broadcast_to(query, (batch, 1, n + 2))], axis=1)
    x = tokens @ t["embedding"]
    d = x.shape[-1]
    w = d // heads
    for b in range(blocks):
        p = lambda name: t[f"block{b}.{name}"]
        a = layer_norm(x, p("attention_norm.gain"), p("attention_norm.bias"))
        q, k, v = a @ p("attention.query"), a @ p("attention.key"), x @ p("attention.value")
        outs = []
        for j in range(heads):
            cols = slice(j * w, (j + 1) * w)
            s = q[:, :, cols] @ np.swapaxes(k[:, :, cols], 1, 2) / math.sqrt(w)
            outs.append(softmax(s) @ v[:, :, cols])
        x = x + np.concatenate(outs, axis=2) @ p("attention.output")
        hidden = layer_norm(x, p("feed_forward_norm.gain"), p("feed_forward_norm.bias"))
        hidden = gelu(hidden @ p("feed_forward.hidden") + p("feed_forward.hidden_bias"))
        x = x + hidden @ p("feed_forward.back") + p("feed_forward.back_bias")
    return x[:, n, :] @ t["readout"]


def interpolating_weights(offsets, derivative):
    """Fornberg's weights of the interpolating stencil, as the solution of the moment system."""
    n = len(offsets)
    moments = np.zeros(n)
    moments[derivative] = 1.0
    return np.linalg.solve(taylor_features(offsets).T, moments)


def linear_attention(t, card, f):
    offsets = card["offsets"]
    keys = np.array([interpolating_weights(offsets, j) for j in range(len(offsets))]).T
    return f @ ((keys * t["key_scales"]) @ t["query"])


def mlp(t, card, f):
    z = f @ t["hidden"] + t["hidden_bias"]
    relu = np.where(z.real > 0.0, z, 0.0)
    return relu @ t["out"] + t["out_bias"][0]


def least_squares(t, card, f):
    return f @ t["weights"]


def jacobian(forward, f):
    """The complex-step Jacobian of forward at each row of f: (batch, n)."""
    batch, n = f.shape
    step = 1e-30
    probe = np.repeat(f[:, None, :], n, axis=1).astype(complex)
    probe[:, np.arange(n), np.arange(n)] += 1j * step
    out = forward(probe.reshape(batch * n, n)).reshape(batch, n)
    return out.imag / step


def reported(stencil_rows, parameters, seed, method):
    keep = []
    for row in stencil_rows:
        if row["method"] != method or int(row["seed"]) != seed:
            continue
        if all(float(row[k]) == float(v) for k, v in parameters.items()):
            keep.append((float(row["offset"]), float(row["weight"])))
    keep.sort()
    return np.array([w for _, w in keep])


def trigonometric_value(c, x, order=0):
    """The trigonometric family's function (order 0) or its derivative of `order` at x."""
    total = 0.0
    for k in range(1, len(c) // 2 + 1):
        phase = k * x + order * math.pi / 2
        total += k ** (order - 1) * (c[2 * k - 2] * math.cos(phase) + c[2 * k - 1] * math.sin(phase))
    return total


def consistent_attention(keys, values, card, f):
    """docs/models.md's consistent attention on the sample vectors f (one per row): the outputs
    F_m . f + theta(f) . (F_{m+p..n-1} . f) and the applied stencils w(f) = F_m + N theta(f),
    theta(f) one softmax head over the candidates, queried by log-ratios of the differences."""
    o = np.array(card["offsets"])
    n, m, p, eps = len(o), card["derivative"], card["order"], card["epsilon"]
    phi = np.array([[oi ** k / math.factorial(k) for k in range(n)] for oi in o])
    dual = np.linalg.inv(phi).T
    base, free = dual[:, m], dual[:, m + p:]
    others = dual[:, [j for j in range(1, n) if j != m]]
    query = np.log(eps + (f @ others) ** 2) - np.log(eps + (f @ base) ** 2)[:, None]
    scores = np.hstack([np.ones((len(f), 1)), query]) @ keys.T
    scores -= scores.max(axis=1, keepdims=True)
    weights = np.exp(scores)
    weights /= weights.sum(axis=1, keepdims=True)
    theta = weights @ values
    return f @ base + (theta * (f @ free)).sum(axis=1), base[None, :] + theta @ free.T


def consistent_attention_checks(folder):
    """Each learned_order model's mean applied stencil and RMS error against the tables; yields
    the largest absolute stencil difference and the relative error difference of each model."""
    with open(folder / "stencil.csv", newline="") as handle:
        stencils = list(csv.DictReader(handle))
    with open(folder / "errors.csv", newline="") as handle:
        errors = list(csv.DictReader(handle))
    manifest = json.loads((folder / "manifest.json").read_text())
    for index, point in enumerate(manifest["points"]):
        path = folder / "weights" / f"point-{index + 1:02}.safetensors"
        with safe_open(str(path), framework="numpy") as handle:
            card = json.loads(handle.metadata()["model_card"])
        tensors = load_file(str(path))
        stream = TestStream(card["test_set"]["seed"], 0)
        k_max = card["training_family"]["max_frequency"]
        draws = []
        for _ in range(card["sizes"]["test_per_family"]):
            c = [stream.normal() for _ in range(2 * k_max)]
            draws.append((c, -math.pi + 2.0 * math.pi * stream.uniform()))
        h, m = card["test_set"]["evaluation_step"], card["derivative"]
        f = np.array([[trigonometric_value(c, x0 + o * h) for o in card["offsets"]] for c, x0 in draws])
        target = np.array([trigonometric_value(c, x0, m) for c, x0 in draws])
        noise = float(point["parameters"]["noise"])
        for seed in card["seeds"]:
            for method in ["adaptive", "fixed"]:
                prefix = f"seed{seed}/{method}/"
                out, w = consistent_attention(tensors[prefix + "keys"], tensors[prefix + "values"], card, f)
                rms = math.sqrt(np.mean(((out - h ** m * target) / h ** m) ** 2))
                rows = [r for r in stencils if int(r["seed"]) == seed and r["method"] == method
                        and float(r["noise"]) == noise]
                expected = np.array([float(r["weight"]) for r in sorted(rows, key=lambda r: float(r["offset"]))])
                reported_rms = [float(r["rms_error"]) for r in errors if int(r["seed"]) == seed
                                and r["method"] == method and float(r["noise"]) == noise
                                and r["family"] == "trigonometric" and r["steps"] == "evaluation_step"
                                and float(r["evaluation_noise"]) == 0.0]
                stencil_difference = float(np.max(np.abs(w.mean(axis=0) - expected)))
                # Relative to the size of the derivative, the scale at which the outputs round
                # (the error itself can be a thousand times smaller).
                rms_difference = abs(rms - reported_rms[0]) / math.sqrt(np.mean(target ** 2))
                for what, difference in [("mean stencil", stencil_difference), ("rms error", rms_difference)]:
                    status = "ok" if difference <= TOLERANCE else "DIFFERS"
                    print(f"learned_order point {index:2} seed {seed} {method:8} {what:12} |difference| {difference:.1e} {status}")
                    yield difference


def main(results):
    worst = 0.0
    checked = 0
    for sweep in SWEEPS:
        if sweep == "learned_order":
            for difference in consistent_attention_checks(results / sweep):
                worst = max(worst, difference)
                checked += 1
            continue
        folder = results / sweep
        manifest = json.loads((folder / "manifest.json").read_text())
        with open(folder / "stencil.csv", newline="") as handle:
            stencil_rows = list(csv.DictReader(handle))
        for index, point in enumerate(manifest["points"]):
            path = folder / "weights" / f"point-{index + 1:02}.safetensors"
            with safe_open(str(path), framework="numpy") as handle:
                card = json.loads(handle.metadata()["model_card"])
            tensors = load_file(str(path))
            samples = trigonometric_test_samples(card)
            for seed in card["seeds"]:
                c = card["output_scale_c"][f"seed{seed}"]
                for method in ["model", "linear_attention", "mlp", "least_squares"]:
                    prefix = f"seed{seed}/{method}/"
                    t = {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
                    if not t:
                        continue
                    if method == "model":
                        net = token_heads if card["model"]["architecture"] == "token_heads" else transformer
                        forward = lambda f, net=net, t=t: c * net(t, card, f)
                    elif method == "least_squares":
                        forward = lambda f, t=t: least_squares(t, card, f)
                    else:
                        net = linear_attention if method == "linear_attention" else mlp
                        forward = lambda f, net=net, t=t: c * net(t, card, f)
                    mean = jacobian(forward, samples).mean(axis=0)
                    expected = reported(stencil_rows, point["parameters"], seed, method)
                    difference = float(np.max(np.abs(mean - expected)))
                    worst = max(worst, difference)
                    checked += 1
                    status = "ok" if difference <= TOLERANCE else "DIFFERS"
                    print(f"{sweep} point {index:2} seed {seed} {method:17} max |difference| {difference:.1e} {status}")
    print(f"{checked} stencils and errors rebuilt from weights files; largest difference {worst:.1e} (tolerance {TOLERANCE:.0e})")
    return 0 if checked > 0 and worst <= TOLERANCE else 1


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "results")))
