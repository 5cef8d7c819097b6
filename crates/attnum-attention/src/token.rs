//! A softmax head over `(position, value)` tokens: the scores depend on the values, so the
//! module is not a linear method and its effective weights exist only as a Jacobian at a point.
//!
//! Token `i` is `z_i = (1, x_i, f_i)`, the query token is `z_q = (1, x_q, 0)` (the constant 1
//! gives every projection a bias; without it a query at the origin would be the zero vector and
//! attend uniformly whatever its weights); with matrices `W_q, W_k ∈ ℝ^{3×d}` and `w_v ∈ ℝ³` the
//! output is `Σ_i softmax_i(⟨z_q W_q, z_i W_k⟩/√d) z_i·w_v`. This is the head that learned
//! models are built from.

use candle_core::{D, Tensor, Var};

use crate::{AttentionError, AttentionMethod, DEVICE, Result, parameter};

/// One attention head over `(position, value)` tokens at fixed positions.
#[derive(Debug, Clone)]
pub struct TokenAttentionHead {
    positions: Tensor,
    query_token: Tensor,
    w_query: Var,
    w_key: Var,
    w_value: Var,
    width: usize,
}

impl TokenAttentionHead {
    /// A head over samples at `positions` answering at `query_position`, with `W_q` and `W_k`
    /// given row-major (`3 × width`) and `w_v` of length 3.
    ///
    /// # Errors
    /// [`AttentionError::Invalid`] when a matrix has the wrong number of entries.
    pub fn new(
        positions: &[f64],
        query_position: f64,
        w_query: &[f64],
        w_key: &[f64],
        w_value: &[f64],
    ) -> Result<Self> {
        let width = w_query.len() / 3;
        if width == 0
            || w_query.len() != 3 * width
            || w_key.len() != 3 * width
            || w_value.len() != 3
        {
            return Err(AttentionError::Invalid(format!(
                "W_q and W_k must be 3×d and w_v of length 3, got {}, {} and {} entries",
                w_query.len(),
                w_key.len(),
                w_value.len()
            )));
        }
        let matrix = |w: &[f64]| -> Result<Var> {
            Ok(Var::from_tensor(&Tensor::from_slice(
                w,
                (3, width),
                &DEVICE,
            )?)?)
        };
        Ok(Self {
            positions: Tensor::from_slice(positions, positions.len(), &DEVICE)?,
            query_token: Tensor::from_slice(&[1.0, query_position, 0.0], (1, 3), &DEVICE)?,
            w_query: matrix(w_query)?,
            w_key: matrix(w_key)?,
            w_value: parameter(w_value)?,
            width,
        })
    }
}

impl AttentionMethod for TokenAttentionHead {
    fn inputs(&self) -> usize {
        self.positions.dims1().unwrap_or(0)
    }

    fn forward(&self, values: &Tensor) -> candle_core::Result<Tensor> {
        let (batch, n) = values.dims2()?;
        let x = self.positions.unsqueeze(0)?.broadcast_as((batch, n))?;
        let one = x.ones_like()?;
        // Tokens (batch, n, 3).
        let tokens = Tensor::stack(&[&one, &x, values], 2)?;
        let flat = tokens.reshape((batch * n, 3))?;
        let keys = flat.matmul(self.w_key.as_tensor())?; // (batch n, d)
        let query = self.query_token.matmul(self.w_query.as_tensor())?; // (1, d)
        let scores =
            (keys.matmul(&query.t()?)? / (self.width as f64).sqrt())?.reshape((batch, n))?;
        let attention = candle_nn::ops::softmax(&scores, D::Minus1)?;
        let v = flat
            .matmul(&self.w_value.as_tensor().unsqueeze(1)?)?
            .reshape((batch, n))?;
        (attention * v)?.sum(1)
    }

    fn is_linear_in_values(&self) -> bool {
        false
    }

    fn parameters(&self) -> Vec<(String, &Var)> {
        vec![
            ("w_query".into(), &self.w_query),
            ("w_key".into(), &self.w_key),
            ("w_value".into(), &self.w_value),
        ]
    }
}
