//! Experiment `seed_examples`: the conversation's Keras examples S3 (an integral) and S4 (a
//! derivative) rerun in candle with the code's shapes, initial values, optimiser and loss.
//!
//! Both train a query `q` and keys `k` of a `layers.Attention(use_scale=True)` (dot-product
//! scores times a scale initialised to 1 and not among the trained variables) with Adam
//! (learning rate 0.01, β = (0.9, 0.999), ε = 1e-7) for 100 epochs on the squared error against
//! one number. The values `v = sin(k)` are computed once, from the initial keys, as in the code.
//! One departure: S4 writes `q = tf.Variable([x0])` with the integer `x0 = 1`, an int32 variable
//! that TensorFlow refuses to multiply with the float keys; the rerun uses `q = 1.0`. The keys'
//! uniform draws come from a seeded generator instead of TensorFlow's unseeded one, for several
//! seeds. The table `trace` has the outputs the code prints (every 10 epochs and the final one);
//! `summary` compares the final output with the one the conversation printed and with the range
//! `[min v, max v]` that a softmax average of the values can never leave.

use candle_core::{D, Device, Tensor, Var};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::{FieldError, NamedTable};
use crate::table::Table;

/// Parameters of the `seed_examples` experiment.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SeedExamples {
    /// Seeds of the keys' uniform draws.
    pub seeds: Vec<u64>,
    /// The final outputs the conversation printed for S3 and S4.
    pub printed_final: [f64; 2],
}

/// One example's set-up.
struct Example {
    name: &'static str,
    query: f64,
    /// Keys are `low + width · U(0, 1)`.
    low: f64,
    width: f64,
    target: f64,
}

const KEYS: usize = 10;
const EPOCHS: usize = 100;

// The conversation's code writes the upper bound 3.14159, not π: the rerun keeps it.
#[allow(clippy::approx_constant)]
fn examples() -> [Example; 2] {
    let (a, b): (f64, f64) = (0.0, 3.14159);
    // The code's targets: scipy.integrate.quad(sin, 0, 3.14159) = 1 − cos(3.14159), and
    // scipy.misc.derivative(sin, 1, dx=1e-6), the central difference (sin(1+dx) − sin(1−dx))/(2dx).
    let dx: f64 = 1e-6;
    [
        Example {
            name: "S3",
            query: (a + b) / 2.0,
            low: a,
            width: b - a,
            target: 1.0 - f64::cos(b),
        },
        Example {
            name: "S4",
            query: 1.0,
            low: 1.0 - 0.05,
            width: 0.1,
            target: ((1.0 + dx).sin() - (1.0 - dx).sin()) / (2.0 * dx),
        },
    ]
}

/// A rerun: `(epoch, output, loss)` for every epoch, and the smallest and largest value.
struct Rerun {
    epochs: Vec<(usize, f64, f64)>,
    min_value: f64,
    max_value: f64,
}

/// Train one example.
fn rerun(example: &Example, seed: u64) -> candle_core::Result<Rerun> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let keys: Vec<f64> = (0..KEYS)
        .map(|_| example.low + example.width * rng.random::<f64>())
        .collect();
    let values: Vec<f64> = keys.iter().map(|k| k.sin()).collect();
    let (lo, hi) = values
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &v| {
            (l.min(v), h.max(v))
        });
    let device = Device::Cpu;
    let q = Var::new(&[example.query], &device)?;
    let k = Var::new(keys.as_slice(), &device)?;
    let v = Tensor::new(values.as_slice(), &device)?;
    let scale = 1.0;
    let mut optimizer = AdamW::new(
        vec![q.clone(), k.clone()],
        ParamsAdamW {
            lr: 0.01,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-7,
            weight_decay: 0.0,
        },
    )?;
    let mut trace = Vec::with_capacity(EPOCHS);
    for epoch in 0..EPOCHS {
        let scores = (k.as_tensor().broadcast_mul(q.as_tensor())? * scale)?;
        let p = candle_nn::ops::softmax(&scores.unsqueeze(0)?, D::Minus1)?.squeeze(0)?;
        let z = (p * &v)?.sum_all()?;
        let loss = (z.clone() - example.target)?.sqr()?;
        trace.push((epoch, z.to_scalar::<f64>()?, loss.to_scalar::<f64>()?));
        optimizer.backward_step(&loss)?;
    }
    Ok(Rerun {
        epochs: trace,
        min_value: lo,
        max_value: hi,
    })
}

impl SeedExamples {
    /// Check every parameter; errors carry the field path below `experiment.seed_examples`.
    pub fn validate(&self) -> Result<(), FieldError> {
        if self.seeds.is_empty() {
            return Err(("seeds".into(), "needs at least one seed".into()));
        }
        if self.printed_final.iter().any(|x| !x.is_finite()) {
            return Err(("printed_final".into(), "must be finite".into()));
        }
        Ok(())
    }

    /// Run the experiment: tables `trace` and `summary`.
    ///
    /// # Panics
    /// If a tensor operation fails (a bug, not a consequence of the parameters).
    pub fn run(&self) -> Vec<NamedTable> {
        let mut trace = Table::new(&["example", "seed", "epoch", "output", "loss"]);
        let mut summary = Table::new(&[
            "example",
            "seed",
            "target",
            "printed_final",
            "final_output",
            "min_value",
            "max_value",
            "target_reachable",
        ]);
        for (example, printed) in examples().iter().zip(self.printed_final) {
            for &seed in &self.seeds {
                let Rerun {
                    epochs,
                    min_value: lo,
                    max_value: hi,
                } = rerun(example, seed).expect("tensor shapes are consistent");
                for &(epoch, output, loss) in &epochs {
                    if epoch % 10 == 0 || epoch + 1 == EPOCHS {
                        trace.push_row(vec![
                            example.name.into(),
                            (seed as usize).into(),
                            epoch.into(),
                            output.into(),
                            loss.into(),
                        ]);
                    }
                }
                let last = epochs.last().map_or(f64::NAN, |e| e.1);
                let reachable = (lo..=hi).contains(&example.target);
                summary.push_row(vec![
                    example.name.into(),
                    (seed as usize).into(),
                    example.target.into(),
                    printed.into(),
                    last.into(),
                    lo.into(),
                    hi.into(),
                    (if reachable { "yes" } else { "no" }).into(),
                ]);
            }
        }
        vec![
            NamedTable {
                stem: "trace",
                table: trace,
            },
            NamedTable {
                stem: "summary",
                table: summary,
            },
        ]
    }
}
