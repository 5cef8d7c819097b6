//! The sweep file: `data/sweeps/NAME.yaml`, parsed and validated.
//!
//! ```yaml
//! name: fd_convergence          # must equal the file stem
//! description: ...
//! tier: quick                   # quick | full (which verification tier reruns it)
//! experiment:
//!   fd_convergence: { ... }     # exactly one experiment kind, with its own parameters
//! vary: { grid: ..., zip: ..., points: ... }   # optional: the points (see `points`)
//! max_points: 20000             # optional: raise the limit of 10 000 points (at most 1 000 000)
//! verify:                       # optional: tolerances of `attnum verify`, by column
//!   error: { abs: 1.0e-14, rel: 1.0e-9 }       # `COLUMN`, `STEM.COLUMN` or `*`
//! ```
//!
//! The full reference is `docs/sweep-schema.md` (`attnum sweep schema`).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use attnum_results::{ResultsError, Tier, Tolerance};
use serde::{Deserialize, Serialize};

use crate::error::{Result, SweepError};
use crate::experiments::{ExperimentSpec, FieldError};
use crate::points::{Point, Variations, apply, check_paths, complete, describe};

/// The most points a sweep may declare unless its file raises the limit with `max_points`:
/// reading a sweep expands its points in memory, and every command reads every sweep file.
pub const DEFAULT_MAX_POINTS: usize = 10_000;

/// The most points `max_points` may allow (about 2 GB of expanded points).
pub const MAX_POINTS_CEILING: usize = 1_000_000;

/// A parsed sweep file. Its top-level fields are those of [`attnum_results::SweepOutline`],
/// which reads them without the experiments (`tests/committed_results.rs` checks that both read
/// every committed sweep file alike).
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
    /// The most points `vary` may declare ([`DEFAULT_MAX_POINTS`] when absent, at most
    /// [`MAX_POINTS_CEILING`]); it does not affect the results.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_points: Option<usize>,
    /// Tolerances of `attnum verify` by column (`COLUMN`, `STEM.COLUMN` or `*`); they do not
    /// affect the results.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub verify: BTreeMap<String, Tolerance>,
}

/// One point of a sweep: the values of the varied paths, the experiment as it runs there
/// (validated), and its cache key.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepPoint {
    /// The varied paths and their values (empty for an unvaried sweep).
    pub values: Point,
    /// The experiment with those values set.
    pub experiment: ExperimentSpec,
    /// The cache key ([`crate::engine::point_key`]).
    pub key: String,
}

/// A sweep file together with where it came from. [`SweepFile::open`] parses and checks it and
/// counts its points without expanding them; [`SweepFile::points`] expands and validates them
/// on first use ([`SweepFile::load`] does both at once).
#[derive(Debug, Clone)]
pub struct SweepFile {
    /// Path of the YAML file.
    pub path: PathBuf,
    /// Its exact bytes (hashed into the manifest).
    pub bytes: Vec<u8>,
    /// The parsed and validated spec.
    pub spec: SweepSpec,
    /// The number of points (at most the file's limit).
    pub point_count: usize,
    points: OnceLock<Vec<SweepPoint>>,
}

impl SweepFile {
    /// The parsed configuration as JSON, as recorded in the manifest: everything the results
    /// depend on (the `verify` tolerances do not).
    pub fn config(&self) -> serde_json::Value {
        let mut value = serde_json::to_value(&self.spec).expect("sweep specs serialise");
        if let Some(map) = value.as_object_mut() {
            map.remove("verify");
            map.remove("max_points");
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

    /// Read, parse and validate a sweep file and every one of its points.
    ///
    /// # Errors
    /// As [`SweepFile::open`] and [`SweepFile::points`].
    pub fn load(path: &Path) -> Result<Self> {
        let sweep = Self::open(path)?;
        sweep.points()?;
        Ok(sweep)
    }

    /// Read, parse and validate a sweep file, and count its points without expanding them.
    ///
    /// # Errors
    /// An unreadable file, a syntax or schema error (`file:line:column`), an invalid field, a
    /// varied path that names no parameter or a column the experiment writes, or more points than
    /// the file's limit.
    pub fn open(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| SweepError::io(path, e))?;
        let text = String::from_utf8(bytes.clone()).map_err(|e| ResultsError::Syntax {
            path: path.to_owned(),
            line: 1,
            column: 1,
            message: format!("not UTF-8: {e}"),
        })?;
        let spec: SweepSpec = attnum_results::yaml::parse(path, &text)?;
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
        if spec.name == "figures" {
            return Err(invalid(
                "name".into(),
                "`figures` is reserved: results/figures/ holds the paper's figures".into(),
            ));
        }
        spec.experiment.validate().map_err(
            |FieldError {
                 path: field,
                 message,
             }| {
                invalid(
                    format!("experiment.{}.{field}", spec.experiment.kind()),
                    message,
                )
            },
        )?;
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
        let limit = spec.max_points.unwrap_or(DEFAULT_MAX_POINTS);
        if !(1..=MAX_POINTS_CEILING).contains(&limit) {
            return Err(invalid(
                "max_points".into(),
                format!("must be between 1 and {MAX_POINTS_CEILING}, got {limit}"),
            ));
        }
        let count = spec.vary.count().map_err(
            |FieldError {
                 path: field,
                 message,
             }| invalid(format!("vary.{field}"), message),
        )?;
        if count > limit as u128 {
            let raise = if spec.max_points.is_none() {
                format!(
                    "; if you mean it, raise the limit of {DEFAULT_MAX_POINTS} with a top-level \
                     `max_points: {count}` (at most {MAX_POINTS_CEILING})"
                )
            } else {
                String::new()
            };
            return Err(invalid(
                "vary".into(),
                format!(
                    "declares {count} points ({}), more than the limit of {limit}{raise}",
                    point_product(&spec.vary)
                ),
            ));
        }
        check_paths(&spec.vary, &spec.experiment).map_err(
            |FieldError {
                 path: field,
                 message,
             }| invalid(field, message),
        )?;
        check_tolerance_keys(&spec).map_err(
            |FieldError {
                 path: field,
                 message,
             }| invalid(field, message),
        )?;
        Ok(Self {
            path: path.to_owned(),
            bytes,
            point_count: usize::try_from(count).unwrap_or(usize::MAX),
            spec,
            points: OnceLock::new(),
        })
    }

    /// The points, expanded and validated on first use.
    ///
    /// # Errors
    /// A point the experiment refuses (field `vary point PATH = VALUE → experiment.KIND.FIELD`),
    /// or two points with the same configuration (field `vary`).
    pub fn points(&self) -> Result<&[SweepPoint]> {
        if let Some(points) = self.points.get() {
            return Ok(points);
        }
        let points = self.expand()?;
        Ok(self.points.get_or_init(|| points))
    }

    fn expand(&self) -> Result<Vec<SweepPoint>> {
        let invalid = |field: String, message: String| SweepError::Invalid {
            path: self.path.clone(),
            field,
            message,
        };
        let spec = &self.spec;
        let mut values = spec.vary.points().map_err(
            |FieldError {
                 path: field,
                 message,
             }| invalid(format!("vary.{field}"), message),
        )?;
        complete(&mut values, &spec.experiment).map_err(
            |FieldError {
                 path: field,
                 message,
             }| invalid(field, message),
        )?;
        let mut first_of: HashMap<String, usize> = HashMap::with_capacity(values.len());
        let mut points = Vec::with_capacity(values.len());
        for (i, values) in values.into_iter().enumerate() {
            let experiment = apply(&spec.experiment, &values).map_err(
                |FieldError {
                     path: field,
                     message,
                 }| invalid(field, message),
            )?;
            let key = crate::engine::point_key(&experiment);
            if let Some(&j) = first_of.get(&key) {
                let earlier: &SweepPoint = &points[j];
                return Err(invalid(
                    "vary".into(),
                    format!(
                        "points {} ({}) and {} ({}) are the same configuration; remove one",
                        j + 1,
                        describe(&earlier.values),
                        i + 1,
                        describe(&values)
                    ),
                ));
            }
            first_of.insert(key.clone(), i);
            points.push(SweepPoint {
                values,
                experiment,
                key,
            });
        }
        Ok(points)
    }
}

/// Every tolerance must name a column (`COLUMN`, `STEM.COLUMN` or `*`) that the sweep's tables
/// have: a misspelt one would silently leave its column at the default tolerance.
fn check_tolerance_keys(spec: &SweepSpec) -> std::result::Result<(), FieldError> {
    let kind = spec.experiment.kind();
    let mut columns = crate::points::written_columns(kind);
    columns.extend(spec.vary.paths());
    let stems = crate::points::written_stems(kind);
    for key in spec.verify.keys() {
        let known = key == "*"
            || columns.contains(key.as_str())
            || key
                .split_once('.')
                .is_some_and(|(stem, column)| stems.contains(stem) && columns.contains(column));
        if !known {
            return Err(FieldError::new(
                format!("verify.{key}"),
                format!(
                    "names no column of the tables of experiment `{kind}` (`COLUMN`, \
                     `STEM.COLUMN` or `*`; the tables are {} and the columns {})",
                    stems.into_iter().collect::<Vec<_>>().join(", "),
                    columns.into_iter().collect::<Vec<_>>().join(", ")
                ),
            ));
        }
    }
    Ok(())
}

/// `10 × 10 × …`: the factors of a point count, for messages.
fn point_product(vary: &Variations) -> String {
    let mut factors: Vec<String> = vary
        .grid
        .iter()
        .map(|(path, v)| format!("grid.{path}: {}", v.len()))
        .collect();
    if let Some((path, v)) = vary.zip.iter().next() {
        factors.push(format!("zip.{path}: {}", v.len()));
    }
    if !vary.points.is_empty() {
        factors.push(format!("points: {}", vary.points.len()));
    }
    factors.join(" × ")
}
