//! Multi-head hard attention: one sharp softmax head per stencil node, the stencil's weights in
//! the output projection.
//!
//! The samples sit at key positions `x_i = κ_i h` around `x₀` (the key offsets `κ_i` include the
//! stencil's nodes and possibly more). Head `j` has the query position `y_j = o_j h` of stencil
//! node `j` and scores `−β (x_i − y_j)²`, written as the dot product of the query
//! `β (2 y_j, −1)` with the key `(x_i, x_i²)` (the dropped `−β y_j²` is constant over `i` and
//! cancels in the softmax). As `β → ∞` head `j` returns `f(x₀ + o_j h)`, and the output
//! projection `w_j / h^d` turns the heads into the stencil. At finite `β` head `j` returns
//! `f_j + Σ_{i≠j} p_ji (f_i − f_j)` with `p_ji ≤ exp(−β (x_i − y_j)²)`.

use attnum_classical::fd::Stencil;
use candle_core::{D, Tensor, Var};

use crate::{AttentionError, AttentionMethod, DEVICE, Result, parameter};

/// `s` Gaussian-score softmax heads over `N` keys and a linear output projection.
#[derive(Debug, Clone)]
pub struct HardMultiHeadAttention {
    /// Keys `(x_i, x_i²)`: `(N, 2)`.
    keys: Tensor,
    inputs: usize,
    head_positions: Var,
    log_beta: Var,
    output: Var,
}

impl HardMultiHeadAttention {
    /// Compile `stencil` at step `h` into heads of sharpness `beta` over samples at
    /// `key_offsets` (units of `h`), which must contain every node of the stencil.
    ///
    /// # Errors
    /// [`AttentionError::Invalid`] for a non-positive `h` or `beta`, or a stencil node that is not
    /// among the keys.
    pub fn compile(stencil: &Stencil, key_offsets: &[f64], h: f64, beta: f64) -> Result<Self> {
        if !(h.is_finite() && h > 0.0 && beta.is_finite() && beta > 0.0) {
            return Err(AttentionError::Invalid(format!(
                "the step and the sharpness must be positive, got h = {h}, β = {beta}"
            )));
        }
        if let Some(o) = stencil.offsets().iter().find(|o| !key_offsets.contains(o)) {
            return Err(AttentionError::Invalid(format!(
                "stencil node {o} is not among the key offsets"
            )));
        }
        let keys: Vec<f64> = key_offsets
            .iter()
            .flat_map(|&k| [k * h, (k * h) * (k * h)])
            .collect();
        let positions: Vec<f64> = stencil.offsets().iter().map(|o| o * h).collect();
        let scale = h.powi(-(stencil.deriv() as i32));
        let output: Vec<f64> = stencil.weights().iter().map(|w| w * scale).collect();
        Ok(Self {
            keys: Tensor::from_vec(keys, (key_offsets.len(), 2), &DEVICE)?,
            inputs: key_offsets.len(),
            head_positions: parameter(&positions)?,
            log_beta: parameter(&[beta.ln()])?,
            output: parameter(&output)?,
        })
    }

    /// The attention weights of every head: `(s, N)`.
    pub fn attention(&self) -> candle_core::Result<Tensor> {
        let y = self.head_positions.as_tensor().unsqueeze(1)?;
        let queries = Tensor::cat(&[(&y * 2.0)?, y.ones_like()?.neg()?], 1)?;
        let scores = queries
            .matmul(&self.keys.t()?)?
            .broadcast_mul(&self.log_beta.as_tensor().exp()?)?;
        candle_nn::ops::softmax(&scores, D::Minus1)
    }
}

impl AttentionMethod for HardMultiHeadAttention {
    fn inputs(&self) -> usize {
        self.inputs
    }

    fn forward(&self, values: &Tensor) -> candle_core::Result<Tensor> {
        let heads = values.matmul(&self.attention()?.t()?)?;
        heads
            .matmul(&self.output.as_tensor().unsqueeze(1)?)?
            .squeeze(1)
    }

    fn is_linear_in_values(&self) -> bool {
        true
    }

    fn parameters(&self) -> Vec<(String, &Var)> {
        vec![
            ("head_positions".into(), &self.head_positions),
            ("log_beta".into(), &self.log_beta),
            ("output".into(), &self.output),
        ]
    }
}
