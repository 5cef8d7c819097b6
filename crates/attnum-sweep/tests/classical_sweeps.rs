//! The committed sweeps of the classical sections: their tables state what the theory says.

use std::path::{Path, PathBuf};

use attnum_sweep::experiments::NamedTable;
use attnum_sweep::{Cell, SweepFile, Table};

fn run(name: &str) -> Vec<NamedTable> {
    let root: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let sweep = SweepFile::load(&root.join(format!("data/sweeps/{name}.yaml"))).unwrap();
    sweep.spec.experiment.run()
}

fn table(tables: Vec<NamedTable>, stem: &str) -> Table {
    tables.into_iter().find(|t| t.stem == stem).unwrap().table
}

fn num(t: &Table, r: usize, c: &str) -> Option<f64> {
    t.cell(r, c).and_then(Cell::as_f64)
}

fn text(t: &Table, r: usize, c: &str) -> String {
    t.cell(r, c).unwrap().to_string()
}

#[test]
fn tree_counts_alpha_sums_and_method_orders() {
    let tables = run("butcher_trees");
    let counts = table(tables.clone(), "counts");
    const A000081: [f64; 16] = [
        1.0, 1.0, 2.0, 4.0, 9.0, 20.0, 48.0, 115.0, 286.0, 719.0, 1842.0, 4766.0, 12486.0, 32973.0,
        87811.0, 235381.0,
    ];
    for r in 0..counts.height() {
        let p = num(&counts, r, "order").unwrap() as usize;
        assert_eq!(
            num(&counts, r, "a000081"),
            Some(A000081[p - 1]),
            "order {p}"
        );
        if let Some(generated) = num(&counts, r, "generated") {
            assert_eq!(generated, A000081[p - 1]);
            assert_eq!(num(&counts, r, "alpha_sum"), num(&counts, r, "factorial"));
        }
    }
    let methods = table(tables.clone(), "methods");
    for r in 0..methods.height() {
        assert_eq!(
            num(&methods, r, "order_confirmed"),
            Some(1.0),
            "{}",
            text(&methods, r, "method")
        );
    }
    let trees = table(tables, "trees");
    for r in 0..trees.height() {
        if text(&trees, r, "method") == "rk4" && num(&trees, r, "order").unwrap() <= 4.0 {
            assert!(num(&trees, r, "residual").unwrap().abs() < 1e-15);
        }
    }
}

#[test]
fn runge_kutta_observed_orders_on_the_kepler_problem() {
    let orders = table(run("rk_convergence"), "orders");
    for r in 0..orders.height() {
        let formal = num(&orders, r, "formal_order").unwrap();
        let observed = num(&orders, r, "observed_order").expect("every method has a fit");
        let tolerance = if formal <= 3.0 { 0.01 } else { 0.2 };
        assert!(
            (observed - formal).abs() <= tolerance,
            "{}: {observed} vs {formal}",
            text(&orders, r, "method")
        );
    }
}

#[test]
fn quadrature_signs_and_degrees() {
    let t = table(run("quadrature_rules"), "table");
    for r in 0..t.height() {
        let family = text(&t, r, "family");
        let n = num(&t, r, "n").unwrap() as usize;
        let negative = num(&t, r, "negative_weights").unwrap() as usize;
        let degree = num(&t, r, "degree").unwrap() as usize;
        match family.as_str() {
            "gauss_legendre" => {
                assert_eq!((negative, degree), (0, 2 * n - 1), "GL n={n}");
            }
            "clenshaw_curtis" => assert_eq!(negative, 0, "CC n={n}"),
            // Closed Newton–Cotes: positive up to 8 points and at 10, negative at 9 and from 11.
            "newton_cotes_closed" => assert_eq!(negative > 0, n == 9 || n >= 11, "closed n={n}"),
            // Open Newton–Cotes: positive only at 1, 2 and 4 points.
            "newton_cotes_open" => assert_eq!(negative == 0, [1, 2, 4].contains(&n), "open n={n}"),
            other => panic!("unexpected family {other}"),
        }
        if family != "gauss_legendre" {
            assert_eq!(degree, if n % 2 == 1 { n } else { n - 1 }, "{family} n={n}");
        }
    }
}

/// The paper's reading of the noise sweep: the eighth-order stencil is best at the smallest noise,
/// the 21-point Savitzky–Golay filter at the largest, and the variance model tracks the measurement.
#[test]
fn noisy_derivative_winners_and_model() {
    let best = table(run("noisy_derivative"), "best");
    let winner = |noise: f64| {
        (0..best.height())
            .filter(|&r| num(&best, r, "noise") == Some(noise))
            .min_by(|&a, &b| {
                num(&best, a, "best_rms_error")
                    .unwrap()
                    .total_cmp(&num(&best, b, "best_rms_error").unwrap())
            })
            .map(|r| text(&best, r, "method"))
            .unwrap()
    };
    assert_eq!(winner(1e-12), "central 8");
    assert_eq!(winner(1e-2), "SG 21/4");
    for r in 0..best.height() {
        let ratio = num(&best, r, "model_ratio").unwrap();
        assert!(
            (0.8..1.25).contains(&ratio),
            "row {r}: model/measured = {ratio}"
        );
    }
}

#[test]
fn observed_orders_agree_with_formal_order_where_the_window_is_asymptotic() {
    let orders = table(run("fd_convergence"), "orders");
    let mut fitted = 0;
    for r in 0..orders.height() {
        let Some(observed) = num(&orders, r, "observed_order") else {
            continue;
        };
        fitted += 1;
        let p = num(&orders, r, "accuracy").unwrap();
        let taylor = num(&orders, r, "taylor_model_order").unwrap();
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
    let orders = table(run("fd_convergence"), "orders");
    for r in 0..orders.height() {
        if orders.cell(r, "function") != Some(&Cell::Text("quadratic".into())) {
            continue;
        }
        let d = num(&orders, r, "derivative").unwrap();
        let p = num(&orders, r, "accuracy").unwrap();
        let exact_by_theory = d + p >= 3.0; // moments vanish up to degree d + p - 1 >= 2
        assert_eq!(
            num(&orders, r, "observed_order").is_none(),
            exact_by_theory,
            "row {r}"
        );
    }
}

#[test]
fn model_optimal_step_is_close_to_the_measured_one() {
    let orders = table(run("fd_convergence"), "orders");
    for r in 0..orders.height() {
        if let Some(ratio) = num(&orders, r, "step_model_ratio") {
            assert!((0.2..5.0).contains(&ratio), "row {r}: h*/h_floor = {ratio}");
        }
    }
}
