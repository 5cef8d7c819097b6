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
use attnum_classical::fd::Stencil;
use serde::{Deserialize, Serialize};

use super::expressivity_map::StencilTarget;
use super::{Context, ExperimentError, FieldError, NamedTable, log_log_slope};
use crate::checks::{self, Interval};
use crate::grid::LinearGrid;
use attnum_results::Table;

/// A row of `table`: one stencil on one grid at one logit bound (per-sign heads).
#[derive(Serialize)]
struct BoundRow {
    stencil: String,
    derivative: usize,
    accuracy: usize,
    points: usize,
    step: f64,
    bound: f64,
    error: f64,
    classical_error: f64,
    difference: f64,
    /// The proved bound `h^{−m} Σ_h |c_h| λ_h (max f − min f)` on `difference`.
    leak_bound: f64,
    bound_ratio: f64,
}

/// A row of `reach`: one stencil on one grid, with the smallest bound that reaches the
/// classical error (none when no bound does).
#[derive(Serialize)]
struct ReachRow {
    stencil: String,
    derivative: usize,
    accuracy: usize,
    points: usize,
    step: f64,
    classical_error: f64,
    reach_bound: Option<f64>,
}

/// A row of `slopes`: one stencil's fitted and predicted slope of the reach bound against `ln N`.
#[derive(Serialize)]
struct SlopeRow {
    stencil: String,
    derivative: usize,
    accuracy: usize,
    /// `yes` or `no`.
    antisymmetric: &'static str,
    /// Grids on which the bound was reached.
    grids: usize,
    /// None below two grids.
    fitted_slope: Option<f64>,
    predicted_slope: f64,
}

/// A row of `cancelling`: one stencil on one grid by the two cancelling heads at one scale `A`.
#[derive(Serialize)]
struct CancellingRow {
    stencil: String,
    derivative: usize,
    accuracy: usize,
    points: usize,
    scale: f64,
    logit_bound: f64,
    value_scale: f64,
    /// `½ ln(N max|w| / (2V))`.
    lower_bound: f64,
    bound_margin: f64,
    error: f64,
    classical_error: f64,
    difference: f64,
}

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

/// A checked `expressivity_logits` experiment: the stencils built and the bounds listed.
#[derive(Debug, Clone)]
pub struct CheckedExpressivityLogits {
    /// Each target with its stencil; every grid holds it at every bound.
    stencils: Vec<(StencilTarget, Stencil)>,
    points: Vec<usize>,
    /// The logit bounds, each in (0, 300].
    bounds: Vec<f64>,
    reach_factor: f64,
    /// Each in (0, 1e12].
    cancellation_scales: Vec<f64>,
}

impl ExpressivityLogits {
    /// Check every parameter and build the stencils; errors carry the field path below
    /// `experiment.expressivity_logits`.
    ///
    /// # Errors
    /// The first refused parameter.
    pub fn check(&self) -> Result<CheckedExpressivityLogits, FieldError> {
        checks::non_empty("stencils", &self.stencils, "stencil")?;
        let stencils = checks::each("stencils", &self.stencils, |target| {
            let stencil = target.stencil()?;
            if target.derivative > 2 {
                return Err(FieldError::new(
                    "derivative",
                    "the test function's derivatives are known to order 2",
                ));
            }
            Ok((*target, stencil))
        })?;
        for (_, stencil) in &stencils {
            for (j, &n) in self.points.iter().enumerate() {
                RelativeBiasStencil::per_sign(stencil, n, self.bounds.min())
                    .map_err(|e| FieldError::new(format!("points[{j}]"), e.to_string()))?;
            }
        }
        checks::non_empty("points", &self.points, "grid size")?;
        if let Some(j) = self.points.iter().position(|&n| n > MAX_POINTS) {
            return Err(FieldError::new(
                format!("points[{j}]"),
                format!("at most {MAX_POINTS} points"),
            ));
        }
        self.bounds.validate("bounds")?;
        if self.bounds.min() <= 0.0 || self.bounds.max() > 300.0 {
            return Err(FieldError::new("bounds", "B must lie in (0, 300]"));
        }
        checks::non_empty("cancellation_scales", &self.cancellation_scales, "scale")?;
        checks::each("cancellation_scales", &self.cancellation_scales, |&a| {
            checks::in_interval("", a, Interval::open_closed(0.0, 1e12))
        })?;
        if !(self.reach_factor.is_finite() && self.reach_factor > 1.0) {
            return Err(FieldError::new(
                "reach_factor",
                format!("must be a finite number above 1, got {}", self.reach_factor),
            ));
        }
        Ok(CheckedExpressivityLogits {
            stencils,
            points: self.points.clone(),
            bounds: self.bounds.values(),
            reach_factor: self.reach_factor,
            cancellation_scales: self.cancellation_scales.clone(),
        })
    }
}

impl CheckedExpressivityLogits {
    /// Run the experiment: `table` (one row per stencil, grid and bound) and `reach` (one row
    /// per stencil and grid).
    ///
    /// # Errors
    /// A head that cannot be built or a tensor operation that fails.
    pub fn run(&self) -> Result<Vec<NamedTable>, ExperimentError> {
        let (mut table, mut reach, mut slopes, mut cancelling) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let oscillation = 1f64.exp() - (-1f64).exp();
        for (target, stencil) in &self.stencils {
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
                let values = samples(&f).context("the samples as a tensor")?;
                // The attention's derivative at every grid point.
                let derivative_of = |module: &RelativeBiasStencil| {
                    let derivative = module
                        .apply_periodic(&values)
                        .and_then(|t| t.squeeze(0)?.to_vec1::<f64>())
                        .with_context(|| {
                            format!("{} on {n} points by attention", target.label())
                        })?;
                    Ok::<_, ExperimentError>(derivative.iter().map(|v| v * scale).collect::<Vec<f64>>())
                };
                let largest_weight = stencil
                    .offsets()
                    .iter()
                    .zip(stencil.weights())
                    .filter(|(o, _)| **o != 0.0)
                    .fold(0.0f64, |m, (_, w)| m.max(w.abs()));
                for &scale_a in &self.cancellation_scales {
                    let module = RelativeBiasStencil::cancelling(stencil, n, scale_a)
                        .with_context(|| {
                            format!(
                                "the cancelling heads of {} on {n} points at A = {scale_a}",
                                target.label()
                            )
                        })?;
                    let attention = derivative_of(&module)?;
                    let value_scale = module.value_scale();
                    let logit_bound = module
                        .logit_bound()
                        .context("the logit bound of the cancelling heads")?;
                    let lower_bound =
                        0.5 * (n as f64 * largest_weight / (2.0 * value_scale)).ln();
                    cancelling.push(CancellingRow {
                        stencil: target.label(),
                        derivative: m,
                        accuracy: target.accuracy,
                        points: n,
                        scale: scale_a,
                        logit_bound,
                        value_scale,
                        lower_bound,
                        bound_margin: logit_bound - lower_bound,
                        error: max_difference(&attention, &exact),
                        classical_error,
                        difference: max_difference(&attention, &classical),
                    });
                }
                let mut reached = None;
                for &bound in &self.bounds {
                    let module = RelativeBiasStencil::per_sign(stencil, n, bound)
                        .with_context(|| {
                            format!(
                                "the per-sign heads of {} on {n} points at B = {bound}",
                                target.label()
                            )
                        })?;
                    let attention = derivative_of(&module)?;
                    let error = max_difference(&attention, &exact);
                    let difference = max_difference(&attention, &classical);
                    let leak_bound = module.leak_bound(oscillation) * scale;
                    if reached.is_none() && error <= self.reach_factor * classical_error {
                        reached = Some(bound);
                    }
                    table.push(BoundRow {
                        stencil: target.label(),
                        derivative: m,
                        accuracy: target.accuracy,
                        points: n,
                        step: h,
                        bound,
                        error,
                        classical_error,
                        difference,
                        leak_bound,
                        bound_ratio: difference / leak_bound,
                    });
                }
                if let Some(bound) = reached {
                    // B against ln N: `log_log_slope` fits ln y against ln x, so pass e^B.
                    reached_at.push((n as f64, bound.exp()));
                }
                reach.push(ReachRow {
                    stencil: target.label(),
                    derivative: m,
                    accuracy: target.accuracy,
                    points: n,
                    step: h,
                    classical_error,
                    reach_bound: reached,
                });
            }
            let antisymmetric = is_antisymmetric(stencil);
            let p = target.accuracy as f64;
            let predicted = if antisymmetric {
                (1.0 + p) / 2.0
            } else {
                (1.0 + m as f64 + p) / 2.0
            };
            slopes.push(SlopeRow {
                stencil: target.label(),
                derivative: m,
                accuracy: target.accuracy,
                antisymmetric: if antisymmetric { "yes" } else { "no" },
                grids: reached_at.len(),
                fitted_slope: (reached_at.len() >= 2).then(|| log_log_slope(&reached_at)),
                predicted_slope: predicted,
            });
        }
        Ok(vec![
            NamedTable {
                stem: "table",
                table: Table::from_rows(&table),
            },
            NamedTable {
                stem: "reach",
                table: Table::from_rows(&reach),
            },
            NamedTable {
                stem: "slopes",
                table: Table::from_rows(&slopes),
            },
            NamedTable {
                stem: "cancelling",
                table: Table::from_rows(&cancelling),
            },
        ])
    }
}

