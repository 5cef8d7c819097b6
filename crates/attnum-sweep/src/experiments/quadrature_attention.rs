//! Experiment `quadrature_attention`: which classical quadrature rules one scaled softmax head
//! represents, by family and size, and what the others need.
//!
//! Each rule on `[−1, 1]` is compiled into scaled softmax heads
//! ([`attnum_attention::heads::SoftmaxHeads`]): one head when its weights are positive, two when
//! some are negative. Recorded: the heads, the smallest weight, the scale `Σ_{w_i<0} |w_i|` of the
//! negative head (the cancellation the two-head construction pays), the weights read back from the
//! heads against the rule's (relative max-norm residual), the degree of exactness and nearest
//! classical rule of the read-back weights, the error of the heads on `∫_{−1}^{1} eˣ dx`, and the
//! rule read as a Runge–Kutta method with `A = 0`, `b = w/2`, `c = (x + 1)/2` (a step of
//! `y' = g(t)` on `[0, 1]`): the bushy-tree (quadrature) order `degree + 1` with the largest
//! residual of those conditions relative to `Σ|b_i|`, and its order on a general ODE from all rooted trees.

use attnum_attention::classify::{classify_rule, classify_tableau, relative_distance};
use attnum_attention::extract::effective_weights;
use attnum_attention::heads::SoftmaxHeads;
use attnum_classical::rk::Tableau;
use attnum_classical::trees;
use serde::{Deserialize, Serialize};
use attnum_results::Table;

use super::quadrature_rules::{Family, FamilyRules, check_families};
use super::{Context, ExperimentError, FieldError, NamedTable};

/// A row of `table`: one rule compiled into heads, read back, and read as a Runge–Kutta method.
#[derive(Serialize)]
struct RuleRow {
    family: &'static str,
    n: usize,
    heads: usize,
    min_weight: f64,
    /// `Σ_{w_i<0} |w_i|`.
    negative_scale: f64,
    residual: f64,
    /// The read-back weights' degree of exactness.
    degree: Option<usize>,
    /// The classical rule nearest the read-back weights.
    nearest: Option<String>,
    exp_error: f64,
    /// `degree + 1` (0 without a degree).
    bushy_order: usize,
    bushy_residual: f64,
    tree_order: usize,
}

/// A row of `summary`: one family's rules by the heads they need.
#[derive(Serialize)]
struct SummaryRow {
    family: &'static str,
    sizes: String,
    one_head: usize,
    two_heads: usize,
    two_head_sizes: String,
}

/// Parameters of the `quadrature_attention` experiment.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct QuadratureAttention {
    /// The families.
    pub families: Vec<Family>,
    /// Largest number of nodes (each family starts at its smallest valid size).
    pub max_points: usize,
    /// Largest tree order checked for the general-ODE order (1 to 8).
    pub max_tree_order: usize,
}

/// `a–b` ranges of consecutive sizes, comma-separated (`"none"` when empty).
fn ranges(sizes: &[usize]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < sizes.len() {
        let mut j = i;
        while j + 1 < sizes.len() && sizes[j + 1] == sizes[j] + 1 {
            j += 1;
        }
        parts.push(if j > i {
            format!("{}–{}", sizes[i], sizes[j])
        } else {
            sizes[i].to_string()
        });
        i = j + 1;
    }
    if parts.is_empty() {
        "none".into()
    } else {
        parts.join(", ")
    }
}

/// A checked `quadrature_attention` experiment: every family's rules built.
#[derive(Debug, Clone)]
pub struct CheckedQuadratureAttention {
    families: Vec<FamilyRules>,
    max_points: usize,
    /// 1 to 8.
    max_tree_order: usize,
}

impl QuadratureAttention {
    /// Check every parameter and build the rules; errors carry the field path below
    /// `experiment.quadrature_attention`.
    ///
    /// # Errors
    /// The first refused parameter.
    pub fn check(&self) -> Result<CheckedQuadratureAttention, FieldError> {
        let families = check_families(&self.families, self.max_points)?;
        if !(1..=8).contains(&self.max_tree_order) {
            return Err(FieldError::new(
                "max_tree_order",
                format!("must be 1 to 8, got {}", self.max_tree_order),
            ));
        }
        Ok(CheckedQuadratureAttention {
            families,
            max_points: self.max_points,
            max_tree_order: self.max_tree_order,
        })
    }
}

impl CheckedQuadratureAttention {
    /// Run the experiment: `table` (one row per family and size) and `summary` (per family).
    ///
    /// # Errors
    /// Heads that cannot be compiled or read, or a tableau that cannot be built from their weights.
    pub fn run(&self) -> Result<Vec<NamedTable>, ExperimentError> {
        let (mut table, mut summary) = (Vec::new(), Vec::new());
        let exp_exact = 1f64.exp() - (-1f64).exp();
        for FamilyRules { family, rules } in &self.families {
            let family = *family;
            let mut two = Vec::new();
            for &(n, ref rule) in rules {
                let rule_name = || format!("the {n}-point {} rule", family.name());
                let heads = SoftmaxHeads::compile(rule.weights())
                    .with_context(|| format!("the softmax heads of {}", rule_name()))?;
                let w = effective_weights(&heads)
                    .with_context(|| format!("the weights of the heads of {}", rule_name()))?;
                let residual = relative_distance(&w, rule.weights());
                let class = classify_rule(rule.nodes(), &w)
                    .with_context(|| format!("the class of the heads' weights of {}", rule_name()))?;
                let value: f64 = w.iter().zip(rule.nodes()).map(|(w, x)| w * x.exp()).sum();
                let tableau = Tableau::new(
                    vec![vec![0.0; n]; n],
                    w.iter().map(|w| w / 2.0).collect(),
                    rule.nodes().iter().map(|x| (x + 1.0) / 2.0).collect(),
                )
                .with_context(|| format!("the tableau of the heads' weights of {}", rule_name()))?;
                // The bushy trees of order k ≤ degree + 1 are the exactness conditions for
                // degree k − 1 on [0, 1]: their largest residual checks the correspondence.
                let bushy_order = class.degree.map_or(0, |d| d + 1);
                let size: f64 = tableau.b().iter().map(|b| b.abs()).sum();
                let bushy_residual = trees::quadrature_conditions(&tableau, bushy_order)
                    .iter()
                    .fold(0.0f64, |m, r| m.max(r.abs()))
                    / size;
                if heads.head_count() == 2 {
                    two.push(n);
                }
                table.push(RuleRow {
                    family: family.name(),
                    n,
                    heads: heads.head_count(),
                    min_weight: rule.weights().iter().copied().fold(f64::INFINITY, f64::min),
                    negative_scale: rule
                        .weights()
                        .iter()
                        .filter(|&&w| w < 0.0)
                        .map(|w| -w)
                        .sum(),
                    residual,
                    degree: class.degree,
                    nearest: class.nearest.map(|c| c.name),
                    exp_error: (value - exp_exact).abs(),
                    bushy_order,
                    bushy_residual,
                    tree_order: classify_tableau(&tableau, self.max_tree_order).order,
                });
            }
            let total = rules.len();
            summary.push(SummaryRow {
                family: family.name(),
                sizes: format!("{}–{}", family.min_points(), self.max_points),
                one_head: total - two.len(),
                two_heads: two.len(),
                two_head_sizes: ranges(&two),
            });
        }
        Ok(vec![
            NamedTable {
                stem: "table",
                table: Table::from_rows(&table),
            },
            NamedTable {
                stem: "summary",
                table: Table::from_rows(&summary),
            },
        ])
    }
}
