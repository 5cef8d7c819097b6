//! The results the paper is rendered from: every table listed in every sweep's manifest.

use std::collections::BTreeMap;

use attnum_sweep::manifest::Manifest;
use attnum_sweep::{Table, Workspace};

use crate::error::Result;

/// All results tables, keyed `SWEEP/STEM` (e.g. `fd_convergence/orders`), and the manifests.
#[derive(Debug, Clone, Default)]
pub struct Results {
    /// Tables by `SWEEP/STEM`.
    pub tables: BTreeMap<String, Table>,
    /// Manifests by sweep name.
    pub manifests: BTreeMap<String, Manifest>,
}

impl Results {
    /// The table `SWEEP/STEM`, or an error naming the figure that needs it.
    pub fn table_for_figure(&self, figure: &str, key: &str) -> Result<&Table> {
        self.tables
            .get(key)
            .ok_or_else(|| crate::error::PaperError::Figure {
                name: figure.to_owned(),
                message: format!("table `{key}` is missing: run its sweep"),
            })
    }

    /// Load the results of every sweep of the workspace (each must have been run).
    pub fn load(workspace: &Workspace) -> Result<Self> {
        let mut results = Self::default();
        for sweep in workspace.sweep_names()? {
            let dir = workspace.results_dir(&sweep);
            let manifest_path = dir.join("manifest.json");
            let manifest = Manifest::read(&manifest_path)?.ok_or_else(|| {
                attnum_sweep::SweepError::io(
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
