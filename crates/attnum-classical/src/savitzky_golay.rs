//! Savitzky–Golay (local least-squares polynomial) derivative weights.
//!
//! Fitting a polynomial of degree `q` by least squares to samples at offsets `o_i` and
//! differentiating it `d` times at 0 is a linear map of the samples: weights `w` with
//! `f^(d)(x0) ≈ h^(-d) Σ w_i f(x0 + o_i h)`. With `n = q + 1` nodes the fit interpolates and the
//! weights are the finite-difference weights of [`crate::fd`]; with more nodes they smooth.
//!
//! The weights are computed from a Householder QR factorisation of the Vandermonde matrix of the
//! offsets scaled to `[-1, 1]`, never from the normal equations, whose condition number is the
//! square of the Vandermonde matrix's.

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
    // Validate the nodes and the degree exactly as a stencil would.
    Stencil::on_offsets(0, offsets)?;
    if degree < deriv || offsets.len() <= degree {
        return Err(StencilError::TooFewNodes {
            deriv: deriv.max(degree),
            nodes: offsets.len(),
        });
    }
    let n = offsets.len();
    let cols = degree + 1;
    let scale = offsets
        .iter()
        .fold(0.0f64, |m, o| m.max(o.abs()))
        .max(f64::MIN_POSITIVE);
    // Column-major Vandermonde matrix of s_i = o_i / scale.
    let mut r: Vec<Vec<f64>> = (0..cols)
        .map(|k| offsets.iter().map(|o| (o / scale).powi(k as i32)).collect())
        .collect();
    // Householder QR: reflectors v_k with H_k = I − 2 v vᵀ / vᵀv applied to columns k..
    let mut reflectors: Vec<Vec<f64>> = Vec::with_capacity(cols);
    for k in 0..cols {
        let norm = r[k][k..].iter().map(|x| x * x).sum::<f64>().sqrt();
        let alpha = if r[k][k] > 0.0 { -norm } else { norm };
        let mut v = vec![0.0; n];
        v[k..].copy_from_slice(&r[k][k..]);
        v[k] -= alpha;
        let vv: f64 = v[k..].iter().map(|x| x * x).sum();
        if vv > 0.0 {
            for col in r.iter_mut().skip(k) {
                let dot: f64 = v[k..].iter().zip(&col[k..]).map(|(a, b)| a * b).sum();
                let f = 2.0 * dot / vv;
                for (c, vi) in col[k..].iter_mut().zip(&v[k..]) {
                    *c -= f * vi;
                }
            }
        }
        reflectors.push(v);
    }
    // Row d of R⁻¹ Qᵀ: solve Rᵀ y = e_d (R upper triangular, r[col][row]), then w = Q [y; 0].
    let mut y = vec![0.0; n];
    for i in 0..cols {
        let rhs = if i == deriv { 1.0 } else { 0.0 };
        let acc: f64 = (0..i).map(|j| r[i][j] * y[j]).sum();
        y[i] = (rhs - acc) / r[i][i];
    }
    for (k, v) in reflectors.iter().enumerate().rev() {
        let vv: f64 = v[k..].iter().map(|x| x * x).sum();
        if vv > 0.0 {
            let dot: f64 = v[k..].iter().zip(&y[k..]).map(|(a, b)| a * b).sum();
            let f = 2.0 * dot / vv;
            for (yi, vi) in y[k..].iter_mut().zip(&v[k..]) {
                *yi -= f * vi;
            }
        }
    }
    let factorial: f64 = (1..=deriv).map(|j| j as f64).product();
    let unscale = factorial / scale.powi(deriv as i32);
    let weights: Vec<f64> = y.iter().map(|w| w * unscale).collect();
    Ok(Stencil::from_parts(deriv, offsets.to_vec(), weights))
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
