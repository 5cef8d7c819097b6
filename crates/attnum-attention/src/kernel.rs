//! Kernel attention: softmax attention with Gaussian scores, which is the Nadaraya–Watson
//! estimator, and its derivative.
//!
//! With nodes `x_i`, values `f_i` and a query position `q`, the scores `−(q − x_i)²/(2σ²)` give
//! attention weights `a_i(q)` and the output `m(q) = Σ a_i(q) f_i`. Differentiating the softmax,
//! `∂a_i/∂q = a_i ((x_i − q) − (x̄ − q))/σ²` with `x̄ = Σ a_j x_j`, so
//!
//! `m'(q) = σ⁻² Σ a_i (x_i − x̄)(f_i − m(q)) = σ⁻² Cov_a(x, f)`:
//!
//! a linear functional of the values with weights `a_i (x_i − x̄)/σ²` (zeroth moment 0, first
//! moment `Var_a(x)/σ²`). This module computes it in closed form, by autograd, and by the
//! seed conversation's central difference of `m` (method S1).

use candle_core::{D, Tensor, Var};

use crate::{AttentionError, AttentionMethod, Result, parameter, vector};

/// Softmax attention with Gaussian scores over fixed nodes; `σ` is a trainable parameter
/// (held as `ln σ`).
#[derive(Debug, Clone)]
pub struct KernelAttention {
    nodes: Tensor,
    count: usize,
    log_sigma: Var,
}

impl KernelAttention {
    /// Attention over `nodes` with width `sigma`.
    ///
    /// # Errors
    /// [`AttentionError::Invalid`] without nodes, with a non-finite node or a width that is not
    /// positive and finite.
    pub fn new(nodes: &[f64], sigma: f64) -> Result<Self> {
        if nodes.is_empty() || nodes.iter().any(|x| !x.is_finite()) {
            return Err(AttentionError::Invalid(
                "kernel attention needs finite nodes".into(),
            ));
        }
        if !(sigma.is_finite() && sigma > 0.0) {
            return Err(AttentionError::Invalid(format!(
                "the kernel width must be positive, got {sigma}"
            )));
        }
        Ok(Self {
            nodes: vector(nodes)?,
            count: nodes.len(),
            log_sigma: parameter(&[sigma.ln()])?,
        })
    }

    /// `σ²` as a tensor of shape `(1,)`.
    fn variance(&self) -> candle_core::Result<Tensor> {
        (self.log_sigma.as_tensor() * 2.0)?.exp()
    }

    /// The attention weights `a_i(q_j)` for each query: shape `(queries, n)`.
    pub fn weights(&self, queries: &Tensor) -> candle_core::Result<Tensor> {
        let diff = queries
            .unsqueeze(1)?
            .broadcast_sub(&self.nodes.unsqueeze(0)?)?;
        let scores = diff.sqr()?.broadcast_div(&(self.variance()? * -2.0)?)?;
        candle_nn::ops::softmax(&scores, D::Minus1)
    }

    /// `m(q_j) = Σ a_i(q_j) f_i` for each query: shape `(queries,)`.
    pub fn evaluate(&self, queries: &Tensor, values: &Tensor) -> candle_core::Result<Tensor> {
        self.weights(queries)?
            .matmul(&values.unsqueeze(1)?)?
            .squeeze(1)
    }

    /// The weights `a_i (x_i − x̄)/σ²` of `m'(q_j)` for each query: shape `(queries, n)`.
    pub fn derivative_weights(&self, queries: &Tensor) -> candle_core::Result<Tensor> {
        let a = self.weights(queries)?;
        let mean = a.matmul(&self.nodes.unsqueeze(1)?)?;
        let centred = self.nodes.unsqueeze(0)?.broadcast_sub(&mean)?;
        (a * centred)?.broadcast_div(&self.variance()?)
    }

    /// `m'(q_j)` by the closed form `σ⁻² Cov_a(x, f)`: shape `(queries,)`.
    pub fn derivative(&self, queries: &Tensor, values: &Tensor) -> candle_core::Result<Tensor> {
        self.derivative_weights(queries)?
            .matmul(&values.unsqueeze(1)?)?
            .squeeze(1)
    }

    /// `m'(q_j)` by reverse-mode autograd through the softmax.
    ///
    /// # Errors
    /// A tensor error.
    pub fn derivative_by_autograd(&self, queries: &[f64], values: &Tensor) -> Result<Vec<f64>> {
        let q = parameter(queries)?;
        let out = self.evaluate(q.as_tensor(), values)?.sum_all()?;
        let grads = out.backward()?;
        let g = grads.get(q.as_tensor()).ok_or_else(|| {
            AttentionError::Invalid("the output does not depend on the query".into())
        })?;
        Ok(g.to_vec1()?)
    }

    /// The seed conversation's method S1: `(m(q + h) − m(q − h)) / (2h)`.
    ///
    /// # Errors
    /// A tensor error.
    pub fn central_difference(&self, query: f64, h: f64, values: &Tensor) -> Result<f64> {
        let m = self
            .evaluate(&vector(&[query + h, query - h])?, values)?
            .to_vec1::<f64>()?;
        Ok((m[0] - m[1]) / (2.0 * h))
    }

    /// The module computing `m(query)` (`Output::Value`) or `m'(query)` (`Output::Derivative`)
    /// from the values.
    ///
    /// # Errors
    /// A tensor error.
    pub fn at(&self, query: f64, output: Output) -> Result<KernelAtQuery<'_>> {
        Ok(KernelAtQuery {
            kernel: self,
            query: vector(&[query])?,
            output,
        })
    }
}

/// What [`KernelAtQuery`] outputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// The attention output `m(q)`.
    Value,
    /// Its derivative `m'(q)` in closed form.
    Derivative,
}

/// Kernel attention at one query, as a method from values to one number.
#[derive(Debug, Clone)]
pub struct KernelAtQuery<'a> {
    kernel: &'a KernelAttention,
    query: Tensor,
    output: Output,
}

impl AttentionMethod for KernelAtQuery<'_> {
    fn inputs(&self) -> usize {
        self.kernel.count
    }

    fn forward(&self, values: &Tensor) -> candle_core::Result<Tensor> {
        let w = match self.output {
            Output::Value => self.kernel.weights(&self.query)?,
            Output::Derivative => self.kernel.derivative_weights(&self.query)?,
        };
        values.matmul(&w.t()?)?.squeeze(1)
    }

    fn is_linear_in_values(&self) -> bool {
        true
    }

    fn parameters(&self) -> Vec<(String, &Var)> {
        vec![("log_sigma".into(), &self.kernel.log_sigma)]
    }
}
