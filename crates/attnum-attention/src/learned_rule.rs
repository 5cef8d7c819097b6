//! A quadrature rule as one scaled softmax head whose keys are trainable positions: where the
//! function is sampled is learned along with the weights.
//!
//! The head reads `n` key tokens; token `i` sits at the position `x_i = tanh(u_i) ∈ (−1, 1)` and
//! has the score `s_i`; the query is fixed, so the attention weights are `softmax(s)` and the
//! output `e^λ Σ_i softmax(s)_i f(x_i)` estimates `∫_{−1}^{1} f`. A rule of positive weights is
//! exactly such a head (scale `e^λ = Σ w_i`), so Gauss–Legendre — the unique `n`-node rule exact
//! for degree `2n − 1` — is a minimum of zero loss on polynomials of that degree.
//!
//! The module's inputs are a function's Legendre coefficients `c_0 … c_{K−1}` (so that the
//! samples `f(x_i) = Σ_k c_k P_k(x_i)` are differentiable in the positions); its output is linear
//! in them, and its effective weights are the rule applied to each `P_k` — exactness to degree
//! `K − 1` means weights `(2, 0, …, 0)`.

use candle_core::{Tensor, Var};

use crate::{AttentionError, AttentionMethod, Result, parameter, vector};

/// One scaled softmax head over trainable (or fixed) node positions.
#[derive(Debug, Clone)]
pub struct LearnedQuadrature {
    /// `u` with nodes `tanh(u)` (trainable), or the fixed nodes.
    positions: Positions,
    scores: Var,
    log_scale: Var,
    degree: usize,
}

#[derive(Debug, Clone)]
enum Positions {
    Learned(Var),
    Fixed(Tensor),
}

impl LearnedQuadrature {
    /// A head with trainable nodes starting at `nodes` (each in `(−1, 1)`), scores `scores` and
    /// scale 1, reading Legendre coefficients up to `degree`.
    ///
    /// # Errors
    /// [`AttentionError::Invalid`] for nodes outside `(−1, 1)` or a length mismatch.
    pub fn learned(nodes: &[f64], scores: &[f64], degree: usize) -> Result<Self> {
        check(nodes, scores, true)?;
        let u: Vec<f64> = nodes.iter().map(|x| x.atanh()).collect();
        Ok(Self {
            positions: Positions::Learned(parameter(&u)?),
            scores: parameter(scores)?,
            log_scale: parameter(&[0.0])?,
            degree,
        })
    }

    /// A head with fixed nodes (in `[−1, 1]`) and trainable scores and scale.
    ///
    /// # Errors
    /// [`AttentionError::Invalid`] for nodes outside `[−1, 1]` or a length mismatch.
    pub fn fixed(nodes: &[f64], scores: &[f64], degree: usize) -> Result<Self> {
        check(nodes, scores, false)?;
        Ok(Self {
            positions: Positions::Fixed(vector(nodes)?),
            scores: parameter(scores)?,
            log_scale: parameter(&[0.0])?,
            degree,
        })
    }

    fn node_tensor(&self) -> candle_core::Result<Tensor> {
        match &self.positions {
            Positions::Learned(u) => u.as_tensor().tanh(),
            Positions::Fixed(x) => Ok(x.clone()),
        }
    }

    /// The current nodes.
    ///
    /// # Errors
    /// A tensor error.
    pub fn nodes(&self) -> Result<Vec<f64>> {
        Ok(self.node_tensor()?.to_vec1()?)
    }

    /// The current weights `e^λ softmax(s)`.
    ///
    /// # Errors
    /// A tensor error.
    pub fn weights(&self) -> Result<Vec<f64>> {
        Ok(self.weight_tensor()?.to_vec1()?)
    }

    fn weight_tensor(&self) -> candle_core::Result<Tensor> {
        let a = candle_nn::ops::softmax(self.scores.as_tensor(), candle_core::D::Minus1)?;
        a.broadcast_mul(&self.log_scale.as_tensor().exp()?)
    }
}

fn check(nodes: &[f64], scores: &[f64], open: bool) -> Result<()> {
    let inside = |x: f64| if open { x.abs() < 1.0 } else { x.abs() <= 1.0 };
    if nodes.is_empty() || nodes.len() != scores.len() || !nodes.iter().all(|&x| inside(x)) {
        return Err(AttentionError::Invalid(format!(
            "needs as many scores as nodes, all nodes inside [−1, 1] (open for trainable nodes); \
             got {} nodes {nodes:?} and {} scores",
            nodes.len(),
            scores.len()
        )));
    }
    Ok(())
}

/// `P_0(x) … P_degree(x)` of a vector of nodes: shape `(degree + 1, n)`, by the three-term
/// recurrence `(k + 1) P_{k+1} = (2k + 1) x P_k − k P_{k−1}` (differentiable in `x`).
fn legendre_rows(x: &Tensor, degree: usize) -> candle_core::Result<Tensor> {
    let mut rows = vec![x.ones_like()?];
    if degree >= 1 {
        rows.push(x.clone());
    }
    for k in 1..degree {
        let k = k as f64;
        let next = (((x * &rows[rows.len() - 1])? * ((2.0 * k + 1.0) / (k + 1.0)))?
            - (&rows[rows.len() - 2] * (k / (k + 1.0)))?)?;
        rows.push(next);
    }
    Tensor::stack(&rows, 0)
}

impl AttentionMethod for LearnedQuadrature {
    fn inputs(&self) -> usize {
        self.degree + 1
    }

    /// Legendre coefficients `(batch, degree + 1)` → the rule's estimate of `∫_{−1}^{1} f`.
    fn forward(&self, coefficients: &Tensor) -> candle_core::Result<Tensor> {
        let samples = coefficients.matmul(&legendre_rows(&self.node_tensor()?, self.degree)?)?;
        samples
            .matmul(&self.weight_tensor()?.unsqueeze(1)?)?
            .squeeze(1)
    }

    fn is_linear_in_values(&self) -> bool {
        true
    }

    fn parameters(&self) -> Vec<(String, &Var)> {
        let mut all = Vec::new();
        if let Positions::Learned(u) = &self.positions {
            all.push(("positions".to_owned(), u));
        }
        all.push(("scores".to_owned(), &self.scores));
        all.push(("log_scale".to_owned(), &self.log_scale));
        all
    }
}
