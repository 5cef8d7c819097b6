//! Experiment `learned_derivative`: attention meta-trained to output `h^m f^{(m)}(x₀)` (`m` = 1
//! or 2) from samples `f(x₀ + o_i h)` of random trigonometric polynomials, against baselines
//! trained on the same data with the same budget and against the classical stencils.
//!
//! **Models.** Every learned model contains the classical stencil in its class (the weight
//! settings are `TokenHeads::representing`, `TokenTransformer::representing`,
//! `SampleMlp::representing` and the Taylor-key query of linear attention; the tests in
//! `attnum-attention/tests/representable.rs` reproduce the central difference to 1e-12): offsets in
//! units of `h`, the output read as `h^m f^{(m)}`, and a value path linear in the samples. The
//! point's model is `token_heads` (several heads over Taylor position features) or a
//! `transformer` (Taylor position features, values from the un-normalised residual stream). With
//! `baselines`, the same seeds also train linear attention over Taylor keys and a ReLU network on
//! the samples (same data, settings and epochs), and fit the least-squares linear stencil on the
//! same training set with the same loss (linear attention's keys are the moment keys of
//! `LinearAttention::scaled_moment_keys`, scaled once before training so that every moment
//! feature has the size of the target in the loss's metric: a diagonal preconditioner of its
//! convex loss, without which AdamW does not reach the least-squares optimum in the budget); the
//! central difference and the degree-2 Savitzky–Golay filter on the same offsets are evaluated
//! beside them. Every trained output is multiplied by the fixed scale `c`, the RMS of the
//! training targets. The `summary` records each method's distance to the least-squares stencil,
//! which a converged linear attention reaches.
//!
//! **Training.** Each training example has its own step: `h` log-uniform in
//! `[training_steps.from, training_steps.to]` (scale-aware training) or fixed where the two are
//! equal (the control). The loss is the mean squared error of the derivative itself,
//! `mean_k (out_k − h_k^m f_k^{(m)})² / h_k^{2m}`. Data, steps, initialisations and dropout come
//! from independent ChaCha streams of the seed: `(seed, 0)` the model's initialisation, `1`/`2` the
//! training/validation functions, `6`/`7` their steps, `5` dropout, `8`/`9` the initialisations of
//! linear attention and the MLP. Every trained model of a point has the same optimiser settings
//! and epochs; without `training.patience` every epoch runs and the last parameters are kept (the
//! validation loss is recorded, not used to pick an iterate), so the models are what the budget
//! makes of the training loss itself, the loss the least-squares stencil minimises.
//!
//! **Evaluation.** One test set per point, shared by every seed and method: `sizes[2]` functions of
//! each family — the training family, trigonometric of twice the frequency, cubic polynomials, sums
//! of three Gaussian bumps — with their points `x₀`, from the documented SplitMix64 stream
//! `TestStream(test_seed, k)` (family `k` = 0…3), and one standard normal noise vector per test
//! sample from `TestStream(test_seed, 10)`; a noise level `σ` adds `σ z` to the same clean samples.
//! So every method, seed, step and noise level is compared on the same functions and draws.
//!
//! Tables: `curve` (loss curves), `errors` (RMS error of `f^{(m)}(x₀)` per family at
//! `evaluation_step`), `steps` (RMS error against `h` on the training family's test functions),
//! `noise` (RMS error against the noise level at `evaluation_step`), `stencil` (the effective
//! stencil: the Jacobian with respect to the samples averaged over the training family's test
//! functions at `evaluation_step`, and its per-offset standard deviation over them), `summary`
//! (per method and seed: parameters, `c`, moments, classification, the observed order with its
//! fit window), `statistics` (mean and 95% t-interval over seeds of each metric) and `paired`
//! (the model's error over each other method's, per seed on the same test set: geometric mean and
//! 95% interval) and `kriging` (per seed and method, the relative distance of its stencil to the
//! kriging stencil — the population minimiser of the training loss over linear stencils,
//! `attnum_classical::kriging`, also evaluated as the method `kriging`). The weights file holds every trained model of the point and a model card
//! (`docs/models.md`).

use std::collections::{BTreeMap, HashMap};

use attnum_attention::baseline::SampleMlp;
use attnum_attention::classify::{classify_stencil, relative_distance};
use attnum_attention::extract::jacobian_rows;
use attnum_attention::learn::{
    Dataset, DerivativeTask, Epoch, Family, Function, ScaledOutput, TestStream, derivative_samples,
    generator, normal, target_scale, tensors_safetensors, train_weighted,
};
use attnum_attention::linear::LinearAttention;
use attnum_attention::token::TokenHeads;
use attnum_attention::transformer::{
    TokenPositions, TokenTransformer, TransformerOptions, TransformerShape, ValueStream,
};
use attnum_attention::{AttentionMethod, DEVICE};
use attnum_classical::analysis::{self, UNIT_ROUNDOFF};
use attnum_classical::fd::Stencil;
use attnum_classical::kriging::{
    KrigingError, StepDistribution, TrigonometricFamily, kriging_stencil, least_squares,
};
use attnum_classical::savitzky_golay::savitzky_golay;
use attnum_results::Table;
use candle_core::Tensor;
use serde::{Deserialize, Serialize};

use super::{Context, ExperimentError, FieldError, NamedTable, Output};
use crate::checks::{self, Interval};
use crate::evaluation::{FitRule, StepRange, fit_order, weighted_data};
use crate::statistics::{StatisticsRow, mean_interval};
use crate::training::Training;

/// Parameters of the `learned_derivative` experiment.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LearnedDerivative {
    /// The model trained (`model: { token_heads: {...} }` or `model: { transformer: {...} }`).
    #[serde(with = "serde_yaml::with::singleton_map")]
    pub model: Model,
    /// The derivative asked for: 1 or 2.
    pub derivative: usize,
    /// Sample offsets in units of `h` (distinct; the query sits at offset 0).
    pub offsets: Vec<f64>,
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
    /// Optimiser settings, shared by the model and the trained baselines.
    pub training: Training,
    /// The baselines trained and fitted beside the model (none when absent).
    #[serde(default)]
    pub baselines: Option<Baselines>,
    /// The step of the `errors`, `noise` and `stencil` tables.
    pub evaluation_step: f64,
    /// Steps at which every method is evaluated (the `steps` table).
    pub evaluation_steps: Vec<f64>,
    /// Noise levels at which every method is evaluated (the `noise` table).
    #[serde(default)]
    pub evaluation_noise: Vec<f64>,
    /// How the observed order is fitted to the error against `h`.
    pub fit: FitRule,
    /// Training seeds (each trains every model once).
    pub seeds: Vec<u64>,
    /// Seed of the test set (shared by all seeds and methods).
    pub test_seed: u64,
}

/// The trained baselines.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Baselines {
    /// Hidden units of the ReLU network (2 to 256).
    pub mlp_width: usize,
    /// Standard deviation of the initial query of linear attention.
    pub init_scale: f64,
}

/// The model: heads over tokens, or a transformer.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Model {
    /// Softmax heads over the tokens `(φ(o_i), f_i)` ([`TokenHeads`]).
    TokenHeads {
        /// Heads (2 to 16).
        heads: usize,
        /// Width `d` of each head's query and key (1 to 16).
        width: usize,
        /// Standard deviation of the initial weights.
        init_scale: f64,
    },
    /// Blocks of multi-head attention and feed-forward layers over Taylor position features,
    /// values from the raw stream ([`TokenTransformer`]).
    Transformer {
        /// Model width (at least `n + 3`, at most 64, a multiple of `heads`).
        width: usize,
        /// Heads per block (2 to 16).
        heads: usize,
        /// Blocks (1 to 8).
        blocks: usize,
        /// Dropout probability in training, in `[0, 0.5]`.
        dropout: f64,
    },
}

impl Model {
    fn validate(&self, n: usize) -> Result<(), FieldError> {
        let range = |field: &str, v: usize, r: std::ops::RangeInclusive<usize>| {
            if r.contains(&v) {
                Ok(())
            } else {
                Err(FieldError::new(
                    format!("model.{field}"),
                    format!("must be in {r:?}, got {v}"),
                ))
            }
        };
        match *self {
            Self::TokenHeads {
                heads,
                width,
                init_scale,
            } => {
                range("token_heads.heads", heads, 2..=16)?;
                range("token_heads.width", width, 1..=16)?;
                checks::in_interval(
                    "model.token_heads.init_scale",
                    init_scale,
                    Interval::open_closed(0.0, 10.0),
                )?;
            }
            Self::Transformer {
                width,
                heads,
                blocks,
                dropout,
            } => {
                range("transformer.heads", heads, 2..=16)?;
                range("transformer.width", width, n + 3..=64)?;
                range("transformer.blocks", blocks, 1..=8)?;
                if !width.is_multiple_of(heads) {
                    return Err(FieldError::new(
                        "model.transformer.width",
                        format!("must be a multiple of the heads ({heads}), got {width}"),
                    ));
                }
                checks::in_interval(
                    "model.transformer.dropout",
                    dropout,
                    Interval::closed(0.0, 0.5),
                )?;
            }
        }
        Ok(())
    }

    /// The model with its initial weights drawn from `seed`'s initialisation stream.
    fn build(&self, offsets: &[f64], seed: u64) -> Result<Box<dyn AttentionMethod>, ExperimentError> {
        let mut init = generator(seed, 0);
        let n = offsets.len();
        match *self {
            Self::TokenHeads {
                heads,
                width,
                init_scale,
            } => {
                let qk = (n + 1) * heads * width;
                let w_query = normal(&mut init, qk, init_scale);
                let w_key = normal(&mut init, qk, init_scale);
                let w_value = normal(&mut init, (n + 1) * heads, init_scale);
                Ok(Box::new(
                    TokenHeads::new(offsets, heads, width, &w_query, &w_key, &w_value)
                        .context("the token heads")?,
                ))
            }
            Self::Transformer {
                width,
                heads,
                blocks,
                dropout,
            } => Ok(Box::new(
                TokenTransformer::with_options(
                    offsets,
                    TransformerShape {
                        width,
                        heads,
                        blocks,
                        dropout,
                    },
                    TransformerOptions {
                        positions: TokenPositions::Taylor,
                        values: ValueStream::Raw,
                    },
                    &mut init,
                )
                .context("the transformer")?,
            )),
        }
    }
}

/// A checked `learned_derivative` experiment: the classical stencils on its offsets built.
#[derive(Debug, Clone)]
pub struct CheckedLearnedDerivative {
    spec: LearnedDerivative,
    /// The interpolating stencil on the offsets.
    central: Stencil,
    /// The degree-2 Savitzky–Golay filter on the offsets.
    smoothing: Stencil,
    /// The interpolating stencils of derivatives `0 … n−1` (the least-squares basis).
    basis: Vec<Stencil>,
    /// The population minimiser of the training loss over linear stencils (`learned_theory`).
    kriging: Vec<f64>,
}

impl LearnedDerivative {
    /// Check every parameter and build the classical stencils; errors carry the field path below
    /// `experiment.learned_derivative`.
    ///
    /// # Errors
    /// The first refused parameter.
    pub fn check(&self) -> Result<CheckedLearnedDerivative, FieldError> {
        if !(1..=2).contains(&self.derivative) {
            return Err(FieldError::new(
                "derivative",
                format!("must be 1 or 2, got {}", self.derivative),
            ));
        }
        if !(3..=9).contains(&self.offsets.len()) {
            return Err(FieldError::new(
                "offsets",
                "needs 3 to 9 offsets (the degree-2 Savitzky–Golay reference)",
            ));
        }
        self.model.validate(self.offsets.len())?;
        let central = Stencil::on_offsets(self.derivative, &self.offsets)
            .map_err(|e| FieldError::new("offsets", e.to_string()))?;
        if !self.offsets.contains(&0.0) {
            return Err(FieldError::new("offsets", "must contain the offset 0"));
        }
        let smoothing = savitzky_golay(self.derivative, 2, &self.offsets)
            .map_err(|e| FieldError::new("offsets", e.to_string()))?;
        let basis = (0..self.offsets.len())
            .map(|j| Stencil::on_offsets(j, &self.offsets))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| FieldError::new("offsets", e.to_string()))?;
        self.training_steps.validate()?;
        let step = |field: &str, v: f64| checks::in_interval(field, v, Interval::open_closed(0.0, 1.0));
        step("evaluation_step", self.evaluation_step)?;
        let noise = |field: &str, v: f64| checks::in_interval(field, v, Interval::closed(0.0, 1.0));
        noise("noise", self.noise)?;
        checks::each("evaluation_noise", &self.evaluation_noise, |&v| noise("", v))?;
        self.training.validate()?;
        if !(1..=5).contains(&self.max_frequency) {
            return Err(FieldError::new(
                "max_frequency",
                format!("must be in 1..=5, got {}", self.max_frequency),
            ));
        }
        for (i, &n) in self.sizes.iter().enumerate() {
            if !(8..=100_000).contains(&n) {
                return Err(FieldError::new(
                    format!("sizes[{i}]"),
                    format!("must be 8 to 100000, got {n}"),
                ));
            }
        }
        if let Some(b) = self.baselines {
            if !(2..=256).contains(&b.mlp_width) {
                return Err(FieldError::new(
                    "baselines.mlp_width",
                    format!("must be in 2..=256, got {}", b.mlp_width),
                ));
            }
            checks::in_interval(
                "baselines.init_scale",
                b.init_scale,
                Interval::open_closed(0.0, 10.0),
            )?;
        }
        if self.evaluation_steps.len() < 2 {
            return Err(FieldError::new("evaluation_steps", "needs at least two steps"));
        }
        checks::each("evaluation_steps", &self.evaluation_steps, |&h| step("", h))?;
        self.fit.validate()?;
        if !(2..=20).contains(&self.seeds.len()) {
            return Err(FieldError::new("seeds", "needs 2 to 20 seeds (for an interval)"));
        }
        let kriging = kriging_stencil(
            TrigonometricFamily::new(self.max_frequency)
                .map_err(|e| FieldError::new("max_frequency", e.to_string()))?,
            &self.offsets,
            self.derivative,
            StepDistribution::LogUniform {
                from: self.training_steps.from,
                to: self.training_steps.to,
                nodes: 64,
            },
            self.noise,
        )
        .map_err(|e| FieldError::new("training_steps", e.to_string()))?
        .weights;
        Ok(CheckedLearnedDerivative {
            spec: self.clone(),
            central,
            smoothing,
            basis,
            kriging,
        })
    }
}

/// The test families: the training family, twice its frequency, cubic polynomials, bumps.
fn test_families(max_frequency: usize) -> [(&'static str, Family); 4] {
    [
        ("trigonometric", Family::Trigonometric { max_frequency }),
        (
            "trigonometric_2k",
            Family::Trigonometric {
                max_frequency: 2 * max_frequency,
            },
        ),
        ("cubic", Family::Polynomial { degree: 3 }),
        ("bumps", Family::Bumps { count: 3 }),
    ]
}

/// The test set of a point: clean functions per family and one noise vector.
struct TestSet {
    /// Per family: its name and its functions with their points.
    families: Vec<(&'static str, Vec<(Function, f64)>)>,
    /// Standard normal noise, one per sample of the training family's test set `(count, n)`.
    noise: Tensor,
}

/// A method evaluated: a trained module, or linear weights (in units of `h`).
enum Method {
    Trained(Box<dyn AttentionMethod>),
    Linear(Vec<f64>),
}

impl Method {
    /// Outputs on a dataset's inputs.
    fn outputs(&self, inputs: &Tensor) -> candle_core::Result<Tensor> {
        match self {
            Self::Trained(m) => m.forward(inputs),
            Self::Linear(w) => inputs
                .matmul(&Tensor::from_slice(w, (w.len(), 1), &DEVICE)?)?
                .squeeze(1),
        }
    }

    /// RMS error of the derivative `f^{(m)}` on `inputs` against `targets` (both in units of
    /// `h^m`).
    fn rms(&self, inputs: &Tensor, targets: &Tensor, scale: f64) -> candle_core::Result<f64> {
        let mse = (self.outputs(inputs)? - targets)?
            .sqr()?
            .mean_all()?
            .to_scalar::<f64>()?;
        Ok(mse.sqrt() / scale)
    }

    /// Mean Jacobian over the rows of `inputs` and its per-offset standard deviation.
    fn stencil(&self, inputs: &Tensor) -> attnum_attention::Result<(Vec<f64>, Vec<f64>)> {
        match self {
            Self::Linear(w) => Ok((w.clone(), vec![0.0; w.len()])),
            Self::Trained(m) => {
                let rows = jacobian_rows(m.as_ref(), inputs)?;
                let n = rows[0].len();
                let count = rows.len() as f64;
                let mean: Vec<f64> = (0..n)
                    .map(|i| rows.iter().map(|j| j[i]).sum::<f64>() / count)
                    .collect();
                let std = (0..n)
                    .map(|i| {
                        (rows.iter().map(|j| (j[i] - mean[i]).powi(2)).sum::<f64>() / count).sqrt()
                    })
                    .collect();
                Ok((mean, std))
            }
        }
    }
}


/// A method of one seed: its name, the method, and for a trained one its parameter count and
/// loss curve.
type Evaluated<'a> = (&'a str, Method, Option<(usize, Vec<Epoch>)>);

/// A training set in the metric of the loss: per example `√w_k (F_j · f_k)` for each
/// interpolating stencil `F_j`, and `√w_k t_k`.
struct MomentFeatures {
    rows: Vec<Vec<f64>>,
    targets: Vec<f64>,
}

impl MomentFeatures {
    /// The scales of linear attention's moment keys for output scale `c`:
    /// `s_j = RMS(√w t) / (c RMS(√w F_j · f))`, so that every scaled feature `c s_j F_j · f` has
    /// the size of the target in the loss's metric (1 for a feature that vanishes on the data).
    fn key_scales(&self, c: f64) -> Vec<f64> {
        let rms = |values: &mut dyn Iterator<Item = f64>| {
            let (sum, count) = values.fold((0.0, 0usize), |(s, k), v| (s + v * v, k + 1));
            (sum / count.max(1) as f64).sqrt()
        };
        let target = rms(&mut self.targets.iter().copied());
        (0..self.rows.first().map_or(0, Vec::len))
            .map(|j| {
                let feature = rms(&mut self.rows.iter().map(|r| r[j]));
                if feature > 0.0 && c > 0.0 {
                    target / (c * feature)
                } else {
                    1.0
                }
            })
            .collect()
    }
}

/// A row of `errors`: one method's RMS derivative error on one family at `evaluation_step`.
#[derive(Serialize)]
struct ErrorRow<'a> {
    seed: u64,
    method: &'a str,
    family: &'a str,
    rms_error: f64,
}

/// A row of `steps`: one method's RMS derivative error at one step on the training family.
#[derive(Serialize)]
struct StepRow<'a> {
    seed: u64,
    method: &'a str,
    h: f64,
    rms_error: f64,
}

/// A row of `noise`: one method's RMS derivative error at one noise level at `evaluation_step`.
#[derive(Serialize)]
struct NoiseRow<'a> {
    seed: u64,
    method: &'a str,
    evaluation_noise: f64,
    rms_error: f64,
}

/// A row of `stencil`: one weight of one method's effective stencil, averaged over the training
/// family's test functions, and its standard deviation over them.
#[derive(Serialize)]
struct StencilRow<'a> {
    seed: u64,
    method: &'a str,
    offset: f64,
    weight: f64,
    jacobian_std: f64,
}

/// A row of `kriging`: the relative distance of one method's stencil to the kriging stencil.
#[derive(Serialize)]
struct KrigingRow<'a> {
    seed: u64,
    method: &'a str,
    kriging_distance: f64,
}

/// A row of `summary`: one method of one seed (the training columns null for the untrained
/// methods, the fit columns null where fewer than `fit.min_points` steps lie above rounding).
#[derive(Serialize)]
struct SummaryRow<'a> {
    seed: u64,
    method: &'a str,
    step_distribution: &'a str,
    parameters: Option<usize>,
    output_scale: Option<f64>,
    train_epochs: Option<usize>,
    best_validation_mse: Option<f64>,
    moment_0: f64,
    moment_1: f64,
    moment_2: f64,
    moment_3: f64,
    moment_4: f64,
    classified_derivative: Option<usize>,
    order: Option<usize>,
    nearest: Option<String>,
    nearest_distance: Option<f64>,
    central_distance: f64,
    savitzky_golay_distance: f64,
    least_squares_distance: f64,
    jacobian_std_max: f64,
    observed_order: Option<f64>,
    fit_h_min: Option<f64>,
    fit_h_max: Option<f64>,
    fit_points: Option<usize>,
}

/// A row of `paired`: the model's error over another method's, per seed on the same test set.
#[derive(Serialize)]
struct PairedRow<'a> {
    method: &'a str,
    metric: &'a str,
    ratio_geometric_mean: f64,
    ratio_low: f64,
    ratio_high: f64,
    model_better: usize,
}

/// What one method measured for one seed.
#[derive(Default)]
struct Measured {
    /// Scalar metrics by name (`rms_FAMILY`, `rms_noise_LEVEL`, moments, the order …).
    metrics: BTreeMap<String, f64>,
}

impl CheckedLearnedDerivative {
    /// The point's test set.
    fn test_set(&self) -> Result<TestSet, ExperimentError> {
        let spec = &self.spec;
        let count = spec.sizes[2];
        let families = test_families(spec.max_frequency)
            .into_iter()
            .zip(0u64..)
            .map(|((name, family), k)| {
                let mut stream = TestStream::new(spec.test_seed, k);
                (name, (0..count).map(|_| stream.draw(family)).collect())
            })
            .collect();
        let mut stream = TestStream::new(spec.test_seed, 10);
        let n = spec.offsets.len();
        let z: Vec<f64> = (0..count * n).map(|_| stream.normal()).collect();
        Ok(TestSet {
            families,
            noise: Tensor::from_vec(z, (count, n), &DEVICE).context("the test noise")?,
        })
    }

    /// A dataset in the metric of the loss, in the basis of the interpolating stencils `F_j`:
    /// per example the features `√w_k (F_j · f_k)` (`F_j · f ≈ h^j f^{(j)}`, far better
    /// conditioned than the samples) and the target `√w_k t_k`.
    fn moment_features(
        &self,
        data: &Dataset,
        weights: &Tensor,
    ) -> Result<MomentFeatures, ExperimentError> {
        let what = "the moment features of the training data";
        let inputs: Vec<Vec<f64>> = data.inputs.to_vec2().context(what)?;
        let targets: Vec<f64> = data.targets.to_vec1().context(what)?;
        let weights: Vec<f64> = weights.to_vec1().context(what)?;
        let mut features = MomentFeatures {
            rows: Vec::with_capacity(inputs.len()),
            targets: Vec::with_capacity(inputs.len()),
        };
        for ((f, t), w) in inputs.iter().zip(&targets).zip(&weights) {
            let s = w.sqrt();
            features.rows.push(
                self.basis
                    .iter()
                    .map(|b| s * b.weights().iter().zip(f).map(|(a, x)| a * x).sum::<f64>())
                    .collect(),
            );
            features.targets.push(s * t);
        }
        Ok(features)
    }

    /// The least-squares linear stencil on the training data, with the training loss: solved for
    /// its moments `μ` on the moment features, `w = Σ μ_j F_j`.
    fn least_squares_stencil(&self, features: MomentFeatures) -> Result<Vec<f64>, KrigingError> {
        let (mu, _) =
            least_squares(features.rows, features.targets).ok_or(KrigingError::RankDeficient)?;
        Ok((0..self.spec.offsets.len())
            .map(|i| {
                self.basis
                    .iter()
                    .zip(&mu)
                    .map(|(b, m)| m * b.weights()[i])
                    .sum()
            })
            .collect())
    }

    /// Run the experiment: the tables of the module documentation and the weights file.
    ///
    /// # Errors
    /// A tensor or attention error, or a training whose loss became non-finite, with what was
    /// being computed.
    #[allow(clippy::too_many_lines)]
    pub fn run(&self) -> Result<Output, ExperimentError> {
        let spec = &self.spec;
        let n = spec.offsets.len();
        let m = spec.derivative;
        let power = |h: f64| h.powi(m as i32);
        let h0 = spec.evaluation_step;
        let test = self.test_set()?;
        let trig = &test.families[0].1;
        let sample = |draws: &[(Function, f64)], family: &str, h: f64| {
            derivative_samples(draws, &spec.offsets, m, h)
                .with_context(|| format!("the {family} test samples at h = {h}"))
        };
        let at_step: Vec<(&str, Dataset)> = test
            .families
            .iter()
            .map(|(name, draws)| Ok((*name, sample(draws, name, h0)?)))
            .collect::<Result<_, ExperimentError>>()?;
        let clean = &at_step[0].1;
        let along_h: Vec<(f64, Dataset)> = spec
            .evaluation_steps
            .iter()
            .map(|&h| Ok((h, sample(trig, test.families[0].0, h)?)))
            .collect::<Result<_, ExperimentError>>()?;
        let noisy: Vec<(f64, Tensor)> = spec
            .evaluation_noise
            .iter()
            .map(|&level| {
                let noisy = (&test.noise * level).and_then(|z| &clean.inputs + z);
                Ok((level, noisy.with_context(|| format!("the samples at noise {level}"))?))
            })
            .collect::<Result<_, ExperimentError>>()?;
        // The RMS sample of the training family's test set at each step (the rounding estimate).
        let rms_sample: Vec<f64> = along_h
            .iter()
            .map(|(h, d)| {
                let mean_square = d
                    .inputs
                    .sqr()
                    .and_then(|t| t.mean_all())
                    .and_then(|t| t.to_scalar::<f64>());
                Ok(mean_square
                    .with_context(|| format!("the RMS test sample at h = {h}"))?
                    .sqrt())
            })
            .collect::<Result<_, ExperimentError>>()?;

        let mut curve = Vec::new();
        let mut errors = Vec::new();
        let mut steps = Vec::new();
        let mut noise = Vec::new();
        let mut stencil = Vec::new();
        let mut kriging = Vec::new();
        let mut summary = Vec::new();
        let distribution = if spec.training_steps.from == spec.training_steps.to {
            "fixed"
        } else {
            "log_uniform"
        };
        let mut measured: BTreeMap<String, Vec<Measured>> = BTreeMap::new();
        let mut tensors: Vec<(String, Tensor)> = Vec::new();
        let mut scales: BTreeMap<String, f64> = BTreeMap::new();

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
            let c = target_scale(&training)
                .with_context(|| format!("the output scale of seed {seed}"))?;
            scales.insert(format!("seed{seed}"), c);
            let settings = spec.training.settings();
            let mut methods: Vec<Evaluated<'_>> = Vec::new();
            let mut trained = |name: &'static str, inner: Box<dyn AttentionMethod>| {
                let model = ScaledOutput { inner, scale: c };
                let what = || format!("training {name} (seed {seed})");
                let curve_points = train_weighted(
                    &model,
                    (&training, Some(&training_weights)),
                    (&validation, Some(&validation_weights)),
                    &settings,
                    &mut generator(seed, 5),
                )
                .with_context(what)?;
                let parameters: usize = model
                    .parameters()
                    .iter()
                    .map(|(_, v)| v.as_tensor().elem_count())
                    .sum();
                for (param, var) in model.parameters() {
                    tensors.push((
                        format!("seed{seed}/{name}/{param}"),
                        var.as_tensor().copy().with_context(what)?,
                    ));
                }
                Ok::<_, ExperimentError>((
                    name,
                    Method::Trained(Box::new(model)),
                    Some((parameters, curve_points)),
                ))
            };
            methods.push(trained("model", spec.model.build(&spec.offsets, seed)?)?);
            let features = self.moment_features(&training, &training_weights)?;
            let key_scales = features.key_scales(c);
            let ls = self
                .least_squares_stencil(features)
                .with_context(|| format!("the least-squares stencil of seed {seed}"))?;
            if let Some(b) = spec.baselines {
                let query = normal(&mut generator(seed, 8), n, b.init_scale);
                let linear = LinearAttention::scaled_moment_keys(&spec.offsets, &key_scales, &query)
                    .context("linear attention with scaled moment keys")?;
                methods.push(trained("linear_attention", Box::new(linear))?);
                let mlp = SampleMlp::new(n, b.mlp_width, &mut generator(seed, 9))
                    .context("the ReLU network")?;
                methods.push(trained("mlp", Box::new(mlp))?);
                tensors.push((
                    format!("seed{seed}/linear_attention/key_scales"),
                    Tensor::from_slice(&key_scales, n, &DEVICE).context("the key scales")?,
                ));
                tensors.push((
                    format!("seed{seed}/least_squares/weights"),
                    Tensor::from_slice(&ls, n, &DEVICE).context("the least-squares stencil")?,
                ));
                methods.push(("least_squares", Method::Linear(ls.clone()), None));
            }
            methods.push((
                "central",
                Method::Linear(self.central.weights().to_vec()),
                None,
            ));
            methods.push((
                "savitzky_golay",
                Method::Linear(self.smoothing.weights().to_vec()),
                None,
            ));
            methods.push(("kriging", Method::Linear(self.kriging.clone()), None));

            for (name, method, training_record) in &methods {
                let name = *name;
                let mut metrics = Measured::default();
                if let Some((_, points)) = training_record {
                    curve.extend(spec.training.method_curve(seed, name, points));
                }
                let what = |of: &str| format!("the {of} of {name} (seed {seed})");
                for (family, data) in &at_step {
                    let e = method
                        .rms(&data.inputs, &data.targets, power(h0))
                        .with_context(|| what(&format!("{family} error")))?;
                    errors.push(ErrorRow {
                        seed,
                        method: name,
                        family,
                        rms_error: e,
                    });
                    metrics.metrics.insert(format!("rms_{family}"), e);
                }
                let (weights, std) = method
                    .stencil(&clean.inputs)
                    .with_context(|| what("effective stencil"))?;
                for i in 0..n {
                    stencil.push(StencilRow {
                        seed,
                        method: name,
                        offset: spec.offsets[i],
                        weight: weights[i],
                        jacobian_std: std[i],
                    });
                }
                let mut curve_h = Vec::new();
                for ((h, data), f) in along_h.iter().zip(&rms_sample) {
                    let e = method
                        .rms(&data.inputs, &data.targets, power(*h))
                        .with_context(|| what(&format!("error at h = {h}")))?;
                    steps.push(StepRow {
                        seed,
                        method: name,
                        h: *h,
                        rms_error: e,
                    });
                    let rounding =
                        UNIT_ROUNDOFF * weights.iter().map(|w| w.abs()).sum::<f64>() * f / power(*h);
                    curve_h.push((*h, e, rounding));
                }
                for (level, inputs) in &noisy {
                    let e = method
                        .rms(inputs, &clean.targets, power(h0))
                        .with_context(|| what(&format!("error at noise {level}")))?;
                    noise.push(NoiseRow {
                        seed,
                        method: name,
                        evaluation_noise: *level,
                        rms_error: e,
                    });
                    metrics.metrics.insert(format!("rms_noise_{level:e}"), e);
                }
                let fit = fit_order(&curve_h, &spec.fit);
                let moments = analysis::moments(
                    &Stencil::from_weights(m, &spec.offsets, &weights)
                        .with_context(|| what("moments"))?,
                    5,
                );
                let class = classify_stencil(&spec.offsets, &weights)
                    .with_context(|| what("classification"))?;
                let std_max = std.iter().copied().fold(0.0f64, f64::max);
                let central_distance = relative_distance(&weights, self.central.weights());
                let sg_distance = relative_distance(&weights, self.smoothing.weights());
                let kriging_distance = relative_distance(&weights, &self.kriging);
                kriging.push(KrigingRow {
                    seed,
                    method: name,
                    kriging_distance,
                });
                metrics.metrics.insert("kriging_distance".into(), kriging_distance);
                let ls_distance = relative_distance(&weights, &ls);
                for (k, moment) in moments.iter().enumerate() {
                    metrics.metrics.insert(format!("moment_{k}"), *moment);
                }
                metrics.metrics.insert("jacobian_std_max".into(), std_max);
                metrics
                    .metrics
                    .insert("central_distance".into(), central_distance);
                metrics
                    .metrics
                    .insert("savitzky_golay_distance".into(), sg_distance);
                metrics
                    .metrics
                    .insert("least_squares_distance".into(), ls_distance);
                if let Some(f) = fit {
                    metrics.metrics.insert("observed_order".into(), f.0);
                }
                summary.push(SummaryRow {
                    seed,
                    method: name,
                    step_distribution: distribution,
                    parameters: training_record.as_ref().map(|(p, _)| *p),
                    output_scale: training_record.as_ref().map(|_| c),
                    train_epochs: training_record.as_ref().map(|(_, points)| points.len()),
                    best_validation_mse: training_record.as_ref().map(|(_, points)| {
                        points
                            .iter()
                            .map(|e| e.validation_loss)
                            .fold(f64::INFINITY, f64::min)
                    }),
                    moment_0: moments[0],
                    moment_1: moments[1],
                    moment_2: moments[2],
                    moment_3: moments[3],
                    moment_4: moments[4],
                    classified_derivative: class.deriv,
                    order: class.accuracy.map(|a| a.order),
                    nearest: class.nearest.as_ref().map(|c| c.name.clone()),
                    nearest_distance: class.nearest.as_ref().map(|c| c.distance),
                    central_distance,
                    savitzky_golay_distance: sg_distance,
                    least_squares_distance: ls_distance,
                    jacobian_std_max: std_max,
                    observed_order: fit.map(|f| f.0),
                    fit_h_min: fit.map(|f| f.1),
                    fit_h_max: fit.map(|f| f.2),
                    fit_points: fit.map(|f| f.3),
                });
                measured.entry(name.to_owned()).or_default().push(metrics);
            }
        }

        let mut statistics = Vec::new();
        for (method, runs) in &measured {
            let names: Vec<&String> = runs[0].metrics.keys().collect();
            for metric in names {
                let values: Vec<f64> = runs
                    .iter()
                    .filter_map(|r| r.metrics.get(metric).copied())
                    .collect();
                if values.is_empty() {
                    continue;
                }
                statistics.push(StatisticsRow::over_seeds(method, metric, &values));
            }
        }
        // The model's error over each other method's, per seed on the same test set.
        let mut paired = Vec::new();
        let model_runs = &measured["model"];
        for (method, runs) in measured.iter().filter(|(k, _)| k.as_str() != "model") {
            for metric in model_runs[0]
                .metrics
                .keys()
                .filter(|k| k.starts_with("rms_"))
            {
                let logs: Vec<f64> = model_runs
                    .iter()
                    .zip(runs)
                    .map(|(a, b)| (a.metrics[metric] / b.metrics[metric]).ln())
                    .collect();
                let better = logs.iter().filter(|l| **l < 0.0).count();
                let (mean, low, high) = mean_interval(&logs);
                paired.push(PairedRow {
                    method,
                    metric,
                    ratio_geometric_mean: mean.exp(),
                    ratio_low: low.exp(),
                    ratio_high: high.exp(),
                    model_better: better,
                });
            }
        }

        let card = self.model_card(&scales);
        let mut metadata = HashMap::new();
        metadata.insert("model_card".to_owned(), card);
        tensors.sort_by(|a, b| a.0.cmp(&b.0));
        let weights =
            tensors_safetensors(&tensors, Some(metadata)).context("the weights file")?;
        let mut tables = vec![
            NamedTable {
                stem: "curve",
                table: Table::from_rows_with_header(&curve),
            },
            NamedTable {
                stem: "summary",
                table: Table::from_rows(&summary),
            },
            NamedTable {
                stem: "errors",
                table: Table::from_rows(&errors),
            },
            NamedTable {
                stem: "stencil",
                table: Table::from_rows(&stencil),
            },
            NamedTable {
                stem: "steps",
                table: Table::from_rows(&steps),
            },
            NamedTable {
                stem: "statistics",
                table: Table::from_rows(&statistics),
            },
            NamedTable {
                stem: "paired",
                table: Table::from_rows(&paired),
            },
            NamedTable {
                stem: "kriging",
                table: Table::from_rows(&kriging),
            },
        ];
        if !spec.evaluation_noise.is_empty() {
            tables.push(NamedTable {
                stem: "noise",
                table: Table::from_rows(&noise),
            });
        }
        Ok(Output {
            tables,
            weights: Some(weights),
        })
    }

    /// The model card stored in the weights file's metadata (key `model_card`, JSON): everything
    /// a reader needs, with `docs/models.md`, to rebuild each model and its test set.
    fn model_card(&self, scales: &BTreeMap<String, f64>) -> String {
        let spec = &self.spec;
        let n = spec.offsets.len();
        let model = match spec.model {
            Model::TokenHeads {
                heads,
                width,
                init_scale,
            } => serde_json::json!({
                "architecture": "token_heads",
                "heads": heads,
                "head_width": width,
                "init_scale": init_scale,
                "tensors": {
                    "w_query": [n + 1, heads * width],
                    "w_key": [n + 1, heads * width],
                    "w_value": [n + 1, heads],
                },
                "tokens": "sample i: (phi(o_i), f_i), phi(o) = (1, o, o^2/2!, ..., o^(n-1)/(n-1)!); query: (phi(0), 0) = e_0, not a key",
                "forward": "s[h,i] = <e_0 W_q[:, h*d:(h+1)*d], z_i W_k[:, h*d:(h+1)*d]> / sqrt(d); p[h] = softmax_i(s[h]); g = sum_h sum_i p[h,i] (z_i . W_v[:, h]); out = c g",
            }),
            Model::Transformer {
                width,
                heads,
                blocks,
                dropout,
            } => serde_json::json!({
                "architecture": "transformer",
                "width": width,
                "heads": heads,
                "blocks": blocks,
                "dropout_in_training": dropout,
                "positions": "taylor",
                "value_stream": "raw",
                "tokens": "sample i: (phi(o_i), f_i, 0), phi(o) = (1, o, o^2/2!, ..., o^(n-1)/(n-1)!); query token last: (phi(0), 0, 1) = (1, 0, ..., 0, 0, 1); no mask",
                "conventions": "row vectors, x W; heads are contiguous column slices of width d/H; scores q.k / sqrt(d/H); no biases on the query, key, value and output projections; pre-normalised blocks x += MHA(LN x) with values from x itself (raw stream), x += W2 GELU(W1 LN x + b1) + b2 (hidden 2d); LayerNorm over the last axis, biased variance, eps 1e-5, gain and bias; GELU tanh form x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))); no final LayerNorm; out = c (x_query . readout)",
            }),
        };
        serde_json::json!({
            "format": "attnum learned-derivative models; the forward passes are specified in docs/models.md",
            "derivative": spec.derivative,
            "offsets": spec.offsets,
            "output": "out = c g(samples) approximates h^m f^(m)(x0); the estimate of f^(m)(x0) is out / h^m",
            "output_scale_c": scales,
            "tensor_names": "SEED/METHOD/PARAMETER, SEED = seed<k>; METHOD = model, linear_attention, mlp, least_squares",
            "model": model,
            "linear_attention": {
                "tensors": {"query": [n], "key_scales": [n]},
                "keys": "node i: (s_0 F_0[i], ..., s_{n-1} F_{n-1}[i]), F_j the interpolating (Fornberg) weights of derivative j on the offsets and s the key_scales, fixed before training: s_j = RMS_k(sqrt(w_k) t_k) / (c RMS_k(sqrt(w_k) F_j . f_k)) over the training set (t the targets, w_k = h_k^(-2m) the loss weights); the weights' Taylor moments are c s_j query_j",
                "forward": "out = c sum_i (key_i . query) f_i",
            },
            "mlp": {
                "width": spec.baselines.map(|b| b.mlp_width),
                "tensors": {"hidden": [n, "width"], "hidden_bias": ["width"], "out": ["width"], "out_bias": [1]},
                "forward": "out = c (ReLU(f hidden + hidden_bias) . out + out_bias), f the row of samples",
            },
            "least_squares": "weights: the stencil w, out = sum_i w_i f_i (no scale)",
            "training_family": {
                "family": "trigonometric",
                "max_frequency": spec.max_frequency,
                "distribution": "f(x) = sum_{k=1}^{K} (a_k cos kx + b_k sin kx)/k, a_k, b_k iid N(0, 1), no constant term; x0 uniform in [-pi, pi); samples f(x0 + o_i h), plus iid N(0, noise^2) noise; target h^m f^(m)(x0)",
                "noise": spec.noise,
                "steps": {
                    "distribution": if spec.training_steps.from == spec.training_steps.to {"fixed"} else {"log_uniform: h = from (to/from)^u, u uniform in [0, 1), one per example"},
                    "from": spec.training_steps.from,
                    "to": spec.training_steps.to,
                },
                "loss": "mean_k (out_k - h_k^m f_k^(m)(x0))^2 / h_k^(2m) (the mean squared error of the derivative)",
            },
            "sizes": {"train": spec.sizes[0], "validation": spec.sizes[1], "test_per_family": spec.sizes[2]},
            "training": {
                "optimiser": if spec.training.patience.is_some() {
                    "AdamW (beta 0.9, 0.999, eps 1e-8), full batch, learning rate cosine from lr to lr/100 over the epochs, early stopping on the validation loss with the best parameters restored"
                } else {
                    "AdamW (beta 0.9, 0.999, eps 1e-8), full batch, learning rate cosine from lr to lr/100 over the epochs, every epoch run and the last parameters kept (no early stopping)"
                },
                "epochs": spec.training.epochs,
                "learning_rate": spec.training.learning_rate,
                "weight_decay": spec.training.weight_decay,
                "patience": spec.training.patience,
            },
            "seeds": spec.seeds,
            "streams": "ChaCha8 (rand_chacha) seeded by seed, stream: 0 model init, 1/2 training/validation functions, 6/7 their steps, 5 dropout, 8 linear-attention init, 9 MLP init",
            "test_set": {
                "seed": spec.test_seed,
                "generator": "TestStream(seed, k): SplitMix64 with state seed * 2^32 + k; u = (x >> 11) 2^-53; normal = sqrt(-2 ln(1 - u1)) cos(2 pi u2)",
                "families": "k = 0: trigonometric K, 1: trigonometric 2K, 2: cubic polynomial sum_{j=0}^{3} c_j x^j, 3: three bumps a exp(-(x - c)^2 / (2 s^2)), a normal, c = -pi + 2 pi u, s = 0.5 + u; per function its coefficients in order, then x0 = -pi + 2 pi u",
                "noise": "stream k = 10: one normal per sample of the trigonometric test set, row by row",
                "evaluation_step": spec.evaluation_step,
                "reported_stencil": "the Jacobian d out / d f_i averaged over the trigonometric (k = 0) test functions at the evaluation step",
            },
        })
        .to_string()
    }
}
