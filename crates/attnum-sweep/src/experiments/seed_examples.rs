//! Experiment `seed_examples`: the conversation's trained examples rerun with the code's shapes,
//! initial values, optimiser and loss — S2 (PyTorch, an integral), and the Keras examples S3 (an
//! integral), S4 (a derivative), S5 (four heads, dropout and a dense layer) and S6 (two
//! "transformer blocks").
//!
//! Both train a query `q` and keys `k` of a `layers.Attention(use_scale=True)` (dot-product
//! scores times a scale initialised to 1 and not among the trained variables) with Adam
//! (learning rate 0.01, β = (0.9, 0.999), ε = 1e-7) for 100 epochs on the squared error against
//! one number. The values `v = sin(k)` are computed once, from the initial keys, as in the code.
//! One departure: S4 writes `q = tf.Variable([x0])` with the integer `x0 = 1`, an int32 variable
//! that TensorFlow refuses to multiply with the float keys; the rerun uses `q = 1.0`. The keys'
//! uniform draws come from a seeded generator instead of TensorFlow's unseeded one, for several
//! seeds. S5 calls the layer as `attention([q, k, v])`, which Keras' `MultiHeadAttention` rejects
//! (it takes `query, value, key`): the rerun makes the evident call. The table `trace` has the
//! outputs the code prints (every 10 epochs and the final one); `summary` compares the final
//! output with the one the conversation printed and with the range `[min v, max v]` that a softmax
//! average of the values can never leave (S5's dense layer can leave it); `transfer` asks the
//! trained S5 model for `sin'(x)` at other points, with fresh keys around them.

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
    /// The final outputs the conversation printed for S2, S3, S4, S5 and S6.
    pub printed_final: [f64; 5],
    /// Points at which the trained S5 model is asked for `sin'(x)` (the `transfer` table).
    pub transfer_points: Vec<f64>,
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

/// `keras.optimizers.Adam(learning_rate=0.01)` over `vars`: β = (0.9, 0.999), ε = 1e-7, no
/// weight decay.
fn keras_adam(vars: Vec<Var>) -> candle_core::Result<AdamW> {
    AdamW::new(
        vars,
        ParamsAdamW {
            lr: 0.01,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-7,
            weight_decay: 0.0,
        },
    )
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
    let mut optimizer = keras_adam(vec![q.clone(), k.clone()])?;
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

/// Keras' `glorot_uniform` draws for a kernel with the given fans.
fn glorot(rng: &mut ChaCha8Rng, count: usize, fan_in: usize, fan_out: usize) -> Vec<f64> {
    let limit = (6.0 / (fan_in + fan_out) as f64).sqrt();
    (0..count)
        .map(|_| limit * (2.0 * rng.random::<f64>() - 1.0))
        .collect()
}

/// S5: `layers.MultiHeadAttention(num_heads=4, key_dim=1)` followed by `Dropout(0.1)` (inactive:
/// it is called without `training=True`) and `Dense(1)`, all trained together with the query and
/// the keys. Keras' initialisers: `glorot_uniform` kernels (fans as Keras computes them for the
/// einsum kernels `(1, 4, 1)` and `(4, 1, 1)`), zero biases.
struct MultiHead {
    q: Var,
    k: Var,
    /// Query, key and value projections: `(4,)` kernels and biases each.
    projections: [(Var, Var); 3],
    /// Output projection `(4,)` and bias.
    output: (Var, Var),
    /// `Dense(1)`: kernel and bias.
    dense: (Var, Var),
}

impl MultiHead {
    fn new(query: f64, keys: &[f64], rng: &mut ChaCha8Rng) -> candle_core::Result<Self> {
        let device = Device::Cpu;
        let var = |v: Vec<f64>| Var::new(v.as_slice(), &device);
        let projection = |rng: &mut ChaCha8Rng| -> candle_core::Result<(Var, Var)> {
            Ok((var(glorot(rng, HEADS, HEADS, 1))?, var(vec![0.0; HEADS])?))
        };
        let projections = [projection(rng)?, projection(rng)?, projection(rng)?];
        Ok(Self {
            q: var(vec![query])?,
            k: var(keys.to_vec())?,
            projections,
            output: (var(glorot(rng, HEADS, HEADS, HEADS))?, var(vec![0.0])?),
            dense: (var(glorot(rng, 1, 1, 1))?, var(vec![0.0])?),
        })
    }

    fn vars(&self) -> Vec<Var> {
        let mut vars = vec![self.q.clone(), self.k.clone()];
        for (w, b) in self.projections.iter().chain([&self.output, &self.dense]) {
            vars.push(w.clone());
            vars.push(b.clone());
        }
        vars
    }

    /// S5's output for query position `q`, keys `k` (`(n,)`) and values `v` (`(n,)`): the
    /// attention followed by `Dense(1)` (dropout is inactive).
    fn forward(&self, q: &Tensor, k: &Tensor, v: &Tensor) -> candle_core::Result<Tensor> {
        self.dense(&self.attend(q, k, v)?)
    }

    /// `Dense(1)` on a scalar.
    fn dense(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        x.broadcast_mul(self.dense.0.as_tensor())?
            .broadcast_add(self.dense.1.as_tensor())?
            .sum_all()
    }

    /// S6's "two transformer blocks": `LayerNormalization(q + attention)`, `Dense(1)`, and
    /// `LayerNormalization(q + ·)` again, with the layer norm's scale 1 and offset 0 (its variables
    /// are not among the trained ones). Over a single feature, a layer norm returns its offset.
    fn blocks(&self, q: &Tensor, k: &Tensor, v: &Tensor) -> candle_core::Result<Tensor> {
        let norm = |x: Tensor| -> candle_core::Result<Tensor> {
            // Keras LayerNormalization over the last axis (one feature), ε = 1e-3, γ = 1, β = 0.
            let x = x.reshape((1, 1))?;
            let mean = x.mean_keepdim(1)?;
            let centred = x.broadcast_sub(&mean)?;
            let var = centred.sqr()?.mean_keepdim(1)?;
            centred.broadcast_div(&(var + 1e-3)?.sqrt()?)?.sum_all()
        };
        let first = norm((q.sum_all()? + self.attend(q, k, v)?)?)?;
        norm((q.sum_all()? + self.dense(&first)?)?)
    }

    /// The attention output (a scalar) for query position `q`, keys `k` and values `v`.
    fn attend(&self, q: &Tensor, k: &Tensor, v: &Tensor) -> candle_core::Result<Tensor> {
        let project = |x: &Tensor, (w, b): &(Var, Var)| {
            // (n, 1) × (1, 4) + (4,) → (n, heads)
            x.unsqueeze(1)?
                .matmul(&w.as_tensor().unsqueeze(0)?)?
                .broadcast_add(b.as_tensor())
        };
        let [pq, pk, pv] = &self.projections;
        let query = project(q, pq)?; // (1, heads); key_dim = 1, so the scale 1/√1 is 1
        let key = project(k, pk)?; // (n, heads)
        let value = project(v, pv)?; // (n, heads)
        let scores = (key.t()?.contiguous()? * query.t()?.broadcast_as((HEADS, k.dim(0)?))?)?; // (heads, n)
        let p = candle_nn::ops::softmax(&scores, D::Minus1)?;
        let heads = (p * value.t()?)?.sum(1)?; // (heads,)
        (heads * self.output.0.as_tensor())?
            .sum_all()?
            .broadcast_add(self.output.1.as_tensor())?
            .sum_all()
    }
}

const HEADS: usize = 4;

/// Which of the multi-head examples.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Stack {
    /// S5: attention, dropout, dense.
    Dense,
    /// S6: the two "transformer blocks".
    Blocks,
}

/// Train S5 or S6 at `x₀ = 1`; returns the rerun and the trained model.
fn rerun_multihead(seed: u64, stack: Stack) -> candle_core::Result<(Rerun, MultiHead)> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let keys: Vec<f64> = (0..KEYS)
        .map(|_| 0.95 + 0.1 * rng.random::<f64>())
        .collect();
    let values: Vec<f64> = keys.iter().map(|k| k.sin()).collect();
    let model = MultiHead::new(1.0, &keys, &mut rng)?;
    let v = Tensor::new(values.as_slice(), &Device::Cpu)?;
    let target = examples()[1].target;
    let mut optimizer = keras_adam(model.vars())?;
    let mut epochs = Vec::with_capacity(EPOCHS);
    for epoch in 0..EPOCHS {
        let (q, k) = (model.q.as_tensor(), model.k.as_tensor());
        let z = match stack {
            Stack::Dense => model.forward(q, k, &v)?,
            Stack::Blocks => model.blocks(q, k, &v)?,
        };
        let loss = (z.clone() - target)?.sqr()?;
        epochs.push((epoch, z.to_scalar::<f64>()?, loss.to_scalar::<f64>()?));
        optimizer.backward_step(&loss)?;
    }
    let (lo, hi) = values
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &v| {
            (l.min(v), h.max(v))
        });
    Ok((
        Rerun {
            epochs,
            min_value: lo,
            max_value: hi,
        },
        model,
    ))
}

/// The trained S5 model asked for `sin'(x)` at other points: fresh keys in `[x − 0.05, x + 0.05]`
/// from `rng`, the trained query moved by `x − 1`.
fn transfer(model: &MultiHead, x: f64, rng: &mut ChaCha8Rng) -> candle_core::Result<f64> {
    let keys: Vec<f64> = (0..KEYS)
        .map(|_| x - 0.05 + 0.1 * rng.random::<f64>())
        .collect();
    let values: Vec<f64> = keys.iter().map(|k| k.sin()).collect();
    let device = Device::Cpu;
    let q = (model.q.as_tensor() + (x - 1.0))?;
    model
        .forward(
            &q,
            &Tensor::new(keys.as_slice(), &device)?,
            &Tensor::new(values.as_slice(), &device)?,
        )?
        .to_scalar::<f64>()
}

/// S2: PyTorch's `nn.MultiheadAttention(embed_dim=1, num_heads=1, kdim=1, vdim=1)` with its
/// default initialisation (in-projection `xavier_uniform_`, bound √(6/4); out-projection
/// `kaiming_uniform_(a=√5)`, bound 1; biases 0), asked for `∫₀^3.14159 sin` from keys uniform in
/// `[0, 3.14159]`. The optimiser holds only `q` and `k`, which do not require gradients, so no
/// step changes anything: the output of every epoch is the output at initialisation. (As written
/// the code stops before training: `scipy.integrate.quad` calls `torch.sin` on a float, and the
/// keys have shape `(1, 10)` where `kdim = 1` is expected; the rerun fixes both.) Returns the
/// rerun and the largest output any weights the initialiser can draw could give,
/// `√(6/4) · max |v|`.
fn rerun_pytorch(seed: u64) -> (Rerun, f64) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (a, b) = (examples()[0].low, examples()[0].low + examples()[0].width);
    let keys: Vec<f64> = (0..KEYS)
        .map(|_| a + (b - a) * rng.random::<f64>())
        .collect();
    let values: Vec<f64> = keys.iter().map(|k| k.sin()).collect();
    let bound_in = (6.0f64 / 4.0).sqrt();
    let mut uniform = |bound: f64| bound * (2.0 * rng.random::<f64>() - 1.0);
    let (wq, wk, wv) = (uniform(bound_in), uniform(bound_in), uniform(bound_in));
    let wo = uniform(1.0);
    let q = (a + b) / 2.0;
    let scores: Vec<f64> = keys.iter().map(|k| (wq * q) * (wk * k)).collect();
    let max = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let weights: Vec<f64> = scores.iter().map(|s| (s - max).exp()).collect();
    let total: f64 = weights.iter().sum();
    let output = wo
        * wv
        * weights
            .iter()
            .zip(&values)
            .map(|(p, v)| p / total * v)
            .sum::<f64>();
    let target = examples()[0].target;
    let epochs = (0..EPOCHS)
        .map(|e| (e, output, (output - target).powi(2)))
        .collect();
    let (lo, hi) = values
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &v| {
            (l.min(v), h.max(v))
        });
    let bound = bound_in * values.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    (
        Rerun {
            epochs,
            min_value: lo,
            max_value: hi,
        },
        bound,
    )
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
        if let Some(i) = self
            .transfer_points
            .iter()
            .position(|x| !(x.is_finite() && x.abs() <= 100.0))
        {
            return Err((
                format!("transfer_points[{i}]"),
                "must be in [−100, 100]".into(),
            ));
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
        let mut transfer_table = Table::new(&["example", "seed", "x", "output", "exact", "error"]);
        let mut record = |name: &str,
                          seed: u64,
                          target: f64,
                          printed: f64,
                          rerun: &Rerun,
                          reachable: Option<bool>| {
            for &(epoch, output, loss) in &rerun.epochs {
                if epoch % 10 == 0 || epoch + 1 == EPOCHS {
                    trace.push_row(vec![
                        name.into(),
                        (seed as usize).into(),
                        epoch.into(),
                        output.into(),
                        loss.into(),
                    ]);
                }
            }
            let last = rerun.epochs.last().map_or(f64::NAN, |e| e.1);
            // A single head's output is confined to the values' range (S3, S4); S5's trained
            // Dense layer can reach any number; S6 ends in a layer norm over one feature,
            // whose output is its offset 0.
            let reachable =
                reachable.unwrap_or_else(|| (rerun.min_value..=rerun.max_value).contains(&target));
            summary.push_row(vec![
                name.into(),
                (seed as usize).into(),
                target.into(),
                printed.into(),
                last.into(),
                rerun.min_value.into(),
                rerun.max_value.into(),
                (if reachable { "yes" } else { "no" }).into(),
            ]);
        };
        for &seed in &self.seeds {
            let (rerun, bound) = rerun_pytorch(seed);
            let target = examples()[0].target;
            record(
                "S2",
                seed,
                target,
                self.printed_final[0],
                &rerun,
                Some(target <= bound),
            );
        }
        for (example, printed) in examples().iter().zip(&self.printed_final[1..3]) {
            for &seed in &self.seeds {
                let rerun = rerun(example, seed).expect("tensor shapes are consistent");
                record(example.name, seed, example.target, *printed, &rerun, None);
            }
        }
        for &seed in &self.seeds {
            let (rerun, model) =
                rerun_multihead(seed, Stack::Dense).expect("tensor shapes are consistent");
            let target = examples()[1].target;
            record(
                "S5",
                seed,
                target,
                self.printed_final[3],
                &rerun,
                Some(true),
            );
            let mut rng = ChaCha8Rng::seed_from_u64(seed.wrapping_add(1_000));
            for &x in &self.transfer_points {
                let output = transfer(&model, x, &mut rng).expect("tensor shapes are consistent");
                transfer_table.push_row(vec![
                    "S5".into(),
                    (seed as usize).into(),
                    x.into(),
                    output.into(),
                    x.cos().into(),
                    (output - x.cos()).abs().into(),
                ]);
            }
        }
        for &seed in &self.seeds {
            let (rerun, _) =
                rerun_multihead(seed, Stack::Blocks).expect("tensor shapes are consistent");
            record(
                "S6",
                seed,
                examples()[1].target,
                self.printed_final[4],
                &rerun,
                Some(false),
            );
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
            NamedTable {
                stem: "transfer",
                table: transfer_table,
            },
        ]
    }
}
