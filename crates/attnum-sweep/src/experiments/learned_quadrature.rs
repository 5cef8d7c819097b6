//! Experiment `learned_quadrature`: one scaled softmax head whose keys are trainable node
//! positions ([`LearnedQuadrature`]), meta-trained on random polynomials to integrate over
//! `[−1, 1]`, from many random starts: how often it finds Gauss–Legendre, and what it finds
//! instead.
//!
//! With `mode: learned` the nodes are trained and the functions are polynomials of degree
//! `2n − 1` (Legendre coefficients standard normal), whose only exact `n`-node rule is
//! Gauss–Legendre; with `mode: equispaced` the nodes are fixed at the closed Newton–Cotes nodes and
//! the functions have degree `n − 1`, whose only exact rule on those nodes is closed Newton–Cotes
//! (reachable by one head while its weights are positive, `n ≤ 8`).
//!
//! Tables: every restart's outcome (`restarts`: final loss, node and weight errors against the
//! reference rule, degree of exactness, smallest node gap, largest `|x_i|`, and the outcome —
//! `found`, `merged` nodes, a node at the `boundary`, or an `other` local minimum), the success
//! rate (`summary`), the best restart's nodes and weights next to the reference rule's (`nodes`),
//! and the loss curve of the first restart (`curve`).

use attnum_attention::learn::{Dataset, generator, train};
use attnum_attention::learned_rule::LearnedQuadrature;
use attnum_classical::quadrature::{self, NewtonCotes, Rule};
use candle_core::Tensor;
use rand::RngExt;
use serde::{Deserialize, Serialize};
use attnum_results::{Cell, Table};

use super::{FieldError, NamedTable};
use crate::training::Training;

/// Parameters of the `learned_quadrature` experiment.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LearnedQuadratureSpec {
    /// Number of nodes `n` (1 to 8).
    pub nodes: usize,
    /// Whether the nodes are trained or fixed at the equispaced closed nodes.
    pub mode: NodeMode,
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

/// Random polynomials by their Legendre coefficients, with the exact integrals `2 c_0`.
fn polynomials(degree: usize, count: usize, seed: u64, stream: u64) -> Dataset {
    let coefficients =
        attnum_attention::learn::normal(&mut generator(seed, stream), count * (degree + 1), 1.0);
    let targets: Vec<f64> = coefficients
        .chunks(degree + 1)
        .map(|c| 2.0 * c[0])
        .collect();
    Dataset {
        inputs: Tensor::from_vec(coefficients, (count, degree + 1), &attnum_attention::DEVICE)
            .expect("a matrix"),
        targets: Tensor::from_vec(targets, count, &attnum_attention::DEVICE).expect("a vector"),
    }
}

/// The largest entry-wise distance of two equally long lists.
fn max_distance(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

/// One trained restart.
struct Restart {
    nodes: Vec<f64>,
    weights: Vec<f64>,
    final_loss: f64,
    node_error: Option<f64>,
    weight_error: f64,
    degree: Option<usize>,
    min_gap: f64,
    max_abs_node: f64,
    outcome: &'static str,
}

/// A checked `learned_quadrature` experiment: the reference rule built.
#[derive(Debug, Clone)]
pub struct CheckedLearnedQuadrature {
    spec: LearnedQuadratureSpec,
    /// Gauss–Legendre for learned nodes, closed Newton–Cotes for equispaced ones.
    reference: Rule,
    /// The degree of the training polynomials.
    degree: usize,
}

impl LearnedQuadratureSpec {
    /// Check every parameter and build the reference rule; errors carry the field path below
    /// `experiment.learned_quadrature`.
    ///
    /// # Errors
    /// The first refused parameter.
    pub fn check(&self) -> Result<CheckedLearnedQuadrature, FieldError> {
        if !(1..=8).contains(&self.nodes) {
            return Err(FieldError::new(
                "nodes",
                format!("must be in 1..=8, got {}", self.nodes),
            ));
        }
        if self.mode == NodeMode::Equispaced && self.nodes < 2 {
            return Err(FieldError::new(
                "nodes",
                "equispaced closed nodes need at least two",
            ));
        }
        if !(1..=1000).contains(&self.restarts) {
            return Err(FieldError::new(
                "restarts",
                format!("must be in 1..=1000, got {}", self.restarts),
            ));
        }
        for (i, &n) in self.functions.iter().enumerate() {
            if !(4..=100_000).contains(&n) {
                return Err(FieldError::new(
                    format!("functions[{i}]"),
                    format!("must be 4 to 100000, got {n}"),
                ));
            }
        }
        if !(self.tolerance.is_finite() && self.tolerance > 0.0 && self.tolerance < 1.0) {
            return Err(FieldError::new(
                "tolerance",
                format!("must be in (0, 1), got {}", self.tolerance),
            ));
        }
        self.training.validate()?;
        let (reference, degree) = match self.mode {
            NodeMode::Learned => (quadrature::gauss_legendre(self.nodes), 2 * self.nodes - 1),
            NodeMode::Equispaced => (
                quadrature::newton_cotes(NewtonCotes::Closed, self.nodes),
                self.nodes - 1,
            ),
        };
        Ok(CheckedLearnedQuadrature {
            spec: self.clone(),
            reference: reference.map_err(|e| FieldError::new("nodes", e.to_string()))?,
            degree,
        })
    }
}

impl CheckedLearnedQuadrature {

    /// Train from start `index` and judge the result.
    fn restart(
        &self,
        index: usize,
        reference: &Rule,
        data: &(Dataset, Dataset),
        degree: usize,
    ) -> (Restart, Vec<attnum_attention::learn::Epoch>) {
        let n = self.spec.nodes;
        let mut start = generator(self.spec.seed, 100 + index as u64);
        let scores = attnum_attention::learn::normal(&mut start, n, 0.1);
        let head = match self.spec.mode {
            NodeMode::Learned => {
                let nodes: Vec<f64> = (0..n).map(|_| start.random_range(-0.95..0.95)).collect();
                LearnedQuadrature::learned(&nodes, &scores, degree)
            }
            NodeMode::Equispaced => LearnedQuadrature::fixed(reference.nodes(), &scores, degree),
        }
        .expect("valid starts");
        let curve = train(
            &head,
            &data.0,
            &data.1,
            &self.spec.training.settings(),
            &mut start,
        )
        .unwrap_or_else(|e| panic!("training failed: {e}"));
        let final_loss = attnum_attention::learn::mse(&head, &data.1).expect("shapes");
        // Sorted by node, as the reference rule is.
        let mut pairs: Vec<(f64, f64)> = head
            .nodes()
            .expect("nodes")
            .into_iter()
            .zip(head.weights().expect("weights"))
            .collect();
        pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
        let (nodes, weights): (Vec<f64>, Vec<f64>) = pairs.into_iter().unzip();
        let node_error =
            (self.spec.mode == NodeMode::Learned).then(|| max_distance(&nodes, reference.nodes()));
        let weight_error = max_distance(&weights, reference.weights());
        let min_gap = nodes
            .windows(2)
            .map(|w| w[1] - w[0])
            .fold(f64::INFINITY, f64::min);
        let max_abs_node = nodes.iter().map(|x| x.abs()).fold(0.0, f64::max);
        let found = match node_error {
            Some(e) => e <= self.spec.tolerance,
            None => weight_error <= self.spec.tolerance,
        };
        let outcome = if found {
            "found"
        } else if min_gap < 1e-2 {
            "merged"
        } else if max_abs_node > 0.999 && self.spec.mode == NodeMode::Learned {
            "boundary"
        } else {
            "other"
        };
        let degree_found =
            Rule::new(nodes.clone(), weights.clone()).degree_of_exactness(2 * n + 2, 1e-6);
        (
            Restart {
                nodes,
                weights,
                final_loss,
                node_error,
                weight_error,
                degree: degree_found,
                min_gap,
                max_abs_node,
                outcome,
            },
            curve,
        )
    }

    /// Run the experiment: tables `restarts`, `summary`, `nodes` and `curve`.
    ///
    /// # Panics
    /// If training
    /// diverges (reported as a failed point by the engine).
    pub fn run(&self) -> Vec<NamedTable> {
        let (reference, degree) = (&self.reference, self.degree);
        let data = (
            polynomials(degree, self.spec.functions[0], self.spec.seed, 1),
            polynomials(degree, self.spec.functions[1], self.spec.seed, 2),
        );
        let mut results = Vec::with_capacity(self.spec.restarts);
        let mut first_curve = Vec::new();
        for index in 0..self.spec.restarts {
            let (restart, curve) = self.restart(index, reference, &data, degree);
            if index == 0 {
                first_curve = curve;
            }
            results.push(restart);
        }

        let mut restarts = Table::new(&[
            "restart",
            "final_loss",
            "node_error",
            "weight_error",
            "degree",
            "min_gap",
            "max_abs_node",
            "outcome",
        ]);
        for (i, r) in results.iter().enumerate() {
            restarts.push_row(vec![
                (i + 1).into(),
                r.final_loss.into(),
                r.node_error.into(),
                r.weight_error.into(),
                r.degree.map_or(Cell::Null, Cell::from),
                if r.min_gap.is_finite() {
                    r.min_gap.into()
                } else {
                    Cell::Null
                },
                r.max_abs_node.into(),
                r.outcome.into(),
            ]);
        }

        let count = |outcome: &str| results.iter().filter(|r| r.outcome == outcome).count();
        let found = count("found");
        let best = results
            .iter()
            .min_by(|a, b| {
                let key = |r: &Restart| r.node_error.unwrap_or(r.weight_error);
                key(a).total_cmp(&key(b))
            })
            .expect("at least one restart");
        let mut losses: Vec<f64> = results.iter().map(|r| r.final_loss).collect();
        losses.sort_by(f64::total_cmp);
        let mut summary = Table::new(&[
            "reference",
            "training_degree",
            "restarts",
            "found",
            "success_rate",
            "merged",
            "boundary",
            "other",
            "median_final_loss",
            "best_node_error",
            "best_weight_error",
            "best_degree",
        ]);
        summary.push_row(vec![
            match self.spec.mode {
                NodeMode::Learned => "gauss_legendre",
                NodeMode::Equispaced => "newton_cotes_closed",
            }
            .into(),
            degree.into(),
            self.spec.restarts.into(),
            found.into(),
            (found as f64 / self.spec.restarts as f64).into(),
            count("merged").into(),
            count("boundary").into(),
            count("other").into(),
            losses[losses.len() / 2].into(),
            best.node_error.into(),
            best.weight_error.into(),
            best.degree.map_or(Cell::Null, Cell::from),
        ]);

        let mut nodes = Table::new(&[
            "index",
            "learned_node",
            "learned_weight",
            "reference_node",
            "reference_weight",
        ]);
        for i in 0..self.spec.nodes {
            nodes.push_row(vec![
                (i + 1).into(),
                best.nodes[i].into(),
                best.weights[i].into(),
                reference.nodes()[i].into(),
                reference.weights()[i].into(),
            ]);
        }
        vec![
            NamedTable {
                stem: "restarts",
                table: restarts,
            },
            NamedTable {
                stem: "summary",
                table: summary,
            },
            NamedTable {
                stem: "nodes",
                table: nodes,
            },
            NamedTable {
                stem: "curve",
                table: self.spec.training.curve_table(&first_curve),
            },
        ]
    }
}

