//! Times one training step of the learned transformer — the candle side of the PyTorch peer
//! `bench/training_step/torch_step.py` (`just bench-peers` runs both).
//!
//! The step is [`Trainer::step`], the one `learn::train` takes every epoch: the forward pass on
//! a batch of 512, the mean squared error, the backward pass, the AdamW update and one
//! evaluation forward pass on a validation batch of 512. The model is width 16 with dropout 0,
//! for the shapes (heads × blocks) given on the command line. Threads: candle reads
//! `CANDLE_NUM_THREADS` (its CPU pool, which runs its elementwise operations and this crate's
//! fused kernels) and `RAYON_NUM_THREADS` (gemm's fork-join pool for its matrix products) once
//! per process, so the recipe runs this once per thread count; the `threads` column is the size
//! of the CPU pool.
//!
//! ```text
//! cargo run -p attnum-attention --example training_step -- [--steps N] [--warmup N]
//!     [--shapes 2x1,8x1,2x4] [--dump DIR]
//! ```
//!
//! prints `implementation,profile,threads,heads,blocks,warmup,steps,median_ms,min_ms` (CSV with a
//! header; `profile` is `dev` or `release`, the cargo profile the example was built with). With
//! `--dump DIR` it also writes, per shape, the model's weights, a batch and its outputs before
//! the gradients, and the weights after one step (`DIR/HxB.json`), from which the peer checks that it computes the same
//! model and the same step.

// An example's `main` needs no documentation.
#![allow(missing_docs)]

use std::fmt::Write as _;
use std::time::Instant;

use attnum_attention::AttentionMethod;
use attnum_attention::learn::{
    Dataset, DerivativeTask, Family, TrainSettings, Trainer, derivative_task, generator,
};
use attnum_attention::transformer::{TokenTransformer, TransformerShape};

/// The allocator of the `attnum` binary, so that the timings are those of the sweeps.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const OFFSETS: [f64; 5] = [-2.0, -1.0, 0.0, 1.0, 2.0];
const BATCH: usize = 512;

struct Options {
    steps: usize,
    warmup: usize,
    shapes: Vec<(usize, usize)>,
    dump: Option<std::path::PathBuf>,
}

fn options() -> Options {
    let mut o = Options {
        steps: 60,
        warmup: 10,
        shapes: vec![(2, 1), (8, 1), (2, 4)],
        dump: None,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < args.len() {
        let value = args.get(i + 1).cloned().unwrap_or_default();
        match args[i].as_str() {
            "--steps" => o.steps = value.parse().expect("--steps N"),
            "--warmup" => o.warmup = value.parse().expect("--warmup N"),
            "--shapes" => {
                o.shapes = value
                    .split(',')
                    .map(|s| {
                        let (h, b) = s.split_once('x').expect("--shapes HxB,HxB");
                        (h.parse().expect("heads"), b.parse().expect("blocks"))
                    })
                    .collect();
            }
            "--dump" => o.dump = Some(value.into()),
            other => panic!("unknown argument {other}"),
        }
        i += 2;
    }
    o
}

fn settings() -> TrainSettings {
    TrainSettings {
        epochs: 1000,
        learning_rate: 1e-2,
        weight_decay: 1e-4,
        patience: Some(1000),
    }
}

fn data() -> (Dataset, Dataset) {
    let task = DerivativeTask {
        offsets: OFFSETS.to_vec(),
        step: 0.1,
        order: 1,
        noise: 0.0,
    };
    let family = Family::Trigonometric { max_frequency: 3 };
    let train = derivative_task(family, &task, BATCH, &mut generator(1, 1)).unwrap();
    let validation = derivative_task(family, &task, BATCH, &mut generator(1, 2)).unwrap();
    (train, validation)
}

fn model(heads: usize, blocks: usize) -> TokenTransformer {
    let shape = TransformerShape {
        width: 16,
        heads,
        blocks,
        dropout: 0.0,
    };
    TokenTransformer::new(&OFFSETS, shape, &mut generator(1, 0)).unwrap()
}

fn json_array(values: &[f64]) -> String {
    let items: Vec<String> = values.iter().map(|v| format!("{v:?}")).collect();
    format!("[{}]", items.join(","))
}

/// The weights, the batches, the outputs and the gradients of the training loss before the step,
/// the losses of the step and the weights after it, as JSON.
fn dump(heads: usize, blocks: usize, dir: &std::path::Path) {
    let (train, validation) = data();
    let m = model(heads, blocks);
    let settings = settings();
    let weights = |m: &TokenTransformer| {
        let mut s = String::from("{");
        for (k, (name, var)) in m.parameters().into_iter().enumerate() {
            let t = var.as_tensor();
            let values = t.flatten_all().unwrap().to_vec1::<f64>().unwrap();
            let dims: Vec<String> = t.dims().iter().map(usize::to_string).collect();
            let sep = if k == 0 { "" } else { "," };
            write!(
                s,
                "{sep}\"{name}\":{{\"shape\":[{}],\"values\":{}}}",
                dims.join(","),
                json_array(&values)
            )
            .unwrap();
        }
        s.push('}');
        s
    };
    let flat = |t: &candle_core::Tensor| t.flatten_all().unwrap().to_vec1::<f64>().unwrap();
    let before = weights(&m);
    let outputs = m.forward(&train.inputs).unwrap();
    let loss = (&outputs - &train.targets)
        .unwrap()
        .sqr()
        .unwrap()
        .mean_all()
        .unwrap();
    let grads = loss.backward().unwrap();
    let mut gradients = String::from("{");
    for (k, (name, var)) in m.parameters().into_iter().enumerate() {
        let g = flat(
            grads
                .get(var.as_tensor())
                .expect("every parameter has a gradient"),
        );
        let sep = if k == 0 { "" } else { "," };
        write!(gradients, "{sep}\"{name}\":{}", json_array(&g)).unwrap();
    }
    gradients.push('}');
    let outputs = flat(&outputs);
    let mut trainer = Trainer::new(&m, &settings).unwrap();
    let epoch = trainer
        .step(0, (&train, None), (&validation, None), &mut generator(1, 5))
        .unwrap();
    let after = weights(&m);
    let text = format!(
        "{{\"heads\":{heads},\"blocks\":{blocks},\"width\":16,\"offsets\":{},\
         \"learning_rate\":{:?},\"weight_decay\":{:?},\"train_inputs\":{},\"train_targets\":{},\
         \"validation_inputs\":{},\"validation_targets\":{},\"outputs\":{},\
         \"train_loss\":{:?},\"validation_loss\":{:?},\"before\":{before},\"gradients\":{gradients},\
         \"after\":{after}}}\n",
        json_array(&OFFSETS),
        epoch.learning_rate,
        settings.weight_decay,
        json_array(&flat(&train.inputs)),
        json_array(&flat(&train.targets)),
        json_array(&flat(&validation.inputs)),
        json_array(&flat(&validation.targets)),
        json_array(&outputs),
        epoch.train_loss,
        epoch.validation_loss,
    );
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join(format!("{heads}x{blocks}.json")), text).unwrap();
}

fn main() {
    let o = options();
    let threads = candle_core::utils::barrier_pool().n_workers() + 1;
    if let Some(dir) = &o.dump {
        for &(heads, blocks) in &o.shapes {
            dump(heads, blocks, dir);
        }
        return;
    }
    let (train, validation) = data();
    let profile = if cfg!(debug_assertions) {
        "dev"
    } else {
        "release"
    };
    println!("implementation,profile,threads,heads,blocks,warmup,steps,median_ms,min_ms");
    for &(heads, blocks) in &o.shapes {
        let m = model(heads, blocks);
        let settings = settings();
        let mut trainer = Trainer::new(&m, &settings).unwrap();
        let mut dropout = generator(1, 5);
        let mut times = Vec::with_capacity(o.steps);
        for epoch in 0..o.warmup + o.steps {
            let start = Instant::now();
            let record = trainer
                .step(epoch, (&train, None), (&validation, None), &mut dropout)
                .unwrap();
            let elapsed = start.elapsed().as_secs_f64() * 1e3;
            assert!(record.train_loss.is_finite(), "the loss diverged");
            if epoch >= o.warmup {
                times.push(elapsed);
            }
        }
        times.sort_by(f64::total_cmp);
        let median = if times.len() % 2 == 1 {
            times[times.len() / 2]
        } else {
            (times[times.len() / 2 - 1] + times[times.len() / 2]) / 2.0
        };
        println!(
            "candle,{profile},{threads},{heads},{blocks},{},{},{median:.4},{:.4}",
            o.warmup,
            times.len(),
            times[0]
        );
    }
}
