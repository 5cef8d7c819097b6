//! Attention modules that *are* classical numerical methods, and the tools to go back from any
//! attention module to the linear method it applies.
//!
//! Every module is built on [candle](https://github.com/huggingface/candle) tensors in `F64` on
//! the CPU, keeps its parameters in [`Var`]s (so it can be trained and every parameter receives a
//! gradient), and maps a batch of sample vectors `(batch, n)` to one output per row.
//!
//! * [`kernel`]: softmax attention with Gaussian scores (the Nadaraya–Watson estimator), its
//!   derivative in closed form and by autograd, and the seed conversation's method S1;
//! * [`linear`]: linear attention with polynomial keys that reproduces finite-difference and
//!   Savitzky–Golay weights, by the normal equations and by a QR factorisation;
//! * [`hard`]: one sharp softmax head per stencil node with the weights in the output projection;
//! * [`heads`]: weights of any sign as one or two scaled softmax heads (quadrature rules);
//! * [`rk`]: an explicit Runge–Kutta step as causal attention over the stage derivatives;
//! * [`looped`]: an implicit (collocation) Runge–Kutta step as a looped transformer: one block of
//!   full attention over the stage tokens and `f`, applied `K` times with the same weights;
//! * [`token`]: heads over `(position, value)` tokens, whose scores depend on the values (one
//!   head over raw offsets; several heads over Taylor position features with a value path linear
//!   in the samples, which contain every stencil);
//! * [`consistent`]: a derivative stencil of guaranteed order whose free moments (the null space
//!   of the moment conditions) one softmax head chooses per input among consistent candidates;
//! * [`baseline`]: a ReLU network on the raw samples (a learned baseline that is not attention);
//! * [`transformer`]: multi-head, multi-block transformers over the same tokens;
//! * [`learn`]: function families, the derivative task, and reproducible training;
//! * [`learned_rule`]: a quadrature head whose keys are trainable node positions;
//! * [`learned_tableau`]: an explicit Runge–Kutta step with trained stage attention;
//! * [`weno`]: the WENO5-JS reconstruction as a bilinear layer and one softmax head;
//! * [`solver`]: the method of lines for a scalar conservation law from WENO heads and a
//!   Runge–Kutta step as attention (a transformer that is a PDE solver);
//! * [`expressivity`]: what standard attention can represent — verdicts, resources, the
//!   finite-logit construction and the witnesses of the impossibilities;
//! * [`keras`]: Keras' `Attention` and `MultiHeadAttention` (`[query, value, key]` order),
//!   `LayerNormalization`, `glorot_uniform` and `Adam`, as the seed conversation's code calls
//!   them;
//! * [`extract`]: the effective linear weights of a module (exact, or by the Jacobian);
//! * [`classify`]: what a set of weights is (order, error constant, degree of exactness, tree
//!   residuals, nearest classical method).
//!
//! ```
//! use attnum_attention::{extract, heads::SoftmaxHeads, AttentionMethod};
//! use attnum_classical::quadrature::gauss_legendre;
//! // Gauss–Legendre weights are positive: one scaled softmax head is the rule.
//! let rule = gauss_legendre(5).unwrap();
//! let head = SoftmaxHeads::compile(rule.weights()).unwrap();
//! assert_eq!(head.head_count(), 1);
//! let w = extract::effective_weights(&head).unwrap();
//! for (a, b) in w.iter().zip(rule.weights()) {
//!     assert!((a - b).abs() < 1e-15);
//! }
//! ```

pub mod baseline;
pub mod classify;
pub mod consistent;
pub mod expressivity;
pub mod extract;
mod fused;
pub mod hard;
pub mod heads;
pub mod keras;
pub mod kernel;
pub mod learn;
pub mod learned_rule;
pub mod learned_tableau;
pub mod linear;
pub mod looped;
pub mod rk;
pub mod solver;
mod tableau_heads;
pub mod token;
pub mod transformer;
pub mod weno;

use attnum_classical::fd::StencilError;
use attnum_classical::rk::TableauError;
use candle_core::{DType, Device, Tensor, Var};
use thiserror::Error;

/// Why an attention module cannot be built or evaluated.
#[derive(Debug, Error)]
pub enum AttentionError {
    /// A tensor operation failed.
    #[error("tensor operation failed: {0}")]
    Candle(#[from] candle_core::Error),
    /// The nodes or weights do not form a stencil.
    #[error(transparent)]
    Stencil(#[from] StencilError),
    /// The weights do not form a Butcher tableau.
    #[error(transparent)]
    Tableau(#[from] TableauError),
    /// A parameter is outside its domain.
    #[error("{0}")]
    Invalid(String),
    /// A linear system of the construction is singular in floating point.
    #[error("singular system: {0}")]
    Singular(String),
}

/// Result of this crate.
pub type Result<T> = std::result::Result<T, AttentionError>;

/// An attention module read as a numerical method: `n` samples in, one number out.
pub trait AttentionMethod {
    /// The number of samples `n` the module reads.
    fn inputs(&self) -> usize;
    /// Outputs for a batch of sample vectors: `(batch, n)` → `(batch,)`.
    fn forward(&self, values: &Tensor) -> candle_core::Result<Tensor>;
    /// The forward pass in training, with any dropout masks drawn from `rng` (the evaluation
    /// pass [`AttentionMethod::forward`] for a module without dropout).
    fn forward_training(
        &self,
        values: &Tensor,
        rng: &mut rand_chacha::ChaCha8Rng,
    ) -> candle_core::Result<Tensor> {
        let _ = rng;
        self.forward(values)
    }
    /// Whether the attention weights are independent of the values, so that the module is a
    /// linear functional of them.
    fn is_linear_in_values(&self) -> bool;
    /// The trainable parameters, by name.
    fn parameters(&self) -> Vec<(String, &Var)>;
}

impl<M: AttentionMethod + ?Sized> AttentionMethod for Box<M> {
    fn inputs(&self) -> usize {
        (**self).inputs()
    }

    fn forward(&self, values: &Tensor) -> candle_core::Result<Tensor> {
        (**self).forward(values)
    }

    fn forward_training(
        &self,
        values: &Tensor,
        rng: &mut rand_chacha::ChaCha8Rng,
    ) -> candle_core::Result<Tensor> {
        (**self).forward_training(values, rng)
    }

    fn is_linear_in_values(&self) -> bool {
        (**self).is_linear_in_values()
    }

    fn parameters(&self) -> Vec<(String, &Var)> {
        (**self).parameters()
    }
}

/// The device of every tensor here.
pub const DEVICE: Device = Device::Cpu;

/// A rank-1 `F64` tensor.
pub(crate) fn vector(values: &[f64]) -> candle_core::Result<Tensor> {
    Tensor::from_slice(values, values.len(), &DEVICE)
}

/// A trainable `F64` parameter holding `values`.
pub(crate) fn parameter(values: &[f64]) -> candle_core::Result<Var> {
    Var::from_tensor(&vector(values)?)
}

/// One sample vector as a batch of one: shape `(1, n)`.
///
/// # Errors
/// A tensor error.
pub fn samples(values: &[f64]) -> Result<Tensor> {
    Ok(Tensor::from_slice(values, (1, values.len()), &DEVICE)?)
}

/// The `F64` identity matrix of size `n` (a batch of unit sample vectors).
pub(crate) fn identity(n: usize) -> candle_core::Result<Tensor> {
    Tensor::eye(n, DType::F64, &DEVICE)
}
