//! Experiment `learned_rk`: an explicit `s`-stage Runge–Kutta step whose stage attention is
//! trained ([`LearnedRkAttention`]: every row of `A` and `b` one scaled softmax head over the
//! earlier stage derivatives) on random quadratic systems in ℝ², from several random starts, and
//! the tree conditions the learned tableau satisfies.
//!
//! The problems are `y' = M y + Q(y ⊗ y)` with `M` entries `N(0, 0.5²)`, `Q` entries
//! `N(0, 0.25²)`, `y₀` `N(0, 0.5²)` and steps uniform in `[h_min, h_max]`; the target is the
//! increment `(y(h) − y₀)/h` from classical RK4 with 256 substeps (error below 1e-13 here).
//!
//! Tables: each start's final loss, its tableau, `max |Φ(t) − 1/γ(t)|` over the trees of each
//! order 1–5, its order at the tolerance of the sweep, the nearest named method and the observed
//! order of its global error on a held-out problem (`restarts`); the best start per stage count
//! (`summary`); the loss curve of the first start (`curve`); and the terms of the proposition on
//! the consistency of a fitted step, evaluated on the training problems (`consistency`: the
//! least-squares one-stage weight `b*`, its first-order prediction, the remainder and its bound).

use attnum_attention::classify::classify_tableau;
use attnum_attention::learn::{Dataset, generator, mse, normal, train};
use attnum_attention::learned_tableau::{LearnedRkAttention, PROBLEM_COLUMNS, problem_field};
use attnum_classical::rk::{Tableau, named_method};
use attnum_classical::trees;
use candle_core::Tensor;
use rand::RngExt;
use serde::{Deserialize, Serialize};
use attnum_results::{Cell, Table};

use super::{FieldError, NamedTable, log_log_slope};
use crate::checks::{self, Interval};
use crate::training::Training;

/// Parameters of the `learned_rk` experiment.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LearnedRk {
    /// Stages `s` (1 to 4).
    pub stages: usize,
    /// Random starts (1 to 100).
    pub restarts: usize,
    /// Training and validation problems.
    pub problems: [usize; 2],
    /// The range of steps `[h_min, h_max]`.
    pub steps: [f64; 2],
    /// Optimiser settings.
    pub training: Training,
    /// Largest tree residual that counts as a satisfied condition.
    pub tolerance: f64,
    /// Seed of the starts and the problems.
    pub seed: u64,
}

/// Orders of the trees whose residuals are reported.
const MAX_TREE_ORDER: usize = 5;

/// `count` packed problems with the reference increments (flattened, two per problem).
fn problems(count: usize, steps: [f64; 2], seed: u64, stream: u64) -> Dataset {
    let mut rng = generator(seed, stream);
    let mut rows = Vec::with_capacity(count * PROBLEM_COLUMNS);
    let mut targets = Vec::with_capacity(2 * count);
    let reference = named_method("rk4").expect("a named method").tableau;
    while targets.len() < 2 * count {
        let y0 = normal(&mut rng, 2, 0.5);
        let h: f64 = rng.random_range(steps[0]..=steps[1]);
        let mut problem = vec![y0[0], y0[1], h];
        problem.extend(normal(&mut rng, 4, 0.5));
        problem.extend(normal(&mut rng, 8, 0.25));
        let y1 = reference.integrate(
            &mut |_, y, dy| problem_field(&problem, y, dy),
            0.0,
            &y0,
            h,
            256,
        );
        // Problems that blow up within the step are not smooth enough to teach an order.
        if y1.iter().all(|v| v.is_finite() && v.abs() < 10.0) {
            targets.extend(y1.iter().zip(&y0).map(|(a, b)| (a - b) / h));
            rows.extend(problem);
        }
    }
    Dataset {
        inputs: Tensor::from_vec(rows, (count, PROBLEM_COLUMNS), &attnum_attention::DEVICE)
            .expect("a matrix"),
        targets: Tensor::from_vec(targets, 2 * count, &attnum_attention::DEVICE).expect("a vector"),
    }
}

/// The one-stage weight that minimises the training loss, `b* = Σ⟨f, Δ⟩ / Σ|f|²`, against its
/// expansion `1 + Σ h⟨f, f′f⟩ / (2Σ|f|²) + ρ`, with the bound `|ρ| ≤ Σ h²|f| M / (6Σ|f|²)`,
/// where `M` is the largest `|y‴|` over the reference trajectory of the step (sampled at its 256
/// substeps). Sums run over the problems of `data`; norms are Euclidean.
struct EulerConsistency {
    least_squares: f64,
    first_order: f64,
    bound: f64,
    mean_h: f64,
    mean_h2: f64,
}

fn euler_consistency(data: &Dataset) -> EulerConsistency {
    let rows: Vec<Vec<f64>> = data.inputs.to_vec2().expect("a matrix");
    let targets: Vec<f64> = data.targets.to_vec1().expect("a vector");
    let reference = named_method("rk4").expect("a named method").tableau;
    let dot = |a: &[f64; 2], b: &[f64; 2]| a[0] * b[0] + a[1] * b[1];
    let (mut ff, mut f_delta, mut f_jf, mut remainder, mut h_sum, mut h2_sum) =
        (0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
    for (problem, delta) in rows.iter().zip(targets.chunks(2)) {
        let h = problem[2];
        let field = |y: &[f64]| {
            let mut dy = [0.0; 2];
            problem_field(problem, y, &mut dy);
            dy
        };
        // f′(y)u = M u + Q(u ⊗ y + y ⊗ u) and f″(y)(u, v) = Q(u ⊗ v + v ⊗ u).
        let (m, q) = (&problem[3..7], &problem[7..15]);
        let quadratic = |u: &[f64; 2], v: &[f64; 2]| {
            let sym = [
                2.0 * u[0] * v[0],
                u[0] * v[1] + v[0] * u[1],
                u[1] * v[0] + v[1] * u[0],
                2.0 * u[1] * v[1],
            ];
            [0, 1].map(|i| (0..4).map(|j| q[4 * i + j] * sym[j]).sum::<f64>())
        };
        let jacobian = |y: &[f64; 2], u: &[f64; 2]| {
            let bilinear = quadratic(y, u);
            [0, 1].map(|i| m[2 * i] * u[0] + m[2 * i + 1] * u[1] + bilinear[i])
        };
        let third = |y: &[f64; 2]| {
            let f = field(y);
            let jf = jacobian(y, &f);
            let jjf = jacobian(y, &jf);
            let curvature = quadratic(&f, &f);
            [curvature[0] + jjf[0], curvature[1] + jjf[1]]
        };
        let y0 = [problem[0], problem[1]];
        let f = field(&y0);
        let jf = jacobian(&y0, &f);
        let substeps = 256;
        let mut y = y0;
        let mut largest_third = dot(&third(&y), &third(&y)).sqrt();
        for n in 0..substeps {
            let t = h * n as f64 / substeps as f64;
            let next = reference.integrate(
                &mut |_, y, dy| problem_field(problem, y, dy),
                t,
                &y,
                t + h / substeps as f64,
                1,
            );
            y = [next[0], next[1]];
            largest_third = largest_third.max(dot(&third(&y), &third(&y)).sqrt());
        }
        ff += dot(&f, &f);
        f_delta += dot(&f, &[delta[0], delta[1]]);
        f_jf += h * dot(&f, &jf);
        remainder += h * h * dot(&f, &f).sqrt() * largest_third;
        h_sum += h;
        h2_sum += h * h;
    }
    let count = rows.len() as f64;
    EulerConsistency {
        least_squares: f_delta / ff,
        first_order: 1.0 + f_jf / (2.0 * ff),
        bound: remainder / (6.0 * ff),
        mean_h: h_sum / count,
        mean_h2: h2_sum / count,
    }
}

/// The observed order of a tableau's global error on one problem over `[0, 1]` (steps 8 to
/// 64, against RK4 with 4096 steps).
fn observed_order(tableau: &Tableau, problem: &[f64]) -> f64 {
    let mut field = |_: f64, y: &[f64], dy: &mut [f64]| problem_field(problem, y, dy);
    let y0 = &problem[..2];
    let exact = named_method("rk4")
        .expect("a named method")
        .tableau
        .integrate(&mut field, 0.0, y0, 1.0, 4096);
    let errors: Vec<(f64, f64)> = [8, 16, 32, 64]
        .iter()
        .map(|&n| {
            let y = tableau.integrate(&mut field, 0.0, y0, 1.0, n);
            let error = y
                .iter()
                .zip(&exact)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f64::max);
            (1.0 / n as f64, error.max(1e-300))
        })
        .collect();
    log_log_slope(&errors)
}

/// A checked `learned_rk` experiment (its parameters are numbers: checking builds nothing, but
/// only a checked one runs).
#[derive(Debug, Clone)]
pub struct CheckedLearnedRk(LearnedRk);

impl LearnedRk {
    /// Check every parameter; errors carry the field path below `experiment.learned_rk`.
    ///
    /// # Errors
    /// The first refused parameter.
    pub fn check(&self) -> Result<CheckedLearnedRk, FieldError> {
        checks::count_in("stages", self.stages, 1, 4)?;
        checks::count_in("restarts", self.restarts, 1, 100)?;
        checks::each("problems", &self.problems, |&n| {
            checks::count_in("", n, 4, 100_000)
        })?;
        let [low, high] = self.steps;
        if !(low.is_finite() && high.is_finite() && 0.0 < low && low <= high && high <= 1.0) {
            return Err(FieldError::new(
                "steps",
                format!("must satisfy 0 < h_min ≤ h_max ≤ 1, got [{low}, {high}]"),
            ));
        }
        checks::in_interval("tolerance", self.tolerance, Interval::open(0.0, 1.0))?;
        self.training.validate()?;
        Ok(CheckedLearnedRk(self.clone()))
    }
}

impl CheckedLearnedRk {

    /// Run the experiment: tables `restarts`, `summary` and `curve`.
    ///
    /// # Panics
    /// If training diverges (reported as a failed point by the engine).
    pub fn run(&self) -> Vec<NamedTable> {
        let spec = &self.0;
        let s = spec.stages;
        let training = problems(spec.problems[0], spec.steps, spec.seed, 1);
        let validation = problems(spec.problems[1], spec.steps, spec.seed, 2);
        let held_out: Vec<f64> = {
            let test = problems(1, [1.0, 1.0], spec.seed, 3);
            test.inputs
                .flatten_all()
                .and_then(|t| t.to_vec1())
                .expect("a row")
        };
        let mut table = Table::new(&[
            "restart",
            "final_loss",
            "order_at_tolerance",
            "residual_1",
            "residual_2",
            "residual_3",
            "residual_4",
            "residual_5",
            "nearest",
            "nearest_distance",
            "observed_order",
            "a",
            "b",
        ]);
        let mut first_curve = Vec::new();
        let mut results: Vec<(usize, f64, f64, f64)> = Vec::new();
        for index in 0..spec.restarts {
            let mut start = generator(spec.seed, 100 + index as u64);
            let scores = normal(&mut start, s * (s - 1) / 2 + s, 1.0);
            let model = LearnedRkAttention::new(s, &scores).expect("valid sizes");
            let curve = train(
                &model,
                &training,
                &validation,
                &spec.training.settings(),
                &mut start,
            )
            .unwrap_or_else(|e| panic!("training failed: {e}"));
            if index == 0 {
                first_curve = curve;
            }
            let tableau = model.tableau().expect("a tableau");
            let class = classify_tableau(&tableau, MAX_TREE_ORDER);
            let order = trees::order_of(&tableau, MAX_TREE_ORDER, spec.tolerance);
            let loss = mse(&model, &validation).expect("shapes");
            let observed = observed_order(&tableau, &held_out);
            results.push((order, loss, observed, tableau.b().iter().sum()));
            let mut row: Vec<Cell> = vec![(index + 1).into(), loss.into(), order.into()];
            row.extend(class.residuals.iter().map(|&r| Cell::from(r)));
            row.extend([
                class
                    .nearest
                    .as_ref()
                    .map_or(Cell::Null, |c| c.name.clone().into()),
                class.nearest.as_ref().map(|c| c.distance).into(),
                observed.into(),
                format_rows(tableau.a().iter().skip(1).map(|r| &r[..])).into(),
                format_rows([tableau.b()]).into(),
            ]);
            table.push_row(row);
        }
        let best = results
            .iter()
            .copied()
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .expect("at least one start");
        let mut summary = Table::new(&[
            "restarts",
            "highest_order",
            "reaching_highest_order",
            "best_final_loss",
            "best_order",
            "best_observed_order",
        ]);
        let highest = results.iter().map(|r| r.0).max().unwrap_or(0);
        summary.push_row(vec![
            spec.restarts.into(),
            highest.into(),
            results.iter().filter(|r| r.0 == highest).count().into(),
            best.1.into(),
            best.0.into(),
            best.2.into(),
        ]);
        let mut consistency = Table::new(&[
            "problems",
            "sum_b_best",
            "b_least_squares",
            "b_first_order",
            "remainder",
            "remainder_bound",
            "mean_h",
            "mean_h2",
        ]);
        // Training selects the parameters of the epoch with the smallest validation loss, so the
        // validation set's optimum matters as much as the training set's.
        for (name, data) in [("training", &training), ("validation", &validation)] {
            let euler = euler_consistency(data);
            consistency.push_row(vec![
                name.into(),
                best.3.into(),
                euler.least_squares.into(),
                euler.first_order.into(),
                (euler.least_squares - euler.first_order).into(),
                euler.bound.into(),
                euler.mean_h.into(),
                euler.mean_h2.into(),
            ]);
        }
        vec![
            NamedTable {
                stem: "restarts",
                table,
            },
            NamedTable {
                stem: "consistency",
                table: consistency,
            },
            NamedTable {
                stem: "summary",
                table: summary,
            },
            NamedTable {
                stem: "curve",
                table: spec.training.curve_table(&first_curve),
            },
        ]
    }
}

/// Rows of numbers as `[x, y]; [z]` with five significant digits.
fn format_rows<'a>(rows: impl IntoIterator<Item = &'a [f64]>) -> String {
    rows.into_iter()
        .map(|r| {
            let cells: Vec<String> = r.iter().map(|x| format!("{x:.5}")).collect();
            format!("[{}]", cells.join(", "))
        })
        .collect::<Vec<_>>()
        .join("; ")
}

