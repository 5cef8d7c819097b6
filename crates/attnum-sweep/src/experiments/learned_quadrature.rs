//! Experiment `learned_quadrature`: one scaled softmax head whose keys are trainable node
//! positions ([`LearnedQuadrature`]), meta-trained on random polynomials to integrate over
//! `[−1, 1]`, from many random starts: how often it finds Gauss–Legendre, and what it finds
//! instead.
//!
//! With `mode: learned` the nodes are trained — inside the interval as `x = tanh u`
//! (`bound: tanh`) or unbounded as `x = u` (`bound: free`) — and the functions are polynomials
//! of degree `2n − 1` (Legendre coefficients standard normal), whose only exact `n`-node rule is
//! Gauss–Legendre; with `mode: equispaced` the nodes are fixed at the closed Newton–Cotes nodes
//! and the functions have degree `n − 1`, whose only exact rule on those nodes is closed
//! Newton–Cotes (one head holds it exactly when its weights are positive). The starts: nodes
//! uniform in `(−spread, spread)` (`start: uniform`), or all within `spread` of a centre uniform
//! in `(−1/2, 1/2)` (`start: clustered`); scores `N(0, 0.1²)`; scale 1.
//!
//! Training is [`train_exact`]: AdamW with the schedule and early stopping of
//! [`attnum_attention::learn::train`] on the closed-form gradient of the same loss (the mean
//! squared error of the integral is a quadratic form in the moment errors), which
//! `attnum-attention/tests/learned_quadrature.rs` checks against candle's autograd and optimiser.
//!
//! Every start is classified by a deterministic criterion, in this order: `found` (every node
//! within `tolerance` of the reference rule's, or for fixed nodes every weight); `outside` (a
//! node with `|x| > 1`: free nodes only); `boundary` (a node with `|x| > 1 − 10⁻³`: a `tanh`
//! node saturated at an end); `merged` (two trained nodes closer than a quarter of the smallest
//! gap between Gauss–Legendre nodes); then, for distinct interior nodes that are not the
//! reference rule, `stalled` (early stopping ended the run: `patience` epochs without a better
//! validation loss) or `unconverged` (every epoch ran, the loss still improving).
//!
//! Tables: every start (`restarts`: epochs, final losses, gradient norm, node and weight errors,
//! degree of exactness, distinct nodes, smallest gap, largest `|x|`, smallest weight, outcome);
//! per point the failure rate with its 95% Wilson interval and the count of each outcome
//! (`summary`); the nodes and weights of the best start and of the first start of each failure
//! outcome next to the reference rule (`nodes`); the loss curve of the first start (`curve`).

use attnum_attention::learn::{Epoch, generator, normal};
use attnum_attention::learned_rule::{MomentLoss, NodeMap, RuleParameters, train_exact};
use attnum_classical::quadrature::{self, NewtonCotes, Rule};
use attnum_results::Table;
use rand::RngExt;
use serde::{Deserialize, Serialize};

use super::{Context, ExperimentError, FieldError, NamedTable};
use crate::checks::{self, Interval};
use crate::training::Training;

/// Parameters of the `learned_quadrature` experiment.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LearnedQuadratureSpec {
    /// Number of nodes `n` (1 to 16; 2 to 16 for fixed nodes).
    pub nodes: usize,
    /// Whether the nodes are trained or fixed at the equispaced closed nodes.
    pub mode: NodeMode,
    /// How trained positions become nodes (ignored for fixed nodes).
    pub bound: Bound,
    /// How the starting nodes are drawn (ignored for fixed nodes).
    pub start: Start,
    /// Half-width of the starting nodes' interval (uniform) or cluster (clustered).
    pub spread: f64,
    /// Random starts (1 to 1000).
    pub restarts: usize,
    /// Training and validation functions.
    pub functions: [usize; 2],
    /// Optimiser settings.
    pub training: Training,
    /// Largest node error (learned nodes) or weight error (fixed nodes) that counts as having
    /// found the reference rule.
    pub tolerance: f64,
    /// Seed of the starts and the functions.
    pub seed: u64,
}

/// Trained or fixed nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeMode {
    /// Node positions are trained (reference: Gauss–Legendre).
    Learned,
    /// Nodes fixed at the closed Newton–Cotes nodes (reference: closed Newton–Cotes).
    Equispaced,
}

/// How a trained position becomes a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Bound {
    /// `x = tanh u`: inside `(−1, 1)`.
    Tanh,
    /// `x = u`: unbounded.
    Free,
}

/// How the starting nodes are drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Start {
    /// Independent, uniform in `(−spread, spread)`.
    Uniform,
    /// A centre `c` uniform in `(−1/2, 1/2)`, then each node uniform in `(c − spread, c + spread)`.
    Clustered,
}

/// Half-width of the interval of cluster centres.
const CLUSTER_CENTRES: f64 = 0.5;
/// Two nodes closer than this fraction of the reference rule's smallest gap have merged.
const MERGE_FRACTION: f64 = 0.25;
/// A `tanh` node this close to `±1` is saturated at the boundary.
const BOUNDARY_MARGIN: f64 = 1e-3;

/// Random polynomials of degree `degree` by their Legendre coefficients (standard normal), as
/// the closed-form loss on them.
fn polynomials(
    degree: usize,
    count: usize,
    seed: u64,
    stream: u64,
) -> Result<MomentLoss, ExperimentError> {
    let coefficients = normal(&mut generator(seed, stream), count * (degree + 1), 1.0);
    MomentLoss::new(&coefficients, degree)
        .with_context(|| format!("the moment loss of {count} polynomials of degree {degree}"))
}

/// The largest entry-wise distance of two equally long lists.
fn max_distance(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

/// The 95% Wilson score interval of a proportion `k / n`.
pub(crate) fn wilson(k: usize, n: usize) -> (f64, f64) {
    const Z: f64 = 1.959_963_984_540_054;
    let (k, n) = (k as f64, n as f64);
    let p = k / n;
    let z2 = Z * Z;
    let centre = (p + z2 / (2.0 * n)) / (1.0 + z2 / n);
    let half = Z / (1.0 + z2 / n) * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    ((centre - half).max(0.0), (centre + half).min(1.0))
}

/// How a start ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Found,
    Outside,
    Boundary,
    Merged,
    Stalled,
    Unconverged,
}

impl Outcome {
    const FAILURES: [Self; 5] = [
        Self::Outside,
        Self::Boundary,
        Self::Merged,
        Self::Stalled,
        Self::Unconverged,
    ];

    fn name(self) -> &'static str {
        match self {
            Self::Found => "found",
            Self::Outside => "outside",
            Self::Boundary => "boundary",
            Self::Merged => "merged",
            Self::Stalled => "stalled",
            Self::Unconverged => "unconverged",
        }
    }
}

/// One start as a row of `restarts`.
#[derive(Debug, Clone, Serialize)]
struct RestartRow {
    restart: usize,
    epochs: usize,
    final_loss: f64,
    train_loss: f64,
    gradient_norm: f64,
    node_error: Option<f64>,
    weight_error: f64,
    degree: Option<usize>,
    distinct_nodes: usize,
    min_gap: Option<f64>,
    max_abs_node: f64,
    min_weight: f64,
    outcome: &'static str,
}

/// One point's outcome counts as the row of `summary`.
#[derive(Debug, Clone, Serialize)]
struct SummaryRow {
    reference: &'static str,
    training_degree: usize,
    restarts: usize,
    found: usize,
    failure_rate: f64,
    failure_rate_low: f64,
    failure_rate_high: f64,
    outside: usize,
    boundary: usize,
    merged: usize,
    stalled: usize,
    unconverged: usize,
    median_final_loss: f64,
    max_found_node_error: Option<f64>,
    best_node_error: Option<f64>,
    best_weight_error: f64,
    best_degree: Option<usize>,
}

/// One node of an example rule, as a row of `nodes`.
#[derive(Debug, Clone, Serialize)]
struct NodeRow {
    example: &'static str,
    example_restart: usize,
    index: usize,
    learned_node: f64,
    learned_weight: f64,
    reference_node: f64,
    reference_weight: f64,
}

/// One trained start.
struct Trained {
    row: RestartRow,
    outcome: Outcome,
    nodes: Vec<f64>,
    weights: Vec<f64>,
}

/// A checked `learned_quadrature` experiment: the reference rule built.
#[derive(Debug, Clone)]
pub struct CheckedLearnedQuadrature {
    spec: LearnedQuadratureSpec,
    /// Gauss–Legendre for learned nodes, closed Newton–Cotes for equispaced ones.
    reference: Rule,
    /// The degree of the training polynomials.
    degree: usize,
    /// Two trained nodes closer than this have merged.
    merge_gap: f64,
}

impl LearnedQuadratureSpec {
    /// Check every parameter and build the reference rule; errors carry the field path below
    /// `experiment.learned_quadrature`.
    ///
    /// # Errors
    /// The first refused parameter.
    pub fn check(&self) -> Result<CheckedLearnedQuadrature, FieldError> {
        let fewest = if self.mode == NodeMode::Equispaced { 2 } else { 1 };
        checks::count_in("nodes", self.nodes, fewest, 16)?;
        checks::count_in("restarts", self.restarts, 1, 1000)?;
        let degree = match self.mode {
            NodeMode::Learned => 2 * self.nodes - 1,
            NodeMode::Equispaced => self.nodes - 1,
        };
        checks::each("functions", &self.functions, |&n| {
            checks::count_in("", n, degree + 1, 100_000)
        })?;
        // Starting nodes lie within `reach` of 0; `tanh` nodes must start inside (−1, 1).
        let reach = match self.start {
            Start::Uniform => 0.0,
            Start::Clustered => CLUSTER_CENTRES,
        };
        let most = match self.bound {
            Bound::Tanh => 1.0 - reach,
            Bound::Free => 10.0,
        };
        checks::in_interval("spread", self.spread, Interval::open(0.0, most))?;
        checks::in_interval("tolerance", self.tolerance, Interval::open(0.0, 1.0))?;
        self.training.validate()?;
        let rule = |r: Result<Rule, _>| r.map_err(|e: quadrature::QuadratureError| {
            FieldError::new("nodes", e.to_string())
        });
        let gauss = rule(quadrature::gauss_legendre(self.nodes))?;
        let merge_gap = MERGE_FRACTION
            * gauss
                .nodes()
                .windows(2)
                .map(|w| w[1] - w[0])
                .fold(2.0, f64::min);
        let reference = match self.mode {
            NodeMode::Learned => gauss,
            NodeMode::Equispaced => {
                rule(quadrature::newton_cotes(NewtonCotes::Closed, self.nodes))?
            }
        };
        Ok(CheckedLearnedQuadrature {
            spec: self.clone(),
            reference,
            degree,
            merge_gap,
        })
    }
}

impl CheckedLearnedQuadrature {
    /// The starting parameters of start `index`.
    fn start(&self, index: usize) -> Result<RuleParameters, ExperimentError> {
        let spec = &self.spec;
        let n = spec.nodes;
        let mut rng = generator(spec.seed, 100 + index as u64);
        let scores = normal(&mut rng, n, 0.1);
        match spec.mode {
            NodeMode::Learned => {
                let centre = match spec.start {
                    Start::Uniform => 0.0,
                    Start::Clustered => rng.random_range(-CLUSTER_CENTRES..CLUSTER_CENTRES),
                };
                let nodes: Vec<f64> = (0..n)
                    .map(|_| centre + rng.random_range(-spec.spread..spec.spread))
                    .collect();
                let map = match spec.bound {
                    Bound::Tanh => NodeMap::Tanh,
                    Bound::Free => NodeMap::Free,
                };
                RuleParameters::trainable(map, &nodes, &scores)
            }
            NodeMode::Equispaced => RuleParameters::fixed(self.reference.nodes(), &scores),
        }
        .with_context(|| format!("the starting rule of start {}", index + 1))
    }

    /// Train start `index` and classify the result.
    fn train(
        &self,
        index: usize,
        data: &(MomentLoss, MomentLoss),
    ) -> Result<(Trained, Vec<Epoch>), ExperimentError> {
        let spec = &self.spec;
        let mut params = self.start(index)?;
        let curve = train_exact(&mut params, &data.0, &data.1, &spec.training.settings())
            .with_context(|| format!("training start {}", index + 1))?;
        let (train_loss, gradient) = data.0.loss_and_gradient(&params);
        let final_loss = data.1.rule_loss(&params.nodes(), &params.weights());
        // Sorted by node, as the reference rule is.
        let mut pairs: Vec<(f64, f64)> = params.nodes().into_iter().zip(params.weights()).collect();
        pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
        let (nodes, weights): (Vec<f64>, Vec<f64>) = pairs.into_iter().unzip();
        let learned = spec.mode == NodeMode::Learned;
        let node_error = learned.then(|| max_distance(&nodes, self.reference.nodes()));
        let weight_error = max_distance(&weights, self.reference.weights());
        let gaps: Vec<f64> = nodes.windows(2).map(|w| w[1] - w[0]).collect();
        let min_gap = gaps.iter().copied().reduce(f64::min);
        let max_abs_node = nodes.iter().map(|x| x.abs()).fold(0.0, f64::max);
        let found = node_error.unwrap_or(weight_error) <= spec.tolerance;
        let outcome = if found {
            Outcome::Found
        } else if learned && max_abs_node > 1.0 {
            Outcome::Outside
        } else if learned && spec.bound == Bound::Tanh && max_abs_node > 1.0 - BOUNDARY_MARGIN {
            Outcome::Boundary
        } else if learned && min_gap.is_some_and(|g| g < self.merge_gap) {
            Outcome::Merged
        } else if curve.len() < spec.training.epochs {
            Outcome::Stalled
        } else {
            Outcome::Unconverged
        };
        let row = RestartRow {
            restart: index + 1,
            epochs: curve.len(),
            final_loss,
            train_loss,
            gradient_norm: gradient.iter().map(|g| g * g).sum::<f64>().sqrt(),
            node_error,
            weight_error,
            degree: Rule::new(nodes.clone(), weights.clone())
                .degree_of_exactness(2 * spec.nodes + 2, 1e-6),
            distinct_nodes: 1 + gaps.iter().filter(|&&g| g >= self.merge_gap).count(),
            min_gap,
            max_abs_node,
            min_weight: weights.iter().copied().fold(f64::INFINITY, f64::min),
            outcome: outcome.name(),
        };
        Ok((
            Trained {
                row,
                outcome,
                nodes,
                weights,
            },
            curve,
        ))
    }

    /// Run the experiment: tables `restarts`, `summary`, `nodes` and `curve`.
    ///
    /// # Errors
    /// A training or validation family that the loss refuses, or a start whose training
    /// diverges.
    pub fn run(&self) -> Result<Vec<NamedTable>, ExperimentError> {
        let spec = &self.spec;
        let data = (
            polynomials(self.degree, spec.functions[0], spec.seed, 1)?,
            polynomials(self.degree, spec.functions[1], spec.seed, 2)?,
        );
        // The first start's loss curve is kept; there is a first start (`restarts ≥ 1`).
        let (first, first_curve) = self.train(0, &data)?;
        let mut starts = Vec::with_capacity(spec.restarts);
        starts.push(first);
        for index in 1..spec.restarts {
            starts.push(self.train(index, &data)?.0);
        }

        let count = |o: Outcome| starts.iter().filter(|t| t.outcome == o).count();
        let found = count(Outcome::Found);
        let failures = spec.restarts - found;
        let (low, high) = wilson(failures, spec.restarts);
        let error_of = |t: &Trained| t.row.node_error.unwrap_or(t.row.weight_error);
        // The first of the starts with the smallest error.
        let best = starts.iter().fold(&starts[0], |best, t| {
            if error_of(t).total_cmp(&error_of(best)).is_lt() {
                t
            } else {
                best
            }
        });
        let mut losses: Vec<f64> = starts.iter().map(|t| t.row.final_loss).collect();
        losses.sort_by(f64::total_cmp);
        let summary = SummaryRow {
            reference: match spec.mode {
                NodeMode::Learned => "gauss_legendre",
                NodeMode::Equispaced => "newton_cotes_closed",
            },
            training_degree: self.degree,
            restarts: spec.restarts,
            found,
            failure_rate: failures as f64 / spec.restarts as f64,
            failure_rate_low: low,
            failure_rate_high: high,
            outside: count(Outcome::Outside),
            boundary: count(Outcome::Boundary),
            merged: count(Outcome::Merged),
            stalled: count(Outcome::Stalled),
            unconverged: count(Outcome::Unconverged),
            median_final_loss: losses[losses.len() / 2],
            max_found_node_error: starts
                .iter()
                .filter(|t| t.outcome == Outcome::Found)
                .filter_map(|t| t.row.node_error)
                .reduce(f64::max),
            best_node_error: best.row.node_error,
            best_weight_error: best.row.weight_error,
            best_degree: best.row.degree,
        };

        // The best start, then the first start of each failure outcome that occurred.
        let mut examples: Vec<(&'static str, &Trained)> = vec![("best", best)];
        for outcome in Outcome::FAILURES {
            if let Some(t) = starts.iter().find(|t| t.outcome == outcome) {
                examples.push((outcome.name(), t));
            }
        }
        let nodes: Vec<NodeRow> = examples
            .iter()
            .flat_map(|&(example, t)| {
                (0..spec.nodes).map(move |i| NodeRow {
                    example,
                    example_restart: t.row.restart,
                    index: i + 1,
                    learned_node: t.nodes[i],
                    learned_weight: t.weights[i],
                    reference_node: self.reference.nodes()[i],
                    reference_weight: self.reference.weights()[i],
                })
            })
            .collect();
        let rows: Vec<RestartRow> = starts.into_iter().map(|t| t.row).collect();
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
                stem: "nodes",
                table: Table::from_rows(&nodes),
            },
            NamedTable {
                stem: "curve",
                table: spec.training.curve_table(&first_curve),
            },
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::wilson;

    #[test]
    fn wilson_intervals_match_published_values() {
        // Newcombe (1998), Stat. Med. 17, 857–872, Table I: 81/263 → (0.2553, 0.3662),
        // 15/148 → (0.0624, 0.1605), 0/20 → (0, 0.1611), 1/29 → (0.0061, 0.1718).
        for (k, n, lo, hi) in [
            (81, 263, 0.2553, 0.3662),
            (15, 148, 0.0624, 0.1605),
            (0, 20, 0.0, 0.1611),
            (1, 29, 0.0061, 0.1718),
        ] {
            let (a, b) = wilson(k, n);
            assert!((a - lo).abs() < 6e-5 && (b - hi).abs() < 6e-5, "{k}/{n}: ({a}, {b})");
        }
    }
}
