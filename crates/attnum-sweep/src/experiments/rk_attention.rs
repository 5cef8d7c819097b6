//! Experiment `rk_attention`: explicit Runge–Kutta methods executed as causal attention over
//! their stage derivatives.
//!
//! For each named method: how many scaled softmax heads each row of `A` and the output row `b`
//! need (one when its nonzero entries are positive), the attention mask (which earlier stages
//! each row attends to), the tableau read back from the attention weights and its order from
//! the rooted-tree conditions, one attention step against the classical step on the Kepler
//! problem, and the global error of the attention integrator after one period against the step,
//! with the observed order fitted as in `rk_convergence` for it and for the classical integrator
//! on the same steps, and the largest absolute difference between their errors.

use attnum_attention::classify::{classify_tableau, relative_distance};
use attnum_attention::rk::{RkAttention, kepler};
use candle_core::{Device, Tensor};
use serde::{Deserialize, Serialize};
use attnum_results::Table;

use super::rk_convergence::{
    FinestSteps, kepler as kepler_slice, kepler_initial_value, check_kepler_runs, KeplerRuns,
};
use super::{Context, ExperimentError, FieldError, NamedTable};

/// A row of `methods`: one named method as attention.
#[derive(Serialize)]
struct MethodRow {
    method: &'static str,
    stages: usize,
    formal_order: usize,
    /// `yes` when every row needs one head.
    single_head: &'static str,
    two_head_rows: String,
    /// The stages each row attends to.
    mask: String,
    /// The order of the tableau read back from the attention weights.
    tree_order: usize,
    /// One attention step against the classical step (relative).
    step_residual: f64,
    observed_order: Option<f64>,
    classical_observed_order: Option<f64>,
    max_error_difference: f64,
}

/// A row of `table`: one method with one number of steps per period.
#[derive(Serialize)]
struct StepsRow {
    method: &'static str,
    steps: usize,
    h: f64,
    error: f64,
    classical_error: f64,
}

/// Parameters of the `rk_attention` experiment.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RkAttentionSpec {
    /// Methods (names from the classical library).
    pub methods: Vec<String>,
    /// Eccentricity of the Kepler orbit, in `[0, 0.95]`.
    pub eccentricity: f64,
    /// Numbers of steps per period (each 1 to 100000).
    pub steps: Vec<usize>,
    /// Which steps the observed order is fitted on.
    pub fit: FinestSteps,
    /// Largest tree order checked (1 to 8).
    pub max_tree_order: usize,
}

/// Rows needing two heads, as `"2, 3, b"` (stage rows numbered from 1), or `"none"`.
fn two_head_rows(counts: &[usize]) -> String {
    let s = counts.len() - 1;
    let rows: Vec<String> = counts
        .iter()
        .enumerate()
        .filter(|&(_, &c)| c == 2)
        .map(|(i, _)| {
            if i == s {
                "b".into()
            } else {
                (i + 1).to_string()
            }
        })
        .collect();
    if rows.is_empty() {
        "none".into()
    } else {
        rows.join(", ")
    }
}

/// The mask as `i:{j,…}` for each stage row that attends to anything.
fn masks(masks: &[Vec<bool>]) -> String {
    masks
        .iter()
        .enumerate()
        .filter(|(_, m)| m.iter().any(|&x| x))
        .map(|(i, m)| {
            let seen: Vec<String> = m
                .iter()
                .enumerate()
                .filter(|&(_, &x)| x)
                .map(|(j, _)| (j + 1).to_string())
                .collect();
            format!("{}:{{{}}}", i + 1, seen.join(","))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// A checked `rk_attention` experiment.
#[derive(Debug, Clone)]
pub struct CheckedRkAttention {
    runs: KeplerRuns,
    /// Trees up to this order are checked, 1 to 8.
    max_tree_order: usize,
}

impl RkAttentionSpec {
    /// Check every parameter and look up the methods; errors carry the field path below
    /// `experiment.rk_attention`.
    ///
    /// # Errors
    /// The first refused parameter.
    pub fn check(&self) -> Result<CheckedRkAttention, FieldError> {
        let runs = check_kepler_runs(
            &self.methods,
            self.eccentricity,
            &self.steps,
            100_000,
            &self.fit,
        )?;
        if !(1..=8).contains(&self.max_tree_order) {
            return Err(FieldError::new("max_tree_order", "must be 1 to 8"));
        }
        Ok(CheckedRkAttention {
            runs,
            max_tree_order: self.max_tree_order,
        })
    }
}

impl CheckedRkAttention {
    /// Run the experiment: `methods` (one row per method) and `table` (per method and step).
    ///
    /// # Errors
    /// Stage attention that cannot be compiled, read back or run.
    pub fn run(&self) -> Result<Vec<NamedTable>, ExperimentError> {
        let runs = &self.runs;
        let y0 = kepler_initial_value(runs.eccentricity);
        let y0_tensor =
            Tensor::new(&y0, &Device::Cpu).context("the initial value as a vector")?;
        let period = 2.0 * std::f64::consts::PI;
        let (mut methods, mut table) = (Vec::new(), Vec::new());
        for m in &runs.methods {
            let name = m.name;
            let attention = RkAttention::compile(&m.tableau)
                .with_context(|| format!("the stage attention of {name}"))?;
            let read_back = attention
                .tableau()
                .with_context(|| format!("the tableau read back from the attention of {name}"))?;
            let class = classify_tableau(&read_back, self.max_tree_order);
            let run = |steps: usize, h: f64| -> Result<Vec<f64>, ExperimentError> {
                let y = if steps == 1 {
                    attention.step(&mut kepler, 0.0, &y0_tensor, h)
                } else {
                    attention.integrate(&mut kepler, 0.0, &y0_tensor, period, steps)
                };
                y.and_then(|t| Ok(t.to_vec1::<f64>()?))
                    .with_context(|| format!("{steps} step(s) of {name} by attention"))
            };
            let h1 = 0.1;
            let one = run(1, h1)?;
            let classical_one = m.tableau.step(&mut kepler_slice, 0.0, &y0, h1);
            let step_residual = relative_distance(&one, &classical_one);
            let distance = |y: &[f64]| {
                y.iter()
                    .zip(&y0)
                    .map(|(a, b)| (a - b).powi(2))
                    .sum::<f64>()
                    .sqrt()
            };
            let (mut curve, mut classical_curve) = (Vec::new(), Vec::new());
            let mut difference = 0.0f64;
            for &n in &runs.steps {
                let h = period / n as f64;
                let error = distance(&run(n, h)?);
                let classical =
                    distance(&m.tableau.integrate(&mut kepler_slice, 0.0, &y0, period, n));
                curve.push((h, error));
                classical_curve.push((h, classical));
                difference = difference.max((error - classical).abs());
                table.push(StepsRow {
                    method: name,
                    steps: n,
                    h,
                    error,
                    classical_error: classical,
                });
            }
            let (observed, _) = runs.fit.observed_order(curve);
            let (classical_observed, _) = runs.fit.observed_order(classical_curve);
            methods.push(MethodRow {
                method: name,
                stages: m.tableau.stages(),
                formal_order: m.order,
                single_head: if attention.is_single_head() { "yes" } else { "no" },
                two_head_rows: two_head_rows(&attention.head_counts()),
                mask: masks(
                    &attention
                        .masks()
                        .with_context(|| format!("the masks of the attention of {name}"))?,
                ),
                tree_order: class.order,
                step_residual,
                observed_order: observed,
                classical_observed_order: classical_observed,
                max_error_difference: difference,
            });
        }
        Ok(vec![
            NamedTable {
                stem: "methods",
                table: Table::from_rows(&methods),
            },
            NamedTable {
                stem: "table",
                table: Table::from_rows(&table),
            },
        ])
    }
}
