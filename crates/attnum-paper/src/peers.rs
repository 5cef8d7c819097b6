//! The training step of the learned transformer timed against its PyTorch peer, for the compute
//! appendix: the committed measurement `data/measurements/training_step.json`, which
//! `just bench-peers` writes (candle and PyTorch in turn on one machine, at one and two threads)
//! and no build recomputes, since timings depend on the machine and its load.
//!
//! The file is checked as it is read: a missing file, a malformed one, or a row whose ratio is
//! not its two medians' quotient fails the build with the file's name, so the appendix never
//! prints a table the recipe could not have written.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::environment::machine_text;
use crate::error::{PaperError, Result};

/// The measurement file, relative to the root.
pub const MEASUREMENT: &str = "data/measurements/training_step.json";

/// The largest difference between a row's ratio and the quotient of its medians (the file rounds
/// every value to four decimals).
const RATIO_SLACK: f64 = 1e-4;

/// One shape at one thread count.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeerTiming {
    /// Threads of each implementation.
    pub threads: usize,
    /// Attention heads per block.
    pub heads: usize,
    /// Transformer blocks.
    pub blocks: usize,
    /// Median over the runs of candle's median step, milliseconds.
    pub candle_ms: f64,
    /// The same for PyTorch.
    pub torch_ms: f64,
    /// `candle_ms / torch_ms`.
    pub ratio: f64,
    /// Candle's fastest step in any run, milliseconds.
    pub candle_min_ms: f64,
    /// PyTorch's fastest step in any run, milliseconds.
    pub torch_min_ms: f64,
}

/// The whole measurement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeerMeasurement {
    /// The recipe that wrote it.
    pub recipe: String,
    /// The commit checked out when it ran.
    pub commit: String,
    /// Whether the working tree had uncommitted changes.
    pub dirty: bool,
    /// The cargo profile of the candle example (`dev`: as the sweeps are built).
    pub profile: String,
    /// The CPU model (as the file has it; [`Peers::cpu_tex`] typesets it).
    pub cpu: String,
    /// Logical CPUs of the machine.
    pub cpus: usize,
    /// The largest relative difference between candle's and PyTorch's outputs, losses, gradients
    /// and updated weights in the check before the timings.
    pub largest_check_difference: f64,
    /// PyTorch's version.
    pub torch_version: String,
    /// Rounds: runs of each implementation per thread count, taken in turn.
    pub rounds: usize,
    /// Untimed steps at the start of each run.
    pub warmup: usize,
    /// Timed steps per run.
    pub steps: usize,
    /// One row per thread count and shape.
    pub rows: Vec<PeerTiming>,
}

/// What the template reads.
#[derive(Debug, Serialize)]
pub struct Peers {
    /// The file, relative to the root.
    pub file: &'static str,
    /// The CPU as LaTeX that wraps in any column.
    pub cpu_tex: String,
    /// The smallest and the largest ratio candle / PyTorch of the medians of any row (the
    /// largest below 1: candle is the faster everywhere).
    pub ratios: (f64, f64),
    /// The same for the fastest steps.
    pub fastest_ratios: (f64, f64),
    /// The smallest and the largest quotient of either implementation's median step (over the
    /// rounds) and its fastest step of any run, in any row: how far the steps scatter.
    pub spreads: (f64, f64),
    /// The measurement.
    pub measurement: PeerMeasurement,
}

fn invalid(path: &Path, message: impl Into<String>) -> PaperError {
    PaperError::Measurement {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

/// Parse and check the measurement `text` read from `path`.
///
/// # Errors
/// [`PaperError::Measurement`] naming the line and column of a syntax error or unknown field, or
/// the row (threads, shape) that is inconsistent.
pub fn parse(path: &Path, text: &str) -> Result<PeerMeasurement> {
    let measurement: PeerMeasurement = serde_json::from_str(text).map_err(|e| {
        invalid(
            path,
            format!("line {}, column {}: {e}", e.line(), e.column()),
        )
    })?;
    if measurement.rows.is_empty() {
        return Err(invalid(path, "no rows"));
    }
    for r in &measurement.rows {
        let row = format!("{} thread(s), {}x{}", r.threads, r.heads, r.blocks);
        let times = [r.candle_ms, r.torch_ms, r.candle_min_ms, r.torch_min_ms];
        if !times.iter().all(|t| t.is_finite() && *t > 0.0) {
            return Err(invalid(path, format!("{row}: times must be positive")));
        }
        if r.candle_min_ms > r.candle_ms || r.torch_min_ms > r.torch_ms {
            return Err(invalid(
                path,
                format!("{row}: a fastest step exceeds its median"),
            ));
        }
        if (r.ratio - r.candle_ms / r.torch_ms).abs() > RATIO_SLACK {
            return Err(invalid(
                path,
                format!(
                    "{row}: ratio {} is not candle_ms / torch_ms = {:.4}",
                    r.ratio,
                    r.candle_ms / r.torch_ms
                ),
            ));
        }
        if r.threads == 0 || r.heads == 0 || r.blocks == 0 {
            return Err(invalid(path, format!("{row}: counts must be positive")));
        }
    }
    if measurement.rounds == 0 || measurement.steps == 0 || measurement.cpus == 0 {
        return Err(invalid(path, "rounds, steps and cpus must be positive"));
    }
    if !(measurement.largest_check_difference >= 0.0 && measurement.largest_check_difference < 1e-9)
    {
        return Err(invalid(
            path,
            "largest_check_difference must be below the check's tolerance 1e-9",
        ));
    }
    Ok(measurement)
}

/// Read [`MEASUREMENT`] under `root`.
///
/// # Errors
/// [`PaperError::Measurement`] when the file is missing (it says which recipe writes it) or
/// invalid ([`parse`]).
pub fn read(root: &Path) -> Result<Peers> {
    let path: PathBuf = root.join(MEASUREMENT);
    let text = std::fs::read_to_string(&path).map_err(|e| {
        invalid(
            &path,
            format!("{e} (written by `just bench-peers`, which times candle against PyTorch)"),
        )
    })?;
    let measurement = parse(&path, &text)?;
    let rows = &measurement.rows;
    Ok(Peers {
        file: MEASUREMENT,
        cpu_tex: machine_text(&measurement.cpu),
        ratios: range(rows.iter().map(|r| r.ratio)),
        fastest_ratios: range(rows.iter().map(|r| r.candle_min_ms / r.torch_min_ms)),
        spreads: range(
            rows.iter()
                .flat_map(|r| [r.candle_ms / r.candle_min_ms, r.torch_ms / r.torch_min_ms]),
        ),
        measurement,
    })
}

/// The smallest and the largest of `values`.
fn range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"{
  "recipe": "just bench-peers",
  "commit": "0123456789abcdef0123456789abcdef01234567",
  "dirty": false,
  "profile": "dev",
  "cpu": "AMD EPYC",
  "cpus": 2,
  "largest_check_difference": 3.6e-15,
  "torch_version": "2.15.0",
  "rounds": 5,
  "warmup": 10,
  "steps": 60,
  "rows": [
    {"threads": 1, "heads": 2, "blocks": 1, "candle_ms": 20.0, "torch_ms": 30.0,
     "ratio": 0.6667, "candle_min_ms": 13.0, "torch_min_ms": 21.0}
  ]
}"#;

    fn error(text: &str) -> String {
        parse(Path::new("m.json"), text).unwrap_err().to_string()
    }

    #[test]
    fn a_written_measurement_reads_back() {
        let m = parse(Path::new("m.json"), GOOD).unwrap();
        assert_eq!(m.rows.len(), 1);
        assert_eq!(m.rows[0].candle_ms, 20.0);
        assert_eq!(m.torch_version, "2.15.0");
    }

    #[test]
    fn a_ratio_that_is_not_the_quotient_of_the_medians_is_refused() {
        let e = error(&GOOD.replace("0.6667", "0.5"));
        assert!(
            e.contains("m.json") && e.contains("1 thread(s), 2x1"),
            "{e}"
        );
    }

    #[test]
    fn a_fastest_step_above_the_median_is_refused() {
        let e = error(&GOOD.replace("\"candle_min_ms\": 13.0", "\"candle_min_ms\": 25.0"));
        assert!(e.contains("exceeds its median"), "{e}");
    }

    #[test]
    fn an_unknown_field_is_named_with_its_line() {
        let e = error(&GOOD.replace("\"warmup\"", "\"warm_up\""));
        assert!(e.contains("line 11") && e.contains("warm_up"), "{e}");
    }

    #[test]
    fn a_missing_file_names_the_recipe_that_writes_it() {
        let dir = tempfile::tempdir().unwrap();
        let e = read(dir.path()).unwrap_err().to_string();
        assert!(
            e.contains(MEASUREMENT) && e.contains("just bench-peers"),
            "{e}"
        );
    }
}
