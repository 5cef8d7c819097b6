//! The paper renderer's error type: each variant names the file, query, figure or log involved.

use std::path::PathBuf;

use attnum_results::ResultsError;
use thiserror::Error;

/// Errors from rendering figures, numbers and templates, and from compiling the PDF.
#[derive(Debug, Error)]
pub enum PaperError {
    /// Reading results, manifests or sweep files failed.
    #[error(transparent)]
    Results(#[from] ResultsError),
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file involved.
        path: PathBuf,
        /// The operating-system error.
        source: std::io::Error,
    },
    /// A named query of `paper/numbers.yaml` is invalid or matches no (or several) rows.
    #[error("{}: number `{name}`: {message}", path.display())]
    Query {
        /// The numbers file.
        path: PathBuf,
        /// The macro name.
        name: String,
        /// What is wrong.
        message: String,
    },
    /// The literature or claims file is invalid.
    #[error(transparent)]
    Literature(#[from] attnum_literature::LiteratureError),
    /// A claim of `data/claims.yaml` has evidence that cannot be evaluated.
    #[error("data/claims.yaml: claim `{claim}`: {message}")]
    Claim {
        /// The claim's id.
        claim: String,
        /// What is wrong (e.g. its query matches no row).
        message: String,
    },
    /// A committed measurement of `data/measurements/` is missing or invalid.
    #[error("{}: {message}", path.display())]
    Measurement {
        /// The measurement file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A template failed to parse or render (e.g. it uses an undefined variable).
    #[error("template {}: {message}", path.display())]
    Template {
        /// The template file.
        path: PathBuf,
        /// Tera's message.
        message: String,
    },
    /// A figure could not be drawn or converted.
    #[error("figure `{name}`: {message}")]
    Figure {
        /// The figure's name.
        name: String,
        /// What went wrong.
        message: String,
    },
    /// LaTeX is missing or the document failed to compile.
    #[error("LaTeX: {message}")]
    Latex {
        /// The first errors of the log, or why latexmk could not run.
        message: String,
    },
}

impl PaperError {
    /// Wrap an I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }
}

impl From<tera::Error> for PaperError {
    fn from(e: tera::Error) -> Self {
        Self::Template {
            path: PathBuf::from("(tera)"),
            message: e.to_string(),
        }
    }
}

/// Result alias for the paper crate.
pub type Result<T> = std::result::Result<T, PaperError>;
