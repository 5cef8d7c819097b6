//! Compile `paper/build/paper.tex` with latexmk, reproducibly and without shell escape.
//!
//! `SOURCE_DATE_EPOCH` is the time of the last commit (and `FORCE_SOURCE_DATE=1`), so the same
//! sources give the same PDF bytes. On failure the first error lines of the log are reported; a
//! PDF whose log reports an undefined reference or citation, or a box overfull by more than
//! [`OVERFULL_LIMIT_PT`], is refused too ([`log_problems`]).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::{PaperError, Result};

/// The main document's file stem under `paper/build/`.
pub const MAIN: &str = "paper";

/// `git log -1 --format=%ct` at `root`, or 0 outside a git checkout.
pub fn source_date_epoch(root: &Path) -> String {
    attnum_sweep::manifest::git_output(root, &["log", "-1", "--format=%ct"])
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
    let log = std::fs::read_to_string(build_dir.join(format!("{MAIN}.log"))).unwrap_or_default();
    let problems = log_problems(&log);
    if !problems.is_empty() {
        return Err(PaperError::Latex {
            message: format!(
                "the PDF was built but its log (in {}) reports:\n{}",
                build_dir.display(),
                problems.join("\n")
            ),
        });
    }
    Ok(build_dir.join(format!("{MAIN}.pdf")))
}

/// The widest overfull box the paper may have, in points: a few points are invisible, more is
/// text in the margin.
pub const OVERFULL_LIMIT_PT: f64 = 3.0;

/// Undefined references and citations, and boxes overfull by more than [`OVERFULL_LIMIT_PT`],
/// in a LaTeX log (of the last pass), one line each.
pub fn log_problems(log: &str) -> Vec<String> {
    let mut problems = Vec::new();
    for (number, line) in log.lines().enumerate() {
        let undefined = line.starts_with("LaTeX Warning: Reference")
            || line.starts_with("LaTeX Warning: Citation")
            || line.starts_with("Package natbib Warning: Citation")
            || line.contains("There were undefined references")
            || line.contains("There were undefined citations");
        let overfull = line
            .strip_prefix("Overfull \\hbox (")
            .or_else(|| line.strip_prefix("Overfull \\vbox ("))
            .and_then(|rest| rest.split_once("pt too"))
            .and_then(|(width, _)| width.parse::<f64>().ok())
            .is_some_and(|width| width > OVERFULL_LIMIT_PT);
        if undefined || overfull {
            problems.push(format!("{MAIN}.log:{}: {line}", number + 1));
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn undefined_references_and_wide_boxes_are_problems_small_boxes_are_not() {
        let log = "\
Overfull \\hbox (0.71616pt too wide) in paragraph at lines 17--20
LaTeX Warning: Reference `fig:none' on page 3 undefined on input line 12.
Overfull \\hbox (78.84927pt too wide) in paragraph at lines 241--247
Package natbib Warning: Citation `nobody2020' on page 4 undefined on input line 9.
Overfull \\vbox (12.0pt too high) has occurred while \\output is active
LaTeX Warning: There were undefined references.
Underfull \\hbox (badness 10000) in paragraph at lines 89--89
";
        let problems = log_problems(log);
        assert_eq!(problems.len(), 5, "{problems:#?}");
        assert!(problems[0].starts_with("paper.log:2: LaTeX Warning: Reference `fig:none'"));
        assert!(problems[1].contains("78.84927pt"));
        assert!(problems[3].contains("12.0pt too high"));
        assert!(log_problems("Overfull \\hbox (2.9pt too wide)\n").is_empty());
    }
}
