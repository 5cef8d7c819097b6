//! Weights of any sign as scaled softmax heads: quadrature rules, and the sign structure that a
//! single head cannot escape.
//!
//! A softmax head over `n` positions produces weights `p_i > 0` with `Σ p_i = 1` (positions may
//! be masked to weight 0). Scaled by `c`, it applies the linear functional `c Σ p_i v_i`, so one
//! head represents exactly the weight vectors whose nonzero entries share one sign. Any real
//! weights split as `w = w⁺ − w⁻`; the positive and the negative part are each one scaled head
//! with scores `ln(w_i⁺ / W⁺)` (`W⁺ = Σ w_i⁺`), so two heads represent every weight vector.
//!
//! The keys are one-hot positions and each head's query is its vector of log-weights; the
//! position of node `i` enters only through which sample sits in slot `i`.

use candle_core::{D, DType, Tensor, Var};

use crate::{AttentionMethod, DEVICE, Result, parameter};

/// One scaled softmax head: weights `scale · softmax(scores)` over the unmasked positions.
#[derive(Debug, Clone)]
pub struct SoftmaxHead {
    scores: Var,
    /// 1 where the position is attended to, 0 where it is masked out.
    mask: Tensor,
    scale: Var,
}

impl SoftmaxHead {
    /// A head with the given scores, mask and scale.
    fn new(scores: &[f64], mask: &[bool], scale: f64) -> Result<Self> {
        let mask: Vec<u8> = mask.iter().map(|&m| u8::from(m)).collect();
        Ok(Self {
            scores: parameter(scores)?,
            mask: Tensor::from_slice(&mask, mask.len(), &DEVICE)?,
            scale: parameter(&[scale])?,
        })
    }

    /// `scale · softmax(scores)` with masked positions at weight 0: shape `(n,)`.
    pub fn weights(&self) -> candle_core::Result<Tensor> {
        let minus_inf = Tensor::full(f64::NEG_INFINITY, self.mask.shape(), &DEVICE)?;
        let masked = self.mask.where_cond(self.scores.as_tensor(), &minus_inf)?;
        let p = candle_nn::ops::softmax(&masked, D::Minus1)?;
        p.broadcast_mul(self.scale.as_tensor())
    }

    /// The attention mask: which positions the head may attend to.
    pub fn mask(&self) -> candle_core::Result<Vec<bool>> {
        Ok(self
            .mask
            .to_vec1::<u8>()?
            .into_iter()
            .map(|m| m != 0)
            .collect())
    }
}

/// A sum of scaled softmax heads over the same `n` positions.
#[derive(Debug, Clone)]
pub struct SoftmaxHeads {
    inputs: usize,
    heads: Vec<SoftmaxHead>,
}

impl SoftmaxHeads {
    /// The heads whose weights sum to `weights`: none for the zero vector, one when the nonzero
    /// weights share a sign, two otherwise.
    ///
    /// # Errors
    /// [`crate::AttentionError::Invalid`] for an empty or non-finite weight vector.
    pub fn compile(weights: &[f64]) -> Result<Self> {
        if weights.is_empty() || weights.iter().any(|w| !w.is_finite()) {
            return Err(crate::AttentionError::Invalid(format!(
                "weights must be finite and non-empty, got {weights:?}"
            )));
        }
        let mut heads = Vec::new();
        for sign in [1.0, -1.0] {
            let mask: Vec<bool> = weights.iter().map(|&w| sign * w > 0.0).collect();
            let total: f64 = weights
                .iter()
                .filter(|&&w| sign * w > 0.0)
                .map(|w| w.abs())
                .sum();
            if total > 0.0 {
                let scores: Vec<f64> = weights
                    .iter()
                    .map(|&w| {
                        if sign * w > 0.0 {
                            (w.abs() / total).ln()
                        } else {
                            0.0
                        }
                    })
                    .collect();
                heads.push(SoftmaxHead::new(&scores, &mask, sign * total)?);
            }
        }
        Ok(Self {
            inputs: weights.len(),
            heads,
        })
    }

    /// The number of heads (0, 1 or 2 for compiled weights).
    pub fn head_count(&self) -> usize {
        self.heads.len()
    }

    /// The heads.
    pub fn heads(&self) -> &[SoftmaxHead] {
        &self.heads
    }

    /// `Σ_h c_h p_h`: the weights the heads apply, shape `(n,)`.
    pub fn weights(&self) -> candle_core::Result<Tensor> {
        let mut total = Tensor::zeros(self.inputs, DType::F64, &DEVICE)?;
        for head in &self.heads {
            total = (total + head.weights()?)?;
        }
        Ok(total)
    }

    /// Mix the rows of `rows` (`(n, dim)`) with the heads' weights: `(dim,)`.
    pub fn mix(&self, rows: &Tensor) -> candle_core::Result<Tensor> {
        self.weights()?.unsqueeze(0)?.matmul(rows)?.squeeze(0)
    }
}

impl AttentionMethod for SoftmaxHeads {
    fn inputs(&self) -> usize {
        self.inputs
    }

    fn forward(&self, values: &Tensor) -> candle_core::Result<Tensor> {
        values.matmul(&self.weights()?.unsqueeze(1)?)?.squeeze(1)
    }

    fn is_linear_in_values(&self) -> bool {
        true
    }

    fn parameters(&self) -> Vec<(String, &Var)> {
        self.heads
            .iter()
            .enumerate()
            .flat_map(|(i, h)| {
                [
                    (format!("head{i}.scores"), &h.scores),
                    (format!("head{i}.scale"), &h.scale),
                ]
            })
            .collect()
    }
}

/// The number of scaled softmax heads needed for `weights`: 0, 1 or 2.
pub fn heads_needed(weights: &[f64]) -> usize {
    usize::from(weights.iter().any(|&w| w > 0.0)) + usize::from(weights.iter().any(|&w| w < 0.0))
}
