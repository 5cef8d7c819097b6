//! Declared experiment sweeps: from `data/sweeps/NAME.yaml` to `results/NAME/`.
//!
//! A [`Workspace`] is a checkout of the repository (the paths of [`attnum_results::Workspace`],
//! which it dereferences to). It parses and validates the sweep files ([`spec`], with their
//! points from [`points`]), runs their experiment ([`experiments`]) point by point with a cache
//! per point ([`engine`]: resume after a kill, parallel points, shards), and writes each table as
//! Parquet and CSV ([`attnum_results::table`]) with an [`attnum_results::manifest::Manifest`]
//! beside them — every file atomically, the manifest last, so that a sweep interrupted at any
//! moment is simply stale and its rerun computes only the missing points.
//!
//! Invariants: results are a pure function of the sweep file and the code (no clocks, no OS
//! randomness in any table); nothing here knows about figures or LaTeX; how results are stored
//! is `attnum-results`'s business, what they are is this crate's.

pub mod checks;
pub mod engine;
pub mod error;
pub mod evaluation;
pub mod experiments;
pub mod fingerprint;
pub mod grid;
pub mod points;
pub mod spec;
pub mod statistics;
pub mod testfn;
pub mod training;
pub mod verify;

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime};

use attnum_results::manifest::{self, Manifest, inside, json_differences, sha256_hex};
use attnum_results::{ResultsError, atomic, git};
pub use engine::{RunOptions, Shard};
pub use error::{Result, SweepError};
use fingerprint::{RUSTC_VERSION, code_fingerprint};
pub use spec::{SweepFile, SweepPoint, SweepSpec};

/// Whether a sweep's committed results are what the current sweep file and code produce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Freshness {
    /// Manifest and outputs match the sweep file, the code and the toolchain.
    UpToDate,
    /// The results must be recomputed, for the reason given.
    Stale(String),
}

impl fmt::Display for Freshness {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UpToDate => f.write_str("up to date"),
            Self::Stale(reason) => write!(f, "stale: {reason}"),
        }
    }
}

/// One reason why a sweep's results are stale.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StaleReason {
    /// There is no manifest.
    NoResults,
    /// The manifest cannot be read or is of another format.
    Manifest(String),
    /// A configuration value of the sweep file differs from the one the results were made with.
    Configuration {
        /// The sweep file, relative to the root.
        file: String,
        /// The dotted path of the value.
        path: String,
        /// The value recorded in the manifest.
        old: String,
        /// The value in the sweep file.
        new: String,
    },
    /// The fingerprint of the experiment's code differs.
    Code {
        /// The experiment kind.
        kind: &'static str,
    },
    /// The results were computed with another rustc.
    Toolchain {
        /// The rustc recorded in the manifest.
        old: String,
    },
    /// An output is missing, altered or not inside the results folder.
    Output {
        /// The file, as the manifest names it.
        file: String,
        /// What is wrong with it.
        problem: String,
    },
}

impl StaleReason {
    /// Whether the results were made from another configuration, or cannot be told apart from
    /// such (no or unreadable manifest): then comparing them with a recomputation is
    /// meaningless.
    pub fn other_configuration(&self) -> bool {
        matches!(
            self,
            Self::NoResults | Self::Manifest(_) | Self::Configuration { .. }
        )
    }
}

impl fmt::Display for StaleReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoResults => f.write_str("no results yet"),
            Self::Manifest(message) => f.write_str(message),
            Self::Configuration {
                file,
                path,
                old,
                new,
            } => write!(f, "{file}: `{path}` changed from {old} to {new}"),
            Self::Code { kind } => write!(
                f,
                "the code of experiment `{kind}` changed (crates/attnum-sweep/src/experiments/{kind}.rs, \
                 the rest of attnum-sweep, attnum-results, attnum-classical or attnum-attention)"
            ),
            Self::Toolchain { old } => write!(f, "the toolchain changed ({old} → {RUSTC_VERSION})"),
            Self::Output { file, problem } => write!(f, "{file} {problem}"),
        }
    }
}

/// What [`Workspace::run_with`] did.
#[derive(Debug, Clone)]
pub struct RunOutcome {
    /// Points computed by this run.
    pub computed: usize,
    /// Points taken from the cache.
    pub reused: usize,
    /// The written results (none for a shard).
    pub summary: Option<RunSummary>,
}

/// What a run produced.
#[derive(Debug, Clone)]
pub struct RunSummary {
    /// The manifest written.
    pub manifest: Manifest,
    /// The directory holding the results.
    pub dir: PathBuf,
}

/// Take the lock of a results directory, or fail at once if another run holds it.
fn lock_results(dir: &Path, name: &str) -> Result<std::fs::File> {
    std::fs::create_dir_all(dir).map_err(|e| SweepError::io(dir, e))?;
    let path = dir.join(".lock");
    let file = std::fs::File::create(&path).map_err(|e| SweepError::io(&path, e))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(SweepError::Locked {
            name: name.to_owned(),
            path,
        }),
        Err(std::fs::TryLockError::Error(e)) => Err(SweepError::io(&path, e)),
    }
}

/// A checkout of the repository that can load and run its sweeps. Its paths, sweep names,
/// manifests and tables are those of the [`attnum_results::Workspace`] it dereferences to, so
/// that the paper, which sees only that one, reads exactly what a run writes.
#[derive(Debug, Clone)]
pub struct Workspace {
    files: attnum_results::Workspace,
}

impl Deref for Workspace {
    type Target = attnum_results::Workspace;

    fn deref(&self) -> &Self::Target {
        &self.files
    }
}

impl Workspace {
    /// The workspace rooted at `root` (which must contain `data/sweeps/`).
    pub fn at(root: impl Into<PathBuf>) -> Result<Self> {
        Ok(Self {
            files: attnum_results::Workspace::at(root)?,
        })
    }

    /// The workspace containing `start` or one of its ancestors.
    pub fn discover(start: &Path) -> Result<Self> {
        Ok(Self {
            files: attnum_results::Workspace::discover(start)?,
        })
    }

    /// Load and validate the sweep `name` and every one of its points.
    pub fn load(&self, name: &str) -> Result<SweepFile> {
        SweepFile::load(&self.sweep_path(name)?)
    }

    /// Load and validate the sweep `name` without expanding its points (only their number is
    /// checked): for commands that need its configuration but not its points, which
    /// [`SweepFile::points`] expands on first use.
    pub fn open(&self, name: &str) -> Result<SweepFile> {
        SweepFile::open(&self.sweep_path(name)?)
    }

    /// Whether the results of `sweep` are up to date, and if not, the first reason.
    pub fn freshness(&self, sweep: &SweepFile) -> Result<Freshness> {
        Ok(match self.explain(sweep)?.into_iter().next() {
            None => Freshness::UpToDate,
            Some(reason) => Freshness::Stale(reason.to_string()),
        })
    }

    /// Every reason why the results of `sweep` are stale (empty when they are up to date): no
    /// results, each configuration value that changed, the experiment's code, the toolchain, and
    /// each output that is missing, no longer has its recorded hash or lies outside the results
    /// folder.
    pub fn explain(&self, sweep: &SweepFile) -> Result<Vec<StaleReason>> {
        let dir = self.results_dir(&sweep.spec.name);
        let manifest = match Manifest::read(&dir.join("manifest.json")) {
            Ok(Some(manifest)) => manifest,
            Ok(None) => return Ok(vec![StaleReason::NoResults]),
            // A manifest of an older format (or a damaged one) cannot vouch for its results.
            Err(e @ ResultsError::Manifest { .. }) => {
                return Ok(vec![StaleReason::Manifest(e.to_string())]);
            }
            Err(e) => return Err(e.into()),
        };
        let mut reasons: Vec<StaleReason> = json_differences(&manifest.config, &sweep.config())
            .into_iter()
            .map(|(path, old, new)| StaleReason::Configuration {
                file: self.relative(&sweep.path),
                path,
                old,
                new,
            })
            .collect();
        let kind = sweep.spec.experiment.kind();
        if manifest.code_fingerprint != code_fingerprint(kind) {
            reasons.push(StaleReason::Code { kind });
        }
        if manifest.rustc != RUSTC_VERSION {
            reasons.push(StaleReason::Toolchain {
                old: manifest.rustc.clone(),
            });
        }
        for (file, hash) in &manifest.outputs {
            let problem = match inside(&dir, file) {
                Err(why) => Some(why),
                Ok(path) => match std::fs::read(path) {
                    Ok(bytes) if sha256_hex(&bytes) == *hash => None,
                    Ok(_) => Some("differs from its manifest hash".to_owned()),
                    Err(_) => Some("is missing".to_owned()),
                },
            };
            if let Some(problem) = problem {
                reasons.push(StaleReason::Output {
                    file: file.clone(),
                    problem,
                });
            }
        }
        Ok(reasons)
    }

    /// Run every point of `sweep` (reusing cached points) and write its tables and manifest
    /// under `results/NAME/`.
    ///
    /// # Errors
    /// A locked results directory, failed points, or an I/O error.
    pub fn run(&self, sweep: &SweepFile) -> Result<RunSummary> {
        let outcome = self.run_with(sweep, &RunOptions::default())?;
        Ok(outcome
            .summary
            .expect("an unsharded run assembles its results"))
    }

    /// Run `sweep` with `options`. An advisory lock on `results/NAME/.lock` (released by the
    /// operating system even if the process is killed) keeps two runs from writing the same
    /// results at once; shards of one sweep may run at once (they only add points to the cache).
    /// Unsharded, the results are assembled and written; a shard only computes its points.
    ///
    /// # Errors
    /// A locked results directory, failed points (listed, the others kept), or an I/O error.
    pub fn run_with(&self, sweep: &SweepFile, options: &RunOptions) -> Result<RunOutcome> {
        let started = SystemTime::now();
        let clock = Instant::now();
        let dir = self.results_dir(&sweep.spec.name);
        let _lock = if options.shard.is_none() {
            Some(lock_results(&dir, &sweep.spec.name)?)
        } else {
            std::fs::create_dir_all(&dir).map_err(|e| SweepError::io(&dir, e))?;
            None
        };
        atomic::remove_dead_temporaries(&dir);
        atomic::remove_dead_temporaries(&dir.join("weights"));
        let computed = engine::compute(sweep, &dir, options)?;
        let summary = if options.shard.is_none() {
            Some(self.write_results(sweep, &dir, started, clock, options.jobs)?)
        } else {
            None
        };
        Ok(RunOutcome {
            computed: computed.computed,
            reused: computed.reused,
            summary,
        })
    }

    /// Assemble the results of a sweep whose points were computed by shards, exactly as an
    /// unsharded run would write them.
    ///
    /// # Errors
    /// [`SweepError::MissingPoints`] naming every point no shard has computed.
    pub fn merge(&self, sweep: &SweepFile) -> Result<RunSummary> {
        let started = SystemTime::now();
        let clock = Instant::now();
        let dir = self.results_dir(&sweep.spec.name);
        let _lock = lock_results(&dir, &sweep.spec.name)?;
        atomic::remove_dead_temporaries(&dir);
        atomic::remove_dead_temporaries(&dir.join("weights"));
        self.write_results(sweep, &dir, started, clock, 1)
    }

    /// Assemble the cached points into the tables and write them and the manifest (last).
    fn write_results(
        &self,
        sweep: &SweepFile,
        dir: &Path,
        started: SystemTime,
        clock: Instant,
        jobs: usize,
    ) -> Result<RunSummary> {
        let (git_commit, git_dirty) = git::git_state(self.root());
        let (tables, points) = engine::assemble_cached(sweep, dir)?;
        let mut outputs = BTreeMap::new();
        let mut rows = BTreeMap::new();
        for (stem, table) in &tables {
            for path in table.write(dir, stem)? {
                let bytes = std::fs::read(&path).map_err(|e| SweepError::io(&path, e))?;
                let file = path
                    .file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned();
                outputs.insert(file, sha256_hex(&bytes));
            }
            rows.insert(stem.clone(), table.height());
        }
        for (file, sha) in write_weights(dir, &points)? {
            outputs.insert(file, sha);
        }
        let lock_file = self.root().join("Cargo.lock");
        let manifest = Manifest {
            sweep: sweep.spec.name.clone(),
            sweep_file: self.relative(&sweep.path),
            sweep_file_sha256: sha256_hex(&sweep.bytes),
            config: sweep.config(),
            code_fingerprint: code_fingerprint(sweep.spec.experiment.kind()).to_owned(),
            rustc: RUSTC_VERSION.to_owned(),
            cargo_lock_sha256: std::fs::read(&lock_file)
                .map(|b| sha256_hex(&b))
                .unwrap_or_else(|_| "unknown".into()),
            machine: manifest::Machine::current(fingerprint::TARGET, jobs),
            git_commit,
            git_dirty,
            started_at: humantime::format_rfc3339_seconds(started).to_string(),
            wall_seconds: clock.elapsed().as_secs_f64(),
            peak_rss_kib: engine::peak_rss_kib(),
            rows,
            outputs,
            points,
        };
        atomic::write_atomic(&dir.join("manifest.json"), &manifest.to_json())?;
        Ok(RunSummary {
            manifest,
            dir: dir.to_owned(),
        })
    }
}

/// Copy each trained point's weights from the cache to `weights/point-NN.safetensors` (`NN` the
/// point's number in the manifest's `points`), after removing the weights of earlier runs.
/// Returns the files, relative to `dir`, with their SHA-256.
fn write_weights(dir: &Path, points: &[manifest::PointRecord]) -> Result<Vec<(String, String)>> {
    let weights_dir = dir.join("weights");
    let _ = std::fs::remove_dir_all(&weights_dir);
    let mut written = Vec::new();
    for (i, record) in points.iter().enumerate() {
        let Some(sha) = &record.weights_sha256 else {
            continue;
        };
        std::fs::create_dir_all(&weights_dir).map_err(|e| SweepError::io(&weights_dir, e))?;
        let source = engine::weights_path(&engine::cache_dir(dir).join(&record.key));
        let bytes = std::fs::read(&source).map_err(|e| SweepError::io(&source, e))?;
        let file = format!("weights/point-{:02}.safetensors", i + 1);
        atomic::write_atomic(&dir.join(&file), &bytes)?;
        written.push((file, sha.clone()));
    }
    Ok(written)
}
