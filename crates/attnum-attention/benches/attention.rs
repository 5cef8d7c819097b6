//! Benchmarks of the attention constructions: what each costs per evaluation on the CPU in F64
//! (candle), the figures behind the cost paragraph of the paper's attention section. `just bench`
//! runs them.

// `criterion_group!` expands to an undocumented public function.
#![allow(missing_docs)]

use std::hint::black_box;

use attnum_attention::hard::HardMultiHeadAttention;
use attnum_attention::learn::{
    DerivativeTask, Family, TrainSettings, derivative_task, generator, normal, train,
};
use attnum_attention::linear::LinearAttention;
use attnum_attention::rk::{RkAttention, kepler};
use attnum_attention::token::TokenAttentionHead;
use attnum_attention::transformer::{TokenTransformer, TransformerShape};
use attnum_attention::{AttentionMethod, extract::effective_weights};
use attnum_classical::fd::{Stencil, StencilKind};
use attnum_classical::rk::named_method;
use candle_core::{DType, Device, Tensor};
use criterion::{Criterion, criterion_group, criterion_main};

/// The allocator of the `attnum` binary, so that the timings are those of the sweeps.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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

/// One full-batch training step (forward, backward, AdamW update) of the learned models at the
/// sizes of the `learned_derivative` and `learned_architectures` sweeps.
fn training_step(c: &mut Criterion) {
    let offsets = [-2.0, -1.0, 0.0, 1.0, 2.0];
    let task = DerivativeTask {
        offsets: offsets.to_vec(),
        step: 0.1,
        order: 1,
        noise: 0.0,
    };
    let family = Family::Trigonometric { max_frequency: 3 };
    let data = derivative_task(family, &task, 512, &mut generator(1, 1)).unwrap();
    let settings = TrainSettings {
        epochs: 1,
        learning_rate: 1e-3,
        weight_decay: 0.0,
        patience: Some(1),
    };
    let mut init = generator(1, 0);
    let head = TokenAttentionHead::new(
        &offsets,
        0.0,
        &normal(&mut init, 12, 0.5),
        &normal(&mut init, 12, 0.5),
        &normal(&mut init, 3, 0.5),
    )
    .unwrap();
    let mut dropout = generator(1, 5);
    c.bench_function("one training step, token head, batch of 512", |b| {
        b.iter(|| train(&head, &data, &data, &settings, &mut dropout).unwrap())
    });
    for (heads, blocks) in [(2, 1), (8, 1), (2, 4)] {
        let shape = TransformerShape {
            width: 16,
            heads,
            blocks,
            dropout: 0.05,
        };
        let model = TokenTransformer::new(&offsets, shape, &mut init).unwrap();
        c.bench_function(
            &format!(
                "one training step, transformer {heads} heads × {blocks} blocks, batch of 512"
            ),
            |b| b.iter(|| train(&model, &data, &data, &settings, &mut dropout).unwrap()),
        );
    }
}

criterion_group!(benches, linear_and_hard, runge_kutta_step, training_step);
criterion_main!(benches);
