//! Embeds the provenance that the manifests record: for each experiment kind, a fingerprint of
//! the source code that computes it (its own module, the rest of this crate, the results crate
//! that encodes its tables, and the classical-methods and attention crates, but not the other
//! experiments), and the rustc version.

use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Hash `(relative path, bytes)` of each file, in order.
fn hash_files(crates: &Path, files: &[PathBuf]) -> String {
    let mut hasher = Sha256::new();
    for file in files {
        let rel = file
            .strip_prefix(crates)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        let bytes = std::fs::read(file).unwrap();
        hasher.update((rel.len() as u64).to_le_bytes());
        hasher.update(rel.as_bytes());
        hasher.update((bytes.len() as u64).to_le_bytes());
        hasher.update(&bytes);
    }
    hex::encode(hasher.finalize())
}

fn main() {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let crates = manifest_dir.parent().unwrap();
    let experiments = crates.join("attnum-sweep/src/experiments");
    // Shared code: every source of these crates except the experiment modules.
    let mut shared = Vec::new();
    let mut kinds = Vec::new();
    for krate in [
        "attnum-sweep",
        "attnum-results",
        "attnum-classical",
        "attnum-attention",
    ] {
        let src = crates.join(krate).join("src");
        println!("cargo:rerun-if-changed={}", src.display());
        let mut files = Vec::new();
        collect(&src, &mut files);
        for file in files {
            let is_experiment = file.parent() == Some(experiments.as_path())
                && file.file_name().is_some_and(|n| n != "mod.rs");
            if is_experiment {
                kinds.push(file);
            } else {
                shared.push(file);
            }
        }
    }
    shared.sort();
    kinds.sort();
    // One fingerprint per experiment kind: the shared code plus its own module, so editing one
    // experiment leaves the results of the others up to date.
    let fingerprints: Vec<String> = kinds
        .iter()
        .map(|module| {
            let mut files = shared.clone();
            files.push(module.clone());
            let kind = module.file_stem().unwrap().to_string_lossy().into_owned();
            format!("{kind}={}", hash_files(crates, &files))
        })
        .collect();
    println!(
        "cargo:rustc-env=ATTNUM_CODE_FINGERPRINTS={}",
        fingerprints.join(";")
    );
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let version = Command::new(rustc)
        .arg("--version")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=ATTNUM_RUSTC_VERSION={version}");
    let target = std::env::var("TARGET").unwrap_or_else(|_| "unknown".into());
    println!("cargo:rustc-env=ATTNUM_TARGET={target}");
}
