//! Fifth-order weighted essentially non-oscillatory reconstruction, WENO5-JS (Jiang & Shu 1996).
//!
//! From the five values `v_{i−2} … v_{i+2}` (cell averages, or point values of a flux in Shu's
//! finite-difference form) it reconstructs the value at `x_{i+1/2}` biased to the left, as a
//! convex combination of three third-order candidates `q_k` (the stencils `{i−2,i−1,i}`,
//! `{i−1,i,i+1}`, `{i,i+1,i+2}`), with nonlinear weights
//! `ω_k = α_k / Σ_j α_j`, `α_k = d_k / (ε + β_k)²`, linear weights `d = (1/10, 6/10, 3/10)` and
//! smoothness indicators `β_k` that are quadratic forms of the values. With `ω = d` the
//! combination is the linear fifth-order upwind stencil `(2, −13, 47, 27, −3)/60`; near a
//! discontinuity the weight of every candidate whose stencil crosses it is small.
//!
//! The coefficients are public constants so that an attention module can be compiled from them
//! (`attnum-attention`'s `weno`). Upwinding, flux splitting and time stepping belong to the
//! solver that uses the reconstruction, not here.

use thiserror::Error;

/// The candidates `q_k = Σ_r CANDIDATE_STENCILS[k][r] v_{i−2+r}`: third-order reconstructions of
/// the value at `x_{i+1/2}` from three consecutive values.
pub const CANDIDATE_STENCILS: [[f64; 5]; 3] = [
    [2.0 / 6.0, -7.0 / 6.0, 11.0 / 6.0, 0.0, 0.0],
    [0.0, -1.0 / 6.0, 5.0 / 6.0, 2.0 / 6.0, 0.0],
    [0.0, 0.0, 2.0 / 6.0, 5.0 / 6.0, -1.0 / 6.0],
];

/// The linear (ideal) weights `d_k`: `Σ_k d_k q_k` is the fifth-order upwind reconstruction.
pub const LINEAR_WEIGHTS: [f64; 3] = [0.1, 0.6, 0.3];

/// The two integer linear forms of each smoothness indicator:
/// `β_k = SMOOTHNESS_COEFFICIENTS[0] (ℓ_k0 · v)² + SMOOTHNESS_COEFFICIENTS[1] (ℓ_k1 · v)²`.
pub const SMOOTHNESS_FORMS: [[[f64; 5]; 2]; 3] = [
    [[1.0, -2.0, 1.0, 0.0, 0.0], [1.0, -4.0, 3.0, 0.0, 0.0]],
    [[0.0, 1.0, -2.0, 1.0, 0.0], [0.0, 1.0, 0.0, -1.0, 0.0]],
    [[0.0, 0.0, 1.0, -2.0, 1.0], [0.0, 0.0, 3.0, -4.0, 1.0]],
];

/// The coefficients `13/12` and `1/4` of the squared forms in every smoothness indicator.
pub const SMOOTHNESS_COEFFICIENTS: [f64; 2] = [13.0 / 12.0, 0.25];

/// Jiang and Shu's regularisation `ε = 10⁻⁶`.
pub const JIANG_SHU_EPSILON: f64 = 1e-6;

/// Why a reconstruction cannot be computed.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum WenoError {
    /// `ε` must be positive and finite (it keeps the weights finite on constant data).
    #[error("the WENO regularisation ε must be positive and finite, got {0}")]
    Epsilon(f64),
    /// A periodic grid needs at least the stencil's five points.
    #[error("WENO5 needs at least 5 grid points, got {0}")]
    TooFewPoints(usize),
    /// A value is NaN or infinite.
    #[error("value {index} on the grid is not finite ({value})")]
    NotFinite {
        /// Its index on the grid.
        index: usize,
        /// The value.
        value: f64,
    },
}

/// The WENO5-JS reconstruction with regularisation `ε`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Weno5 {
    epsilon: f64,
}

/// `ℓ · v` for a five-point form.
fn form(coefficients: &[f64; 5], window: &[f64; 5]) -> f64 {
    coefficients.iter().zip(window).map(|(c, v)| c * v).sum()
}

impl Weno5 {
    /// The reconstruction with regularisation `epsilon`.
    ///
    /// # Errors
    /// [`WenoError::Epsilon`] unless `epsilon` is positive and finite.
    pub fn new(epsilon: f64) -> Result<Self, WenoError> {
        if epsilon > 0.0 && epsilon.is_finite() {
            Ok(Self { epsilon })
        } else {
            Err(WenoError::Epsilon(epsilon))
        }
    }

    /// Jiang and Shu's choice `ε = 10⁻⁶`.
    pub fn jiang_shu() -> Self {
        Self {
            epsilon: JIANG_SHU_EPSILON,
        }
    }

    /// The regularisation `ε`.
    pub fn epsilon(&self) -> f64 {
        self.epsilon
    }

    /// The three candidates `q_k`.
    pub fn candidates(window: &[f64; 5]) -> [f64; 3] {
        CANDIDATE_STENCILS.map(|stencil| form(&stencil, window))
    }

    /// The three smoothness indicators `β_k`.
    pub fn smoothness(window: &[f64; 5]) -> [f64; 3] {
        SMOOTHNESS_FORMS.map(|[first, second]| {
            SMOOTHNESS_COEFFICIENTS[0] * form(&first, window).powi(2)
                + SMOOTHNESS_COEFFICIENTS[1] * form(&second, window).powi(2)
        })
    }

    /// The nonlinear weights `ω_k = α_k / Σ_j α_j`, `α_k = d_k / (ε + β_k)²`.
    pub fn weights(&self, window: &[f64; 5]) -> [f64; 3] {
        let beta = Self::smoothness(window);
        let alpha: [f64; 3] =
            std::array::from_fn(|k| LINEAR_WEIGHTS[k] / (self.epsilon + beta[k]).powi(2));
        let total: f64 = alpha.iter().sum();
        alpha.map(|a| a / total)
    }

    /// The reconstruction `Σ_k ω_k q_k` at `x_{i+1/2}` from `v_{i−2} … v_{i+2}`.
    pub fn reconstruct(&self, window: &[f64; 5]) -> f64 {
        let q = Self::candidates(window);
        self.weights(window).iter().zip(q).map(|(w, q)| w * q).sum()
    }

    /// The reconstruction at every `x_{i+1/2}` of a periodic grid (`values[i]` at `x_i`).
    ///
    /// # Errors
    /// [`WenoError::TooFewPoints`] below five points, [`WenoError::NotFinite`] for a NaN or
    /// infinite value.
    pub fn reconstruct_periodic(&self, values: &[f64]) -> Result<Vec<f64>, WenoError> {
        let n = values.len();
        if n < 5 {
            return Err(WenoError::TooFewPoints(n));
        }
        if let Some(index) = values.iter().position(|v| !v.is_finite()) {
            return Err(WenoError::NotFinite {
                index,
                value: values[index],
            });
        }
        Ok((0..n)
            .map(|i| self.reconstruct(&periodic_window(values, i)))
            .collect())
    }

    /// Shu's finite-difference WENO derivative `(f̂_{i+1/2} − f̂_{i−1/2}) / h` of point values on
    /// a periodic grid of step `h`: a fifth-order approximation of `f'(x_i)` on smooth data,
    /// upwind for a positive speed.
    ///
    /// # Errors
    /// As [`Weno5::reconstruct_periodic`].
    pub fn derivative_periodic(&self, values: &[f64], h: f64) -> Result<Vec<f64>, WenoError> {
        let flux = self.reconstruct_periodic(values)?;
        let n = flux.len();
        Ok((0..n)
            .map(|i| (flux[i] - flux[(i + n - 1) % n]) / h)
            .collect())
    }
}

/// The five values `v_{i−2} … v_{i+2}` of a periodic grid.
pub fn periodic_window(values: &[f64], i: usize) -> [f64; 5] {
    let n = values.len();
    std::array::from_fn(|r| values[(i + n + r - 2) % n])
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f64::consts::PI;

    #[test]
    fn linear_weights_give_the_fifth_order_upwind_stencil() {
        // Σ_k d_k q_k = (2, −13, 47, 27, −3)/60 (Jiang & Shu 1996, eq. 2.9).
        let expected = [2.0, -13.0, 47.0, 27.0, -3.0].map(|x| x / 60.0);
        for (r, e) in expected.iter().enumerate() {
            let w: f64 = (0..3)
                .map(|k| LINEAR_WEIGHTS[k] * CANDIDATE_STENCILS[k][r])
                .sum();
            assert!((w - e).abs() < 1e-15, "entry {r}: {w} vs {e}");
        }
    }

    #[test]
    fn quadratics_are_reconstructed_exactly_whatever_the_weights() {
        // Cell averages of p(x) = 3 − 2x + 5x² over cells of width h centred at x_i = ih:
        // p̄_i = p(x_i) + 5h²/12. Every candidate reproduces p(x_{i+1/2}), so any convex
        // combination does too.
        let h = 0.3;
        let p = |x: f64| 3.0 - 2.0 * x + 5.0 * x * x;
        let window: [f64; 5] = std::array::from_fn(|r| {
            let x = (r as f64 - 2.0) * h;
            p(x) + 5.0 * h * h / 12.0
        });
        let target = p(h / 2.0);
        for q in Weno5::candidates(&window) {
            assert!((q - target).abs() < 1e-13, "{q} vs {target}");
        }
        assert!((Weno5::jiang_shu().reconstruct(&window) - target).abs() < 1e-13);
    }

    #[test]
    fn smoothness_indicators_match_jiang_shu_on_a_hand_computed_window() {
        // v = (0, 1, 4, 9, 16): ℓ_00 = 2, ℓ_01 = 0 − 4 + 12 = 8 → β0 = 13/12·4 + 16;
        // ℓ_10 = 2, ℓ_11 = 1 − 9 = −8 → β1 = 13/12·4 + 16; ℓ_20 = 2, ℓ_21 = 12 − 36 + 16 = −8.
        let beta = Weno5::smoothness(&[0.0, 1.0, 4.0, 9.0, 16.0]);
        let expected = 13.0 / 3.0 + 16.0;
        for b in beta {
            assert!((b - expected).abs() < 1e-13);
        }
    }

    #[test]
    fn a_step_gets_almost_all_weight_on_the_smooth_candidate() {
        // The jump sits between x_{i+1} and x_{i+2}: only candidate 0 ({i−2,i−1,i}) and
        // candidate 1 ({i−1,i,i+1}) avoid it; candidate 2 crosses it.
        let w = Weno5::jiang_shu().weights(&[0.0, 0.0, 0.0, 0.0, 1.0]);
        assert!(w[2] < 1e-10, "{w:?}");
        let r = Weno5::jiang_shu().reconstruct(&[0.0, 0.0, 0.0, 0.0, 1.0]);
        assert!(r.abs() < 1e-10, "no overshoot: {r}");
        // A jump between x_{i−2} and x_{i−1}: candidate 0 crosses it.
        let w = Weno5::jiang_shu().weights(&[1.0, 0.0, 0.0, 0.0, 0.0]);
        assert!(w[0] < 1e-10, "{w:?}");
    }

    #[test]
    fn the_derivative_converges_at_fifth_order_on_smooth_periodic_data() {
        // f = exp(sin x): once h is small the nonlinear weights are d + O(h²) and the error of
        // Shu's finite-difference WENO derivative falls by 2⁵ per halving.
        let weno = Weno5::jiang_shu();
        let error = |n: usize| {
            let h = 2.0 * PI / n as f64;
            let x: Vec<f64> = (0..n).map(|i| i as f64 * h).collect();
            let f: Vec<f64> = x.iter().map(|x| x.sin().exp()).collect();
            let d = weno.derivative_periodic(&f, h).unwrap();
            x.iter()
                .zip(d)
                .map(|(x, d)| (d - x.cos() * x.sin().exp()).abs())
                .fold(0.0, f64::max)
        };
        let (e1, e2) = (error(160), error(320));
        let order = (e1 / e2).log2();
        assert!(order > 4.8, "observed order {order} ({e1:e}, {e2:e})");
    }

    #[test]
    fn bad_input_is_refused() {
        assert_eq!(Weno5::new(0.0), Err(WenoError::Epsilon(0.0)));
        assert!(Weno5::new(f64::NAN).is_err());
        let weno = Weno5::jiang_shu();
        assert_eq!(
            weno.reconstruct_periodic(&[1.0; 4]),
            Err(WenoError::TooFewPoints(4))
        );
        assert!(matches!(
            weno.reconstruct_periodic(&[0.0, 1.0, f64::INFINITY, 0.0, 0.0]),
            Err(WenoError::NotFinite { index: 2, .. })
        ));
    }

    #[test]
    fn periodic_windows_wrap_around() {
        let v = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0];
        assert_eq!(periodic_window(&v, 0), [4.0, 5.0, 0.0, 1.0, 2.0]);
        assert_eq!(periodic_window(&v, 5), [3.0, 4.0, 5.0, 0.0, 1.0]);
    }
}
