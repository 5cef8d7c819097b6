//! The one place where YAML is parsed: typed deserialisation with `file:line:column` errors.
//!
//! Every config struct read through here uses `#[serde(deny_unknown_fields)]`, so a misspelt field
//! is an error at its position, never silently ignored. `serde_yaml` can be swapped for a
//! maintained fork in this file alone.

use std::path::Path;

use serde::de::DeserializeOwned;

use crate::error::{Result, ResultsError};

/// Deserialise `text` (the contents of `path`) into `T`.
///
/// # Errors
/// [`ResultsError::Syntax`] with the 1-based line and column and serde's message, which names the
/// field path (e.g. `experiment.fd_convergence.steps: unknown field `form``).
pub fn parse<T: DeserializeOwned>(path: &Path, text: &str) -> Result<T> {
    serde_yaml::from_str(text).map_err(|e| {
        let (line, column) = e.location().map_or((1, 1), |l| (l.line(), l.column()));
        let full = e.to_string();
        let suffix = format!(" at line {line} column {column}");
        let message = full.replacen(&suffix, "", 1);
        ResultsError::Syntax {
            path: path.to_owned(),
            line,
            column,
            message,
        }
    })
}

/// Read and parse the YAML file at `path`.
pub fn read<T: DeserializeOwned>(path: &Path) -> Result<T> {
    let text = std::fs::read_to_string(path).map_err(|e| ResultsError::io(path, e))?;
    parse(path, &text)
}
