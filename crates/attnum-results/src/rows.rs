//! Typed rows: a table built from `#[derive(Serialize)]` structs, one per row, so that a
//! column's name and its value are written once, side by side.
//!
//! A row's fields become the columns, in declaration order: integers are integer cells, floats
//! float cells, strings text, `None` a null and `Some(x)` the cell of `x`. Anything else (a
//! nested struct, a list, a bool) is refused: a results table is flat. This module knows nothing
//! about how tables are stored.

use serde::Serialize;
use serde::ser::{self, Impossible};

use crate::table::{Cell, Table};

impl Table {
    /// The table whose rows are `rows` and whose columns are the fields of `R`.
    ///
    /// Without rows there are no fields to read the names from: the table is then empty with
    /// no columns, so a table that a valid spec may leave empty is built with
    /// [`Table::from_rows_with_header`].
    ///
    /// # Panics
    /// When a field is not a number, a string or an option of one: a bug in the row type,
    /// never a consequence of user input.
    pub fn from_rows<R: Serialize>(rows: &[R]) -> Self {
        let mut table: Option<Self> = None;
        for row in rows {
            let cells = row
                .serialize(RowSerializer::default())
                .unwrap_or_else(|e| panic!("a row type serialises to cells: {e}"));
            let table = table.get_or_insert_with(|| {
                let names: Vec<&str> = cells.iter().map(|(name, _)| *name).collect();
                Self::new(&names)
            });
            table.push_row(cells.into_iter().map(|(_, cell)| cell).collect());
        }
        table.unwrap_or_default()
    }

    /// As [`Table::from_rows`], but without rows the table still has the columns of `R`, named
    /// from its default row: an empty table keeps its header, so that the points of a sweep can
    /// be appended to one another and a reader finds the columns it expects.
    ///
    /// # Panics
    /// As [`Table::from_rows`].
    pub fn from_rows_with_header<R: Serialize + Default>(rows: &[R]) -> Self {
        if rows.is_empty() {
            let header = Self::from_rows(&[R::default()]);
            let names: Vec<&str> = header.names().iter().map(String::as_str).collect();
            Self::new(&names)
        } else {
            Self::from_rows(rows)
        }
    }
}

/// Why a value is not a row or a cell.
#[derive(Debug)]
struct RowError(String);

impl std::fmt::Display for RowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RowError {}

impl ser::Error for RowError {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        Self(msg.to_string())
    }
}

fn refuse<T>(what: &str) -> Result<T, RowError> {
    Err(RowError(format!("{what} is not a table cell")))
}

/// Serialises a struct into `(field name, cell)` pairs.
#[derive(Default)]
struct RowSerializer {
    cells: Vec<(&'static str, Cell)>,
}

impl ser::SerializeStruct for RowSerializer {
    type Ok = Vec<(&'static str, Cell)>;
    type Error = RowError;

    fn serialize_field<T: ?Sized + Serialize>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), RowError> {
        let cell = value
            .serialize(CellSerializer)
            .map_err(|e| RowError(format!("field `{key}`: {e}")))?;
        self.cells.push((key, cell));
        Ok(())
    }

    fn end(self) -> Result<Self::Ok, RowError> {
        Ok(self.cells)
    }
}

macro_rules! refuse_rest {
    ($($method:ident($($arg:ty),*) -> $ret:ty: $what:literal;)*) => {
        $(fn $method(self, $(_: $arg),*) -> Result<$ret, RowError> {
            refuse($what)
        })*
    };
}

impl ser::Serializer for RowSerializer {
    type Ok = Vec<(&'static str, Cell)>;
    type Error = RowError;
    type SerializeSeq = Impossible<Self::Ok, RowError>;
    type SerializeTuple = Impossible<Self::Ok, RowError>;
    type SerializeTupleStruct = Impossible<Self::Ok, RowError>;
    type SerializeTupleVariant = Impossible<Self::Ok, RowError>;
    type SerializeMap = Impossible<Self::Ok, RowError>;
    type SerializeStruct = Self;
    type SerializeStructVariant = Impossible<Self::Ok, RowError>;

    fn serialize_struct(self, _: &'static str, len: usize) -> Result<Self, RowError> {
        Ok(Self {
            cells: Vec::with_capacity(len),
        })
    }

    refuse_rest! {
        serialize_bool(bool) -> Self::Ok: "a bool (a row is a struct)";
        serialize_i8(i8) -> Self::Ok: "a number (a row is a struct)";
        serialize_i16(i16) -> Self::Ok: "a number (a row is a struct)";
        serialize_i32(i32) -> Self::Ok: "a number (a row is a struct)";
        serialize_i64(i64) -> Self::Ok: "a number (a row is a struct)";
        serialize_u8(u8) -> Self::Ok: "a number (a row is a struct)";
        serialize_u16(u16) -> Self::Ok: "a number (a row is a struct)";
        serialize_u32(u32) -> Self::Ok: "a number (a row is a struct)";
        serialize_u64(u64) -> Self::Ok: "a number (a row is a struct)";
        serialize_f32(f32) -> Self::Ok: "a number (a row is a struct)";
        serialize_f64(f64) -> Self::Ok: "a number (a row is a struct)";
        serialize_char(char) -> Self::Ok: "a char (a row is a struct)";
        serialize_str(&str) -> Self::Ok: "a string (a row is a struct)";
        serialize_bytes(&[u8]) -> Self::Ok: "bytes (a row is a struct)";
        serialize_none() -> Self::Ok: "an option (a row is a struct)";
        serialize_unit() -> Self::Ok: "a unit (a row is a struct)";
        serialize_unit_struct(&'static str) -> Self::Ok: "a unit struct (a row is a struct)";
        serialize_unit_variant(&'static str, u32, &'static str) -> Self::Ok: "an enum (a row is a struct)";
        serialize_seq(Option<usize>) -> Self::SerializeSeq: "a list (a row is a struct)";
        serialize_tuple(usize) -> Self::SerializeTuple: "a tuple (a row is a struct)";
        serialize_tuple_struct(&'static str, usize) -> Self::SerializeTupleStruct: "a tuple struct (a row is a struct)";
        serialize_tuple_variant(&'static str, u32, &'static str, usize) -> Self::SerializeTupleVariant: "an enum (a row is a struct)";
        serialize_map(Option<usize>) -> Self::SerializeMap: "a map (a row is a struct)";
        serialize_struct_variant(&'static str, u32, &'static str, usize) -> Self::SerializeStructVariant: "an enum (a row is a struct)";
    }

    fn serialize_some<T: ?Sized + Serialize>(self, _: &T) -> Result<Self::Ok, RowError> {
        refuse("an option (a row is a struct)")
    }

    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<Self::Ok, RowError> {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<Self::Ok, RowError> {
        refuse("an enum (a row is a struct)")
    }
}

/// Serialises one field into a cell.
struct CellSerializer;

impl ser::Serializer for CellSerializer {
    type Ok = Cell;
    type Error = RowError;
    type SerializeSeq = Impossible<Cell, RowError>;
    type SerializeTuple = Impossible<Cell, RowError>;
    type SerializeTupleStruct = Impossible<Cell, RowError>;
    type SerializeTupleVariant = Impossible<Cell, RowError>;
    type SerializeMap = Impossible<Cell, RowError>;
    type SerializeStruct = Impossible<Cell, RowError>;
    type SerializeStructVariant = Impossible<Cell, RowError>;

    fn serialize_i8(self, v: i8) -> Result<Cell, RowError> {
        Ok(Cell::Int(v.into()))
    }
    fn serialize_i16(self, v: i16) -> Result<Cell, RowError> {
        Ok(Cell::Int(v.into()))
    }
    fn serialize_i32(self, v: i32) -> Result<Cell, RowError> {
        Ok(Cell::Int(v.into()))
    }
    fn serialize_i64(self, v: i64) -> Result<Cell, RowError> {
        Ok(Cell::Int(v))
    }
    fn serialize_u8(self, v: u8) -> Result<Cell, RowError> {
        Ok(Cell::Int(v.into()))
    }
    fn serialize_u16(self, v: u16) -> Result<Cell, RowError> {
        Ok(Cell::Int(v.into()))
    }
    fn serialize_u32(self, v: u32) -> Result<Cell, RowError> {
        Ok(Cell::Int(v.into()))
    }
    fn serialize_u64(self, v: u64) -> Result<Cell, RowError> {
        // As `Cell::from(usize)` does: the tables' integers are counts and indices.
        Ok(Cell::Int(v as i64))
    }
    fn serialize_f32(self, v: f32) -> Result<Cell, RowError> {
        Ok(Cell::Float(v.into()))
    }
    fn serialize_f64(self, v: f64) -> Result<Cell, RowError> {
        Ok(Cell::Float(v))
    }
    fn serialize_str(self, v: &str) -> Result<Cell, RowError> {
        Ok(Cell::Text(v.to_owned()))
    }
    fn serialize_none(self) -> Result<Cell, RowError> {
        Ok(Cell::Null)
    }
    fn serialize_some<T: ?Sized + Serialize>(self, value: &T) -> Result<Cell, RowError> {
        value.serialize(self)
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<Cell, RowError> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<Cell, RowError> {
        refuse("an enum with data")
    }

    refuse_rest! {
        serialize_bool(bool) -> Cell: "a bool (write `yes`/`no` or 0/1)";
        serialize_char(char) -> Cell: "a char";
        serialize_bytes(&[u8]) -> Cell: "bytes";
        serialize_unit() -> Cell: "a unit";
        serialize_unit_struct(&'static str) -> Cell: "a unit struct";
        serialize_unit_variant(&'static str, u32, &'static str) -> Cell: "an enum";
        serialize_seq(Option<usize>) -> Self::SerializeSeq: "a list";
        serialize_tuple(usize) -> Self::SerializeTuple: "a tuple";
        serialize_tuple_struct(&'static str, usize) -> Self::SerializeTupleStruct: "a tuple struct";
        serialize_tuple_variant(&'static str, u32, &'static str, usize) -> Self::SerializeTupleVariant: "an enum";
        serialize_map(Option<usize>) -> Self::SerializeMap: "a map";
        serialize_struct(&'static str, usize) -> Self::SerializeStruct: "a struct (rows are flat)";
        serialize_struct_variant(&'static str, u32, &'static str, usize) -> Self::SerializeStructVariant: "an enum";
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default, Serialize)]
    struct Row {
        name: &'static str,
        count: usize,
        value: f64,
        fitted: Option<f64>,
        points: Option<usize>,
    }

    #[test]
    fn a_row_struct_makes_the_same_table_as_positional_cells() {
        let rows = [
            Row {
                name: "a",
                count: 3,
                value: f64::INFINITY,
                fitted: None,
                points: Some(2),
            },
            Row {
                name: "b",
                count: 0,
                value: -0.5,
                fitted: Some(f64::NAN),
                points: None,
            },
        ];
        let mut expected = Table::new(&["name", "count", "value", "fitted", "points"]);
        expected.push_row(vec![
            "a".into(),
            3usize.into(),
            f64::INFINITY.into(),
            Cell::Null,
            Some(2usize).into(),
        ]);
        expected.push_row(vec![
            "b".into(),
            0usize.into(),
            (-0.5).into(),
            f64::NAN.into(),
            Cell::Null,
        ]);
        let table = Table::from_rows(&rows);
        assert_eq!(table.names(), expected.names());
        // NaN ≠ NaN: compare the cells as they debug-print (which also tells integers from floats).
        for name in expected.names() {
            let show = |t: &Table| -> Vec<String> {
                t.column(name)
                    .unwrap()
                    .iter()
                    .map(|c| format!("{c:?}"))
                    .collect()
            };
            assert_eq!(show(&table), show(&expected), "{name}");
        }
        assert_eq!(Table::from_rows::<Row>(&[]), Table::default());
    }

    #[test]
    fn an_empty_table_of_rows_keeps_its_header() {
        let names = ["name", "count", "value", "fitted", "points"];
        let empty = Table::from_rows_with_header::<Row>(&[]);
        assert_eq!(empty, Table::new(&names));
        assert_eq!(empty.height(), 0);
        let row = Row {
            name: "a",
            count: 1,
            value: 2.0,
            fitted: None,
            points: Some(3),
        };
        assert_eq!(
            Table::from_rows_with_header(std::slice::from_ref(&row)),
            Table::from_rows(&[row])
        );
    }
}
