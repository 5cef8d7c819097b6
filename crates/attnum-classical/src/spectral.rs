//! Chebyshev spectral differentiation.
//!
//! On the Chebyshev points `x_j = cos(jπ/N)`, `j = 0..N`, the differentiation matrix `D` maps the
//! samples of `f` to the samples of the derivative of its interpolating polynomial of degree `N`
//! (Trefethen, Spectral Methods in MATLAB, 2000, ch. 6). Each row is a finite-difference stencil
//! on the whole grid; the diagonal is the negative row sum of the off-diagonal entries, which
//! makes `D 1 = 0` hold to rounding.

/// The Chebyshev points `cos(jπ/N)`, `j = 0..=N` (decreasing from 1 to −1).
pub fn chebyshev_points(n: usize) -> Vec<f64> {
    if n == 0 {
        return vec![1.0];
    }
    (0..=n)
        .map(|j| (j as f64 * std::f64::consts::PI / n as f64).cos())
        .collect()
}

/// The `(N+1) × (N+1)` Chebyshev differentiation matrix, by rows.
pub fn chebyshev_differentiation_matrix(n: usize) -> Vec<Vec<f64>> {
    let x = chebyshev_points(n);
    let m = x.len();
    let c = |i: usize| {
        let base = if i == 0 || i == n { 2.0 } else { 1.0 };
        if i.is_multiple_of(2) { base } else { -base }
    };
    let mut d = vec![vec![0.0; m]; m];
    for i in 0..m {
        for j in 0..m {
            if i != j {
                d[i][j] = c(i) / c(j) / (x[i] - x[j]);
            }
        }
        d[i][i] = -d[i].iter().sum::<f64>();
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn differentiates_polynomials_of_degree_n_exactly() {
        for n in [4, 8, 16] {
            let x = chebyshev_points(n);
            let d = chebyshev_differentiation_matrix(n);
            for k in 0..=n {
                let f: Vec<f64> = x.iter().map(|t| t.powi(k as i32)).collect();
                for (i, row) in d.iter().enumerate() {
                    let df: f64 = row.iter().zip(&f).map(|(a, b)| a * b).sum();
                    let exact = if k == 0 {
                        0.0
                    } else {
                        k as f64 * x[i].powi(k as i32 - 1)
                    };
                    assert!(
                        (df - exact).abs() < 1e-11 * (n * n) as f64,
                        "n={n} k={k} i={i}"
                    );
                }
            }
        }
    }

    #[test]
    fn trefethen_n1_matrix() {
        // cheb(1) = [[1/2, −1/2], [1/2, −1/2]].
        assert_eq!(
            chebyshev_differentiation_matrix(1),
            vec![vec![0.5, -0.5], vec![0.5, -0.5]]
        );
    }

    #[test]
    fn spectral_accuracy_on_an_analytic_function() {
        let n = 24;
        let x = chebyshev_points(n);
        let d = chebyshev_differentiation_matrix(n);
        let f: Vec<f64> = x.iter().map(|t| (2.0 * t).exp() * t.sin()).collect();
        let err = d
            .iter()
            .zip(&x)
            .map(|(row, &t)| {
                let df: f64 = row.iter().zip(&f).map(|(a, b)| a * b).sum();
                (df - (2.0 * t).exp() * (2.0 * t.sin() + t.cos())).abs()
            })
            .fold(0.0, f64::max);
        assert!(err < 1e-10, "max error {err}");
    }
}
