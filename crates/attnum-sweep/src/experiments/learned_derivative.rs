//! Experiment `learned_derivative`: a single attention head over `(position, value)` tokens,
//! meta-trained to output `h f'(x₀)` from samples of random trigonometric polynomials, and what
//! it learns.
//!
//! Per point (one seed): the loss curve (`curve`), the test error on held-out functions of the
//! training family and on cubic polynomials next to the central difference on the same nodes
//! (`summary`), the learned method's effective stencil — the Jacobian of the trained head with
//! respect to the samples, averaged over the test functions — with its Taylor moments, order and
//! nearest classical stencil, and the spread of the Jacobian over the test functions (zero for
//! a linear method) (`summary`, `stencil`), and the error against the step `h` of the trained
//! head and of the central difference (`steps`): whether the learned method has an order.

use attnum_attention::classify::classify_stencil;
use attnum_attention::extract::jacobian_weights;
use attnum_attention::learn::{
    Dataset, Family, TrainSettings, derivative_task, generator, mse, normal, train,
};
use attnum_attention::token::TokenAttentionHead;
use attnum_classical::analysis;
use attnum_classical::fd::Stencil;
use candle_core::Tensor;
use serde::{Deserialize, Serialize};

use super::{FieldError, NamedTable, log_log_slope};
use crate::table::{Cell, Table};

/// Parameters of the `learned_derivative` experiment.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LearnedDerivative {
    /// Sample offsets in units of `h` (distinct; the query sits at offset 0).
    pub offsets: Vec<f64>,
    /// The step `h` of training.
    pub step: f64,
    /// Highest frequency of the trigonometric training family (1 to 10).
    pub max_frequency: usize,
    /// Width `d` of the query and key projections (1 to 16).
    pub width: usize,
    /// Standard deviation of the initial weights.
    pub init_scale: f64,
    /// Training, validation and test set sizes.
    pub sizes: [usize; 3],
    /// Optimiser settings.
    pub training: Training,
    /// Steps at which the trained head is evaluated (the `steps` table).
    pub evaluation_steps: Vec<f64>,
    /// Seed of initialisation and data.
    pub seed: u64,
}

/// Optimiser settings as written in the sweep file.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Training {
    /// Full-batch steps at most (1 to 100000).
    pub epochs: usize,
    /// Initial learning rate.
    pub learning_rate: f64,
    /// AdamW weight decay.
    pub weight_decay: f64,
    /// Early-stopping patience in epochs.
    pub patience: usize,
    /// Keep every `record_every`-th epoch in the `curve` table.
    pub record_every: usize,
}

impl LearnedDerivative {
    /// Check every parameter; errors carry the field path below `experiment.learned_derivative`.
    pub fn validate(&self) -> Result<(), FieldError> {
        Stencil::on_offsets(1, &self.offsets).map_err(|e| ("offsets".into(), e.to_string()))?;
        if !self.offsets.contains(&0.0) && self.offsets.len() < 2 {
            return Err(("offsets".into(), "needs at least two offsets".into()));
        }
        let positive = |field: &str, v: f64, max: f64| -> Result<(), FieldError> {
            if v.is_finite() && v > 0.0 && v <= max {
                Ok(())
            } else {
                Err((field.into(), format!("must be in (0, {max}], got {v}")))
            }
        };
        positive("step", self.step, 1.0)?;
        positive("init_scale", self.init_scale, 10.0)?;
        positive("training.learning_rate", self.training.learning_rate, 1.0)?;
        if !(self.training.weight_decay.is_finite() && self.training.weight_decay >= 0.0) {
            return Err(("training.weight_decay".into(), "must be ≥ 0".into()));
        }
        for (field, v, range) in [
            ("max_frequency", self.max_frequency, 1..=10),
            ("width", self.width, 1..=16),
            ("training.epochs", self.training.epochs, 1..=100_000),
            ("training.patience", self.training.patience, 1..=100_000),
            (
                "training.record_every",
                self.training.record_every,
                1..=100_000,
            ),
        ] {
            if !range.contains(&v) {
                return Err((field.into(), format!("must be in {range:?}, got {v}")));
            }
        }
        for (i, &n) in self.sizes.iter().enumerate() {
            if !(8..=100_000).contains(&n) {
                return Err((
                    format!("sizes[{i}]"),
                    format!("must be 8 to 100000, got {n}"),
                ));
            }
        }
        if self.evaluation_steps.len() < 2 {
            return Err(("evaluation_steps".into(), "needs at least two steps".into()));
        }
        for (i, &h) in self.evaluation_steps.iter().enumerate() {
            positive(&format!("evaluation_steps[{i}]"), h, 1.0)?;
        }
        Ok(())
    }

    /// Run the experiment: tables `curve`, `summary`, `stencil` and `steps`.
    ///
    /// # Panics
    /// If called on a spec that [`LearnedDerivative::validate`] rejects, or if training diverges
    /// (reported as a failed point by the engine).
    pub fn run(&self) -> Vec<NamedTable> {
        let n = self.offsets.len();
        let d = self.width;
        let mut init = generator(self.seed, 0);
        let head = TokenAttentionHead::new(
            &self.offsets,
            0.0,
            &normal(&mut init, 3 * d, self.init_scale),
            &normal(&mut init, 3 * d, self.init_scale),
            &normal(&mut init, 3, self.init_scale),
        )
        .expect("validated shapes");
        let trig = Family::Trigonometric {
            max_frequency: self.max_frequency,
        };
        let task = |family, h, count, stream| {
            derivative_task(
                family,
                &self.offsets,
                h,
                count,
                &mut generator(self.seed, stream),
            )
            .expect("tensor shapes are consistent")
        };
        let [train_size, validation_size, test_size] = self.sizes;
        let training = task(trig, self.step, train_size, 1);
        let validation = task(trig, self.step, validation_size, 2);
        let test = task(trig, self.step, test_size, 3);
        let cubic = task(Family::Cubic, self.step, test_size, 4);
        let settings = TrainSettings {
            epochs: self.training.epochs,
            learning_rate: self.training.learning_rate,
            weight_decay: self.training.weight_decay,
            patience: self.training.patience,
        };
        let curve_points = train(&head, &training, &validation, &settings)
            .unwrap_or_else(|e| panic!("training failed: {e}"));

        let mut curve = Table::new(&["epoch", "train_loss", "validation_loss", "learning_rate"]);
        for e in curve_points
            .iter()
            .filter(|e| e.epoch % self.training.record_every == 0)
        {
            curve.push_row(vec![
                e.epoch.into(),
                e.train_loss.into(),
                e.validation_loss.into(),
                e.learning_rate.into(),
            ]);
        }

        // The central difference on the same nodes, as a module-free reference.
        let fd = Stencil::on_offsets(1, &self.offsets).expect("validated");
        let fd_mse = |data: &Dataset| -> f64 {
            let w = Tensor::from_slice(fd.weights(), (n, 1), &data.inputs.device().clone())
                .expect("a vector");
            let out = data
                .inputs
                .matmul(&w)
                .and_then(|t| t.squeeze(1))
                .expect("shapes");
            (out - &data.targets)
                .and_then(|t| t.sqr())
                .and_then(|t| t.mean_all())
                .and_then(|t| t.to_scalar::<f64>())
                .expect("shapes")
        };

        // The effective stencil: the Jacobian averaged over the test functions, and its spread.
        let rows: Vec<Vec<f64>> = test.inputs.to_vec2().expect("a matrix");
        let jacobians: Vec<Vec<f64>> = rows
            .iter()
            .take(256)
            .map(|r| jacobian_weights(&head, r).expect("shapes"))
            .collect();
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
        let class = classify_stencil(&self.offsets, &mean).expect("validated nodes");
        let moments = analysis::moments(
            &Stencil::from_weights(1, &self.offsets, &mean).expect("validated nodes"),
            3,
        );

        let mut stencil = Table::new(&[
            "offset",
            "learned_weight",
            "jacobian_spread",
            "central_weight",
        ]);
        for i in 0..n {
            stencil.push_row(vec![
                self.offsets[i].into(),
                mean[i].into(),
                spreads[i].into(),
                fd.weights()[i].into(),
            ]);
        }

        let mut steps = Table::new(&["h", "learned_rms_error", "central_rms_error"]);
        let mut learned_curve = Vec::new();
        for (k, &h) in self.evaluation_steps.iter().enumerate() {
            let data = task(trig, h, test_size, 10 + k as u64);
            // Errors of f'(x₀) itself: the targets and outputs are h f'.
            let learned = mse(&head, &data).expect("shapes").sqrt() / h;
            let central = fd_mse(&data).sqrt() / h;
            learned_curve.push((h, learned));
            steps.push_row(vec![h.into(), learned.into(), central.into()]);
        }
        let learned_slope = log_log_slope(&learned_curve);

        let mut summary = Table::new(&[
            "train_epochs",
            "best_validation_mse",
            "test_rms_error",
            "cubic_rms_error",
            "central_test_rms_error",
            "central_cubic_rms_error",
            "moment_0",
            "moment_1",
            "moment_2",
            "derivative",
            "order",
            "nearest",
            "nearest_distance",
            "jacobian_spread",
            "learned_slope_in_h",
        ]);
        let best = curve_points
            .iter()
            .map(|e| e.validation_loss)
            .fold(f64::INFINITY, f64::min);
        summary.push_row(vec![
            curve_points.len().into(),
            best.into(),
            (mse(&head, &test).expect("shapes").sqrt() / self.step).into(),
            (mse(&head, &cubic).expect("shapes").sqrt() / self.step).into(),
            (fd_mse(&test).sqrt() / self.step).into(),
            (fd_mse(&cubic).sqrt() / self.step).into(),
            moments[0].into(),
            moments[1].into(),
            moments[2].into(),
            class.deriv.map_or(Cell::Null, Cell::from),
            class.accuracy.map_or(Cell::Null, |a| Cell::from(a.order)),
            class
                .nearest
                .as_ref()
                .map_or(Cell::Null, |c| c.name.clone().into()),
            class.nearest.as_ref().map(|c| c.distance).into(),
            spread.into(),
            learned_slope.into(),
        ]);
        vec![
            NamedTable {
                stem: "curve",
                table: curve,
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
        ]
    }
}
