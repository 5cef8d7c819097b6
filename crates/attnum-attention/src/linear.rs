//! Linear attention with polynomial keys: attention without softmax whose output is a
//! finite-difference or Savitzky–Golay derivative.
//!
//! Node `i` at offset `o_i` (units of `h`) has the key `φ(o_i) = (1, o_i, o_i²/2!, …, o_i^q/q!)`
//! and the value `f(x₀ + o_i h)`; one query `c` scores each node by `c·φ(o_i)` and the output is
//! `h^(−d) Σ_i (c·φ(o_i)) f_i`. The weights `w = Φc` have Taylor moments `Φᵀw = ΦᵀΦ c`, so the
//! query `c = (ΦᵀΦ)⁻¹ e_d` makes the moments `e_d`: `w` is the least-squares (Savitzky–Golay)
//! derivative of degree `q`, and with `n = q + 1` nodes the unique interpolatory
//! (finite-difference) stencil.
//!
//! Two constructions of the same module:
//! [`LinearAttention::normal_equations`] solves `ΦᵀΦ c = e_d` directly, squaring the condition
//! number of the Vandermonde-like `Φ`; [`LinearAttention::orthonormal`] uses keys that are
//! orthonormal polynomials on the nodes (the `Q` of a Householder QR of the scaled Vandermonde
//! matrix) and the query `R⁻ᵀ e_d`, which is as well conditioned as the problem allows.
//!
//! ```
//! use attnum_attention::{extract::effective_weights, linear::LinearAttention};
//! // Five nodes, degree 4: the fourth-order central stencil (1, −8, 0, 8, −1)/12.
//! let m = LinearAttention::orthonormal(1, 4, &[-2.0, -1.0, 0.0, 1.0, 2.0], 1.0).unwrap();
//! let w = effective_weights(&m).unwrap();
//! for (a, b) in w.iter().zip([1.0, -8.0, 0.0, 8.0, -1.0]) {
//!     assert!((a - b / 12.0).abs() < 1e-15);
//! }
//! ```

use attnum_classical::fd::Stencil;
use attnum_classical::savitzky_golay::OrthonormalPolynomials;
use candle_core::{Tensor, Var};

use crate::{AttentionError, AttentionMethod, DEVICE, Result, parameter};

/// How the keys and the query were built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Construction {
    /// Taylor keys, query from the normal equations `ΦᵀΦ c = e_d`.
    NormalEquations,
    /// Orthonormal polynomial keys from a QR factorisation, query `R⁻ᵀ e_d`.
    Orthonormal,
}

impl Construction {
    /// Short name for tables.
    pub fn name(self) -> &'static str {
        match self {
            Self::NormalEquations => "normal_equations",
            Self::Orthonormal => "orthonormal_keys",
        }
    }
}

/// Linear attention `v ↦ h^(−d) Σ_i (c·k_i) v_i` with fixed keys and a trainable query.
#[derive(Debug, Clone)]
pub struct LinearAttention {
    /// Keys, one row per node: `(n, q + 1)`.
    keys: Tensor,
    query: Var,
    /// `h^(−d)`.
    scale: f64,
    inputs: usize,
}

/// Check the common arguments of both constructions.
fn check(deriv: usize, degree: usize, offsets: &[f64], h: f64) -> Result<()> {
    Stencil::on_offsets(0, offsets)?;
    if degree < deriv || offsets.len() <= degree {
        return Err(AttentionError::Invalid(format!(
            "a degree-{degree} fit for derivative {deriv} needs degree ≥ {deriv} and more than \
             {degree} nodes, got {} nodes",
            offsets.len()
        )));
    }
    if !(h.is_finite() && h > 0.0) {
        return Err(AttentionError::Invalid(format!(
            "the step must be positive, got {h}"
        )));
    }
    Ok(())
}

impl LinearAttention {
    fn from_parts(keys: Vec<Vec<f64>>, query: &[f64], deriv: usize, h: f64) -> Result<Self> {
        let n = keys.len();
        let flat: Vec<f64> = keys.into_iter().flatten().collect();
        Ok(Self {
            keys: Tensor::from_vec(flat, (n, query.len()), &DEVICE)?,
            query: parameter(query)?,
            scale: h.powi(-(deriv as i32)),
            inputs: n,
        })
    }

    /// Taylor keys `φ(o_i)` and the query solving the normal equations `ΦᵀΦ c = e_d` by Gaussian
    /// elimination with partial pivoting.
    ///
    /// # Errors
    /// Invalid nodes or degree, or [`AttentionError::Singular`] when elimination meets a zero pivot.
    pub fn normal_equations(deriv: usize, degree: usize, offsets: &[f64], h: f64) -> Result<Self> {
        check(deriv, degree, offsets, h)?;
        let cols = degree + 1;
        let keys: Vec<Vec<f64>> = offsets
            .iter()
            .map(|&o| {
                let mut term = 1.0;
                (0..cols)
                    .map(|k| {
                        if k > 0 {
                            term *= o / k as f64;
                        }
                        term
                    })
                    .collect()
            })
            .collect();
        let gram: Vec<Vec<f64>> = (0..cols)
            .map(|a| {
                (0..cols)
                    .map(|b| keys.iter().map(|k| k[a] * k[b]).sum())
                    .collect()
            })
            .collect();
        let mut rhs = vec![0.0; cols];
        rhs[deriv] = 1.0;
        let query = solve(gram, rhs)?;
        Self::from_parts(keys, &query, deriv, h)
    }

    /// Keys orthonormal over the nodes (polynomials of degree `0..=q`) and the query that makes
    /// the output the least-squares derivative.
    ///
    /// # Errors
    /// Invalid nodes or degree.
    pub fn orthonormal(deriv: usize, degree: usize, offsets: &[f64], h: f64) -> Result<Self> {
        check(deriv, degree, offsets, h)?;
        let basis = OrthonormalPolynomials::new(offsets, degree)?;
        let keys = (0..offsets.len())
            .map(|i| basis.columns().iter().map(|column| column[i]).collect())
            .collect();
        Self::from_parts(keys, &basis.derivative_coefficients(deriv), deriv, h)
    }

    /// Taylor keys of degree `degree` and the given query, output scale 1 (the step is folded
    /// into the targets): the trainable linear attention of the learned-derivative baselines.
    /// With `degree = n − 1` the keys span every weight vector, so the class holds every stencil.
    ///
    /// # Errors
    /// Repeated offsets, or a query of length other than `degree + 1`.
    pub fn taylor(offsets: &[f64], degree: usize, query: &[f64]) -> Result<Self> {
        Stencil::on_offsets(0, offsets)?;
        if query.len() != degree + 1 {
            return Err(AttentionError::Invalid(format!(
                "a degree-{degree} query has {} entries, got {}",
                degree + 1,
                query.len()
            )));
        }
        Self::from_parts(
            crate::token::taylor_features(offsets, degree),
            query,
            0,
            1.0,
        )
    }

    /// Moment keys and the given query, output scale 1: node `i`'s key is
    /// `(F_0,i, F_1,i, …, F_{n−1},i)`, the weights at `o_i` of the interpolating stencils of the
    /// derivatives `0 … n−1` (the rows of `Φ⁻ᵀ`), so that the weights `w = Σ_j c_j F_j` have the
    /// Taylor moments `c`: the query *is* the moment vector, and the query `e_m` is the
    /// interpolating stencil of derivative `m`. The same class as [`LinearAttention::taylor`] of
    /// degree `n − 1` (every weight vector), in coordinates in which each query entry scales
    /// like one power of `h`.
    ///
    /// # Errors
    /// Repeated offsets, or a query of length other than `n`.
    pub fn moment_keys(offsets: &[f64], query: &[f64]) -> Result<Self> {
        Self::scaled_moment_keys(offsets, &vec![1.0; offsets.len()], query)
    }

    /// Moment keys with entry `j` multiplied by `scales[j]`: node `i`'s key is
    /// `(s_0 F_0,i, …, s_{n−1} F_{n−1},i)`, so the weights have the moments `μ_j = s_j c_j`. The
    /// class is that of [`LinearAttention::moment_keys`]; only the coordinates of the query change.
    /// Gradient descent on a loss quadratic in the query is as well conditioned as the features
    /// `s_j F_j · f` are comparable in size, so scales that give every feature the size of the
    /// target precondition training (a diagonal preconditioner fixed before it starts).
    ///
    /// # Errors
    /// Repeated offsets, a query or scales of length other than `n`, or a scale that is not
    /// positive and finite.
    pub fn scaled_moment_keys(offsets: &[f64], scales: &[f64], query: &[f64]) -> Result<Self> {
        let n = offsets.len();
        if query.len() != n || scales.len() != n {
            return Err(AttentionError::Invalid(format!(
                "{n} offsets need a query of {n} moments and {n} scales, got {} and {}",
                query.len(),
                scales.len()
            )));
        }
        if let Some(s) = scales.iter().find(|s| !(s.is_finite() && **s > 0.0)) {
            return Err(AttentionError::Invalid(format!(
                "the key scales must be positive and finite, got {s}"
            )));
        }
        let stencils = (0..n)
            .map(|j| Stencil::on_offsets(j, offsets))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let keys = (0..n)
            .map(|i| {
                stencils
                    .iter()
                    .zip(scales)
                    .map(|(stencil, s)| s * stencil.weights()[i])
                    .collect()
            })
            .collect();
        Self::from_parts(keys, query, 0, 1.0)
    }

    /// Either construction by name.
    ///
    /// # Errors
    /// As the construction's.
    pub fn build(
        construction: Construction,
        deriv: usize,
        degree: usize,
        offsets: &[f64],
        h: f64,
    ) -> Result<Self> {
        match construction {
            Construction::NormalEquations => Self::normal_equations(deriv, degree, offsets, h),
            Construction::Orthonormal => Self::orthonormal(deriv, degree, offsets, h),
        }
    }
}

/// Solve `a x = b` by Gaussian elimination with partial pivoting.
pub(crate) fn solve(mut a: Vec<Vec<f64>>, mut b: Vec<f64>) -> Result<Vec<f64>> {
    let n = b.len();
    for k in 0..n {
        let pivot = (k..n)
            .max_by(|&i, &j| a[i][k].abs().total_cmp(&a[j][k].abs()))
            .unwrap_or(k);
        if a[pivot][k] == 0.0 {
            return Err(AttentionError::Singular(format!(
                "zero pivot in column {k} of the {n}×{n} system"
            )));
        }
        a.swap(k, pivot);
        b.swap(k, pivot);
        let bk = b[k];
        let (upper, lower) = a.split_at_mut(k + 1);
        let pivot_row = &upper[k];
        for (row, bi) in lower.iter_mut().zip(&mut b[k + 1..]) {
            let factor = row[k] / pivot_row[k];
            for (x, p) in row[k..].iter_mut().zip(&pivot_row[k..]) {
                *x -= factor * p;
            }
            *bi -= factor * bk;
        }
    }
    let mut x = vec![0.0; n];
    for i in (0..n).rev() {
        let acc: f64 = (i + 1..n).map(|j| a[i][j] * x[j]).sum();
        x[i] = (b[i] - acc) / a[i][i];
    }
    Ok(x)
}

impl AttentionMethod for LinearAttention {
    fn inputs(&self) -> usize {
        self.inputs
    }

    fn forward(&self, values: &Tensor) -> candle_core::Result<Tensor> {
        let scores = self.keys.matmul(&self.query.as_tensor().unsqueeze(1)?)?;
        values.matmul(&scores)?.squeeze(1)? * self.scale
    }

    fn is_linear_in_values(&self) -> bool {
        true
    }

    fn parameters(&self) -> Vec<(String, &Var)> {
        vec![("query".into(), &self.query)]
    }
}
