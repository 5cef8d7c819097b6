//! Results tables: a small column-major table type, and its Parquet / CSV encoding through Polars.
//!
//! Experiments build a [`Table`] row by row; [`Table::write`] stores it as `NAME.parquet` and
//! `NAME.csv` (both atomically); [`Table::read_parquet`] reads one back for the paper. Polars is
//! used only here, so the rest of the workspace does not depend on its API.

use std::fmt;
use std::io::Cursor;
use std::path::Path;

use polars::prelude::{
    CsvWriter, DataFrame, DataType, IntoColumn, NamedFrom, ParquetReader, ParquetWriter, SerReader,
    SerWriter, Series,
};

use crate::atomic::write_atomic;
use crate::error::{Result, ResultsError};

/// One cell of a table.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// A floating-point number.
    Float(f64),
    /// An integer.
    Int(i64),
    /// A string.
    Text(String),
    /// A missing value (e.g. an observed order where no truncation range exists).
    Null,
}

impl Cell {
    /// The cell as a float, if it is a number.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Self::Float(x) => Some(*x),
            Self::Int(i) => Some(*i as f64),
            _ => None,
        }
    }
}

impl fmt::Display for Cell {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Float(x) => write!(f, "{x}"),
            Self::Int(i) => write!(f, "{i}"),
            Self::Text(s) => f.write_str(s),
            Self::Null => f.write_str("null"),
        }
    }
}

impl From<f64> for Cell {
    fn from(x: f64) -> Self {
        Self::Float(x)
    }
}
impl From<Option<f64>> for Cell {
    fn from(x: Option<f64>) -> Self {
        x.map_or(Self::Null, Self::Float)
    }
}
impl From<usize> for Cell {
    fn from(i: usize) -> Self {
        Self::Int(i as i64)
    }
}
impl From<Option<usize>> for Cell {
    fn from(i: Option<usize>) -> Self {
        i.map_or(Self::Null, Self::from)
    }
}
impl From<&str> for Cell {
    fn from(s: &str) -> Self {
        Self::Text(s.to_owned())
    }
}
impl From<String> for Cell {
    fn from(s: String) -> Self {
        Self::Text(s)
    }
}

/// A column-major table with named columns of uniform type (nulls allowed).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Table {
    names: Vec<String>,
    columns: Vec<Vec<Cell>>,
}

impl Table {
    /// An empty table with the given column names.
    pub fn new(names: &[&str]) -> Self {
        Self {
            names: names.iter().map(|&n| n.to_owned()).collect(),
            columns: vec![Vec::new(); names.len()],
        }
    }

    /// This table with the given columns, each holding one value on every row, put first.
    pub fn with_leading_columns(&self, leading: &[(String, Cell)]) -> Self {
        let height = self.height();
        let mut names: Vec<String> = leading.iter().map(|(n, _)| n.clone()).collect();
        names.extend(self.names.iter().cloned());
        let mut columns: Vec<Vec<Cell>> = leading
            .iter()
            .map(|(_, c)| vec![c.clone(); height])
            .collect();
        columns.extend(self.columns.iter().cloned());
        Self { names, columns }
    }

    /// Append the rows of `other`, which must have the same columns.
    ///
    /// # Errors
    /// The column names differ (returned as a message).
    pub fn append(&mut self, other: &Self) -> std::result::Result<(), String> {
        if self.names != other.names {
            return Err(format!(
                "columns {:?} cannot follow columns {:?}",
                other.names, self.names
            ));
        }
        for (column, more) in self.columns.iter_mut().zip(&other.columns) {
            column.extend(more.iter().cloned());
        }
        Ok(())
    }

    /// Append a row; it must have one cell per column.
    ///
    /// # Panics
    /// When the row length differs from the number of columns: that is a bug in the experiment,
    /// never a consequence of user input.
    pub fn push_row(&mut self, row: Vec<Cell>) {
        assert_eq!(
            row.len(),
            self.names.len(),
            "row length must match the columns"
        );
        for (column, cell) in self.columns.iter_mut().zip(row) {
            column.push(cell);
        }
    }

    /// The column names, in order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Number of rows.
    pub fn height(&self) -> usize {
        self.columns.first().map_or(0, Vec::len)
    }

    /// The cells of a column, by name.
    pub fn column(&self, name: &str) -> Option<&[Cell]> {
        self.names
            .iter()
            .position(|n| n == name)
            .map(|i| self.columns[i].as_slice())
    }

    /// The cell at `row` of column `name`.
    pub fn cell(&self, row: usize, name: &str) -> Option<&Cell> {
        self.column(name).and_then(|c| c.get(row))
    }

    fn to_frame(&self, path: &Path) -> Result<DataFrame> {
        let mut columns = Vec::with_capacity(self.names.len());
        for (name, cells) in self.names.iter().zip(&self.columns) {
            let bad = |kind: &str| ResultsError::Table {
                path: path.to_owned(),
                message: format!("column `{name}` mixes {kind} with other types"),
            };
            let first = cells.iter().find(|c| !matches!(c, Cell::Null));
            let series = match first {
                Some(Cell::Int(_)) => {
                    let values: Option<Vec<Option<i64>>> = cells
                        .iter()
                        .map(|c| match c {
                            Cell::Int(i) => Some(Some(*i)),
                            Cell::Null => Some(None),
                            _ => None,
                        })
                        .collect();
                    Series::new(name.as_str().into(), values.ok_or_else(|| bad("integers"))?)
                }
                Some(Cell::Text(_)) => {
                    let values: Option<Vec<Option<&str>>> = cells
                        .iter()
                        .map(|c| match c {
                            Cell::Text(s) => Some(Some(s.as_str())),
                            Cell::Null => Some(None),
                            _ => None,
                        })
                        .collect();
                    Series::new(name.as_str().into(), values.ok_or_else(|| bad("strings"))?)
                }
                Some(Cell::Float(_)) | None => {
                    let values: Option<Vec<Option<f64>>> = cells
                        .iter()
                        .map(|c| match c {
                            Cell::Float(x) => Some(Some(*x)),
                            Cell::Null => Some(None),
                            _ => None,
                        })
                        .collect();
                    Series::new(name.as_str().into(), values.ok_or_else(|| bad("floats"))?)
                }
                Some(Cell::Null) => unreachable!("first non-null cell"),
            };
            columns.push(series.into_column());
        }
        DataFrame::new(self.height(), columns).map_err(|e| ResultsError::Table {
            path: path.to_owned(),
            message: e.to_string(),
        })
    }

    /// Encode as Parquet and CSV bytes, in that order.
    pub fn encode(&self, path: &Path) -> Result<(Vec<u8>, Vec<u8>)> {
        let polars_err = |e: polars::error::PolarsError| ResultsError::Table {
            path: path.to_owned(),
            message: e.to_string(),
        };
        let mut frame = self.to_frame(path)?;
        let mut parquet = Vec::new();
        ParquetWriter::new(&mut parquet)
            .finish(&mut frame)
            .map_err(polars_err)?;
        let mut csv = Vec::new();
        CsvWriter::new(&mut csv)
            .include_header(true)
            .finish(&mut frame)
            .map_err(polars_err)?;
        Ok((parquet, csv))
    }

    /// Write `DIR/STEM.parquet` and `DIR/STEM.csv` atomically; returns the two paths.
    pub fn write(&self, dir: &Path, stem: &str) -> Result<[std::path::PathBuf; 2]> {
        let parquet_path = dir.join(format!("{stem}.parquet"));
        let csv_path = dir.join(format!("{stem}.csv"));
        let (parquet, csv) = self.encode(&parquet_path)?;
        write_atomic(&parquet_path, &parquet)?;
        write_atomic(&csv_path, &csv)?;
        Ok([parquet_path, csv_path])
    }

    /// Read a Parquet file written by [`Table::write`].
    pub fn read_parquet(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| ResultsError::io(path, e))?;
        let table_err = |message: String| ResultsError::Table {
            path: path.to_owned(),
            message,
        };
        let frame = ParquetReader::new(Cursor::new(bytes))
            .finish()
            .map_err(|e| table_err(e.to_string()))?;
        let mut table = Self::default();
        for column in frame.columns() {
            let series = column.as_materialized_series();
            let name = series.name().to_string();
            let cells: Vec<Cell> = match series.dtype() {
                DataType::Float64 => series
                    .f64()
                    .map_err(|e| table_err(e.to_string()))?
                    .iter()
                    .map(Cell::from)
                    .collect(),
                DataType::Int64 => series
                    .i64()
                    .map_err(|e| table_err(e.to_string()))?
                    .iter()
                    .map(|v| v.map_or(Cell::Null, Cell::Int))
                    .collect(),
                DataType::String => series
                    .str()
                    .map_err(|e| table_err(e.to_string()))?
                    .iter()
                    .map(|v| v.map_or(Cell::Null, Cell::from))
                    .collect(),
                other => {
                    return Err(table_err(format!(
                        "column `{name}` has unsupported type {other}"
                    )));
                }
            };
            table.names.push(name);
            table.columns.push(cells);
        }
        Ok(table)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parquet_round_trip_keeps_types_nulls_and_bits() {
        let mut t = Table::new(&["name", "n", "x"]);
        t.push_row(vec!["a".into(), 1usize.into(), 0.1f64.into()]);
        t.push_row(vec!["b_&%".into(), 2usize.into(), Cell::Null]);
        t.push_row(vec![Cell::Null, 3usize.into(), (1.0f64 / 3.0).into()]);
        let dir = tempfile::tempdir().unwrap();
        let [parquet, csv] = t.write(dir.path(), "t").unwrap();
        let back = Table::read_parquet(&parquet).unwrap();
        assert_eq!(back, t);
        let text = std::fs::read_to_string(csv).unwrap();
        assert!(text.starts_with("name,n,x\n"), "{text}");
        assert!(
            text.contains("0.3333333333333333"),
            "full precision in CSV: {text}"
        );
    }

    #[test]
    fn encoding_is_deterministic() {
        let mut t = Table::new(&["x"]);
        for i in 0..100 {
            t.push_row(vec![(i as f64).sqrt().into()]);
        }
        let p = Path::new("t.parquet");
        assert_eq!(t.encode(p).unwrap(), t.encode(p).unwrap());
    }

    #[test]
    fn mixed_column_is_an_error_not_a_panic() {
        let mut t = Table::new(&["x"]);
        t.push_row(vec![1.0f64.into()]);
        t.push_row(vec!["s".into()]);
        let err = t.encode(Path::new("t.parquet")).unwrap_err().to_string();
        assert!(err.contains("column `x` mixes floats"), "{err}");
    }
}
