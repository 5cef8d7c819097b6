//! Whether `attnum paper` has anything to do: the digest of everything a build reads, recorded
//! after a build that succeeded and compared before the next one.
//!
//! A build reads the sweep files, the literature and claims (`data/`), the committed results
//! (`results/`, without the per-point caches), the templates and number queries (`paper/`,
//! without `paper/build/`), `Cargo.lock`, the commit checked out (the PDF's date and provenance
//! links), and the program itself, whose code decides whether a sweep is stale and how results
//! are drawn (identified by its size and modification time: a rebuilt program counts as new).
//! When all of these are what they were after the last successful build, and the PDF is still
//! there, the sweeps are fresh and a render would write nothing: the build is skipped. Anything
//! that cannot be read makes the digest unavailable, and the build then runs in full.

use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

use crate::PaperLayout;

/// The file under `paper/build/` that holds the digest of the last successful build's inputs.
pub const STAMP: &str = "inputs.sha256";

/// The folders whose files a build reads, relative to the root, with the subfolders skipped.
const INPUT_FOLDERS: &[(&str, &[&str])] = &[
    ("data", &[]),
    ("results", &[".points"]),
    ("paper", &["build"]),
];

/// The digest of every input of a build at `root` by the program `program`, or `None` when one
/// cannot be read.
pub fn inputs_digest(root: &Path, program: &Path) -> Option<String> {
    let mut hasher = Sha256::new();
    for (folder, skipped) in INPUT_FOLDERS {
        let mut files = Vec::new();
        collect_files(&root.join(folder), skipped, &mut files).ok()?;
        files.sort();
        for file in files {
            hasher.update(file.strip_prefix(root).ok()?.to_string_lossy().as_bytes());
            hasher.update([0]);
            let bytes = std::fs::read(&file).ok()?;
            hasher.update((bytes.len() as u64).to_le_bytes());
            hasher.update(&bytes);
        }
    }
    hasher.update(std::fs::read(root.join("Cargo.lock")).ok()?);
    let head = Command::new("git")
        .args(["log", "-1", "--format=%H %ct"])
        .current_dir(root)
        .output()
        .ok()?;
    hasher.update(&head.stdout);
    let program = std::fs::metadata(program).ok()?;
    hasher.update(program.len().to_le_bytes());
    let modified = program
        .modified()
        .ok()?
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?;
    hasher.update(modified.as_nanos().to_le_bytes());
    Some(hex::encode(hasher.finalize()))
}

/// Every file below `dir`, without the subfolders named in `skipped` (at any depth).
fn collect_files(dir: &Path, skipped: &[&str], files: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            if !skipped.iter().any(|s| entry.file_name() == *s) {
                collect_files(&path, skipped, files)?;
            }
        } else {
            files.push(path);
        }
    }
    Ok(())
}

/// Whether the last successful build of `layout` had the inputs `digest` and its PDF is still
/// there.
pub fn is_current(layout: &PaperLayout, digest: &str) -> bool {
    layout
        .build
        .join(format!("{}.pdf", crate::compile::MAIN))
        .is_file()
        && std::fs::read_to_string(layout.build.join(STAMP)).is_ok_and(|s| s.trim() == digest)
}

/// Record `digest` as the inputs of a build of `layout` that has just succeeded.
///
/// # Errors
/// The stamp file cannot be written.
pub fn record(layout: &PaperLayout, digest: &str) -> std::io::Result<()> {
    std::fs::write(layout.build.join(STAMP), format!("{digest}\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for file in [
            "data/sweeps/a.yaml",
            "results/a/table.csv",
            "results/a/.points/k/table.csv",
            "paper/paper.tex",
            "paper/build/paper.tex",
            "Cargo.lock",
            "program",
        ] {
            let path = dir.path().join(file);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, file).unwrap();
        }
        dir
    }

    #[test]
    fn the_digest_follows_the_inputs_and_ignores_caches_and_the_build() {
        let dir = tree();
        let root = dir.path();
        let program = root.join("program");
        let before = inputs_digest(root, &program).unwrap();
        assert_eq!(before.len(), 64);
        assert_eq!(inputs_digest(root, &program).unwrap(), before);
        // The point caches and the build folder are not inputs.
        std::fs::write(root.join("results/a/.points/k/table.csv"), "other").unwrap();
        std::fs::write(root.join("paper/build/paper.tex"), "other").unwrap();
        assert_eq!(inputs_digest(root, &program).unwrap(), before);
        // A result, a template or the lock file is.
        for input in ["results/a/table.csv", "paper/paper.tex", "Cargo.lock"] {
            let old = std::fs::read(root.join(input)).unwrap();
            std::fs::write(root.join(input), "changed").unwrap();
            assert_ne!(inputs_digest(root, &program).unwrap(), before, "{input}");
            std::fs::write(root.join(input), old).unwrap();
        }
        // So is a new file, and a rebuilt program.
        std::fs::write(root.join("data/sweeps/b.yaml"), "b").unwrap();
        assert_ne!(inputs_digest(root, &program).unwrap(), before);
        std::fs::remove_file(root.join("data/sweeps/b.yaml")).unwrap();
        std::fs::write(&program, "a longer program").unwrap();
        assert_ne!(inputs_digest(root, &program).unwrap(), before);
        // Without an input folder there is no digest.
        std::fs::remove_dir_all(root.join("data")).unwrap();
        assert_eq!(inputs_digest(root, &program), None);
    }

    #[test]
    fn a_build_is_current_only_with_its_stamp_and_its_pdf() {
        let dir = tree();
        let layout = PaperLayout {
            source: dir.path().join("paper"),
            build: dir.path().join("paper/build"),
            figures: dir.path().join("results/figures"),
        };
        assert!(!is_current(&layout, "d"));
        record(&layout, "d").unwrap();
        assert!(!is_current(&layout, "d"), "no PDF yet");
        std::fs::write(layout.build.join("paper.pdf"), "%PDF").unwrap();
        assert!(is_current(&layout, "d"));
        assert!(!is_current(&layout, "e"));
    }
}
