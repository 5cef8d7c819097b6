//! `attnum verify`: recompute a sweep in memory and compare it with its committed results,
//! column by column, with the tolerances the sweep file declares; check every artifact against
//! its manifest hash and every CSV file against its Parquet table; refuse results made from
//! another configuration of the sweep file. A [`Report`] (`attnum-results`) lists what was checked and what was
//! skipped, so that a pass never hides work that was not done.

use attnum_results::manifest::{Manifest, inside, sha256_hex};
use attnum_results::report::{Check, Report};
use attnum_results::{Cell, ResultsError, Table, Tolerance};

use crate::engine::compute_in_memory;
use crate::error::Result;
use crate::spec::SweepFile;
use crate::{StaleReason, Workspace};

/// The largest deviation between two columns and whether every cell is within `tolerance`.
fn compare_column(fresh: &[Cell], committed: &[Cell], tolerance: Tolerance) -> (f64, bool) {
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

/// `sha256 abc… but the manifest records def…`.
fn hash_mismatch(actual: &[u8], recorded: &str) -> String {
    format!(
        "tampered: sha256 {} but the manifest records {}",
        &sha256_hex(actual)[..12],
        &recorded[..12.min(recorded.len())]
    )
}

/// Verify one sweep: that its committed results were made from the sweep file as it is, its
/// artifacts against the manifest, each CSV file against its Parquet table, and a fresh
/// computation against the committed tables.
///
/// # Errors
/// An unreadable results directory or an invalid point.
pub fn verify(workspace: &Workspace, sweep: &SweepFile) -> Result<Report> {
    let name = sweep.spec.name.clone();
    let dir = workspace.results_dir(&name);
    let mut report = Report::new(&name);
    let manifest = match Manifest::read(&dir.join("manifest.json")) {
        Ok(Some(manifest)) => manifest,
        Ok(None) => {
            report.artifact("manifest.json", "-", Some("no committed results".into()));
            report
                .skipped
                .push("everything else: there are no committed results to compare".into());
            return Ok(report);
        }
        Err(e @ ResultsError::Manifest { .. }) => {
            report.artifact("manifest.json", "-", Some(e.to_string()));
            report
                .skipped
                .push("everything else: the manifest cannot vouch for any file".into());
            return Ok(report);
        }
        Err(e) => return Err(e.into()),
    };

    // Results made from another configuration cannot be compared with this one's.
    let reasons = workspace.explain(sweep)?;
    let other: Vec<String> = reasons
        .iter()
        .filter(|r| r.other_configuration())
        .map(ToString::to_string)
        .collect();
    report.artifact(
        "manifest.json",
        "configuration",
        (!other.is_empty()).then(|| {
            format!(
                "stale: the results were made from another configuration ({}); rerun \
                 `attnum sweep run {name}`",
                other.join("; ")
            )
        }),
    );
    report
        .checked
        .push("that the results were made from the sweep file as it is".into());
    for reason in &reasons {
        match reason {
            StaleReason::Code { .. } | StaleReason::Toolchain { .. } => {
                report.notes.push(format!(
                    "{reason}; compared anyway: the checks say whether the results still \
                     reproduce"
                ));
            }
            _ => {}
        }
    }

    for (file, hash) in &manifest.outputs {
        let failure = match inside(&dir, file) {
            Err(why) => Some(why),
            Ok(path) => match std::fs::read(&path) {
                Ok(bytes) if sha256_hex(&bytes) == *hash => None,
                Ok(bytes) => Some(hash_mismatch(&bytes, hash)),
                Err(_) => Some("missing".into()),
            },
        };
        report.artifact(file, "sha256", failure);
    }
    report.checked.push(format!(
        "{} output file(s) against their manifest hashes",
        manifest.outputs.len()
    ));

    // The CSV files are for people and other tools; the Parquet files are compared below. A CSV
    // file must be exactly the Parquet table written as CSV (even when its hash was updated).
    let mut committed_tables = Vec::new();
    for (stem, rows) in &manifest.rows {
        let csv_file = format!("{stem}.csv");
        let committed = workspace.read_table(&name, stem);
        let failure = match &committed {
            Err(e) => Some(format!("{stem}.parquet: {e}")),
            Ok(table) if table.height() != *rows => Some(format!(
                "{stem}.parquet has {} rows, the manifest records {rows}",
                table.height()
            )),
            Ok(table) => match inside(&dir, &csv_file) {
                Err(why) => Some(why),
                Ok(path) => match (std::fs::read(&path), table.encode(&path)) {
                    (Err(_), _) => Some("missing".into()),
                    (_, Err(e)) => Some(e.to_string()),
                    (Ok(bytes), Ok((_, csv))) if bytes == csv => None,
                    (Ok(_), Ok(_)) => Some(format!("differs from {stem}.parquet")),
                },
            },
        };
        report.artifact(&csv_file, &format!("= {stem}.parquet"), failure);
        committed_tables.push((stem.clone(), committed.ok()));
    }
    report.checked.push(format!(
        "{} CSV file(s) against their Parquet tables",
        manifest.rows.len()
    ));

    if !other.is_empty() {
        report
            .skipped
            .push("the recomputation: the committed results are of another configuration".into());
        return Ok(report);
    }
    let fresh_tables = compute_in_memory(sweep)?;
    let mut columns = 0;
    for (stem, fresh) in &fresh_tables {
        let committed = match committed_tables.iter().find(|(s, _)| s == stem) {
            Some((_, Some(table))) => table,
            Some((_, None)) => continue, // already reported as unreadable
            None => {
                report.artifact(
                    stem,
                    "-",
                    Some("the recomputation has this table but the manifest does not".into()),
                );
                continue;
            }
        };
        columns += compare_tables(&mut report, stem, fresh, committed, sweep);
    }
    for (stem, _) in &committed_tables {
        if !fresh_tables.iter().any(|(s, _)| s == stem) {
            report.artifact(
                stem,
                "-",
                Some("the manifest lists this table but the recomputation has none".into()),
            );
        }
    }
    report.checked.push(format!(
        "{columns} column(s) of {} table(s) recomputed from {} point(s)",
        fresh_tables.len(),
        sweep.point_count
    ));
    let weights = manifest
        .outputs
        .keys()
        .filter(|f| f.starts_with("weights/"))
        .count();
    if weights > 0 {
        report.skipped.push(format!(
            "recomputing the {weights} trained weight file(s): only their hashes are checked \
             (the tables computed from them are recomputed)"
        ));
    }
    Ok(report)
}

/// Compare a recomputed table with the committed one, column by column; returns the number of
/// columns compared.
fn compare_tables(
    report: &mut Report,
    stem: &str,
    fresh: &Table,
    committed: &Table,
    sweep: &SweepFile,
) -> usize {
    if committed.names() != fresh.names() || committed.height() != fresh.height() {
        report.artifact(
            stem,
            "-",
            Some(format!(
                "shape differs: committed {} rows {:?}, fresh {} rows {:?}",
                committed.height(),
                committed.names(),
                fresh.height(),
                fresh.names()
            )),
        );
        return 0;
    }
    for column in fresh.names() {
        let tolerance = sweep.tolerance(stem, column);
        let (max, pass) = compare_column(
            fresh.column(column).unwrap_or_default(),
            committed.column(column).unwrap_or_default(),
            tolerance,
        );
        report.checks.push(Check {
            sweep: report.subject.clone(),
            table: stem.to_owned(),
            column: column.clone(),
            max_deviation: max,
            tolerance: format!("abs {:e} + rel {:e}", tolerance.abs, tolerance.rel),
            pass,
            note: if pass {
                String::new()
            } else {
                "outside tolerance".into()
            },
        });
    }
    fresh.names().len()
}
