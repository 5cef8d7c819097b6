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
    attnum_results::git::git_output(root, &["log", "-1", "--format=%ct"])
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
        // Unwrapped log lines: an error or warning line is never cut at column 79.
        .env("max_print_line", "100000")
        .output()
        .map_err(|e| PaperError::Latex {
            message: format!(
                "cannot run latexmk ({e}); install the TeX Live packages with `just setup`"
            ),
        })?;
    // A log may hold bytes that are not UTF-8 (TeX writes some characters as bytes): read it
    // lossily, never as "no log", or the checks below would pass on an empty text.
    let log_path = build_dir.join(format!("{MAIN}.log"));
    let log = std::fs::read(&log_path).map(|b| String::from_utf8_lossy(&b).into_owned());
    if !output.status.success() {
        let errors = log.as_deref().map(log_errors).unwrap_or_default();
        let detail = if errors.is_empty() {
            let mut tail: Vec<String> = [&output.stdout, &output.stderr]
                .iter()
                .flat_map(|o| {
                    String::from_utf8_lossy(o)
                        .lines()
                        .map(str::to_owned)
                        .collect::<Vec<_>>()
                })
                .filter(|l| !l.trim().is_empty())
                .collect();
            tail = tail.split_off(tail.len().saturating_sub(20));
            format!(
                "no error in {MAIN}.log; the last lines of latexmk:\n{}",
                tail.join("\n")
            )
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
    let log = log.map_err(|e| PaperError::io(&log_path, e))?;
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

/// The errors of a failed LaTeX run, from its log: each `! …` line or `FILE:LINE: …` line
/// (`-file-line-error`) with the lines of context TeX prints after it (up to the input line
/// `l.N …` and its continuation, a blank line, or [`ERROR_CONTEXT_LINES`] lines), the first
/// [`MAX_ERRORS`] of them; TeX's closing "Fatal error occurred" only when nothing else is found.
pub fn log_errors(log: &str) -> Vec<String> {
    let lines: Vec<&str> = log.lines().collect();
    let is_error = |line: &str| {
        line.starts_with('!')
            || line.split_once(".tex:").is_some_and(|(file, rest)| {
                !file.contains(' ')
                    && rest.split_once(':').is_some_and(|(n, _)| {
                        !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())
                    })
            })
    };
    let is_input_line = |line: &str| {
        line.strip_prefix("l.")
            .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
    };
    let mut errors = Vec::new();
    let mut fatal = Vec::new();
    let mut i = 0;
    while i < lines.len() && errors.len() < MAX_ERRORS {
        if !is_error(lines[i]) {
            i += 1;
            continue;
        }
        let mut end = i + 1;
        while end < lines.len()
            && end <= i + ERROR_CONTEXT_LINES
            && !lines[end].trim().is_empty()
            && !is_error(lines[end])
        {
            end += 1;
            if is_input_line(lines[end - 1]) {
                // The input line and its continuation end TeX's context.
                if end < lines.len() && !lines[end].trim().is_empty() {
                    end += 1;
                }
                break;
            }
        }
        let error = lines[i..end].join("\n");
        if lines[i].contains("==> Fatal error occurred") {
            fatal.push(error);
        } else {
            errors.push(error);
        }
        i = end;
    }
    if errors.is_empty() { fatal } else { errors }
}

/// At most this many errors of a failed run are reported.
pub const MAX_ERRORS: usize = 3;

/// Lines of TeX's context shown after an error line.
pub const ERROR_CONTEXT_LINES: usize = 4;

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

    #[test]
    fn errors_come_with_their_context() {
        let log = "\
(./sections/compute.tex
./sections/compute.tex:12: Undefined control sequence.
l.12 \\foo
            {bar}
The control sequence at the end of the top line

! LaTeX Error: File `nosuch.sty' not found.
Type X to quit or <RETURN> to proceed,
Overfull \\hbox (1.0pt too wide) in paragraph at lines 1--2
";
        let errors = log_errors(log);
        assert_eq!(errors.len(), 2, "{errors:#?}");
        assert_eq!(errors[0].lines().count(), 3, "{errors:#?}");
        assert!(
            errors[0]
                .starts_with("./sections/compute.tex:12: Undefined control sequence.\nl.12 \\foo")
        );
        assert!(errors[1].starts_with("! LaTeX Error: File `nosuch.sty' not found."));
        assert!(log_errors("(./paper.tex\nOutput written on paper.pdf\n").is_empty());
    }
}
