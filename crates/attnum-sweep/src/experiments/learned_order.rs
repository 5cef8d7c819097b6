//! Experiment `learned_order`: attention with guaranteed order (`ConsistentAttention`) trained to
//! output `h^m f^{(m)}(x₀)`, its observed order, and where its data-adaptivity beats the
//! classical stencils of the same width.
//!
//! **Models.** The applied stencil is `F_m + N θ(f)`, consistent to order `p` for every parameter
//! and input, with the free moments `θ(f)` a softmax mixture of `candidates` learned candidate
//! values scored from the samples' log-ratios of differences (`adaptive`); the control `fixed` is
//! the same module with one candidate, a learned consistent stencil that does not depend on the
//! samples. Both are trained on the same data with the same settings; neither has an output scale
//! (it would break consistency). The references are the central difference of order `p`
//! (`central_p`), the interpolating stencil on all the offsets (`central_full`) and the degree-2
//! Savitzky–Golay filter (`savitzky_golay`).
//!
//! **Training.** As `learned_derivative`: trigonometric polynomials of degree `max_frequency`, `h`
//! log-uniform in `[training_steps.from, training_steps.to]` per example, Gaussian noise of
//! standard deviation `noise` on the training samples, the loss the mean squared error of the
//! derivative itself. Streams of the seed: `0`/`8` the initialisations of `adaptive`/`fixed`,
//! `1`/`2` the training/validation functions, `6`/`7` their steps, `5` the (unused) dropout.
//!
//! **Evaluation.** One test set per point, shared by every seed and method, from the documented
//! SplitMix64 stream: `sizes[2]` functions of the training family (`TestStream(test_seed, 0)`) and
//! of twice its frequency (`TestStream(test_seed, 1)`), with their points, and one standard normal
//! vector per test sample (`TestStream(test_seed, 10 + k)` for family `k`); the noise level `σ`
//! adds `σ z` to the same clean samples; the same functions are also sampled as in training, at a
//! step per function log-uniform in the training range (`u` from `TestStream(test_seed, 20 + k)`)
//! with the training noise (`σ_train z`). Tables: `curve` (loss curves), `errors` (RMS error of
//! `f^{(m)}(x₀)` per family and evaluation noise at `evaluation_step`, and in the training range
//! of steps and noise), `steps` (RMS error against
//! `h` on the clean training family, and the mean leading free moment `μ_{m+p}` of the applied
//! stencils — the coefficient of `h^p f^{(m+p)}` in the error), `orders` (the observed order and
//! its fit window), `stencil` (the applied stencil averaged over the clean training family at
//! `evaluation_step`, and its per-offset standard deviation over the functions), `statistics`
//! (mean and 95% t-interval over seeds of every metric) and `paired` (each trained model's error
//! over each other method's, per seed on the same test functions and noise draws: geometric mean
//! and 95% interval of the ratio, and the number of seeds it is below 1).

use std::collections::{BTreeMap, HashMap};

use attnum_attention::AttentionMethod;
use attnum_attention::DEVICE;
use attnum_attention::consistent::{ConsistentAttention, ConsistentShape, taylor_moments};
use attnum_attention::learn::{
    Dataset, DerivativeTask, Epoch, Family, Function, TestStream, derivative_samples, generator,
    normal, tensors_safetensors, train_weighted,
};
use attnum_classical::analysis::UNIT_ROUNDOFF;
use attnum_classical::fd::{Stencil, StencilKind};
use attnum_classical::savitzky_golay::savitzky_golay;
use attnum_results::Table;
use candle_core::Tensor;
use serde::{Deserialize, Serialize};

use super::{Context, ExperimentError, FieldError, NamedTable, Output};
use crate::checks::{self, Interval};
use crate::evaluation::{FitRule, StepRange, fit_order, weighted_data};
use crate::statistics::{StatisticsRow, mean_interval};
use crate::training::Training;

/// Parameters of the `learned_order` experiment.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LearnedOrder {
    /// The derivative `m`: 1 or 2.
    pub derivative: usize,
    /// The guaranteed order `p` (even, so that the central difference of order `p` exists;
    /// `m + p` below the number of offsets).
    pub order: usize,
    /// Sample offsets in units of `h` (distinct, containing the central difference's nodes).
    pub offsets: Vec<f64>,
    /// Candidate tokens of the adaptive model (2 to 16).
    pub candidates: usize,
    /// The `ε` inside the logarithms of the query, in `(0, 1e-6]`.
    pub epsilon: f64,
    /// Standard deviation of the initial keys and values.
    pub init_scale: f64,
    /// The steps of the training examples: log-uniform in `[from, to]`, fixed where equal.
    pub training_steps: StepRange,
    /// Standard deviation of the noise on the training samples.
    #[serde(default)]
    pub noise: f64,
    /// Highest frequency `K` of the trigonometric training family (1 to 5; the held-out family
    /// has `2K`).
    pub max_frequency: usize,
    /// Training, validation and test set sizes (the test size per family).
    pub sizes: [usize; 3],
    /// Optimiser settings, shared by both trained models.
    pub training: Training,
    /// The step of the `errors` and `stencil` tables.
    pub evaluation_step: f64,
    /// Steps at which every method is evaluated (the `steps` table).
    pub evaluation_steps: Vec<f64>,
    /// Noise levels at which every method is evaluated (the `errors` table).
    pub evaluation_noise: Vec<f64>,
    /// How the observed order is fitted to the error against `h`.
    pub fit: FitRule,
    /// Training seeds (each trains both models once).
    pub seeds: Vec<u64>,
    /// Seed of the test set (shared by all seeds and methods).
    pub test_seed: u64,
}

/// A checked `learned_order` experiment: the module shapes and the classical references built.
#[derive(Debug, Clone)]
pub struct CheckedLearnedOrder {
    spec: LearnedOrder,
    /// The adaptive model's shape (`fixed` has one candidate).
    shape: ConsistentShape,
    /// `central_p`, `central_full`, `savitzky_golay`: weights on the offsets.
    references: Vec<(&'static str, Vec<f64>)>,
}

impl LearnedOrder {
    /// Check every parameter and build the references; errors carry the field path below
    /// `experiment.learned_order`.
    ///
    /// # Errors
    /// The first refused parameter.
    pub fn check(&self) -> Result<CheckedLearnedOrder, FieldError> {
        let (m, p, n) = (self.derivative, self.order, self.offsets.len());
        if !(1..=2).contains(&m) {
            return Err(FieldError::new(
                "derivative",
                format!("must be 1 or 2, got {m}"),
            ));
        }
        checks::count_in("offsets", n, 3, 9)?;
        if !self.offsets.contains(&0.0) {
            return Err(FieldError::new("offsets", "must contain the offset 0"));
        }
        if p == 0 || m + p >= n {
            return Err(FieldError::new(
                "order",
                format!(
                    "must be ≥ 1 with derivative + order < {n} offsets (a free moment), got {p}"
                ),
            ));
        }
        checks::count_in("candidates", self.candidates, 2, 16)?;
        checks::in_interval("epsilon", self.epsilon, Interval::open_closed(0.0, 1e-6))?;
        checks::in_interval(
            "init_scale",
            self.init_scale,
            Interval::open_closed(0.0, 10.0),
        )?;
        let shape = ConsistentShape {
            offsets: self.offsets.clone(),
            derivative: m,
            order: p,
            candidates: self.candidates,
            epsilon: self.epsilon,
        };
        let central = Stencil::by_accuracy(StencilKind::Central, m, p)
            .map_err(|e| FieldError::new("order", e.to_string()))?;
        let central_p = self
            .offsets
            .iter()
            .map(|o| {
                central
                    .offsets()
                    .iter()
                    .position(|c| c == o)
                    .map_or(0.0, |i| central.weights()[i])
            })
            .collect::<Vec<_>>();
        if central.offsets().iter().any(|c| !self.offsets.contains(c)) {
            return Err(FieldError::new(
                "offsets",
                format!(
                    "must contain the nodes {:?} of the central difference of order {p}",
                    central.offsets()
                ),
            ));
        }
        let full = Stencil::on_offsets(m, &self.offsets)
            .map_err(|e| FieldError::new("offsets", e.to_string()))?;
        let smoothing = savitzky_golay(m, 2, &self.offsets)
            .map_err(|e| FieldError::new("offsets", e.to_string()))?;
        self.training_steps.validate()?;
        let noise = |field: &str, v: f64| checks::in_interval(field, v, Interval::closed(0.0, 1.0));
        noise("noise", self.noise)?;
        checks::non_empty("evaluation_noise", &self.evaluation_noise, "noise level")?;
        checks::each("evaluation_noise", &self.evaluation_noise, |&v| {
            noise("", v)
        })?;
        self.training.validate()?;
        if !(1..=5).contains(&self.max_frequency) {
            return Err(FieldError::new(
                "max_frequency",
                format!("must be in 1..=5, got {}", self.max_frequency),
            ));
        }
        for (i, &size) in self.sizes.iter().enumerate() {
            checks::count_in("", size, 8, 100_000).map_err(|e| e.within(&format!("sizes[{i}]")))?;
        }
        let step =
            |field: &str, v: f64| checks::in_interval(field, v, Interval::open_closed(0.0, 1.0));
        step("evaluation_step", self.evaluation_step)?;
        if self.evaluation_steps.len() < 2 {
            return Err(FieldError::new(
                "evaluation_steps",
                "needs at least two steps",
            ));
        }
        checks::each("evaluation_steps", &self.evaluation_steps, |&h| step("", h))?;
        self.fit.validate()?;
        checks::count_in("seeds", self.seeds.len(), 2, 20)?;
        Ok(CheckedLearnedOrder {
            spec: self.clone(),
            shape,
            references: vec![
                ("central_p", central_p),
                ("central_full", full.weights().to_vec()),
                ("savitzky_golay", smoothing.weights().to_vec()),
            ],
        })
    }
}

/// A row of `errors`: one method's RMS derivative error on one family at one noise level, at
/// `evaluation_step` (`steps` = `evaluation_step`) or with the steps and the noise of training
/// (`steps` = `training_range`: `h` log-uniform in the training range per test function).
#[derive(Serialize)]
struct ErrorRow<'a> {
    seed: u64,
    method: &'a str,
    family: &'a str,
    steps: &'a str,
    evaluation_noise: f64,
    rms_error: f64,
}

/// A row of `steps`: one method's RMS derivative error at one step, and the mean leading free
/// moment `μ_{m+p}` of its applied stencils there.
#[derive(Serialize)]
struct StepRow<'a> {
    seed: u64,
    method: &'a str,
    h: f64,
    rms_error: f64,
    leading_moment: f64,
}

/// A row of `orders`: one method's observed order and its fit window (null where fewer than
/// `fit.min_points` steps lie above rounding).
#[derive(Serialize)]
struct OrderRow<'a> {
    seed: u64,
    method: &'a str,
    observed_order: Option<f64>,
    fit_h_min: Option<f64>,
    fit_h_max: Option<f64>,
    fit_points: Option<usize>,
}

/// A row of `stencil`: one weight of one method's applied stencil, averaged over the test
/// functions, and its standard deviation over them.
#[derive(Serialize)]
struct StencilRow<'a> {
    seed: u64,
    method: &'a str,
    offset: f64,
    weight: f64,
    weight_std: f64,
}

/// A row of `paired`: a trained model's error over a reference's, per seed on the same test set.
#[derive(Serialize)]
struct PairedRow<'a> {
    method: &'a str,
    reference: &'a str,
    metric: &'a str,
    ratio_geometric_mean: f64,
    ratio_low: f64,
    ratio_high: f64,
    method_better: usize,
    seeds: usize,
}

/// A method evaluated: a trained module or fixed weights (in units of `h`).
enum Method {
    Trained(ConsistentAttention),
    Linear(Vec<f64>),
}

impl Method {
    /// The outputs `(batch,)` on a batch of samples.
    fn outputs(&self, inputs: &Tensor) -> candle_core::Result<Tensor> {
        match self {
            Self::Trained(m) => m.forward(inputs),
            Self::Linear(w) => inputs
                .matmul(&Tensor::from_slice(w, (w.len(), 1), &DEVICE)?)?
                .squeeze(1),
        }
    }

    /// The applied stencil of every row of a batch of samples.
    fn stencils(&self, inputs: &Tensor) -> candle_core::Result<Vec<Vec<f64>>> {
        match self {
            Self::Trained(m) => m.applied_stencils(inputs)?.to_vec2(),
            Self::Linear(w) => Ok(vec![w.clone(); inputs.dim(0)?]),
        }
    }

    /// RMS error of `f^{(m)}` from samples and targets in units of `h^m`, each row divided by its
    /// `h^m` (`scales`, shape `(batch,)`).
    fn rms(&self, inputs: &Tensor, targets: &Tensor, scales: &Tensor) -> candle_core::Result<f64> {
        let mse = ((self.outputs(inputs)? - targets)? / scales)?
            .sqr()?
            .mean_all()?
            .to_scalar::<f64>()?;
        Ok(mse.sqrt())
    }
}

/// One evaluation of the test set: a family's samples (noisy or not, at one step or at a step
/// per row), the targets `h^m f^{(m)}(x₀)` and each row's `h^m`.
struct Case<'a> {
    family: &'a str,
    steps: &'a str,
    noise: f64,
    inputs: Tensor,
    targets: Tensor,
    scales: Tensor,
}

/// The families of the test set: the training family and twice its frequency.
fn test_families(max_frequency: usize) -> [(&'static str, Family); 2] {
    [
        ("trigonometric", Family::Trigonometric { max_frequency }),
        (
            "trigonometric_2k",
            Family::Trigonometric {
                max_frequency: 2 * max_frequency,
            },
        ),
    ]
}

/// Per column, the mean and the standard deviation of rows of equal length.
fn mean_and_std(rows: &[Vec<f64>]) -> (Vec<f64>, Vec<f64>) {
    let count = rows.len() as f64;
    let n = rows.first().map_or(0, Vec::len);
    let mean: Vec<f64> = (0..n)
        .map(|i| rows.iter().map(|r| r[i]).sum::<f64>() / count)
        .collect();
    let std = (0..n)
        .map(|i| (rows.iter().map(|r| (r[i] - mean[i]).powi(2)).sum::<f64>() / count).sqrt())
        .collect();
    (mean, std)
}

/// A noise level as it appears in metric names (`0e0`, `1e-3`).
fn level(noise: f64) -> String {
    format!("{noise:e}")
}

impl CheckedLearnedOrder {
    /// The model of `candidates` candidates with keys and values drawn from `(seed, stream)`.
    fn model(
        &self,
        candidates: usize,
        seed: u64,
        stream: u64,
    ) -> Result<ConsistentAttention, ExperimentError> {
        let shape = ConsistentShape {
            candidates,
            ..self.shape.clone()
        };
        let mut init = generator(seed, stream);
        let keys = normal(
            &mut init,
            candidates * shape.query_width(),
            self.spec.init_scale,
        );
        let values = normal(
            &mut init,
            candidates * shape.free_moments(),
            self.spec.init_scale,
        );
        ConsistentAttention::new(shape, &keys, &values)
            .with_context(|| format!("the model of {candidates} candidates, seed {seed}"))
    }

    /// Run the experiment: the tables of the module documentation and the weights file.
    ///
    /// # Errors
    /// A tensor or attention error, with what was being computed (a diverging training among
    /// them).
    #[allow(clippy::too_many_lines)]
    pub fn run(&self) -> Result<Output, ExperimentError> {
        let spec = &self.spec;
        let (m, p, n) = (spec.derivative, spec.order, spec.offsets.len());
        let power = |h: f64| h.powi(m as i32);
        let h0 = spec.evaluation_step;
        let count = spec.sizes[2];

        // The test set: clean samples per family at h0, the same rows plus σ z per noise level,
        // and the same functions at steps log-uniform in the training range with training noise.
        let mut families: Vec<(&str, Vec<(Function, f64)>)> = Vec::new();
        let mut cases: Vec<Case<'_>> = Vec::new();
        let fixed_scales = Tensor::full(power(h0), count, &DEVICE).context("the test scales")?;
        for ((name, family), k) in test_families(spec.max_frequency).into_iter().zip(0u64..) {
            let mut stream = TestStream::new(spec.test_seed, k);
            let draws: Vec<(Function, f64)> = (0..count).map(|_| stream.draw(family)).collect();
            let clean = derivative_samples(&draws, &spec.offsets, m, h0)
                .with_context(|| format!("the {name} test samples"))?;
            let mut stream = TestStream::new(spec.test_seed, 10 + k);
            let z: Vec<f64> = (0..count * n).map(|_| stream.normal()).collect();
            let z = Tensor::from_vec(z, (count, n), &DEVICE).context("the test noise")?;
            for &sigma in &spec.evaluation_noise {
                let inputs = (&clean.inputs + (&z * sigma).context("the scaled noise")?)
                    .context("the noisy test samples")?;
                cases.push(Case {
                    family: name,
                    steps: "evaluation_step",
                    noise: sigma,
                    inputs,
                    targets: clean.targets.clone(),
                    scales: fixed_scales.clone(),
                });
            }
            let mut stream = TestStream::new(spec.test_seed, 20 + k);
            let range = spec.training_steps;
            let steps: Vec<f64> = (0..count)
                .map(|_| range.from * (range.to / range.from).powf(stream.uniform()))
                .collect();
            let mut values = Vec::with_capacity(count * n);
            let mut targets = Vec::with_capacity(count);
            for ((f, x0), h) in draws.iter().zip(&steps) {
                values.extend(spec.offsets.iter().map(|o| f.value(x0 + o * h)));
                targets.push(power(*h) * f.derivative(m, *x0));
            }
            let clean_inputs = Tensor::from_vec(values, (count, n), &DEVICE)
                .context("the training-range samples")?;
            cases.push(Case {
                family: name,
                steps: "training_range",
                noise: spec.noise,
                inputs: (clean_inputs + (&z * spec.noise).context("the scaled noise")?)
                    .context("the noisy training-range samples")?,
                targets: Tensor::from_vec(targets, count, &DEVICE).context("the targets")?,
                scales: Tensor::from_vec(steps.iter().map(|h| power(*h)).collect(), count, &DEVICE)
                    .context("the training-range scales")?,
            });
            families.push((name, draws));
        }
        let clean_training = derivative_samples(&families[0].1, &spec.offsets, m, h0)
            .context("the training family's test samples")?;
        let mut along_h: Vec<(f64, Dataset, f64)> = Vec::new();
        for &h in &spec.evaluation_steps {
            let data = derivative_samples(&families[0].1, &spec.offsets, m, h)
                .with_context(|| format!("the test samples at h = {h}"))?;
            // The RMS sample, for the rounding estimate of the order fit.
            let rms_sample = data
                .inputs
                .sqr()
                .and_then(|t| t.mean_all())
                .and_then(|t| t.to_scalar::<f64>())
                .context("the RMS test sample")?
                .sqrt();
            along_h.push((h, data, rms_sample));
        }

        let (mut curve, mut errors, mut steps, mut orders, mut stencil) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let mut measured: BTreeMap<&'static str, Vec<BTreeMap<String, f64>>> = BTreeMap::new();
        let mut tensors: Vec<(String, Tensor)> = Vec::new();
        let settings = spec.training.settings();

        let task = DerivativeTask {
            offsets: spec.offsets.clone(),
            step: spec.training_steps.from,
            order: spec.derivative,
            noise: spec.noise,
        };
        for &seed in &spec.seeds {
            let data = |count, stream| {
                weighted_data(&task, spec.training_steps, spec.max_frequency, seed, count, stream)
            };
            let (training, training_weights) = data(spec.sizes[0], 1)?;
            let (validation, validation_weights) = data(spec.sizes[1], 2)?;
            let mut methods: Vec<(&'static str, Method)> = Vec::new();
            for (name, candidates, stream) in [("adaptive", spec.candidates, 0), ("fixed", 1, 8)] {
                let model = self.model(candidates, seed, stream)?;
                let epochs: Vec<Epoch> = train_weighted(
                    &model,
                    (&training, Some(&training_weights)),
                    (&validation, Some(&validation_weights)),
                    &settings,
                    &mut generator(seed, 5),
                )
                .with_context(|| format!("training {name} (seed {seed})"))?;
                curve.extend(spec.training.method_curve(seed, name, &epochs));
                for (parameter, var) in model.parameters() {
                    tensors.push((
                        format!("seed{seed}/{name}/{parameter}"),
                        var.as_tensor().copy().context("a copy of the weights")?,
                    ));
                }
                methods.push((name, Method::Trained(model)));
            }
            for (name, weights) in &self.references {
                methods.push((*name, Method::Linear(weights.clone())));
            }

            for &(name, ref method) in &methods {
                let mut metrics = BTreeMap::new();
                for case in &cases {
                    let e = method
                        .rms(&case.inputs, &case.targets, &case.scales)
                        .with_context(|| format!("the error of {name} on {}", case.family))?;
                    errors.push(ErrorRow {
                        seed,
                        method: name,
                        family: case.family,
                        steps: case.steps,
                        evaluation_noise: case.noise,
                        rms_error: e,
                    });
                    let metric = match case.steps {
                        "training_range" => format!("rms_{}_training_range", case.family),
                        _ => format!("rms_{}_noise_{}", case.family, level(case.noise)),
                    };
                    metrics.insert(metric, e);
                }
                let applied = method
                    .stencils(&clean_training.inputs)
                    .with_context(|| format!("the stencils of {name}"))?;
                let (mean, std) = mean_and_std(&applied);
                for ((offset, weight), weight_std) in spec.offsets.iter().zip(mean).zip(std) {
                    stencil.push(StencilRow {
                        seed,
                        method: name,
                        offset: *offset,
                        weight,
                        weight_std,
                    });
                }
                let mut curve_h = Vec::new();
                for (h, data, rms_sample) in &along_h {
                    let scales = Tensor::full(power(*h), count, &DEVICE).context("the scales")?;
                    let e = method
                        .rms(&data.inputs, &data.targets, &scales)
                        .with_context(|| format!("the error of {name} at h = {h}"))?;
                    let applied = method
                        .stencils(&data.inputs)
                        .with_context(|| format!("the stencils of {name} at h = {h}"))?;
                    let rows = applied.len() as f64;
                    let leading = applied
                        .iter()
                        .map(|w| taylor_moments(&spec.offsets, w)[m + p])
                        .sum::<f64>()
                        / rows;
                    let size = applied
                        .iter()
                        .map(|w| w.iter().map(|x| x.abs()).sum::<f64>())
                        .sum::<f64>()
                        / rows;
                    steps.push(StepRow {
                        seed,
                        method: name,
                        h: *h,
                        rms_error: e,
                        leading_moment: leading,
                    });
                    curve_h.push((*h, e, UNIT_ROUNDOFF * size * rms_sample / power(*h)));
                }
                let fit = fit_order(&curve_h, &spec.fit);
                if let Some(f) = fit {
                    metrics.insert("observed_order".into(), f.0);
                }
                orders.push(OrderRow {
                    seed,
                    method: name,
                    observed_order: fit.map(|f| f.0),
                    fit_h_min: fit.map(|f| f.1),
                    fit_h_max: fit.map(|f| f.2),
                    fit_points: fit.map(|f| f.3),
                });
                measured.entry(name).or_default().push(metrics);
            }
        }

        let mut statistics = Vec::new();
        for (method, runs) in &measured {
            let metrics: std::collections::BTreeSet<&String> =
                runs.iter().flat_map(BTreeMap::keys).collect();
            for metric in metrics {
                let values: Vec<f64> = runs.iter().filter_map(|r| r.get(metric).copied()).collect();
                statistics.push(StatisticsRow::over_seeds(method, metric, &values));
            }
        }
        let mut paired = Vec::new();
        for method in ["adaptive", "fixed"] {
            let runs = &measured[method];
            for (reference, others) in measured.iter().filter(|(k, _)| **k != method) {
                for metric in runs[0].keys().filter(|k| k.starts_with("rms_")) {
                    let logs: Vec<f64> = runs
                        .iter()
                        .zip(others)
                        .map(|(a, b)| (a[metric] / b[metric]).ln())
                        .collect();
                    let (mean, low, high) = mean_interval(&logs);
                    paired.push(PairedRow {
                        method,
                        reference,
                        metric,
                        ratio_geometric_mean: mean.exp(),
                        ratio_low: low.exp(),
                        ratio_high: high.exp(),
                        method_better: logs.iter().filter(|l| **l < 0.0).count(),
                        seeds: logs.len(),
                    });
                }
            }
        }

        let mut metadata = HashMap::new();
        metadata.insert("model_card".to_owned(), self.model_card());
        tensors.sort_by(|a, b| a.0.cmp(&b.0));
        let weights = tensors_safetensors(&tensors, Some(metadata)).context("the weights file")?;
        let table = |stem, table| NamedTable { stem, table };
        Ok(Output {
            tables: vec![
                table("curve", Table::from_rows(&curve)),
                table("errors", Table::from_rows(&errors)),
                table("steps", Table::from_rows(&steps)),
                table("orders", Table::from_rows(&orders)),
                table("stencil", Table::from_rows(&stencil)),
                table("statistics", Table::from_rows(&statistics)),
                table("paired", Table::from_rows(&paired)),
            ],
            weights: Some(weights),
        })
    }

    /// The model card stored in the weights file's metadata (key `model_card`, JSON).
    fn model_card(&self) -> String {
        let spec = &self.spec;
        serde_json::json!({
            "format": "attnum learned-order models (ConsistentAttention)",
            "derivative": spec.derivative,
            "order": spec.order,
            "offsets": spec.offsets,
            "epsilon": spec.epsilon,
            "tensor_names": "seed<k>/METHOD/PARAMETER, METHOD = adaptive (K candidates) or fixed (1 candidate)",
            "tensors": {"keys": ["K", "n - 1"], "values": ["K", "n - m - p"]},
            "forward": "F_j the interpolating (Fornberg) stencil of derivative j on the offsets; d_j = F_j . f; rho_j = ln(eps + d_j^2) - ln(eps + d_m^2) for j = 1..n-1, j != m, in increasing j; q = (1, rho); omega = softmax_k(q . keys[k]); theta = omega values; w = F_m + sum_j theta_j F_{m+p+j}; out = w . f approximates h^m f^(m)(x0) (no output scale)",
            "training_family": {
                "distribution": "f(x) = sum_{k=1}^{K} (a_k cos kx + b_k sin kx)/k, a_k, b_k iid N(0, 1); x0 uniform in [-pi, pi); samples f(x0 + o_i h) plus iid N(0, noise^2); h = from (to/from)^u per example; loss mean_k (out_k - h_k^m f_k^(m)(x0))^2 / h_k^(2m)",
                "max_frequency": spec.max_frequency,
                "noise": spec.noise,
                "steps": {"from": spec.training_steps.from, "to": spec.training_steps.to},
            },
            "sizes": {"train": spec.sizes[0], "validation": spec.sizes[1], "test_per_family": spec.sizes[2]},
            "training": {
                "optimiser": "AdamW (beta 0.9, 0.999, eps 1e-8), full batch, cosine learning rate from lr to lr/100, early stopping on the validation loss with the best parameters restored",
                "epochs": spec.training.epochs,
                "learning_rate": spec.training.learning_rate,
                "weight_decay": spec.training.weight_decay,
                "patience": spec.training.patience,
            },
            "seeds": spec.seeds,
            "streams": "ChaCha8 (rand_chacha) seeded by seed, stream: 0 adaptive init (keys then values, N(0, init_scale^2)), 8 fixed init, 1/2 training/validation functions, 6/7 their steps",
            "init_scale": spec.init_scale,
            "test_set": {
                "seed": spec.test_seed,
                "generator": "TestStream(seed, k): SplitMix64 with state seed * 2^32 + k; u = (x >> 11) 2^-53; normal = sqrt(-2 ln(1 - u1)) cos(2 pi u2)",
                "families": "k = 0: trigonometric K, 1: trigonometric 2K; per function a_1, b_1, a_2, b_2, ..., then x0 = -pi + 2 pi u",
                "noise": "stream 10 + k: one normal per sample of family k's test set, row by row",
                "training_range": "the same functions at h = from (to/from)^u, u uniform from stream 20 + k, one per function, plus training noise times the same normals",
                "evaluation_step": spec.evaluation_step,
            },
        })
        .to_string()
    }
}
