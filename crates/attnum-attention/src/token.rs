//! A softmax head over `(position, value)` tokens: the scores depend on the values, so the
//! module is not a linear method and its effective weights exist only as a Jacobian at a point.
//!
//! Token `i` is `z_i = (1, x_i, f_i)`, the query token is `z_q = (1, x_q, 0)` (the constant 1
//! gives every projection a bias; without it a query at the origin would be the zero vector and
//! attend uniformly whatever its weights); with matrices `W_q, W_k ∈ ℝ^{3×d}` and `w_v ∈ ℝ³` the
//! output is `Σ_i softmax_i(⟨z_q W_q, z_i W_k⟩/√d) z_i·w_v`. Its output lies in the hull of its
//! values, and its Jacobian sums to `w_{v,3}`: no weight setting makes it a consistent stencil.
//!
//! [`TokenHeads`] is the representable form: several heads over tokens `(φ(o_i), f_i)` with the
//! Taylor features `φ` of the offsets ([`taylor_features`]) and a value path linear in the
//! samples; two heads whose weights differ by a stencil apply it exactly
//! ([`TokenHeads::representing`]).

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

/// The Taylor features `φ(o) = (1, o, o²/2!, …, o^q/q!)` of each offset (row `i` is `φ(o_i)`):
/// the keys of [`crate::linear::LinearAttention`] and the position features of [`TokenHeads`]
/// and of a transformer with [`crate::transformer::TokenPositions::Taylor`]. With `q = n − 1`
/// on `n` distinct offsets the matrix `Φ` is invertible, so a linear function of `φ(o_i)` can
/// take any values on the nodes.
pub fn taylor_features(offsets: &[f64], degree: usize) -> Vec<Vec<f64>> {
    offsets
        .iter()
        .map(|&o| {
            let mut term = 1.0;
            (0..=degree)
                .map(|k| {
                    if k > 0 {
                        term *= o / k as f64;
                    }
                    term
                })
                .collect()
        })
        .collect()
}

/// Solve the square system `a x = b` by Gaussian elimination with partial pivoting.
pub(crate) fn solve_square(a: Vec<Vec<f64>>, b: Vec<f64>) -> Result<Vec<f64>> {
    crate::linear::solve(a, b)
}

/// The logits and value scales of two softmax heads whose difference is the weight vector `w`
/// over `slots` positions (`w` padded with zeros): head `±` has weights
/// `p^± = (w^± + ε)/(W^± + slots·ε)` and value scale `A^± = W^± + slots·ε`, so that
/// `A⁺ p⁺ − A⁻ p⁻ = w⁺ − w⁻ = w` exactly in exact arithmetic, with every logit finite
/// (`w^±` the positive and negative parts, `W^± = Σ w^±`, `ε > 0`).
pub(crate) fn signed_heads(w: &[f64], slots: usize, epsilon: f64) -> [(Vec<f64>, f64); 2] {
    let part = |sign: f64| {
        let parts: Vec<f64> = (0..slots)
            .map(|i| w.get(i).map_or(0.0, |&x| (sign * x).max(0.0)))
            .collect();
        let total: f64 = parts.iter().sum::<f64>() + slots as f64 * epsilon;
        let logits: Vec<f64> = parts.iter().map(|p| (p + epsilon).ln()).collect();
        (logits, total)
    };
    [part(1.0), part(-1.0)]
}

/// `H` softmax heads over the tokens `z_i = (φ(o_i), f_i)` of samples at fixed offsets (Taylor
/// features of degree `n − 1`, [`taylor_features`]), read from the query token
/// `z_q = (φ(0), 0)`, which is not itself a key:
///
/// ```text
/// s_{h,i} = ⟨z_q W_q^h, z_i W_k^h⟩ / √d,   p_{h,·} = softmax_i(s_{h,·}),
/// output  = Σ_h Σ_i p_{h,i} (z_i · w_v^h)
/// ```
///
/// with `W_q, W_k ∈ ℝ^{(n+1)×Hd}` (head `h` the columns `hd..(h+1)d`) and `W_v ∈ ℝ^{(n+1)×H}`
/// (head `h` column `h`). The value path is linear in the samples; the scores may depend on
/// them. Unlike [`TokenAttentionHead`], every stencil on the offsets lies in the class once
/// `H ≥ 2` ([`TokenHeads::representing`]).
#[derive(Debug, Clone)]
pub struct TokenHeads {
    /// `Φ`: `(n, n)`, row `i` is `φ(o_i)`.
    features: Tensor,
    w_query: Var,
    w_key: Var,
    w_value: Var,
    heads: usize,
    width: usize,
}

impl TokenHeads {
    /// Heads over samples at `offsets` with the given matrices, row-major: `w_query` and `w_key`
    /// `(n+1) × (heads·width)`, `w_value` `(n+1) × heads`.
    ///
    /// # Errors
    /// [`AttentionError::Invalid`] for no offset, no head, zero width or a matrix of the wrong
    /// size.
    pub fn new(
        offsets: &[f64],
        heads: usize,
        width: usize,
        w_query: &[f64],
        w_key: &[f64],
        w_value: &[f64],
    ) -> Result<Self> {
        let n = offsets.len();
        let rows = n + 1;
        if n == 0
            || heads == 0
            || width == 0
            || w_query.len() != rows * heads * width
            || w_key.len() != rows * heads * width
            || w_value.len() != rows * heads
        {
            return Err(AttentionError::Invalid(format!(
                "{n} offsets, {heads} heads of width {width}: W_q and W_k must be \
                 {rows}×{} and W_v {rows}×{heads}, got {}, {} and {} entries",
                heads * width,
                w_query.len(),
                w_key.len(),
                w_value.len()
            )));
        }
        let features: Vec<f64> = taylor_features(offsets, n - 1).concat();
        let matrix = |w: &[f64], columns: usize| -> Result<Var> {
            Ok(Var::from_tensor(&Tensor::from_slice(
                w,
                (rows, columns),
                &DEVICE,
            )?)?)
        };
        Ok(Self {
            features: Tensor::from_vec(features, (n, n), &DEVICE)?,
            w_query: matrix(w_query, heads * width)?,
            w_key: matrix(w_key, heads * width)?,
            w_value: matrix(w_value, heads)?,
            heads,
            width,
        })
    }

    /// A weight setting with which the heads apply the linear stencil `weights` exactly (up to
    /// rounding): heads 0 and 1 attend by position only (the score's value row is 0) with the
    /// logits of [`signed_heads`] — solved for through `Φ`, which is invertible on distinct
    /// offsets — and carry the values `±A f_i`; any further head has value weights 0. So the class
    /// of `H ≥ 2` heads contains every stencil on the offsets, the central difference included.
    ///
    /// # Errors
    /// [`AttentionError::Invalid`] for fewer than two heads or a weight vector of the wrong
    /// length; [`AttentionError::Singular`] for repeated offsets.
    pub fn representing(
        offsets: &[f64],
        heads: usize,
        width: usize,
        weights: &[f64],
    ) -> Result<Self> {
        let n = offsets.len();
        if heads < 2 || weights.len() != n || width == 0 {
            return Err(AttentionError::Invalid(format!(
                "a signed stencil needs two heads and one weight per offset, got {heads} heads \
                 and {} weights for {n} offsets",
                weights.len()
            )));
        }
        let rows = n + 1;
        let columns = heads * width;
        let phi = taylor_features(offsets, n - 1);
        let mut w_query = vec![0.0; rows * columns];
        let mut w_key = vec![0.0; rows * columns];
        let mut w_value = vec![0.0; rows * heads];
        for (h, (logits, scale)) in signed_heads(weights, n, 0.25).into_iter().enumerate() {
            // λ with Φ λ = logits: the key's first component is then the logit of node i.
            let lambda = solve_square(phi.clone(), logits)?;
            // The query token (φ(0), 0) = e_0: its query is row 0 of W_q, set to √d e_1.
            w_query[h * width] = (width as f64).sqrt();
            for (k, l) in lambda.iter().enumerate() {
                w_key[k * columns + h * width] = *l;
            }
            // The value is ±A f_i: only the value feature (row n) is weighted.
            w_value[n * heads + h] = if h == 0 { scale } else { -scale };
        }
        Self::new(offsets, heads, width, &w_query, &w_key, &w_value)
    }

    /// The attention weights `(batch, H, n)` at a batch of samples.
    ///
    /// # Errors
    /// A tensor error.
    pub fn attention(&self, values: &Tensor) -> candle_core::Result<Tensor> {
        Ok(self.scores_and_values(values)?.0)
    }

    fn scores_and_values(&self, values: &Tensor) -> candle_core::Result<(Tensor, Tensor)> {
        let (batch, n) = values.dims2()?;
        let (heads, width) = (self.heads, self.width);
        let features = self.features.unsqueeze(0)?.broadcast_as((batch, n, n))?;
        // Tokens (batch n, n + 1).
        let tokens =
            Tensor::cat(&[&features, &values.unsqueeze(2)?], 2)?.reshape((batch * n, n + 1))?;
        // The query token is e_0: its query is row 0 of W_q, (H, d).
        let query = self
            .w_query
            .as_tensor()
            .narrow(0, 0, 1)?
            .reshape((heads, width))?;
        let keys = tokens
            .matmul(self.w_key.as_tensor())?
            .reshape((batch * n, heads, width))?;
        let scores = (keys.broadcast_mul(&query.unsqueeze(0)?)?.sum(2)? / (width as f64).sqrt())?
            .reshape((batch, n, heads))?
            .transpose(1, 2)?; // (batch, H, n)
        let attention = candle_nn::ops::softmax(&scores, D::Minus1)?;
        let v = tokens
            .matmul(self.w_value.as_tensor())?
            .reshape((batch, n, heads))?
            .transpose(1, 2)?; // (batch, H, n)
        Ok((attention, v))
    }
}

impl AttentionMethod for TokenHeads {
    fn inputs(&self) -> usize {
        self.features.dim(0).unwrap_or(0)
    }

    fn forward(&self, values: &Tensor) -> candle_core::Result<Tensor> {
        let (attention, v) = self.scores_and_values(values)?;
        (attention * v)?.sum(2)?.sum(1)
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

/// The query `c = Φ⁻¹ w` with which linear attention over the Taylor keys of degree `n − 1`
/// ([`crate::linear::LinearAttention::taylor`]) applies the weights `w`.
///
/// # Errors
/// [`AttentionError::Invalid`] for a weight vector of the wrong length;
/// [`AttentionError::Singular`] for repeated offsets.
pub fn taylor_query(offsets: &[f64], weights: &[f64]) -> Result<Vec<f64>> {
    if offsets.is_empty() || weights.len() != offsets.len() {
        return Err(AttentionError::Invalid(format!(
            "one weight per offset, got {} for {}",
            weights.len(),
            offsets.len()
        )));
    }
    solve_square(
        taylor_features(offsets, offsets.len() - 1),
        weights.to_vec(),
    )
}
