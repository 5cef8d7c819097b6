//! Attention with guaranteed order: a data-adaptive derivative stencil that meets the moment
//! conditions of order `p` exactly, for every parameter value and every input.
//!
//! On `n` distinct offsets `o_i` (units of `h`) let `F_j` be the interpolating (Fornberg) stencil
//! of derivative `j`; its Taylor moments `μ_k(F_j) = Σ_i F_{j,i} o_i^k / k!` are `δ_{jk}` for
//! `k < n`, so every weight vector is `w = Σ_j μ_j(w) F_j`, and the stencils consistent to order
//! `p` for derivative `m` (`μ_k = δ_{km}` for `k < m + p`) are exactly
//!
//! ```text
//! w(θ) = F_m + N θ,   N = [F_{m+p}, …, F_{n−1}],   θ ∈ ℝ^r,  r = n − m − p,
//! ```
//!
//! the base stencil plus a correction in the null space of the moment rows `0 … m+p−1` (the
//! parametrisation of Bar-Sinai et al. 2019), with `θ` the free moments `μ_{m+p} … μ_{n−1}`. The
//! module chooses `θ` per input by one softmax head, as WENO chooses among its candidate
//! stencils: `K` candidate tokens with learned keys `κ_k ∈ ℝ^{n−1}` and values `θ_k ∈ ℝ^r`
//! (each value a consistent candidate stencil `F_m + N θ_k`), and a query read off the samples,
//!
//! ```text
//! d_j = F_j · f  (≈ h^j f^{(j)}(x₀)),   ρ_j = ln(ε + d_j²) − ln(ε + d_m²)  (j = 1 … n−1, j ≠ m),
//! q = (1, ρ),   ω = softmax_k(⟨q, κ_k⟩),   θ(f) = Σ_k ω_k θ_k,   output = w(θ(f)) · f.
//! ```
//!
//! The query holds log-ratios of the scaled differences — a smoothness signature as WENO's
//! indicators are: it is unchanged when a constant is added to the samples and (up to `ε`) when
//! they are multiplied by a constant, and it tells a smooth sample (`ρ_j ≈ 2(j − m) ln h`) from a
//! noisy one. Two facts hold by construction, whatever the parameters and the input:
//!
//! * the applied stencil `w(θ(f))` has the moments `δ_{km}` for `k < m + p` (a convex
//!   combination of consistent stencils is consistent: the conditions are affine);
//! * `θ(f)` lies in the convex hull of the values `θ_k`, so `‖w(θ(f))‖₁` is bounded by a constant
//!   of the parameters alone — the condition under which the error on a smooth `f` is `O(h^p)`
//!   ([`ConsistentAttention::applied_stencils`] returns `w` per input; the paper's proposition
//!   states the bound).
//!
//! The module is nonlinear in the samples, so its Jacobian is not the stencil it applies; the
//! order statement is about the applied stencil. The output is `h^m f^{(m)}(x₀)` in units of the
//! step, like the other learned derivative models, with no output scale: a scale `c ≠ 1` would
//! break the zeroth-order condition `μ_m = 1`.

use attnum_classical::fd::Stencil;
use candle_core::{D, Tensor, Var};

use crate::{AttentionError, AttentionMethod, DEVICE, Result};

/// The sizes of a [`ConsistentAttention`] module.
#[derive(Debug, Clone, PartialEq)]
pub struct ConsistentShape {
    /// Sample offsets in units of `h` (distinct).
    pub offsets: Vec<f64>,
    /// The derivative `m ≥ 1`.
    pub derivative: usize,
    /// The guaranteed order `p ≥ 1`, with `m + p < n` (at least one free moment).
    pub order: usize,
    /// The number of candidate tokens `K ≥ 1` (`K = 1`: a learned fixed consistent stencil).
    pub candidates: usize,
    /// The `ε > 0` inside the logarithms of the query.
    pub epsilon: f64,
}

impl ConsistentShape {
    /// The number of free moments `r = n − m − p`.
    pub fn free_moments(&self) -> usize {
        self.offsets.len() - self.derivative - self.order
    }

    /// The number of query features `n − 1`: a constant and `n − 2` log-ratios.
    pub fn query_width(&self) -> usize {
        self.offsets.len() - 1
    }

    fn check(&self) -> Result<Vec<Stencil>> {
        let n = self.offsets.len();
        if self.derivative == 0 || self.order == 0 || self.derivative + self.order >= n {
            return Err(AttentionError::Invalid(format!(
                "derivative {} to order {} on {n} offsets leaves no free moment (needs m ≥ 1, \
                 p ≥ 1 and m + p < n)",
                self.derivative, self.order
            )));
        }
        if self.candidates == 0 {
            return Err(AttentionError::Invalid("at least one candidate".into()));
        }
        if !(self.epsilon.is_finite() && self.epsilon > 0.0) {
            return Err(AttentionError::Invalid(format!(
                "ε must be positive, got {}",
                self.epsilon
            )));
        }
        Ok((0..n)
            .map(|j| Stencil::on_offsets(j, &self.offsets))
            .collect::<std::result::Result<Vec<_>, _>>()?)
    }
}

/// A stencil of guaranteed order whose free moments are chosen per input by one softmax head
/// over consistent candidate stencils (the module documentation gives the forward pass).
#[derive(Debug, Clone)]
pub struct ConsistentAttention {
    shape: ConsistentShape,
    /// `F_m` as a column `(n, 1)`.
    base: Tensor,
    /// `N = [F_{m+p}, …, F_{n−1}]`: `(n, r)`.
    null: Tensor,
    /// `F_j` for `j = 1 … n−1`, `j ≠ m`: `(n, n − 2)`.
    features: Tensor,
    /// `(K, n − 1)`: candidate `k`'s key `κ_k`, scored against `q = (1, ρ)`.
    keys: Var,
    /// `(K, r)`: candidate `k`'s free moments `θ_k`.
    values: Var,
}

/// The matrix whose columns are the weights of `stencils`.
fn columns(stencils: &[&Stencil]) -> Result<Tensor> {
    let n = stencils.first().map_or(0, |s| s.len());
    let data: Vec<f64> = (0..n)
        .flat_map(|i| stencils.iter().map(move |s| s.weights()[i]))
        .collect();
    Ok(Tensor::from_vec(data, (n, stencils.len()), &DEVICE)?)
}

impl ConsistentAttention {
    /// The module with the given keys `(K, n − 1)` and values `(K, r)`, row-major.
    ///
    /// # Errors
    /// [`AttentionError::Invalid`] for a shape without a free moment, no candidate, `ε ≤ 0` or
    /// a matrix of the wrong size; a stencil error for repeated offsets.
    pub fn new(shape: ConsistentShape, keys: &[f64], values: &[f64]) -> Result<Self> {
        let stencils = shape.check()?;
        let (k, q, r) = (shape.candidates, shape.query_width(), shape.free_moments());
        if keys.len() != k * q || values.len() != k * r {
            return Err(AttentionError::Invalid(format!(
                "{k} candidates need {q} key entries and {r} values each, got {} and {}",
                keys.len(),
                values.len()
            )));
        }
        let m = shape.derivative;
        let base = columns(&[&stencils[m]])?;
        let null = columns(&stencils[m + shape.order..].iter().collect::<Vec<_>>())?;
        let features = columns(
            &stencils
                .iter()
                .enumerate()
                .filter(|&(j, _)| j != 0 && j != m)
                .map(|(_, s)| s)
                .collect::<Vec<_>>(),
        )?;
        Ok(Self {
            base,
            null,
            features,
            keys: Var::from_tensor(&Tensor::from_slice(keys, (k, q), &DEVICE)?)?,
            values: Var::from_tensor(&Tensor::from_slice(values, (k, r), &DEVICE)?)?,
            shape,
        })
    }

    /// A weight setting that applies the stencil `weights` to every input: every candidate's
    /// value is its free moments `μ_{m+p} … μ_{n−1}` and every key is 0. The stencil must be
    /// consistent to order `p` (its moments `k < m + p` within `1e-12` of `δ_{km}`, relative to
    /// `Σ|w_i| max|o_i|^k/k!`), so the classical stencils of order `≥ p` on the offsets lie in the
    /// class.
    ///
    /// # Errors
    /// As [`ConsistentAttention::new`]; [`AttentionError::Invalid`] for a weight vector of the
    /// wrong length or not consistent to order `p`.
    pub fn representing(shape: ConsistentShape, weights: &[f64]) -> Result<Self> {
        let n = shape.offsets.len();
        if weights.len() != n {
            return Err(AttentionError::Invalid(format!(
                "{n} offsets need {n} weights, got {}",
                weights.len()
            )));
        }
        let moments = taylor_moments(&shape.offsets, weights);
        let (m, p) = (shape.derivative, shape.order);
        let reach = shape.offsets.iter().fold(1.0f64, |a, o| a.max(o.abs()));
        let size: f64 = weights.iter().map(|w| w.abs()).sum();
        for (k, mu) in moments.iter().enumerate().take(m + p) {
            let target = if k == m { 1.0 } else { 0.0 };
            let scale = size * reach.powi(k as i32) / factorial(k);
            if (mu - target).abs() > 1e-12 * scale.max(1.0) {
                return Err(AttentionError::Invalid(format!(
                    "the stencil is not consistent to order {p} for derivative {m}: moment {k} is \
                     {mu}, not {target}"
                )));
            }
        }
        let values: Vec<f64> = (0..shape.candidates)
            .flat_map(|_| moments[m + p..].iter().copied())
            .collect();
        let keys = vec![0.0; shape.candidates * shape.query_width()];
        Self::new(shape, &keys, &values)
    }

    /// The module's sizes.
    pub fn shape(&self) -> &ConsistentShape {
        &self.shape
    }

    /// The attention weights `ω` over the candidates for a batch of samples: `(batch, K)`.
    ///
    /// # Errors
    /// A tensor error.
    pub fn attention(&self, values: &Tensor) -> candle_core::Result<Tensor> {
        let eps = self.shape.epsilon;
        let reference = (values.matmul(&self.base)?.sqr()? + eps)?.log()?; // (batch, 1)
        let rho = (values.matmul(&self.features)?.sqr()? + eps)?
            .log()?
            .broadcast_sub(&reference)?; // (batch, n − 2)
        let query = Tensor::cat(&[&reference.ones_like()?, &rho], 1)?; // (batch, n − 1)
        let scores = query.matmul(&self.keys.as_tensor().t()?)?; // (batch, K)
        candle_nn::ops::softmax(&scores, D::Minus1)
    }

    /// The free moments `θ(f)` chosen for a batch of samples: `(batch, r)`.
    ///
    /// # Errors
    /// A tensor error.
    pub fn free_moments(&self, values: &Tensor) -> candle_core::Result<Tensor> {
        self.attention(values)?.matmul(self.values.as_tensor())
    }

    /// The stencil `w(θ(f)) = F_m + N θ(f)` applied to each row of a batch of samples, in units
    /// of `h`: `(batch, n)`, so that the output is `Σ_i w_i f_i` row by row.
    ///
    /// # Errors
    /// A tensor error.
    pub fn applied_stencils(&self, values: &Tensor) -> candle_core::Result<Tensor> {
        let correction = self.free_moments(values)?.matmul(&self.null.t()?)?; // (batch, n)
        correction.broadcast_add(&self.base.t()?)
    }
}

/// `k!` as a float.
fn factorial(k: usize) -> f64 {
    (1..=k).map(|j| j as f64).product()
}

/// The Taylor moments `μ_k = Σ_i w_i o_i^k / k!`, `k = 0 … n−1`.
pub fn taylor_moments(offsets: &[f64], weights: &[f64]) -> Vec<f64> {
    (0..offsets.len())
        .map(|k| {
            offsets
                .iter()
                .zip(weights)
                .map(|(o, w)| w * o.powi(k as i32))
                .sum::<f64>()
                / factorial(k)
        })
        .collect()
}

impl AttentionMethod for ConsistentAttention {
    fn inputs(&self) -> usize {
        self.shape.offsets.len()
    }

    fn forward(&self, values: &Tensor) -> candle_core::Result<Tensor> {
        let theta = self.free_moments(values)?; // (batch, r)
        let correction = (theta * values.matmul(&self.null)?)?.sum(1)?;
        values.matmul(&self.base)?.squeeze(1)? + correction
    }

    fn is_linear_in_values(&self) -> bool {
        // One candidate has weight 1 whatever the samples: a fixed consistent stencil.
        self.shape.candidates == 1
    }

    fn parameters(&self) -> Vec<(String, &Var)> {
        vec![("keys".into(), &self.keys), ("values".into(), &self.values)]
    }
}
