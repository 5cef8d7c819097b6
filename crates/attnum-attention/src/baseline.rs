//! A baseline that is not attention: a one-hidden-layer ReLU network on the raw samples.
//!
//! `out = w₂ · ReLU(f W₁ + b₁) + b₂` for a sample vector `f ∈ ℝⁿ` (row vector), with
//! `W₁ ∈ ℝ^{n×k}`, `b₁ ∈ ℝᵏ`, `w₂ ∈ ℝᵏ`, `b₂ ∈ ℝ`. Since `x = ReLU(x) − ReLU(−x)`, two hidden units
//! apply any linear stencil exactly ([`SampleMlp::representing`]).

use candle_core::{Tensor, Var};
use rand_chacha::ChaCha8Rng;

use crate::learn::normal;
use crate::{AttentionError, AttentionMethod, DEVICE, Result, parameter};

/// A ReLU network with one hidden layer on the samples.
#[derive(Debug, Clone)]
pub struct SampleMlp {
    hidden: Var,
    hidden_bias: Var,
    out: Var,
    out_bias: Var,
    inputs: usize,
}

impl SampleMlp {
    /// A network on `inputs` samples with `width` hidden units, its weights `N(0, 1/fan-in)`
    /// (`W₁` then `w₂`) drawn from `rng`, the biases 0.
    ///
    /// # Errors
    /// [`AttentionError::Invalid`] for no input or no hidden unit.
    pub fn new(inputs: usize, width: usize, rng: &mut ChaCha8Rng) -> Result<Self> {
        let hidden = normal(rng, inputs * width, 1.0 / (inputs as f64).sqrt());
        let out = normal(rng, width, 1.0 / (width as f64).sqrt());
        Self::from_weights(inputs, width, &hidden, &vec![0.0; width], &out, 0.0)
    }

    /// A network with the given weights (`hidden` row-major `inputs × width`).
    ///
    /// # Errors
    /// [`AttentionError::Invalid`] when a size does not match.
    pub fn from_weights(
        inputs: usize,
        width: usize,
        hidden: &[f64],
        hidden_bias: &[f64],
        out: &[f64],
        out_bias: f64,
    ) -> Result<Self> {
        if inputs == 0
            || width == 0
            || hidden.len() != inputs * width
            || hidden_bias.len() != width
            || out.len() != width
        {
            return Err(AttentionError::Invalid(format!(
                "an MLP {inputs} → {width} → 1 needs W₁ of {} entries and b₁, w₂ of {width}",
                inputs * width
            )));
        }
        Ok(Self {
            hidden: Var::from_tensor(&Tensor::from_slice(hidden, (inputs, width), &DEVICE)?)?,
            hidden_bias: parameter(hidden_bias)?,
            out: parameter(out)?,
            out_bias: parameter(&[out_bias])?,
            inputs,
        })
    }

    /// The weights with which the network applies the stencil `weights`: hidden units `±w`,
    /// output weights `(1, −1, 0, …)`, biases 0 (`width ≥ 2`).
    ///
    /// # Errors
    /// [`AttentionError::Invalid`] for a width below 2.
    pub fn representing(weights: &[f64], width: usize) -> Result<Self> {
        let n = weights.len();
        if width < 2 {
            return Err(AttentionError::Invalid("needs two hidden units".into()));
        }
        let mut hidden = vec![0.0; n * width];
        for (i, w) in weights.iter().enumerate() {
            hidden[i * width] = *w;
            hidden[i * width + 1] = -w;
        }
        let mut out = vec![0.0; width];
        out[0] = 1.0;
        out[1] = -1.0;
        Self::from_weights(n, width, &hidden, &vec![0.0; width], &out, 0.0)
    }
}

impl AttentionMethod for SampleMlp {
    fn inputs(&self) -> usize {
        self.inputs
    }

    fn forward(&self, values: &Tensor) -> candle_core::Result<Tensor> {
        let hidden = values
            .matmul(self.hidden.as_tensor())?
            .broadcast_add(self.hidden_bias.as_tensor())?
            .relu()?;
        hidden
            .matmul(&self.out.as_tensor().unsqueeze(1)?)?
            .squeeze(1)?
            .broadcast_add(self.out_bias.as_tensor())
    }

    fn is_linear_in_values(&self) -> bool {
        false
    }

    fn parameters(&self) -> Vec<(String, &Var)> {
        vec![
            ("hidden".into(), &self.hidden),
            ("hidden_bias".into(), &self.hidden_bias),
            ("out".into(), &self.out),
            ("out_bias".into(), &self.out_bias),
        ]
    }
}
