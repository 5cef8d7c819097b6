//! Every committed sweep of the quick tier: its results are deterministic and are exactly what is
//! committed under `results/`, so that the paper is rendered from what the code produces. The
//! full tier (the training sweeps, minutes each) is checked the same way by `just verify full`,
//! which CI runs; the bit-identity of seeded training is tested in `attnum-attention`.

use std::path::{Path, PathBuf};

use attnum_sweep::engine::compute_in_memory;
use attnum_sweep::{Tier, Workspace};

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
