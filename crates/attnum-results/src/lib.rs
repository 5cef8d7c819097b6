//! The results of the sweeps as files, and everything that reads or writes them: the one crate
//! that both the sweep runner and the paper renderer depend on.
//!
//! * [`table`]: the results table and its Parquet / CSV encoding (the only Polars code);
//! * [`manifest`]: the provenance record beside each sweep's tables, and [`manifest::inside`],
//!   which refuses every path read from a file that could lead outside a results folder;
//! * [`atomic`]: every file written through a temporary file and a rename;
//! * [`yaml`]: the single YAML entry point (`file:line:column` errors);
//! * [`outline`]: what can be read of a sweep file without the experiments (tier, tolerances);
//! * [`report`]: what a verification checked and skipped;
//! * [`git`]: the commit and dirty state of the checkout;
//! * [`Workspace`]: the workspace's paths (`data/sweeps/`, `results/`).
//!
//! Invariant: no experiment code and no model library (candle) is linked here; the paper
//! depends on this crate and not on `attnum-sweep`, so rendering the paper cannot compute
//! results.
//!
//! ```
//! use attnum_results::{Cell, Table};
//! let mut table = Table::new(&["h", "error"]);
//! table.push_row(vec![0.1.into(), 1e-3.into()]);
//! let dir = tempfile::tempdir().unwrap();
//! table.write(dir.path(), "errors").unwrap();
//! let back = Table::read_parquet(&dir.path().join("errors.parquet")).unwrap();
//! assert_eq!(back.cell(0, "error"), Some(&Cell::Float(1e-3)));
//! ```

pub mod atomic;
pub mod error;
pub mod git;
pub mod manifest;
pub mod outline;
pub mod report;
mod rows;
pub mod table;
pub mod workspace;
pub mod yaml;

pub use error::{Result, ResultsError};
pub use outline::{SweepOutline, Tier, Tolerance};
pub use table::{Cell, Table};
pub use workspace::Workspace;
