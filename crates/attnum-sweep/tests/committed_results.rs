//! Every committed sweep of the quick tier: its results are deterministic and are exactly what is
//! committed under `results/`, so that the paper is rendered from what the code produces. The
//! full tier (the training sweeps, minutes each) is checked the same way by `just verify full`,
//! which CI runs; the bit-identity of seeded training is tested in `attnum-attention`. And every
//! committed sweep file reads alike through the outline the paper uses and the full parse.

use std::path::{Path, PathBuf};

use attnum_results::Tier;
use attnum_sweep::Workspace;
use attnum_sweep::engine::compute_in_memory;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn every_sweep_is_deterministic_and_matches_its_committed_tables() {
    let ws = Workspace::at(repo_root()).unwrap();
    let names = ws.sweep_names().unwrap();
    assert!(names.len() >= 4, "{names:?}");
    for name in names {
        let sweep = ws.load(&name).unwrap();
        if sweep.spec.tier == Tier::Full {
            continue;
        }
        let first = compute_in_memory(&sweep).unwrap();
        assert_eq!(
            first,
            compute_in_memory(&sweep).unwrap(),
            "{name}: two runs differ"
        );
        for (stem, table) in &first {
            let path = ws.results_dir(&name).join(format!("{stem}.parquet"));
            let (parquet, csv) = table.encode(&path).unwrap();
            let committed =
                std::fs::read(&path).unwrap_or_else(|_| panic!("{} is committed", path.display()));
            assert!(
                parquet == committed,
                "{} differs from a fresh run: rerun `attnum sweep run {name}`",
                path.display()
            );
            assert!(
                csv == std::fs::read(path.with_extension("csv")).unwrap(),
                "{name}/{stem}.csv"
            );
        }
    }
}

/// The paper reads tiers and tolerances through [`attnum_results::SweepOutline`], which skips the
/// experiments: it must read every sweep file as the full parse does (a top-level field added to
/// `SweepSpec` and used in a sweep file fails here until the outline knows it too).
#[test]
fn every_sweep_file_reads_alike_in_outline_and_in_full() {
    let ws = Workspace::at(repo_root()).unwrap();
    for name in ws.sweep_names().unwrap() {
        let full = ws.open(&name).unwrap().spec;
        let outline = ws
            .outline(&name)
            .unwrap_or_else(|e| panic!("{name}: the outline cannot read it: {e}"));
        assert_eq!(
            (
                &outline.name,
                &outline.description,
                outline.tier,
                outline.max_points,
                &outline.verify
            ),
            (
                &full.name,
                &full.description,
                full.tier,
                full.max_points,
                &full.verify
            ),
            "{name}"
        );
    }
}
