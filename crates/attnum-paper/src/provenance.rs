//! Provenance lines for captions: where a figure's or a table's numbers come from, as links into
//! the repository at the commit the PDF is built from.
//!
//! A line names each sweep (its file, number of points and a short hash of its parsed
//! configuration), the results tables read and the manifest (which the PDF also carries as an
//! attachment, `\embedfile` in `paper.tex`).

use std::collections::BTreeMap;
use std::path::Path;

use attnum_results::git::git_output;
use attnum_results::manifest::{Manifest, sha256_hex};

/// The repository the links point into (the workspace's `repository`).
pub const REPOSITORY: &str = env!("CARGO_PKG_REPOSITORY");

/// `git rev-parse HEAD` at `root`, or `main` outside a git checkout (links then follow the
/// branch).
pub fn build_commit(root: &Path) -> String {
    git_output(root, &["rev-parse", "HEAD"])
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "main".into())
}

/// The first 12 hex digits of the SHA-256 of a manifest's parsed configuration.
pub fn config_hash(manifest: &Manifest) -> String {
    sha256_hex(manifest.config.to_string().as_bytes())[..12].to_owned()
}

/// `\href{REPOSITORY/blob/COMMIT/PATH}{\texttt{TEXT}}`.
fn link(commit: &str, path: &str, text: &str) -> String {
    format!(
        "\\href{{{REPOSITORY}/blob/{commit}/{path}}}{{\\texttt{{{}}}}}",
        text.replace('_', "\\_")
    )
}

/// The provenance line of the given tables (`SWEEP/STEM` keys), grouped by sweep.
pub fn line(commit: &str, manifests: &BTreeMap<String, Manifest>, tables: &[String]) -> String {
    let mut by_sweep: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for key in tables {
        let (sweep, stem) = key.split_once('/').unwrap_or((key, ""));
        by_sweep.entry(sweep).or_default().push(stem);
    }
    let parts: Vec<String> = by_sweep
        .iter()
        .filter_map(|(sweep, stems)| {
            let manifest = manifests.get(*sweep)?;
            let tables: Vec<String> = stems
                .iter()
                .map(|stem| {
                    let file = format!("{stem}.parquet");
                    link(commit, &format!("results/{sweep}/{file}"), &file)
                })
                .collect();
            Some(format!(
                "sweep {} ({} point{}, configuration \\texttt{{{}}}), {} {}, manifest {}",
                link(commit, &manifest.sweep_file, &manifest.sweep_file),
                manifest.points.len(),
                if manifest.points.len() == 1 { "" } else { "s" },
                config_hash(manifest),
                if tables.len() == 1 { "table" } else { "tables" },
                tables.join(", "),
                link(
                    commit,
                    &format!("results/{sweep}/manifest.json"),
                    "manifest.json"
                ),
            ))
        })
        .collect();
    format!(
        "Source: {}; commit \\texttt{{{}}}.",
        parts.join("; "),
        &commit[..commit.len().min(12)]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_escape_underscores_in_text_but_not_in_urls() {
        let l = link(
            "abc",
            "results/fd_convergence/table.parquet",
            "table_x.parquet",
        );
        assert_eq!(
            l,
            format!(
                "\\href{{{REPOSITORY}/blob/abc/results/fd_convergence/table.parquet}}{{\\texttt{{table\\_x.parquet}}}}"
            )
        );
    }
}
