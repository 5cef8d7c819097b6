//! What the reproducibility appendix states about running the pipeline: the verification tiers
//! with their measured times (from the manifests), the toolchain and the versions of the crates
//! the results depend on (from `Cargo.lock`), the TeX engine, and the tolerances of `verify`.
//!
//! Text that depends on the machine (CPU model, rustc and TeX version lines) and names read from
//! files (sweeps, columns) can be of any length and hold any character: [`machine_text`] and
//! [`breakable_name`] typeset them so that they wrap inside any column and always compile.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use attnum_results::manifest::Manifest;
use attnum_results::{SweepOutline, Tier, Tolerance};
use serde::Serialize;

/// The crates whose versions the appendix lists.
const CRATES: &[&str] = &[
    "candle-core",
    "polars",
    "plotters",
    "tera",
    "serde_yaml",
    "safetensors",
    "rand_chacha",
];

/// The most characters of machine text shown; longer text ends in an ellipsis.
const MACHINE_TEXT_CHARS: usize = 64;

/// The longest run of letters and digits without a permitted line break.
const UNBROKEN_CHARS: usize = 8;

/// Typeset `text` as LaTeX that LaTeX can always break to fit a narrow column: each character
/// escaped ([`crate::latex::escape`]), a discouraged break (`\penalty300`) after every
/// punctuation mark and a strongly discouraged one (`\penalty5000`) after every
/// [`UNBROKEN_CHARS`] letters or digits, so that text breaks at spaces where it can and inside a
/// word only where it must; control characters become spaces, and characters that `pdflatex`
/// with T1 fonts cannot set (outside Latin-1 and the escape's symbols) become `?`.
pub fn breakable(text: &str) -> String {
    let mut out = String::with_capacity(2 * text.len());
    let mut run = 0;
    for c in text.chars() {
        let c = if c.is_control() { ' ' } else { c };
        let shown = crate::latex::escape(&c.to_string());
        let settable = c.is_ascii() || ('\u{c0}'..='\u{ff}').contains(&c) || shown != c.to_string();
        out.push_str(if settable { &shown } else { "?" });
        if settable && c.is_alphanumeric() {
            run += 1;
            if run >= UNBROKEN_CHARS {
                out.push_str(r"\penalty5000{}");
                run = 0;
            }
        } else {
            run = 0;
            if c != ' ' {
                out.push_str(r"\penalty300{}");
            }
        }
    }
    out
}

/// A CPU model or a version line as the appendix shows it: the trade marks `(R)`, `(TM)`, `®`
/// and `™` dropped, spaces collapsed, at most [`MACHINE_TEXT_CHARS`] characters, then
/// [`breakable`].
pub fn machine_text(text: &str) -> String {
    let mut plain = text.to_owned();
    for mark in ["(R)", "(r)", "(TM)", "(tm)", "®", "™"] {
        plain = plain.replace(mark, "");
    }
    let words: Vec<&str> = plain.split_whitespace().collect();
    let plain = words.join(" ");
    if plain.chars().count() > MACHINE_TEXT_CHARS {
        let cut: String = plain.chars().take(MACHINE_TEXT_CHARS - 1).collect();
        format!(r"{}\dots{{}}", breakable(cut.trim_end()))
    } else if plain.is_empty() {
        "unknown".into()
    } else {
        breakable(&plain)
    }
}

/// A name read from a file (a sweep, a column pattern) in typewriter type, breakable anywhere
/// after punctuation or every few characters.
pub fn breakable_name(name: &str) -> String {
    format!(r"\texttt{{{}}}", breakable(name))
}

/// One verification tier.
#[derive(Debug, Serialize)]
pub struct TierTime {
    /// `quick` or `full`.
    pub name: &'static str,
    /// Sweeps it reruns.
    pub sweeps: usize,
    /// Their points.
    pub points: usize,
    /// The sum of the sweeps' wall times in their manifests, seconds.
    pub wall_seconds: f64,
}

/// A declared `verify` tolerance.
#[derive(Debug, Serialize)]
pub struct DeclaredTolerance {
    /// Sweep, as LaTeX ([`breakable_name`]).
    pub sweep: String,
    /// Column pattern, as LaTeX ([`breakable_name`]).
    pub column: String,
    /// Absolute part.
    pub abs: f64,
    /// Relative part.
    pub rel: f64,
}

/// The appendix's facts.
#[derive(Debug, Serialize)]
pub struct Environment {
    /// Quick and full tier.
    pub tiers: Vec<TierTime>,
    /// rustc of the runs (from the manifests; several when they differ), as LaTeX
    /// ([`machine_text`]).
    pub rustc: Vec<String>,
    /// `(crate, version)` from `Cargo.lock`.
    pub crates: Vec<(String, String)>,
    /// The first line of `pdflatex --version`, as LaTeX ([`machine_text`]).
    pub tex: String,
    /// The tolerance of a column without a declared one.
    pub default_tolerance: (f64, f64),
    /// Every declared tolerance, by sweep and column.
    pub tolerances: Vec<DeclaredTolerance>,
}

/// Collect the facts for the sweeps `outlines` (tiers and tolerances, from their sweep files)
/// with their `manifests`.
pub fn collect(
    root: &Path,
    outlines: &BTreeMap<String, SweepOutline>,
    manifests: &BTreeMap<String, Manifest>,
) -> Environment {
    let tier = |name: &'static str, keep: &dyn Fn(&SweepOutline) -> bool| {
        let chosen: Vec<&Manifest> = outlines
            .iter()
            .filter(|(_, outline)| keep(outline))
            .filter_map(|(sweep, _)| manifests.get(sweep))
            .collect();
        TierTime {
            name,
            sweeps: chosen.len(),
            points: chosen.iter().map(|m| m.points.len()).sum(),
            wall_seconds: chosen.iter().map(|m| m.wall_seconds).sum(),
        }
    };
    let mut rustc: Vec<String> = manifests.values().map(|m| m.rustc.clone()).collect();
    rustc.sort();
    rustc.dedup();
    let rustc = rustc.iter().map(|r| machine_text(r)).collect();
    let lock = std::fs::read_to_string(root.join("Cargo.lock")).unwrap_or_default();
    let crates = CRATES
        .iter()
        .filter_map(|name| locked_version(&lock, name).map(|v| ((*name).to_owned(), v)))
        .collect();
    let tex = Command::new("pdflatex")
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .next()
                .map(str::to_owned)
        })
        .unwrap_or_else(|| "not found".into());
    let tex = machine_text(&tex);
    let mut tolerances = Vec::new();
    for (sweep, outline) in outlines {
        for (column, t) in &outline.verify {
            tolerances.push(DeclaredTolerance {
                sweep: breakable_name(sweep),
                column: breakable_name(column),
                abs: t.abs,
                rel: t.rel,
            });
        }
    }
    let default = Tolerance::DEFAULT;
    Environment {
        tiers: vec![
            tier("quick", &|s| s.tier == Tier::Quick),
            tier("full", &|_| true),
        ],
        rustc,
        crates,
        tex,
        default_tolerance: (default.abs, default.rel),
        tolerances,
    }
}

/// The version of `name` in a `Cargo.lock` (the first, if several).
fn locked_version(lock: &str, name: &str) -> Option<String> {
    let marker = format!("name = \"{name}\"\n");
    let at = lock.find(&marker)? + marker.len();
    let line = lock[at..].lines().next()?;
    line.strip_prefix("version = \"")
        .and_then(|v| v.strip_suffix('"'))
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_read_from_the_lock_file() {
        let lock = "[[package]]\nname = \"polars\"\nversion = \"0.55.1\"\nsource = \"x\"\n";
        assert_eq!(locked_version(lock, "polars").as_deref(), Some("0.55.1"));
        assert_eq!(locked_version(lock, "plotters"), None);
    }

    #[test]
    fn machine_text_drops_trade_marks_escapes_and_may_break() {
        assert_eq!(
            machine_text("Intel(R) Xeon(R)   Processor"),
            r"Intel Xeon Processo\penalty5000{}r"
        );
        assert_eq!(breakable("a_b%"), r"a\_\penalty300{}b\%\penalty300{}");
        assert_eq!(breakable("中x"), r"?\penalty300{}x");
        assert!(machine_text(&"x".repeat(500)).ends_with(r"\dots{}"));
        assert_eq!(machine_text(" (TM) "), "unknown");
    }
}
