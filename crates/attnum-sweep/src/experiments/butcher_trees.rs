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
use attnum_results::{Cell, Table};

use super::{FieldError, NamedTable};
use crate::checks;

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
    pub fn run(&self) -> Vec<NamedTable> {
        let spec = &self.spec;
        let mut counts = Table::new(&["order", "generated", "a000081", "alpha_sum", "factorial"]);
        for p in 1..=spec.count_to {
            // Generating is exponential in p; above order 12 only the recurrence is tabulated.
            let generated = (p <= 12).then(|| trees::trees_of_order(p));
            let alpha_sum = generated
                .as_ref()
                .map(|ts| ts.iter().map(RootedTree::alpha).sum::<u128>());
            counts.push_row(vec![
                p.into(),
                generated
                    .as_ref()
                    .map(Vec::len)
                    .map_or(Cell::Null, Into::into),
                (trees::count_trees(p) as usize).into(),
                alpha_sum.map_or(Cell::Null, |s| (s as usize).into()),
                ((1..p).product::<usize>()).into(),
            ]);
        }

        let mut tree_table = Table::new(&[
            "tree",
            "levels",
            "order",
            "gamma",
            "sigma",
            "alpha",
            "bushy",
            "method",
            "phi",
            "inverse_gamma",
            "residual",
        ]);
        for (index, t) in trees::trees_up_to(spec.max_order).iter().enumerate() {
            for m in &self.methods {
                let phi = t.elementary_weight(&m.tableau);
                let inv = 1.0 / t.gamma() as f64;
                tree_table.push_row(vec![
                    (index + 1).into(),
                    levels_string(t).into(),
                    t.order().into(),
                    (t.gamma() as usize).into(),
                    (t.sigma() as usize).into(),
                    (t.alpha() as usize).into(),
                    usize::from(t.is_bushy()).into(),
                    m.name.into(),
                    phi.into(),
                    inv.into(),
                    (phi - inv).into(),
                ]);
            }
        }

        let mut method_table = Table::new(&[
            "method",
            "title",
            "stages",
            "claimed_order",
            "tree_order",
            "order_confirmed",
            "non_negative",
            "next_order_trees",
            "next_order_failing",
            "next_order_max_residual",
        ]);
        for m in rk::named_methods() {
            let order = trees::order_of(&m.tableau, spec.order_search_to, spec.tolerance);
            let next = trees::trees_of_order(order + 1);
            let residuals: Vec<f64> = next.iter().map(|t| t.residual(&m.tableau).abs()).collect();
            method_table.push_row(vec![
                m.name.into(),
                m.title.into(),
                m.tableau.stages().into(),
                m.order.into(),
                order.into(),
                usize::from(order == m.order).into(),
                usize::from(m.tableau.is_non_negative()).into(),
                next.len().into(),
                residuals
                    .iter()
                    .filter(|&&r| r > spec.tolerance)
                    .count()
                    .into(),
                residuals.iter().copied().fold(0.0, f64::max).into(),
            ]);
        }
        vec![
            NamedTable {
                stem: "counts",
                table: counts,
            },
            NamedTable {
                stem: "trees",
                table: tree_table,
            },
            NamedTable {
                stem: "methods",
                table: method_table,
            },
        ]
    }
}
