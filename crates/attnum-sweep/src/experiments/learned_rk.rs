//! Experiment `learned_rk`: an explicit `s`-stage Runge–Kutta step whose stage attention is
//! trained ([`LearnedRkAttention`]: every row of `A` one scaled softmax head over the earlier
//! stage derivatives; `b` a scaled softmax, or with `output: unit` an unscaled one, so that
//! `Σ b = 1` by construction) on random quadratic systems in ℝ², from several random starts, and
//! the tree conditions the learned tableau satisfies.
//!
//! The problems are `y' = M y + Q(y ⊗ y)` with `M` entries `N(0, 0.5²)`, `Q` entries
//! `N(0, 0.25²)`, `y₀` `N(0, 0.5²)` and steps uniform or log-uniform in `[low, high]`; the target
//! is the increment `(y(h) − y₀)/h` from classical RK4 with 256 substeps. Training is
//! [`train_exact`]: the optimiser of [`attnum_attention::learn::train`] on the closed-form
//! gradient of the same loss (checked against candle in `attnum-attention/tests/learned_rk.rs`).
//!
//! Tables: each start's final loss, `max |Φ(t) − 1/γ(t)|` over the trees of each order 1–5 and
//! over the order-4 and order-5 trees that a quadratic field excites (no vertex with three or more
//! children), the signed residuals `Σ b − 1`, `bᵀc − 1/2`, `bᵀAc − 1/6` and `bᵀc² − 1/3`, `c₂`,
//! its order at the tolerance of the sweep, the nearest named method, the observed order of its
//! global error on a held-out problem and, for `s ≤ 2`, its training loss over the smallest
//! training loss of its class, minus 1 — each at the iterate that early stopping returns (the
//! validation minimiser) and most of them again at the last iterate (`_last`) (`restarts`); per
//! point the mean and 95% Student interval of these over the starts, and the order-3 residuals of
//! the start with the smallest validation loss (`summary`); the loss curve of the first start (`curve`);
//! the terms of the proposition on the consistency of a fitted one-stage step, evaluated on the
//! training and validation problems (`consistency`); and the two-stage method that the
//! proposition on small steps predicts from the training problems (`prediction`: `c₂*` and the
//! residuals at which the loss is stationary, for both parametrisations of `b`).

use attnum_attention::classify::{TableauClass, classify_tableau};
use attnum_attention::learn::{Epoch, generator, normal};
use attnum_attention::learned_tableau::{
    IncrementLoss, OutputWeights, RkParameters, problem_field, score_count,
    train_exact,
};
use attnum_classical::rk::{Tableau, named_method};
use attnum_classical::trees;
use attnum_results::Table;
use rand::RngExt;
use serde::{Deserialize, Serialize};

use super::{Context, ExperimentError, FieldError, NamedTable, log_log_slope};
use crate::checks::{self, Interval};
use crate::statistics::mean_interval;
use crate::training::Training;

/// Parameters of the `learned_rk` experiment.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LearnedRk {
    /// Stages `s` (1 to 4).
    pub stages: usize,
    /// How `b` is parametrised.
    pub output: Output,
    /// Random starts (1 to 100).
    pub restarts: usize,
    /// Training and validation problems.
    pub problems: [usize; 2],
    /// The steps of the problems.
    pub steps: Steps,
    /// Optimiser settings.
    pub training: Training,
    /// Largest tree residual that counts as a satisfied condition.
    pub tolerance: f64,
    /// Seed of the starts and the problems.
    pub seed: u64,
}

/// The output row `b`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Output {
    /// `b = e^λ softmax(s_b)`.
    Scaled,
    /// `b = softmax(s_b)`: `Σ b = 1`.
    Unit,
}

/// The steps of the training problems: `h` in `[low, high]`.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Steps {
    /// Smallest step.
    pub low: f64,
    /// Largest step.
    pub high: f64,
    /// How `h` is drawn.
    pub distribution: StepDistribution,
}

/// How a step is drawn from `[low, high]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepDistribution {
    /// Uniform in `[low, high]`.
    Uniform,
    /// `ln h` uniform in `[ln low, ln high]`.
    LogUniform,
}

/// Orders of the trees whose residuals are reported.
const MAX_TREE_ORDER: usize = 5;

/// Packed problems (rows of
/// [`PROBLEM_COLUMNS`](attnum_attention::learned_tableau::PROBLEM_COLUMNS)) with their
/// reference increments (two per problem).
struct Problems {
    rows: Vec<Vec<f64>>,
    targets: Vec<f64>,
}

impl Problems {
    /// The training loss on these problems.
    fn loss(&self) -> Result<IncrementLoss, ExperimentError> {
        IncrementLoss::new(self.rows.concat(), self.targets.clone())
            .context("the increment loss on the packed problems")
    }
}

/// `count` problems with the increments of `reference` over 256 substeps.
fn problems(count: usize, steps: Steps, reference: &Tableau, seed: u64, stream: u64) -> Problems {
    let mut rng = generator(seed, stream);
    let mut rows = Vec::with_capacity(count);
    let mut targets = Vec::with_capacity(2 * count);
    while targets.len() < 2 * count {
        let y0 = normal(&mut rng, 2, 0.5);
        let h: f64 = match steps.distribution {
            StepDistribution::Uniform => rng.random_range(steps.low..=steps.high),
            StepDistribution::LogUniform => rng
                .random_range(steps.low.ln()..=steps.high.ln())
                .exp(),
        };
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
            rows.push(problem);
        }
    }
    Problems { rows, targets }
}

/// The field of a quadratic problem and its derivatives at a point: `f`, `f′u = M u + Q(u ⊗ y +
/// y ⊗ u)` and `f″(u, v) = Q(u ⊗ v + v ⊗ u)` (`f‴ = 0`).
struct Quadratic<'a>(&'a [f64]);

impl Quadratic<'_> {
    fn field(&self, y: &[f64; 2]) -> [f64; 2] {
        let mut dy = [0.0; 2];
        problem_field(self.0, y, &mut dy);
        dy
    }

    fn second(&self, u: &[f64; 2], v: &[f64; 2]) -> [f64; 2] {
        let q = &self.0[7..15];
        let sym = [
            2.0 * u[0] * v[0],
            u[0] * v[1] + v[0] * u[1],
            u[1] * v[0] + v[1] * u[0],
            2.0 * u[1] * v[1],
        ];
        [0, 1].map(|i| (0..4).map(|j| q[4 * i + j] * sym[j]).sum::<f64>())
    }

    fn first(&self, y: &[f64; 2], u: &[f64; 2]) -> [f64; 2] {
        let m = &self.0[3..7];
        let bilinear = self.second(y, u);
        [0, 1].map(|i| m[2 * i] * u[0] + m[2 * i + 1] * u[1] + bilinear[i])
    }
}

fn dot(a: &[f64; 2], b: &[f64; 2]) -> f64 {
    a[0] * b[0] + a[1] * b[1]
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

fn euler_consistency(rows: &[Vec<f64>], targets: &[f64], reference: &Tableau) -> EulerConsistency {
    let (mut ff, mut f_delta, mut f_jf, mut remainder, mut h_sum, mut h2_sum) =
        (0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
    for (problem, delta) in rows.iter().zip(targets.chunks(2)) {
        let h = problem[2];
        let p = Quadratic(problem);
        // y‴ = f″(f, f) + f′f′f.
        let third = |y: &[f64; 2]| {
            let f = p.field(y);
            let jf = p.first(y, &f);
            let jjf = p.first(y, &jf);
            let curvature = p.second(&f, &f);
            [curvature[0] + jjf[0], curvature[1] + jjf[1]]
        };
        let y0 = [problem[0], problem[1]];
        let f = p.field(&y0);
        let jf = p.first(&y0, &f);
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

/// The two-stage limit of the proposition on small steps, from the training problems: with
/// `V = h f′f`, `U = h² f″(f, f)`, `W = h² f′f′f` stacked over the problems and `P` the
/// projection orthogonal to the directions the parametrisation leaves free (`V` for unit
/// weights; `f` and `V` for scaled ones), `c₂* = (2/3)(1 + ⟨PU, PW⟩/|PU|²)`, and the lower
/// residuals at which the leading loss is stationary are minus the least-squares coefficients
/// of `z = (c₂*/4 − 1/6) U − W/6` on those directions.
///
/// Beside the prediction, the two-stage method that minimises the training loss itself: for each
/// `c₂` the loss is quadratic in `b` (the increment is affine in it), so `b` is solved for in
/// closed form and `c₂` found by a grid over `[0.05, 20]` refined by golden sections.
#[derive(Debug, Clone, Serialize)]
struct PredictionRow {
    output_weights: &'static str,
    c2_star: f64,
    b2_star: f64,
    sum_b_minus_one_star: f64,
    bc_minus_half_star: f64,
    c2_min: f64,
    b2_min: f64,
    sum_b_minus_one_min: f64,
    min_loss: f64,
}

/// The smallest training loss of a one-stage method `y₁ = y₀ + h b f(y₀)` on the packed problems
/// and `targets`: at `b* = max(Σ⟨f, Δ⟩ / Σ|f|², 0)` for scaled weights (the closure of `b > 0`),
/// at `b = 1` for unit ones.
fn one_stage_minimum(rows: &[Vec<f64>], targets: &[f64], unit: bool) -> f64 {
    let (mut ff, mut fd, mut dd) = (0.0, 0.0, 0.0);
    for (problem, delta) in rows.iter().zip(targets.chunks(2)) {
        let f = Quadratic(problem).field(&[problem[0], problem[1]]);
        let d = [delta[0], delta[1]];
        ff += dot(&f, &f);
        fd += dot(&f, &d);
        dd += dot(&d, &d);
    }
    let b = if unit { 1.0 } else { (fd / ff).max(0.0) };
    (dd - 2.0 * b * fd + b * b * ff) / targets.len() as f64
}

/// The two-stage method with `c₂ = c` whose `b` minimises the loss on the packed problems
/// (rows of [`PROBLEM_COLUMNS`](attnum_attention::learned_tableau::PROBLEM_COLUMNS)) and `targets`: `(b₁, b₂, loss)`, `b₁ + b₂ = 1` for unit weights.
fn two_stage_profile(rows: &[Vec<f64>], targets: &[f64], c: f64, unit: bool) -> (f64, f64, f64) {
    // Residual b₁ f₀ + b₂ f(y₀ + h c f₀) − Δ; with b₁ = 1 − b₂ it is f₀ − Δ + b₂ (f₁ − f₀).
    let (mut ff, mut fg, mut gg, mut fd, mut gd, mut dd) = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
    for (problem, delta) in rows.iter().zip(targets.chunks(2)) {
        let p = Quadratic(problem);
        let (y0, h) = ([problem[0], problem[1]], problem[2]);
        let f0 = p.field(&y0);
        let f1 = p.field(&[y0[0] + h * c * f0[0], y0[1] + h * c * f0[1]]);
        let (f, g) = if unit {
            (f0, [f1[0] - f0[0], f1[1] - f0[1]])
        } else {
            (f0, f1)
        };
        let d = if unit {
            [delta[0] - f0[0], delta[1] - f0[1]]
        } else {
            [delta[0], delta[1]]
        };
        ff += dot(&f, &f);
        fg += dot(&f, &g);
        gg += dot(&g, &g);
        fd += dot(&f, &d);
        gd += dot(&g, &d);
        dd += dot(&d, &d);
    }
    let count = targets.len() as f64;
    if unit {
        let b2 = gd / gg;
        let loss = (dd - 2.0 * b2 * gd + b2 * b2 * gg) / count;
        (1.0 - b2, b2, loss)
    } else {
        let det = ff * gg - fg * fg;
        let (b1, b2) = ((gg * fd - fg * gd) / det, (ff * gd - fg * fd) / det);
        let loss = (dd - 2.0 * (b1 * fd + b2 * gd) + b1 * b1 * ff + 2.0 * b1 * b2 * fg + b2 * b2 * gg)
            / count;
        (b1, b2, loss)
    }
}

/// The `c₂` in `[0.05, 20]` that minimises [`two_stage_profile`]'s loss: the best of 400
/// log-spaced values, refined by golden sections between its neighbours.
fn two_stage_minimum(rows: &[Vec<f64>], targets: &[f64], unit: bool) -> (f64, f64, f64, f64) {
    let grid: Vec<f64> = (0..400)
        .map(|i| (0.05f64.ln() + (400f64.ln()) * i as f64 / 399.0).exp())
        .collect();
    let loss = |c: f64| two_stage_profile(rows, targets, c, unit).2;
    // The first grid point with the smallest loss.
    let best = (1..grid.len()).fold(0, |best, i| {
        if loss(grid[i]).total_cmp(&loss(grid[best])).is_lt() {
            i
        } else {
            best
        }
    });
    let (mut lo, mut hi) = (grid[best.saturating_sub(1)], grid[(best + 1).min(grid.len() - 1)]);
    let ratio = (5f64.sqrt() - 1.0) / 2.0;
    for _ in 0..80 {
        let (x1, x2) = (hi - ratio * (hi - lo), lo + ratio * (hi - lo));
        if loss(x1) <= loss(x2) {
            hi = x2;
        } else {
            lo = x1;
        }
    }
    let c = 0.5 * (lo + hi);
    let (b1, b2, l) = two_stage_profile(rows, targets, c, unit);
    (c, b1, b2, l)
}

fn predictions(rows: &[Vec<f64>], targets: &[f64]) -> [PredictionRow; 2] {
    let (mut f, mut v, mut u, mut w) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for problem in rows {
        let h = problem[2];
        let p = Quadratic(problem);
        let y0 = [problem[0], problem[1]];
        let fy = p.field(&y0);
        let jf = p.first(&y0, &fy);
        let curvature = p.second(&fy, &fy);
        let jjf = p.first(&y0, &jf);
        f.extend(fy);
        v.extend(jf.map(|x| h * x));
        u.extend(curvature.map(|x| h * h * x));
        w.extend(jjf.map(|x| h * h * x));
    }
    let inner = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
    // Least-squares coefficients of `target` on `basis` (normal equations, one or two columns).
    let coefficients = |basis: &[&[f64]], target: &[f64]| -> Vec<f64> {
        match basis {
            [a] => vec![inner(a, target) / inner(a, a)],
            [a, b] => {
                let (aa, ab, bb) = (inner(a, a), inner(a, b), inner(b, b));
                let (at, bt) = (inner(a, target), inner(b, target));
                let det = aa * bb - ab * ab;
                vec![(bb * at - ab * bt) / det, (aa * bt - ab * at) / det]
            }
            _ => unreachable!("one or two directions"),
        }
    };
    let project = |basis: &[&[f64]], x: &[f64]| -> Vec<f64> {
        let k = coefficients(basis, x);
        let mut r = x.to_vec();
        for (coef, b) in k.iter().zip(basis) {
            for (ri, bi) in r.iter_mut().zip(b.iter()) {
                *ri -= coef * bi;
            }
        }
        r
    };
    [
        ("unit", vec![&v[..]]),
        ("scaled", vec![&f[..], &v[..]]),
    ]
    .map(|(name, basis)| {
        let (pu, pw) = (project(&basis, &u), project(&basis, &w));
        let c2 = 2.0 / 3.0 * (1.0 + inner(&pu, &pw) / inner(&pu, &pu));
        let z: Vec<f64> = u
            .iter()
            .zip(&w)
            .map(|(a, b)| (c2 / 4.0 - 1.0 / 6.0) * a - b / 6.0)
            .collect();
        let k = coefficients(&basis, &z);
        let (sum_b, bc) = match k[..] {
            [rho] => (0.0, -rho),
            [sigma, rho] => (-sigma, -rho),
            _ => unreachable!("one or two directions"),
        };
        let (c2_min, b1_min, b2_min, min_loss) = two_stage_minimum(rows, targets, name == "unit");
        PredictionRow {
            output_weights: name,
            c2_star: c2,
            b2_star: (0.5 + bc) / c2,
            sum_b_minus_one_star: sum_b,
            bc_minus_half_star: bc,
            c2_min,
            b2_min,
            sum_b_minus_one_min: b1_min + b2_min - 1.0,
            min_loss,
        }
    })
}

/// The observed order of a tableau's global error on one problem over `[0, 1]`: the
/// least-squares slope over the steps `h = 1/8, 1/16, 1/32, 1/64` against `reference` with 4096
/// steps.
fn observed_order(tableau: &Tableau, problem: &[f64], reference: &Tableau) -> f64 {
    let mut field = |_: f64, y: &[f64], dy: &mut [f64]| problem_field(problem, y, dy);
    let y0 = &problem[..2];
    let exact = reference.integrate(&mut field, 0.0, y0, 1.0, 4096);
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

/// Whether a quadratic field excites a tree: `f‴ = 0`, so the elementary differential of a tree
/// with a vertex of three or more children vanishes.
fn excited(tree: &trees::RootedTree) -> bool {
    tree.children().iter().all(|c| c.len() <= 2)
}

/// The signed residuals of the two trees of order 3, `(Φ(tall) − 1/6, Φ(bushy) − 1/3)`: for
/// `c = A 1`, `bᵀA c − 1/6` and `bᵀc² − 1/3`.
fn order_three_residuals(tableau: &Tableau) -> (f64, f64) {
    // The trees of order 3 are the tall tree and the bushy tree.
    trees::trees_of_order(3)
        .iter()
        .fold((0.0, 0.0), |(tall, bushy), t| {
            if t.is_tall() {
                (t.residual(tableau), bushy)
            } else {
                (tall, t.residual(tableau))
            }
        })
}

/// What is reported of one iterate of a start, at the validation minimiser (the iterate that
/// early stopping returns) and at the last iterate.
struct Iterate {
    tableau: Tableau,
    validation_loss: f64,
    train_loss: f64,
    /// The training loss over the smallest training loss of the class, minus 1 (`s ≤ 2`).
    loss_excess: Option<f64>,
    /// The residuals of orders 1–5 and the nearest named method.
    class: TableauClass,
    residual_3_tall: f64,
    residual_3_bushy: f64,
    observed_order: f64,
}

/// The problems an iterate is evaluated on.
struct Evaluation<'a> {
    training: &'a IncrementLoss,
    validation: &'a IncrementLoss,
    /// The smallest training loss of the class (`s ≤ 2`).
    class_minimum: Option<f64>,
    /// The held-out problem of the observed order.
    held_out: &'a [f64],
    reference: &'a Tableau,
}

impl Evaluation<'_> {
    fn iterate(&self, params: &RkParameters, what: &str) -> Result<Iterate, ExperimentError> {
        let tableau = params
            .tableau()
            .with_context(|| format!("the tableau of {what}"))?;
        let train_loss = self.training.loss(params);
        let (residual_3_tall, residual_3_bushy) = order_three_residuals(&tableau);
        Ok(Iterate {
            validation_loss: self.validation.loss(params),
            train_loss,
            loss_excess: self.class_minimum.map(|m| train_loss / m - 1.0),
            class: classify_tableau(&tableau, MAX_TREE_ORDER),
            residual_3_tall,
            residual_3_bushy,
            observed_order: observed_order(&tableau, self.held_out, self.reference),
            tableau,
        })
    }
}

/// One start as a row of `restarts`: the validation minimiser (unmarked), then the last iterate
/// (`_last`).
#[derive(Debug, Clone, Serialize)]
struct RestartRow {
    restart: usize,
    epochs: usize,
    returned_epochs: usize,
    final_loss: f64,
    train_loss: f64,
    loss_excess: Option<f64>,
    order_at_tolerance: usize,
    residual_1: f64,
    residual_2: f64,
    residual_3: f64,
    residual_4: f64,
    residual_5: f64,
    excited_residual_4: f64,
    excited_residual_5: f64,
    residual_3_tall: f64,
    residual_3_bushy: f64,
    sum_b_minus_one: f64,
    bc_minus_half: f64,
    c2: Option<f64>,
    nearest: Option<String>,
    nearest_distance: Option<f64>,
    observed_order: f64,
    a: String,
    b: String,
    final_loss_last: f64,
    train_loss_last: f64,
    loss_excess_last: Option<f64>,
    residual_1_last: f64,
    residual_2_last: f64,
    residual_3_last: f64,
    residual_3_tall_last: f64,
    residual_3_bushy_last: f64,
    sum_b_minus_one_last: f64,
    c2_last: Option<f64>,
    observed_order_last: f64,
    a_last: String,
    b_last: String,
}

/// One point's statistics over its starts as the row of `summary`.
#[derive(Debug, Clone, Serialize)]
struct SummaryRow {
    restarts: usize,
    highest_order: usize,
    reaching_highest_order: usize,
    most_often_nearest: Option<String>,
    most_often_nearest_count: usize,
    log10_loss_mean: f64,
    log10_loss_low: f64,
    log10_loss_high: f64,
    residual_1_mean: f64,
    residual_1_low: f64,
    residual_1_high: f64,
    residual_2_mean: f64,
    residual_2_low: f64,
    residual_2_high: f64,
    residual_3_mean: f64,
    residual_3_low: f64,
    residual_3_high: f64,
    excited_residual_4_mean: f64,
    excited_residual_4_low: f64,
    excited_residual_4_high: f64,
    bc_minus_half_mean: f64,
    bc_minus_half_low: f64,
    bc_minus_half_high: f64,
    c2_mean: Option<f64>,
    c2_low: Option<f64>,
    c2_high: Option<f64>,
    observed_order_mean: f64,
    observed_order_low: f64,
    observed_order_high: f64,
    best_final_loss: f64,
    epochs_mean: f64,
    returned_epochs_mean: f64,
    loss_excess_mean: Option<f64>,
    loss_excess_last_mean: Option<f64>,
    residual_1_last_mean: f64,
    residual_1_last_low: f64,
    residual_1_last_high: f64,
    residual_3_last_mean: f64,
    residual_3_last_low: f64,
    residual_3_last_high: f64,
    observed_order_last_mean: f64,
    observed_order_last_low: f64,
    observed_order_last_high: f64,
    best_restart: usize,
    best_residual_3_tall: f64,
    best_residual_3_bushy: f64,
    best_residual_3_tall_last: f64,
    best_residual_3_bushy_last: f64,
}

/// The row of `consistency` for one set of problems.
#[derive(Debug, Clone, Serialize)]
struct ConsistencyRow {
    problems: &'static str,
    sum_b_best: f64,
    sum_b_best_last: f64,
    b_least_squares: f64,
    b_first_order: f64,
    remainder: f64,
    remainder_bound: f64,
    mean_h: f64,
    mean_h2: f64,
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
        let Steps { low, high, .. } = self.steps;
        checks::in_interval("steps.low", low, Interval::open_closed(0.0, 1.0))?;
        checks::in_interval("steps.high", high, Interval::closed(low, 1.0))?;
        checks::in_interval("tolerance", self.tolerance, Interval::open(0.0, 1.0))?;
        self.training.validate()?;
        Ok(CheckedLearnedRk(self.clone()))
    }
}

/// Rows of numbers as `[x, y]; [z]`, each number in the shortest form that reads back as the
/// same `f64`.
fn format_rows<'a>(rows: impl IntoIterator<Item = &'a [f64]>) -> String {
    rows.into_iter()
        .map(|r| {
            let cells: Vec<String> = r.iter().map(|x| format!("{x}")).collect();
            format!("[{}]", cells.join(", "))
        })
        .collect::<Vec<_>>()
        .join("; ")
}

impl CheckedLearnedRk {
    /// Train start `index`: its row and loss curve.
    fn start(
        &self,
        index: usize,
        evaluation: &Evaluation,
    ) -> Result<(RestartRow, Vec<Epoch>), ExperimentError> {
        let spec = &self.0;
        let s = spec.stages;
        let mut rng = generator(spec.seed, 100 + index as u64);
        let output = match spec.output {
            Output::Scaled => OutputWeights::Scaled,
            Output::Unit => OutputWeights::Unit,
        };
        let start = index + 1;
        let mut params = RkParameters::new(s, output, &normal(&mut rng, score_count(s), 1.0))
            .with_context(|| format!("the starting method of start {start}"))?;
        let run = train_exact(
            &mut params,
            evaluation.training,
            evaluation.validation,
            &spec.training.settings(),
        )
        .with_context(|| format!("training start {start}"))?;
        let returned = evaluation.iterate(&params, &format!("start {start}"))?;
        let last = evaluation.iterate(&run.last, &format!("the last iterate of start {start}"))?;
        let tableau = &returned.tableau;
        let excited_residual = |order: usize| {
            trees::trees_of_order(order)
                .iter()
                .filter(|t| excited(t))
                .map(|t| t.residual(tableau).abs())
                .fold(0.0, f64::max)
        };
        let bc: f64 = tableau
            .b()
            .iter()
            .zip(tableau.c())
            .map(|(b, c)| b * c)
            .sum();
        let sum_b_minus_one = |t: &Tableau| t.b().iter().sum::<f64>() - 1.0;
        let c2 = |t: &Tableau| (s >= 2).then(|| t.c()[1]);
        let a = |t: &Tableau| format_rows(t.a().iter().enumerate().skip(1).map(|(i, r)| &r[..i]));
        // The first epoch with the smallest validation loss: the one whose parameters are returned
        // (a run has at least one epoch: `training.epochs ≥ 1` is checked).
        let returned_epoch = run.curve.iter().fold(&run.curve[0], |best, e| {
            if e.validation_loss < best.validation_loss {
                e
            } else {
                best
            }
        });
        let row = RestartRow {
            restart: start,
            epochs: run.curve.len(),
            returned_epochs: returned_epoch.epoch + 1,
            final_loss: returned.validation_loss,
            train_loss: returned.train_loss,
            loss_excess: returned.loss_excess,
            order_at_tolerance: trees::order_of(tableau, MAX_TREE_ORDER, spec.tolerance),
            residual_1: returned.class.residuals[0],
            residual_2: returned.class.residuals[1],
            residual_3: returned.class.residuals[2],
            residual_4: returned.class.residuals[3],
            residual_5: returned.class.residuals[4],
            excited_residual_4: excited_residual(4),
            excited_residual_5: excited_residual(5),
            residual_3_tall: returned.residual_3_tall,
            residual_3_bushy: returned.residual_3_bushy,
            sum_b_minus_one: sum_b_minus_one(tableau),
            bc_minus_half: bc - 0.5,
            c2: c2(tableau),
            nearest: returned.class.nearest.as_ref().map(|c| c.name.clone()),
            nearest_distance: returned.class.nearest.as_ref().map(|c| c.distance),
            observed_order: returned.observed_order,
            a: a(tableau),
            b: format_rows([tableau.b()]),
            final_loss_last: last.validation_loss,
            train_loss_last: last.train_loss,
            loss_excess_last: last.loss_excess,
            residual_1_last: last.class.residuals[0],
            residual_2_last: last.class.residuals[1],
            residual_3_last: last.class.residuals[2],
            residual_3_tall_last: last.residual_3_tall,
            residual_3_bushy_last: last.residual_3_bushy,
            sum_b_minus_one_last: sum_b_minus_one(&last.tableau),
            c2_last: c2(&last.tableau),
            observed_order_last: last.observed_order,
            a_last: a(&last.tableau),
            b_last: format_rows([last.tableau.b()]),
        };
        Ok((row, run.curve))
    }

    /// Run the experiment: tables `restarts`, `summary`, `curve`, `consistency` and
    /// `prediction`.
    ///
    /// # Errors
    /// A start whose training diverges.
    pub fn run(&self) -> Result<Vec<NamedTable>, ExperimentError> {
        let spec = &self.0;
        let reference = named_method("rk4")
            .context("the reference method")?
            .tableau;
        let training = problems(spec.problems[0], spec.steps, &reference, spec.seed, 1);
        let validation = problems(spec.problems[1], spec.steps, &reference, spec.seed, 2);
        let unit_step = Steps {
            low: 1.0,
            high: 1.0,
            distribution: StepDistribution::Uniform,
        };
        let held_out = problems(1, unit_step, &reference, spec.seed, 3).rows.concat();
        let prediction = predictions(&training.rows, &training.targets);
        let [unit_prediction, scaled_prediction] = &prediction;
        let unit = spec.output == Output::Unit;
        let class_minimum = match spec.stages {
            1 => Some(one_stage_minimum(&training.rows, &training.targets, unit)),
            2 if unit => Some(unit_prediction.min_loss),
            2 => Some(scaled_prediction.min_loss),
            _ => None,
        };
        let (training_loss, validation_loss) = (training.loss()?, validation.loss()?);
        let evaluation = Evaluation {
            training: &training_loss,
            validation: &validation_loss,
            class_minimum,
            held_out: &held_out,
            reference: &reference,
        };
        // The first start's loss curve is kept; there is a first start (`restarts ≥ 1`).
        let (first, first_curve) = self.start(0, &evaluation)?;
        let mut rows = Vec::with_capacity(spec.restarts);
        rows.push(first);
        for index in 1..spec.restarts {
            rows.push(self.start(index, &evaluation)?.0);
        }

        let stat = |f: &dyn Fn(&RestartRow) -> f64| {
            mean_interval(&rows.iter().map(f).collect::<Vec<_>>())
        };
        let (loss, r1, r2, r3, r4) = (
            stat(&|r| r.final_loss.log10()),
            stat(&|r| r.residual_1),
            stat(&|r| r.residual_2),
            stat(&|r| r.residual_3),
            stat(&|r| r.excited_residual_4),
        );
        let (bc, observed) = (stat(&|r| r.bc_minus_half), stat(&|r| r.observed_order));
        let (r1_last, r3_last, observed_last) = (
            stat(&|r| r.residual_1_last),
            stat(&|r| r.residual_3_last),
            stat(&|r| r.observed_order_last),
        );
        let mean = |f: &dyn Fn(&RestartRow) -> f64| stat(f).0;
        let excess_mean = |f: &dyn Fn(&RestartRow) -> Option<f64>| {
            let values: Option<Vec<f64>> = rows.iter().map(f).collect();
            values.map(|v| mean_interval(&v).0)
        };
        // The first of the starts with the smallest validation loss.
        let best = rows.iter().fold(&rows[0], |best, r| {
            if r.final_loss.total_cmp(&best.final_loss).is_lt() {
                r
            } else {
                best
            }
        });
        let c2s: Vec<f64> = rows.iter().filter_map(|r| r.c2).collect();
        let c2 = (!c2s.is_empty()).then(|| mean_interval(&c2s));
        let highest = rows.iter().map(|r| r.order_at_tolerance).max().unwrap_or(0);
        let mut names: Vec<&String> = rows.iter().filter_map(|r| r.nearest.as_ref()).collect();
        names.sort();
        let mode = names
            .chunk_by(|a, b| a == b)
            .max_by_key(|run| run.len())
            .map(|run| (run[0].clone(), run.len()));
        let summary = SummaryRow {
            restarts: spec.restarts,
            highest_order: highest,
            reaching_highest_order: rows
                .iter()
                .filter(|r| r.order_at_tolerance == highest)
                .count(),
            most_often_nearest: mode.as_ref().map(|m| m.0.clone()),
            most_often_nearest_count: mode.as_ref().map_or(0, |m| m.1),
            log10_loss_mean: loss.0,
            log10_loss_low: loss.1,
            log10_loss_high: loss.2,
            residual_1_mean: r1.0,
            residual_1_low: r1.1,
            residual_1_high: r1.2,
            residual_2_mean: r2.0,
            residual_2_low: r2.1,
            residual_2_high: r2.2,
            residual_3_mean: r3.0,
            residual_3_low: r3.1,
            residual_3_high: r3.2,
            excited_residual_4_mean: r4.0,
            excited_residual_4_low: r4.1,
            excited_residual_4_high: r4.2,
            bc_minus_half_mean: bc.0,
            bc_minus_half_low: bc.1,
            bc_minus_half_high: bc.2,
            c2_mean: c2.map(|c| c.0),
            c2_low: c2.map(|c| c.1),
            c2_high: c2.map(|c| c.2),
            observed_order_mean: observed.0,
            observed_order_low: observed.1,
            observed_order_high: observed.2,
            best_final_loss: best.final_loss,
            epochs_mean: mean(&|r| r.epochs as f64),
            returned_epochs_mean: mean(&|r| r.returned_epochs as f64),
            loss_excess_mean: excess_mean(&|r| r.loss_excess),
            loss_excess_last_mean: excess_mean(&|r| r.loss_excess_last),
            residual_1_last_mean: r1_last.0,
            residual_1_last_low: r1_last.1,
            residual_1_last_high: r1_last.2,
            residual_3_last_mean: r3_last.0,
            residual_3_last_low: r3_last.1,
            residual_3_last_high: r3_last.2,
            observed_order_last_mean: observed_last.0,
            observed_order_last_low: observed_last.1,
            observed_order_last_high: observed_last.2,
            best_restart: best.restart,
            best_residual_3_tall: best.residual_3_tall,
            best_residual_3_bushy: best.residual_3_bushy,
            best_residual_3_tall_last: best.residual_3_tall_last,
            best_residual_3_bushy_last: best.residual_3_bushy_last,
        };
        // Training selects the parameters of the epoch with the smallest validation loss, so the
        // validation set's optimum matters as much as the training set's.
        let consistency: Vec<ConsistencyRow> = [("training", &training), ("validation", &validation)]
            .into_iter()
            .map(|(name, problems)| {
                let euler = euler_consistency(&problems.rows, &problems.targets, &reference);
                ConsistencyRow {
                    problems: name,
                    sum_b_best: 1.0 + best.sum_b_minus_one,
                    sum_b_best_last: 1.0 + best.sum_b_minus_one_last,
                    b_least_squares: euler.least_squares,
                    b_first_order: euler.first_order,
                    remainder: euler.least_squares - euler.first_order,
                    remainder_bound: euler.bound,
                    mean_h: euler.mean_h,
                    mean_h2: euler.mean_h2,
                }
            })
            .collect();
        Ok(vec![
            NamedTable {
                stem: "restarts",
                table: Table::from_rows(&rows),
            },
            NamedTable {
                stem: "summary",
                table: Table::from_rows(&[summary]),
            },
            NamedTable {
                stem: "consistency",
                table: Table::from_rows(&consistency),
            },
            NamedTable {
                stem: "prediction",
                table: Table::from_rows(&prediction),
            },
            NamedTable {
                stem: "curve",
                table: spec.training.curve_table(&first_curve),
            },
        ])
    }
}
