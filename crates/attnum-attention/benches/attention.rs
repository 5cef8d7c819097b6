//! Benchmarks of the attention constructions: what each costs per evaluation on the CPU in F64
//! (candle), the figures behind the cost paragraph of the paper's attention section. `just bench`
//! runs them.

// `criterion_group!` expands to an undocumented public function.
#![allow(missing_docs)]

use std::hint::black_box;

use attnum_attention::hard::HardMultiHeadAttention;
use attnum_attention::linear::LinearAttention;
use attnum_attention::rk::{RkAttention, kepler};
use attnum_attention::{AttentionMethod, extract::effective_weights};
use attnum_classical::fd::{Stencil, StencilKind};
use attnum_classical::rk::named_method;
use candle_core::{DType, Device, Tensor};
use criterion::{Criterion, criterion_group, criterion_main};

fn linear_and_hard(c: &mut Criterion) {
    let fd = Stencil::by_accuracy(StencilKind::Central, 1, 8).unwrap();
    let batch = Tensor::ones((1024, fd.len()), DType::F64, &Device::Cpu).unwrap();
    let linear = LinearAttention::orthonormal(1, fd.len() - 1, fd.offsets(), 0.01).unwrap();
    c.bench_function("linear attention, 9 nodes, batch of 1024", |b| {
        b.iter(|| linear.forward(black_box(&batch)).unwrap())
    });
    let hard = HardMultiHeadAttention::compile(&fd, fd.offsets(), 0.01, 1e5).unwrap();
    c.bench_function("hard heads, 9 nodes, batch of 1024", |b| {
        b.iter(|| hard.forward(black_box(&batch)).unwrap())
    });
    let wide: Vec<f64> = (-15..=15).map(f64::from).collect();
    c.bench_function(
        "orthonormal-key construction and extraction, 31 nodes",
        |b| {
            b.iter(|| {
                let m = LinearAttention::orthonormal(1, 30, black_box(&wide), 1.0).unwrap();
                effective_weights(&m).unwrap()
            })
        },
    );
}

fn runge_kutta_step(c: &mut Criterion) {
    let rk4 = RkAttention::compile(&named_method("rk4").unwrap().tableau).unwrap();
    let y0 = Tensor::new(&[0.5f64, 0.0, 0.0, 3f64.sqrt()], &Device::Cpu).unwrap();
    c.bench_function("RK4 as causal attention, one Kepler step", |b| {
        b.iter(|| rk4.step(&mut kepler, 0.0, black_box(&y0), 0.01).unwrap())
    });
}

criterion_group!(benches, linear_and_hard, runge_kutta_step);
criterion_main!(benches);
