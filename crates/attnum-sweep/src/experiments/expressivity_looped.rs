//! Experiment `expressivity_looped`: the Gauss–Legendre collocation methods as looped
//! transformers, whose `K` weight-tied blocks are `K` Picard sweeps of the stage equations.
//!
//! For each number of stages `s` and each `K = 1 … 2s + 1`, and for the converged iteration
//! (the collocation method itself): the order of the looped method from the rooted-tree
//! conditions (for `K` sweeps, the explicit `(1 + K s)`-stage tableau
//! [`Tableau::picard_tableau`]; converged, the Gauss tableau), with the order `min(K + 1, 2s)`
//! that the paper proves; the global error after one period of the Kepler problem (the problem of
//! `rk_convergence`, whose exact solution after one period is the initial value) against the
//! number of steps, and the observed order fitted on the finest steps as in `rk_convergence`;
//! and the largest difference between the attention module and the classical step over each run,
//! the attention applied to every step's starting point at once (a batch) and compared with the
//! classical step from the same point.
//!
//! The converged runs also measure the contraction of the sweep map: on each step, the largest
//! ratio `δ_m / δ_{m−1}` of successive stage increments `δ_m = max_i ‖k_i⁽ᵐ⁾ − k_i⁽ᵐ⁻¹⁾‖∞`
//! among the sweeps whose increment is still above `10⁻¹⁰ max(1, ‖f(t, y)‖∞)` (below that,
//! rounding decides the ratio), against the sufficient condition's factor `h L ‖A‖∞` with
//! `L = ‖∂f/∂y(y_n)‖∞` at the step's starting point.

use attnum_attention::looped::{LoopedRk, kepler_tokens};
use attnum_classical::rk::{FixedPointError, Tableau};
use attnum_classical::trees;
use candle_core::{Device, Tensor};
use serde::{Deserialize, Serialize};

use super::rk_convergence::{FinestSteps, kepler, kepler_initial_value, check_kepler_orbit};
use super::{Context, ExperimentError, FieldError, NamedTable};
use crate::checks;
use attnum_results::Table;

/// A row of `orders`: one method (`K` Picard sweeps, or the converged collocation) of `s` stages.
#[derive(Serialize)]
struct OrderRow {
    stages: usize,
    /// `picard` or `collocation`.
    method: &'static str,
    /// `K`, or the most sweeps the converged iteration took.
    sweeps: usize,
    tableau_stages: usize,
    /// `min(K + 1, 2s)`.
    predicted_order: usize,
    tree_order: usize,
    observed_order: Option<f64>,
    fit_points: usize,
    smallest_error: Option<f64>,
    max_step_difference: f64,
    /// `bᵀAᴷc` (Picard only).
    tall_tree_weight: Option<f64>,
    sweep_error_predicted_order: Option<f64>,
    sweep_error_observed_order: Option<f64>,
}

/// A row of `table`: one method of `s` stages with one number of steps.
#[derive(Serialize)]
struct StepsRow {
    stages: usize,
    method: &'static str,
    sweeps: usize,
    steps: usize,
    h: f64,
    /// None when the run failed.
    error: Option<f64>,
    /// The largest attention–classical difference over the run's steps.
    step_difference: Option<f64>,
    /// The Picard step against the converged one from the same points (Picard only).
    sweep_error: Option<f64>,
}

/// A row of `contraction`: the converged iteration of `s` stages with one number of steps.
#[derive(Serialize)]
struct ContractionRow {
    stages: usize,
    steps: usize,
    h: f64,
    norm_a: f64,
    lipschitz: f64,
    /// `h L ‖A‖∞`.
    bound: f64,
    measured: Option<f64>,
    measured_over_bound: Option<f64>,
    mean_sweeps: f64,
    max_sweeps: usize,
    /// Why the run stopped, or `none`.
    failure: String,
}

/// A row of `blocks`: the heads of the looped block of `s` stages and its read-back tableau.
#[derive(Serialize)]
struct BlockRow {
    stages: usize,
    /// The heads of each stage row, comma-separated.
    heads_per_row: String,
    output_heads: usize,
    norm_a: f64,
    read_back_error: f64,
}

/// Parameters of the `expressivity_looped` experiment.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ExpressivityLooped {
    /// Numbers of collocation stages `s` (distinct, each 1 to 5); the sweeps are `K = 1 … 2s + 1`.
    pub stages: Vec<usize>,
    /// Eccentricity of the Kepler orbit, in `[0, 0.95]`.
    pub eccentricity: f64,
    /// Numbers of steps per period (each 1 to 100000).
    pub steps: Vec<usize>,
    /// Which steps the observed order of the global error is fitted on.
    pub fit: FinestSteps,
    /// Which steps the observed order of the sweep error (one Picard step against the converged
    /// step from the same point, whose rounding floor is lower) is fitted on.
    pub sweep_fit: FinestSteps,
    /// Largest tree order checked: above `2s` for every `s`, at most 10.
    pub max_tree_order: usize,
    /// The converged iteration stops when a sweep moves no stage derivative by more than
    /// `tolerance · max(1, max_i ‖k_i‖∞)`: in `[1e-16, 1e-6]`.
    pub tolerance: f64,
    /// Sweeps allowed per step before the converged iteration fails (1 to 1000).
    pub max_sweeps: usize,
}

/// `‖∂f/∂y‖∞` of the Kepler field at `y`: `∂q'/∂p = I` and `∂p'/∂q = (3 q qᵀ/r² − I)/r³`.
fn kepler_lipschitz(y: &[f64]) -> f64 {
    let (q1, q2) = (y[0], y[1]);
    let r2 = q1 * q1 + q2 * q2;
    let r3 = r2 * r2.sqrt();
    let g = [
        [(3.0 * q1 * q1 / r2 - 1.0) / r3, 3.0 * q1 * q2 / (r2 * r3)],
        [3.0 * q1 * q2 / (r2 * r3), (3.0 * q2 * q2 / r2 - 1.0) / r3],
    ];
    g.iter()
        .map(|row| row[0].abs() + row[1].abs())
        .fold(1.0, f64::max)
}

/// `bᵀ Aᴷ c`: the elementary weight of the tall tree with `K + 2` nodes.
fn tall_tree_weight(tableau: &Tableau, sweeps: usize) -> f64 {
    let mut v = tableau.c().to_vec();
    for _ in 0..sweeps {
        v = tableau
            .a()
            .iter()
            .map(|row| row.iter().zip(&v).map(|(a, x)| a * x).sum())
            .collect();
    }
    tableau.b().iter().zip(&v).map(|(b, x)| b * x).sum()
}

fn max_norm<'a>(v: impl IntoIterator<Item = &'a f64>) -> f64 {
    v.into_iter().fold(0.0f64, |m, x| m.max(x.abs()))
}

/// The converged iteration on one step.
struct Iteration {
    /// Sweeps done (the limit when it failed).
    sweeps: usize,
    /// The largest ratio of successive increments above rounding, if any.
    contraction: Option<f64>,
    /// `L = ‖∂f/∂y(y_n)‖∞` at the step's starting point.
    lipschitz: f64,
    /// `‖y_K − y*‖∞` for `K = 1 … 2s + 1`: the Picard step from the same point against the
    /// converged one.
    sweep_errors: Vec<f64>,
}

/// A run of one method over one period: the starting point of every step, the end point, and
/// for the converged iteration what every step's iteration did.
struct Run {
    starts: Vec<[f64; 4]>,
    ends: Vec<[f64; 4]>,
    iterations: Vec<Iteration>,
    /// The first failure of the converged iteration, if any.
    failure: Option<String>,
}

impl Run {
    /// The global error after one period (the exact solution is back at `y0`), unless the run
    /// failed.
    fn error(&self, y0: &[f64; 4]) -> Option<f64> {
        self.failure.is_none().then(|| {
            let end = self.ends.last().unwrap_or(y0);
            end.iter()
                .zip(y0)
                .map(|(a, b)| (a - b).powi(2))
                .sum::<f64>()
                .sqrt()
        })
    }
}

/// How one step is taken.
#[derive(Clone, Copy)]
enum Method {
    Picard(usize),
    Collocation,
}

/// A checked `expressivity_looped` experiment: the Gauss–Legendre tableaus built.
#[derive(Debug, Clone)]
pub struct CheckedExpressivityLooped {
    spec: ExpressivityLooped,
    /// `(s, tableau)` for each number of stages, in the order of the sweep file.
    stages: Vec<(usize, Tableau)>,
}

impl ExpressivityLooped {
    /// Check every parameter and build the tableaus; errors carry the field path below
    /// `experiment.expressivity_looped`.
    ///
    /// # Errors
    /// The first refused parameter.
    pub fn check(&self) -> Result<CheckedExpressivityLooped, FieldError> {
        checks::non_empty("stages", &self.stages, "number of stages")?;
        let mut stages = Vec::with_capacity(self.stages.len());
        for (i, &s) in self.stages.iter().enumerate() {
            let field = format!("stages[{i}]");
            checks::count_in(&field, s, 1, 4)?;
            if self.stages[..i].contains(&s) {
                return Err(FieldError::new(field, format!("{s} is listed twice")));
            }
            let gauss =
                Tableau::gauss_legendre(s).map_err(|e| FieldError::new(field, e.to_string()))?;
            stages.push((s, gauss));
        }
        check_kepler_orbit(self.eccentricity, &self.steps, 100_000, &self.fit)?;
        check_kepler_orbit(self.eccentricity, &self.steps, 100_000, &self.sweep_fit)
            .map_err(|e| FieldError { path: e.path.replace("fit.", "sweep_fit."), ..e })?;
        let largest = self.stages.iter().max().copied().unwrap_or(1);
        if !(2 * largest + 1..=10).contains(&self.max_tree_order) {
            return Err(FieldError::new(
                "max_tree_order",
                format!(
                    "must be above 2s = {} for the largest s (to see the order stop there) and \
                     at most 10, got {}",
                    2 * largest,
                    self.max_tree_order
                ),
            ));
        }
        if !(1e-16..=1e-6).contains(&self.tolerance) {
            return Err(FieldError::new(
                "tolerance",
                format!("must be in [1e-16, 1e-6], got {}", self.tolerance),
            ));
        }
        if !(1..=1000).contains(&self.max_sweeps) {
            return Err(FieldError::new(
                "max_sweeps",
                format!("must be 1 to 1000, got {}", self.max_sweeps),
            ));
        }
        Ok(CheckedExpressivityLooped {
            spec: self.clone(),
            stages,
        })
    }
}

impl CheckedExpressivityLooped {

    /// Integrate one period in `n` steps with `method`, keeping every step's start.
    fn run_one(&self, gauss: &Tableau, method: Method, n: usize) -> Run {
        let y0 = kepler_initial_value(self.spec.eccentricity);
        let h = 2.0 * std::f64::consts::PI / n as f64;
        let mut run = Run {
            starts: Vec::with_capacity(n),
            ends: Vec::with_capacity(n),
            iterations: Vec::new(),
            failure: None,
        };
        let mut y = y0;
        for step in 0..n {
            let t = step as f64 * h;
            let next = match method {
                Method::Picard(sweeps) => gauss.picard_step(&mut kepler, t, &y, h, sweeps),
                Method::Collocation => {
                    let lipschitz = kepler_lipschitz(&y);
                    match gauss.implicit_step(
                        &mut kepler,
                        t,
                        &y,
                        h,
                        self.spec.tolerance,
                        self.spec.max_sweeps,
                    ) {
                        Ok(done) => {
                            let mut f0 = [0.0; 4];
                            kepler(t, &y, &mut f0);
                            let floor = 1e-10 * max_norm(&f0).max(1.0);
                            let contraction = done
                                .increments
                                .windows(2)
                                .filter(|w| w[1] > floor)
                                .map(|w| w[1] / w[0])
                                .reduce(f64::max);
                            let sweep_errors = (1..=2 * gauss.stages() + 1)
                                .map(|k| {
                                    let picard = gauss.picard_step(&mut kepler, t, &y, h, k);
                                    max_norm(
                                        &picard
                                            .iter()
                                            .zip(&done.y)
                                            .map(|(a, b)| a - b)
                                            .collect::<Vec<_>>(),
                                    )
                                })
                                .collect();
                            run.iterations.push(Iteration {
                                sweeps: done.sweeps,
                                contraction,
                                lipschitz,
                                sweep_errors,
                            });
                            done.y
                        }
                        Err(e) => {
                            // The failing step counts in the contraction measured: its last
                            // ratio of increments says by how much the sweeps fail to contract.
                            let contraction = match &e {
                                FixedPointError::NotConverged { ratio, .. } => Some(*ratio),
                                _ => None,
                            };
                            run.iterations.push(Iteration {
                                sweeps: self.spec.max_sweeps,
                                contraction,
                                lipschitz,
                                sweep_errors: Vec::new(),
                            });
                            let why = match e {
                                FixedPointError::NotConverged { sweeps, .. } => {
                                    format!("no convergence in {sweeps} sweeps")
                                }
                                FixedPointError::NotFinite { sweep } => {
                                    format!("a stage derivative overflowed in sweep {sweep}")
                                }
                                FixedPointError::Invalid(message) => message,
                            };
                            run.failure = Some(format!("step {} of {n}: {why}", step + 1));
                            return run;
                        }
                    }
                }
            };
            run.starts.push(y);
            y = [next[0], next[1], next[2], next[3]];
            run.ends.push(y);
        }
        run
    }

    /// The largest difference between the looped attention with `sweeps` blocks, applied to
    /// every start of the run at once, and the classical steps of the run.
    ///
    /// # Errors
    /// A tensor operation of the looped attention that fails.
    fn attention_difference(
        &self,
        looped: &LoopedRk,
        run: &Run,
        h: f64,
        sweeps: usize,
    ) -> Result<f64, ExperimentError> {
        let times: Vec<f64> = (0..run.starts.len()).map(|i| i as f64 * h).collect();
        let flat: Vec<f64> = run.starts.iter().flatten().copied().collect();
        let starts = Tensor::from_vec(flat, (run.starts.len(), 4), &Device::Cpu)
            .context("the starts of the steps as a matrix")?;
        let out = looped
            .steps(&mut kepler_tokens, &times, &starts, h, sweeps)
            .and_then(|t| Ok(t.to_vec2::<f64>()?))
            .with_context(|| format!("{sweeps} looped blocks at h = {h}"))?;
        Ok(out
            .iter()
            .zip(&run.ends)
            .map(|(a, b)| max_norm(&[a[0] - b[0], a[1] - b[1], a[2] - b[2], a[3] - b[3]]))
            .fold(0.0, f64::max))
    }

    /// Run the experiment: `orders` (per stages and method), `table` (per stages, method and
    /// steps), `contraction` (per stages and steps, from the converged iteration) and `blocks`
    /// (per stages: the heads of the block's attention rows and the tableau read back from them).
    ///
    /// # Errors
    /// A block that cannot be compiled, a tableau that cannot be read back or unrolled, or a tensor operation that fails.
    pub fn run(&self) -> Result<Vec<NamedTable>, ExperimentError> {
        let y0 = kepler_initial_value(self.spec.eccentricity);
        let period = 2.0 * std::f64::consts::PI;
        let (mut orders, mut table, mut blocks, mut contraction) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for &(s, ref gauss) in &self.stages {
            let looped = LoopedRk::compile(gauss)
                .with_context(|| format!("the looped block of the {s}-stage Gauss method"))?;
            let norm_a = gauss
                .a()
                .iter()
                .map(|row| row.iter().map(|x| x.abs()).sum::<f64>())
                .fold(0.0, f64::max);
            let counts = looped.head_counts();
            let read_back = looped
                .tableau()
                .with_context(|| format!("the tableau read back from the {s}-stage block"))?;
            let entries = |t: &Tableau| -> Vec<f64> {
                t.a().iter().flatten().chain(t.b()).copied().collect()
            };
            let read_back_error = entries(&read_back)
                .iter()
                .zip(entries(gauss))
                .fold(0.0f64, |m, (x, y)| m.max((x - y).abs()));
            blocks.push(BlockRow {
                stages: s,
                heads_per_row: counts[..s]
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", "),
                output_heads: counts[s],
                norm_a,
                read_back_error,
            });
            let converged: Vec<Run> = self
                .spec
                .steps
                .iter()
                .map(|&n| self.run_one(gauss, Method::Collocation, n))
                .collect();
            for (&n, run) in self.spec.steps.iter().zip(&converged) {
                let h = period / n as f64;
                let its = &run.iterations;
                let lipschitz = its.iter().map(|it| it.lipschitz).fold(0.0, f64::max);
                let over_bound = its
                    .iter()
                    .filter_map(|it| it.contraction.map(|m| m / (h * norm_a * it.lipschitz)))
                    .reduce(f64::max);
                contraction.push(ContractionRow {
                    stages: s,
                    steps: n,
                    h,
                    norm_a,
                    lipschitz,
                    bound: h * lipschitz * norm_a,
                    measured: its.iter().filter_map(|it| it.contraction).reduce(f64::max),
                    measured_over_bound: over_bound,
                    mean_sweeps: its.iter().map(|it| it.sweeps as f64).sum::<f64>()
                        / its.len() as f64,
                    max_sweeps: its.iter().map(|it| it.sweeps).max().unwrap_or(0),
                    failure: run.failure.clone().unwrap_or_else(|| "none".into()),
                });
            }
            let methods = (1..=2 * s + 1)
                .map(Method::Picard)
                .chain([Method::Collocation]);
            for method in methods {
                let (name, tableau_stages, predicted, tree_order) = match method {
                    Method::Picard(k) => {
                        let unrolled = gauss.picard_tableau(k).with_context(|| {
                            format!("the {k}-sweep Picard tableau of the {s}-stage Gauss method")
                        })?;
                        (
                            "picard",
                            unrolled.stages(),
                            (k + 1).min(2 * s),
                            trees::order_of(&unrolled, self.spec.max_tree_order, 1e-12),
                        )
                    }
                    Method::Collocation => (
                        "collocation",
                        s,
                        2 * s,
                        trees::order_of(gauss, self.spec.max_tree_order, 1e-12),
                    ),
                };
                let (mut curve, mut sweep_curve) = (Vec::new(), Vec::new());
                let mut smallest = None::<f64>;
                let mut largest_difference = 0.0f64;
                let mut most_sweeps = 0;
                for (&n, collocation) in self.spec.steps.iter().zip(&converged) {
                    let h = period / n as f64;
                    let (run, sweeps, sweep_error) = match method {
                        Method::Picard(k) => {
                            // The Picard step against the converged one from the same points.
                            let sweep_error = collocation.failure.is_none().then(|| {
                                collocation
                                    .iterations
                                    .iter()
                                    .map(|it| it.sweep_errors[k - 1])
                                    .fold(0.0, f64::max)
                            });
                            (&self.run_one(gauss, method, n), k, sweep_error)
                        }
                        Method::Collocation => (
                            collocation,
                            collocation
                                .iterations
                                .iter()
                                .map(|it| it.sweeps)
                                .max()
                                .unwrap_or(0),
                            None,
                        ),
                    };
                    let error = run.error(&y0);
                    let difference = error
                        .map(|error| {
                            most_sweeps = most_sweeps.max(sweeps);
                            curve.push((h, error));
                            smallest = Some(smallest.map_or(error, |m| m.min(error)));
                            let difference = self.attention_difference(&looped, run, h, sweeps)?;
                            largest_difference = largest_difference.max(difference);
                            Ok::<_, ExperimentError>(difference)
                        })
                        .transpose()?;
                    if let Some(e) = sweep_error {
                        sweep_curve.push((h, e));
                    }
                    table.push(StepsRow {
                        stages: s,
                        method: name,
                        sweeps,
                        steps: n,
                        h,
                        error,
                        step_difference: difference,
                        sweep_error,
                    });
                }
                let (observed, fitted) = self.spec.fit.observed_order(curve);
                // The K-sweep step differs from the converged one first on the tall tree with
                // K + 2 nodes, by its collocation weight bᵀAᴷc: order K + 2 unless that vanishes.
                let (tall, sweep_predicted, sweep_observed) = match method {
                    Method::Picard(k) => {
                        let tall = tall_tree_weight(gauss, k);
                        let predicted = if tall.abs() > 1e-14 { k + 2 } else { k + 3 };
                        (
                            Some(tall),
                            Some(predicted as f64),
                            self.spec.sweep_fit.observed_order(sweep_curve).0,
                        )
                    }
                    Method::Collocation => (None, None, None),
                };
                orders.push(OrderRow {
                    stages: s,
                    method: name,
                    sweeps: most_sweeps,
                    tableau_stages,
                    predicted_order: predicted,
                    tree_order,
                    observed_order: observed,
                    fit_points: fitted,
                    smallest_error: smallest,
                    max_step_difference: largest_difference,
                    tall_tree_weight: tall,
                    sweep_error_predicted_order: sweep_predicted,
                    sweep_error_observed_order: sweep_observed,
                });
            }
        }
        Ok(vec![
            NamedTable {
                stem: "orders",
                table: Table::from_rows(&orders),
            },
            NamedTable {
                stem: "table",
                table: Table::from_rows(&table),
            },
            NamedTable {
                stem: "contraction",
                table: Table::from_rows(&contraction),
            },
            NamedTable {
                stem: "blocks",
                table: Table::from_rows(&blocks),
            },
        ])
    }
}

