//! Every registered experiment kind is wired through: it has a committed sweep file, its row in
//! the sweep-file reference `docs/sweep-schema.md` says what `experiments!` says it measures, and
//! the bad-input suite has a case naming one of its fields.

use std::collections::BTreeSet;
use std::path::PathBuf;

use attnum_sweep::Workspace;
use attnum_sweep::experiments::KINDS;

fn root() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

#[test]
fn every_kind_has_a_committed_sweep_file() {
    let ws = Workspace::at(root()).unwrap();
    let used: BTreeSet<&str> = ws
        .sweep_names()
        .unwrap()
        .iter()
        .map(|name| ws.load(name).unwrap().spec.experiment.kind())
        .collect();
    for (kind, _) in KINDS {
        assert!(
            used.contains(kind),
            "no sweep file under data/sweeps/ uses `{kind}`"
        );
    }
}

#[test]
fn the_schema_reference_lists_exactly_the_registered_kinds() {
    let schema = std::fs::read_to_string(root().join("docs/sweep-schema.md")).unwrap();
    let rows: Vec<(String, String)> = schema
        .lines()
        .filter_map(|line| line.strip_prefix("| `"))
        .filter_map(|rest| {
            let (kind, what) = rest.split_once("` | ")?;
            Some((kind.to_owned(), what.trim_end_matches(" |").to_owned()))
        })
        .collect();
    let registered: Vec<(String, String)> = KINDS
        .iter()
        .map(|(k, w)| ((*k).to_owned(), (*w).to_owned()))
        .collect();
    assert_eq!(rows, registered, "docs/sweep-schema.md's table of kinds");
}

#[test]
fn every_kind_has_a_bad_input_case() {
    let suite = include_str!("bad_input.rs");
    for (kind, _) in KINDS {
        assert!(
            suite.contains(&format!("experiment.{kind}.")),
            "tests/bad_input.rs has no case whose error names a field of `{kind}`"
        );
    }
}

#[test]
fn the_architecture_map_names_every_kind() {
    let map = std::fs::read_to_string(root().join("ARCHITECTURE.md")).unwrap();
    for (kind, _) in KINDS {
        assert!(
            map.contains(&format!("`{kind}`")),
            "ARCHITECTURE.md's code map does not name `{kind}`"
        );
    }
}
