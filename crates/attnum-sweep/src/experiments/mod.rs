//! The experiment kinds a sweep file can declare, and their dispatch.
//!
//! To add an experiment: write a module here with a `deny_unknown_fields` spec struct, a
//! `validate` returning `(field path, message)` and a `run` returning named tables; add a variant
//! to [`ExperimentSpec`] and its three match arms below; add `data/sweeps/NAME.yaml`.

pub mod attention_equivalence;
pub mod butcher_trees;
pub mod fd_convergence;
pub mod hard_attention;
pub mod kernel_attention;
pub mod learned_derivative;
pub mod learned_quadrature;
pub mod learned_rk;
pub mod noisy_derivative;
pub mod quadrature_attention;
pub mod quadrature_rules;
pub mod rk_attention;
pub mod rk_convergence;
pub mod seed_examples;

use serde::{Deserialize, Serialize};

use crate::table::Table;

/// One experiment kind with its parameters (the single key under `experiment:`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ExperimentSpec {
    /// Error of finite-difference stencils against the step.
    FdConvergence(fd_convergence::FdConvergence),
    /// Rooted trees and the order conditions of the named Runge–Kutta methods.
    ButcherTrees(butcher_trees::ButcherTrees),
    /// Global error of the named Runge–Kutta methods on the Kepler problem.
    RkConvergence(rk_convergence::RkConvergence),
    /// Signs, exactness and accuracy of the classical quadrature families by size.
    QuadratureRules(quadrature_rules::QuadratureRules),
    /// Finite differences against Savitzky–Golay filters on noisy samples.
    NoisyDerivative(noisy_derivative::NoisyDerivative),
    /// Attention constructions against the classical weights they compile.
    AttentionEquivalence(attention_equivalence::AttentionEquivalence),
    /// The derivative of kernel (Gaussian-score softmax) attention against its theory.
    KernelAttention(kernel_attention::KernelAttentionSpec),
    /// Hard multi-head attention at finite sharpness.
    HardAttention(hard_attention::HardAttention),
    /// Quadrature rules as scaled softmax heads.
    QuadratureAttention(quadrature_attention::QuadratureAttention),
    /// Runge–Kutta steps as causal attention.
    RkAttention(rk_attention::RkAttentionSpec),
    /// A single attention head meta-trained to differentiate, and the stencil it learns.
    LearnedDerivative(learned_derivative::LearnedDerivative),
    /// A quadrature head with trainable node positions, from many random starts.
    LearnedQuadrature(learned_quadrature::LearnedQuadratureSpec),
    /// A Runge–Kutta step with trained stage attention, and the tree conditions it meets.
    LearnedRk(learned_rk::LearnedRk),
    /// The conversation's trained examples S2 to S6, rerun, and their printed traces checked.
    SeedExamples(seed_examples::SeedExamples),
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

/// A refused parameter: the field path below `experiment.KIND` and the reason.
pub type FieldError = (String, String);

impl ExperimentSpec {
    /// The experiment kind as written in the sweep file.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::FdConvergence(_) => "fd_convergence",
            Self::ButcherTrees(_) => "butcher_trees",
            Self::RkConvergence(_) => "rk_convergence",
            Self::QuadratureRules(_) => "quadrature_rules",
            Self::NoisyDerivative(_) => "noisy_derivative",
            Self::AttentionEquivalence(_) => "attention_equivalence",
            Self::KernelAttention(_) => "kernel_attention",
            Self::HardAttention(_) => "hard_attention",
            Self::QuadratureAttention(_) => "quadrature_attention",
            Self::RkAttention(_) => "rk_attention",
            Self::LearnedDerivative(_) => "learned_derivative",
            Self::LearnedQuadrature(_) => "learned_quadrature",
            Self::LearnedRk(_) => "learned_rk",
            Self::SeedExamples(_) => "seed_examples",
        }
    }

    /// Check every parameter the experiment will use.
    pub fn validate(&self) -> Result<(), FieldError> {
        match self {
            Self::FdConvergence(spec) => spec.validate(),
            Self::ButcherTrees(spec) => spec.validate(),
            Self::RkConvergence(spec) => spec.validate(),
            Self::QuadratureRules(spec) => spec.validate(),
            Self::NoisyDerivative(spec) => spec.validate(),
            Self::AttentionEquivalence(spec) => spec.validate(),
            Self::KernelAttention(spec) => spec.validate(),
            Self::HardAttention(spec) => spec.validate(),
            Self::QuadratureAttention(spec) => spec.validate(),
            Self::RkAttention(spec) => spec.validate(),
            Self::LearnedDerivative(spec) => spec.validate(),
            Self::LearnedQuadrature(spec) => spec.validate(),
            Self::LearnedRk(spec) => spec.validate(),
            Self::SeedExamples(spec) => spec.validate(),
        }
    }

    /// Run the experiment: its tables and any trained weights.
    pub fn run(&self) -> Output {
        match self {
            Self::FdConvergence(spec) => spec.run().into(),
            Self::ButcherTrees(spec) => spec.run().into(),
            Self::RkConvergence(spec) => spec.run().into(),
            Self::QuadratureRules(spec) => spec.run().into(),
            Self::NoisyDerivative(spec) => spec.run().into(),
            Self::AttentionEquivalence(spec) => spec.run().into(),
            Self::KernelAttention(spec) => spec.run().into(),
            Self::HardAttention(spec) => spec.run().into(),
            Self::QuadratureAttention(spec) => spec.run().into(),
            Self::RkAttention(spec) => spec.run().into(),
            Self::LearnedDerivative(spec) => spec.run(),
            Self::LearnedQuadrature(spec) => spec.run().into(),
            Self::LearnedRk(spec) => spec.run().into(),
            Self::SeedExamples(spec) => spec.run().into(),
        }
    }
}

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
