//! Benchmarks of the classical library against the targets of MISSION.md: rooted trees and all
//! order conditions to order 10, tree generation to order 14, Gauss–Legendre with 10⁴ nodes, and
//! Fornberg weights on 41 points. `just bench` runs them; `bench/compare.py` times the Python
//! references (nodepy, scipy) on the same tasks.

// `criterion_group!` expands to an undocumented public function.
#![allow(missing_docs)]

use std::hint::black_box;

use attnum_classical::fd::Stencil;
use attnum_classical::quadrature::gauss_legendre;
use attnum_classical::rk::named_method;
use attnum_classical::trees::{trees_of_order, trees_up_to};
use criterion::{Criterion, criterion_group, criterion_main};

fn trees_and_order_conditions(c: &mut Criterion) {
    let dp5 = named_method("dormand-prince5").unwrap().tableau;
    c.bench_function("trees and order conditions of DP5 to order 10", |b| {
        b.iter(|| {
            let trees = trees_up_to(black_box(10));
            trees
                .iter()
                .map(|t| t.residual(&dp5).abs())
                .fold(0.0, f64::max)
        })
    });
    c.bench_function("generate the rooted trees of order 14", |b| {
        b.iter(|| trees_of_order(black_box(14)).len())
    });
}

fn gauss_legendre_10k(c: &mut Criterion) {
    c.bench_function("Gauss-Legendre n = 10^4", |b| {
        b.iter(|| gauss_legendre(black_box(10_000)).unwrap())
    });
}

fn fornberg_41(c: &mut Criterion) {
    let offsets: Vec<f64> = (-20..=20).map(f64::from).collect();
    c.bench_function("Fornberg weights, 41 points, first derivative", |b| {
        b.iter(|| Stencil::on_offsets(1, black_box(&offsets)).unwrap())
    });
}

criterion_group!(
    benches,
    trees_and_order_conditions,
    gauss_legendre_10k,
    fornberg_41
);
criterion_main!(benches);
