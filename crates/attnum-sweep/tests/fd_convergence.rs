//! The committed `fd_convergence` sweep: its results obey the theory, are deterministic, and are
//! what is committed under `results/`.

use std::path::{Path, PathBuf};

use attnum_sweep::experiments::NamedTable;
use attnum_sweep::{Cell, SweepFile, Table};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn run() -> Vec<NamedTable> {
    let sweep = SweepFile::load(&repo_root().join("data/sweeps/fd_convergence.yaml")).unwrap();
    sweep.spec.experiment.run()
}

fn table<'a>(tables: &'a [NamedTable], stem: &str) -> &'a Table {
    &tables.iter().find(|t| t.stem == stem).unwrap().table
}

fn num(t: &Table, r: usize, c: &str) -> Option<f64> {
    t.cell(r, c).and_then(Cell::as_f64)
}

#[test]
fn observed_orders_agree_with_formal_order_where_the_window_is_asymptotic() {
    let tables = run();
    let orders = table(&tables, "orders");
    let mut fitted = 0;
    for r in 0..orders.height() {
        let Some(observed) = num(orders, r, "observed_order") else {
            continue;
        };
        fitted += 1;
        let p = num(orders, r, "accuracy").unwrap();
        let taylor = num(orders, r, "taylor_model_order").unwrap();
        let stencil = orders.cell(r, "stencil").unwrap().to_string();
        // The measurement is explained by the Taylor expansion of the truncation error…
        assert!(
            (observed - taylor).abs() < 5e-3,
            "row {r}: observed {observed}, Taylor {taylor}"
        );
        // …and equals the formal order wherever that expansion says the window is asymptotic,
        // which is the case for every central stencil.
        if (taylor - p).abs() <= 0.03 || stencil == "central" {
            assert!(
                (observed - p).abs() <= 0.05,
                "row {r} ({stencil}, p={p}): observed {observed}"
            );
        }
    }
    assert!(fitted >= 40, "only {fitted} curves have a fitted order");
}

#[test]
fn quadratic_is_differentiated_exactly_by_stencils_of_order_two_and_more() {
    let tables = run();
    let orders = table(&tables, "orders");
    for r in 0..orders.height() {
        if orders.cell(r, "function") != Some(&Cell::Text("quadratic".into())) {
            continue;
        }
        let d = num(orders, r, "derivative").unwrap();
        let p = num(orders, r, "accuracy").unwrap();
        let exact_by_theory = d + p >= 3.0; // moments vanish up to degree d + p - 1 >= 2
        assert_eq!(
            num(orders, r, "observed_order").is_none(),
            exact_by_theory,
            "row {r}"
        );
    }
}

#[test]
fn model_optimal_step_is_close_to_the_measured_one() {
    let tables = run();
    let orders = table(&tables, "orders");
    for r in 0..orders.height() {
        if let Some(ratio) = num(orders, r, "step_model_ratio") {
            assert!((0.2..5.0).contains(&ratio), "row {r}: h*/h_floor = {ratio}");
        }
    }
}
