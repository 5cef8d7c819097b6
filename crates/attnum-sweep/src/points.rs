//! The points of a sweep: the experiment's parameters varied by a Cartesian `grid`, a `zip` of
//! equally long lists, and explicit `points`, declared under `vary:` in the sweep file.
//!
//! ```yaml
//! vary:
//!   grid: { eccentricity: [0.1, 0.5], fit.points: [3, 4] }   # every combination
//!   zip:  { steps: [[32, 64], [64, 128]], ... }              # i-th values together
//!   points: [ { eccentricity: 0.9 } ]                        # each an extra variation
//! ```
//!
//! Keys are dotted paths into the experiment's parameters (below `experiment.KIND`); each must
//! name an existing parameter. The points are the grid's combinations (last key fastest) times
//! the zip's rows, times the explicit points (each point overrides on top of the others); with
//! nothing declared the sweep has one point, the experiment as written. Every point is validated
//! like the experiment itself, and its tables carry one leading column per varied path.

use std::collections::BTreeMap;

use attnum_results::{Cell, Table};
use serde::{Deserialize, Serialize};
use serde_yaml::Value;

use crate::experiments::{ExperimentSpec, FieldError, NamedTable};

/// The `vary:` section of a sweep file.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Variations {
    /// Cartesian product of values, by parameter path.
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "unique_paths"
    )]
    pub grid: BTreeMap<String, Vec<Value>>,
    /// Lists of equal length taken together, by parameter path.
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "unique_paths"
    )]
    pub zip: BTreeMap<String, Vec<Value>>,
    /// Explicit variations, each a map of parameter paths to values.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "unique_paths_each"
    )]
    pub points: Vec<BTreeMap<String, Value>>,
}

/// A map of parameter paths in which a path written twice is an error (YAML parsers keep the
/// last value silently).
struct UniquePaths<V>(BTreeMap<String, V>);

impl<'de, V: Deserialize<'de>> Deserialize<'de> for UniquePaths<V> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor<V>(std::marker::PhantomData<V>);
        impl<'de, V: Deserialize<'de>> serde::de::Visitor<'de> for Visitor<V> {
            type Value = UniquePaths<V>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a map of parameter paths")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Self::Value, A::Error> {
                let mut out = BTreeMap::new();
                while let Some((path, value)) = map.next_entry::<String, V>()? {
                    if out.contains_key(&path) {
                        return Err(serde::de::Error::custom(format!(
                            "the path `{path}` is written twice"
                        )));
                    }
                    out.insert(path, value);
                }
                Ok(UniquePaths(out))
            }
        }
        deserializer.deserialize_map(Visitor(std::marker::PhantomData))
    }
}

fn unique_paths<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<BTreeMap<String, Vec<Value>>, D::Error> {
    UniquePaths::deserialize(deserializer).map(|m| m.0)
}

fn unique_paths_each<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<BTreeMap<String, Value>>, D::Error> {
    Vec::<UniquePaths<Value>>::deserialize(deserializer)
        .map(|v| v.into_iter().map(|m| m.0).collect())
}

/// One point: the values of the varied paths (empty for an unvaried sweep).
pub type Point = BTreeMap<String, Value>;

/// Tables by file stem, in the order the experiment produced them.
pub type StemTables = Vec<(String, Table)>;

impl Variations {
    /// Whether nothing is varied.
    pub fn is_empty(&self) -> bool {
        self.grid.is_empty() && self.zip.is_empty() && self.points.is_empty()
    }

    /// The paths this section varies (each becomes a leading column of every table).
    pub fn paths(&self) -> std::collections::BTreeSet<&str> {
        self.grid
            .keys()
            .chain(self.zip.keys())
            .chain(self.points.iter().flat_map(BTreeMap::keys))
            .map(String::as_str)
            .collect()
    }

    /// The number of zip rows (1 without a zip), after checking that every list is non-empty and
    /// the zip lists are equally long.
    fn zip_rows(&self) -> Result<usize, FieldError> {
        if let Some((path, _)) = self.grid.iter().find(|(_, v)| v.is_empty()) {
            return Err(FieldError::new(
                format!("grid.{path}"),
                "needs at least one value",
            ));
        }
        let Some((first, values)) = self.zip.iter().next() else {
            return Ok(1);
        };
        let n = values.len();
        if n == 0 {
            return Err(FieldError::new(
                format!("zip.{first}"),
                "needs at least one value",
            ));
        }
        if let Some((path, v)) = self.zip.iter().find(|(_, v)| v.len() != n) {
            return Err(FieldError::new(
                format!("zip.{path}"),
                format!("has {} values but zip.{first} has {n}", v.len()),
            ));
        }
        Ok(n)
    }

    /// The number of points, computed from the lengths of the lists without expanding them (it
    /// saturates at `u128::MAX`, far beyond any limit).
    ///
    /// # Errors
    /// An empty list, or zip lists of different lengths (field path below `vary`).
    pub fn count(&self) -> Result<u128, FieldError> {
        let zip = self.zip_rows()? as u128;
        let grid = self
            .grid
            .values()
            .fold(1u128, |n, values| n.saturating_mul(values.len() as u128));
        let explicit = self.points.len().max(1) as u128;
        Ok(grid.saturating_mul(zip).saturating_mul(explicit))
    }

    /// The points, in order. Call [`Variations::count`] first: this allocates every point.
    ///
    /// # Errors
    /// An empty list, or zip lists of different lengths (field path below `vary`).
    pub fn points(&self) -> Result<Vec<Point>, FieldError> {
        let n = self.zip_rows()?;
        let mut points: Vec<Point> = vec![Point::new()];
        for (path, values) in &self.grid {
            points = points
                .into_iter()
                .flat_map(|p| {
                    values.iter().map(move |v| {
                        let mut q = p.clone();
                        q.insert(path.clone(), v.clone());
                        q
                    })
                })
                .collect();
        }
        if !self.zip.is_empty() {
            points = points
                .into_iter()
                .flat_map(|p| {
                    (0..n).map(move |i| {
                        let mut q = p.clone();
                        for (path, values) in &self.zip {
                            q.insert(path.clone(), values[i].clone());
                        }
                        q
                    })
                })
                .collect();
        }
        if !self.points.is_empty() {
            points = points
                .into_iter()
                .flat_map(|p| {
                    self.points.iter().map(move |extra| {
                        let mut q = p.clone();
                        q.extend(extra.iter().map(|(k, v)| (k.clone(), v.clone())));
                        q
                    })
                })
                .collect();
        }
        Ok(points)
    }
}

/// The experiment's parameters as a YAML value (below the kind), for reading and setting paths.
fn parameters(experiment: &ExperimentSpec) -> Result<Value, FieldError> {
    let kind = experiment.kind();
    let value =
        serde_yaml::with::singleton_map::serialize(experiment, serde_yaml::value::Serializer)
            .map_err(|e| FieldError::new("vary", e.to_string()))?;
    value
        .get(kind)
        .cloned()
        .ok_or_else(|| FieldError::new("vary", "the experiment has no parameters"))
}

/// The parameter at a dotted `path` of `params`.
fn parameter_mut<'a>(
    params: &'a mut Value,
    path: &str,
    kind: &str,
) -> Result<&'a mut Value, FieldError> {
    let mut node = params;
    for part in path.split('.') {
        node = node.get_mut(part).ok_or_else(|| {
            FieldError::new(
                format!("vary.{path}"),
                format!("no parameter `{path}` in experiment `{kind}`"),
            )
        })?;
    }
    Ok(node)
}

/// The source of the module of each experiment kind, read for the columns its tables have.
fn experiment_source(kind: &str) -> Option<&'static str> {
    crate::experiments::SOURCES
        .iter()
        .find(|(name, _)| *name == kind)
        .map(|(_, source)| *source)
}

/// The names of the columns that experiments of `kind` write: the fields of its row structs
/// (those that derive `Serialize` and not `Deserialize`, turned into tables by
/// `Table::from_rows`), in its module and in
/// `training.rs` for a module that builds its `curve` table there (`curve_table`, or
/// `method_curve` for a table of several models) and in `statistics.rs` for one that builds a
/// `statistics` table of `StatisticsRow`s. Read from the
/// code itself so that the list cannot fall behind it (`tests/bad_input.rs` checks it against
/// every committed table).
pub fn written_columns(kind: &str) -> std::collections::BTreeSet<&'static str> {
    let mut columns = std::collections::BTreeSet::new();
    let Some(source) = experiment_source(kind) else {
        return columns;
    };
    let mut sources = vec![source];
    if source.contains("curve_table(") || source.contains("method_curve(") {
        sources.push(include_str!("training.rs"));
    }
    if source.contains("StatisticsRow::") {
        sources.push(include_str!("statistics.rs"));
    }
    for source in sources {
        columns.extend(row_fields(source));
    }
    columns
}

/// The field names of the row structs in `source`: each struct right after a
/// `#[derive(…Serialize…)]` without `Deserialize` (a row is written, never read back as a spec).
fn row_fields(source: &'static str) -> Vec<&'static str> {
    let mut fields = Vec::new();
    let mut lines = source.lines();
    while let Some(line) = lines.next() {
        let derive = line.trim_start();
        if !(derive.starts_with("#[derive(")
            && derive.contains("Serialize")
            && !derive.contains("Deserialize"))
        {
            continue;
        }
        let Some(header) = lines.by_ref().find(|l| !l.trim_start().starts_with("#[")) else {
            break;
        };
        if !header.contains("struct ") || !header.trim_end().ends_with('{') {
            continue;
        }
        for field in lines.by_ref() {
            let field = field.trim();
            if field.starts_with('}') {
                break;
            }
            let field = field.strip_prefix("pub ").unwrap_or(field);
            if let Some((name, _)) = field.split_once(':')
                && !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            {
                fields.push(name);
            }
        }
    }
    fields
}

/// The table stems that experiments of `kind` write: the `stem: "…"` literals of its module.
pub fn written_stems(kind: &str) -> std::collections::BTreeSet<&'static str> {
    experiment_source(kind)
        .map(|source| {
            source
                .split("stem: \"")
                .skip(1)
                .filter_map(|rest| rest.split_once('"').map(|(stem, _)| stem))
                .collect()
        })
        .unwrap_or_default()
}

/// Check the paths that `vary` sets before any point is expanded: each must name a parameter of
/// the experiment, and none may be a column the experiment writes itself (its tables would have
/// two columns of that name, found only after computing every point).
///
/// # Errors
/// The path (field `vary.PATH`) and why it cannot be varied.
pub fn check_paths(vary: &Variations, experiment: &ExperimentSpec) -> Result<(), FieldError> {
    let kind = experiment.kind();
    let mut params = parameters(experiment)?;
    let written = written_columns(kind);
    for path in vary.paths() {
        parameter_mut(&mut params, path, kind)?;
        if written.contains(path) {
            return Err(FieldError::new(
                format!("vary.{path}"),
                format!(
                    "experiment `{kind}` writes a column `{path}` itself, so its tables cannot \
                     also hold the varied value; vary another parameter or use one sweep file \
                     per value"
                ),
            ));
        }
    }
    Ok(())
}

/// Give every point a value for every path that any point varies — the experiment's own value
/// where the point leaves the path alone — so that all points' tables have the same leading
/// columns.
///
/// # Errors
/// A path that names no parameter (field `vary.PATH`).
pub fn complete(points: &mut [Point], experiment: &ExperimentSpec) -> Result<(), FieldError> {
    let paths: std::collections::BTreeSet<String> =
        points.iter().flat_map(|p| p.keys().cloned()).collect();
    let mut params = parameters(experiment)?;
    for path in paths {
        let value = parameter_mut(&mut params, &path, experiment.kind())?.clone();
        for point in points.iter_mut() {
            point.entry(path.clone()).or_insert_with(|| value.clone());
        }
    }
    Ok(())
}

/// The experiment with the point's values set, validated.
///
/// # Errors
/// A path that names no parameter (field `vary.PATH`), a value of the wrong type, or a value the
/// experiment rejects (field `vary point PATH = VALUE → experiment.KIND.FIELD`).
pub fn apply(experiment: &ExperimentSpec, point: &Point) -> Result<ExperimentSpec, FieldError> {
    if point.is_empty() {
        return Ok(experiment.clone());
    }
    let kind = experiment.kind();
    let mut params = parameters(experiment)?;
    for (path, v) in point {
        *parameter_mut(&mut params, path, kind)? = v.clone();
    }
    let mut value = serde_yaml::Mapping::new();
    value.insert(Value::String(kind.to_owned()), params);
    let spec: ExperimentSpec = serde_yaml::with::singleton_map::deserialize(Value::Mapping(value))
        .map_err(|e| {
            FieldError::new(
                format!("vary point {}", describe(point)),
                format!("the point does not fit experiment `{kind}`: {e}"),
            )
        })?;
    spec.validate().map_err(
        |FieldError {
             path: field,
             message,
         }| {
            FieldError::new(
                format!("vary point {} → experiment.{kind}.{field}", describe(point)),
                message,
            )
        },
    )?;
    Ok(spec)
}

/// `path = value, …` for messages and progress.
pub fn describe(point: &Point) -> String {
    if point.is_empty() {
        return "the experiment as written".into();
    }
    point
        .iter()
        .map(|(k, v)| format!("{k} = {}", describe_value(v)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A point's value as a table cell.
fn cell(v: &Value) -> Cell {
    match v {
        Value::Number(n) if n.is_i64() || n.is_u64() => Cell::Int(n.as_i64().unwrap_or(i64::MAX)),
        Value::Number(n) => Cell::Float(n.as_f64().unwrap_or(f64::NAN)),
        Value::String(s) => Cell::Text(s.clone()),
        other => Cell::Text(describe_value(other)),
    }
}

/// A value on one line (a list as `- a - b`).
fn describe_value(v: &Value) -> String {
    serde_yaml::to_string(v)
        .unwrap_or_default()
        .trim()
        .replace('\n', " ")
}

/// The tables of one point, with a leading column per varied path when the sweep varies any.
pub fn point_tables(tables: Vec<NamedTable>, point: &Point) -> StemTables {
    let leading: Vec<(String, Cell)> = point.iter().map(|(k, v)| (k.clone(), cell(v))).collect();
    tables
        .into_iter()
        .map(|named| {
            let table = if leading.is_empty() {
                named.table
            } else {
                named.table.with_leading_columns(&leading)
            };
            (named.stem.to_owned(), table)
        })
        .collect()
}

/// The sweep's tables: each stem's tables of all points, concatenated in point order.
///
/// # Errors
/// Points whose tables of one stem have different columns (a bug in the experiment).
pub fn assemble(per_point: Vec<StemTables>) -> Result<StemTables, String> {
    let mut out: StemTables = Vec::new();
    for tables in per_point {
        for (stem, table) in tables {
            match out.iter_mut().find(|(s, _)| *s == stem) {
                Some((_, all)) => all.append(&table).map_err(|e| format!("{stem}: {e}"))?,
                None => out.push((stem, table)),
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_struct_fields_are_written_columns_and_spec_fields_are_not() {
        let source = "#[derive(Debug, Clone, Deserialize, Serialize)]\nstruct Spec {\n    pub \
                      max_step: f64,\n}\n\n/// A row.\n#[derive(Serialize)]\nstruct Row<'a> {\n    \
                      stencil: &'a str,\n    fit_h_min: Option<f64>,\n}\n";
        assert_eq!(row_fields(source), ["stencil", "fit_h_min"]);
        let columns = written_columns("fd_convergence");
        for column in [
            "function",
            "roundoff_estimate",
            "fit_h_min",
            "step_model_ratio",
        ] {
            assert!(columns.contains(column), "{column}");
        }
        assert!(!columns.contains("max_step"));
    }
}
