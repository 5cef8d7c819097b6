//! Experiment `attention_solver`: a transformer that is a PDE solver. The method of lines for
//! `u_t + f(u)_x = 0` on `[0, 1)` periodic, built from WENO attention heads, a fixed flux
//! difference and SSPRK3 as causal attention over the stages
//! (`attnum_attention::solver::AttentionSolver`), run beside the classical scheme it compiles
//! (`attnum_classical::conservation::Scheme`).
//!
//! Tables:
//! * `convergence`: smooth advection of `sin 2πx` (speed 1, to `advection_time`) and Burgers
//!   with `u₀ = sin 2πx` before the break time `1/(2π)` (to `burgers_time`, against the exact
//!   solution by characteristics), on each grid of `points`, with `Δt = cfl Δx (Δx/Δx₀)^{2/3}`
//!   (`Δx₀` the coarsest grid) so that the time error falls like `Δx⁵`: the attention solver's
//!   and the classical scheme's errors, and the largest relative difference between the two
//!   over every step of the run;
//! * `orders`: the observed order of each case from the `fit_points` finest grids;
//! * `variation`: the total variation after every step for a shock (Burgers with `sin 2πx` to
//!   `shock_time`, past the break time; a square wave `1` on `[1/4, 3/4)` advected to
//!   `square_time`), for WENO5 and for the linear fifth-order upwind stencil, with the range of
//!   the solution and the attention–classical difference;
//! * `profiles`: the attention solver's solution of the shock cases at `snapshots + 1` equally
//!   spaced times;
//! * `cost`: operation counts of one step of the attention solver (heads, multiply–adds,
//!   nonlinear elementwise operations) for both reconstructions on every grid.

use attnum_attention::solver::AttentionSolver;
use attnum_classical::conservation::{
    Flux, MAX_CFL, Reconstruction, Scheme, burgers_sine, total_variation,
};
use attnum_classical::weno::Weno5;
use attnum_results::Table;
use serde::{Deserialize, Serialize};
use std::f64::consts::PI;

use super::{Context, ExperimentError, FieldError, NamedTable, log_log_slope};

/// Parameters of the `attention_solver` experiment.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AttentionSolverSpec {
    /// Grids of the convergence runs (increasing, each 5 to 1024 points).
    pub points: Vec<usize>,
    /// Courant number `α Δt / Δx` on the coarsest grid and of the shock runs, in `(0, 1]`.
    pub cfl: f64,
    /// Final time of the smooth advection run (one period is 1).
    pub advection_time: f64,
    /// Final time of the smooth Burgers run, before the break time `1/(2π)`.
    pub burgers_time: f64,
    /// How many of the finest grids the observed order is fitted on (at least 2).
    pub fit_points: usize,
    /// Grid of the shock runs (5 to 1024 points).
    pub shock_points: usize,
    /// Final time of the Burgers shock run (past the break time, at most 10).
    pub shock_time: f64,
    /// Final time of the square-wave advection run (at most 10).
    pub square_time: f64,
    /// Number of profile snapshots after the initial one (1 to 20).
    pub snapshots: usize,
}

/// A row of `convergence`: one smooth case on one grid.
#[derive(Serialize)]
struct ConvergenceRow {
    case: &'static str,
    points: usize,
    dx: f64,
    dt: f64,
    steps: usize,
    error: f64,
    classical_error: f64,
    /// The largest relative attention–classical difference over every step.
    max_difference: f64,
}

/// A row of `orders`: the observed orders of one smooth case on the finest grids.
#[derive(Serialize)]
struct OrderRow {
    case: &'static str,
    observed_order: f64,
    classical_observed_order: f64,
}

/// A row of `variation`: one shock case and reconstruction after one step.
#[derive(Serialize)]
struct VariationRow {
    case: &'static str,
    reconstruction: &'static str,
    step: usize,
    time: f64,
    total_variation: f64,
    min: f64,
    max: f64,
    max_difference: f64,
}

/// A row of `profiles`: the attention solver's solution at one point at one snapshot.
#[derive(Serialize)]
struct ProfileRow {
    case: &'static str,
    reconstruction: &'static str,
    time: f64,
    x: f64,
    u: f64,
}

/// A row of `cost`: the operations of one step for one reconstruction on one grid.
#[derive(Serialize)]
struct CostRow {
    reconstruction: &'static str,
    points: usize,
    heads: usize,
    multiply_adds: usize,
    nonlinear: usize,
}

/// A shock case: its name, flux, final time and initial data.
type Case = (&'static str, Flux, f64, fn(f64) -> f64);

/// One run of the attention solver and of the classical scheme.
struct Run {
    classical: Vec<Vec<f64>>,
    attention: Vec<Vec<f64>>,
    grid: Vec<f64>,
    dt: f64,
}

impl Run {
    /// The largest `|attention − classical|` over every recorded step, relative to the largest
    /// classical value.
    fn difference(&self) -> f64 {
        let scale = self
            .classical
            .iter()
            .flatten()
            .map(|v| v.abs())
            .fold(0.0, f64::max);
        self.attention
            .iter()
            .flatten()
            .zip(self.classical.iter().flatten())
            .map(|(a, c)| (a - c).abs())
            .fold(0.0, f64::max)
            / scale
    }
}

/// `steps` equal steps to `time`, the fewest with `Δt ≤ dt`.
fn steps_to(time: f64, dt: f64) -> usize {
    ((time / dt).ceil() as usize).max(1)
}

fn square(x: f64) -> f64 {
    if (0.25..0.75).contains(&x) { 1.0 } else { 0.0 }
}

fn sine(x: f64) -> f64 {
    (2.0 * PI * x).sin()
}

/// Run both solvers for `time` in steps of at most `dt`, recording every step.
///
/// # Errors
/// A scheme or an attention solver that cannot be built or run on these parameters.
fn run(
    flux: Flux,
    reconstruction: Reconstruction,
    points: usize,
    time: f64,
    dt: f64,
    u0: fn(f64) -> f64,
) -> Result<Run, ExperimentError> {
    let steps = steps_to(time, dt);
    let dt = time / steps as f64;
    let scheme = Scheme::new(flux, reconstruction, points, 1.0, dt).with_context(|| {
        format!("the scheme for {flux:?} on {points} points with Δt = {dt}")
    })?;
    let grid = scheme.grid();
    let initial: Vec<f64> = grid.iter().map(|&x| u0(x)).collect();
    let record: Vec<usize> = (0..=steps).collect();
    let classical = scheme
        .run(&initial, &record)
        .with_context(|| format!("the classical run of {flux:?} on {points} points"))?;
    let attention = AttentionSolver::compile(&scheme)
        .and_then(|solver| solver.run(&initial, &record))
        .with_context(|| format!("the attention solver of {flux:?} on {points} points"))?;
    Ok(Run {
        classical,
        attention,
        grid,
        dt,
    })
}

fn max_error(u: &[f64], exact: &[f64]) -> f64 {
    u.iter()
        .zip(exact)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max)
}

impl AttentionSolverSpec {
    /// Check every parameter; errors carry the field path below `experiment.attention_solver`.
    ///
    /// # Errors
    /// The first refused parameter.
    pub fn check(&self) -> Result<CheckedAttentionSolver, FieldError> {
        if self.points.len() < 2 {
            return Err(FieldError::new(
                "points",
                "needs at least two grids"));
        }
        for (i, &n) in self.points.iter().enumerate() {
            if !(5..=1024).contains(&n) {
                return Err(FieldError::new(
                format!("points[{i}]"),
                format!("must be 5 to 1024, got {n}")));
            }
            if i > 0 && n <= self.points[i - 1] {
                return Err(FieldError::new(
                format!("points[{i}]"),
                "grids must increase"));
            }
        }
        if !(self.cfl > 0.0 && self.cfl <= MAX_CFL) {
            return Err(FieldError::new(
                "cfl",
                format!("must be in (0, {MAX_CFL}], got {}", self.cfl),
            ));
        }
        if !(self.advection_time > 0.0 && self.advection_time <= 10.0) {
            return Err(FieldError::new(
                "advection_time",
                "must be in (0, 10]"));
        }
        let break_time = 1.0 / (2.0 * PI);
        if !(self.burgers_time > 0.0 && self.burgers_time < break_time) {
            return Err(FieldError::new(
                "burgers_time",
                format!("must be in (0, 1/(2π) ≈ {break_time:.4}), before the shock forms"),
            ));
        }
        if !(2..=self.points.len()).contains(&self.fit_points) {
            return Err(FieldError::new(
                "fit_points",
                format!("must be 2 to {} (the number of grids)", self.points.len()),
            ));
        }
        if !(5..=1024).contains(&self.shock_points) {
            return Err(FieldError::new(
                "shock_points",
                "must be 5 to 1024"));
        }
        if !(self.shock_time > break_time && self.shock_time <= 10.0) {
            return Err(FieldError::new(
                "shock_time",
                format!("must be past the break time 1/(2π) ≈ {break_time:.4} and at most 10"),
            ));
        }
        if !(self.square_time > 0.0 && self.square_time <= 10.0) {
            return Err(FieldError::new(
                "square_time",
                "must be in (0, 10]"));
        }
        if !(1..=20).contains(&self.snapshots) {
            return Err(FieldError::new(
                "snapshots",
                "must be 1 to 20"));
        }
        Ok(CheckedAttentionSolver(self.clone()))
    }
}

/// An `attention_solver` spec whose grids, CFL number and times passed [`AttentionSolverSpec::check`].
#[derive(Debug, Clone)]
pub struct CheckedAttentionSolver(AttentionSolverSpec);

impl CheckedAttentionSolver {

    /// Run the experiment: `convergence`, `orders`, `variation`, `profiles` and `cost`.
    ///
    /// # Errors
    /// A scheme or an attention solver that cannot be built or run.
    pub fn run(&self) -> Result<Vec<NamedTable>, ExperimentError> {
        let spec = &self.0;
        let weno = Reconstruction::Weno(Weno5::jiang_shu());
        let dx0 = 1.0 / spec.points[0] as f64;
        let (mut convergence, mut orders) = (Vec::new(), Vec::new());
        let cases: [(&str, Flux, f64); 2] = [
            ("advection", Flux::Advection { speed: 1.0 }, spec.advection_time),
            ("burgers", Flux::Burgers, spec.burgers_time),
        ];
        for (case, flux, time) in cases {
            let (mut curve, mut classical_curve) = (Vec::new(), Vec::new());
            for &n in &spec.points {
                let dx = 1.0 / n as f64;
                let r = run(
                    flux,
                    weno,
                    n,
                    time,
                    spec.cfl * dx * (dx / dx0).powf(2.0 / 3.0),
                    sine,
                )?;
                let exact: Vec<f64> = r
                    .grid
                    .iter()
                    .map(|&x| match flux {
                        Flux::Advection { speed } => sine(x - speed * time),
                        Flux::Burgers => burgers_sine(x, time, 0.0, 1.0, 1.0),
                    })
                    .collect();
                let last = r.attention.len() - 1;
                let error = max_error(&r.attention[last], &exact);
                let classical = max_error(&r.classical[last], &exact);
                curve.push((dx, error));
                classical_curve.push((dx, classical));
                convergence.push(ConvergenceRow {
                    case,
                    points: n,
                    dx,
                    dt: r.dt,
                    steps: last,
                    error,
                    classical_error: classical,
                    max_difference: r.difference(),
                });
            }
            let finest = |c: &[(f64, f64)]| log_log_slope(&c[c.len() - spec.fit_points..]);
            orders.push(OrderRow {
                case,
                observed_order: finest(&curve),
                classical_observed_order: finest(&classical_curve),
            });
        }

        let (mut variation, mut profiles) = (Vec::new(), Vec::new());
        let dx = 1.0 / spec.shock_points as f64;
        let shocks: [Case; 2] = [
            ("burgers", Flux::Burgers, spec.shock_time, sine),
            (
                "square",
                Flux::Advection { speed: 1.0 },
                spec.square_time,
                square,
            ),
        ];
        for (case, flux, time, u0) in shocks {
            for (label, reconstruction) in [("weno5", weno), ("upwind5", Reconstruction::Upwind5)]
            {
                let r = run(flux, reconstruction, spec.shock_points, time, spec.cfl * dx, u0)?;
                let difference = r.difference();
                let steps = r.attention.len() - 1;
                for (step, u) in r.attention.iter().enumerate() {
                    let (lo, hi) = u
                        .iter()
                        .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &v| {
                            (l.min(v), h.max(v))
                        });
                    variation.push(VariationRow {
                        case,
                        reconstruction: label,
                        step,
                        time: step as f64 * r.dt,
                        total_variation: total_variation(u),
                        min: lo,
                        max: hi,
                        max_difference: difference,
                    });
                }
                for k in 0..=spec.snapshots {
                    let step = k * steps / spec.snapshots;
                    for (x, u) in r.grid.iter().zip(&r.attention[step]) {
                        profiles.push(ProfileRow {
                            case,
                            reconstruction: label,
                            time: step as f64 * r.dt,
                            x: *x,
                            u: *u,
                        });
                    }
                }
            }
        }

        let mut cost = Vec::new();
        for (label, reconstruction) in [("weno5", weno), ("upwind5", Reconstruction::Upwind5)] {
            for &n in &spec.points {
                let scheme = Scheme::new(Flux::Burgers, reconstruction, n, 1.0, 1e-3)
                    .with_context(|| format!("the Burgers scheme costed on {n} points"))?;
                let c = AttentionSolver::compile(&scheme)
                    .with_context(|| format!("the attention solver costed on {n} points"))?
                    .step_cost();
                cost.push(CostRow {
                    reconstruction: label,
                    points: n,
                    heads: c.heads,
                    multiply_adds: c.multiply_adds,
                    nonlinear: c.nonlinear,
                });
            }
        }

        Ok(vec![
            NamedTable {
                stem: "convergence",
                table: Table::from_rows(&convergence),
            },
            NamedTable {
                stem: "orders",
                table: Table::from_rows(&orders),
            },
            NamedTable {
                stem: "variation",
                table: Table::from_rows(&variation),
            },
            NamedTable {
                stem: "profiles",
                table: Table::from_rows(&profiles),
            },
            NamedTable {
                stem: "cost",
                table: Table::from_rows(&cost),
            },
        ])
    }
}
