//! The sweep file: `data/sweeps/NAME.yaml`, parsed and validated.
//!
//! ```yaml
//! name: fd_convergence          # must equal the file stem
//! description: ...
//! tier: quick                   # quick | full (which verification tier reruns it)
//! experiment:
//!   fd_convergence: { ... }     # exactly one experiment kind, with its own parameters
//! vary: { grid: ..., zip: ..., points: ... }   # optional: the points (see `points`)
//! verify:                       # optional: tolerances of `attnum verify`, by column
//!   error: { abs: 1.0e-14, rel: 1.0e-9 }       # `COLUMN`, `STEM.COLUMN` or `*`
//! ```
//!
//! The full reference is `docs/sweep-schema.md` (`attnum sweep schema`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Result, SweepError};
use crate::experiments::ExperimentSpec;
use crate::points::{Point, Variations, apply, complete};

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
    /// The points: variations of the experiment's parameters.
    #[serde(default, skip_serializing_if = "Variations::is_empty")]
    pub vary: Variations,
    /// Tolerances of `attnum verify` by column (`COLUMN`, `STEM.COLUMN` or `*`); they do not
    /// affect the results.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub verify: BTreeMap<String, Tolerance>,
}

/// How far a recomputed value may be from the committed one: `|a − b| ≤ abs + rel·|b|`.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Tolerance {
    /// Absolute part (≥ 0).
    #[serde(default)]
    pub abs: f64,
    /// Relative part (≥ 0).
    #[serde(default)]
    pub rel: f64,
}

impl Tolerance {
    /// The tolerance when a sweep declares none for a column: the last bits of double precision
    /// may differ between machines (vectorised kernels), nothing more.
    pub const DEFAULT: Self = Self {
        abs: 1e-13,
        rel: 1e-9,
    };

    /// Whether `value` is within tolerance of `reference`.
    pub fn accepts(&self, value: f64, reference: f64) -> bool {
        (value.is_nan() && reference.is_nan())
            || value == reference
            || (value - reference).abs() <= self.abs + self.rel * reference.abs()
    }
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
    /// Its points, each with the experiment as it runs there (validated).
    pub points: Vec<(Point, ExperimentSpec)>,
}

impl SweepFile {
    /// The parsed configuration as JSON, as recorded in the manifest: everything the results
    /// depend on (the `verify` tolerances do not).
    pub fn config(&self) -> serde_json::Value {
        let mut value = serde_json::to_value(&self.spec).expect("sweep specs serialise");
        if let Some(map) = value.as_object_mut() {
            map.remove("verify");
        }
        value
    }

    /// The tolerance for `column` of table `stem`: `STEM.COLUMN`, else `COLUMN`, else `*`,
    /// else [`Tolerance::DEFAULT`].
    pub fn tolerance(&self, stem: &str, column: &str) -> Tolerance {
        let verify = &self.spec.verify;
        verify
            .get(&format!("{stem}.{column}"))
            .or_else(|| verify.get(column))
            .or_else(|| verify.get("*"))
            .copied()
            .unwrap_or(Tolerance::DEFAULT)
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
        let invalid = |field: String, message: String| SweepError::Invalid {
            path: path.to_owned(),
            field,
            message,
        };
        spec.experiment.validate().map_err(|(field, message)| {
            invalid(
                format!("experiment.{}.{field}", spec.experiment.kind()),
                message,
            )
        })?;
        for (column, t) in &spec.verify {
            for (part, v) in [("abs", t.abs), ("rel", t.rel)] {
                if !(v.is_finite() && v >= 0.0) {
                    return Err(invalid(
                        format!("verify.{column}.{part}"),
                        format!("must be a finite number ≥ 0, got {v}"),
                    ));
                }
            }
        }
        let mut points = spec
            .vary
            .points()
            .map_err(|(field, message)| invalid(format!("vary.{field}"), message))?;
        complete(&mut points, &spec.experiment)
            .map_err(|(field, message)| invalid(field, message))?;
        let points = points
            .into_iter()
            .map(|point| {
                let experiment = apply(&spec.experiment, &point)
                    .map_err(|(field, message)| invalid(field, message))?;
                Ok((point, experiment))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            path: path.to_owned(),
            bytes,
            spec,
            points,
        })
    }
}
