//! The one error type of the results crate: every variant names the file or the sweep involved.

use std::path::PathBuf;

use thiserror::Error;

/// Errors from reading and writing results, manifests and YAML files.
#[derive(Debug, Error)]
pub enum ResultsError {
    /// A file could not be read, written or renamed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// The operating-system error.
        source: std::io::Error,
    },
    /// A YAML file is not valid YAML or does not match its schema.
    #[error("{}:{line}:{column}: {message}", path.display())]
    Syntax {
        /// The file.
        path: PathBuf,
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        column: usize,
        /// What is wrong, with the field path where known.
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
    /// A results table could not be encoded, decoded or queried.
    #[error("table {}: {message}", path.display())]
    Table {
        /// The table file (or the table's intended path).
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// A manifest (or a point record of the cache) could not be parsed.
    #[error("manifest {}: {message}", path.display())]
    Manifest {
        /// The manifest file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
}

impl ResultsError {
    /// Wrap an I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }
}

/// Result alias for the results crate.
pub type Result<T> = std::result::Result<T, ResultsError>;
