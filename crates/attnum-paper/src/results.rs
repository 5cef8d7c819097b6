//! The results the paper is rendered from: every table listed in every sweep's manifest.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use attnum_results::manifest::Manifest;
use attnum_results::{Cell, ResultsError, Table, Workspace};

use crate::error::Result;

/// A labelled curve of a figure: its label and its `(x, y)` points.
pub type Curve = (String, Vec<(f64, f64)>);

/// All results tables, keyed `SWEEP/STEM` (e.g. `fd_convergence/orders`), and the manifests.
#[derive(Debug, Default)]
pub struct Results {
    /// Tables by `SWEEP/STEM`.
    pub tables: BTreeMap<String, Table>,
    /// Manifests by sweep name.
    pub manifests: BTreeMap<String, Manifest>,
    /// The tables each figure has read, by figure name (the figures' provenance).
    read_by_figure: Mutex<BTreeMap<String, BTreeSet<String>>>,
}

impl Results {
    /// The table `SWEEP/STEM`, or an error naming the figure that needs it.
    pub fn table_for_figure(&self, figure: &str, key: &str) -> Result<&Table> {
        if let Ok(mut read) = self.read_by_figure.lock() {
            read.entry(figure.to_owned())
                .or_default()
                .insert(key.to_owned());
        }
        self.tables
            .get(key)
            .ok_or_else(|| crate::error::PaperError::Figure {
                name: figure.to_owned(),
                message: format!("table `{key}` is missing: run its sweep"),
            })
    }

    /// The curves of table `key` for a figure: rows grouped by the values of `label_columns`
    /// (joined by `", "`, in order of first appearance) and kept where `keep` holds, each curve
    /// the points `(x, |y|)` with `|y| > 0` (drawable on a log axis).
    ///
    /// # Errors
    /// A missing table, or a kept row without `x` or `y`.
    pub fn curves(
        &self,
        figure: &str,
        key: &str,
        label_columns: &[&str],
        columns: (&str, &str),
        keep: impl Fn(&Table, usize) -> bool,
    ) -> Result<Vec<Curve>> {
        self.grouped_points(figure, key, label_columns, columns, keep, |y| {
            (y != 0.0 && y.is_finite()).then_some(y.abs())
        })
    }

    /// [`Results::curves`] with the signed values `(x, y)`, zeros kept (for linear axes).
    ///
    /// # Errors
    /// A missing table, or a kept row without `x` or `y`.
    pub fn signed_curves(
        &self,
        figure: &str,
        key: &str,
        label_columns: &[&str],
        columns: (&str, &str),
        keep: impl Fn(&Table, usize) -> bool,
    ) -> Result<Vec<Curve>> {
        self.grouped_points(figure, key, label_columns, columns, keep, |y| {
            y.is_finite().then_some(y)
        })
    }

    /// Rows grouped into curves, each `y` mapped by `value` (`None` drops the point).
    fn grouped_points(
        &self,
        figure: &str,
        key: &str,
        label_columns: &[&str],
        (x, y): (&str, &str),
        keep: impl Fn(&Table, usize) -> bool,
        value: impl Fn(f64) -> Option<f64>,
    ) -> Result<Vec<Curve>> {
        let table = self.table_for_figure(figure, key)?;
        let mut curves: Vec<Curve> = Vec::new();
        for r in (0..table.height()).filter(|&r| keep(table, r)) {
            let label = label_columns
                .iter()
                .map(|c| {
                    table
                        .cell(r, c)
                        .map(|cell| cell.to_string())
                        .unwrap_or_default()
                })
                .collect::<Vec<_>>()
                .join(", ");
            let (Some(px), Some(py)) = (
                table.cell(r, x).and_then(Cell::as_f64),
                table.cell(r, y).and_then(Cell::as_f64),
            ) else {
                return Err(crate::error::PaperError::Figure {
                    name: figure.to_owned(),
                    message: format!("row {r} of `{key}` lacks `{x}` or `{y}`"),
                });
            };
            let index = match curves.iter().position(|(l, _)| *l == label) {
                Some(i) => i,
                None => {
                    curves.push((label, Vec::new()));
                    curves.len() - 1
                }
            };
            if let Some(v) = value(py) {
                curves[index].1.push((px, v));
            }
        }
        Ok(curves)
    }

    /// The tables `figure` has read so far (`SWEEP/STEM`).
    pub fn tables_read_by(&self, figure: &str) -> Vec<String> {
        self.read_by_figure
            .lock()
            .map(|read| {
                read.get(figure)
                    .map(|s| s.iter().cloned().collect())
                    .unwrap_or_default()
            })
            .unwrap_or_default()
    }

    /// Load the results of every sweep of the workspace (each must have been run).
    pub fn load(workspace: &Workspace) -> Result<Self> {
        let mut results = Self::default();
        for sweep in workspace.sweep_names()? {
            let dir = workspace.results_dir(&sweep);
            let manifest_path = dir.join("manifest.json");
            let manifest = Manifest::read(&manifest_path)?.ok_or_else(|| {
                ResultsError::io(
                    &manifest_path,
                    std::io::Error::new(
                        std::io::ErrorKind::NotFound,
                        format!("sweep `{sweep}` has no results: run `attnum sweep run {sweep}`"),
                    ),
                )
            })?;
            for stem in manifest.rows.keys() {
                let table = workspace.read_table(&sweep, stem)?;
                results.tables.insert(format!("{sweep}/{stem}"), table);
            }
            results.manifests.insert(sweep, manifest);
        }
        Ok(results)
    }
}
