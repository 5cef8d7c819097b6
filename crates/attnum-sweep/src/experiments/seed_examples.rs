//! Experiment `seed_examples`: the conversation's five trained examples, S2 to S6, rerun with the
//! code's shapes, initial values, optimiser and loss, and the checks that set each printed trace
//! against what its code can produce. It reruns the code; it does not train attention on other
//! functions (the `learned_*` experiments do).
//!
//! **The calls, as the libraries define them.** Keras' `layers.Attention` takes a list
//! `[query, value, key]` and uses the value as key when the key is omitted
//! (`keras/src/layers/attention/attention.py`, `call`: `q = inputs[0]; v = inputs[1];
//! k = inputs[2]`). S3 (an integral) and S4 (a derivative) call `attention([q, k, v])`, so the
//! positions `k` — a trained variable — are the **values**, and `v = sin(k)`, computed once from
//! the initial positions outside the tape, are the **keys** (constants): the output is
//! `Σᵢ softmax(s·q·sin k⁰)ᵢ kᵢ`, with the layer's scale `s` created by `use_scale=True`,
//! initialised to 1 and never updated (it is not in the trained list `[q, k]`). S5 (four heads,
//! dropout, `Dense(1)`) and S6 (two "transformer blocks") call `MultiHeadAttention`, whose
//! `call(query, value, key=None, …)` has no list form, with the same single list: Keras raises
//! `TypeError` (the required argument `value` is missing). The rerun makes the call that maps the
//! list in order onto `(query, value, key)`: value = positions, key = sin of the initial
//! positions. S2 is PyTorch, `nn.MultiheadAttention.forward(query, key, value)`: key =
//! positions, value = sin of the positions.
//!
//! **What the rerun changes, and only to make the code run.** As written, every Keras example
//! stops before its first update: `MeanSquaredError()(z[0, 0, 0], true_value)` reduces two 0-d
//! tensors over the axis −1 (`keras/src/losses/losses.py`, `mean_squared_error`); the rerun
//! takes the squared error `(z − target)²`, which that loss gives on shape-(1,) tensors. S4–S6
//! compute the target with `scipy.misc.derivative`, absent from SciPy 1.15 on; the rerun takes the
//! central difference with `dx = 1e-6` that it computed. Their query `tf.Variable([1])` is int32,
//! which Keras 2 refuses to multiply with float keys; the rerun uses the float `1.0`, trained.
//! The positions' uniform draws come from seeded ChaCha streams instead of TensorFlow's unseeded
//! one. Everything runs in f64. The layers and the optimiser are Keras' as
//! `attnum_attention::keras` writes them ([`keras::Attention`], [`keras::MultiHeadAttention`],
//! [`keras::layer_norm`], [`keras::Adam`], not candle's `AdamW`, which places ε differently).
//!
//! **Tables.** `trace`: the outputs and losses the code prints (every 10 epochs and the last);
//! `summary`: per example and seed, the epoch-0 and final outputs, the printed final, the range
//! of the values in the last epoch, how far the positions and the query moved, and the first
//! epoch whose output reaches the target (equals it or lies beyond it, seen from the start); `start`: the epoch-0 output over many draws of the
//! code's initialisation against the printed epoch-0 output; `printed`: for every printed line,
//! the loss its printed output implies against the printed loss; `printed_start`: the trace the
//! code gives from the first draw whose epoch-0 output prints as the conversation's;
//! `transfer`: the trained S5 model asked for `sin'(x)` at other points.

use attnum_attention::keras::{self, Adam, Attention, MultiHeadAttention, MultiHeadWeights};
use candle_core::{Device, Tensor, Var};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use attnum_results::Table;

use super::{Context, ExperimentError, FieldError, NamedTable};
use crate::checks;

/// A row of `trace`: one printed epoch of one example's rerun from one seed.
#[derive(Serialize)]
struct TraceRow {
    example: &'static str,
    seed: u64,
    epoch: usize,
    output: f64,
    loss: f64,
}

/// A row of `summary`: one example's rerun from one seed.
#[derive(Serialize)]
struct SummaryRow {
    example: &'static str,
    seed: u64,
    target: f64,
    printed_final: Option<f64>,
    epoch0_output: f64,
    final_output: f64,
    final_error: f64,
    /// The first epoch whose output is on the target or beyond it, seen from the start.
    first_epoch_reaching_target: Option<usize>,
    /// The range of the values in the last epoch.
    min_value: f64,
    max_value: f64,
    largest_position_move: f64,
    query_move: f64,
    /// `yes` or `no`.
    target_reachable: &'static str,
}

/// A row of `transfer`: the trained S5 model asked for `sin'(x)` at one point.
#[derive(Serialize, Default)]
struct TransferRow {
    example: &'static str,
    seed: u64,
    x: f64,
    output: f64,
    exact: f64,
    error: f64,
}

/// A row of `start`: one example's epoch-0 output over many draws of its initialisation.
#[derive(Serialize, Default)]
struct StartRow {
    example: &'static str,
    draws: usize,
    printed_epoch0: f64,
    bound_low: Option<f64>,
    bound_high: Option<f64>,
    min: f64,
    median: f64,
    max: f64,
    draws_printing_it: usize,
    first_draw_printing_it: Option<usize>,
}

/// A row of `printed_start`: one epoch of the trace from the first draw that prints the
/// conversation's epoch-0 output.
#[derive(Serialize, Default)]
struct PrintedStartRow {
    example: &'static str,
    draw: usize,
    epoch: usize,
    output: f64,
    loss: f64,
    printed_output: Option<f64>,
    printed_loss: Option<f64>,
}

/// A row of `printed`: one printed line, the loss its printed output implies (an interval) and
/// the `|error|` its printed loss needs.
#[derive(Serialize, Default)]
struct PrintedRow {
    example: &'static str,
    epoch: usize,
    printed_loss: f64,
    printed_output: Option<f64>,
    target: f64,
    implied_loss_low: Option<f64>,
    implied_loss_high: Option<f64>,
    needed_error_low: f64,
    needed_error_high: f64,
    /// `yes` when the two intervals meet, `no` when not, none without a printed output.
    consistent: Option<&'static str>,
}

/// Parameters of the `seed_examples` experiment.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SeedExamples {
    /// Seeds of the positions' (and S2/S5/S6's weights') draws, one rerun per seed.
    pub seeds: Vec<u64>,
    /// What the conversation printed for each of S2 to S6.
    pub printed: Vec<PrintedTrace>,
    /// Seed of the stream of initialisations behind the `start` table.
    pub start_seed: u64,
    /// How many initialisations the `start` table draws per example.
    pub start_draws: usize,
    /// Points at which the trained S5 model is asked for `sin'(x)` (the `transfer` table).
    pub transfer_points: Vec<f64>,
}

/// One example's printed trace, as the conversation shows it.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PrintedTrace {
    /// `S2` to `S6`.
    pub example: String,
    /// `[epoch, loss, output]` per printed line; `output` is null where the line is cut off.
    pub lines: Vec<(usize, f64, Option<f64>)>,
    /// The printed final output, if the conversation printed one.
    #[serde(rename = "final")]
    pub final_output: Option<f64>,
}

const EXAMPLES: [&str; 5] = ["S2", "S3", "S4", "S5", "S6"];
const KEYS: usize = 10;
const EPOCHS: usize = 100;
const HEADS: usize = 4;
/// `Attention(use_scale=True)` creates its scale initialised to 1; it is not trained.
const SCALE: f64 = 1.0;
/// Half a unit in the fourth decimal: the width of what `:.4f` prints as one number.
const HALF_ULP4: f64 = 5e-5;

/// One single-head example's set-up (S3, S4).
struct Example {
    name: &'static str,
    query: f64,
    /// Positions are `low + width · U(0, 1)`.
    low: f64,
    width: f64,
    target: f64,
}

// The conversation's code writes the upper bound 3.14159, not π: the rerun keeps it.
#[allow(clippy::approx_constant)]
const UPPER: f64 = 3.14159;

/// S3's target: `scipy.integrate.quad(sin, 0, 3.14159)` = 1 − cos(3.14159).
fn integral_target() -> f64 {
    1.0 - UPPER.cos()
}

/// S4–S6's target: `scipy.misc.derivative(sin, 1, dx=1e-6)`, the central difference.
fn derivative_target() -> f64 {
    let dx: f64 = 1e-6;
    ((1.0 + dx).sin() - (1.0 - dx).sin()) / (2.0 * dx)
}

fn s3() -> Example {
    Example {
        name: "S3",
        query: UPPER / 2.0,
        low: 0.0,
        width: UPPER,
        target: integral_target(),
    }
}

fn s4() -> Example {
    Example {
        name: "S4",
        query: 1.0,
        low: 1.0 - 0.05,
        width: 0.1,
        target: derivative_target(),
    }
}

fn target_of(example: &str) -> f64 {
    if matches!(example, "S2" | "S3") {
        integral_target()
    } else {
        derivative_target()
    }
}

fn positions(low: f64, width: f64, rng: &mut ChaCha8Rng) -> Vec<f64> {
    (0..KEYS)
        .map(|_| low + width * rng.random::<f64>())
        .collect()
}

fn sines(x: &[f64]) -> Vec<f64> {
    x.iter().map(|x| x.sin()).collect()
}

/// A rerun: `(epoch, output, loss)` for every epoch (computed before that epoch's update, as the
/// code prints them), and the values and query used in the first and the last epoch.
struct Rerun {
    epochs: Vec<(usize, f64, f64)>,
    first_values: Vec<f64>,
    last_values: Vec<f64>,
    first_query: f64,
    last_query: f64,
}

impl Rerun {
    fn output(&self, epoch: usize) -> f64 {
        self.epochs[epoch].1
    }

    fn last_output(&self) -> f64 {
        self.epochs.last().map_or(f64::NAN, |e| e.1)
    }
}

/// Train S3 or S4 from the given initial positions: query `q` and positions `k` trained, keys
/// `sin k⁰` fixed.
fn rerun_single(example: &Example, start: &[f64]) -> attnum_attention::Result<Rerun> {
    let layer = Attention::new(example.query, &sines(start), SCALE)?;
    let (q, k) = (layer.query(), Var::new(start, &Device::Cpu)?);
    let mut optimizer = Adam::new(vec![q.clone(), k.clone()])?;
    let mut epochs = Vec::with_capacity(EPOCHS);
    let mut last = (Vec::new(), f64::NAN);
    for epoch in 0..EPOCHS {
        if epoch + 1 == EPOCHS {
            last = (k.as_tensor().to_vec1()?, q.as_tensor().to_vec1::<f64>()?[0]);
        }
        let z = layer.output(k.as_tensor())?;
        let loss = (z.clone() - example.target)?.sqr()?;
        epochs.push((epoch, z.to_scalar::<f64>()?, loss.to_scalar::<f64>()?));
        optimizer.backward_step(&loss)?;
    }
    Ok(Rerun {
        epochs,
        first_values: start.to_vec(),
        last_values: last.0,
        first_query: example.query,
        last_query: last.1,
    })
}

/// The initial weights of S5/S6's `MultiHeadAttention(num_heads=4, key_dim=1)` (Keras'
/// `glorot_uniform` kernels and zero biases, [`MultiHeadWeights::glorot_uniform`]) and of their
/// `Dense(1)`.
#[derive(Debug, Clone, PartialEq)]
struct MhaWeights {
    attention: MultiHeadWeights,
    /// `Dense(1)`: kernel and bias.
    dense: (f64, f64),
}

impl MhaWeights {
    fn draw(rng: &mut ChaCha8Rng) -> Self {
        let attention = MultiHeadWeights::glorot_uniform(HEADS, rng);
        // `Dense(1)`'s kernel (fans 1 and 1) is the first of HEADS draws: the stream the
        // committed results were made with advances by HEADS here.
        let dense = (keras::glorot_uniform(rng, 1, 1, HEADS)[0], 0.0);
        Self { attention, dense }
    }

    /// S5's output: the attention, then `Dense(1)` (dropout is inactive).
    fn s5(&self, query: f64, value: &[f64], key: &[f64]) -> f64 {
        self.dense.0 * self.attention.call(query, value, key) + self.dense.1
    }

    /// S6's output: `LN(q + attention)`, `Dense(1)`, `LN(q + ·)`, each layer norm over one feature.
    fn s6(&self, query: f64, value: &[f64], key: &[f64]) -> f64 {
        let norm = |x: f64| keras::layer_norm_f64(&[x])[0];
        let first = norm(query + self.attention.call(query, value, key));
        norm(query + self.dense.0 * first + self.dense.1)
    }
}

/// S5/S6 on candle: `layers.MultiHeadAttention(num_heads=4, key_dim=1)` called as
/// `(query, value, key)`, followed by `Dropout(0.1)` (inactive: it is called without
/// `training=True`) and `Dense(1)`, all trained together with the query and the positions.
struct MultiHead {
    /// The attention layer with the trained query and the keys `sin k⁰`.
    attention: MultiHeadAttention,
    /// The positions: the attention's values.
    k: Var,
    /// `Dense(1)`: kernel and bias.
    dense: (Var, Var),
}

impl MultiHead {
    fn new(query: f64, start: &[f64], weights: &MhaWeights) -> attnum_attention::Result<Self> {
        let device = Device::Cpu;
        Ok(Self {
            attention: MultiHeadAttention::new(query, &sines(start), &weights.attention)?,
            k: Var::new(start, &device)?,
            dense: (
                Var::new(&[weights.dense.0], &device)?,
                Var::new(&[weights.dense.1], &device)?,
            ),
        })
    }

    fn vars(&self) -> Vec<Var> {
        let mut vars = vec![self.attention.query().clone(), self.k.clone()];
        vars.extend(self.attention.weights().into_iter().cloned());
        vars.extend([self.dense.0.clone(), self.dense.1.clone()]);
        vars
    }

    /// S5's output for query position `q`, values `value` (`(n,)`) and keys `key` (`(n,)`): the
    /// attention followed by `Dense(1)`.
    fn forward(&self, q: &Tensor, value: &Tensor, key: &Tensor) -> candle_core::Result<Tensor> {
        self.dense(&self.attention.call(q, value, key)?)
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
    fn blocks(&self, q: &Tensor, value: &Tensor, key: &Tensor) -> candle_core::Result<Tensor> {
        let norm = |x: Tensor| keras::layer_norm(&x.reshape((1, 1))?)?.sum_all();
        let first = norm((q.sum_all()? + self.attention.call(q, value, key)?)?)?;
        norm((q.sum_all()? + self.dense(&first)?)?)
    }
}

/// Which of the multi-head examples.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Stack {
    /// S5: attention, dropout, dense.
    Dense,
    /// S6: the two "transformer blocks".
    Blocks,
}

/// S5/S6's draw: positions in `[0.95, 1.05]`, then the weights, from one stream.
fn multihead_draw(rng: &mut ChaCha8Rng) -> (Vec<f64>, MhaWeights) {
    let start = positions(0.95, 0.1, rng);
    (start, MhaWeights::draw(rng))
}

/// Train S5 or S6 at `x₀ = 1` from the given draw; returns the rerun and the trained model.
fn rerun_multihead(
    start: &[f64],
    weights: &MhaWeights,
    stack: Stack,
) -> attnum_attention::Result<(Rerun, MultiHead)> {
    let model = MultiHead::new(1.0, start, weights)?;
    let keys = Tensor::new(sines(start).as_slice(), &Device::Cpu)?;
    let target = derivative_target();
    let mut optimizer = Adam::new(model.vars())?;
    let mut epochs = Vec::with_capacity(EPOCHS);
    let mut last = (Vec::new(), f64::NAN);
    for epoch in 0..EPOCHS {
        let (q, k) = (model.attention.query().as_tensor(), model.k.as_tensor());
        if epoch + 1 == EPOCHS {
            last = (k.to_vec1()?, q.to_vec1::<f64>()?[0]);
        }
        let z = match stack {
            Stack::Dense => model.forward(q, k, &keys)?,
            Stack::Blocks => model.blocks(q, k, &keys)?,
        };
        let loss = (z.clone() - target)?.sqr()?;
        epochs.push((epoch, z.to_scalar::<f64>()?, loss.to_scalar::<f64>()?));
        optimizer.backward_step(&loss)?;
    }
    Ok((
        Rerun {
            epochs,
            first_values: start.to_vec(),
            last_values: last.0,
            first_query: 1.0,
            last_query: last.1,
        },
        model,
    ))
}

/// The trained S5 model asked for `sin'(x)` at other points: fresh positions in
/// `[x − 0.05, x + 0.05]` from `rng` as values, their sines as keys, the trained query moved by
/// `x − 1`.
fn transfer(model: &MultiHead, x: f64, rng: &mut ChaCha8Rng) -> candle_core::Result<f64> {
    let value = positions(x - 0.05, 0.1, rng);
    let device = Device::Cpu;
    let q = (model.attention.query().as_tensor() + (x - 1.0))?;
    model
        .forward(
            &q,
            &Tensor::new(value.as_slice(), &device)?,
            &Tensor::new(sines(&value).as_slice(), &device)?,
        )?
        .to_scalar::<f64>()
}

/// S2's in-projection bound: PyTorch's `xavier_uniform_` on the `(3, 1)` in-projection.
fn pytorch_in_bound() -> f64 {
    (6.0f64 / 4.0).sqrt()
}

/// S2's draw: positions uniform in `[0, 3.14159]`, then PyTorch's default initialisation of
/// `nn.MultiheadAttention(embed_dim=1, num_heads=1, kdim=1, vdim=1)`: query, key and value
/// in-projection weights with bound √(6/4), out-projection weight with bound 1
/// (`kaiming_uniform_(a=√5)` on a `(1, 1)` weight), biases 0.
fn pytorch_draw(rng: &mut ChaCha8Rng) -> (Vec<f64>, [f64; 4]) {
    let start = positions(0.0, UPPER, rng);
    let mut uniform = |bound: f64| bound * (2.0 * rng.random::<f64>() - 1.0);
    let b = pytorch_in_bound();
    (start, [uniform(b), uniform(b), uniform(b), uniform(1.0)])
}

/// S2's output: `forward(query, key, value)` with key = positions and value = their sines,
/// `wo · wv · Σᵢ softmax((wq q)(wk kᵢ))ᵢ sin kᵢ` (head dimension 1, so no scaling).
fn pytorch_output(start: &[f64], [wq, wk, wv, wo]: [f64; 4]) -> f64 {
    let q = UPPER / 2.0;
    let key: Vec<f64> = start.iter().map(|k| wk * k).collect();
    wo * wv * keras::attention(wq * q, &sines(start), &key, 1.0)
}

/// S2 from a draw: the optimiser holds only `q` and `k`, which do not require gradients, so no
/// step changes anything and the output of every epoch is the output at initialisation. (As
/// written the code stops before training: `scipy.integrate.quad` calls `torch.sin` on a float,
/// and the keys have shape `(1, 10)` where `kdim = 1` is expected; the rerun fixes both.)
fn rerun_pytorch(start: &[f64], weights: [f64; 4]) -> Rerun {
    let output = pytorch_output(start, weights);
    let target = integral_target();
    let values = sines(start);
    Rerun {
        epochs: (0..EPOCHS)
            .map(|e| (e, output, (output - target).powi(2)))
            .collect(),
        first_values: values.clone(),
        last_values: values,
        first_query: UPPER / 2.0,
        last_query: UPPER / 2.0,
    }
}

/// What any draw of an example's initialisation can output at epoch 0: S2 is bounded by
/// `√(6/4) · 1 · max|sin|`, S3 and S4 are convex combinations of their positions, S6 is a layer
/// norm of one feature; S5's trained-free bound is not needed.
fn start_bounds(example: &str) -> (Option<f64>, Option<f64>) {
    match example {
        "S2" => (Some(-pytorch_in_bound()), Some(pytorch_in_bound())),
        "S3" => (Some(0.0), Some(UPPER)),
        "S4" => (Some(0.95), Some(1.05)),
        "S6" => (Some(0.0), Some(0.0)),
        _ => (None, None),
    }
}

/// One draw of an example's initialisation: the positions and, for S5/S6, the weights.
enum Draw {
    PyTorch(Vec<f64>, [f64; 4]),
    Single(Vec<f64>),
    Multi(Vec<f64>, Box<MhaWeights>),
}

fn draw(example: &str, rng: &mut ChaCha8Rng) -> Draw {
    match example {
        "S2" => {
            let (start, weights) = pytorch_draw(rng);
            Draw::PyTorch(start, weights)
        }
        "S3" => Draw::Single(positions(0.0, UPPER, rng)),
        "S4" => Draw::Single(positions(0.95, 0.1, rng)),
        _ => {
            let (start, weights) = multihead_draw(rng);
            Draw::Multi(start, Box::new(weights))
        }
    }
}

/// The epoch-0 output of a draw, in plain f64.
fn epoch_zero(example: &str, draw: &Draw) -> f64 {
    match draw {
        Draw::PyTorch(start, weights) => pytorch_output(start, *weights),
        Draw::Single(start) => {
            let query = if example == "S3" {
                s3().query
            } else {
                s4().query
            };
            keras::attention(query, start, &sines(start), SCALE)
        }
        Draw::Multi(start, weights) if example == "S5" => weights.s5(1.0, start, &sines(start)),
        Draw::Multi(start, weights) => weights.s6(1.0, start, &sines(start)),
    }
}

/// Train a draw with the example's code (S2 never trains).
fn train(example: &str, draw: &Draw) -> attnum_attention::Result<Rerun> {
    match draw {
        Draw::PyTorch(start, weights) => Ok(rerun_pytorch(start, *weights)),
        Draw::Single(start) => {
            let single = if example == "S3" { s3() } else { s4() };
            rerun_single(&single, start)
        }
        Draw::Multi(start, weights) => {
            let stack = if example == "S5" {
                Stack::Dense
            } else {
                Stack::Blocks
            };
            Ok(rerun_multihead(start, weights, stack)?.0)
        }
    }
}

/// `x` as `f"{x:.4f}"` prints it.
fn print4(x: f64) -> String {
    format!("{x:.4}")
}

/// The interval of `|error|` that an output printed as `shown` (4 decimals) can have against
/// `target`.
fn error_interval(shown: f64, target: f64) -> (f64, f64) {
    let centre = (shown - target).abs();
    ((centre - HALF_ULP4).max(0.0), centre + HALF_ULP4)
}

impl SeedExamples {
    /// Check every parameter and pair each example with its printed trace; errors carry the
    /// field path below `experiment.seed_examples`.
    ///
    /// # Errors
    /// The first refused parameter.
    pub fn check(&self) -> Result<CheckedSeedExamples, FieldError> {
        checks::non_empty("seeds", &self.seeds, "seed")?;
        for (i, trace) in self.printed.iter().enumerate() {
            if !EXAMPLES.contains(&trace.example.as_str()) {
                return Err(FieldError::new(
                    format!("printed[{i}].example"),
                    format!("must be one of {}", EXAMPLES.join(", ")),
                ));
            }
            if self.printed[..i].iter().any(|p| p.example == trace.example) {
                return Err(FieldError::new(
                    format!("printed[{i}].example"),
                    format!("{} is listed twice", trace.example),
                ));
            }
            for (j, &(epoch, loss, output)) in trace.lines.iter().enumerate() {
                let finite = loss.is_finite() && output.is_none_or(f64::is_finite);
                if epoch >= EPOCHS || !finite {
                    return Err(FieldError::new(
                        format!("printed[{i}].lines[{j}]"),
                        format!("needs an epoch below {EPOCHS} and finite numbers"),
                    ));
                }
            }
            if trace.final_output.is_some_and(|x| !x.is_finite()) {
                return Err(FieldError::new(format!("printed[{i}].final"), "must be finite"));
            }
        }
        let traces = EXAMPLES
            .iter()
            .map(|&example| {
                self.printed
                    .iter()
                    .find(|p| p.example == example)
                    .map(|trace| (example, trace.clone()))
                    .ok_or_else(|| {
                        FieldError::new("printed", format!("has no trace for {example}"))
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        if !(1..=10_000_000).contains(&self.start_draws) {
            return Err(FieldError::new("start_draws", "must be in 1..=10000000"));
        }
        if let Some(i) = self
            .transfer_points
            .iter()
            .position(|x| !(x.is_finite() && x.abs() <= 100.0))
        {
            return Err(FieldError::new(
                format!("transfer_points[{i}]"),
                "must be in [−100, 100]",
            ));
        }
        Ok(CheckedSeedExamples {
            spec: self.clone(),
            traces,
        })
    }
}

/// A checked `seed_examples` experiment: every example paired with its printed trace.
#[derive(Debug, Clone)]
pub struct CheckedSeedExamples {
    spec: SeedExamples,
    /// `(example, trace)` in the order of [`EXAMPLES`].
    traces: Vec<(&'static str, PrintedTrace)>,
}

impl CheckedSeedExamples {
    fn printed_of(&self, example: &str) -> Option<&PrintedTrace> {
        self.traces
            .iter()
            .find(|(name, _)| *name == example)
            .map(|(_, trace)| trace)
    }


    /// Run the experiment: tables `trace`, `summary`, `start`, `printed`, `printed_start` and
    /// `transfer`.
    ///
    /// # Errors
    /// A model that cannot be built or a tensor operation that fails.
    pub fn run(&self) -> Result<Vec<NamedTable>, ExperimentError> {
        let (mut trace, mut summary) = (Vec::new(), Vec::new());
        let mut record = |name: &'static str, seed: u64, rerun: &Rerun, reachable: bool| {
            for &(epoch, output, loss) in &rerun.epochs {
                if epoch % 10 == 0 || epoch + 1 == EPOCHS {
                    trace.push(TraceRow {
                        example: name,
                        seed,
                        epoch,
                        output,
                        loss,
                    });
                }
            }
            let target = target_of(name);
            // The first epoch whose output is on the target or on its other side from the start.
            let side = (rerun.output(0) - target).signum();
            let first_crossing = rerun
                .epochs
                .iter()
                .find(|e| (e.1 - target) * side <= 0.0)
                .map(|e| e.0);
            let (lo, hi) = rerun
                .last_values
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &v| {
                    (l.min(v), h.max(v))
                });
            let moved = rerun
                .first_values
                .iter()
                .zip(&rerun.last_values)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f64::max);
            summary.push(SummaryRow {
                example: name,
                seed,
                target,
                printed_final: self.printed_of(name).and_then(|p| p.final_output),
                epoch0_output: rerun.output(0),
                final_output: rerun.last_output(),
                final_error: (rerun.last_output() - target).abs(),
                first_epoch_reaching_target: first_crossing,
                min_value: lo,
                max_value: hi,
                largest_position_move: moved,
                query_move: (rerun.last_query - rerun.first_query).abs(),
                target_reachable: if reachable { "yes" } else { "no" },
            });
        };
        for &seed in &self.spec.seeds {
            let (start, weights) = pytorch_draw(&mut ChaCha8Rng::seed_from_u64(seed));
            let rerun = rerun_pytorch(&start, weights);
            // |output| ≤ √(6/4) · max|sin k| < 2: the target is out of reach.
            record("S2", seed, &rerun, integral_target() <= pytorch_in_bound());
        }
        for example in [s3(), s4()] {
            for &seed in &self.spec.seeds {
                let start = positions(
                    example.low,
                    example.width,
                    &mut ChaCha8Rng::seed_from_u64(seed),
                );
                let rerun = rerun_single(&example, &start)
                    .with_context(|| format!("{} trained from seed {seed}", example.name))?;
                // The values are the trained positions: they can move to any target.
                record(example.name, seed, &rerun, true);
            }
        }
        let mut transfer_rows = Vec::new();
        for &seed in &self.spec.seeds {
            let (start, weights) = multihead_draw(&mut ChaCha8Rng::seed_from_u64(seed));
            let (rerun, model) = rerun_multihead(&start, &weights, Stack::Dense)
                .with_context(|| format!("S5 trained from seed {seed}"))?;
            record("S5", seed, &rerun, true);
            let mut rng = ChaCha8Rng::seed_from_u64(seed.wrapping_add(1_000));
            for &x in &self.spec.transfer_points {
                let output = transfer(&model, x, &mut rng)
                    .with_context(|| format!("S5 of seed {seed} at x = {x}"))?;
                transfer_rows.push(TransferRow {
                    example: "S5",
                    seed,
                    x,
                    output,
                    exact: x.cos(),
                    error: (output - x.cos()).abs(),
                });
            }
        }
        for &seed in &self.spec.seeds {
            let (start, weights) = multihead_draw(&mut ChaCha8Rng::seed_from_u64(seed));
            let (rerun, _) = rerun_multihead(&start, &weights, Stack::Blocks)
                .with_context(|| format!("S6 trained from seed {seed}"))?;
            // A layer norm of one feature returns its offset 0.
            record("S6", seed, &rerun, false);
        }
        let (start, printed_start) = self.start_tables()?;
        Ok(vec![
            NamedTable {
                stem: "trace",
                table: Table::from_rows(&trace),
            },
            NamedTable {
                stem: "summary",
                table: Table::from_rows(&summary),
            },
            NamedTable {
                stem: "start",
                table: Table::from_rows_with_header(&start),
            },
            NamedTable {
                stem: "printed",
                table: Table::from_rows_with_header(&self.printed_rows()),
            },
            NamedTable {
                stem: "printed_start",
                table: Table::from_rows_with_header(&printed_start),
            },
            NamedTable {
                stem: "transfer",
                table: Table::from_rows_with_header(&transfer_rows),
            },
        ])
    }

    /// `start`: the epoch-0 output over `start_draws` draws of each example's initialisation, and
    /// how many print as the conversation's epoch-0 output; `printed_start`: the code's trace, every
    /// epoch, from the first draw that does.
    ///
    /// # Errors
    /// A model that cannot be built or a tensor operation that fails.
    fn start_tables(&self) -> Result<(Vec<StartRow>, Vec<PrintedStartRow>), ExperimentError> {
        let (mut start, mut printed_start) = (Vec::new(), Vec::new());
        for &(example, ref trace) in &self.traces {
            let Some(printed) = trace.lines.iter().find(|l| l.0 == 0).and_then(|l| l.2) else {
                continue;
            };
            let shown = print4(printed);
            let mut rng = ChaCha8Rng::seed_from_u64(self.spec.start_seed);
            let mut outputs = Vec::with_capacity(self.spec.start_draws);
            let mut hits = 0usize;
            let mut first: Option<(usize, Draw)> = None;
            for i in 0..self.spec.start_draws {
                let d = draw(example, &mut rng);
                let z = epoch_zero(example, &d);
                outputs.push(z);
                if print4(z) == shown {
                    hits += 1;
                    if first.is_none() {
                        first = Some((i, d));
                    }
                }
            }
            outputs.sort_by(f64::total_cmp);
            let n = outputs.len();
            let median = if n % 2 == 1 {
                outputs[n / 2]
            } else {
                (outputs[n / 2 - 1] + outputs[n / 2]) / 2.0
            };
            let (low, high) = start_bounds(example);
            start.push(StartRow {
                example,
                draws: n,
                printed_epoch0: printed,
                bound_low: low,
                bound_high: high,
                min: outputs[0],
                median,
                max: outputs[n - 1],
                draws_printing_it: hits,
                first_draw_printing_it: first.as_ref().map(|(i, _)| *i),
            });
            let Some((index, d)) = first else {
                continue;
            };
            let rerun = train(example, &d)
                .with_context(|| format!("{example} trained from start draw {index}"))?;
            for &(epoch, output, loss) in &rerun.epochs {
                let line = trace.lines.iter().find(|l| l.0 == epoch);
                let (printed_output, printed_loss) = if epoch + 1 == EPOCHS {
                    (trace.final_output, None)
                } else {
                    (line.and_then(|l| l.2), line.map(|l| l.1))
                };
                printed_start.push(PrintedStartRow {
                    example,
                    draw: index,
                    epoch,
                    output,
                    loss,
                    printed_output,
                    printed_loss,
                });
            }
        }
        Ok((start, printed_start))
    }

    /// `printed`: every printed line with an output, the loss the printed output implies (an
    /// interval, as the output is rounded to 4 decimals) and the `|error|` the printed loss needs.
    fn printed_rows(&self) -> Vec<PrintedRow> {
        let mut rows = Vec::new();
        for &(example, ref trace) in &self.traces {
            let target = target_of(example);
            for &(epoch, loss, output) in &trace.lines {
                let needed = (
                    (loss - HALF_ULP4).max(0.0).sqrt(),
                    (loss + HALF_ULP4).sqrt(),
                );
                let implied = output.map(|o| error_interval(o, target));
                // Loss printed as `loss` means a loss in [loss − 5e-5, loss + 5e-5].
                let consistent = implied.map(|(lo, hi)| {
                    if lo <= needed.1 && needed.0 <= hi {
                        "yes"
                    } else {
                        "no"
                    }
                });
                rows.push(PrintedRow {
                    example,
                    epoch,
                    printed_loss: loss,
                    printed_output: output,
                    target,
                    implied_loss_low: implied.map(|i| i.0 * i.0),
                    implied_loss_high: implied.map(|i| i.1 * i.1),
                    needed_error_low: needed.0,
                    needed_error_high: needed.1,
                    consistent,
                });
            }
        }
        rows
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// S3's first epoch is the Keras call `[query, value, key]` with the positions as values and
    /// their sines as keys (the order itself is tested with the layer, in
    /// `attnum-attention/tests/keras.rs`).
    #[test]
    fn s3_makes_the_keras_call_with_the_positions_as_values() {
        let start = positions(0.0, UPPER, &mut ChaCha8Rng::seed_from_u64(1));
        let rerun = rerun_single(&s3(), &start).unwrap();
        let expected = keras::attention(s3().query, &start, &sines(&start), 1.0);
        assert!((rerun.output(0) - expected).abs() < 1e-12);
        let swapped = keras::attention(s3().query, &sines(&start), &start, 1.0);
        assert!((rerun.output(0) - swapped).abs() > 1e-3);
    }

    /// The f64 forward of S5 (used for the `start` table) is the candle one.
    #[test]
    fn the_plain_multihead_forward_is_the_trained_one() {
        let (start, weights) = multihead_draw(&mut ChaCha8Rng::seed_from_u64(3));
        let (rerun, _) = rerun_multihead(&start, &weights, Stack::Dense).unwrap();
        let plain = weights.s5(1.0, &start, &sines(&start));
        assert!(
            (rerun.output(0) - plain).abs() < 1e-12,
            "{} vs {plain}",
            rerun.output(0)
        );
    }
}

