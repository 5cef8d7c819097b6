//! The manifest written beside each sweep's tables: what produced them, when, and their hashes.
//!
//! A sweep's results are up to date when the manifest exists, records the current sweep-file
//! hash, code fingerprint and toolchain, and every output it lists still has its recorded hash.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Result, SweepError};

/// Fingerprint of the source code that computes sweeps (set by the build script).
pub const CODE_FINGERPRINT: &str = env!("ATTNUM_CODE_FINGERPRINT");
/// The rustc that compiled this binary.
pub const RUSTC_VERSION: &str = env!("ATTNUM_RUSTC_VERSION");

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
    /// Fingerprint of the code that computed the results.
    pub code_fingerprint: String,
    /// The compiler.
    pub rustc: String,
    /// `git rev-parse HEAD` at run time, or `unknown` outside a git checkout.
    pub git_commit: String,
    /// Whether tracked files differed from that commit.
    pub git_dirty: bool,
    /// Start of the run, RFC 3339 UTC.
    pub started_at: String,
    /// Wall-clock duration in seconds.
    pub wall_seconds: f64,
    /// Rows of each table, by file stem.
    pub rows: BTreeMap<String, usize>,
    /// SHA-256 of every output file, by file name.
    pub outputs: BTreeMap<String, String>,
}

impl Manifest {
    /// Read `results/NAME/manifest.json`; `Ok(None)` when it does not exist.
    pub fn read(path: &Path) -> Result<Option<Self>> {
        match std::fs::read(path) {
            Ok(bytes) => {
                serde_json::from_slice(&bytes)
                    .map(Some)
                    .map_err(|e| SweepError::Manifest {
                        path: path.to_owned(),
                        message: e.to_string(),
                    })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(SweepError::io(path, e)),
        }
    }

    /// Pretty JSON with a trailing newline.
    pub fn to_json(&self) -> Vec<u8> {
        let mut bytes = serde_json::to_vec_pretty(self).expect("manifest serialises");
        bytes.push(b'\n');
        bytes
    }
}

/// The git commit and dirty flag of the checkout at `root`.
pub fn git_state(root: &Path) -> (String, bool) {
    let run = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .current_dir(root)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    };
    match run(&["rev-parse", "HEAD"]) {
        Some(commit) => {
            let dirty = run(&["status", "--porcelain", "--untracked-files=no"])
                .is_none_or(|s| !s.is_empty());
            (commit, dirty)
        }
        None => ("unknown".into(), true),
    }
}
