//! The manifest written beside each sweep's tables: what produced them, when, and their hashes.
//!
//! A sweep's results are up to date when the manifest exists, records the current parsed
//! configuration, the current fingerprint of the experiment's code and the current toolchain, and
//! every output it lists still has its recorded hash; the sweep crate decides that (it knows the
//! code and the toolchain), this module only reads and writes the record. Every path a manifest
//! names is checked to stay inside its sweep's results folder ([`inside`]), because a manifest is
//! read from a file that anyone can edit.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Result, ResultsError};

/// Hex SHA-256 of some bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Provenance of one run of one sweep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Sweep name.
    pub sweep: String,
    /// Sweep file, relative to the repository root.
    pub sweep_file: String,
    /// SHA-256 of the sweep file's bytes.
    pub sweep_file_sha256: String,
    /// The parsed sweep file: what the results depend on (comments and layout do not count).
    pub config: serde_json::Value,
    /// Fingerprint of the code that computed the results.
    pub code_fingerprint: String,
    /// The compiler.
    pub rustc: String,
    /// SHA-256 of `Cargo.lock` (every dependency version).
    pub cargo_lock_sha256: String,
    /// The machine and parallelism of the run.
    pub machine: Machine,
    /// `git rev-parse HEAD` at run time, or `unknown` outside a git checkout.
    pub git_commit: String,
    /// Whether tracked files differed from that commit.
    pub git_dirty: bool,
    /// Start of the run, RFC 3339 UTC.
    pub started_at: String,
    /// Wall-clock duration in seconds.
    pub wall_seconds: f64,
    /// Peak resident memory of the process in KiB (0 where unknown).
    pub peak_rss_kib: u64,
    /// Rows of each table, by file stem.
    pub rows: BTreeMap<String, usize>,
    /// SHA-256 of every output file, by file name.
    pub outputs: BTreeMap<String, String>,
    /// Every point: parameters, cache key, start, wall time, peak memory.
    pub points: Vec<PointRecord>,
}

/// Provenance of one point, as recorded in the manifest (and in the point's cache entry).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PointRecord {
    /// The varied parameters (empty for an unvaried sweep).
    pub parameters: serde_json::Value,
    /// The cache key.
    pub key: String,
    /// When the point was computed, RFC 3339 UTC.
    pub started_at: String,
    /// Its wall-clock time in seconds.
    pub wall_seconds: f64,
    /// Peak resident memory of the process after the point, in KiB (0 where unknown).
    pub peak_rss_kib: u64,
    /// Its tables, by stem.
    pub stems: Vec<String>,
    /// SHA-256 of its trained weights, for a point that trains a model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weights_sha256: Option<String>,
}

/// Where a sweep ran.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Machine {
    /// The target triple the code was compiled for.
    pub target: String,
    /// The CPU model (`/proc/cpuinfo`), or `unknown`.
    pub cpu: String,
    /// SIMD features detected at run time.
    pub cpu_features: Vec<String>,
    /// Hardware threads available to the process.
    pub available_threads: usize,
    /// Points computed at once.
    pub jobs: usize,
}

impl Machine {
    /// This machine, running code compiled for `target`, for a run with `jobs` parallel points.
    pub fn current(target: &str, jobs: usize) -> Self {
        let cpu = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("model name"))
                    .and_then(|l| l.split_once(':').map(|(_, v)| v.trim().to_owned()))
            })
            .unwrap_or_else(|| "unknown".into());
        Self {
            target: target.to_owned(),
            cpu,
            cpu_features: cpu_features(),
            available_threads: std::thread::available_parallelism().map_or(1, usize::from),
            jobs,
        }
    }
}

/// The SIMD features that change floating-point kernels, detected at run time.
fn cpu_features() -> Vec<String> {
    #[cfg(target_arch = "x86_64")]
    {
        let mut found = Vec::new();
        if std::arch::is_x86_feature_detected!("sse4.2") {
            found.push("sse4.2".to_owned());
        }
        if std::arch::is_x86_feature_detected!("avx") {
            found.push("avx".to_owned());
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            found.push("avx2".to_owned());
        }
        if std::arch::is_x86_feature_detected!("fma") {
            found.push("fma".to_owned());
        }
        if std::arch::is_x86_feature_detected!("avx512f") {
            found.push("avx512f".to_owned());
        }
        found
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        Vec::new()
    }
}

/// Whether `name` is one plain file name: not empty, no separator, not `.` or `..`.
pub fn is_plain_name(name: &str) -> bool {
    !name.is_empty() && name != "." && name != ".." && !name.contains(['/', '\\', '\0'])
}

/// `dir/relative` for a relative path read from a file (a manifest, a point record), refused
/// when it could lead outside `dir`: an absolute path, a `..` or other non-plain component, or a
/// symbolic link (anywhere along the path) that resolves outside `dir`.
///
/// # Errors
/// Why the path is refused, in words.
pub fn inside(dir: &Path, relative: &str) -> std::result::Result<PathBuf, String> {
    let rel = Path::new(relative);
    if relative.is_empty()
        || relative.contains('\\')
        || !rel.components().all(|c| matches!(c, Component::Normal(_)))
    {
        return Err(format!(
            "`{relative}` is not a relative path inside the results folder"
        ));
    }
    let path = dir.join(rel);
    if let (Ok(real), Ok(real_dir)) = (path.canonicalize(), dir.canonicalize())
        && !real.starts_with(&real_dir)
    {
        return Err(format!(
            "`{relative}` is a link to {}, outside the results folder",
            real.display()
        ));
    }
    Ok(path)
}

impl Manifest {
    /// Check every name that leads to a file: outputs, table stems and point keys must stay
    /// inside the sweep's results folder, and every table must have the hashes of its files.
    fn check_paths(&self) -> std::result::Result<(), String> {
        for file in self.outputs.keys() {
            let parts: Vec<&str> = file.split('/').collect();
            if !parts.iter().all(|p| is_plain_name(p)) || file.starts_with('/') {
                return Err(format!(
                    "output `{file}` is not a path inside the results folder"
                ));
            }
        }
        if let Some(stem) = self.rows.keys().find(|s| !is_plain_name(s)) {
            return Err(format!("table stem `{stem}` is not a plain file name"));
        }
        // Every table's files must have a hash, or no check would ever look at them.
        for stem in self.rows.keys() {
            for file in [format!("{stem}.parquet"), format!("{stem}.csv")] {
                if !self.outputs.contains_key(&file) {
                    return Err(format!("table `{stem}` has no hash for {file}"));
                }
            }
        }
        for point in &self.points {
            if point.key.len() != 64 || !point.key.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(format!("point key `{}` is not a SHA-256", point.key));
            }
            if let Some(stem) = point.stems.iter().find(|s| !is_plain_name(s)) {
                return Err(format!("table stem `{stem}` is not a plain file name"));
            }
        }
        Ok(())
    }

    /// Read `results/NAME/manifest.json`; `Ok(None)` when it does not exist. A manifest whose
    /// outputs, stems or point keys name paths outside its folder is refused.
    pub fn read(path: &Path) -> Result<Option<Self>> {
        match std::fs::read(path) {
            Ok(bytes) => {
                let manifest: Self =
                    serde_json::from_slice(&bytes).map_err(|e| ResultsError::Manifest {
                        path: path.to_owned(),
                        message: e.to_string(),
                    })?;
                manifest
                    .check_paths()
                    .map_err(|message| ResultsError::Manifest {
                        path: path.to_owned(),
                        message,
                    })?;
                Ok(Some(manifest))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(ResultsError::io(path, e)),
        }
    }

    /// Pretty JSON with a trailing newline.
    pub fn to_json(&self) -> Vec<u8> {
        let mut bytes = serde_json::to_vec_pretty(self).expect("manifest serialises");
        bytes.push(b'\n');
        bytes
    }
}

/// The dotted paths at which two JSON values differ, with both sides (`None` where absent).
pub fn json_differences(
    old: &serde_json::Value,
    new: &serde_json::Value,
) -> Vec<(String, String, String)> {
    fn walk(
        path: &str,
        old: Option<&serde_json::Value>,
        new: Option<&serde_json::Value>,
        out: &mut Vec<(String, String, String)>,
    ) {
        use serde_json::Value;
        let show = |v: Option<&Value>| v.map_or_else(|| "(absent)".to_owned(), Value::to_string);
        match (old, new) {
            (Some(Value::Object(a)), Some(Value::Object(b))) => {
                let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
                for k in keys {
                    let sub = if path.is_empty() {
                        k.clone()
                    } else {
                        format!("{path}.{k}")
                    };
                    walk(&sub, a.get(k), b.get(k), out);
                }
            }
            (Some(Value::Array(a)), Some(Value::Array(b))) if a.len() == b.len() => {
                for (i, (x, y)) in a.iter().zip(b).enumerate() {
                    walk(&format!("{path}[{i}]"), Some(x), Some(y), out);
                }
            }
            (a, b) if a != b => out.push((path.to_owned(), show(a), show(b))),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk("", Some(old), Some(new), &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn differences_name_the_changed_subtrees() {
        let old = json!({"experiment": {"k": {"fit": {"max_step": 0.5}, "steps": [1, 2], "x": 1}}});
        let new =
            json!({"experiment": {"k": {"fit": {"max_step": 0.3}, "steps": [1, 2, 3], "x": 1}}});
        assert_eq!(
            json_differences(&old, &new),
            vec![
                (
                    "experiment.k.fit.max_step".to_owned(),
                    "0.5".to_owned(),
                    "0.3".to_owned()
                ),
                (
                    "experiment.k.steps".to_owned(),
                    "[1,2]".to_owned(),
                    "[1,2,3]".to_owned()
                ),
            ]
        );
        assert!(json_differences(&old, &old).is_empty());
    }
}
