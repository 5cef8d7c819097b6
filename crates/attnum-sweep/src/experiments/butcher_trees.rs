//! Experiment `butcher_trees`: rooted trees, their counts, and the order conditions of the named
//! Runge–Kutta methods.
//!
//! Tables:
//! * `counts`: for each order p, the number of trees generated, A000081(p) from the recurrence,
//!   and `Σ α(t)` against `(p−1)!`;
//! * `trees`: every tree up to `max_order` with γ, σ, α, whether it is bushy, and the elementary
//!   weight `Φ(t)` and residual `Φ(t) − 1/γ(t)` of each method in `methods` (long format);
//! * `methods`: for each named method, its stages, claimed order, the order found from the tree
//!   conditions (and whether the two agree), whether its tableau is non-negative, and how many
//!   trees of the next order it fails, with the largest residual.

use attnum_classical::rk;
use attnum_classical::trees::{self, RootedTree};
use serde::{Deserialize, Serialize};
use attnum_results::Table;

use super::{ExperimentError, FieldError, NamedTable};
use crate::checks;

/// A row of `counts`: the trees of one order.
#[derive(Serialize)]
struct CountRow {
    order: usize,
    /// Trees generated (none above order 12, where only the recurrence is tabulated).
    generated: Option<usize>,
    a000081: usize,
    /// `Σ α(t)` over the generated trees.
    alpha_sum: Option<usize>,
    /// `(p − 1)!`.
    factorial: usize,
}

/// A row of `trees`: one tree and one method's elementary weight on it.
#[derive(Serialize)]
struct TreeRow {
    /// The tree's index (from 1) in the order of `trees_up_to`.
    tree: usize,
    levels: String,
    order: usize,
    gamma: usize,
    sigma: usize,
    alpha: usize,
    /// 1 for a bushy tree, 0 otherwise.
    bushy: usize,
    method: &'static str,
    phi: f64,
    inverse_gamma: f64,
    /// `Φ(t) − 1/γ(t)`.
    residual: f64,
}

/// A row of `methods`: one named method's order conditions.
#[derive(Serialize)]
struct MethodRow {
    method: &'static str,
    title: &'static str,
    stages: usize,
    claimed_order: usize,
    tree_order: usize,
    /// 1 when the tree order is the claimed one, 0 otherwise.
    order_confirmed: usize,
    /// 1 when every tableau entry is non-negative, 0 otherwise.
    non_negative: usize,
    next_order_trees: usize,
    next_order_failing: usize,
    next_order_max_residual: f64,
}

/// Parameters of the `butcher_trees` experiment.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ButcherTrees {
    /// Trees up to this order go into the `trees` table (1 to 8).
    pub max_order: usize,
    /// Counts and α sums are checked up to this order (1 to 16).
    pub count_to: usize,
    /// Methods whose elementary weights are tabulated (names from the classical library).
    pub methods: Vec<String>,
    /// Orders are searched up to this order (at most 10).
    pub order_search_to: usize,
    /// A residual counts as zero below this tolerance.
    pub tolerance: f64,
}

/// Encode a level sequence as space-separated depths (e.g. `0 1 2 1`).
pub fn levels_string(tree: &RootedTree) -> String {
    tree.levels()
        .iter()
        .map(|l| l.to_string())
        .collect::<Vec<_>>()
        .join(" ")
}

/// A checked `butcher_trees` experiment: the parameters and the named methods looked up.
#[derive(Debug, Clone)]
pub struct CheckedButcherTrees {
    spec: ButcherTrees,
    methods: Vec<rk::NamedMethod>,
}

impl ButcherTrees {
    /// Check every parameter and look up the methods; errors carry the field path below
    /// `experiment.butcher_trees`.
    ///
    /// # Errors
    /// The first refused parameter.
    pub fn check(&self) -> Result<CheckedButcherTrees, FieldError> {
        checks::count_in("max_order", self.max_order, 1, 8)?;
        checks::count_in("count_to", self.count_to, 1, 16)?;
        checks::count_in("order_search_to", self.order_search_to, 1, 10)?;
        checks::positive("tolerance", self.tolerance)?;
        checks::non_empty("methods", &self.methods, "method")?;
        let methods = checks::each("methods", &self.methods, |name| {
            rk::named_method(name).map_err(|e| FieldError::new("", e.to_string()))
        })?;
        Ok(CheckedButcherTrees {
            spec: self.clone(),
            methods,
        })
    }
}

impl CheckedButcherTrees {
    /// Run the experiment.
    pub fn run(&self) -> Result<Vec<NamedTable>, ExperimentError> {
        let spec = &self.spec;
        let mut counts = Vec::new();
        for p in 1..=spec.count_to {
            // Generating is exponential in p; above order 12 only the recurrence is tabulated.
            let generated = (p <= 12).then(|| trees::trees_of_order(p));
            let alpha_sum = generated
                .as_ref()
                .map(|ts| ts.iter().map(RootedTree::alpha).sum::<u128>());
            counts.push(CountRow {
                order: p,
                generated: generated.as_ref().map(Vec::len),
                a000081: trees::count_trees(p) as usize,
                alpha_sum: alpha_sum.map(|s| s as usize),
                factorial: (1..p).product::<usize>(),
            });
        }

        let mut tree_rows = Vec::new();
        for (index, t) in trees::trees_up_to(spec.max_order).iter().enumerate() {
            for m in &self.methods {
                let phi = t.elementary_weight(&m.tableau);
                let inv = 1.0 / t.gamma() as f64;
                tree_rows.push(TreeRow {
                    tree: index + 1,
                    levels: levels_string(t),
                    order: t.order(),
                    gamma: t.gamma() as usize,
                    sigma: t.sigma() as usize,
                    alpha: t.alpha() as usize,
                    bushy: usize::from(t.is_bushy()),
                    method: m.name,
                    phi,
                    inverse_gamma: inv,
                    residual: phi - inv,
                });
            }
        }

        let mut method_rows = Vec::new();
        for m in rk::named_methods() {
            let order = trees::order_of(&m.tableau, spec.order_search_to, spec.tolerance);
            let next = trees::trees_of_order(order + 1);
            let residuals: Vec<f64> = next.iter().map(|t| t.residual(&m.tableau).abs()).collect();
            method_rows.push(MethodRow {
                method: m.name,
                title: m.title,
                stages: m.tableau.stages(),
                claimed_order: m.order,
                tree_order: order,
                order_confirmed: usize::from(order == m.order),
                non_negative: usize::from(m.tableau.is_non_negative()),
                next_order_trees: next.len(),
                next_order_failing: residuals.iter().filter(|&&r| r > spec.tolerance).count(),
                next_order_max_residual: residuals.iter().copied().fold(0.0, f64::max),
            });
        }
        Ok(vec![
            NamedTable {
                stem: "counts",
                table: Table::from_rows(&counts),
            },
            NamedTable {
                stem: "trees",
                table: Table::from_rows(&tree_rows),
            },
            NamedTable {
                stem: "methods",
                table: Table::from_rows(&method_rows),
            },
        ])
    }
}
