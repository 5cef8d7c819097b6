//! Numbers quoted in the paper: named queries over results tables, rendered as LaTeX macros.
//!
//! `paper/numbers/SWEEP.yaml` lists each number the text quotes from the tables of sweep SWEEP:
//!
//! ```yaml
//! - name: FdCentralFourObservedOrder     # → \FdCentralFourObservedOrder
//!   table: fd_convergence/orders         # results/fd_convergence/orders.parquet
//!   where: { function: sin, derivative: 1, stencil: central, accuracy: 4 }
//!   column: observed_order
//!   reduce: one                          # one (exactly one row matches) | min | max | median | count
//!   format: { fixed: 2 }                 # fixed: decimals | sci: significant digits | int
//! ```
//!
//! A query that matches no row (or several, with `reduce: one`), names an unknown table or
//! column, or hits a null value fails the build with the query's name.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;
use std::path::Path;

use attnum_results::{Cell, Table};
use serde::Deserialize;

use crate::error::{PaperError, Result};
use crate::results::Results;

/// One named query.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NumberQuery {
    /// The macro name (letters only).
    pub name: String,
    /// `SWEEP/STEM` of the table.
    pub table: String,
    /// Equality conditions on columns.
    #[serde(default, rename = "where")]
    pub conditions: BTreeMap<String, Condition>,
    /// The column whose value is quoted.
    pub column: String,
    /// How matching rows are reduced to one value.
    #[serde(default)]
    pub reduce: Reduce,
    /// How the value is printed.
    #[serde(with = "serde_yaml::with::singleton_map")]
    pub format: Format,
}

/// A value a column must equal.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum Condition {
    /// An integer (matches integer cells and equal float cells).
    Int(i64),
    /// A float.
    Float(f64),
    /// A string.
    Text(String),
    /// Any of several values (`stages: [2, 3, 4]`).
    AnyOf(Vec<Condition>),
}

impl Condition {
    fn matches(&self, cell: &Cell) -> bool {
        match (self, cell) {
            (Self::Int(a), Cell::Int(b)) => a == b,
            (Self::Int(a), Cell::Float(b)) => *a as f64 == *b,
            (Self::Float(a), Cell::Float(b)) => a == b,
            (Self::Float(a), Cell::Int(b)) => *a == *b as f64,
            (Self::Text(a), Cell::Text(b)) => a == b,
            (Self::AnyOf(values), cell) => values.iter().any(|v| v.matches(cell)),
            _ => false,
        }
    }
}

/// How the rows matching a query become one number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reduce {
    /// Exactly one row must match.
    #[default]
    One,
    /// The smallest value over the matching rows.
    Min,
    /// The largest value over the matching rows.
    Max,
    /// The median over the matching rows (the mean of the middle two for an even count).
    Median,
    /// The number of matching rows whose `column` holds a value (not null).
    Count,
}

/// How a number is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Format {
    /// Fixed-point with this many decimals.
    Fixed(usize),
    /// Scientific with this many significant digits, as `m \times 10^{e}`.
    Sci(usize),
    /// An integer (the value must be integral).
    Int,
}

impl Format {
    /// Render `x` as LaTeX (valid in text and in math mode).
    pub fn render(self, x: f64) -> std::result::Result<String, String> {
        if !x.is_finite() {
            return Err(format!("value {x} is not finite"));
        }
        Ok(match self {
            Self::Fixed(decimals) => format!("{x:.decimals$}").replace('-', "\\ensuremath{-}"),
            Self::Int => {
                if x.fract() != 0.0 {
                    return Err(format!("value {x} is not an integer"));
                }
                format!("{x:.0}")
            }
            Self::Sci(digits) => {
                let digits = digits.max(1);
                let formatted = format!("{x:.prec$e}", prec = digits - 1);
                let (mantissa, exponent) = formatted.split_once('e').expect("`e` format");
                let exponent: i32 = exponent.parse().expect("integer exponent");
                if exponent == 0 {
                    format!("\\ensuremath{{{mantissa}}}")
                } else {
                    format!("\\ensuremath{{{mantissa}\\times 10^{{{exponent}}}}}")
                }
            }
        })
    }
}

impl NumberQuery {
    /// Evaluate the query against the results.
    pub fn evaluate(&self, results: &Results) -> std::result::Result<f64, String> {
        let table = results.tables.get(&self.table).ok_or_else(|| {
            format!(
                "no table `{}`; the tables are: {}",
                self.table,
                results
                    .tables
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })?;
        let rows = matching_rows(table, &self.conditions)?;
        let column = table
            .column(&self.column)
            .ok_or_else(|| format!("table `{}` has no column `{}`", self.table, self.column))?;
        if self.reduce == Reduce::Count {
            return Ok(rows.iter().filter(|&&r| column[r] != Cell::Null).count() as f64);
        }
        let cells = rows.iter().map(|&r| (r, &column[r]));
        let values = if self.reduce == Reduce::One {
            cells
                .map(|(r, cell)| {
                    cell.as_f64().ok_or_else(|| {
                        format!("row {r} of `{}` is {cell} (not a number)", self.column)
                    })
                })
                .collect::<std::result::Result<Vec<f64>, String>>()?
        } else {
            // Aggregates run over the rows that hold a value.
            cells.filter_map(|(_, cell)| cell.as_f64()).collect()
        };
        match self.reduce {
            Reduce::One => match values.as_slice() {
                [v] => Ok(*v),
                [] => Err("no row matches the conditions".into()),
                many => Err(format!(
                    "{} rows match; add conditions or use `reduce`",
                    many.len()
                )),
            },
            Reduce::Min | Reduce::Max | Reduce::Median if values.is_empty() => {
                Err("no row with a value matches the conditions".into())
            }
            Reduce::Min => Ok(values.into_iter().fold(f64::INFINITY, f64::min)),
            Reduce::Max => Ok(values.into_iter().fold(f64::NEG_INFINITY, f64::max)),
            Reduce::Median => {
                let mut sorted = values;
                sorted.sort_by(f64::total_cmp);
                let mid = sorted.len() / 2;
                Ok(if sorted.len() % 2 == 1 {
                    sorted[mid]
                } else {
                    (sorted[mid - 1] + sorted[mid]) / 2.0
                })
            }
            Reduce::Count => unreachable!("handled above"),
        }
    }
}

fn matching_rows(
    table: &Table,
    conditions: &BTreeMap<String, Condition>,
) -> std::result::Result<Vec<usize>, String> {
    let columns = conditions
        .iter()
        .map(|(name, cond)| {
            table
                .column(name)
                .map(|c| (c, cond))
                .ok_or_else(|| format!("condition on unknown column `{name}`"))
        })
        .collect::<std::result::Result<Vec<_>, String>>()?;
    Ok((0..table.height())
        .filter(|&r| columns.iter().all(|(c, cond)| cond.matches(&c[r])))
        .collect())
}

/// Read the queries of every `SWEEP.yaml` in `dir` (`paper/numbers/`), evaluate them all, and
/// return the LaTeX macro file. A file holds the queries over one sweep's tables: a query whose
/// table belongs to another sweep, a macro defined twice or a query without a value fails.
pub fn render_macros(dir: &Path, results: &Results) -> Result<String> {
    let io = |e: std::io::Error| PaperError::io(dir, e);
    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(dir)
        .map_err(io)?
        .map(|entry| entry.map(|e| e.path()).map_err(io))
        .collect::<Result<_>>()?;
    files.retain(|path| path.extension().is_some_and(|e| e == "yaml"));
    files.sort();
    let mut seen = BTreeSet::new();
    let mut out = String::from(
        "% Generated by `attnum paper` from paper/numbers/*.yaml: every number quoted in the text.\n",
    );
    for path in &files {
        let sweep = path.file_stem().map(|s| s.to_string_lossy().into_owned());
        let queries: Vec<NumberQuery> = attnum_results::yaml::read(path)?;
        for q in &queries {
            let fail = |message: String| PaperError::Query {
                path: path.to_owned(),
                name: q.name.clone(),
                message,
            };
            if q.name.is_empty() || !q.name.chars().all(|c| c.is_ascii_alphabetic()) {
                return Err(fail(
                    "a macro name must consist of ASCII letters only".into(),
                ));
            }
            if let Some(sweep) = &sweep
                && !q.table.starts_with(&format!("{sweep}/"))
            {
                return Err(fail(format!(
                    "its table `{}` is not one of sweep `{sweep}`: the query belongs in the file of its sweep",
                    q.table
                )));
            }
            if !seen.insert(q.name.clone()) {
                return Err(fail("defined twice".into()));
            }
            let value = q.evaluate(results).map_err(fail)?;
            let text = q.format.render(value).map_err(fail)?;
            writeln!(out, "\\newcommand{{\\{}}}{{{text}}}% {}", q.name, q.table)
                .expect("write to String");
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn results() -> Results {
        let mut t = Table::new(&["method", "order", "err"]);
        t.push_row(vec!["central".into(), 2usize.into(), 1.5e-11.into()]);
        t.push_row(vec!["central".into(), 4usize.into(), 3.25e-13.into()]);
        t.push_row(vec!["forward".into(), 1usize.into(), Cell::Null]);
        let mut r = Results::default();
        r.tables.insert("s/t".into(), t);
        r
    }

    fn query(yaml: &str) -> NumberQuery {
        attnum_results::yaml::parse(Path::new("numbers.yaml"), yaml).unwrap()
    }

    #[test]
    fn one_min_max_count() {
        let r = results();
        let q = query(
            "{name: A, table: s/t, where: {method: central, order: 4}, column: err, format: {sci: 2}}",
        );
        assert_eq!(q.evaluate(&r).unwrap(), 3.25e-13);
        assert_eq!(
            q.format.render(3.25e-13).unwrap(),
            r"\ensuremath{3.2\times 10^{-13}}"
        );
        let q = query(
            "{name: B, table: s/t, where: {method: central}, column: err, reduce: max, format: int}",
        );
        assert_eq!(q.evaluate(&r).unwrap(), 1.5e-11);
        let q = query(
            "{name: B, table: s/t, where: {method: central}, column: err, reduce: median, format: int}",
        );
        assert_eq!(q.evaluate(&r).unwrap(), (1.5e-11 + 3.25e-13) / 2.0);
        let q = query("{name: C, table: s/t, column: err, reduce: count, format: int}");
        assert_eq!(
            q.evaluate(&r).unwrap(),
            2.0,
            "the null error is not counted"
        );
    }

    #[test]
    fn each_file_holds_the_queries_of_its_own_sweep() {
        let dir = tempfile::tempdir().unwrap();
        let entry = "- name: Central\n  table: s/t\n  where: { method: central, order: 2 }\n  column: err\n  format: { sci: 2 }\n";
        std::fs::write(dir.path().join("s.yaml"), entry).unwrap();
        let macros = render_macros(dir.path(), &results()).unwrap();
        assert!(macros.contains("\\newcommand{\\Central}"), "{macros}");
        std::fs::write(
            dir.path().join("other.yaml"),
            entry.replace("Central", "Moved"),
        )
        .unwrap();
        let err = render_macros(dir.path(), &results())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("other.yaml")
                && err.contains("Moved")
                && err.contains("not one of sweep `other`"),
            "{err}"
        );
        std::fs::remove_file(dir.path().join("other.yaml")).unwrap();
        std::fs::write(dir.path().join("t.yaml"), entry.replace("s/t", "t/t")).unwrap();
        let err = render_macros(dir.path(), &results())
            .unwrap_err()
            .to_string();
        assert!(err.contains("defined twice"), "{err}");
    }

    #[test]
    fn failures_are_reported_not_guessed() {
        let r = results();
        let q = query("{name: A, table: s/t, where: {method: central}, column: err, format: int}");
        assert!(q.evaluate(&r).unwrap_err().contains("2 rows match"));
        let q = query("{name: A, table: s/t, where: {method: none}, column: err, format: int}");
        assert!(q.evaluate(&r).unwrap_err().contains("no row"));
        let q = query("{name: A, table: s/t, where: {method: forward}, column: err, format: int}");
        assert!(q.evaluate(&r).unwrap_err().contains("not a number"));
        let q = query("{name: A, table: s/x, column: err, format: int}");
        assert!(q.evaluate(&r).unwrap_err().contains("no table `s/x`"));
        let q = query("{name: A, table: s/t, where: {colour: red}, column: err, format: int}");
        assert!(
            q.evaluate(&r)
                .unwrap_err()
                .contains("unknown column `colour`")
        );
    }

    #[test]
    fn formats() {
        assert_eq!(Format::Fixed(2).render(3.996).unwrap(), "4.00");
        assert_eq!(
            Format::Fixed(1).render(-0.26).unwrap(),
            r"\ensuremath{-}0.3"
        );
        assert_eq!(Format::Int.render(41.0).unwrap(), "41");
        assert!(Format::Int.render(4.5).is_err());
        assert_eq!(Format::Sci(3).render(1.0).unwrap(), r"\ensuremath{1.00}");
        assert!(Format::Sci(3).render(f64::NAN).is_err());
    }

    #[test]
    fn a_list_in_where_matches_any_of_its_values() {
        let c: Condition = serde_yaml::from_str("[2, 3]").unwrap();
        assert!(c.matches(&Cell::Int(3)) && c.matches(&Cell::Float(2.0)));
        assert!(!c.matches(&Cell::Int(1)) && !c.matches(&Cell::Text("2".into())));
    }
}
