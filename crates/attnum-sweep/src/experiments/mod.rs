//! The experiment kinds a sweep file can declare, and their dispatch.
//!
//! To add an experiment: write a module here with a `deny_unknown_fields` spec struct whose
//! `check` returns a checked value (the parameters parsed into the objects the run uses, or a
//! [`FieldError`]; the shared checks are in [`crate::checks`]) and whose `run` on that checked value
//! returns named tables (or an [`Output`] with trained weights) or an [`ExperimentError`] naming
//! the failed computation, and register it with one line in `experiments!` below; the
//! dispatch, [`ExperimentSpec::kind`] and [`KINDS`] follow. Tests check that every kind has a
//! committed sweep file, a row in `docs/sweep-schema.md` and a case in the bad-input suite.

use attnum_attention::AttentionError;
use attnum_classical::conservation::ConservationError;
use attnum_classical::fd::StencilError;
use attnum_classical::kriging::KrigingError;
use attnum_classical::quadrature::QuadratureError;
use attnum_classical::rk::{FixedPointError, TableauError};
use attnum_classical::weno::WenoError;
use attnum_results::Table;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Declares the experiment modules and generates [`ExperimentSpec`] (one variant per kind, named
/// by the sweep file's key under `experiment:`), its dispatch and [`KINDS`].
macro_rules! experiments {
    ($($variant:ident($module:ident::$spec:ident): $what:literal,)*) => {
        $(pub mod $module;)*

        /// One experiment kind with its parameters (the single key under `experiment:`).
        #[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
        #[serde(rename_all = "snake_case")]
        pub enum ExperimentSpec {
            $(
                #[doc = $what]
                $variant($module::$spec),
            )*
        }

        /// Every experiment kind as written in sweep files, with what it measures.
        pub const KINDS: &[(&str, &str)] = &[$((stringify!($module), $what),)*];

        /// Every experiment kind with the source of its module (the columns and table stems it
        /// writes are read from it: `points::written_columns`).
        pub(crate) const SOURCES: &[(&str, &str)] =
            &[$((stringify!($module), include_str!(concat!(stringify!($module), ".rs"))),)*];

        impl ExperimentSpec {
            /// The experiment kind as written in the sweep file.
            pub fn kind(&self) -> &'static str {
                match self {
                    $(Self::$variant(_) => stringify!($module),)*
                }
            }

            /// Check every parameter the experiment will use (building its checked value and
            /// dropping it).
            ///
            /// # Errors
            /// The first refused parameter, with its path below `experiment.KIND`.
            pub fn validate(&self) -> Result<(), FieldError> {
                match self {
                    $(Self::$variant(spec) => spec.check().map(drop),)*
                }
            }

            /// Check the parameters, then run the experiment on the checked value: its tables
            /// and any trained weights.
            ///
            /// # Errors
            /// A refused parameter (the run never starts on an unchecked spec), or a library
            /// call of the run that failed.
            pub fn run(&self) -> Result<Output, ExperimentError> {
                match self {
                    $(Self::$variant(spec) => spec.check()?.run().map(Into::into),)*
                }
            }
        }
    };
}

experiments! {
    FdConvergence(fd_convergence::FdConvergence):
        "finite-difference error against the step, observed orders",
    NoisyDerivative(noisy_derivative::NoisyDerivative):
        "finite differences against Savitzky–Golay filters on noisy samples",
    QuadratureRules(quadrature_rules::QuadratureRules):
        "signs, degree of exactness and accuracy of the quadrature families",
    RkConvergence(rk_convergence::RkConvergence):
        "Runge–Kutta global error on the Kepler problem, observed orders",
    ButcherTrees(butcher_trees::ButcherTrees):
        "rooted trees, tree counts and the order conditions of the named methods",
    AttentionEquivalence(attention_equivalence::AttentionEquivalence):
        "attention constructions against the classical weights they compile",
    KernelAttention(kernel_attention::KernelAttentionSpec):
        "the derivative of Gaussian-score attention against its theory, and S1",
    HardAttention(hard_attention::HardAttention):
        "multi-head hard attention at finite sharpness",
    QuadratureAttention(quadrature_attention::QuadratureAttention):
        "quadrature rules as scaled softmax heads",
    RkAttention(rk_attention::RkAttentionSpec):
        "Runge–Kutta steps as causal attention over stage derivatives",
    ExpressivityMap(expressivity_map::ExpressivityMap):
        "what standard attention can represent: verdict, heads, layers and proposition per target and architecture, constructions against the classical weights, witnesses of the impossibilities",
    ExpressivityLogits(expressivity_logits::ExpressivityLogits):
        "a stencil on a whole periodic grid by unmasked softmax heads with relative-position biases bounded by B: error against B and the grid",
    ExpressivityLooped(expressivity_looped::ExpressivityLooped):
        "Gauss–Legendre collocation as a looped transformer: order, error and contraction against the number of weight-tied blocks",
    AttentionSolver(attention_solver::AttentionSolverSpec):
        "the method of lines as attention (WENO heads, flux difference, SSPRK3 stage attention) against the classical scheme: difference, error against N, total variation at a shock, cost per step",
    SeedExamples(seed_examples::SeedExamples):
        "the conversation's trained examples S2–S6 rerun with the calls as PyTorch and Keras define them (Keras: `[query, value, key]`), the epoch-0 output over many draws of each initialisation, and every printed line's loss checked against its printed output",
    LearnedDerivative(learned_derivative::LearnedDerivative):
        "a token head or a transformer meta-trained to differentiate (first or second derivative, optional noise), and the stencil it learns",
    LearnedOrder(learned_order::LearnedOrder):
        "attention with guaranteed order: a stencil consistent to order p by construction whose free moments a softmax head chooses per input, trained clean and on noise; observed order and paired errors against the central differences and Savitzky–Golay",
    LearnedQuadrature(learned_quadrature::LearnedQuadratureSpec):
        "a softmax head with trainable node positions trained to integrate, from many random starts",
    LearnedRk(learned_rk::LearnedRk):
        "a Runge–Kutta step with trained stage attention, and the tree conditions it meets",
    LearnedTheory(learned_theory::LearnedTheory):
        "the kriging stencil a learner linear in the samples converges to on the training family, and its moment defects against Kh",
}

/// A table produced by an experiment, with its file stem (`table` is the main one).
#[derive(Debug, Clone, PartialEq)]
pub struct NamedTable {
    /// File stem under `results/SWEEP/`.
    pub stem: &'static str,
    /// The table.
    pub table: Table,
}

/// What one run of an experiment produces: its tables and, for a trained model, its weights as a
/// safetensors file.
#[derive(Debug, Clone, PartialEq)]
pub struct Output {
    /// The tables.
    pub tables: Vec<NamedTable>,
    /// The trained weights (safetensors bytes).
    pub weights: Option<Vec<u8>>,
}

impl From<Vec<NamedTable>> for Output {
    fn from(tables: Vec<NamedTable>) -> Self {
        Self {
            tables,
            weights: None,
        }
    }
}

/// Why an experiment produced no output: a refused parameter, or a library call of the run that
/// failed, with what was being computed.
#[derive(Debug, Error)]
pub enum ExperimentError {
    /// A refused parameter (its path below `experiment.KIND`).
    #[error(transparent)]
    Field(#[from] FieldError),
    /// A tensor operation failed.
    #[error("{what}: tensor operation failed: {source}")]
    Candle {
        /// What was being computed.
        what: String,
        /// candle's error.
        source: candle_core::Error,
    },
    /// An attention module could not be built or evaluated.
    #[error("{what}: {source}")]
    Attention {
        /// What was being computed.
        what: String,
        /// The attention crate's error.
        source: AttentionError,
    },
    /// A classical method refused its input (a stencil, a rule, a tableau, a WENO scheme, a
    /// conservation law, an implicit step).
    #[error("{what}: {source}")]
    Classical {
        /// What was being computed.
        what: String,
        /// The classical crate's error.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// A library error made into an [`ExperimentError`] once told what was being computed.
pub trait LibraryError {
    /// The experiment error for this error met while computing `what`.
    fn computing(self, what: String) -> ExperimentError;
}

impl LibraryError for candle_core::Error {
    fn computing(self, what: String) -> ExperimentError {
        ExperimentError::Candle { what, source: self }
    }
}

impl LibraryError for AttentionError {
    fn computing(self, what: String) -> ExperimentError {
        ExperimentError::Attention { what, source: self }
    }
}

/// The errors of `attnum-classical` are [`ExperimentError::Classical`].
macro_rules! classical_errors {
    ($($error:ty),*) => {$(
        impl LibraryError for $error {
            fn computing(self, what: String) -> ExperimentError {
                ExperimentError::Classical { what, source: Box::new(self) }
            }
        }
    )*};
}

classical_errors!(
    StencilError,
    QuadratureError,
    TableauError,
    FixedPointError,
    WenoError,
    ConservationError,
    KrigingError
);

/// `.context("what")` on a library result: `?` then reports what was being computed.
pub trait Context<T> {
    /// The value, or the error as an [`ExperimentError`] naming `what`.
    ///
    /// # Errors
    /// The library's error, with `what`.
    fn context(self, what: impl Into<String>) -> Result<T, ExperimentError>;

    /// [`Context::context`] with the description built only on an error.
    ///
    /// # Errors
    /// The library's error, with `what()`.
    fn with_context<S: Into<String>>(self, what: impl FnOnce() -> S) -> Result<T, ExperimentError>;
}

impl<T, E: LibraryError> Context<T> for Result<T, E> {
    fn context(self, what: impl Into<String>) -> Result<T, ExperimentError> {
        self.map_err(|e| e.computing(what.into()))
    }

    fn with_context<S: Into<String>>(self, what: impl FnOnce() -> S) -> Result<T, ExperimentError> {
        self.map_err(|e| e.computing(what().into()))
    }
}

/// A refused parameter: the field path below `experiment.KIND` and the reason.
///
/// Paths are built from the inside out: a check reports the field it looked at, and the caller
/// that knows where that value sits prefixes it ([`FieldError::at`], [`FieldError::within`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The field path, such as `stencils[2].offsets` (empty for the value itself).
    pub path: String,
    /// Why the value is refused.
    pub message: String,
}

impl FieldError {
    /// A refusal of the value at `path`.
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            message: message.into(),
        }
    }

    /// The same refusal for a value that is entry `index` of a list.
    #[must_use]
    pub fn at(self, index: usize) -> Self {
        self.prefixed(&format!("[{index}]"))
    }

    /// The same refusal for a value that is field `field` of a larger value.
    #[must_use]
    pub fn within(self, field: &str) -> Self {
        self.prefixed(field)
    }

    fn prefixed(self, prefix: &str) -> Self {
        let path = if self.path.is_empty() {
            prefix.to_owned()
        } else if self.path.starts_with('[') {
            format!("{prefix}{}", self.path)
        } else {
            format!("{prefix}.{}", self.path)
        };
        Self { path, ..self }
    }
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "field `{}`: {}", self.path, self.message)
    }
}

impl std::error::Error for FieldError {}

/// Least-squares slope of `ln y` against `ln x` (the observed order of an error curve).
pub(crate) fn log_log_slope(points: &[(f64, f64)]) -> f64 {
    let n = points.len() as f64;
    let (mx, my) = points.iter().fold((0.0, 0.0), |(a, b), &(x, y)| {
        (a + x.ln() / n, b + y.ln() / n)
    });
    let (sxy, sxx) = points.iter().fold((0.0, 0.0), |(sxy, sxx), &(x, y)| {
        let dx = x.ln() - mx;
        (sxy + dx * (y.ln() - my), sxx + dx * dx)
    });
    sxy / sxx
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grid::LinearGrid;

    #[test]
    fn a_refused_spec_is_an_error_from_run_not_a_panic() {
        let spec = ExperimentSpec::HardAttention(hard_attention::HardAttention {
            stencils: vec![[1, 2]],
            wide_half_width: 4,
            sharpness: LinearGrid {
                from: 1.0,
                to: 2.0,
                points: 2,
            },
            point: 0.5,
            step: 2.0,
        });
        let Err(ExperimentError::Field(error)) = spec.run() else {
            panic!("a refused step is a field error");
        };
        assert_eq!(error.path, "step");
        assert_eq!(error.message, "must be in (0, 1], got 2");
        assert_eq!(spec.validate(), Err(error));
    }
}
