//! The workspace's paths: a checkout of the repository, with its sweep files under
//! `data/sweeps/` and their results under `results/`. Reading results goes through here (a
//! sweep's manifest, its tables, the outline of its sweep file), and every name read from a file
//! is checked before it becomes a path. Running sweeps is `attnum-sweep`'s `Workspace`, which
//! builds on this one.

use std::path::{Path, PathBuf};

use crate::error::{Result, ResultsError};
use crate::manifest::{Manifest, inside, is_plain_name};
use crate::outline::SweepOutline;
use crate::table::Table;

/// A checkout of the repository: `data/sweeps/` in, `results/` out.
#[derive(Debug, Clone)]
pub struct Workspace {
    root: PathBuf,
}

impl Workspace {
    /// The workspace rooted at `root` (which must contain `data/sweeps/`).
    pub fn at(root: impl Into<PathBuf>) -> Result<Self> {
        let root = root.into();
        let sweeps = root.join("data").join("sweeps");
        if !sweeps.is_dir() {
            return Err(ResultsError::io(
                sweeps,
                std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "no data/sweeps directory here",
                ),
            ));
        }
        Ok(Self { root })
    }

    /// The workspace containing `start` or one of its ancestors.
    pub fn discover(start: &Path) -> Result<Self> {
        start
            .ancestors()
            .find(|dir| dir.join("data").join("sweeps").is_dir())
            .map(|dir| Self {
                root: dir.to_owned(),
            })
            .ok_or_else(|| {
                ResultsError::io(
                    start,
                    std::io::Error::new(
                        std::io::ErrorKind::NotFound,
                        "not inside an attnum checkout (no data/sweeps above this directory)",
                    ),
                )
            })
    }

    /// The repository root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `data/sweeps/`.
    pub fn sweeps_dir(&self) -> PathBuf {
        self.root.join("data").join("sweeps")
    }

    /// `results/`.
    pub fn results_root(&self) -> PathBuf {
        self.root.join("results")
    }

    /// `results/NAME/`.
    pub fn results_dir(&self, name: &str) -> PathBuf {
        self.results_root().join(name)
    }

    /// The names of all sweep files, sorted (hidden files, e.g. an editor's lock file
    /// `.#NAME.yaml`, are not sweeps).
    pub fn sweep_names(&self) -> Result<Vec<String>> {
        let dir = self.sweeps_dir();
        let entries = std::fs::read_dir(&dir).map_err(|e| ResultsError::io(&dir, e))?;
        let mut names: Vec<String> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
            .filter_map(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
            .filter(|name| !name.starts_with('.'))
            .collect();
        names.sort();
        Ok(names)
    }

    /// The file of sweep `name`: a plain name of an existing `data/sweeps/NAME.yaml` (a name
    /// with a path in it is no sweep).
    ///
    /// # Errors
    /// [`ResultsError::UnknownSweep`], listing the sweeps there are.
    pub fn sweep_path(&self, name: &str) -> Result<PathBuf> {
        let path = self.sweeps_dir().join(format!("{name}.yaml"));
        if !is_plain_name(name) || name.starts_with('.') || !path.is_file() {
            return Err(ResultsError::UnknownSweep {
                name: name.to_owned(),
                available: self.sweep_names()?,
            });
        }
        Ok(path)
    }

    /// `path` relative to the root, with `/` separators (as manifests record paths).
    pub fn relative(&self, path: &Path) -> String {
        path.strip_prefix(&self.root)
            .unwrap_or(path)
            .to_string_lossy()
            .replace('\\', "/")
    }

    /// The outline of sweep `name`'s file: name, description, tier and tolerances, with its
    /// experiment left unread.
    ///
    /// # Errors
    /// An unknown sweep, an unreadable file or a syntax error (`file:line:column`).
    pub fn outline(&self, name: &str) -> Result<SweepOutline> {
        crate::yaml::read(&self.sweep_path(name)?)
    }

    /// The manifest of sweep `name`, `Ok(None)` when it has no results.
    ///
    /// # Errors
    /// An unknown sweep, or a manifest that cannot be read or names paths outside its folder.
    pub fn manifest(&self, name: &str) -> Result<Option<Manifest>> {
        self.sweep_path(name)?;
        Manifest::read(&self.results_dir(name).join("manifest.json"))
    }

    /// Read the table `results/SWEEP/STEM.parquet` (refused when it lies outside the sweep's
    /// results folder, e.g. a stem read from a file that names another folder, or a link).
    pub fn read_table(&self, sweep: &str, stem: &str) -> Result<Table> {
        let dir = self.results_dir(sweep);
        let path =
            inside(&dir, &format!("{stem}.parquet")).map_err(|message| ResultsError::Table {
                path: dir.join(format!("{stem}.parquet")),
                message,
            })?;
        Table::read_parquet(&path)
    }
}
