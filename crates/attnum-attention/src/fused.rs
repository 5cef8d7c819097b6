//! Fused CPU kernels of the transformer, as candle custom ops with their backward passes written
//! out: LayerNorm, the attention of all heads over a few tokens, and GELU after a bias.
//!
//! Composed from candle's primitives, each of these is a dozen tensor operations forward and two
//! dozen backward, every one a pass over memory and an allocation, and the attention a batch of
//! thousands of tiny matrix products (one GEMM call each). Here each is one pass forward and one
//! backward over contiguous `f64` slices, with what the backward pass needs (normalisers,
//! attention weights, the GELU's gate) kept from the forward pass. The arithmetic is the same
//! up to rounding: the same formulas, the sums in a different order.
//!
//! Every kernel expects `F64` tensors on the CPU; a non-contiguous input is made contiguous first.
//! Every kernel splits the rows of the batch over candle's CPU pool (`CANDLE_NUM_THREADS`
//! threads, one in the sweeps; see [`in_parallel`]). Every row is computed alike whichever
//! thread takes it, and the sums over rows (the gradients of gains and biases) run in row order
//! on the calling thread, so the thread count changes no result, not even by rounding.

use std::sync::Mutex;

use candle_core::{
    CpuStorage, CustomOp1, CustomOp2, CustomOp3, Layout, Shape, Storage, Tensor, bail,
};

use crate::DEVICE;

/// Rows of the batch in one task of [`in_parallel`]: small enough that two threads share a
/// batch of 512 evenly, large enough that a task is not dominated by taking it.
const ROWS_PER_TASK: usize = 32;

/// `task` applied to every part, the parts spread over candle's CPU pool.
///
/// The pool is candle's barrier pool, the one of its elementwise operations: the calling thread
/// and `CANDLE_NUM_THREADS − 1` workers that spin for a while between operations, so that even
/// a kernel of a few tens of microseconds splits at a gain (a fork-join pool that parks its
/// threads loses more on waking them than it saves; with one thread the parts run inline, in
/// order). The pool hands out every index once; each part is taken through its own uncontended
/// lock (a lock poisoned by a panicking task still yields its part: the pool re-raises the
/// panic on the calling thread).
fn in_parallel<P: Send>(parts: impl Iterator<Item = P>, task: impl Fn(P) + Sync) {
    let parts: Vec<Mutex<Option<P>>> = parts.map(|p| Mutex::new(Some(p))).collect();
    candle_core::utils::barrier_pool().execute_chunked(parts.len(), |range| {
        for part in &parts[range] {
            let taken = part
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .take();
            if let Some(part) = taken {
                task(part);
            }
        }
    });
}

/// The contiguous `f64` values of a CPU storage.
fn values<'a>(
    storage: &'a CpuStorage,
    layout: &Layout,
    op: &str,
) -> candle_core::Result<&'a [f64]> {
    let CpuStorage::F64(v) = storage else {
        bail!("{op}: expects F64 tensors")
    };
    match layout.contiguous_offsets() {
        Some((start, end)) => Ok(&v[start..end]),
        None => bail!("{op}: expects contiguous tensors"),
    }
}

/// `f` applied to the contiguous values of `tensors` (copied to a contiguous layout first where
/// needed).
fn with_values<R>(
    tensors: &[&Tensor],
    op: &str,
    f: impl FnOnce(&[&[f64]]) -> candle_core::Result<R>,
) -> candle_core::Result<R> {
    let owned: Vec<Tensor> = tensors
        .iter()
        .map(|t| t.contiguous())
        .collect::<candle_core::Result<_>>()?;
    let guards: Vec<_> = owned.iter().map(|t| t.storage_and_layout()).collect();
    let slices = guards
        .iter()
        .map(|(storage, layout)| match &**storage {
            Storage::Cpu(cpu) => values(cpu, layout, op),
            _ => bail!("{op}: expects CPU tensors"),
        })
        .collect::<candle_core::Result<Vec<&[f64]>>>()?;
    f(&slices)
}

fn tensor(values: Vec<f64>, shape: &Shape) -> candle_core::Result<Tensor> {
    Tensor::from_vec(values, shape.clone(), &DEVICE)
}

fn saved<T: Clone>(slot: &Mutex<Option<T>>, op: &str) -> candle_core::Result<T> {
    match slot.lock() {
        Ok(guard) => match guard.as_ref() {
            Some(v) => Ok(v.clone()),
            None => bail!("{op}: backward before forward"),
        },
        Err(_) => bail!("{op}: poisoned state"),
    }
}

fn save<T>(slot: &Mutex<Option<T>>, value: T) {
    if let Ok(mut guard) = slot.lock() {
        *guard = Some(value);
    }
}

/// LayerNorm over the last dimension: `(x − mean) / √(var + ε) · gain + bias`, the variance
/// biased (divided by the width).
struct LayerNormOp {
    epsilon: f64,
    /// `√(var + ε)` of every row, from the forward pass.
    deviations: Mutex<Option<std::sync::Arc<Vec<f64>>>>,
}

impl CustomOp3 for LayerNormOp {
    fn name(&self) -> &'static str {
        "layer-norm"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let x = values(s1, l1, self.name())?;
        let gain = values(s2, l2, self.name())?;
        let bias = values(s3, l3, self.name())?;
        let width = gain.len();
        if width == 0 || bias.len() != width || x.len() % width != 0 {
            bail!("layer-norm: the gain and bias must match the last dimension")
        }
        let scale = 1.0 / width as f64;
        let mut out = vec![0.0; x.len()];
        let mut deviations = vec![0.0; x.len() / width];
        let block = ROWS_PER_TASK * width;
        let parts = x
            .chunks(block)
            .zip(out.chunks_mut(block))
            .zip(deviations.chunks_mut(ROWS_PER_TASK));
        in_parallel(parts, |((x, out), deviations)| {
            for ((row, out), deviation) in x
                .chunks_exact(width)
                .zip(out.chunks_exact_mut(width))
                .zip(deviations)
            {
                let mean = row.iter().sum::<f64>() * scale;
                let variance = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() * scale;
                *deviation = (variance + self.epsilon).sqrt();
                for (((o, v), g), b) in out.iter_mut().zip(row).zip(gain).zip(bias) {
                    *o = (v - mean) / *deviation * g + b;
                }
            }
        });
        save(&self.deviations, std::sync::Arc::new(deviations));
        Ok((CpuStorage::F64(out), l1.shape().clone()))
    }

    fn bwd(
        &self,
        x: &Tensor,
        gain: &Tensor,
        bias: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let deviations = saved(&self.deviations, self.name())?;
        let (dx, dgain, dbias) = with_values(&[x, gain, grad], self.name(), |v| {
            let (x, gain, dy) = (v[0], v[1], v[2]);
            let width = gain.len();
            let scale = 1.0 / width as f64;
            // Row by row in parallel: the normalised input n and
            // dx = (dy ⊙ g − mean(dy ⊙ g) − n · mean(dy ⊙ g ⊙ n)) / √(var + ε).
            let mut dx = vec![0.0; x.len()];
            let mut normalised = vec![0.0; x.len()];
            let block = ROWS_PER_TASK * width;
            let parts = x
                .chunks(block)
                .zip(dy.chunks(block))
                .zip(deviations.chunks(ROWS_PER_TASK))
                .zip(dx.chunks_mut(block).zip(normalised.chunks_mut(block)));
            in_parallel(parts, |(((x, dy), deviations), (dx, normalised))| {
                let mut scaled = vec![0.0; width];
                for ((((row, dy), deviation), dx), normalised) in x
                    .chunks_exact(width)
                    .zip(dy.chunks_exact(width))
                    .zip(deviations)
                    .zip(dx.chunks_exact_mut(width))
                    .zip(normalised.chunks_exact_mut(width))
                {
                    let mean = row.iter().sum::<f64>() * scale;
                    let (mut mean_g, mut mean_gn) = (0.0, 0.0);
                    for ((((v, dy), g), n), s) in row
                        .iter()
                        .zip(dy)
                        .zip(gain)
                        .zip(normalised.iter_mut())
                        .zip(scaled.iter_mut())
                    {
                        *n = (v - mean) / deviation;
                        *s = dy * g;
                        mean_g += *s;
                        mean_gn += *s * *n;
                    }
                    mean_g *= scale;
                    mean_gn *= scale;
                    for ((d, s), n) in dx.iter_mut().zip(&scaled).zip(&*normalised) {
                        *d = (s - mean_g - n * mean_gn) / deviation;
                    }
                }
            });
            // The sums over rows, in row order.
            let mut dgain = vec![0.0; width];
            let mut dbias = vec![0.0; width];
            for (dy, n) in dy.chunks_exact(width).zip(normalised.chunks_exact(width)) {
                for (((dg, db), dy), n) in dgain.iter_mut().zip(dbias.iter_mut()).zip(dy).zip(n) {
                    *dg += dy * n;
                    *db += dy;
                }
            }
            Ok((dx, dgain, dbias))
        })?;
        Ok((
            Some(tensor(dx, x.shape())?),
            Some(tensor(dgain, gain.shape())?),
            Some(tensor(dbias, bias.shape())?),
        ))
    }
}

/// LayerNorm of `x` over its last dimension with `gain` and `bias` (vectors of its width).
pub(crate) fn layer_norm(
    x: &Tensor,
    gain: &Tensor,
    bias: &Tensor,
    epsilon: f64,
) -> candle_core::Result<Tensor> {
    x.contiguous()?.apply_op3(
        gain,
        bias,
        LayerNormOp {
            epsilon,
            deviations: Mutex::new(None),
        },
    )
}

/// Multi-head softmax attention of every token over all tokens of its row, from the
/// projections `[q | k | v]` `(batch, tokens, 3d)` to the mixed values `(batch, tokens, d)`;
/// head `h` uses the columns `h·d/H .. (h+1)·d/H` of each projection, scores `⟨q, k⟩/√(d/H)`.
///
/// The loops run over whole rows of width `d` with the weight of each column's head spread
/// over its columns, so that every head count vectorises alike.
struct AttentionOp {
    heads: usize,
    /// The attention weights, `(batch, query token, key token, head)`, from the forward pass.
    weights: Mutex<Option<std::sync::Arc<Vec<f64>>>>,
}

/// The shape of an attention: batch, tokens, width `d`, head width `d/H`.
struct AttentionDims {
    batch: usize,
    tokens: usize,
    width: usize,
    head_width: usize,
}

impl AttentionOp {
    fn dims(&self, shape: &Shape) -> candle_core::Result<AttentionDims> {
        let (batch, tokens, three_d) = shape.dims3()?;
        if three_d % 3 != 0 || self.heads == 0 || (three_d / 3) % self.heads != 0 {
            bail!("attention: the last dimension 3d must split into three and d into the heads")
        }
        Ok(AttentionDims {
            batch,
            tokens,
            width: three_d / 3,
            head_width: three_d / 3 / self.heads,
        })
    }
}

/// `out[h] = ⟨a_h, b_h⟩ · scale` over the columns of each head `h`.
#[inline(always)]
fn head_dots(a: &[f64], b: &[f64], head_width: usize, scale: f64, out: &mut [f64]) {
    for ((o, a), b) in out
        .iter_mut()
        .zip(a.chunks_exact(head_width))
        .zip(b.chunks_exact(head_width))
    {
        *o = a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>() * scale;
    }
}

/// `acc += w ⊙ x`, with one weight per head spread over the head's columns.
#[inline(always)]
fn add_weighted(acc: &mut [f64], weights: &[f64], x: &[f64], head_width: usize) {
    for ((acc, x), &w) in acc
        .chunks_exact_mut(head_width)
        .zip(x.chunks_exact(head_width))
        .zip(weights)
    {
        for (a, x) in acc.iter_mut().zip(x) {
            *a += w * x;
        }
    }
}

/// Calls `$kernel` with the width and head width as constants for the shapes the sweeps use
/// (so that the compiler unrolls and vectorises the short loops), else with their values.
macro_rules! specialised {
    ($kernel:ident, $width:expr, $head_width:expr, ($($arg:expr),*)) => {
        match ($width, $head_width) {
            (16, 16) => $kernel(16, 16, $($arg),*),
            (16, 8) => $kernel(16, 8, $($arg),*),
            (16, 4) => $kernel(16, 4, $($arg),*),
            (16, 2) => $kernel(16, 2, $($arg),*),
            (8, 4) => $kernel(8, 4, $($arg),*),
            (8, 2) => $kernel(8, 2, $($arg),*),
            (w, hw) => $kernel(w, hw, $($arg),*),
        }
    };
}

/// The forward pass of one row of the batch: `x` `(tokens, 3d)`, the attention weights `p`
/// `(tokens, tokens, heads)` and the mixed values `out` `(tokens, d)` written.
#[inline(always)]
fn attention_row(
    width: usize,
    head_width: usize,
    tokens: usize,
    x: &[f64],
    p: &mut [f64],
    out: &mut [f64],
    scratch: &mut [f64],
) {
    let heads = width / head_width;
    let row = 3 * width;
    let scale = 1.0 / (head_width as f64).sqrt();
    let (max, rest) = scratch.split_at_mut(heads);
    let total = &mut rest[..heads];
    for ((q, p), mixed) in x
        .chunks_exact(row)
        .zip(p.chunks_exact_mut(tokens * heads))
        .zip(out.chunks_exact_mut(width))
    {
        let q = &q[..width];
        // Scores, then each head's softmax over the key tokens.
        for (s, k) in p.chunks_exact_mut(heads).zip(x.chunks_exact(row)) {
            head_dots(q, &k[width..2 * width], head_width, scale, s);
        }
        max.fill(f64::NEG_INFINITY);
        for s in p.chunks_exact(heads) {
            for (m, &v) in max.iter_mut().zip(s) {
                *m = m.max(v);
            }
        }
        total.fill(0.0);
        for s in p.chunks_exact_mut(heads) {
            for ((v, m), t) in s.iter_mut().zip(&*max).zip(total.iter_mut()) {
                *v = exp(*v - m);
                *t += *v;
            }
        }
        mixed.fill(0.0);
        for (s, v) in p.chunks_exact_mut(heads).zip(x.chunks_exact(row)) {
            for (v, t) in s.iter_mut().zip(&*total) {
                *v /= t;
            }
            add_weighted(mixed, s, &v[2 * width..], head_width);
        }
    }
}

/// The backward pass of one row: from `x` `(tokens, 3d)`, the weights `p` and the gradient
/// `dout` `(tokens, d)` of the output, the gradient `dx` `(tokens, 3d)` (overwritten).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn attention_row_backward(
    width: usize,
    head_width: usize,
    tokens: usize,
    x: &[f64],
    p: &[f64],
    dout: &[f64],
    dx: &mut [f64],
    scratch: &mut [f64],
) {
    let heads = width / head_width;
    let row = 3 * width;
    let scale = 1.0 / (head_width as f64).sqrt();
    let (mean, dp) = scratch.split_at_mut(heads);
    let dp = &mut dp[..tokens * heads];
    dx.fill(0.0);
    for (i, (p, d_o)) in p
        .chunks_exact(tokens * heads)
        .zip(dout.chunks_exact(width))
        .enumerate()
    {
        // dp_ij = ⟨do_i, v_j⟩ per head; dv_j += p_ij do_i.
        mean.fill(0.0);
        for ((dp, p), (v, dv)) in dp
            .chunks_exact_mut(heads)
            .zip(p.chunks_exact(heads))
            .zip(x.chunks_exact(row).zip(dx.chunks_exact_mut(row)))
        {
            head_dots(d_o, &v[2 * width..], head_width, 1.0, dp);
            for ((m, &a), &b) in mean.iter_mut().zip(p).zip(&*dp) {
                *m += a * b;
            }
            add_weighted(&mut dv[2 * width..], p, d_o, head_width);
        }
        // ds_ij = p_ij (dp_ij − Σ_j p dp) / √(d/H); dk_j += ds_ij q_i, then dq_i += Σ_j ds_ij k_j.
        let q = &x[i * row..][..width];
        for ((dp, p), dk) in dp
            .chunks_exact_mut(heads)
            .zip(p.chunks_exact(heads))
            .zip(dx.chunks_exact_mut(row))
        {
            for ((d, &a), m) in dp.iter_mut().zip(p).zip(&*mean) {
                *d = a * (*d - m) * scale;
            }
            add_weighted(&mut dk[width..2 * width], dp, q, head_width);
        }
        let dq = &mut dx[i * row..][..width];
        for (ds, k) in dp.chunks_exact(heads).zip(x.chunks_exact(row)) {
            add_weighted(dq, ds, &k[width..2 * width], head_width);
        }
    }
}

#[inline(always)]
fn attention_forward(
    width: usize,
    head_width: usize,
    tokens: usize,
    qkv: &[f64],
    weights: &mut [f64],
    out: &mut [f64],
) {
    let heads = width / head_width;
    let parts = qkv
        .chunks(ROWS_PER_TASK * tokens * 3 * width)
        .zip(weights.chunks_mut(ROWS_PER_TASK * tokens * tokens * heads))
        .zip(out.chunks_mut(ROWS_PER_TASK * tokens * width));
    in_parallel(parts, |((qkv, weights), out)| {
        let mut scratch = vec![0.0; 2 * heads];
        for ((x, p), o) in qkv
            .chunks_exact(tokens * 3 * width)
            .zip(weights.chunks_exact_mut(tokens * tokens * heads))
            .zip(out.chunks_exact_mut(tokens * width))
        {
            attention_row(width, head_width, tokens, x, p, o, &mut scratch);
        }
    });
}

#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn attention_backward(
    width: usize,
    head_width: usize,
    tokens: usize,
    qkv: &[f64],
    weights: &[f64],
    dout: &[f64],
    dqkv: &mut [f64],
) {
    let heads = width / head_width;
    let parts = qkv
        .chunks(ROWS_PER_TASK * tokens * 3 * width)
        .zip(weights.chunks(ROWS_PER_TASK * tokens * tokens * heads))
        .zip(dout.chunks(ROWS_PER_TASK * tokens * width))
        .zip(dqkv.chunks_mut(ROWS_PER_TASK * tokens * 3 * width));
    in_parallel(parts, |(((qkv, weights), dout), dqkv)| {
        let mut scratch = vec![0.0; heads + tokens * heads];
        for (((x, p), d_o), dx) in qkv
            .chunks_exact(tokens * 3 * width)
            .zip(weights.chunks_exact(tokens * tokens * heads))
            .zip(dout.chunks_exact(tokens * width))
            .zip(dqkv.chunks_exact_mut(tokens * 3 * width))
        {
            attention_row_backward(width, head_width, tokens, x, p, d_o, dx, &mut scratch);
        }
    });
}

impl CustomOp1 for AttentionOp {
    fn name(&self) -> &'static str {
        "multi-head-attention"
    }

    fn cpu_fwd(
        &self,
        storage: &CpuStorage,
        layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let qkv = values(storage, layout, self.name())?;
        let AttentionDims {
            batch,
            tokens,
            width,
            head_width,
        } = self.dims(layout.shape())?;
        let mut out = vec![0.0; batch * tokens * width];
        let mut weights = vec![0.0; batch * tokens * tokens * self.heads];
        specialised!(
            attention_forward,
            width,
            head_width,
            (tokens, qkv, &mut weights, &mut out)
        );
        save(&self.weights, std::sync::Arc::new(weights));
        Ok((CpuStorage::F64(out), Shape::from((batch, tokens, width))))
    }

    fn bwd(
        &self,
        arg: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<Option<Tensor>> {
        let weights = saved(&self.weights, self.name())?;
        let AttentionDims {
            tokens,
            width,
            head_width,
            ..
        } = self.dims(arg.shape())?;
        let dqkv = with_values(&[arg, grad], self.name(), |v| {
            let mut dqkv = vec![0.0; v[0].len()];
            specialised!(
                attention_backward,
                width,
                head_width,
                (tokens, v[0], &weights, v[1], &mut dqkv)
            );
            Ok(dqkv)
        })?;
        Ok(Some(tensor(dqkv, arg.shape())?))
    }
}

/// Multi-head attention over the tokens of each row: `qkv` `(batch, tokens, 3d)` holds the
/// query, key and value projections side by side; returns `(batch, tokens, d)`.
pub(crate) fn attention(qkv: &Tensor, heads: usize) -> candle_core::Result<Tensor> {
    qkv.contiguous()?.apply_op1(AttentionOp {
        heads,
        weights: Mutex::new(None),
    })
}

/// `eˣ` to within two units in the last place, in a form the compiler can vectorise: `x = n ln 2 + r`
/// with `|r| ≤ ln 2 / 2` (Cody–Waite, `ln 2` in two parts), `eʳ` by its Taylor polynomial of
/// degree 13 (truncation below 10⁻¹⁷), and `2ⁿ` written into the exponent bits. Arguments below
/// −708 give 0 and above 709 give ∞, as `f64::exp` does up to the subnormal range.
#[inline]
pub(crate) fn exp(x: f64) -> f64 {
    const LOG2_E: f64 = std::f64::consts::LOG2_E;
    const LN2_HI: f64 = 6.931_471_803_691_238e-1;
    const LN2_LO: f64 = 1.908_214_929_270_587_7e-10;
    // 1.5 · 2⁵²: adding it rounds to an integer held in the low mantissa bits.
    const ROUND: f64 = 6_755_399_441_055_744.0;
    let clamped = x.clamp(-708.0, 709.0);
    let shifted = clamped * LOG2_E + ROUND;
    let n = shifted - ROUND;
    let r = (clamped - n * LN2_HI) - n * LN2_LO;
    // Horner form of Σ_{k ≤ 13} r^k / k!.
    let mut p = 1.0 / 6_227_020_800.0;
    for k in (1..=12).rev() {
        p = p * r + INVERSE_FACTORIALS[k];
    }
    let p = p * r + 1.0;
    let two_n = f64::from_bits(
        (shifted
            .to_bits()
            .wrapping_sub(ROUND.to_bits())
            .wrapping_add(1023))
            << 52,
    );
    let value = p * two_n;
    // Selections rather than branches, so that loops over slices vectorise.
    let value = if x < -708.0 { 0.0 } else { value };
    let value = if x > 709.0 { f64::INFINITY } else { value };
    if x.is_nan() { x } else { value }
}

/// `1/k!` for `k = 0..=12`.
const INVERSE_FACTORIALS: [f64; 13] = [
    1.0,
    1.0,
    1.0 / 2.0,
    1.0 / 6.0,
    1.0 / 24.0,
    1.0 / 120.0,
    1.0 / 720.0,
    1.0 / 5_040.0,
    1.0 / 40_320.0,
    1.0 / 362_880.0,
    1.0 / 3_628_800.0,
    1.0 / 39_916_800.0,
    1.0 / 479_001_600.0,
];

/// `√(2/π)`, the GELU's inner scale.
const GELU_SCALE: f64 = 0.797_884_560_802_865_4;
/// The cubic coefficient of the GELU's tanh form.
const GELU_CUBIC: f64 = 0.044715;

/// `GELU(x + bias)` in the tanh form `u/2 · (1 + tanh(√(2/π)(u + 0.044715 u³)))`, computed as
/// `u · σ(2√(2/π)(u + 0.044715 u³))` (the same function: `1 + tanh z = 2σ(2z)`, without the
/// cancellation of `1 + tanh z` for negative `z`).
struct BiasGeluOp {
    /// The gate `σ(…)` of every entry, from the forward pass.
    gates: Mutex<Option<std::sync::Arc<Vec<f64>>>>,
}

impl CustomOp2 for BiasGeluOp {
    fn name(&self) -> &'static str {
        "bias-gelu"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let x = values(s1, l1, self.name())?;
        let bias = values(s2, l2, self.name())?;
        let width = bias.len();
        if width == 0 || x.len() % width != 0 {
            bail!("bias-gelu: the bias must match the last dimension")
        }
        // u = x + b, then the exponent −z(u), then the gate σ(z) = 1/(1 + e^{−z}) and u σ, each
        // a pass of its own over a block of rows (so that the exponential vectorises).
        let mut gates = vec![0.0; x.len()];
        let mut out = vec![0.0; x.len()];
        let block = ROWS_PER_TASK * width;
        let parts = x
            .chunks(block)
            .zip(gates.chunks_mut(block))
            .zip(out.chunks_mut(block));
        in_parallel(parts, |((x, gates), out)| {
            for (row, gates) in x.chunks_exact(width).zip(gates.chunks_exact_mut(width)) {
                for ((g, x), b) in gates.iter_mut().zip(row).zip(bias) {
                    let u = x + b;
                    *g = -2.0 * GELU_SCALE * (u + GELU_CUBIC * u * u * u);
                }
            }
            for g in gates.iter_mut() {
                *g = 1.0 / (1.0 + exp(*g));
            }
            for ((row, gates), out) in x
                .chunks_exact(width)
                .zip(gates.chunks_exact(width))
                .zip(out.chunks_exact_mut(width))
            {
                for (((o, x), b), g) in out.iter_mut().zip(row).zip(bias).zip(gates) {
                    *o = (x + b) * g;
                }
            }
        });
        save(&self.gates, std::sync::Arc::new(gates));
        Ok((CpuStorage::F64(out), l1.shape().clone()))
    }

    fn bwd(
        &self,
        x: &Tensor,
        bias: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
        let gates = saved(&self.gates, self.name())?;
        let (dx, dbias) = with_values(&[x, bias, grad], self.name(), |v| {
            let (x, bias, dy) = (v[0], v[1], v[2]);
            let width = bias.len();
            let mut dx = vec![0.0; x.len()];
            let block = ROWS_PER_TASK * width;
            let parts = x
                .chunks(block)
                .zip(dy.chunks(block))
                .zip(gates.chunks(block))
                .zip(dx.chunks_mut(block));
            in_parallel(parts, |(((x, dy), gates), dx)| {
                for (((x, dy), s), dx) in x
                    .chunks_exact(width)
                    .zip(dy.chunks_exact(width))
                    .zip(gates.chunks_exact(width))
                    .zip(dx.chunks_exact_mut(width))
                {
                    // d/du u σ(z(u)) = σ + u σ(1 − σ) z'(u).
                    for ((((d, x), b), dy), s) in dx.iter_mut().zip(x).zip(bias).zip(dy).zip(s) {
                        let u = x + b;
                        let dz = 2.0 * GELU_SCALE * (1.0 + 3.0 * GELU_CUBIC * u * u);
                        *d = dy * (s + u * s * (1.0 - s) * dz);
                    }
                }
            });
            // The sum over rows, in row order.
            let mut dbias = vec![0.0; width];
            for row in dx.chunks_exact(width) {
                for (d, g) in dbias.iter_mut().zip(row) {
                    *d += g;
                }
            }
            Ok((dx, dbias))
        })?;
        Ok((
            Some(tensor(dx, x.shape())?),
            Some(tensor(dbias, bias.shape())?),
        ))
    }
}

/// `GELU(x + bias)` (tanh form), `bias` a vector of the last dimension of `x`.
pub(crate) fn bias_gelu(x: &Tensor, bias: &Tensor) -> candle_core::Result<Tensor> {
    x.contiguous()?.apply_op2(
        bias,
        BiasGeluOp {
            gates: Mutex::new(None),
        },
    )
}

/// `x + y + bias`, `bias` a vector of the last dimension (a residual connection after a layer
/// with a bias).
struct ResidualBiasOp;

impl CustomOp3 for ResidualBiasOp {
    fn name(&self) -> &'static str {
        "residual-bias"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let x = values(s1, l1, self.name())?;
        let y = values(s2, l2, self.name())?;
        let bias = values(s3, l3, self.name())?;
        let width = bias.len();
        if width == 0 || x.len() != y.len() || x.len() % width != 0 || l1.shape() != l2.shape() {
            bail!("residual-bias: x and y must have one shape, the bias its last dimension")
        }
        let mut out = vec![0.0; x.len()];
        let block = ROWS_PER_TASK * width;
        let parts = x
            .chunks(block)
            .zip(y.chunks(block))
            .zip(out.chunks_mut(block));
        in_parallel(parts, |((x, y), out)| {
            for ((x, y), out) in x
                .chunks_exact(width)
                .zip(y.chunks_exact(width))
                .zip(out.chunks_exact_mut(width))
            {
                for (((o, x), y), b) in out.iter_mut().zip(x).zip(y).zip(bias) {
                    *o = x + y + b;
                }
            }
        });
        Ok((CpuStorage::F64(out), l1.shape().clone()))
    }

    fn bwd(
        &self,
        _x: &Tensor,
        _y: &Tensor,
        bias: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let width = bias.elem_count();
        let dbias = with_values(&[grad], self.name(), |v| {
            let mut dbias = vec![0.0; width];
            for row in v[0].chunks_exact(width) {
                for (d, g) in dbias.iter_mut().zip(row) {
                    *d += g;
                }
            }
            Ok(dbias)
        })?;
        Ok((
            Some(grad.clone()),
            Some(grad.clone()),
            Some(tensor(dbias, bias.shape())?),
        ))
    }
}

/// `x + y + bias` with `bias` a vector of the last dimension.
pub(crate) fn residual_bias(x: &Tensor, y: &Tensor, bias: &Tensor) -> candle_core::Result<Tensor> {
    x.contiguous()?
        .apply_op3(&y.contiguous()?, bias, ResidualBiasOp)
}

#[cfg(test)]
mod tests {
    use candle_core::{D, Var};
    use rand::SeedableRng;

    use super::*;
    use crate::learn::normal;

    fn random(shape: &[usize], seed: u64) -> Var {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let values = normal(&mut rng, shape.iter().product(), 1.0);
        Var::from_tensor(&Tensor::from_vec(values, shape, &DEVICE).unwrap()).unwrap()
    }

    fn flat(t: &Tensor) -> Vec<f64> {
        t.flatten_all().unwrap().to_vec1().unwrap()
    }

    /// The largest difference relative to the largest entry of `b`.
    fn relative(a: &Tensor, b: &Tensor) -> f64 {
        let (a, b) = (flat(a), flat(b));
        assert_eq!(a.len(), b.len());
        let scale = b.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        a.iter()
            .zip(&b)
            .fold(0.0f64, |m, (x, y)| m.max((x - y).abs()))
            / scale
    }

    /// The fused value and gradients (of `Σ w ⊙ f(args)` for fixed random `w`) against those of
    /// the composite of candle primitives.
    fn agree(
        args: &[&Var],
        fused: impl Fn(&[&Tensor]) -> candle_core::Result<Tensor>,
        composite: impl Fn(&[&Tensor]) -> candle_core::Result<Tensor>,
    ) {
        let tensors: Vec<&Tensor> = args.iter().map(|v| v.as_tensor()).collect();
        let (a, b) = (fused(&tensors).unwrap(), composite(&tensors).unwrap());
        assert!(relative(&a, &b) < 1e-14, "values: {}", relative(&a, &b));
        let w = random(a.dims(), 99);
        let ga = (a * w.as_tensor())
            .unwrap()
            .sum_all()
            .unwrap()
            .backward()
            .unwrap();
        let gb = (b * w.as_tensor())
            .unwrap()
            .sum_all()
            .unwrap()
            .backward()
            .unwrap();
        for (i, t) in tensors.iter().enumerate() {
            let (x, y) = (ga.get(t).unwrap(), gb.get(t).unwrap());
            assert!(relative(x, y) < 1e-13, "gradient {i}: {}", relative(x, y));
        }
    }

    #[test]
    fn exp_is_within_two_units_in_the_last_place() {
        let mut worst = 0.0f64;
        for i in 0..=200_000 {
            let x = -708.0 + 1417.0 * f64::from(i) / 200_000.0;
            let (a, b) = (exp(x), x.exp());
            worst = worst.max(((a - b) / b).abs());
        }
        for x in [0.0, 1e-300, -1e-17, 0.5 * std::f64::consts::LN_2, 1.0, -1.0] {
            worst = worst.max(((exp(x) - x.exp()) / x.exp()).abs());
        }
        assert!(worst <= 2.0 * f64::EPSILON, "{worst:e}");
        assert_eq!(exp(-1000.0), 0.0);
        assert_eq!(exp(1000.0), f64::INFINITY);
        assert!(exp(f64::NAN).is_nan());
    }

    #[test]
    fn layer_norm_is_the_composite() {
        let (x, gain, bias) = (random(&[7, 3, 8], 1), random(&[8], 2), random(&[8], 3));
        agree(
            &[&x, &gain, &bias],
            |t| layer_norm(t[0], t[1], t[2], 1e-5),
            |t| {
                let centred = t[0].broadcast_sub(&t[0].mean_keepdim(D::Minus1)?)?;
                let variance = centred.sqr()?.mean_keepdim(D::Minus1)?;
                centred
                    .broadcast_div(&(variance + 1e-5)?.sqrt()?)?
                    .broadcast_mul(t[1])?
                    .broadcast_add(t[2])
            },
        );
    }

    #[test]
    fn attention_is_the_composite_for_every_head_count() {
        for (width, heads) in [(16, 1), (16, 2), (16, 8), (8, 4), (6, 3)] {
            let qkv = random(&[5, 4, 3 * width], width as u64 + heads as u64);
            agree(
                &[&qkv],
                |t| attention(t[0], heads),
                |t| {
                    let (batch, tokens, _) = t[0].dims3()?;
                    let split = |i: usize| {
                        t[0].narrow(2, i * width, width)?
                            .reshape((batch, tokens, heads, width / heads))?
                            .transpose(1, 2)?
                            .contiguous()
                    };
                    let (q, k, v) = (split(0)?, split(1)?, split(2)?);
                    let scores =
                        (q.matmul(&k.t()?.contiguous()?)? / ((width / heads) as f64).sqrt())?;
                    candle_nn::ops::softmax(&scores, D::Minus1)?
                        .matmul(&v)?
                        .transpose(1, 2)?
                        .reshape((batch, tokens, width))
                },
            );
        }
    }

    #[test]
    fn bias_gelu_is_the_tanh_form() {
        let (x, bias) = (random(&[6, 5, 12], 4), random(&[12], 5));
        let x = Var::from_tensor(&(x.as_tensor() * 3.0).unwrap()).unwrap();
        agree(
            &[&x, &bias],
            |t| bias_gelu(t[0], t[1]),
            |t| {
                let u = t[0].broadcast_add(t[1])?;
                let inner = ((&u + (u.sqr()? * &u)? * GELU_CUBIC)? * GELU_SCALE)?;
                (&u * 0.5)? * (inner.tanh()? + 1.0)?
            },
        );
    }

    fn bits(t: &Tensor) -> Vec<u64> {
        flat(t).iter().map(|v| v.to_bits()).collect()
    }

    /// `f` on a batch against `f` on each row of the batch alone, bit for bit: the outputs and
    /// the gradients of `Σ w ⊙ f(args)` (fixed random `w`) of the `batched` arguments row by
    /// row, and the gradients of the others (parameters every row shares) as the sum of the
    /// rows' gradients in row order from 0.
    fn rows_alone(
        args: &[&Var],
        batched: &[bool],
        f: impl Fn(&[&Tensor]) -> candle_core::Result<Tensor>,
    ) {
        let tensors: Vec<&Tensor> = args.iter().map(|v| v.as_tensor()).collect();
        let out = f(&tensors).unwrap();
        let w = random(out.dims(), 99);
        let grads = (&out * w.as_tensor())
            .unwrap()
            .sum_all()
            .unwrap()
            .backward()
            .unwrap();
        let grad =
            |g: &candle_core::backprop::GradStore, v: &Var| g.get(v.as_tensor()).unwrap().clone();
        let mut sums: Vec<Vec<f64>> = args.iter().map(|a| vec![0.0; a.elem_count()]).collect();
        for r in 0..out.dim(0).unwrap() {
            let alone: Vec<Var> = args
                .iter()
                .zip(batched)
                .map(|(a, &b)| {
                    let t = if b {
                        a.as_tensor().narrow(0, r, 1).unwrap()
                    } else {
                        a.as_tensor().copy().unwrap()
                    };
                    Var::from_tensor(&t).unwrap()
                })
                .collect();
            let tensors: Vec<&Tensor> = alone.iter().map(|v| v.as_tensor()).collect();
            let row = f(&tensors).unwrap();
            assert_eq!(bits(&row), bits(&out.narrow(0, r, 1).unwrap()), "row {r}");
            let row_grads = (&row * w.as_tensor().narrow(0, r, 1).unwrap())
                .unwrap()
                .sum_all()
                .unwrap()
                .backward()
                .unwrap();
            for (k, (v, &b)) in alone.iter().zip(batched).enumerate() {
                let g = grad(&row_grads, v);
                if b {
                    let whole = grad(&grads, args[k]).narrow(0, r, 1).unwrap();
                    assert_eq!(bits(&g), bits(&whole), "argument {k}, row {r}");
                } else {
                    for (s, g) in sums[k].iter_mut().zip(flat(&g)) {
                        *s += g;
                    }
                }
            }
        }
        for (k, &b) in batched.iter().enumerate() {
            if !b {
                let whole: Vec<u64> = flat(&grad(&grads, args[k]))
                    .iter()
                    .map(|v| v.to_bits())
                    .collect();
                let summed: Vec<u64> = sums[k].iter().map(|v| v.to_bits()).collect();
                assert_eq!(summed, whole, "argument {k}: the sum over rows");
            }
        }
    }

    #[test]
    fn every_kernel_computes_each_row_alone_and_sums_over_rows_in_row_order() {
        // 77 rows: parts of 32, 32 and 13 (one token per row, so that the sums over the kernel's
        // rows are the sums over the batch's rows).
        let (x, y) = (random(&[77, 1, 8], 11), random(&[77, 1, 8], 12));
        let (gain, bias) = (random(&[8], 13), random(&[8], 14));
        rows_alone(&[&x, &gain, &bias], &[true, false, false], |t| {
            layer_norm(t[0], t[1], t[2], 1e-5)
        });
        rows_alone(&[&x, &bias], &[true, false], |t| bias_gelu(t[0], t[1]));
        rows_alone(&[&x, &y, &bias], &[true, true, false], |t| {
            residual_bias(t[0], t[1], t[2])
        });
        let qkv = random(&[77, 3, 48], 15);
        rows_alone(&[&qkv], &[true], |t| attention(t[0], 2));
    }

    #[test]
    fn residual_bias_adds() {
        let (x, y, bias) = (
            random(&[4, 3, 5], 6),
            random(&[4, 3, 5], 7),
            random(&[5], 8),
        );
        agree(
            &[&x, &y, &bias],
            |t| residual_bias(t[0], t[1], t[2]),
            |t| (t[0] + t[1])?.broadcast_add(t[2]),
        );
    }
}
