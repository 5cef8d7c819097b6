//! Experiment `learned_derivative`: an attention model over `(position, value)` tokens — one
//! head, or a transformer of several heads and blocks — meta-trained to output
//! `h^m f^{(m)}(x₀)` (`m` = 1 or 2) from samples of random trigonometric polynomials, and what it
//! learns.
//!
//! Per point: the loss curve (`curve`); the test error on held-out functions of the training
//! family, on cubic polynomials and on Gaussian bumps next to the central difference on the same
//! nodes (`summary`); the learned method's effective stencil — the Jacobian of the trained model
//! with respect to the samples, averaged over the test functions — with its Taylor moments,
//! order and nearest classical stencil, and the spread of the Jacobian over the test functions
//! (zero for a linear method) and its relative distance to the degree-2 Savitzky–Golay weights on
//! the same nodes (`summary`, `stencil`); the error against the step `h` of the
//! trained model and of the central difference (`steps`): whether the learned method has an
//! order; and, for each evaluation noise level, the error of the trained model, the central
//! difference, the degree-2 Savitzky–Golay filter and (for `m = 1`) the derivative of kernel
//! attention with `σ = 2h`, all on the same noisy samples (`noise`). The trained weights are the
//! point's safetensors file.

use attnum_attention::classify::{classify_stencil, relative_distance};
use attnum_attention::extract::jacobian_rows;
use attnum_attention::kernel::KernelAttention;
use attnum_attention::learn::{
    Dataset, DerivativeTask, Family, ScaledOutput, derivative_task, generator, mse, normal,
    target_scale, train, weights_safetensors,
};
use attnum_attention::token::TokenAttentionHead;
use attnum_attention::transformer::{TokenTransformer, TransformerShape};
use attnum_attention::{AttentionMethod, DEVICE};
use attnum_classical::analysis;
use attnum_classical::fd::Stencil;
use attnum_classical::savitzky_golay::savitzky_golay;
use candle_core::Tensor;
use serde::{Deserialize, Serialize};
use attnum_results::{Cell, Table};

use super::{FieldError, NamedTable, Output, log_log_slope};
use crate::checks::{self, Interval};
use crate::training::Training;

/// Parameters of the `learned_derivative` experiment.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LearnedDerivative {
    /// The model trained (`model: { token_head: {...} }` or `model: { transformer: {...} }`).
    #[serde(with = "serde_yaml::with::singleton_map")]
    pub model: Model,
    /// The derivative asked for: 1 or 2.
    pub derivative: usize,
    /// Sample offsets in units of `h` (distinct; the query sits at offset 0).
    pub offsets: Vec<f64>,
    /// The step `h` of training.
    pub step: f64,
    /// Standard deviation of the noise on the training samples.
    #[serde(default)]
    pub noise: f64,
    /// Highest frequency of the trigonometric training family (1 to 10).
    pub max_frequency: usize,
    /// Training, validation and test set sizes.
    pub sizes: [usize; 3],
    /// Optimiser settings.
    pub training: Training,
    /// Steps at which the trained model is evaluated (the `steps` table).
    pub evaluation_steps: Vec<f64>,
    /// Noise levels at which the trained model and the classical methods are compared (the
    /// `noise` table; none when empty).
    #[serde(default)]
    pub evaluation_noise: Vec<f64>,
    /// Seed of initialisation, data and dropout.
    pub seed: u64,
}

/// The model: a single token head, or a transformer.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Model {
    /// One softmax head over the tokens `(1, o_i, f_i)` ([`TokenAttentionHead`]).
    TokenHead {
        /// Width `d` of the query and key projections (1 to 16).
        width: usize,
        /// Standard deviation of the initial weights.
        init_scale: f64,
    },
    /// Blocks of multi-head attention and feed-forward layers ([`TokenTransformer`]).
    Transformer {
        /// Model width (1 to 64, a multiple of `heads`).
        width: usize,
        /// Heads per block (1 to 16).
        heads: usize,
        /// Blocks (1 to 8).
        blocks: usize,
        /// Dropout probability in training, in `[0, 0.5]`.
        dropout: f64,
    },
}

impl Model {
    fn validate(&self) -> Result<(), FieldError> {
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
            Self::TokenHead { width, init_scale } => {
                range("token_head.width", width, 1..=16)?;
                if !(init_scale.is_finite() && init_scale > 0.0 && init_scale <= 10.0) {
                    return Err(FieldError::new(
                        "model.token_head.init_scale",
                        format!("must be in (0, 10], got {init_scale}"),
                    ));
                }
            }
            Self::Transformer {
                width,
                heads,
                blocks,
                dropout,
            } => {
                range("transformer.heads", heads, 1..=16)?;
                range("transformer.width", width, 1..=64)?;
                range("transformer.blocks", blocks, 1..=8)?;
                if !width.is_multiple_of(heads) {
                    return Err(FieldError::new(
                        "model.transformer.width",
                        format!("must be a multiple of the heads ({heads}), got {width}"),
                    ));
                }
                if !(0.0..=0.5).contains(&dropout) {
                    return Err(FieldError::new(
                        "model.transformer.dropout",
                        format!("must be in [0, 0.5], got {dropout}"),
                    ));
                }
            }
        }
        Ok(())
    }

    /// The model with its initial weights drawn from `seed`'s initialisation stream and its
    /// output multiplied by `scale`.
    fn build(&self, offsets: &[f64], seed: u64, scale: f64) -> Box<dyn AttentionMethod> {
        let mut init = generator(seed, 0);
        match *self {
            Self::TokenHead { width, init_scale } => Box::new(ScaledOutput {
                scale,
                inner: TokenAttentionHead::new(
                    offsets,
                    0.0,
                    &normal(&mut init, 3 * width, init_scale),
                    &normal(&mut init, 3 * width, init_scale),
                    &normal(&mut init, 3, init_scale),
                )
                .expect("`check` bounded the widths, heads and blocks, and the offsets are distinct"),
            }),
            Self::Transformer {
                width,
                heads,
                blocks,
                dropout,
            } => Box::new(ScaledOutput {
                scale,
                inner: TokenTransformer::new(
                    offsets,
                    TransformerShape {
                        width,
                        heads,
                        blocks,
                        dropout,
                    },
                    &mut init,
                )
                .expect("`check` bounded the widths, heads and blocks, and the offsets are distinct"),
            }),
        }
    }
}

/// Root mean square of `(Σ_i w_i v_i − target) / h^m` over a dataset: the error in the
/// derivative itself of the linear method `w` (stencil weights in units of `h`).
fn linear_rms(weights: &[f64], data: &Dataset, scale: f64) -> f64 {
    let w = Tensor::from_slice(weights, (weights.len(), 1), &DEVICE).expect("a vector");
    let out = data
        .inputs
        .matmul(&w)
        .and_then(|t| t.squeeze(1))
        .expect("shapes");
    let mse = (out - &data.targets)
        .and_then(|t| t.sqr())
        .and_then(|t| t.mean_all())
        .and_then(|t| t.to_scalar::<f64>())
        .expect("shapes");
    mse.sqrt() / scale
}

/// A checked `learned_derivative` experiment: the classical stencils on its offsets built.
#[derive(Debug, Clone)]
pub struct CheckedLearnedDerivative {
    spec: LearnedDerivative,
    /// The interpolating stencil on the offsets.
    central: Stencil,
    /// The degree-2 Savitzky–Golay filter on the offsets.
    smoothing: Stencil,
}

impl LearnedDerivative {
    /// Check every parameter and build the classical stencils; errors carry the field path below
    /// `experiment.learned_derivative`.
    ///
    /// # Errors
    /// The first refused parameter.
    pub fn check(&self) -> Result<CheckedLearnedDerivative, FieldError> {
        self.model.validate()?;
        if !(1..=2).contains(&self.derivative) {
            return Err(FieldError::new(
                "derivative",
                format!("must be 1 or 2, got {}", self.derivative),
            ));
        }
        let central = Stencil::on_offsets(self.derivative, &self.offsets)
            .map_err(|e| FieldError::new("offsets", e.to_string()))?;
        if self.offsets.len() < 3 {
            return Err(FieldError::new(
                "offsets",
                "needs at least three offsets (the degree-2 Savitzky–Golay reference)",
            ));
        }
        let smoothing = savitzky_golay(self.derivative, 2, &self.offsets)
            .map_err(|e| FieldError::new("offsets", e.to_string()))?;
        let positive = |field: &str, v: f64, max: f64| {
            checks::in_interval(field, v, Interval::open_closed(0.0, max))
        };
        positive("step", self.step, 1.0)?;
        let noise = |field: &str, v: f64| checks::in_interval(field, v, Interval::closed(0.0, 1.0));
        noise("noise", self.noise)?;
        checks::each("evaluation_noise", &self.evaluation_noise, |&v| noise("", v))?;
        self.training.validate()?;
        if !(1..=10).contains(&self.max_frequency) {
            return Err(FieldError::new(
                "max_frequency",
                format!("must be in 1..=10, got {}", self.max_frequency),
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
        if self.evaluation_steps.len() < 2 {
            return Err(FieldError::new("evaluation_steps", "needs at least two steps"));
        }
        checks::each("evaluation_steps", &self.evaluation_steps, |&h| {
            positive("", h, 1.0)
        })?;
        Ok(CheckedLearnedDerivative {
            spec: self.clone(),
            central,
            smoothing,
        })
    }
}

impl CheckedLearnedDerivative {

    /// Run the experiment: tables `curve`, `summary`, `stencil`, `steps` and `noise`, and the
    /// trained weights.
    ///
    /// # Panics
    /// If training diverges (reported as a failed point by the engine).
    pub fn run(&self) -> Output {
        let (spec, central, smoothing) = (&self.spec, &self.central, &self.smoothing);
        let n = spec.offsets.len();
        let m = spec.derivative;
        let trig = Family::Trigonometric {
            max_frequency: spec.max_frequency,
        };
        let task = |family, h, noise, count, stream| {
            let task = DerivativeTask {
                offsets: spec.offsets.clone(),
                step: h,
                order: m,
                noise,
            };
            derivative_task(family, &task, count, &mut generator(spec.seed, stream))
                .expect("tensor shapes are consistent")
        };
        let [train_size, validation_size, test_size] = spec.sizes;
        let h = spec.step;
        let training = task(trig, h, spec.noise, train_size, 1);
        let validation = task(trig, h, spec.noise, validation_size, 2);
        // The model answers in units of the training targets' size (h^m times a derivative).
        let model = spec.model.build(
            &spec.offsets,
            spec.seed,
            target_scale(&training).expect("a dataset"),
        );
        let curve_points = train(
            model.as_ref(),
            &training,
            &validation,
            &spec.training.settings(),
            &mut generator(spec.seed, 5),
        )
        .unwrap_or_else(|e| panic!("training failed: {e}"));

        // Errors in the derivative itself: the targets and outputs are h^m f^(m).
        let scale = |h: f64| h.powi(m as i32);
        let learned_rms =
            |data: &Dataset, h: f64| mse(model.as_ref(), data).expect("shapes").sqrt() / scale(h);
        let held_out: Vec<(Family, Dataset)> = [
            trig,
            Family::Polynomial { degree: 3 },
            Family::Bumps { count: 3 },
        ]
        .into_iter()
        .zip(3..)
        .map(|(family, stream)| (family, task(family, h, 0.0, test_size, stream)))
        .collect();
        let test = &held_out[0].1;

        // The effective stencil: the Jacobian averaged over the test functions, and its spread.
        let jacobians = jacobian_rows(model.as_ref(), &test.inputs).expect("shapes");
        let count = jacobians.len() as f64;
        let mean: Vec<f64> = (0..n)
            .map(|i| jacobians.iter().map(|j| j[i]).sum::<f64>() / count)
            .collect();
        let spreads: Vec<f64> = (0..n)
            .map(|i| {
                let var = jacobians
                    .iter()
                    .map(|j| (j[i] - mean[i]).powi(2))
                    .sum::<f64>()
                    / count;
                var.sqrt()
            })
            .collect();
        let spread = spreads.iter().copied().fold(0.0f64, f64::max);
        let class = classify_stencil(&spec.offsets, &mean).expect("`check` built a stencil on these nodes");
        // The least-squares (Savitzky–Golay, degree 2) weights on the same nodes: the smoothing
        // filter the learned stencils are compared with.
        let smoothing_distance = relative_distance(&mean, smoothing.weights());
        let moments = analysis::moments(
            &Stencil::from_weights(m, &spec.offsets, &mean)
                .expect("`check` built a stencil on these nodes, and the Jacobian has one weight per node"),
            4,
        );

        let mut stencil = Table::new(&[
            "offset",
            "learned_weight",
            "jacobian_spread",
            "central_weight",
        ]);
        for i in 0..n {
            stencil.push_row(vec![
                spec.offsets[i].into(),
                mean[i].into(),
                spreads[i].into(),
                central.weights()[i].into(),
            ]);
        }

        let mut steps = Table::new(&["h", "learned_rms_error", "central_rms_error"]);
        let mut learned_curve = Vec::new();
        for (k, &step) in spec.evaluation_steps.iter().enumerate() {
            let data = task(trig, step, 0.0, test_size, 10 + k as u64);
            let learned = learned_rms(&data, step);
            learned_curve.push((step, learned));
            steps.push_row(vec![
                step.into(),
                learned.into(),
                linear_rms(central.weights(), &data, scale(step)).into(),
            ]);
        }
        let learned_slope = log_log_slope(&learned_curve);

        let mut noise = Table::new(&["evaluation_noise", "method", "rms_error"]);
        let kernel = (m == 1).then(|| {
            KernelAttention::new(&spec.offsets, 2.0)
                .and_then(|k| {
                    Ok(k.derivative_weights(&Tensor::new(&[0.0f64], &DEVICE)?)?
                        .flatten_all()?
                        .to_vec1::<f64>()?)
                })
                .expect("finite nodes")
        });
        for (k, &level) in spec.evaluation_noise.iter().enumerate() {
            let data = task(trig, h, level, test_size, 30 + k as u64);
            let mut row = |method: &str, error: f64| {
                noise.push_row(vec![level.into(), method.into(), error.into()]);
            };
            row("learned", learned_rms(&data, h));
            row("central", linear_rms(central.weights(), &data, scale(h)));
            row(
                "savitzky_golay_2",
                linear_rms(smoothing.weights(), &data, scale(h)),
            );
            if let Some(w) = &kernel {
                row("kernel_sigma_2h", linear_rms(w, &data, scale(h)));
            }
        }

        let mut summary = Table::new(&[
            "parameters",
            "train_epochs",
            "best_validation_mse",
            "test_rms_error",
            "cubic_rms_error",
            "bumps_rms_error",
            "central_test_rms_error",
            "central_cubic_rms_error",
            "central_bumps_rms_error",
            "moment_0",
            "moment_1",
            "moment_2",
            "moment_3",
            "classified_derivative",
            "order",
            "nearest",
            "nearest_distance",
            "savitzky_golay_distance",
            "jacobian_spread",
            "learned_slope_in_h",
        ]);
        let best = curve_points
            .iter()
            .map(|e| e.validation_loss)
            .fold(f64::INFINITY, f64::min);
        let parameters: usize = model
            .parameters()
            .iter()
            .map(|(_, v)| v.as_tensor().elem_count())
            .sum();
        let mut row: Vec<Cell> = vec![parameters.into(), curve_points.len().into(), best.into()];
        row.extend(
            held_out
                .iter()
                .map(|(_, data)| Cell::from(learned_rms(data, h))),
        );
        row.extend(
            held_out
                .iter()
                .map(|(_, data)| Cell::from(linear_rms(central.weights(), data, scale(h)))),
        );
        row.extend(moments[..4].iter().map(|&x| Cell::from(x)));
        row.extend([
            class.deriv.map_or(Cell::Null, Cell::from),
            class.accuracy.map_or(Cell::Null, |a| Cell::from(a.order)),
            class
                .nearest
                .as_ref()
                .map_or(Cell::Null, |c| c.name.clone().into()),
            class.nearest.as_ref().map(|c| c.distance).into(),
            smoothing_distance.into(),
            spread.into(),
            learned_slope.into(),
        ]);
        summary.push_row(row);
        let mut tables = vec![
            NamedTable {
                stem: "curve",
                table: spec.training.curve_table(&curve_points),
            },
            NamedTable {
                stem: "summary",
                table: summary,
            },
            NamedTable {
                stem: "stencil",
                table: stencil,
            },
            NamedTable {
                stem: "steps",
                table: steps,
            },
        ];
        if !spec.evaluation_noise.is_empty() {
            tables.push(NamedTable {
                stem: "noise",
                table: noise,
            });
        }
        Output {
            tables,
            weights: Some(weights_safetensors(model.as_ref()).expect("tensors serialise")),
        }
    }
}

