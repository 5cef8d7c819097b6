//! The sweep file: `data/sweeps/NAME.yaml`, parsed and validated.
//!
//! ```yaml
//! name: fd_convergence          # must equal the file stem
//! description: ...
//! tier: quick                   # quick | full (which verification tier reruns it)
//! experiment:
//!   fd_convergence: { ... }     # exactly one experiment kind, with its own parameters
//! ```

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Result, SweepError};
use crate::experiments::ExperimentSpec;

/// Which verification tier reruns a sweep.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    /// Rerun by the quick tier (minutes).
    Quick,
    /// Rerun only by the full tier.
    Full,
}

/// A parsed sweep file.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SweepSpec {
    /// The sweep's name, equal to its file stem; results go to `results/NAME/`.
    pub name: String,
    /// One or two sentences for `attnum sweep list` and the paper's provenance lines.
    pub description: String,
    /// Verification tier.
    pub tier: Tier,
    /// The experiment and its parameters.
    #[serde(with = "serde_yaml::with::singleton_map")]
    pub experiment: ExperimentSpec,
}

/// A sweep file together with where it came from.
#[derive(Debug, Clone)]
pub struct SweepFile {
    /// Path of the YAML file.
    pub path: PathBuf,
    /// Its exact bytes (hashed into the manifest).
    pub bytes: Vec<u8>,
    /// The parsed and validated spec.
    pub spec: SweepSpec,
}

impl SweepFile {
    /// The parsed configuration as JSON, as recorded in the manifest.
    pub fn config(&self) -> serde_json::Value {
        serde_json::to_value(&self.spec).expect("sweep specs serialise")
    }

    /// Read, parse and validate a sweep file.
    pub fn load(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| SweepError::io(path, e))?;
        let text = String::from_utf8(bytes.clone()).map_err(|e| SweepError::Syntax {
            path: path.to_owned(),
            line: 1,
            column: 1,
            message: format!("not UTF-8: {e}"),
        })?;
        let spec: SweepSpec = crate::yaml::parse(path, &text)?;
        let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned());
        if stem.as_deref() != Some(spec.name.as_str()) {
            return Err(SweepError::Invalid {
                path: path.to_owned(),
                field: "name".into(),
                message: format!(
                    "`{}` must equal the file name without `.yaml` (`{}`)",
                    spec.name,
                    stem.unwrap_or_default()
                ),
            });
        }
        spec.experiment
            .validate()
            .map_err(|(field, message)| SweepError::Invalid {
                path: path.to_owned(),
                field: format!("experiment.{}.{field}", spec.experiment.kind()),
                message,
            })?;
        Ok(Self {
            path: path.to_owned(),
            bytes,
            spec,
        })
    }
}
