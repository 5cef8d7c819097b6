//! The one error type of the sweep crate: every variant names the file, the field or the sweep;
//! errors of reading and writing results are [`ResultsError`]s, passed through unchanged.

use std::path::PathBuf;

use attnum_results::ResultsError;
use thiserror::Error;

use crate::experiments::ExperimentError;

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
    /// Another run holds the lock of the sweep's results directory.
    #[error("sweep `{name}` is being run by another process (lock {}); wait for it to finish", path.display())]
    Locked {
        /// The sweep.
        name: String,
        /// The lock file.
        path: PathBuf,
    },
    /// Some points of a sweep failed; the others are cached and a rerun computes only these.
    #[error("sweep `{name}`: {} point(s) failed (the others are kept):\n{}", failures.len(), failures.join("\n"))]
    PointsFailed {
        /// The sweep.
        name: String,
        /// Each failed point's configuration and message.
        failures: Vec<String>,
    },
    /// A library call of an experiment failed at one point (when computing in memory; a run
    /// reports it among [`SweepError::PointsFailed`]).
    #[error("sweep `{name}`, point ({point}): {source}")]
    Experiment {
        /// The sweep.
        name: String,
        /// The point's parameters.
        point: String,
        /// What failed.
        source: Box<ExperimentError>,
    },
    /// `merge` found points that no shard has computed.
    #[error("sweep `{name}`: {} point(s) not computed yet; run their shards first:\n{}", missing.len(), missing.join("\n"))]
    MissingPoints {
        /// The sweep.
        name: String,
        /// Each missing point with its index.
        missing: Vec<String>,
    },
    /// A sweep file could not be parsed, or results, a manifest or a table could not be read or
    /// written ([`ResultsError`]).
    #[error(transparent)]
    Results(#[from] ResultsError),
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
