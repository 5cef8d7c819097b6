//! Experiment `expressivity_logits`: a derivative stencil applied at every point of a periodic
//! grid by softmax heads over the whole grid (no masks), with finite relative-position biases,
//! against the classical stencil. Two constructions (`RelativeBiasStencil`): one head per sign
//! class with bounded value scales, whose leak vanishes only as the logit bound `B` grows (tables
//! `table`, `reach`, `slopes`); and two heads whose uniform parts cancel, exact at small logits at
//! the price of value scales `(N + A W)/A` (table `cancelling`, beside the lower bound
//! `½ ln(N max|w| / (2V))` that any two heads with value scales at most `V` obey).
//!
//! On `[0, 2π)` with `N` points and `f = exp(sin x)` it records the largest error of the
//! attention derivative and of the classical stencil against the exact derivative, their largest
//! difference, and the proved bound `h^{−m} Σ_h |c_h| λ_h (max f − min f)` on that difference
//! (`attnum_attention::expressivity::RelativeBiasStencil`). A second table gives, per stencil
//! and grid, the smallest `B` on the grid of bounds at which the attention's error is within a
//! factor of the classical error, and a third, per stencil, the least-squares slope of that `B`
//! against `ln N` beside the slope the proposition predicts: `(1 + p)/2` for an antisymmetric
//! stencil (the leak only rescales it), `(1 + m + p)/2` otherwise.

use attnum_attention::expressivity::RelativeBiasStencil;
use attnum_attention::samples;
use serde::{Deserialize, Serialize};

use super::expressivity_map::StencilTarget;
use super::{FieldError, NamedTable, log_log_slope};
use crate::grid::LinearGrid;
use attnum_results::Table;

/// The largest periodic grid (the construction forms an `N × N` circulant matrix).
const MAX_POINTS: usize = 4096;

/// Parameters of the `expressivity_logits` experiment.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ExpressivityLogits {
    /// The stencils.
    pub stencils: Vec<StencilTarget>,
    /// Grid sizes `N` on `[0, 2π)`.
    pub points: Vec<usize>,
    /// The logit bounds `B`.
    pub bounds: LinearGrid,
    /// The attention counts as having reached the stencil when its error is at most this
    /// multiple of the classical stencil's error (> 1).
    pub reach_factor: f64,
    /// The scales `A > 0` of the cancelling construction.
    pub cancellation_scales: Vec<f64>,
}

/// `f = exp(sin x)` and its first two derivatives.
fn test_function(x: f64, derivative: usize) -> f64 {
    let e = x.sin().exp();
    match derivative {
        0 => e,
        1 => x.cos() * e,
        _ => (x.cos().powi(2) - x.sin()) * e,
    }
}

/// Whether `w(−o) = −w(o)` for every offset (central odd-derivative stencils).
fn is_antisymmetric(stencil: &attnum_classical::fd::Stencil) -> bool {
    let pairs: Vec<(f64, f64)> = stencil
        .offsets()
        .iter()
        .copied()
        .zip(stencil.weights().iter().copied())
        .collect();
    pairs.iter().all(|&(o, w)| {
        pairs
            .iter()
            .any(|&(o2, w2)| o2 == -o && (w2 + w).abs() <= 1e-14 * w.abs().max(1.0))
    })
}

impl ExpressivityLogits {
    /// Check every parameter; errors carry the field path below `experiment.expressivity_logits`.
    pub fn validate(&self) -> Result<(), FieldError> {
        if self.stencils.is_empty() {
            return Err(("stencils".into(), "needs at least one stencil".into()));
        }
        for (i, target) in self.stencils.iter().enumerate() {
            let field = format!("stencils[{i}]");
            let stencil = target.stencil(&field)?;
            if target.derivative > 2 {
                return Err((
                    format!("{field}.derivative"),
                    "the test function's derivatives are known to order 2".into(),
                ));
            }
            for (j, &n) in self.points.iter().enumerate() {
                RelativeBiasStencil::per_sign(&stencil, n, self.bounds.min())
                    .map_err(|e| (format!("points[{j}]"), e.to_string()))?;
            }
        }
        if self.points.is_empty() {
            return Err(("points".into(), "needs at least one grid size".into()));
        }
        if let Some(j) = self.points.iter().position(|&n| n > MAX_POINTS) {
            return Err((
                format!("points[{j}]"),
                format!("at most {MAX_POINTS} points"),
            ));
        }
        self.bounds.validate("bounds")?;
        if self.bounds.min() <= 0.0 || self.bounds.max() > 300.0 {
            return Err(("bounds".into(), "B must lie in (0, 300]".into()));
        }
        if self.cancellation_scales.is_empty() {
            return Err((
                "cancellation_scales".into(),
                "needs at least one scale".into(),
            ));
        }
        if let Some(j) = self
            .cancellation_scales
            .iter()
            .position(|a| !(a.is_finite() && *a > 0.0 && *a <= 1e12))
        {
            return Err((
                format!("cancellation_scales[{j}]"),
                "must be in (0, 1e12]".into(),
            ));
        }
        if !(self.reach_factor.is_finite() && self.reach_factor > 1.0) {
            return Err((
                "reach_factor".into(),
                format!("must be a finite number above 1, got {}", self.reach_factor),
            ));
        }
        Ok(())
    }

    /// Run the experiment: `table` (one row per stencil, grid and bound) and `reach` (one row
    /// per stencil and grid).
    ///
    /// # Panics
    /// If called on a spec that [`ExpressivityLogits::validate`] rejects.
    pub fn run(&self) -> Vec<NamedTable> {
        let mut table = Table::new(&[
            "stencil",
            "derivative",
            "accuracy",
            "points",
            "step",
            "bound",
            "error",
            "classical_error",
            "difference",
            "leak_bound",
            "bound_ratio",
        ]);
        let mut reach = Table::new(&[
            "stencil",
            "derivative",
            "accuracy",
            "points",
            "step",
            "classical_error",
            "reach_bound",
        ]);
        let mut slopes = Table::new(&[
            "stencil",
            "derivative",
            "accuracy",
            "antisymmetric",
            "grids",
            "fitted_slope",
            "predicted_slope",
        ]);
        let mut cancelling = Table::new(&[
            "stencil",
            "derivative",
            "accuracy",
            "points",
            "scale",
            "logit_bound",
            "value_scale",
            "lower_bound",
            "bound_margin",
            "error",
            "classical_error",
            "difference",
        ]);
        let oscillation = 1f64.exp() - (-1f64).exp();
        for target in &self.stencils {
            let stencil = target.stencil("").expect("validated stencil");
            let m = target.derivative;
            let mut reached_at: Vec<(f64, f64)> = Vec::new();
            for &n in &self.points {
                let h = 2.0 * std::f64::consts::PI / n as f64;
                let x: Vec<f64> = (0..n).map(|i| i as f64 * h).collect();
                let f: Vec<f64> = x.iter().map(|&x| test_function(x, 0)).collect();
                let exact: Vec<f64> = x.iter().map(|&x| test_function(x, m)).collect();
                let scale = h.powi(-(m as i32));
                let classical: Vec<f64> = (0..n)
                    .map(|i| {
                        stencil
                            .offsets()
                            .iter()
                            .zip(stencil.weights())
                            .map(|(o, w)| w * f[(i as i64 + *o as i64).rem_euclid(n as i64) as usize])
                            .sum::<f64>()
                            * scale
                    })
                    .collect();
                let max_difference = |a: &[f64], b: &[f64]| {
                    a.iter()
                        .zip(b)
                        .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()))
                };
                let classical_error = max_difference(&classical, &exact);
                let values = samples(&f).expect("a vector");
                // The attention's derivative at every grid point.
                let derivative_of = |module: &RelativeBiasStencil| -> Vec<f64> {
                    module
                        .apply_periodic(&values)
                        .and_then(|t| t.squeeze(0)?.to_vec1::<f64>())
                        .expect("tensor shapes are consistent")
                        .iter()
                        .map(|v| v * scale)
                        .collect()
                };
                let largest_weight = stencil
                    .offsets()
                    .iter()
                    .zip(stencil.weights())
                    .filter(|(o, _)| **o != 0.0)
                    .fold(0.0f64, |m, (_, w)| m.max(w.abs()));
                for &scale_a in &self.cancellation_scales {
                    let module = RelativeBiasStencil::cancelling(&stencil, n, scale_a)
                        .expect("validated stencil, grid and scale");
                    let attention = derivative_of(&module);
                    let value_scale = module.value_scale();
                    let logit_bound = module.logit_bound().expect("a bias vector");
                    let lower_bound =
                        0.5 * (n as f64 * largest_weight / (2.0 * value_scale)).ln();
                    cancelling.push_row(vec![
                        target.label().into(),
                        m.into(),
                        target.accuracy.into(),
                        n.into(),
                        scale_a.into(),
                        logit_bound.into(),
                        value_scale.into(),
                        lower_bound.into(),
                        (logit_bound - lower_bound).into(),
                        max_difference(&attention, &exact).into(),
                        classical_error.into(),
                        max_difference(&attention, &classical).into(),
                    ]);
                }
                let mut reached = None;
                for bound in self.bounds.values() {
                    let module = RelativeBiasStencil::per_sign(&stencil, n, bound)
                        .expect("validated stencil, grid and bound");
                    let attention = derivative_of(&module);
                    let error = max_difference(&attention, &exact);
                    let difference = max_difference(&attention, &classical);
                    let leak_bound = module.leak_bound(oscillation) * scale;
                    if reached.is_none() && error <= self.reach_factor * classical_error {
                        reached = Some(bound);
                    }
                    table.push_row(vec![
                        target.label().into(),
                        m.into(),
                        target.accuracy.into(),
                        n.into(),
                        h.into(),
                        bound.into(),
                        error.into(),
                        classical_error.into(),
                        difference.into(),
                        leak_bound.into(),
                        (difference / leak_bound).into(),
                    ]);
                }
                if let Some(bound) = reached {
                    // B against ln N: `log_log_slope` fits ln y against ln x, so pass e^B.
                    reached_at.push((n as f64, bound.exp()));
                }
                reach.push_row(vec![
                    target.label().into(),
                    m.into(),
                    target.accuracy.into(),
                    n.into(),
                    h.into(),
                    classical_error.into(),
                    reached.into(),
                ]);
            }
            let antisymmetric = is_antisymmetric(&stencil);
            let p = target.accuracy as f64;
            let predicted = if antisymmetric {
                (1.0 + p) / 2.0
            } else {
                (1.0 + m as f64 + p) / 2.0
            };
            slopes.push_row(vec![
                target.label().into(),
                m.into(),
                target.accuracy.into(),
                if antisymmetric { "yes" } else { "no" }.into(),
                reached_at.len().into(),
                (reached_at.len() >= 2)
                    .then(|| log_log_slope(&reached_at))
                    .into(),
                predicted.into(),
            ]);
        }
        vec![
            NamedTable {
                stem: "table",
                table,
            },
            NamedTable {
                stem: "reach",
                table: reach,
            },
            NamedTable {
                stem: "slopes",
                table: slopes,
            },
            NamedTable {
                stem: "cancelling",
                table: cancelling,
            },
        ]
    }
}
