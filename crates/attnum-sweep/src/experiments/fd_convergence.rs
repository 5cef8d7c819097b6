//! Experiment `fd_convergence`: the error of finite-difference stencils against the step `h`.
//!
//! For each test function, derivative order and stencil it evaluates the stencil at every step
//! of a logarithmic grid and records the absolute error against the exact derivative. A companion
//! table summarises each curve: the observed order (least-squares slope of `log err` against
//! `log h` over the truncation range), the measured error floor (the smallest running median of
//! five consecutive errors, so that one step where rounding and truncation errors happen to
//! cancel does not count as the floor) and where it occurs, the smallest single error, and the
//! floor predicted by the floating-point model of [`attnum_classical::analysis`].
//!
//! The truncation range of a curve is the set of steps `h ≤ fit.max_step` at which the error
//! exceeds `fit.roundoff_margin` times the rounding-error estimate
//! `r(h) = u Σ|w_i| (|f(x_i)| + |x_i f'(x_i)|) / h^d` (sample rounding plus the rounding of the
//! abscissae `x_i = x0 + o_i h`). The slope is fitted over the smallest-step `fit.window_decades`
//! decades of that range, where the higher-order terms of the error are smallest. Where fewer
//! than `fit.min_points` steps qualify — e.g. the stencil is exact for the function — the observed
//! order is null. Beside it the table gives the slope that the first five terms of the Taylor
//! expansion of the truncation error have over the same steps: where that model slope differs
//! from the formal order, the window lies before the asymptotic regime, and the measurement is
//! expected to differ by the same amount.

use attnum_classical::analysis::{self, UNIT_ROUNDOFF};
use attnum_classical::fd::{Stencil, StencilKind};
use serde::{Deserialize, Serialize};
use attnum_results::Table;

use super::{ExperimentError, FieldError, NamedTable, log_log_slope};
use crate::checks;
use crate::grid::LogGrid;
use crate::testfn::TestFunction;

/// The most nodes of an explicit stencil (Fornberg's recurrence is quadratic in them, and wide
/// stencils lose every digit to cancellation long before).
const MAX_OFFSETS: usize = 64;

/// The most rows of the `table` (functions × derivatives × stencils × steps).
const MAX_ROWS: usize = 1_000_000;

/// Parameters of the `fd_convergence` experiment.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FdConvergence {
    /// The point at which derivatives are approximated.
    pub x0: f64,
    /// Test functions.
    pub functions: Vec<TestFunction>,
    /// Derivative orders (≥ 1).
    pub derivatives: Vec<usize>,
    /// Stencil families and their accuracy orders, or explicit offsets.
    #[serde(with = "serde_yaml::with::singleton_map_recursive")]
    pub stencils: Vec<StencilFamily>,
    /// The steps `h`.
    pub steps: LogGrid,
    /// How the observed order is fitted.
    pub fit: FitRule,
}

/// A family of stencils as written in the sweep file.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StencilFamily {
    /// Central stencils of these (even) accuracy orders.
    Central(Vec<usize>),
    /// Forward stencils of these accuracy orders.
    Forward(Vec<usize>),
    /// Backward stencils of these accuracy orders.
    Backward(Vec<usize>),
    /// One stencil on these explicit offsets (units of h).
    Offsets(Vec<f64>),
}

/// How the observed order is fitted (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FitRule {
    /// Largest step used in the fit (asymptotic regime).
    pub max_step: f64,
    /// A step is in the truncation range when its error exceeds this multiple of the rounding
    /// estimate.
    pub roundoff_margin: f64,
    /// The fit uses the smallest-step part of the truncation range spanning this many decades
    /// (the most asymptotic part: higher-order terms shrink as h decreases).
    pub window_decades: f64,
    /// Fewest steps for a fitted order; fewer gives a null order.
    pub min_points: usize,
}

/// One concrete stencil of the sweep, with the label used in the tables.
#[derive(Debug, Clone)]
struct LabelledStencil {
    label: String,
    stencil: Stencil,
    accuracy: analysis::Accuracy,
}

impl FdConvergence {
    /// Build every stencil for derivative `deriv`, or say which field makes it impossible.
    fn stencils(&self, deriv: usize) -> Result<Vec<LabelledStencil>, FieldError> {
        let mut out = Vec::new();
        for (i, family) in self.stencils.iter().enumerate() {
            let (kind, orders) = match family {
                StencilFamily::Central(o) => (StencilKind::Central, o),
                StencilFamily::Forward(o) => (StencilKind::Forward, o),
                StencilFamily::Backward(o) => (StencilKind::Backward, o),
                StencilFamily::Offsets(offsets) => {
                    let field = format!("stencils[{i}].offsets");
                    if offsets.len() > MAX_OFFSETS {
                        return Err(FieldError::new(
                            field,
                            format!(
                                "has {} nodes, more than the supported {MAX_OFFSETS}",
                                offsets.len()
                            ),
                        ));
                    }
                    let stencil = Stencil::on_offsets(deriv, offsets)
                        .map_err(|e| FieldError::new(field.clone(), e.to_string()))?;
                    let label = format!(
                        "offsets({})",
                        offsets
                            .iter()
                            .map(|o| o.to_string())
                            .collect::<Vec<_>>()
                            .join(" ")
                    );
                    out.push(labelled(label, stencil, &field)?);
                    continue;
                }
            };
            if orders.is_empty() {
                return Err(FieldError::new(
                    format!("stencils[{i}].{kind}"),
                    "needs at least one accuracy order",
                ));
            }
            for (j, &p) in orders.iter().enumerate() {
                let field = format!("stencils[{i}].{kind}[{j}]");
                if orders[..j].contains(&p) {
                    return Err(FieldError::new(field, format!("accuracy order {p} is listed twice")));
                }
                if p > 32 {
                    return Err(FieldError::new(
                        field,
                        format!("accuracy order {p} is above the supported 32"),
                    ));
                }
                let stencil = Stencil::by_accuracy(kind, deriv, p)
                    .map_err(|e| FieldError::new(field.clone(), format!("for derivative {deriv}: {e}")))?;
                out.push(labelled(kind.name().to_owned(), stencil, &field)?);
            }
        }
        Ok(out)
    }

    /// Check every parameter and build every stencil; errors carry the field path below
    /// `experiment.fd_convergence`.
    ///
    /// # Errors
    /// The first refused parameter.
    pub fn check(&self) -> Result<CheckedFdConvergence, FieldError> {
        checks::finite("x0", self.x0)?;
        checks::non_empty("functions", &self.functions, "test function")?;
        checks::non_empty("derivatives", &self.derivatives, "derivative order")?;
        checks::non_empty("stencils", &self.stencils, "stencil family")?;
        if let Some(i) =
            (1..self.functions.len()).find(|&i| self.functions[..i].contains(&self.functions[i]))
        {
            return Err(FieldError::new(
                format!("functions[{i}]"),
                format!("`{:?}` is listed twice", self.functions[i]),
            ));
        }
        let mut derivatives = Vec::with_capacity(self.derivatives.len());
        for (i, &d) in self.derivatives.iter().enumerate() {
            if self.derivatives[..i].contains(&d) {
                return Err(FieldError::new(
                    format!("derivatives[{i}]"),
                    format!("derivative order {d} is listed twice"),
                ));
            }
            checks::count_in(&format!("derivatives[{i}]"), d, 1, 8)?;
            derivatives.push((d, self.stencils(d)?));
        }
        self.steps.validate("steps")?;
        let stencils: usize = self
            .stencils
            .iter()
            .map(|family| match family {
                StencilFamily::Central(o)
                | StencilFamily::Forward(o)
                | StencilFamily::Backward(o) => o.len(),
                StencilFamily::Offsets(_) => 1,
            })
            .sum();
        let rows = self
            .functions
            .len()
            .saturating_mul(self.derivatives.len())
            .saturating_mul(stencils)
            .saturating_mul(self.steps.values().len());
        if rows > MAX_ROWS {
            return Err(FieldError::new(
                "steps",
                format!(
                    "{} functions × {} derivatives × {stencils} stencils × {} steps make {rows} \
                     rows, more than the supported {MAX_ROWS}",
                    self.functions.len(),
                    self.derivatives.len(),
                    self.steps.values().len()
                ),
            ));
        }
        let fit = &self.fit;
        checks::positive("fit.max_step", fit.max_step)?;
        if !(fit.roundoff_margin.is_finite() && fit.roundoff_margin >= 1.0) {
            return Err(FieldError::new(
                "fit.roundoff_margin",
                format!("must be ≥ 1, got {}", fit.roundoff_margin),
            ));
        }
        checks::positive("fit.window_decades", fit.window_decades)?;
        if fit.min_points < 2 {
            return Err(FieldError::new(
                "fit.min_points",
                format!("must be ≥ 2, got {}", fit.min_points),
            ));
        }
        Ok(CheckedFdConvergence {
            x0: self.x0,
            functions: self.functions.clone(),
            derivatives,
            steps: self.steps.values(),
            fit: self.fit,
        })
    }
}

/// A checked `fd_convergence` experiment: every stencil built for every derivative order.
#[derive(Debug, Clone)]
pub struct CheckedFdConvergence {
    x0: f64,
    functions: Vec<TestFunction>,
    /// Each derivative order with its stencils, in the order of the sweep file.
    derivatives: Vec<(usize, Vec<LabelledStencil>)>,
    /// The steps `h`.
    steps: Vec<f64>,
    fit: FitRule,
}

impl CheckedFdConvergence {

    /// Run the sweep: the per-step table `table` and the per-curve summary `orders`.
    pub fn run(&self) -> Result<Vec<NamedTable>, ExperimentError> {
        let mut points = Vec::new();
        let mut orders = Vec::new();
        let steps = &self.steps;
        let x0 = self.x0;
        for &f in &self.functions {
            for &(d, ref stencils) in &self.derivatives {
                for s in stencils {
                    let exact = f.derivative(d, x0);
                    let curve: Vec<CurvePoint> = steps
                        .iter()
                        .map(|&h| {
                            let value = s.stencil.apply(|x| f.value(x), x0, h);
                            let roundoff = rounding_estimate(&s.stencil, f, x0, h);
                            CurvePoint {
                                h,
                                error: (value - exact).abs(),
                                roundoff,
                                value,
                            }
                        })
                        .collect();
                    points.extend(curve.iter().map(|p| PointRow {
                        function: f.name(),
                        x0,
                        derivative: d,
                        stencil: &s.label,
                        accuracy: s.accuracy.order,
                        nodes: s.stencil.len(),
                        h: p.h,
                        value: p.value,
                        exact,
                        abs_error: p.error,
                        roundoff_estimate: p.roundoff,
                    }));
                    let fit = fit_order(&curve, &self.fit, |h| taylor_truncation(s, f, x0, h));
                    let floor = error_floor(&curve);
                    let scale = f.value(x0).abs() + (x0 * f.derivative(1, x0)).abs();
                    let model = analysis::error_floor(
                        &s.stencil,
                        s.accuracy,
                        scale,
                        f.derivative(d + s.accuracy.order, x0),
                    );
                    orders.push(OrderRow {
                        function: f.name(),
                        derivative: d,
                        stencil: &s.label,
                        accuracy: s.accuracy.order,
                        nodes: s.stencil.len(),
                        error_constant: s.accuracy.error_constant,
                        noise_amplification: analysis::noise_amplification(&s.stencil),
                        observed_order: fit.map(|f| f.slope),
                        abs_order_deviation: fit
                            .map(|f| (f.slope - s.accuracy.order as f64).abs()),
                        taylor_model_order: fit.map(|f| f.taylor_slope),
                        taylor_model_residual: fit.map(|f| (f.slope - f.taylor_slope).abs()),
                        fit_points: fit.map_or(0, |f| f.points),
                        fit_h_min: fit.map(|f| f.h_min),
                        fit_h_max: fit.map(|f| f.h_max),
                        floor_error: floor.error,
                        floor_h: floor.h,
                        min_error: floor.min_error,
                        model_floor: model.map(|m| m.floor),
                        model_h_opt: model.map(|m| m.optimal_step),
                        floor_model_ratio: model.map(|m| m.floor / floor.error),
                        step_model_ratio: model.map(|m| m.optimal_step / floor.h),
                    });
                }
            }
        }
        Ok(vec![
            NamedTable {
                stem: "table",
                table: Table::from_rows(&points),
            },
            NamedTable {
                stem: "orders",
                table: Table::from_rows(&orders),
            },
        ])
    }
}

/// A row of `table`: one stencil applied at one step.
#[derive(Serialize)]
struct PointRow<'a> {
    function: &'static str,
    x0: f64,
    derivative: usize,
    stencil: &'a str,
    accuracy: usize,
    nodes: usize,
    h: f64,
    value: f64,
    exact: f64,
    abs_error: f64,
    roundoff_estimate: f64,
}

/// A row of `orders`: one stencil's error curve summarised (fitted order, measured and modelled
/// error floor).
#[derive(Serialize)]
struct OrderRow<'a> {
    function: &'static str,
    derivative: usize,
    stencil: &'a str,
    accuracy: usize,
    nodes: usize,
    error_constant: f64,
    noise_amplification: f64,
    observed_order: Option<f64>,
    abs_order_deviation: Option<f64>,
    taylor_model_order: Option<f64>,
    taylor_model_residual: Option<f64>,
    fit_points: usize,
    fit_h_min: Option<f64>,
    fit_h_max: Option<f64>,
    floor_error: f64,
    floor_h: f64,
    min_error: f64,
    model_floor: Option<f64>,
    model_h_opt: Option<f64>,
    floor_model_ratio: Option<f64>,
    step_model_ratio: Option<f64>,
}

fn labelled(label: String, stencil: Stencil, field: &str) -> Result<LabelledStencil, FieldError> {
    let accuracy = analysis::accuracy(&stencil).ok_or_else(|| {
        FieldError::new(
            field,
            "the weights are not consistent (this is a bug: please report it)",
        )
    })?;
    Ok(LabelledStencil {
        label,
        stencil,
        accuracy,
    })
}

struct CurvePoint {
    h: f64,
    value: f64,
    error: f64,
    roundoff: f64,
}

/// Rounding-error estimate `u Σ|w_i| (|f(x_i)| + |x_i f'(x_i)|) / h^d`.
fn rounding_estimate(stencil: &Stencil, f: TestFunction, x0: f64, h: f64) -> f64 {
    let sum: f64 = stencil
        .offsets()
        .iter()
        .zip(stencil.weights())
        .map(|(&o, &w)| {
            let x = x0 + o * h;
            w.abs() * (f.value(x).abs() + (x * f.derivative(1, x)).abs())
        })
        .sum();
    UNIT_ROUNDOFF * sum / h.powi(stencil.deriv() as i32)
}

/// Steps in the running median that defines the measured error floor.
const FLOOR_WINDOW: usize = 5;

/// The measured error floor of a curve.
struct MeasuredFloor {
    /// Smallest running median of [`FLOOR_WINDOW`] consecutive errors: robust to a single step
    /// where rounding and truncation errors happen to cancel.
    error: f64,
    /// The middle step of that window.
    h: f64,
    /// The smallest single error on the grid.
    min_error: f64,
}

fn error_floor(curve: &[CurvePoint]) -> MeasuredFloor {
    let min_error = curve.iter().map(|p| p.error).fold(f64::INFINITY, f64::min);
    let width = FLOOR_WINDOW.min(curve.len());
    let (error, h) = curve
        .windows(width)
        .map(|w| {
            let mut errors: Vec<f64> = w.iter().map(|p| p.error).collect();
            errors.sort_by(f64::total_cmp);
            (errors[width / 2], w[width / 2].h)
        })
        .min_by(|a, b| a.0.total_cmp(&b.0))
        .expect("a grid has at least two steps");
    MeasuredFloor {
        error,
        h,
        min_error,
    }
}

#[derive(Debug, Clone, Copy)]
struct OrderFit {
    slope: f64,
    taylor_slope: f64,
    points: usize,
    h_min: f64,
    h_max: f64,
}

/// Number of Taylor terms in the truncation model that explains the observed order.
const TAYLOR_TERMS: usize = 5;

/// The truncation error predicted by the first [`TAYLOR_TERMS`] nonvanishing-order terms of the
/// Taylor expansion, `|Σ_{k=d+p}^{d+p+4} M_k f^(k)(x0) h^(k-d)|`.
fn taylor_truncation(s: &LabelledStencil, f: TestFunction, x0: f64, h: f64) -> f64 {
    let d = s.stencil.deriv();
    let first = d + s.accuracy.order;
    let moments = analysis::moments(&s.stencil, first + TAYLOR_TERMS);
    (first..first + TAYLOR_TERMS)
        .map(|k| moments[k] * f.derivative(k, x0) * h.powi((k - d) as i32))
        .sum::<f64>()
        .abs()
}

/// Least-squares slope of `log err` against `log h` over the fit window of the truncation range,
/// and the slope that the Taylor truncation model `taylor` has over the same steps.
fn fit_order(
    curve: &[CurvePoint],
    rule: &FitRule,
    taylor: impl Fn(f64) -> f64,
) -> Option<OrderFit> {
    let truncation: Vec<&CurvePoint> = curve
        .iter()
        .filter(|p| p.h <= rule.max_step && p.error > rule.roundoff_margin * p.roundoff)
        .collect();
    let smallest = truncation.iter().map(|p| p.h).fold(f64::INFINITY, f64::min);
    let window_top = smallest * 10f64.powf(rule.window_decades) * (1.0 + 1e-9);
    let window: Vec<(f64, f64)> = truncation
        .into_iter()
        .filter(|p| p.h <= window_top)
        .map(|p| (p.h, p.error))
        .collect();
    if window.len() < rule.min_points {
        return None;
    }
    let model: Vec<(f64, f64)> = window.iter().map(|&(h, _)| (h, taylor(h))).collect();
    Some(OrderFit {
        slope: log_log_slope(&window),
        taylor_slope: log_log_slope(&model),
        points: window.len(),
        h_min: window.iter().map(|p| p.0).fold(f64::INFINITY, f64::min),
        h_max: window.iter().map(|p| p.0).fold(0.0, f64::max),
    })
}
