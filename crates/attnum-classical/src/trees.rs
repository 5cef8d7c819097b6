//! Rooted trees (Butcher trees) and the order conditions of Runge–Kutta methods.
//!
//! A rooted tree with `n` nodes is stored as its canonical *level sequence*: the depths of its
//! nodes in preorder, children visited in non-increasing order of their own level sequences. All
//! trees of a given order are generated in constant amortised time by the successor rule of
//! Beyer & Hedetniemi (SIAM J. Comput. 9, 1980); their number is OEIS A000081.
//!
//! For a tree `t`: the order `|t|`, the density `γ(t)` (product of the sizes of all subtrees), the
//! symmetry `σ(t)` (order of its automorphism group), and `α(t) = |t|!/(γ(t)σ(t))`, the number of
//! monotone labellings. For a Runge–Kutta tableau the elementary weight `Φ(t)` is `bᵀ` applied to
//! the stage vector of the root, where a leaf has the vector `1` and a node the componentwise
//! product of `A v` over its children; the method has order `p` iff `Φ(t) = 1/γ(t)` for every
//! tree with `|t| ≤ p` (Butcher 1963).

use std::collections::BTreeMap;

use crate::rk::Tableau;

/// A rooted tree, as its canonical level sequence (root at depth 0).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RootedTree {
    levels: Vec<usize>,
}

impl RootedTree {
    /// The tree with the given level sequence, canonicalised. `None` if the sequence is not a
    /// valid preorder depth sequence (it must start with 0, and each depth may exceed the
    /// previous one by at most 1 and never return to 0).
    pub fn from_levels(levels: &[usize]) -> Option<Self> {
        if levels.first() != Some(&0) {
            return None;
        }
        for w in levels.windows(2) {
            if w[1] == 0 || w[1] > w[0] + 1 {
                return None;
            }
        }
        let children = children_of(levels);
        Some(Self {
            levels: canonical(&children, 0, 0),
        })
    }

    /// The canonical level sequence.
    pub fn levels(&self) -> &[usize] {
        &self.levels
    }

    /// Number of nodes `|t|`.
    pub fn order(&self) -> usize {
        self.levels.len()
    }

    /// Children of each node (indices into the level sequence).
    pub fn children(&self) -> Vec<Vec<usize>> {
        children_of(&self.levels)
    }

    /// Size of the subtree rooted at each node.
    fn subtree_sizes(&self) -> Vec<usize> {
        let children = self.children();
        let mut size = vec![1; self.order()];
        for i in (0..self.order()).rev() {
            size[i] += children[i].iter().map(|&c| size[c]).sum::<usize>();
        }
        size
    }

    /// The density `γ(t)`: the product of the sizes of all subtrees.
    pub fn gamma(&self) -> u128 {
        self.subtree_sizes().iter().map(|&s| s as u128).product()
    }

    /// The symmetry `σ(t)`: `∏ m_u! σ(u)^{m_u}` over the distinct child subtrees `u` of every node.
    pub fn sigma(&self) -> u128 {
        let children = self.children();
        let mut sigma: u128 = 1;
        for kids in &children {
            let mut counts: BTreeMap<Vec<usize>, u128> = BTreeMap::new();
            for &c in kids {
                *counts.entry(self.subtree_levels(c, &children)).or_default() += 1;
            }
            for m in counts.values() {
                sigma *= (1..=*m).product::<u128>();
            }
        }
        sigma
    }

    /// `α(t) = |t)! / (γ(t) σ(t))`: the number of monotone labellings of `t`.
    pub fn alpha(&self) -> u128 {
        let factorial: u128 = (1..=self.order() as u128).product();
        factorial / (self.gamma() * self.sigma())
    }

    /// The level sequence of the subtree rooted at node `i`, relative to depth 0.
    fn subtree_levels(&self, i: usize, children: &[Vec<usize>]) -> Vec<usize> {
        let base = self.levels[i];
        let mut out = Vec::new();
        let mut stack = vec![i];
        while let Some(node) = stack.pop() {
            out.push(self.levels[node] - base);
            stack.extend(children[node].iter().rev());
        }
        out
    }

    /// Whether the tree is the bushy tree (a root with `|t| − 1` leaves).
    pub fn is_bushy(&self) -> bool {
        self.levels[1..].iter().all(|&l| l == 1)
    }

    /// Whether the tree is the tall tree (a path).
    pub fn is_tall(&self) -> bool {
        self.levels.iter().enumerate().all(|(i, &l)| i == l)
    }

    /// Stage vector of every node: leaves `1`, a node the componentwise product of `A v(child)`.
    fn stage_vectors(&self, tableau: &Tableau) -> Vec<Vec<f64>> {
        let s = tableau.stages();
        let children = self.children();
        let mut v = vec![vec![1.0; s]; self.order()];
        for i in (0..self.order()).rev() {
            for &c in &children[i] {
                let av: Vec<f64> = tableau
                    .a()
                    .iter()
                    .map(|row| row.iter().zip(&v[c]).map(|(a, x)| a * x).sum())
                    .collect();
                for (vi, avi) in v[i].iter_mut().zip(av) {
                    *vi *= avi;
                }
            }
        }
        v
    }

    /// The elementary weight `Φ(t) = bᵀ v(root)` of a tableau.
    pub fn elementary_weight(&self, tableau: &Tableau) -> f64 {
        let v = self.stage_vectors(tableau);
        tableau.b().iter().zip(&v[0]).map(|(b, x)| b * x).sum()
    }

    /// The order-condition residual `Φ(t) − 1/γ(t)`.
    pub fn residual(&self, tableau: &Tableau) -> f64 {
        self.elementary_weight(tableau) - 1.0 / self.gamma() as f64
    }
}

fn children_of(levels: &[usize]) -> Vec<Vec<usize>> {
    let mut children = vec![Vec::new(); levels.len()];
    let mut path: Vec<usize> = Vec::new(); // path[d] = last node seen at depth d
    for (i, &l) in levels.iter().enumerate() {
        path.truncate(l);
        if let Some(&parent) = path.last() {
            children[parent].push(i);
        }
        path.push(i);
    }
    children
}

/// Canonical level sequence of the subtree at `node`, shifted to start at `depth`.
fn canonical(children: &[Vec<usize>], node: usize, depth: usize) -> Vec<usize> {
    let mut subs: Vec<Vec<usize>> = children[node]
        .iter()
        .map(|&c| canonical(children, c, depth + 1))
        .collect();
    subs.sort_by(|a, b| b.cmp(a));
    let mut out = vec![depth];
    for s in subs {
        out.extend(s);
    }
    out
}

/// Every rooted tree with `n ≥ 1` nodes, in Beyer–Hedetniemi order (from the tall tree to the
/// bushy tree).
pub fn trees_of_order(n: usize) -> Vec<RootedTree> {
    let mut out = Vec::new();
    if n == 0 {
        return out;
    }
    let mut levels: Vec<usize> = (0..n).collect();
    loop {
        out.push(RootedTree {
            levels: levels.clone(),
        });
        // p: last position with depth > 1; none means the bushy tree, the last one.
        let Some(p) = levels.iter().rposition(|&l| l > 1) else {
            break;
        };
        let q = levels[..p]
            .iter()
            .rposition(|&l| l == levels[p] - 1)
            .expect("a node at depth > 1 has a parent");
        let period = p - q;
        for i in p..n {
            levels[i] = levels[i - period];
        }
    }
    out
}

/// The number of rooted trees with `n` nodes (A000081), by counting the generated trees for
/// small `n` and by the Euler-transform recurrence in general.
pub fn count_trees(n: usize) -> u128 {
    // a(n+1) = (1/n) Σ_{k=1}^{n} (Σ_{d | k} d a(d)) a(n−k+1)
    if n == 0 {
        return 0;
    }
    let mut a = vec![0u128; n + 1];
    a[1] = 1;
    let mut s = vec![0u128; n + 1]; // s[k] = Σ_{d|k} d a(d)
    for m in 1..n {
        s[m] = (1..=m)
            .filter(|d| m % d == 0)
            .map(|d| d as u128 * a[d])
            .sum();
        let total: u128 = (1..=m).map(|k| s[k] * a[m - k + 1]).sum();
        a[m + 1] = total / m as u128;
    }
    a[n]
}

/// All trees of orders `1..=max_order`.
pub fn trees_up_to(max_order: usize) -> Vec<RootedTree> {
    (1..=max_order).flat_map(trees_of_order).collect()
}

/// The quadrature conditions `Σ_i b_i c_i^(k−1) − 1/k`, `k = 1..=p`: the residuals of the bushy
/// trees. For `y' = g(t)` every other elementary differential vanishes, so these are the only
/// conditions a method must meet to integrate a pure quadrature problem to order `p`.
pub fn quadrature_conditions(tableau: &Tableau, p: usize) -> Vec<f64> {
    (1..=p)
        .map(|k| {
            let sum: f64 = tableau
                .b()
                .iter()
                .zip(tableau.c())
                .map(|(b, c)| b * c.powi(k as i32 - 1))
                .sum();
            sum - 1.0 / k as f64
        })
        .collect()
}

/// The order of a tableau: the largest `p ≤ max_order` such that `|Φ(t) − 1/γ(t)| ≤ tol` for
/// every tree with `|t| ≤ p`.
pub fn order_of(tableau: &Tableau, max_order: usize, tol: f64) -> usize {
    for p in 1..=max_order {
        if trees_of_order(p)
            .iter()
            .any(|t| t.residual(tableau).abs() > tol)
        {
            return p - 1;
        }
    }
    max_order
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rk::named_methods;

    /// OEIS A000081, n = 1..15.
    const A000081: [u128; 15] = [
        1, 1, 2, 4, 9, 20, 48, 115, 286, 719, 1842, 4766, 12486, 32973, 87811,
    ];

    #[test]
    fn counts_match_a000081() {
        for (i, &expected) in A000081.iter().enumerate() {
            let n = i + 1;
            assert_eq!(count_trees(n), expected, "recurrence, n = {n}");
            if n <= 12 {
                let trees = trees_of_order(n);
                assert_eq!(trees.len() as u128, expected, "generated, n = {n}");
                let distinct: std::collections::BTreeSet<_> = trees.iter().collect();
                assert_eq!(distinct.len(), trees.len(), "no tree twice, n = {n}");
                for t in &trees {
                    assert_eq!(
                        RootedTree::from_levels(t.levels()).as_ref(),
                        Some(t),
                        "canonical"
                    );
                }
            }
        }
    }

    #[test]
    fn alpha_sums_to_factorial() {
        // Σ_{|t| = p} α(t) = (p − 1)!
        for p in 1..=12 {
            let sum: u128 = trees_of_order(p).iter().map(RootedTree::alpha).sum();
            assert_eq!(sum, (1..p as u128).product::<u128>(), "p = {p}");
        }
    }

    #[test]
    fn known_gamma_and_sigma() {
        let t = |l: &[usize]| RootedTree::from_levels(l).unwrap();
        // τ, [τ], [τ,τ], [[τ]], bushy of order 4, tall of order 4.
        assert_eq!((t(&[0]).gamma(), t(&[0]).sigma()), (1, 1));
        assert_eq!((t(&[0, 1]).gamma(), t(&[0, 1]).sigma()), (2, 1));
        assert_eq!((t(&[0, 1, 1]).gamma(), t(&[0, 1, 1]).sigma()), (3, 2));
        assert_eq!((t(&[0, 1, 2]).gamma(), t(&[0, 1, 2]).sigma()), (6, 1));
        assert_eq!((t(&[0, 1, 1, 1]).gamma(), t(&[0, 1, 1, 1]).sigma()), (4, 6));
        assert_eq!(
            (t(&[0, 1, 2, 3]).gamma(), t(&[0, 1, 2, 3]).sigma()),
            (24, 1)
        );
        // [τ, [τ]]: γ = 4·2 = 8, σ = 1; given in either child order.
        assert_eq!(t(&[0, 1, 1, 2]), t(&[0, 1, 2, 1]));
        assert_eq!((t(&[0, 1, 2, 1]).gamma(), t(&[0, 1, 2, 1]).sigma()), (8, 1));
        assert!(t(&[0, 1, 1, 1]).is_bushy() && t(&[0, 1, 2, 3]).is_tall());
        assert_eq!(RootedTree::from_levels(&[0, 2]), None);
        assert_eq!(RootedTree::from_levels(&[1]), None);
        assert_eq!(RootedTree::from_levels(&[0, 1, 0]), None);
    }

    #[test]
    fn rk4_elementary_weights() {
        let rk4 = crate::rk::named_method("rk4").unwrap().tableau;
        for t in trees_up_to(4) {
            assert!(t.residual(&rk4).abs() < 1e-15, "{:?}", t.levels());
        }
        // Order 5: RK4 violates some, e.g. the bushy tree: Σ b c⁴ = 5/24 ≠ 1/5.
        let bushy = RootedTree::from_levels(&[0, 1, 1, 1, 1]).unwrap();
        assert!((bushy.elementary_weight(&rk4) - 5.0 / 24.0).abs() < 1e-15);
        let tall = RootedTree::from_levels(&[0, 1, 2, 3, 4]).unwrap();
        assert_eq!(
            tall.elementary_weight(&rk4),
            0.0,
            "four stages cannot fill a path of five"
        );
    }

    #[test]
    fn orders_of_the_named_methods() {
        for m in named_methods() {
            assert_eq!(order_of(&m.tableau, 7, 1e-12), m.order, "{m}");
        }
    }

    #[test]
    fn quadrature_conditions_are_the_bushy_tree_residuals() {
        for m in named_methods() {
            let q = quadrature_conditions(&m.tableau, 6);
            for (k, residual) in q.iter().enumerate() {
                let bushy: Vec<usize> = std::iter::once(0)
                    .chain(std::iter::repeat_n(1, k))
                    .collect();
                let t = RootedTree::from_levels(&bushy).unwrap();
                assert!(
                    (t.residual(&m.tableau) - residual).abs() < 1e-15,
                    "{m}, k = {}",
                    k + 1
                );
            }
        }
        // Kutta's 3/8 rule integrates y' = g(t) with Simpson's 3/8 weights: order 4 in quadrature.
        let q = quadrature_conditions(
            &crate::rk::named_method("three-eighths").unwrap().tableau,
            5,
        );
        assert!(q[..4].iter().all(|r| r.abs() < 1e-15) && q[4].abs() > 1e-3);
    }
}
