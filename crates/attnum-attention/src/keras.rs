//! Keras layers as the seed conversation's code calls them, each with the semantics of the Keras
//! source it cites, where the order of the arguments decides the output:
//!
//! * `layers.Attention(use_scale=True)` called on a list `[query, value, key]`, [`Attention`]
//!   (`keras/src/layers/attention/attention.py`, `call`: `q = inputs[0]; v = inputs[1];
//!   k = inputs[2]`, the value standing in for the key when the key is omitted): dot-product
//!   scores `scale · q · kᵢ`, softmax over the keys, output `Σᵢ softmax(·)ᵢ vᵢ`; the scale is
//!   created as 1 (the examples never train it); no mask, no dropout.
//! * `layers.MultiHeadAttention(num_heads=H, key_dim=1)` called as `(query, value, key)`,
//!   [`MultiHeadAttention`] (`keras/src/layers/attention/multi_head_attention.py`,
//!   `call(query, value, key=None, …)`): query, key and value projected per head by the einsum
//!   kernels `(1, H, 1)` with biases, scores `⟨q, k⟩/√key_dim` (= `q·k` for `key_dim = 1`),
//!   softmax over the keys, the heads summed through the output kernel `(H, 1, 1)` plus its bias.
//!   Its initial weights are [`MultiHeadWeights::glorot_uniform`], Keras' default initialiser
//!   with the fans Keras computes for the einsum kernels.
//! * `layers.LayerNormalization()`, [`layer_norm`]
//!   (`keras/src/layers/normalization/layer_normalization.py`): over the last axis, `ε = 1e-3`,
//!   with its initial `γ = 1` and `β = 0` (the examples never train them).
//! * `optimizers.Adam`, [`Adam`] (`keras/src/optimizers/adam.py`), which places ε differently
//!   from candle's `AdamW`.
//!
//! Inputs have one feature and there is one query, as in the examples; the layers have
//! plain-`f64` twins ([`attention`], [`MultiHeadWeights::call`], [`layer_norm_f64`]) for the
//! many untrained forward passes of the `seed_examples` experiment, tested to agree with the
//! candle forward. Both attention layers, holding a query and keys of their own, are
//! [`AttentionMethod`]s whose samples are the values (the examples train the positions they
//! pass as values). Not here: masks, dropout in training, several queries, wider features.

use candle_core::{D, Tensor, Var};
use rand::RngExt;
use rand_chacha::ChaCha8Rng;

use crate::{AttentionError, AttentionMethod, Result, parameter, vector};

/// `layers.LayerNormalization`'s default ε.
pub const LAYER_NORM_EPSILON: f64 = 1e-3;

/// `layers.Attention` on one query with features of width 1, in plain `f64`:
/// `Σᵢ softmax(scale · query · key)ᵢ valueᵢ`.
pub fn attention(query: f64, value: &[f64], key: &[f64], scale: f64) -> f64 {
    let scores: Vec<f64> = key.iter().map(|k| scale * query * k).collect();
    let max = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let weights: Vec<f64> = scores.iter().map(|s| (s - max).exp()).collect();
    let total: f64 = weights.iter().sum();
    weights.iter().zip(value).map(|(w, v)| w / total * v).sum()
}

/// Stack the outputs of `output` for each row of `values` `(batch, n)` into `(batch,)`.
fn by_row(
    values: &Tensor,
    output: impl Fn(&Tensor) -> candle_core::Result<Tensor>,
) -> candle_core::Result<Tensor> {
    let rows = (0..values.dim(0)?)
        .map(|r| output(&values.get(r)?))
        .collect::<candle_core::Result<Vec<_>>>()?;
    Tensor::stack(&rows, 0)
}

/// `layers.Attention(use_scale=True)` with a trainable query and fixed keys: the samples are the
/// values.
#[derive(Debug, Clone)]
pub struct Attention {
    query: Var,
    key: Tensor,
    scale: f64,
}

impl Attention {
    /// The layer with scale `scale`, answering `query` over `key`.
    ///
    /// # Errors
    /// [`AttentionError::Invalid`] without keys, or a tensor error.
    pub fn new(query: f64, key: &[f64], scale: f64) -> Result<Self> {
        if key.is_empty() {
            return Err(AttentionError::Invalid("attention needs keys".into()));
        }
        Ok(Self {
            query: parameter(&[query])?,
            key: vector(key)?,
            scale,
        })
    }

    /// The query `(1,)`.
    pub fn query(&self) -> &Var {
        &self.query
    }

    /// The call `attention([query, value, key])` on a query `(1,)` and values and keys `(n,)`:
    /// a scalar.
    ///
    /// # Errors
    /// A tensor error (shapes that do not match).
    pub fn call(
        &self,
        query: &Tensor,
        value: &Tensor,
        key: &Tensor,
    ) -> candle_core::Result<Tensor> {
        let scores = (key.broadcast_mul(query)? * self.scale)?;
        let p = candle_nn::ops::softmax(&scores.unsqueeze(0)?, D::Minus1)?.squeeze(0)?;
        (p * value)?.sum_all()
    }

    /// The output for the values `(n,)`, with the layer's own query and keys: a scalar.
    ///
    /// # Errors
    /// A tensor error (values of another length than the keys).
    pub fn output(&self, value: &Tensor) -> candle_core::Result<Tensor> {
        self.call(self.query.as_tensor(), value, &self.key)
    }
}

impl AttentionMethod for Attention {
    fn inputs(&self) -> usize {
        self.key.dims1().unwrap_or(0)
    }

    fn forward(&self, values: &Tensor) -> candle_core::Result<Tensor> {
        by_row(values, |row| self.output(row))
    }

    fn is_linear_in_values(&self) -> bool {
        true
    }

    fn parameters(&self) -> Vec<(String, &Var)> {
        vec![("query".into(), &self.query)]
    }
}

/// Keras' `glorot_uniform` draws for a kernel with the given fans: `count` numbers uniform in
/// `±√(6 / (fan_in + fan_out))`, in order from `rng`.
pub fn glorot_uniform(
    rng: &mut ChaCha8Rng,
    fan_in: usize,
    fan_out: usize,
    count: usize,
) -> Vec<f64> {
    let limit = (6.0 / (fan_in + fan_out) as f64).sqrt();
    (0..count)
        .map(|_| limit * (2.0 * rng.random::<f64>() - 1.0))
        .collect()
}

/// The weights of a `MultiHeadAttention(num_heads=H, key_dim=1)` on inputs of one feature, in
/// plain `f64`: a kernel and a bias per head for each projection, and the output projection.
#[derive(Debug, Clone, PartialEq)]
pub struct MultiHeadWeights {
    /// Query, key and value projections: kernel and bias per head.
    pub projections: [(Vec<f64>, Vec<f64>); 3],
    /// Output projection: kernel per head, and bias.
    pub output: (Vec<f64>, f64),
}

impl MultiHeadWeights {
    /// Keras' initial weights for `heads` heads: `glorot_uniform` kernels drawn in order query,
    /// key, value, output — with the fans Keras computes for the einsum kernels, `(1, H, 1)`: fan
    /// in H, fan out 1, and `(H, 1, 1)`: H and H — and zero biases.
    pub fn glorot_uniform(heads: usize, rng: &mut ChaCha8Rng) -> Self {
        let mut projection = || (glorot_uniform(rng, heads, 1, heads), vec![0.0; heads]);
        let projections = [projection(), projection(), projection()];
        let output = (glorot_uniform(rng, heads, heads, heads), 0.0);
        Self {
            projections,
            output,
        }
    }

    /// The number of heads.
    pub fn heads(&self) -> usize {
        self.output.0.len()
    }

    /// The call `(query, value, key)` in plain `f64`: every head is a dot-product attention on
    /// projected inputs (scale `1/√key_dim` = 1), summed through the output projection.
    pub fn call(&self, query: f64, value: &[f64], key: &[f64]) -> f64 {
        let [(wq, bq), (wk, bk), (wv, bv)] = &self.projections;
        let mut out = self.output.1;
        for h in 0..self.heads() {
            let key_h: Vec<f64> = key.iter().map(|x| wk[h] * x + bk[h]).collect();
            let value_h: Vec<f64> = value.iter().map(|x| wv[h] * x + bv[h]).collect();
            out += self.output.0[h] * attention(wq[h] * query + bq[h], &value_h, &key_h, 1.0);
        }
        out
    }
}

/// `layers.MultiHeadAttention(num_heads=H, key_dim=1)` on inputs of one feature, with a trainable
/// query and fixed keys: the samples are the values.
#[derive(Debug, Clone)]
pub struct MultiHeadAttention {
    query: Var,
    key: Tensor,
    /// Query, key and value projections: `(H,)` kernels and biases each.
    projections: [(Var, Var); 3],
    /// Output projection `(H,)` and bias `(1,)`.
    output: (Var, Var),
}

impl MultiHeadAttention {
    /// The layer with `weights`, answering `query` over `key`.
    ///
    /// # Errors
    /// [`AttentionError::Invalid`] without keys or heads, or with kernels and biases of
    /// different numbers of heads; a tensor error.
    pub fn new(query: f64, key: &[f64], weights: &MultiHeadWeights) -> Result<Self> {
        let heads = weights.heads();
        let consistent = weights
            .projections
            .iter()
            .all(|(w, b)| w.len() == heads && b.len() == heads);
        if key.is_empty() || heads == 0 || !consistent {
            return Err(AttentionError::Invalid(format!(
                "multi-head attention needs keys and kernels and biases of {heads} heads each"
            )));
        }
        let projection = |(w, b): &(Vec<f64>, Vec<f64>)| -> Result<(Var, Var)> {
            Ok((parameter(w)?, parameter(b)?))
        };
        let [pq, pk, pv] = &weights.projections;
        Ok(Self {
            query: parameter(&[query])?,
            key: vector(key)?,
            projections: [projection(pq)?, projection(pk)?, projection(pv)?],
            output: (
                parameter(&weights.output.0)?,
                parameter(&[weights.output.1])?,
            ),
        })
    }

    /// The query `(1,)`.
    pub fn query(&self) -> &Var {
        &self.query
    }

    /// The layer's weights, kernel then bias for the query, key, value and output projections.
    pub fn weights(&self) -> Vec<&Var> {
        self.projections
            .iter()
            .chain([&self.output])
            .flat_map(|(w, b)| [w, b])
            .collect()
    }

    /// The call `(query, value, key)` on a query `(1,)` and values and keys `(n,)`: a scalar.
    ///
    /// # Errors
    /// A tensor error (shapes that do not match).
    pub fn call(
        &self,
        query: &Tensor,
        value: &Tensor,
        key: &Tensor,
    ) -> candle_core::Result<Tensor> {
        let project = |x: &Tensor, (w, b): &(Var, Var)| {
            // (n, 1) × (1, H) + (H,) → (n, H)
            x.unsqueeze(1)?
                .matmul(&w.as_tensor().unsqueeze(0)?)?
                .broadcast_add(b.as_tensor())
        };
        let [pq, pk, pv] = &self.projections;
        let heads = self.output.0.as_tensor().dim(0)?;
        let query = project(query, pq)?; // (1, H); key_dim = 1, so the scale 1/√1 is 1
        let key = project(key, pk)?; // (n, H)
        let value = project(value, pv)?; // (n, H)
        let n = key.dim(0)?;
        let scores = (key.t()?.contiguous()? * query.t()?.broadcast_as((heads, n))?)?; // (H, n)
        let p = candle_nn::ops::softmax(&scores, D::Minus1)?;
        let heads = (p * value.t()?)?.sum(1)?; // (H,)
        (heads * self.output.0.as_tensor())?
            .sum_all()?
            .broadcast_add(self.output.1.as_tensor())?
            .sum_all()
    }

    /// The output for the values `(n,)`, with the layer's own query and keys: a scalar.
    ///
    /// # Errors
    /// A tensor error (values of another length than the keys).
    pub fn output(&self, value: &Tensor) -> candle_core::Result<Tensor> {
        self.call(self.query.as_tensor(), value, &self.key)
    }
}

impl AttentionMethod for MultiHeadAttention {
    fn inputs(&self) -> usize {
        self.key.dims1().unwrap_or(0)
    }

    fn forward(&self, values: &Tensor) -> candle_core::Result<Tensor> {
        by_row(values, |row| self.output(row))
    }

    /// The attention weights do not depend on the values, but the value and output biases make
    /// the output affine in them, not linear: its weights are the Jacobian.
    fn is_linear_in_values(&self) -> bool {
        false
    }

    fn parameters(&self) -> Vec<(String, &Var)> {
        let mut named = vec![("query".to_owned(), &self.query)];
        for (projection, (w, b)) in ["query", "key", "value", "output"]
            .into_iter()
            .zip(self.projections.iter().chain([&self.output]))
        {
            named.push((format!("{projection}_kernel"), w));
            named.push((format!("{projection}_bias"), b));
        }
        named
    }
}

/// `layers.LayerNormalization()` over the last axis with its initial `γ = 1` and `β = 0`:
/// `(x − mean) / √(variance + ε)`.
///
/// # Errors
/// A tensor error.
pub fn layer_norm(x: &Tensor) -> candle_core::Result<Tensor> {
    let mean = x.mean_keepdim(D::Minus1)?;
    let centred = x.broadcast_sub(&mean)?;
    let variance = centred.sqr()?.mean_keepdim(D::Minus1)?;
    centred.broadcast_div(&(variance + LAYER_NORM_EPSILON)?.sqrt()?)
}

/// [`layer_norm`] of one vector in plain `f64` (over a single feature it is 0: the offset β).
pub fn layer_norm_f64(x: &[f64]) -> Vec<f64> {
    let n = x.len() as f64;
    let mean = x.iter().sum::<f64>() / n;
    let variance = x.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
    x.iter()
        .map(|v| (v - mean) / (variance + LAYER_NORM_EPSILON).sqrt())
        .collect()
}

/// `keras.optimizers.Adam(learning_rate=0.01)`, as `keras/src/optimizers/adam.py` (Keras 3) and
/// Keras 2 both write it: `m += (g − m)(1 − β₁)`, `v += (g² − v)(1 − β₂)`,
/// `θ −= α m / (√v + ε)` with `α = lr √(1 − β₂ᵗ) / (1 − β₁ᵗ)`, β = (0.9, 0.999), ε = 1e-7.
/// candle's `AdamW` divides by `√v̂ + ε` with `v̂ = v / (1 − β₂ᵗ)`, which is this update with ε
/// multiplied by `1/√(1 − β₂ᵗ)` (31.6 at the first step). A variable without a gradient is left
/// alone, as Keras drops `None` gradients; the step count advances on every call, as Keras'
/// `iterations` does.
#[derive(Debug)]
pub struct Adam {
    slots: Vec<(Var, Tensor, Tensor)>,
    step: u32,
}

impl Adam {
    const LR: f64 = 0.01;
    const BETA1: f64 = 0.9;
    const BETA2: f64 = 0.999;
    const EPSILON: f64 = 1e-7;

    /// The optimiser over `vars`, its moments zero.
    ///
    /// # Errors
    /// A tensor error.
    pub fn new(vars: Vec<Var>) -> candle_core::Result<Self> {
        let slots = vars
            .into_iter()
            .map(|var| {
                let zeros = var.as_tensor().zeros_like()?;
                Ok((var, zeros.clone(), zeros))
            })
            .collect::<candle_core::Result<_>>()?;
        Ok(Self { slots, step: 0 })
    }

    /// Back-propagate `loss` and take one step.
    ///
    /// # Errors
    /// A tensor error.
    pub fn backward_step(&mut self, loss: &Tensor) -> candle_core::Result<()> {
        let grads = loss.backward()?;
        self.step += 1;
        let t = f64::from(self.step);
        let alpha = Self::LR * (1.0 - Self::BETA2.powf(t)).sqrt() / (1.0 - Self::BETA1.powf(t));
        for (var, m, v) in &mut self.slots {
            let Some(g) = grads.get(var.as_tensor()) else {
                continue;
            };
            *m = (&*m + ((g - &*m)? * (1.0 - Self::BETA1))?)?;
            *v = (&*v + ((g.sqr()? - &*v)? * (1.0 - Self::BETA2))?)?;
            let update = ((&*m * alpha)? / (v.sqrt()? + Self::EPSILON)?)?;
            var.set(&(var.as_tensor() - update)?)?;
        }
        Ok(())
    }
}
