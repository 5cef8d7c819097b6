//! Finite-difference weights: Fornberg's recurrence on arbitrary nodes and the named stencil builders.
//!
//! A [`Stencil`] approximates the `d`-th derivative of `f` at `x0` from samples at `x0 + o_i h`:
//!
//! ```text
//! f^(d)(x0) ≈ h^(-d) · Σ_i w_i f(x0 + o_i h)
//! ```
//!
//! The offsets `o_i` are in units of the step `h`, so one set of weights serves every `h`.
//! Weights come from Fornberg's recurrence (Math. Comp. 51, 1988), which builds them node by node
//! without forming or solving a Vandermonde system and stays accurate for wide stencils.

use std::fmt;

use thiserror::Error;

/// Why a stencil cannot be built.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum StencilError {
    /// No nodes were given.
    #[error("a stencil needs at least one node")]
    NoNodes,
    /// A node offset is NaN or infinite.
    #[error("node offset {index} is not finite ({value})")]
    NonFiniteNode {
        /// Position of the offending node in the list.
        index: usize,
        /// Its value.
        value: f64,
    },
    /// Two nodes coincide, so the interpolating polynomial is not defined.
    #[error("nodes {first} and {second} coincide (offset {value})")]
    RepeatedNode {
        /// Position of the first occurrence.
        first: usize,
        /// Position of the repeat.
        second: usize,
        /// The repeated offset.
        value: f64,
    },
    /// Fewer nodes than the derivative order needs (`d + 1` at least).
    #[error("a stencil for derivative order {deriv} needs at least {} nodes, got {nodes}", deriv + 1)]
    TooFewNodes {
        /// The derivative order requested.
        deriv: usize,
        /// The number of nodes given.
        nodes: usize,
    },
    /// Accuracy order zero was requested; every stencil builder needs order ≥ 1.
    #[error("accuracy order must be at least 1")]
    ZeroAccuracy,
    /// Central stencils on symmetric equispaced nodes have even accuracy order only.
    #[error(
        "central stencils have even accuracy order only; accuracy {accuracy} is odd \
         (use {} or {}, or a forward/backward stencil)",
        accuracy - 1,
        accuracy + 1
    )]
    OddCentralAccuracy {
        /// The odd order that was requested.
        accuracy: usize,
    },
    /// Derivative order zero with a central stencil is the identity and is not a stencil family.
    #[error("derivative order must be at least 1")]
    ZeroDerivative,
    /// Weights given for a stencil do not match its nodes one to one.
    #[error("{weights} weights for {nodes} nodes")]
    WeightCount {
        /// The number of nodes.
        nodes: usize,
        /// The number of weights.
        weights: usize,
    },
}

/// Fornberg's weights for all derivative orders `0..=max_deriv` at `z` on distinct `nodes`.
///
/// Returns `w` with `w[k][i]` the weight of node `i` in the approximation of the `k`-th derivative
/// (unit scaling: the nodes are the actual abscissae). Derivative orders above `nodes.len() - 1`
/// come back as zeros, which is what the interpolating polynomial gives.
///
/// # Errors
/// [`StencilError::NoNodes`], [`StencilError::NonFiniteNode`] or [`StencilError::RepeatedNode`].
pub fn fornberg_weights(
    z: f64,
    nodes: &[f64],
    max_deriv: usize,
) -> Result<Vec<Vec<f64>>, StencilError> {
    validate_nodes(nodes)?;
    let n = nodes.len();
    let mut c = vec![vec![0.0; n]; max_deriv + 1];
    c[0][0] = 1.0;
    let mut c1 = 1.0;
    let mut c4 = nodes[0] - z;
    for i in 1..n {
        let mn = i.min(max_deriv);
        let mut c2 = 1.0;
        let c5 = c4;
        c4 = nodes[i] - z;
        for j in 0..i {
            let c3 = nodes[i] - nodes[j];
            c2 *= c3;
            if j == i - 1 {
                for k in (1..=mn).rev() {
                    c[k][i] = c1 * (k as f64 * c[k - 1][i - 1] - c5 * c[k][i - 1]) / c2;
                }
                c[0][i] = -c1 * c5 * c[0][i - 1] / c2;
            }
            for k in (1..=mn).rev() {
                c[k][j] = (c4 * c[k][j] - k as f64 * c[k - 1][j]) / c3;
            }
            c[0][j] = c4 * c[0][j] / c3;
        }
        c1 = c2;
    }
    Ok(c)
}

fn validate_nodes(nodes: &[f64]) -> Result<(), StencilError> {
    if nodes.is_empty() {
        return Err(StencilError::NoNodes);
    }
    for (index, &value) in nodes.iter().enumerate() {
        if !value.is_finite() {
            return Err(StencilError::NonFiniteNode { index, value });
        }
        if let Some(first) = nodes[..index].iter().position(|&o| o == value) {
            return Err(StencilError::RepeatedNode {
                first,
                second: index,
                value,
            });
        }
    }
    Ok(())
}

/// The three equispaced stencil families.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StencilKind {
    /// Nodes symmetric about `x0`: `-m, …, m`.
    Central,
    /// Nodes at and after `x0`: `0, 1, …, n-1`.
    Forward,
    /// Nodes at and before `x0`: `-(n-1), …, 0`.
    Backward,
}

impl StencilKind {
    /// Every kind, in a fixed order.
    pub const ALL: [StencilKind; 3] = [Self::Central, Self::Forward, Self::Backward];

    /// The lower-case name used in sweep files and tables.
    pub fn name(self) -> &'static str {
        match self {
            Self::Central => "central",
            Self::Forward => "forward",
            Self::Backward => "backward",
        }
    }
}

impl fmt::Display for StencilKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Weights approximating the `deriv`-th derivative at offset 0 from samples at `offsets` (units of h).
#[derive(Debug, Clone, PartialEq)]
pub struct Stencil {
    deriv: usize,
    offsets: Vec<f64>,
    weights: Vec<f64>,
}

impl Stencil {
    /// Fornberg weights for derivative `deriv` at 0 on the given distinct offsets.
    ///
    /// # Errors
    /// Invalid nodes (see [`fornberg_weights`]) or [`StencilError::TooFewNodes`] when
    /// `offsets.len() <= deriv`.
    pub fn on_offsets(deriv: usize, offsets: &[f64]) -> Result<Self, StencilError> {
        validate_nodes(offsets)?;
        if offsets.len() <= deriv {
            return Err(StencilError::TooFewNodes {
                deriv,
                nodes: offsets.len(),
            });
        }
        let mut all = fornberg_weights(0.0, offsets, deriv)?;
        Ok(Self {
            deriv,
            offsets: offsets.to_vec(),
            weights: all.swap_remove(deriv),
        })
    }

    /// The equispaced stencil of the given kind with formal accuracy order `accuracy`.
    ///
    /// Central: nodes `-m..=m` with `m = ⌊(d−1)/2⌋ + p/2`; `p` must be even.
    /// Forward / backward: `d + p` consecutive nodes starting (ending) at 0.
    ///
    /// # Errors
    /// [`StencilError::ZeroDerivative`], [`StencilError::ZeroAccuracy`],
    /// [`StencilError::OddCentralAccuracy`].
    pub fn by_accuracy(
        kind: StencilKind,
        deriv: usize,
        accuracy: usize,
    ) -> Result<Self, StencilError> {
        if deriv == 0 {
            return Err(StencilError::ZeroDerivative);
        }
        if accuracy == 0 {
            return Err(StencilError::ZeroAccuracy);
        }
        let offsets: Vec<f64> = match kind {
            StencilKind::Central => {
                if accuracy % 2 == 1 {
                    return Err(StencilError::OddCentralAccuracy { accuracy });
                }
                let m = ((deriv - 1) / 2 + accuracy / 2) as i64;
                (-m..=m).map(|o| o as f64).collect()
            }
            StencilKind::Forward => (0..(deriv + accuracy) as i64).map(|o| o as f64).collect(),
            StencilKind::Backward => (0..(deriv + accuracy) as i64)
                .rev()
                .map(|o| -(o as f64))
                .collect(),
        };
        Self::on_offsets(deriv, &offsets)
    }

    /// A stencil from weights computed elsewhere (least squares, or extracted from an attention
    /// module) for derivative `deriv`; the nodes are checked as in [`Stencil::on_offsets`].
    ///
    /// # Errors
    /// Invalid nodes, or [`StencilError::WeightCount`] when the lengths differ.
    pub fn from_weights(
        deriv: usize,
        offsets: &[f64],
        weights: &[f64],
    ) -> Result<Self, StencilError> {
        validate_nodes(offsets)?;
        if weights.len() != offsets.len() {
            return Err(StencilError::WeightCount {
                nodes: offsets.len(),
                weights: weights.len(),
            });
        }
        Ok(Self::from_parts(deriv, offsets.to_vec(), weights.to_vec()))
    }

    /// A stencil from weights computed elsewhere in this crate (e.g. least squares).
    pub(crate) fn from_parts(deriv: usize, offsets: Vec<f64>, weights: Vec<f64>) -> Self {
        Self {
            deriv,
            offsets,
            weights,
        }
    }

    /// The derivative order approximated.
    pub fn deriv(&self) -> usize {
        self.deriv
    }

    /// The node offsets, in units of the step.
    pub fn offsets(&self) -> &[f64] {
        &self.offsets
    }

    /// The weights for unit step; divide the weighted sum by `h^d`.
    pub fn weights(&self) -> &[f64] {
        &self.weights
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.offsets.len()
    }

    /// Always false: a stencil has at least `deriv + 1 ≥ 1` nodes.
    pub fn is_empty(&self) -> bool {
        self.offsets.is_empty()
    }

    /// Apply the stencil to `f` at `x0` with step `h`.
    pub fn apply(&self, f: impl Fn(f64) -> f64, x0: f64, h: f64) -> f64 {
        let sum: f64 = self
            .offsets
            .iter()
            .zip(&self.weights)
            .map(|(&o, &w)| w * f(x0 + o * h))
            .sum();
        sum / h.powi(self.deriv as i32)
    }
}

/// Richardson extrapolation of approximations `A(h_k)`, `h_k = h_0 / ratio^k`, whose error
/// expands as `Σ_j c_j h^{first + j·step}` (e.g. `first = 2, step = 2` for a central difference).
///
/// Returns the extrapolation tableau by rows: `table[k][j]` combines `A(h_{k−j}), …, A(h_k)` and
/// eliminates `j` error terms; `table[n−1][n−1]` is the most extrapolated value.
pub fn richardson(values: &[f64], ratio: f64, first: u32, step: u32) -> Vec<Vec<f64>> {
    let mut table: Vec<Vec<f64>> = Vec::with_capacity(values.len());
    for (k, &v) in values.iter().enumerate() {
        let mut row = vec![v];
        for j in 1..=k {
            let factor = ratio.powi((first + (j as u32 - 1) * step) as i32);
            let better = row[j - 1] + (row[j - 1] - table[k - 1][j - 1]) / (factor - 1.0);
            row.push(better);
        }
        table.push(row);
    }
    table
}

/// The complex-step derivative `Im f(x + i h) / h` of a function analytic near `x`: no
/// subtraction, so no cancellation; with `h = 1e-100` it is accurate to rounding. A reference for
/// derivatives, not a stencil.
pub fn complex_step(
    f: impl Fn(num_complex::Complex64) -> num_complex::Complex64,
    x: f64,
    h: f64,
) -> f64 {
    f(num_complex::Complex64::new(x, h)).im / h
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_weights(s: &Stencil, expected: &[f64]) {
        assert_eq!(s.weights().len(), expected.len());
        for (w, e) in s.weights().iter().zip(expected) {
            assert!(
                (w - e).abs() <= 4.0 * f64::EPSILON * e.abs().max(1.0),
                "{w} vs {e}"
            );
        }
    }

    /// Fornberg (1988), Table 1: centred approximations at a grid point.
    #[test]
    fn central_first_derivative_matches_fornberg_table() {
        let t = |p| Stencil::by_accuracy(StencilKind::Central, 1, p).unwrap();
        assert_weights(&t(2), &[-0.5, 0.0, 0.5]);
        assert_weights(
            &t(4),
            &[1.0 / 12.0, -2.0 / 3.0, 0.0, 2.0 / 3.0, -1.0 / 12.0],
        );
        assert_weights(
            &t(6),
            &[
                -1.0 / 60.0,
                3.0 / 20.0,
                -3.0 / 4.0,
                0.0,
                3.0 / 4.0,
                -3.0 / 20.0,
                1.0 / 60.0,
            ],
        );
        assert_weights(
            &t(8),
            &[
                1.0 / 280.0,
                -4.0 / 105.0,
                1.0 / 5.0,
                -4.0 / 5.0,
                0.0,
                4.0 / 5.0,
                -1.0 / 5.0,
                4.0 / 105.0,
                -1.0 / 280.0,
            ],
        );
    }

    #[test]
    fn central_second_derivative_matches_fornberg_table() {
        let t = |p| Stencil::by_accuracy(StencilKind::Central, 2, p).unwrap();
        assert_weights(&t(2), &[1.0, -2.0, 1.0]);
        assert_weights(
            &t(4),
            &[-1.0 / 12.0, 4.0 / 3.0, -5.0 / 2.0, 4.0 / 3.0, -1.0 / 12.0],
        );
        assert_weights(
            &t(6),
            &[
                1.0 / 90.0,
                -3.0 / 20.0,
                3.0 / 2.0,
                -49.0 / 18.0,
                3.0 / 2.0,
                -3.0 / 20.0,
                1.0 / 90.0,
            ],
        );
    }

    /// Fornberg (1988), Table 3: one-sided approximations at the end point.
    #[test]
    fn forward_stencils_match_fornberg_table() {
        let f = |d, p| Stencil::by_accuracy(StencilKind::Forward, d, p).unwrap();
        assert_weights(&f(1, 1), &[-1.0, 1.0]);
        assert_weights(&f(1, 2), &[-3.0 / 2.0, 2.0, -1.0 / 2.0]);
        assert_weights(&f(1, 3), &[-11.0 / 6.0, 3.0, -3.0 / 2.0, 1.0 / 3.0]);
        assert_weights(&f(1, 4), &[-25.0 / 12.0, 4.0, -3.0, 4.0 / 3.0, -1.0 / 4.0]);
        assert_weights(&f(2, 1), &[1.0, -2.0, 1.0]);
        assert_weights(&f(2, 2), &[2.0, -5.0, 4.0, -1.0]);
        assert_weights(
            &f(2, 3),
            &[
                35.0 / 12.0,
                -26.0 / 3.0,
                19.0 / 2.0,
                -14.0 / 3.0,
                11.0 / 12.0,
            ],
        );
    }

    #[test]
    fn backward_is_forward_mirrored_with_sign_of_derivative_parity() {
        for d in 1..=3 {
            for p in 1..=4 {
                let f = Stencil::by_accuracy(StencilKind::Forward, d, p).unwrap();
                let b = Stencil::by_accuracy(StencilKind::Backward, d, p).unwrap();
                let sign = if d % 2 == 0 { 1.0 } else { -1.0 };
                for (i, (&wb, &ob)) in b.weights().iter().zip(b.offsets()).enumerate() {
                    let j = f.len() - 1 - i;
                    assert_eq!(ob, -f.offsets()[j]);
                    assert!((wb - sign * f.weights()[j]).abs() < 1e-13);
                }
            }
        }
    }

    /// Central first-derivative weights on -m..m are w_j = (-1)^(j+1) (m!)² / (j (m-j)! (m+j)!):
    /// Fornberg's recurrence reproduces them for 31 points within a few ulps.
    #[test]
    fn wide_stencil_matches_exact_rationals_within_ulps() {
        use num_bigint::BigInt;
        use num_rational::BigRational;
        use num_traits::ToPrimitive;
        let m: i64 = 15;
        let s = Stencil::by_accuracy(StencilKind::Central, 1, 30).unwrap();
        assert_eq!(s.len(), 31);
        let fact = |n: i64| (1..=n).fold(BigInt::from(1), |acc, k| acc * k);
        for (i, &w) in s.weights().iter().enumerate() {
            let j = i as i64 - m;
            if j == 0 {
                // The exact weight is 0; the computed one is a rounding-level sum of O(1) terms.
                assert!(w.abs() <= 4.0 * f64::EPSILON, "centre weight {w}");
                continue;
            }
            let sign = if j % 2 == 0 { -1 } else { 1 };
            let exact = BigRational::new(
                BigInt::from(sign) * fact(m) * fact(m),
                BigInt::from(j) * fact(m - j.abs()) * fact(m + j.abs()),
            )
            .to_f64()
            .unwrap();
            let ulps = (w - exact).abs() / (exact.abs() * f64::EPSILON);
            assert!(ulps <= 8.0, "offset {j}: {w} vs {exact} ({ulps} ulps)");
        }
    }

    #[test]
    fn bad_inputs_are_typed_errors() {
        assert_eq!(
            Stencil::on_offsets(2, &[0.0, 1.0]),
            Err(StencilError::TooFewNodes { deriv: 2, nodes: 2 })
        );
        assert_eq!(
            Stencil::on_offsets(1, &[0.0, 1.0, 0.0]),
            Err(StencilError::RepeatedNode {
                first: 0,
                second: 2,
                value: 0.0
            })
        );
        assert_eq!(Stencil::on_offsets(0, &[]), Err(StencilError::NoNodes));
        assert!(matches!(
            Stencil::on_offsets(1, &[0.0, f64::NAN]),
            Err(StencilError::NonFiniteNode { index: 1, .. })
        ));
        assert_eq!(
            Stencil::by_accuracy(StencilKind::Central, 1, 3),
            Err(StencilError::OddCentralAccuracy { accuracy: 3 })
        );
        assert_eq!(
            Stencil::by_accuracy(StencilKind::Forward, 1, 0),
            Err(StencilError::ZeroAccuracy)
        );
        let msg = StencilError::TooFewNodes { deriv: 2, nodes: 2 }.to_string();
        assert_eq!(
            msg,
            "a stencil for derivative order 2 needs at least 3 nodes, got 2"
        );
    }

    #[test]
    fn richardson_removes_even_error_terms_of_the_central_difference() {
        let s = Stencil::by_accuracy(StencilKind::Central, 1, 2).unwrap();
        let values: Vec<f64> = (0..4)
            .map(|k| s.apply(f64::sin, 1.0, 0.4 / 2f64.powi(k)))
            .collect();
        let table = richardson(&values, 2.0, 2, 2);
        let plain = (values[3] - 1f64.cos()).abs();
        let extrapolated = (table[3][3] - 1f64.cos()).abs();
        assert!(
            plain > 1e-4 && extrapolated < 1e-11,
            "{plain} → {extrapolated}"
        );
    }

    #[test]
    fn complex_step_is_exact_to_rounding() {
        let d = complex_step(|z| z.sin() * z.exp(), 0.7, 1e-100);
        let exact = 0.7f64.exp() * (0.7f64.cos() + 0.7f64.sin());
        assert!((d - exact).abs() <= 2.0 * f64::EPSILON * exact);
    }

    #[test]
    fn all_derivative_orders_at_once() {
        // Interpolation weights (k = 0) at a node are the unit vector.
        let w = fornberg_weights(1.0, &[0.0, 1.0, 2.0], 3).unwrap();
        assert_eq!(w[0], vec![0.0, 1.0, 0.0]);
        assert_eq!(w[3], vec![0.0, 0.0, 0.0]);
    }
}
