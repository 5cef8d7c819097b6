//! Compile `paper/build/paper.tex` with latexmk, reproducibly and without shell escape.
//!
//! `SOURCE_DATE_EPOCH` is the time of the last commit (and `FORCE_SOURCE_DATE=1`), so the same
//! sources give the same PDF bytes. On failure the first error lines of the log are reported.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::{PaperError, Result};

/// The main document's file stem under `paper/build/`.
pub const MAIN: &str = "paper";

/// `git log -1 --format=%ct` at `root`, or 0 outside a git checkout.
pub fn source_date_epoch(root: &Path) -> String {
    Command::new("git")
        .args(["log", "-1", "--format=%ct"])
        .current_dir(root)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "0".into())
}

/// Run latexmk in `build_dir`; returns the PDF's path.
pub fn latexmk(root: &Path, build_dir: &Path) -> Result<PathBuf> {
    let tex = format!("{MAIN}.tex");
    let output = Command::new("latexmk")
        .args([
            "-pdf",
            "-norc",
            "-interaction=nonstopmode",
            "-halt-on-error",
            "-file-line-error",
            "-no-shell-escape",
            &tex,
        ])
        .current_dir(build_dir)
        .env("SOURCE_DATE_EPOCH", source_date_epoch(root))
        .env("FORCE_SOURCE_DATE", "1")
        .output()
        .map_err(|e| PaperError::Latex {
            message: format!(
                "cannot run latexmk ({e}); install the TeX Live packages with `just setup`"
            ),
        })?;
    if !output.status.success() {
        let log =
            std::fs::read_to_string(build_dir.join(format!("{MAIN}.log"))).unwrap_or_default();
        let errors: Vec<&str> = log
            .lines()
            .filter(|l| l.starts_with('!') || l.contains(".tex:"))
            .take(10)
            .collect();
        let detail = if errors.is_empty() {
            String::from_utf8_lossy(&output.stdout)
                .lines()
                .rev()
                .take(15)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect::<Vec<_>>()
                .join("\n")
        } else {
            errors.join("\n")
        };
        return Err(PaperError::Latex {
            message: format!(
                "latexmk failed in {} (full log: {MAIN}.log):\n{detail}",
                build_dir.display()
            ),
        });
    }
    Ok(build_dir.join(format!("{MAIN}.pdf")))
}
