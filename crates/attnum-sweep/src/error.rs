//! The one error type of the sweep crate: every variant names the file, the field or the sweep.

use std::path::PathBuf;

use thiserror::Error;

/// Errors from reading sweep files, running experiments and writing or reading results.
#[derive(Debug, Error)]
pub enum SweepError {
    /// A file could not be read, written or renamed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// The operating-system error.
        source: std::io::Error,
    },
    /// A sweep file is not valid YAML or does not match the schema.
    #[error("{}:{line}:{column}: {message}", path.display())]
    Syntax {
        /// The sweep file.
        path: PathBuf,
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        column: usize,
        /// What is wrong, with the field path where known.
        message: String,
    },
    /// A field has a value the experiment cannot use (h ≤ 0, a stencil too small, …).
    #[error("{}: field `{field}`: {message}", path.display())]
    Invalid {
        /// The sweep file.
        path: PathBuf,
        /// The dotted path of the field, e.g. `experiment.fd_convergence.steps.from`.
        field: String,
        /// Why the value is refused.
        message: String,
    },
    /// No sweep of that name exists.
    #[error("no sweep named `{name}`; the sweeps are: {}", available.join(", "))]
    UnknownSweep {
        /// The name asked for.
        name: String,
        /// The sweeps found under `data/sweeps/`.
        available: Vec<String>,
    },
    /// Another run holds the lock of the sweep's results directory.
    #[error("sweep `{name}` is being run by another process (lock {}); wait for it to finish", path.display())]
    Locked {
        /// The sweep.
        name: String,
        /// The lock file.
        path: PathBuf,
    },
    /// A results table could not be encoded, decoded or queried.
    #[error("table {}: {message}", path.display())]
    Table {
        /// The table file (or the table's intended path).
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// Some points of a sweep failed; the others are cached and a rerun computes only these.
    #[error("sweep `{name}`: {} point(s) failed (the others are kept):\n{}", failures.len(), failures.join("\n"))]
    PointsFailed {
        /// The sweep.
        name: String,
        /// Each failed point's configuration and message.
        failures: Vec<String>,
    },
    /// `merge` found points that no shard has computed.
    #[error("sweep `{name}`: {} point(s) not computed yet; run their shards first:\n{}", missing.len(), missing.join("\n"))]
    MissingPoints {
        /// The sweep.
        name: String,
        /// Each missing point with its index.
        missing: Vec<String>,
    },
    /// A manifest could not be parsed.
    #[error("manifest {}: {message}", path.display())]
    Manifest {
        /// The manifest file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
}

impl SweepError {
    /// Wrap an I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }
}

/// Result alias for the sweep crate.
pub type Result<T> = std::result::Result<T, SweepError>;
