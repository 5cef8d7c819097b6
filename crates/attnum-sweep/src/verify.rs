//! `attnum verify`: recompute a sweep in memory and compare it with its committed results,
//! column by column, with the tolerances the sweep file declares; report missing or tampered
//! artifacts by their manifest hashes.

use crate::Workspace;
use crate::engine::compute_in_memory;
use crate::error::Result;
use crate::manifest::{Manifest, sha256_hex};
use crate::spec::SweepFile;
use crate::table::{Cell, Table};

/// One verified claim: a column of a table (or an artifact) and whether it reproduces.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    /// The sweep.
    pub sweep: String,
    /// The table stem or the artifact's file name.
    pub table: String,
    /// The column (`-` for an artifact check).
    pub column: String,
    /// The largest deviation found (infinite for a mismatch that is not numeric).
    pub max_deviation: f64,
    /// The tolerance applied, in words.
    pub tolerance: String,
    /// Whether it passed.
    pub pass: bool,
    /// Why it failed, if it did.
    pub note: String,
}

/// The largest deviation between two columns and whether every cell is within `tolerance`.
fn compare_column(
    fresh: &[Cell],
    committed: &[Cell],
    tolerance: crate::spec::Tolerance,
) -> (f64, bool) {
    let mut max = 0.0f64;
    let mut pass = true;
    for (a, b) in fresh.iter().zip(committed) {
        match (a.as_f64(), b.as_f64()) {
            (Some(x), Some(y)) => {
                if !(x.is_nan() && y.is_nan()) {
                    max = max.max((x - y).abs());
                }
                pass &= tolerance.accepts(x, y);
            }
            _ if a == b => {}
            _ => {
                max = f64::INFINITY;
                pass = false;
            }
        }
    }
    (max, pass)
}

/// Verify one sweep: its artifacts against the manifest, and a fresh computation against the
/// committed tables.
///
/// # Errors
/// An unreadable manifest or results directory.
pub fn verify(workspace: &Workspace, sweep: &SweepFile) -> Result<Vec<Check>> {
    let name = sweep.spec.name.clone();
    let dir = workspace.results_dir(&name);
    let check =
        |table: &str, column: &str, max: f64, tolerance: String, pass: bool, note: String| Check {
            sweep: name.clone(),
            table: table.to_owned(),
            column: column.to_owned(),
            max_deviation: max,
            tolerance,
            pass,
            note,
        };
    // A check that failed outright (nothing to compare), with the reason.
    let failure =
        |table: &str, note: String| check(table, "-", f64::INFINITY, "-".into(), false, note);
    let mut checks = Vec::new();
    let Some(manifest) = Manifest::read(&dir.join("manifest.json"))? else {
        checks.push(failure("manifest.json", "no committed results".into()));
        return Ok(checks);
    };
    for (file, hash) in &manifest.outputs {
        let (pass, note) = match std::fs::read(dir.join(file)) {
            Ok(bytes) if sha256_hex(&bytes) == *hash => (true, String::new()),
            Ok(bytes) => (
                false,
                format!(
                    "tampered: sha256 {} but the manifest records {}",
                    &sha256_hex(&bytes)[..12],
                    &hash[..12.min(hash.len())]
                ),
            ),
            Err(_) => (false, "missing".into()),
        };
        checks.push(check(
            file,
            "-",
            if pass { 0.0 } else { f64::INFINITY },
            "sha256".into(),
            pass,
            note,
        ));
    }
    for (stem, fresh) in compute_in_memory(sweep)? {
        let path = dir.join(format!("{stem}.parquet"));
        let committed = match Table::read_parquet(&path) {
            Ok(t) => t,
            Err(e) => {
                checks.push(failure(&stem, e.to_string()));
                continue;
            }
        };
        if committed.names() != fresh.names() || committed.height() != fresh.height() {
            checks.push(failure(
                &stem,
                format!(
                    "shape differs: committed {} rows {:?}, fresh {} rows {:?}",
                    committed.height(),
                    committed.names(),
                    fresh.height(),
                    fresh.names()
                ),
            ));
            continue;
        }
        for column in fresh.names() {
            let tolerance = sweep.tolerance(&stem, column);
            let (max, pass) = compare_column(
                fresh.column(column).unwrap_or_default(),
                committed.column(column).unwrap_or_default(),
                tolerance,
            );
            checks.push(check(
                &stem,
                column,
                max,
                format!("abs {:e} + rel {:e}", tolerance.abs, tolerance.rel),
                pass,
                if pass {
                    String::new()
                } else {
                    "outside tolerance".into()
                },
            ));
        }
    }
    Ok(checks)
}
