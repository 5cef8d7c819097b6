//! Savitzky–Golay (local least-squares polynomial) derivative weights.
//!
//! Fitting a polynomial of degree `q` by least squares to samples at offsets `o_i` and
//! differentiating it `d` times at 0 is a linear map of the samples: weights `w` with
//! `f^(d)(x0) ≈ h^(-d) Σ w_i f(x0 + o_i h)`. With `n = q + 1` nodes the fit interpolates and the
//! weights are the finite-difference weights of [`crate::fd`]; with more nodes they smooth.
//!
//! The weights are computed from a Householder QR factorisation of the Vandermonde matrix of the
//! offsets scaled to `[-1, 1]` ([`OrthonormalPolynomials`]), never from the normal equations,
//! whose condition number is the square of the Vandermonde matrix's.

use crate::fd::{Stencil, StencilError};

/// Savitzky–Golay weights for the `deriv`-th derivative at 0 from a degree-`degree` least-squares
/// fit on the given distinct offsets (units of h), returned as a [`Stencil`].
///
/// # Errors
/// Invalid nodes, or [`StencilError::TooFewNodes`] when `degree < deriv` (the fitted polynomial
/// would have no `deriv`-th derivative) or `offsets.len() <= degree`.
pub fn savitzky_golay(
    deriv: usize,
    degree: usize,
    offsets: &[f64],
) -> Result<Stencil, StencilError> {
    if degree < deriv || offsets.len() <= degree {
        // Validate the nodes first so that bad nodes are reported as such.
        Stencil::on_offsets(0, offsets)?;
        return Err(StencilError::TooFewNodes {
            deriv: deriv.max(degree),
            nodes: offsets.len(),
        });
    }
    let basis = OrthonormalPolynomials::new(offsets, degree)?;
    let coefficients = basis.derivative_coefficients(deriv);
    let weights = (0..offsets.len())
        .map(|i| {
            basis
                .columns()
                .iter()
                .zip(&coefficients)
                .map(|(column, c)| column[i] * c)
                .sum()
        })
        .collect();
    Ok(Stencil::from_parts(deriv, offsets.to_vec(), weights))
}

/// The polynomials of degree `≤ q` restricted to a set of nodes, in a basis that is orthonormal
/// over the nodes: the thin QR factorisation `V = Q R`, by Householder reflections, of the
/// Legendre–Vandermonde matrix `V_ik = P_k(o_i / s)` of the offsets scaled to `[-1, 1]` by `s`.
///
/// Column `k` of `Q` is a polynomial of degree `k` evaluated at the nodes. The least-squares
/// derivative weights are `w = Q y` with `Rᵀ y = g`, `g_k = s^(−d) P_k^(d)(0)`: a dot product
/// between a per-node key (row `i` of `Q`) and one query `y`, which is how the attention crate
/// builds its numerically stable linear attention. Legendre columns instead of monomials keep
/// `V` far better conditioned on wide equispaced windows.
#[derive(Debug, Clone, PartialEq)]
pub struct OrthonormalPolynomials {
    /// `Q` column by column (`degree + 1` columns of `n` entries).
    q: Vec<Vec<f64>>,
    /// `R` column by column: `r[col][row]`, upper triangular.
    r: Vec<Vec<f64>>,
    /// The scale `s = max |o_i|` mapping the offsets into `[-1, 1]`.
    scale: f64,
}

impl OrthonormalPolynomials {
    /// Factorise the Vandermonde matrix of degree `degree` on the given distinct offsets.
    ///
    /// # Errors
    /// Invalid nodes, or [`StencilError::TooFewNodes`] when `offsets.len() <= degree`.
    pub fn new(offsets: &[f64], degree: usize) -> Result<Self, StencilError> {
        Stencil::on_offsets(0, offsets)?;
        let n = offsets.len();
        if n <= degree {
            return Err(StencilError::TooFewNodes {
                deriv: degree,
                nodes: n,
            });
        }
        let cols = degree + 1;
        let scale = offsets
            .iter()
            .fold(0.0f64, |m, o| m.max(o.abs()))
            .max(f64::MIN_POSITIVE);
        let mut r = legendre_columns(offsets, scale, cols);
        // Householder QR: reflectors v_k with H_k = I − 2 v vᵀ / vᵀv applied to columns k..
        let mut reflectors: Vec<Vec<f64>> = Vec::with_capacity(cols);
        for k in 0..cols {
            let norm = r[k][k..].iter().map(|x| x * x).sum::<f64>().sqrt();
            let alpha = if r[k][k] > 0.0 { -norm } else { norm };
            let mut v = vec![0.0; n];
            v[k..].copy_from_slice(&r[k][k..]);
            v[k] -= alpha;
            for col in r.iter_mut().skip(k) {
                reflect(&v, k, col);
            }
            reflectors.push(v);
        }
        // Q = H_0 H_1 … H_{q} applied to the first `cols` unit vectors.
        let q = (0..cols)
            .map(|j| {
                let mut e = vec![0.0; n];
                e[j] = 1.0;
                for (k, v) in reflectors.iter().enumerate().rev() {
                    reflect(v, k, &mut e);
                }
                e
            })
            .collect();
        r.iter_mut()
            .enumerate()
            .for_each(|(k, col)| col.truncate(k + 1));
        Ok(Self { q, r, scale })
    }

    /// The orthonormal basis: column `k` holds a degree-`k` polynomial at the nodes.
    pub fn columns(&self) -> &[Vec<f64>] {
        &self.q
    }

    /// `y` with `Rᵀ y = g`, `g_k = s^(−d) P_k^(d)(0)`: the coefficients in this basis of the
    /// least-squares `d`-th derivative weights (in units of `h^(-d)`), so that
    /// `w_i = Σ_k Q_ik y_k`. Zero when `deriv` exceeds the degree.
    pub fn derivative_coefficients(&self, deriv: usize) -> Vec<f64> {
        let cols = self.q.len();
        let unscale = self.scale.powi(-(deriv as i32));
        let g = legendre_derivatives_at_zero(cols, deriv);
        let mut y = vec![0.0; cols];
        for i in 0..cols {
            let acc: f64 = (0..i).map(|j| self.r[i][j] * y[j]).sum();
            y[i] = (g[i] * unscale - acc) / self.r[i][i];
        }
        y
    }
}

/// The columns `P_k(o_i / s)`, `k < cols`, by the three-term recurrence.
fn legendre_columns(offsets: &[f64], scale: f64, cols: usize) -> Vec<Vec<f64>> {
    let x: Vec<f64> = offsets.iter().map(|o| o / scale).collect();
    let mut columns: Vec<Vec<f64>> = Vec::with_capacity(cols);
    for k in 0..cols {
        let column = match k {
            0 => vec![1.0; x.len()],
            1 => x.clone(),
            _ => {
                let kf = (k - 1) as f64;
                x.iter()
                    .enumerate()
                    .map(|(i, xi)| {
                        ((2.0 * kf + 1.0) * xi * columns[k - 1][i] - kf * columns[k - 2][i])
                            / (kf + 1.0)
                    })
                    .collect()
            }
        };
        columns.push(column);
    }
    columns
}

/// `P_k^(d)(0)` for `k < count`: differentiating the recurrence `d` times at 0 gives
/// `(k+1) P_{k+1}^(d)(0) = (2k+1) d P_k^(d−1)(0) − k P_{k−1}^(d)(0)`.
fn legendre_derivatives_at_zero(count: usize, deriv: usize) -> Vec<f64> {
    // table[j][k] = P_k^(j)(0).
    let mut table: Vec<Vec<f64>> = Vec::with_capacity(deriv + 1);
    for j in 0..=deriv {
        let mut row = vec![0.0; count];
        for k in 0..count {
            row[k] = match k {
                0 => f64::from(u8::from(j == 0)),
                1 => f64::from(u8::from(j == 1)),
                _ => {
                    let kf = (k - 1) as f64;
                    let lower = if j > 0 { table[j - 1][k - 1] } else { 0.0 };
                    ((2.0 * kf + 1.0) * j as f64 * lower - kf * row[k - 2]) / (kf + 1.0)
                }
            };
        }
        table.push(row);
    }
    table.swap_remove(deriv)
}

/// Apply the Householder reflection `I − 2 v vᵀ / vᵀv` (nonzero from index `k`) to `x`.
fn reflect(v: &[f64], k: usize, x: &mut [f64]) {
    let vv: f64 = v[k..].iter().map(|a| a * a).sum();
    if vv > 0.0 {
        let dot: f64 = v[k..].iter().zip(&x[k..]).map(|(a, b)| a * b).sum();
        let f = 2.0 * dot / vv;
        for (xi, vi) in x[k..].iter_mut().zip(&v[k..]) {
            *xi -= f * vi;
        }
    }
}

/// The symmetric window `-m..=m` of `2m + 1` offsets.
pub fn symmetric_window(half_width: usize) -> Vec<f64> {
    let m = half_width as i64;
    (-m..=m).map(|o| o as f64).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis;

    fn assert_weights(s: &Stencil, expected: &[f64]) {
        for (w, e) in s.weights().iter().zip(expected) {
            assert!((w - e).abs() < 1e-14, "{:?} vs {expected:?}", s.weights());
        }
    }

    /// Savitzky & Golay (1964), Tables I and III (convolution integers / normalising factor).
    #[test]
    fn published_smoothing_and_derivative_weights() {
        let s = savitzky_golay(0, 2, &symmetric_window(2)).unwrap();
        assert_weights(
            &s,
            &[
                -3.0 / 35.0,
                12.0 / 35.0,
                17.0 / 35.0,
                12.0 / 35.0,
                -3.0 / 35.0,
            ],
        );
        let s = savitzky_golay(0, 2, &symmetric_window(3)).unwrap();
        assert_weights(
            &s,
            &[
                -2.0 / 21.0,
                3.0 / 21.0,
                6.0 / 21.0,
                7.0 / 21.0,
                6.0 / 21.0,
                3.0 / 21.0,
                -2.0 / 21.0,
            ],
        );
        let s = savitzky_golay(1, 2, &symmetric_window(2)).unwrap();
        assert_weights(&s, &[-0.2, -0.1, 0.0, 0.1, 0.2]);
        let s = savitzky_golay(2, 2, &symmetric_window(2)).unwrap();
        assert_weights(
            &s,
            &[2.0 / 7.0, -1.0 / 7.0, -2.0 / 7.0, -1.0 / 7.0, 2.0 / 7.0],
        );
    }

    #[test]
    fn with_n_equal_degree_plus_one_it_is_the_fornberg_stencil() {
        for (d, offsets) in [
            (1, vec![-2.0, -0.5, 0.0, 1.0, 3.0]),
            (2, vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0]),
        ] {
            let sg = savitzky_golay(d, offsets.len() - 1, &offsets).unwrap();
            let fd = Stencil::on_offsets(d, &offsets).unwrap();
            for (a, b) in sg.weights().iter().zip(fd.weights()) {
                assert!((a - b).abs() < 1e-11 * b.abs().max(1.0), "{a} vs {b}");
            }
        }
    }

    #[test]
    fn wide_windows_stay_accurate_and_exact_on_polynomials() {
        // 41 points, degree 6, second derivative: the moments up to degree 6 are exact.
        let s = savitzky_golay(2, 6, &symmetric_window(20)).unwrap();
        let m = analysis::moments(&s, 7);
        for (k, mk) in m.iter().enumerate() {
            let target = if k == 2 { 1.0 } else { 0.0 };
            assert!((mk - target).abs() < 1e-9, "M_{k} = {mk}");
        }
    }

    #[test]
    fn bad_inputs() {
        assert!(savitzky_golay(3, 2, &symmetric_window(3)).is_err());
        assert!(savitzky_golay(1, 5, &symmetric_window(2)).is_err());
        assert!(savitzky_golay(1, 2, &[0.0, 1.0, 1.0, 2.0]).is_err());
    }
}
