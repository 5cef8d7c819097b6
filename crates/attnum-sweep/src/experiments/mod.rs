//! The experiment kinds a sweep file can declare, and their dispatch.
//!
//! To add an experiment: write a module here with a `deny_unknown_fields` spec struct, a
//! `validate` returning `(field path, message)` and a `run` returning named tables; add a variant
//! to [`ExperimentSpec`] and its three match arms below; add `data/sweeps/NAME.yaml`.

pub mod fd_convergence;

use serde::{Deserialize, Serialize};

use crate::table::Table;

/// One experiment kind with its parameters (the single key under `experiment:`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ExperimentSpec {
    /// Error of finite-difference stencils against the step.
    FdConvergence(fd_convergence::FdConvergence),
}

/// A table produced by an experiment, with its file stem (`table` is the main one).
#[derive(Debug, Clone, PartialEq)]
pub struct NamedTable {
    /// File stem under `results/SWEEP/`.
    pub stem: &'static str,
    /// The table.
    pub table: Table,
}

/// A refused parameter: the field path below `experiment.KIND` and the reason.
pub type FieldError = (String, String);

impl ExperimentSpec {
    /// The experiment kind as written in the sweep file.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::FdConvergence(_) => "fd_convergence",
        }
    }

    /// Check every parameter the experiment will use.
    pub fn validate(&self) -> Result<(), FieldError> {
        match self {
            Self::FdConvergence(spec) => spec.validate(),
        }
    }

    /// Run every point and return the experiment's tables.
    pub fn run(&self) -> Vec<NamedTable> {
        match self {
            Self::FdConvergence(spec) => spec.run(),
        }
    }
}
