//! The related work of the paper as checked data.
//!
//! `data/literature.yaml` holds the themes, the entries (each with a verifiable identifier: an
//! arXiv id, a DOI, or a stable URL for blogs and software) and the audit of the works the seed
//! conversation cited (a "not found" records the searches behind it); `data/claims.yaml` holds
//! the audit of the conversation's checkable claims. This crate parses both (one YAML entry
//! point each, `deny_unknown_fields`, errors with `file:line:column`), validates them
//! ([`validate`]: required fields per type, identifier syntax, duplicates, years, themes,
//! balanced braces, search records, citation keys) and renders the bibliography
//! ([`bibtex`]). Rendering into the paper and evaluating the evidence queries of the claims is
//! the paper crate's job.

pub mod bibtex;
pub mod claims;
pub mod model;
pub mod validate;

use std::path::{Path, PathBuf};

use thiserror::Error;

pub use claims::Claims;
pub use model::{Entry, Kind, Literature, Search, SeedCitation, Strategy, Theme, Verdict};

/// Escape `text` so that LaTeX typesets it literally: the ten special characters, `< > |` (as
/// text commands, independent of the font encoding), and the mathematical symbols that data
/// files write in Unicode (`≈ ≤ ≥ × − → ′ σ β λ π γ`, set in math mode). Other non-ASCII
/// letters pass through for `inputenc`/T1. The one escape of the project: the paper's
/// templates and the bibliography both use it.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let replacement = match c {
            '\\' => r"\textbackslash{}",
            '&' => r"\&",
            '%' => r"\%",
            '$' => r"\$",
            '#' => r"\#",
            '_' => r"\_",
            '{' => r"\{",
            '}' => r"\}",
            '~' => r"\textasciitilde{}",
            '^' => r"\textasciicircum{}",
            '<' => r"\textless{}",
            '>' => r"\textgreater{}",
            '|' => r"\textbar{}",
            '≈' => r"\ensuremath{\approx}",
            '≤' => r"\ensuremath{\le}",
            '≥' => r"\ensuremath{\ge}",
            '×' => r"\ensuremath{\times}",
            '−' => r"\ensuremath{-}",
            '→' => r"\ensuremath{\to}",
            '′' => r"\ensuremath{'}",
            'σ' => r"\ensuremath{\sigma}",
            'β' => r"\ensuremath{\beta}",
            'λ' => r"\ensuremath{\lambda}",
            'π' => r"\ensuremath{\pi}",
            'γ' => r"\ensuremath{\gamma}",
            _ => {
                out.push(c);
                continue;
            }
        };
        out.push_str(replacement);
    }
    out
}

/// A problem found in a literature or claims file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The line of the entry (1-based), if it could be located.
    pub line: Option<usize>,
    /// The field path, e.g. `entries[3] (key fornberg1988).doi`.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

/// Why a literature or claims file cannot be used.
#[derive(Debug, Error)]
pub enum LiteratureError {
    /// The file could not be read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating-system error.
        source: std::io::Error,
    },
    /// The YAML is malformed or does not match the schema.
    #[error("{}:{line}:{column}: {message}", path.display())]
    Syntax {
        /// The file.
        path: PathBuf,
        /// Line (1-based).
        line: usize,
        /// Column (1-based).
        column: usize,
        /// The parser's message.
        message: String,
    },
    /// The file parses but breaks the rules of [`validate`].
    #[error("{}", render_problems(path, problems))]
    Invalid {
        /// The file.
        path: PathBuf,
        /// Every problem found.
        problems: Vec<Problem>,
    },
}

fn render_problems(path: &Path, problems: &[Problem]) -> String {
    problems
        .iter()
        .map(|p| match p.line {
            Some(line) => format!("{}:{line}: {}: {}", path.display(), p.field, p.message),
            None => format!("{}: {}: {}", path.display(), p.field, p.message),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Parse YAML text of type `T`, with the position of a syntax or schema error.
pub(crate) fn parse_yaml<T: serde::de::DeserializeOwned>(
    path: &Path,
    text: &str,
) -> Result<T, LiteratureError> {
    serde_yaml::from_str(text).map_err(|e| {
        let (line, column) = e.location().map_or((1, 1), |l| (l.line(), l.column()));
        LiteratureError::Syntax {
            path: path.to_owned(),
            line,
            column,
            message: e.to_string(),
        }
    })
}

/// Read a file.
pub(crate) fn read(path: &Path) -> Result<String, LiteratureError> {
    std::fs::read_to_string(path).map_err(|source| LiteratureError::Io {
        path: path.to_owned(),
        source,
    })
}

/// The 1-based line of the first line of `text` that, trimmed, starts with `- FIELD: VALUE`
/// or `FIELD: VALUE` (how entries are located for error messages).
pub(crate) fn line_of(text: &str, field: &str, value: &str) -> Option<usize> {
    let wanted = [
        format!("- {field}: {value}"),
        format!("{field}: {value}"),
        format!("- {field}: '{value}'"),
        format!("{field}: '{value}'"),
    ];
    text.lines()
        .position(|l| {
            let l = l.trim();
            wanted.iter().any(|w| l == w.as_str())
        })
        .map(|i| i + 1)
}
