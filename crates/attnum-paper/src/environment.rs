//! What the reproducibility appendix states about running the pipeline: the verification tiers
//! with their measured times (from the manifests), the toolchain and the versions of the crates
//! the results depend on (from `Cargo.lock`), the TeX engine, and the tolerances of `verify`.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use attnum_sweep::manifest::Manifest;
use attnum_sweep::{SweepSpec, Tier};
use serde::Serialize;

/// The crates whose versions the appendix lists.
const CRATES: &[&str] = &[
    "candle-core",
    "polars",
    "plotters",
    "tera",
    "serde_yaml",
    "safetensors",
    "rand_chacha",
];

/// One verification tier.
#[derive(Debug, Serialize)]
pub struct TierTime {
    /// `quick` or `full`.
    pub name: &'static str,
    /// Sweeps it reruns.
    pub sweeps: usize,
    /// Their points.
    pub points: usize,
    /// The sum of the sweeps' wall times in their manifests, seconds.
    pub wall_seconds: f64,
}

/// A declared `verify` tolerance.
#[derive(Debug, Serialize)]
pub struct DeclaredTolerance {
    /// Sweep.
    pub sweep: String,
    /// Column pattern.
    pub column: String,
    /// Absolute part.
    pub abs: f64,
    /// Relative part.
    pub rel: f64,
}

/// The appendix's facts.
#[derive(Debug, Serialize)]
pub struct Environment {
    /// Quick and full tier.
    pub tiers: Vec<TierTime>,
    /// rustc of the runs (from the manifests; several when they differ).
    pub rustc: Vec<String>,
    /// `(crate, version)` from `Cargo.lock`.
    pub crates: Vec<(String, String)>,
    /// The first line of `pdflatex --version`.
    pub tex: String,
    /// The tolerance of a column without a declared one.
    pub default_tolerance: (f64, f64),
    /// Every declared tolerance, by sweep and column.
    pub tolerances: Vec<DeclaredTolerance>,
}

/// Collect the facts for the sweeps `specs` with their `manifests`.
pub fn collect(
    root: &Path,
    specs: &BTreeMap<String, SweepSpec>,
    manifests: &BTreeMap<String, Manifest>,
) -> Environment {
    let tier = |name: &'static str, keep: &dyn Fn(&SweepSpec) -> bool| {
        let chosen: Vec<&Manifest> = specs
            .iter()
            .filter(|(_, spec)| keep(spec))
            .filter_map(|(sweep, _)| manifests.get(sweep))
            .collect();
        TierTime {
            name,
            sweeps: chosen.len(),
            points: chosen.iter().map(|m| m.points.len()).sum(),
            wall_seconds: chosen.iter().map(|m| m.wall_seconds).sum(),
        }
    };
    let mut rustc: Vec<String> = manifests.values().map(|m| m.rustc.clone()).collect();
    rustc.sort();
    rustc.dedup();
    let lock = std::fs::read_to_string(root.join("Cargo.lock")).unwrap_or_default();
    let crates = CRATES
        .iter()
        .filter_map(|name| locked_version(&lock, name).map(|v| ((*name).to_owned(), v)))
        .collect();
    let tex = Command::new("pdflatex")
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .next()
                .map(str::to_owned)
        })
        .unwrap_or_else(|| "not found".into());
    let mut tolerances = Vec::new();
    for (sweep, spec) in specs {
        for (column, t) in &spec.verify {
            tolerances.push(DeclaredTolerance {
                sweep: sweep.clone(),
                column: column.clone(),
                abs: t.abs,
                rel: t.rel,
            });
        }
    }
    let default = attnum_sweep::spec::Tolerance::DEFAULT;
    Environment {
        tiers: vec![
            tier("quick", &|s| s.tier == Tier::Quick),
            tier("full", &|_| true),
        ],
        rustc,
        crates,
        tex,
        default_tolerance: (default.abs, default.rel),
        tolerances,
    }
}

/// The version of `name` in a `Cargo.lock` (the first, if several).
fn locked_version(lock: &str, name: &str) -> Option<String> {
    let marker = format!("name = \"{name}\"\n");
    let at = lock.find(&marker)? + marker.len();
    let line = lock[at..].lines().next()?;
    line.strip_prefix("version = \"")
        .and_then(|v| v.strip_suffix('"'))
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_read_from_the_lock_file() {
        let lock = "[[package]]\nname = \"polars\"\nversion = \"0.55.1\"\nsource = \"x\"\n";
        assert_eq!(locked_version(lock, "polars").as_deref(), Some("0.55.1"));
        assert_eq!(locked_version(lock, "plotters"), None);
    }
}
