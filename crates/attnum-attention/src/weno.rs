//! WENO5-JS reconstruction as one softmax head over the three candidate stencils.
//!
//! The nonlinear weights `ω_k = α_k / Σ_j α_j`, `α_k = d_k / (ε + β_k)²`, are a softmax:
//! `ω = softmax(s)` with scores `s_k = ln d_k − 2 ln(ε + β_k)`. The module computes them as a
//! transformer would, from the five samples `v_{i−2} … v_{i+2}` of one window:
//!
//! 1. a *bilinear layer*: six linear forms of the window, squared, and mixed by the coefficients
//!    `13/12` and `1/4` into the smoothness indicators `β_k` (a quadratic form per candidate);
//! 2. three *candidate tokens* `z_k = (ln d_k, ln(ε + β_k))` with values `q_k`, the candidates'
//!    linear reconstructions (a value projection of the window);
//! 3. one softmax head whose query `(1, −2)` gives the dot-product scores `⟨(1, −2), z_k⟩ = s_k`.
//!
//! Every coefficient is compiled from `attnum_classical::weno`, and every one is a `Var`, so the
//! module can be trained; the only operation outside a standard transformer is the logarithm in
//! the token features (an MLP would approximate it). Applied to every window of a periodic grid
//! ([`WenoAttention::reconstruct_periodic`]) the module is translation-equivariant.

use attnum_classical::weno::{
    CANDIDATE_STENCILS, LINEAR_WEIGHTS, SMOOTHNESS_COEFFICIENTS, SMOOTHNESS_FORMS, Weno5,
};
use candle_core::{D, Tensor, Var};

use crate::{AttentionError, AttentionMethod, DEVICE, Result};

/// The WENO5-JS reconstruction at `x_{i+1/2}` as a bilinear layer and one softmax head.
#[derive(Debug, Clone)]
pub struct WenoAttention {
    /// `(5, 3)`: the candidates' value projection.
    candidates: Var,
    /// `(5, 6)`: the linear forms whose squares make the smoothness indicators.
    forms: Var,
    /// `(6, 3)`: which squared form enters which indicator, with `13/12` or `1/4`.
    form_mixing: Var,
    /// `(3,)`: `ln d_k`, the first feature of each candidate token.
    log_linear_weights: Var,
    /// `(2,)`: the head's query, `(1, −2)`.
    query: Var,
    epsilon: f64,
}

/// A `(rows, cols)` parameter from a row-major function of its indices.
fn matrix(rows: usize, cols: usize, entry: impl Fn(usize, usize) -> f64) -> Result<Var> {
    let data: Vec<f64> = (0..rows * cols)
        .map(|i| entry(i / cols, i % cols))
        .collect();
    Ok(Var::from_tensor(&Tensor::from_vec(
        data,
        (rows, cols),
        &DEVICE,
    )?)?)
}

impl WenoAttention {
    /// The module for a WENO5-JS reconstruction.
    ///
    /// # Errors
    /// A tensor error.
    pub fn compile(weno: &Weno5) -> Result<Self> {
        Ok(Self {
            candidates: matrix(5, 3, |r, k| CANDIDATE_STENCILS[k][r])?,
            forms: matrix(5, 6, |r, f| SMOOTHNESS_FORMS[f / 2][f % 2][r])?,
            form_mixing: matrix(6, 3, |f, k| {
                if f / 2 == k {
                    SMOOTHNESS_COEFFICIENTS[f % 2]
                } else {
                    0.0
                }
            })?,
            log_linear_weights: Var::from_tensor(&crate::vector(&LINEAR_WEIGHTS.map(f64::ln))?)?,
            query: Var::from_tensor(&crate::vector(&[1.0, -2.0])?)?,
            epsilon: weno.epsilon(),
        })
    }

    /// The attention weights `ω` over the three candidates for a batch of windows `(batch, 5)`:
    /// shape `(batch, 3)`.
    ///
    /// # Errors
    /// A tensor error.
    pub fn weights(&self, windows: &Tensor) -> candle_core::Result<Tensor> {
        let beta = windows
            .matmul(self.forms.as_tensor())?
            .sqr()?
            .matmul(self.form_mixing.as_tensor())?;
        let log_smoothness = (beta + self.epsilon)?.log()?;
        let query = self.query.as_tensor();
        let scores = self
            .log_linear_weights
            .as_tensor()
            .broadcast_mul(&query.narrow(0, 0, 1)?)?
            .broadcast_add(&log_smoothness.broadcast_mul(&query.narrow(0, 1, 1)?)?)?;
        candle_nn::ops::softmax(&scores, D::Minus1)
    }

    /// The reconstruction at `x_{i+1/2}` of every point of a batch of periodic grids
    /// `(batch, N)`: shape `(batch, N)`, the windows gathered by index (translation-equivariant).
    ///
    /// # Errors
    /// [`AttentionError::Invalid`] below five points; a tensor error.
    pub fn reconstruct_periodic(&self, values: &Tensor) -> Result<Tensor> {
        let (batch, n) = values.dims2()?;
        if n < 5 {
            return Err(AttentionError::Invalid(format!(
                "WENO5 attention needs at least 5 grid points, got {n}"
            )));
        }
        let index: Vec<u32> = (0..n)
            .flat_map(|i| (0..5).map(move |r| ((i + n + r - 2) % n) as u32))
            .collect();
        let index = Tensor::from_vec(index, n * 5, &DEVICE)?;
        let windows = values.index_select(&index, 1)?.reshape((batch * n, 5))?;
        Ok(self.forward(&windows)?.reshape((batch, n))?)
    }
}

impl AttentionMethod for WenoAttention {
    fn inputs(&self) -> usize {
        5
    }

    fn forward(&self, values: &Tensor) -> candle_core::Result<Tensor> {
        let candidates = values.matmul(self.candidates.as_tensor())?;
        (self.weights(values)? * candidates)?.sum(D::Minus1)
    }

    fn is_linear_in_values(&self) -> bool {
        false
    }

    fn parameters(&self) -> Vec<(String, &Var)> {
        vec![
            ("candidates".into(), &self.candidates),
            ("forms".into(), &self.forms),
            ("form_mixing".into(), &self.form_mixing),
            ("log_linear_weights".into(), &self.log_linear_weights),
            ("query".into(), &self.query),
        ]
    }
}
