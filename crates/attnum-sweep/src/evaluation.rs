//! What the learned-derivative experiments share in training and evaluating their models: the
//! range of the per-example steps and the training data drawn with them, and the rule and fit of
//! the observed order. Written once so that `learned_derivative` and `learned_order` draw their
//! data and report orders by the same rule (their intervals over seeds are
//! [`crate::statistics::mean_interval`]); nothing here trains.

use attnum_attention::DEVICE;
use attnum_attention::learn::{
    Dataset, DerivativeTask, Family, derivative_task_steps, generator, log_uniform_steps,
};
use candle_core::Tensor;
use serde::{Deserialize, Serialize};

use crate::checks::{self, Interval};
use crate::experiments::{Context, ExperimentError, FieldError, log_log_slope};

/// A range of training steps.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct StepRange {
    /// Smallest step.
    pub from: f64,
    /// Largest step (equal to `from` for fixed-step training).
    pub to: f64,
}

impl StepRange {
    /// Check that `0 < from ≤ to ≤ 1`; field paths are relative to `training_steps`.
    ///
    /// # Errors
    /// The refused end.
    pub fn validate(&self) -> Result<(), FieldError> {
        let step = |field: &str, v: f64| {
            checks::in_interval(field, v, Interval::open_closed(0.0, 1.0)).map(drop)
        };
        step("training_steps.from", self.from)?;
        step("training_steps.to", self.to)?;
        if self.to < self.from {
            return Err(FieldError::new("training_steps.to", "must be ≥ from"));
        }
        Ok(())
    }
}

/// Training or validation data of one seed: `count` examples of `task` on trigonometric
/// polynomials of frequency up to `max_frequency`, the functions from the stream `(seed, stream)`
/// and each example's step log-uniform in `range` from `(seed, stream + 5)` (`range.from` for
/// every example where its ends are equal; `task.step` is ignored), with the loss weights
/// `h^{−2m}`.
///
/// # Errors
/// A tensor error, with the seed and the stream.
pub(crate) fn weighted_data(
    task: &DerivativeTask,
    range: StepRange,
    max_frequency: usize,
    seed: u64,
    count: usize,
    stream: u64,
) -> Result<(Dataset, Tensor), ExperimentError> {
    let steps = if range.from == range.to {
        vec![range.from; count]
    } else {
        log_uniform_steps(
            range.from,
            range.to,
            count,
            &mut generator(seed, stream + 5),
        )
    };
    let family = Family::Trigonometric { max_frequency };
    let data = derivative_task_steps(family, task, &steps, &mut generator(seed, stream))
        .with_context(|| format!("the data of seed {seed}, stream {stream}"))?;
    let weights: Vec<f64> = steps
        .iter()
        .map(|h| h.powi(-2 * task.order as i32))
        .collect();
    let weights = Tensor::from_vec(weights, count, &DEVICE).context("the loss weights")?;
    Ok((data, weights))
}

/// How the observed order is fitted: the least-squares slope of `log error` against `log h` over
/// the `window_decades` decades of smallest steps among those whose error exceeds
/// `roundoff_margin` times the rounding estimate `u Σ|w_i| F / h^m` (`F` the RMS sample); null
/// with fewer than `min_points` such steps.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FitRule {
    /// Width of the window in decades of `h`.
    pub window_decades: f64,
    /// Fewest steps in the window.
    pub min_points: usize,
    /// Factor over the rounding estimate below which a step is left out.
    pub roundoff_margin: f64,
}

impl FitRule {
    /// Check the rule; field paths are relative to `fit`.
    ///
    /// # Errors
    /// The refused field.
    pub fn validate(&self) -> Result<(), FieldError> {
        checks::in_interval(
            "fit.window_decades",
            self.window_decades,
            Interval::open_closed(0.0, 10.0),
        )?;
        checks::in_interval(
            "fit.roundoff_margin",
            self.roundoff_margin,
            Interval::closed(1.0, 1e6),
        )?;
        if self.min_points < 2 {
            return Err(FieldError::new("fit.min_points", "must be at least 2"));
        }
        Ok(())
    }
}

/// The observed order of a curve `(h, error, rounding estimate)`: slope, window bounds, points.
pub(crate) fn fit_order(
    curve: &[(f64, f64, f64)],
    rule: &FitRule,
) -> Option<(f64, f64, f64, usize)> {
    let truncation: Vec<(f64, f64)> = curve
        .iter()
        .filter(|(_, e, r)| *e > rule.roundoff_margin * r && *e > 0.0)
        .map(|&(h, e, _)| (h, e))
        .collect();
    let smallest = truncation.iter().map(|p| p.0).fold(f64::INFINITY, f64::min);
    let top = smallest * 10f64.powf(rule.window_decades) * (1.0 + 1e-9);
    let window: Vec<(f64, f64)> = truncation.into_iter().filter(|p| p.0 <= top).collect();
    if window.len() < rule.min_points {
        return None;
    }
    let h_max = window.iter().map(|p| p.0).fold(0.0, f64::max);
    Some((log_log_slope(&window), smallest, h_max, window.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fit_window_is_the_smallest_decade_above_rounding() {
        // Error h² above 1e-9, rounding 1e-12/h: the window is [1e-3, 1e-2].
        let curve: Vec<(f64, f64, f64)> = (0..12)
            .map(|k| {
                let h = 0.1 * 0.5f64.powi(k);
                (h, h * h, 1e-14 / h)
            })
            .collect();
        let rule = FitRule {
            window_decades: 1.0,
            min_points: 3,
            roundoff_margin: 10.0,
        };
        let (slope, low, high, points) = fit_order(&curve, &rule).unwrap();
        assert!((slope - 2.0).abs() < 1e-12);
        assert!(low < high && points >= 3);
    }
}
