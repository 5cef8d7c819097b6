//! Running a sweep point by point: a content-addressed cache per point, resume after a kill,
//! parallel points, a progress bar, failed points reported without losing the others, and
//! shards that a merge assembles exactly as an unsharded run would.
//!
//! Each point's tables are cached under `results/NAME/.points/KEY/` (not committed), where `KEY`
//! hashes the point's canonical experiment configuration, the experiment's code fingerprint and
//! the toolchain. A point directory is written under a temporary name
//! (`KEY.partial-HOST-PID`) and renamed into place as soon as the point is computed, so it exists
//! only when complete: a run killed at any moment leaves complete points (and at most one partial
//! directory per worker, which the next run removes once its process is dead), and the next run
//! computes only the missing ones. `--jobs N` runs N worker threads, each computing one point at
//! a time from start to cache, so a point's time is its own. The sweep's tables and manifest are
//! written only when every point is present.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Instant, SystemTime};

use attnum_results::atomic::{is_dead_tag, process_tag};
use attnum_results::manifest::{PointRecord, is_plain_name, sha256_hex};
use attnum_results::{ResultsError, Table};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rayon::prelude::*;

use crate::error::{Result, SweepError};
use crate::experiments::{ExperimentError, ExperimentSpec};
use crate::fingerprint::{RUSTC_VERSION, code_fingerprint};
use crate::points::{StemTables, assemble, describe, point_tables};
use crate::spec::{SweepFile, SweepPoint};

/// Which points of a sweep a run computes: point `i` (0-based) belongs to shard `i mod count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// This shard, 0-based.
    pub index: usize,
    /// The number of shards.
    pub count: usize,
}

impl Shard {
    /// Parse `I/N` (1-based `I`: shard 1 of N is the first), or `/N`, which takes the shard from
    /// Slurm's `SLURM_ARRAY_TASK_ID` counted from 0, so that `sbatch --array=0-(N-1)` runs every
    /// shard once.
    ///
    /// # Errors
    /// A malformed specification, in words.
    pub fn parse(text: &str) -> std::result::Result<Self, String> {
        Self::parse_with_task_id(text, std::env::var("SLURM_ARRAY_TASK_ID").ok().as_deref())
    }

    /// [`Shard::parse`] with the Slurm array task id given (`None`: not in an array job).
    fn parse_with_task_id(
        text: &str,
        slurm_task_id: Option<&str>,
    ) -> std::result::Result<Self, String> {
        let (i, n) = text
            .split_once('/')
            .ok_or_else(|| format!("`{text}` is not I/N (e.g. 2/8) or /N"))?;
        let count: usize = n
            .parse()
            .map_err(|_| format!("`{n}` is not a number of shards"))?;
        if count == 0 {
            return Err(format!("`{text}`: the number of shards must be at least 1"));
        }
        let index = if i.is_empty() {
            let task = slurm_task_id.ok_or_else(|| {
                "`/N` takes the shard from SLURM_ARRAY_TASK_ID, which is not set (not a Slurm array \
                 task)"
                    .to_owned()
            })?;
            let task: usize = task
                .parse()
                .map_err(|_| format!("SLURM_ARRAY_TASK_ID `{task}` is not a number"))?;
            if task >= count {
                return Err(format!(
                    "SLURM_ARRAY_TASK_ID {task} with /{count}: submit the array as \
                     --array=0-{}",
                    count - 1
                ));
            }
            task
        } else {
            let index: usize = i
                .parse()
                .map_err(|_| format!("`{i}` is not a shard number"))?;
            if !(1..=count).contains(&index) {
                return Err(format!("shard {index}/{count}: need 1 ≤ I ≤ N"));
            }
            index - 1
        };
        Ok(Self { index, count })
    }

    fn owns(&self, point: usize) -> bool {
        point % self.count == self.index
    }
}

/// How to run a sweep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunOptions {
    /// Points computed at once (each on one thread).
    pub jobs: usize,
    /// Compute only one shard's points (and do not assemble).
    pub shard: Option<Shard>,
    /// Recompute every point, ignoring the cache.
    pub force: bool,
    /// Draw a progress bar (only on a terminal).
    pub progress: bool,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self {
            jobs: 1,
            shard: None,
            force: false,
            progress: false,
        }
    }
}

/// The cache key of a point: its experiment configuration, the code and the toolchain.
pub fn point_key(experiment: &ExperimentSpec) -> String {
    let config = serde_json::json!({
        "experiment": serde_json::to_value(
            serde_yaml::with::singleton_map::serialize(experiment, serde_yaml::value::Serializer)
                .expect("experiments serialise")
        ).expect("YAML values convert to JSON"),
        "code": code_fingerprint(experiment.kind()),
        "rustc": RUSTC_VERSION,
    });
    sha256_hex(config.to_string().as_bytes())
}

/// Peak resident memory of this process in KiB (`VmHWM`), or 0 where unknown.
pub fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).map(str::to_owned))
        })
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// The directory of the point cache of the sweep whose results are in `dir`.
pub fn cache_dir(dir: &Path) -> PathBuf {
    dir.join(".points")
}

fn record_path(point_dir: &Path) -> PathBuf {
    point_dir.join("point.json")
}

/// The trained weights of a cached point.
pub fn weights_path(point_dir: &Path) -> PathBuf {
    point_dir.join("weights.safetensors")
}

/// The marker between a point's key and the writer's tag in a partial directory's name.
const PARTIAL: &str = ".partial-";

/// Remove the partial point directories that processes of this machine left when they died.
fn remove_dead_partials(cache: &Path) {
    let Ok(entries) = std::fs::read_dir(cache) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some((_, tag)) = name.split_once(PARTIAL)
            && is_dead_tag(tag)
        {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// Compute one point and write it to the cache: the point is durable when this returns.
fn compute_point(cache: &Path, point: &SweepPoint) -> std::result::Result<(), String> {
    let started = SystemTime::now();
    let clock = Instant::now();
    let kind = point.experiment.kind();
    let output = catch_unwind(AssertUnwindSafe(|| point.experiment.run()))
        .map_err(|payload| {
            payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_else(|| "the experiment panicked".into())
        })?
        .map_err(|e| match e {
            ExperimentError::Field(e) => {
                format!("field `experiment.{kind}.{}`: {}", e.path, e.message)
            }
            e => format!("experiment `{kind}`: {e}"),
        })?;
    let wall_seconds = clock.elapsed().as_secs_f64();
    let tables = point_tables(output.tables, &point.values);
    let key = &point.key;
    let partial = cache.join(format!("{key}{PARTIAL}{}", process_tag()));
    let write = || -> Result<()> {
        std::fs::create_dir_all(&partial).map_err(|e| SweepError::io(&partial, e))?;
        for (stem, table) in &tables {
            let path = partial.join(format!("{stem}.parquet"));
            let (parquet, _) = table.encode(&path)?;
            std::fs::write(&path, parquet).map_err(|e| SweepError::io(&path, e))?;
        }
        if let Some(weights) = &output.weights {
            let path = weights_path(&partial);
            std::fs::write(&path, weights).map_err(|e| SweepError::io(&path, e))?;
        }
        let record = PointRecord {
            parameters: serde_json::to_value(&point.values).expect("points serialise"),
            key: key.clone(),
            started_at: humantime::format_rfc3339_seconds(started).to_string(),
            wall_seconds,
            peak_rss_kib: peak_rss_kib(),
            stems: tables.iter().map(|(s, _)| s.clone()).collect(),
            weights_sha256: output.weights.as_deref().map(sha256_hex),
        };
        let path = record_path(&partial);
        std::fs::write(
            &path,
            serde_json::to_vec_pretty(&record).expect("records serialise"),
        )
        .map_err(|e| SweepError::io(&path, e))?;
        let done = cache.join(key);
        if let Err(e) = std::fs::rename(&partial, &done) {
            // Another process (a shard) may have completed the same point first: its copy is as
            // good. Anything else is an error.
            if !done.is_dir() {
                return Err(SweepError::io(&done, e));
            }
            let _ = std::fs::remove_dir_all(&partial);
        }
        Ok(())
    };
    write().map_err(|e| {
        let _ = std::fs::remove_dir_all(&partial);
        e.to_string()
    })
}

/// Read a completed point from the cache.
fn read_point(cache: &Path, key: &str) -> Result<(PointRecord, StemTables)> {
    let dir = cache.join(key);
    let path = record_path(&dir);
    let bytes = std::fs::read(&path).map_err(|e| SweepError::io(&path, e))?;
    let record: PointRecord =
        serde_json::from_slice(&bytes).map_err(|e| ResultsError::Manifest {
            path: path.clone(),
            message: e.to_string(),
        })?;
    // The record names files to read: they must be this point's own.
    if record.key != key {
        return Err(ResultsError::Manifest {
            path,
            message: format!("records key {} but lies under {key}", record.key),
        }
        .into());
    }
    if let Some(stem) = record.stems.iter().find(|s| !is_plain_name(s)) {
        return Err(ResultsError::Manifest {
            path,
            message: format!("table stem `{stem}` is not a plain file name"),
        }
        .into());
    }
    let tables = record
        .stems
        .iter()
        .map(|stem| {
            Ok((
                stem.clone(),
                Table::read_parquet(&dir.join(format!("{stem}.parquet")))?,
            ))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok((record, tables))
}

/// The outcome of computing the points of a run.
pub struct Computed {
    /// Points computed now.
    pub computed: usize,
    /// Points found in the cache.
    pub reused: usize,
}

/// Compute the points of `sweep` that `options` select and that are not cached.
///
/// # Errors
/// An invalid point, or [`SweepError::PointsFailed`] listing every failed point (the others stay
/// cached).
pub fn compute(sweep: &SweepFile, dir: &Path, options: &RunOptions) -> Result<Computed> {
    let points = sweep.points()?;
    let cache = cache_dir(dir);
    if options.force && options.shard.is_none() {
        let _ = std::fs::remove_dir_all(&cache);
    }
    std::fs::create_dir_all(&cache).map_err(|e| SweepError::io(&cache, e))?;
    remove_dead_partials(&cache);
    let selected: Vec<(usize, &SweepPoint)> = points
        .iter()
        .enumerate()
        .filter(|(i, _)| options.shard.is_none_or(|s| s.owns(*i)))
        .collect();
    let todo: Vec<(usize, &SweepPoint)> = selected
        .iter()
        .copied()
        .filter(|(_, p)| !cache.join(&p.key).is_dir())
        .collect();
    let reused = selected.len() - todo.len();
    let bar = if options.progress {
        ProgressBar::with_draw_target(Some(todo.len() as u64), ProgressDrawTarget::stderr())
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template(
            "{prefix} [{bar:30}] {pos}/{len} points, ETA {eta} {wide_msg}",
        )
        .expect("a valid template")
        .progress_chars("=> "),
    );
    bar.set_prefix(sweep.spec.name.clone());
    // Plain worker threads, not a rayon pool: a rayon worker that waits inside an experiment
    // (candle's kernels use rayon) steals the next point, nesting points on one stack so that
    // none completes — and none is cached — until the last one does.
    let next = AtomicUsize::new(0);
    let failures: Mutex<Vec<(usize, String)>> = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..options.jobs.clamp(1, todo.len().max(1)) {
            scope.spawn(|| {
                while let Some(&(i, point)) = todo.get(next.fetch_add(1, Ordering::Relaxed)) {
                    bar.set_message(describe(&point.values));
                    if let Err(message) = compute_point(&cache, point) {
                        let line =
                            format!("  point {} ({}): {message}", i + 1, describe(&point.values));
                        failures
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner)
                            .push((i, line));
                    }
                    bar.inc(1);
                }
            });
        }
    });
    bar.finish_and_clear();
    let mut failures = failures
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if failures.is_empty() {
        Ok(Computed {
            computed: todo.len(),
            reused,
        })
    } else {
        failures.sort();
        Err(SweepError::PointsFailed {
            name: sweep.spec.name.clone(),
            failures: failures.into_iter().map(|(_, line)| line).collect(),
        })
    }
}

/// The sweep's tables assembled from the cache, with the record of every point.
///
/// # Errors
/// An invalid point, or [`SweepError::MissingPoints`] when some point is not cached.
pub fn assemble_cached(sweep: &SweepFile, dir: &Path) -> Result<(StemTables, Vec<PointRecord>)> {
    let points = sweep.points()?;
    let cache = cache_dir(dir);
    let missing: Vec<String> = points
        .iter()
        .enumerate()
        .filter(|(_, p)| !cache.join(&p.key).is_dir())
        .map(|(i, p)| format!("  point {} ({})", i + 1, describe(&p.values)))
        .collect();
    if !missing.is_empty() {
        return Err(SweepError::MissingPoints {
            name: sweep.spec.name.clone(),
            missing,
        });
    }
    let mut records = Vec::new();
    let mut per_point = Vec::new();
    for point in points {
        let (record, tables) = read_point(&cache, &point.key)?;
        records.push(record);
        per_point.push(tables);
    }
    let tables = assemble(per_point).map_err(|message| ResultsError::Table {
        path: dir.to_owned(),
        message,
    })?;
    // Points of earlier configurations are of no further use; partial points of live processes
    // (shards still running) are left alone.
    let keys: std::collections::HashSet<&str> = points.iter().map(|p| p.key.as_str()).collect();
    if let Ok(entries) = std::fs::read_dir(&cache) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if !keys.contains(name.as_str()) && !name.contains(PARTIAL) {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }
    remove_dead_partials(&cache);
    Ok((tables, records))
}

/// The sweep's tables computed in memory, without the cache (for `verify` and tests).
///
/// # Errors
/// An invalid point, a point whose experiment failed, or a bug that makes points' tables
/// incompatible.
pub fn compute_in_memory(sweep: &SweepFile) -> Result<StemTables> {
    let per_point = sweep
        .points()?
        .par_iter()
        .map(|point| {
            let output = point.experiment.run().map_err(|e| match e {
                ExperimentError::Field(e) => SweepError::Invalid {
                    path: sweep.path.clone(),
                    field: format!("experiment.{}.{}", point.experiment.kind(), e.path),
                    message: e.message,
                },
                source => SweepError::Experiment {
                    name: sweep.spec.name.clone(),
                    point: describe(&point.values),
                    source: Box::new(source),
                },
            })?;
            Ok(point_tables(output.tables, &point.values))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(assemble(per_point).map_err(|message| ResultsError::Table {
        path: sweep.path.clone(),
        message,
    })?)
}

#[cfg(test)]
mod tests {
    use super::Shard;

    #[test]
    fn explicit_shards_count_from_one_and_array_tasks_from_zero() {
        let shard = |text, task| Shard::parse_with_task_id(text, task);
        assert_eq!(shard("1/4", None), Ok(Shard { index: 0, count: 4 }));
        assert_eq!(shard("4/4", Some("0")), Ok(Shard { index: 3, count: 4 }));
        for (task, id) in ["0", "1", "2", "3"].into_iter().enumerate() {
            assert_eq!(
                shard("/4", Some(id)),
                Ok(Shard {
                    index: task,
                    count: 4
                })
            );
        }
        // `sbatch --array=1-4` with /4: the last task is refused with the right array.
        assert!(shard("/4", Some("4")).unwrap_err().contains("--array=0-3"));
        assert!(
            shard("/4", None)
                .unwrap_err()
                .contains("SLURM_ARRAY_TASK_ID")
        );
        assert!(shard("/4", Some("x")).is_err());
        for bad in ["0/4", "5/4", "1/0", "/0", "4", "a/4", "1/b"] {
            assert!(shard(bad, Some("0")).is_err(), "{bad} accepted");
        }
    }
}
