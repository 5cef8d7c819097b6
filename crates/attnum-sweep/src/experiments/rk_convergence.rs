//! Experiment `rk_convergence`: global error of the named Runge–Kutta methods on the Kepler
//! problem against the step, and their observed orders.
//!
//! The Kepler problem `q'' = −q/|q|³` with `q(0) = (1 − e, 0)`, `q'(0) = (0, √((1+e)/(1−e)))`
//! is a nonlinear system of four first-order equations whose solution has period `2π`, so after
//! integrating over one period the exact solution is the initial value: the global error needs no
//! reference solution. A scalar or linear test problem would hide order conditions (it sees only
//! some elementary differentials); this one does not.
//!
//! The observed order is the least-squares slope of `log err` against `log h` over the
//! `fit.points` smallest steps whose error is above `fit.min_error`: the most asymptotic steps
//! that are not yet dominated by the rounding errors accumulated over the steps.

use attnum_classical::rk::{self, NamedMethod};
use attnum_classical::trees;
use serde::{Deserialize, Serialize};
use attnum_results::Table;

use super::{ExperimentError, FieldError, NamedTable, log_log_slope};
use crate::checks::{self, Interval};

/// A row of `table`: one method with one number of steps per period.
#[derive(Serialize)]
struct StepsRow {
    method: &'static str,
    stages: usize,
    /// The order from the rooted-tree conditions.
    formal_order: usize,
    steps: usize,
    h: f64,
    error: f64,
}

/// A row of `orders`: one method's observed order.
#[derive(Serialize)]
struct OrderRow {
    method: &'static str,
    stages: usize,
    formal_order: usize,
    /// None when fewer than `fit.points` steps have errors above `fit.min_error`.
    observed_order: Option<f64>,
    abs_order_deviation: Option<f64>,
    fit_points: usize,
    smallest_error: f64,
}

/// Parameters of the `rk_convergence` experiment.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RkConvergence {
    /// Methods (names from the classical library).
    pub methods: Vec<String>,
    /// Eccentricity of the orbit, in `[0, 0.95]`.
    pub eccentricity: f64,
    /// Numbers of steps per period (each ≥ 1).
    pub steps: Vec<usize>,
    /// Which steps the observed order is fitted on.
    pub fit: FinestSteps,
}

/// The fit uses the `points` smallest steps whose error exceeds `min_error`.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FinestSteps {
    /// Errors at or below this are taken to be dominated by rounding.
    pub min_error: f64,
    /// Number of steps in the fit (≥ 2).
    pub points: usize,
}

/// Right-hand side of the Kepler problem in first-order form `y = (q1, q2, p1, p2)`.
pub(crate) fn kepler(_t: f64, y: &[f64], dy: &mut [f64]) {
    let r3 = (y[0] * y[0] + y[1] * y[1]).powf(1.5);
    dy[0] = y[2];
    dy[1] = y[3];
    dy[2] = -y[0] / r3;
    dy[3] = -y[1] / r3;
}

impl FinestSteps {
    /// The observed order of an error curve `(h, error)`: the log–log slope over the `points`
    /// smallest steps whose error exceeds `min_error` (`None` when fewer remain), and how many
    /// points were fitted.
    pub(crate) fn observed_order(&self, curve: Vec<(f64, f64)>) -> (Option<f64>, usize) {
        let mut fit: Vec<(f64, f64)> = curve
            .into_iter()
            .filter(|&(_, e)| e.is_finite() && e > self.min_error)
            .collect();
        fit.sort_by(|a, b| a.0.total_cmp(&b.0));
        fit.truncate(self.points);
        let observed = (fit.len() == self.points).then(|| log_log_slope(&fit));
        (observed, fit.len())
    }
}

/// The initial value `(1 − e, 0, 0, √((1+e)/(1−e)))` of the Kepler orbit with eccentricity `e`.
pub(crate) fn kepler_initial_value(e: f64) -> [f64; 4] {
    [1.0 - e, 0.0, 0.0, ((1.0 + e) / (1.0 - e)).sqrt()]
}

/// Checked parameters shared by the Kepler-problem experiments: the named methods, the orbit's
/// eccentricity, the step counts and the fit.
#[derive(Debug, Clone)]
pub(crate) struct KeplerRuns {
    /// The methods, in the order of the sweep file.
    pub methods: Vec<NamedMethod>,
    /// The eccentricity, in `[0, 0.95]`.
    pub eccentricity: f64,
    /// At least two step counts per period.
    pub steps: Vec<usize>,
    /// Which steps the observed order is fitted on.
    pub fit: FinestSteps,
}

/// Check the parameters shared by the Kepler-problem experiments: named methods, an eccentricity
/// in `[0, 0.95]`, at least two step counts between 1 and `max_steps`, and the fit.
pub(crate) fn check_kepler_runs(
    methods: &[String],
    eccentricity: f64,
    steps: &[usize],
    max_steps: usize,
    fit: &FinestSteps,
) -> Result<KeplerRuns, FieldError> {
    checks::non_empty("methods", methods, "method")?;
    let methods = checks::each("methods", methods, |name| {
        rk::named_method(name).map_err(|e| FieldError::new("", e.to_string()))
    })?;
    check_kepler_orbit(eccentricity, steps, max_steps, fit)?;
    Ok(KeplerRuns {
        methods,
        eccentricity,
        steps: steps.to_vec(),
        fit: *fit,
    })
}

/// Check the orbit and steps of a Kepler-problem experiment: an eccentricity in `[0, 0.95]`, at
/// least two step counts between 1 and `max_steps`, and the fit.
pub(crate) fn check_kepler_orbit(
    eccentricity: f64,
    steps: &[usize],
    max_steps: usize,
    fit: &FinestSteps,
) -> Result<(), FieldError> {
    checks::in_interval("eccentricity", eccentricity, Interval::closed(0.0, 0.95))?;
    if steps.len() < 2 {
        return Err(FieldError::new("steps", "needs at least two step counts"));
    }
    checks::each("steps", steps, |&n| checks::count_in("", n, 1, max_steps))?;
    checks::positive("fit.min_error", fit.min_error)?;
    if !(2..=steps.len()).contains(&fit.points) {
        return Err(FieldError::new(
            "fit.points",
            format!(
                "must be between 2 and the number of steps, got {}",
                fit.points
            ),
        ));
    }
    Ok(())
}

/// A checked `rk_convergence` experiment.
#[derive(Debug, Clone)]
pub struct CheckedRkConvergence(KeplerRuns);

impl RkConvergence {
    /// Check every parameter and look up the methods; errors carry the field path below
    /// `experiment.rk_convergence`.
    ///
    /// # Errors
    /// The first refused parameter.
    pub fn check(&self) -> Result<CheckedRkConvergence, FieldError> {
        check_kepler_runs(
            &self.methods,
            self.eccentricity,
            &self.steps,
            1_000_000,
            &self.fit,
        )
        .map(CheckedRkConvergence)
    }
}

impl CheckedRkConvergence {
    /// Run the experiment: the per-step table `table` and the per-method table `orders`.
    pub fn run(&self) -> Result<Vec<NamedTable>, ExperimentError> {
        let runs = &self.0;
        let y0 = kepler_initial_value(runs.eccentricity);
        let period = 2.0 * std::f64::consts::PI;
        let (mut table, mut orders) = (Vec::new(), Vec::new());
        for m in &runs.methods {
            let name = m.name;
            let formal = trees::order_of(&m.tableau, 8, 1e-12);
            let mut curve = Vec::new();
            let mut smallest = f64::INFINITY;
            for &n in &runs.steps {
                let y = m.tableau.integrate(&mut kepler, 0.0, &y0, period, n);
                let error = y
                    .iter()
                    .zip(&y0)
                    .map(|(a, b)| (a - b).powi(2))
                    .sum::<f64>()
                    .sqrt();
                let h = period / n as f64;
                curve.push((h, error));
                smallest = smallest.min(error);
                table.push(StepsRow {
                    method: name,
                    stages: m.tableau.stages(),
                    formal_order: formal,
                    steps: n,
                    h,
                    error,
                });
            }
            let (observed, fitted) = runs.fit.observed_order(curve);
            orders.push(OrderRow {
                method: name,
                stages: m.tableau.stages(),
                formal_order: formal,
                observed_order: observed,
                abs_order_deviation: observed.map(|o| (o - formal as f64).abs()),
                fit_points: fitted,
                smallest_error: smallest,
            });
        }
        Ok(vec![
            NamedTable {
                stem: "table",
                table: Table::from_rows(&table),
            },
            NamedTable {
                stem: "orders",
                table: Table::from_rows(&orders),
            },
        ])
    }
}
