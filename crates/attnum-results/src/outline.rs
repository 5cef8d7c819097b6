//! What can be read of a sweep file without knowing the experiments: its name, description,
//! verification tier, point limit and the tolerances of `attnum verify`.
//!
//! The experiment and its variations are skipped unread here: `attnum-sweep` parses and validates
//! the whole file (its `SweepSpec` has the same top-level fields, and a test there checks that
//! both read every committed sweep file alike). The paper reads tiers and tolerances through this
//! outline, so that rendering the paper never links the experiments' code.

use std::collections::BTreeMap;

use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};

/// Which verification tier reruns a sweep.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    /// Rerun by the quick tier (minutes).
    Quick,
    /// Rerun only by the full tier.
    Full,
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

/// A sweep file with its experiment and variations skipped: the fields every reader of results
/// may need. Unknown top-level fields are refused, as the full parse refuses them.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepOutline {
    /// The sweep's name (the file stem).
    pub name: String,
    /// One or two sentences about the sweep.
    pub description: String,
    /// Verification tier.
    pub tier: Tier,
    /// The experiment, not read here.
    #[allow(dead_code)]
    // present so that the field is known; its contents belong to attnum-sweep
    experiment: IgnoredAny,
    /// The points, not read here.
    #[serde(default)]
    #[allow(dead_code)]
    vary: IgnoredAny,
    /// The most points the file allows, if it raises the default limit.
    #[serde(default)]
    pub max_points: Option<usize>,
    /// Tolerances of `attnum verify` by column (`COLUMN`, `STEM.COLUMN` or `*`).
    #[serde(default)]
    pub verify: BTreeMap<String, Tolerance>,
}
