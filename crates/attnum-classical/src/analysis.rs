//! What a set of finite-difference weights does: moments, order, error constant, and the
//! floating-point error model.
//!
//! For weights `w_i` on offsets `o_i` approximating the `d`-th derivative, Taylor expansion gives
//!
//! ```text
//! h^(-d) Σ_i w_i f(x0 + o_i h) = Σ_k M_k h^(k-d) f^(k)(x0),   M_k = Σ_i w_i o_i^k / k!
//! ```
//!
//! so the weights are consistent when `M_k = 0` for `k < d` and `M_d = 1`, the order of accuracy is
//! `p` when additionally `M_k = 0` for `d < k < d + p`, and `M_{d+p}` is the leading error constant.
//!
//! In floating point each sample carries a relative error of about the unit roundoff `u`, so the
//! computed value has the additional error `u Σ|w_i f(x_i)| / h^d`. Balancing it against the
//! truncation error `|M_{d+p}| |f^(d+p)| h^p` gives the model-optimal step and the error floor.

use crate::fd::Stencil;

/// Unit roundoff of IEEE binary64, `2^-53`.
pub const UNIT_ROUNDOFF: f64 = f64::EPSILON / 2.0;

/// Relative tolerance under which a computed moment counts as zero (it is compared with the sum
/// of the absolute values of its terms, so cancellation in f64 is not mistaken for a real moment).
pub const MOMENT_ZERO_TOLERANCE: f64 = 1e-9;

/// The Taylor moment `M_k = Σ w_i o_i^k / k!` and the magnitude `Σ |w_i o_i^k| / k!` of its terms.
fn moment_with_scale(stencil: &Stencil, k: usize) -> (f64, f64) {
    let factorial: f64 = (1..=k).map(|j| j as f64).product();
    let (sum, scale) =
        stencil
            .offsets()
            .iter()
            .zip(stencil.weights())
            .fold((0.0, 0.0), |(s, a), (&o, &w)| {
                let term = w * o.powi(k as i32);
                (s + term, a + term.abs())
            });
    (sum / factorial, scale / factorial)
}

/// The Taylor moments `M_0, …, M_{count-1}` of the stencil.
pub fn moments(stencil: &Stencil, count: usize) -> Vec<f64> {
    (0..count)
        .map(|k| moment_with_scale(stencil, k).0)
        .collect()
}

/// Order of accuracy and leading error constant of a stencil.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Accuracy {
    /// Order `p`: the error is `C h^p f^(d+p)(x0) + O(h^(p+1))`.
    pub order: usize,
    /// The leading error constant `C = M_{d+p}`.
    pub error_constant: f64,
}

/// The order of accuracy of a stencil and its leading error constant, from its moments.
///
/// Returns `None` when the weights are not consistent (a moment below `d` is nonzero or
/// `M_d ≠ 1`), which is not the case for weights built by [`Stencil`].
pub fn accuracy(stencil: &Stencil) -> Option<Accuracy> {
    let d = stencil.deriv();
    let is_zero = |k: usize| {
        let (m, scale) = moment_with_scale(stencil, k);
        m.abs() <= MOMENT_ZERO_TOLERANCE * scale.max(f64::MIN_POSITIVE)
    };
    if !(0..d).all(is_zero) {
        return None;
    }
    let (md, _) = moment_with_scale(stencil, d);
    if (md - 1.0).abs() > MOMENT_ZERO_TOLERANCE {
        return None;
    }
    // A stencil on n nodes is exact for polynomials of degree n - 1 at most, so the first
    // nonzero moment beyond d appears at k <= n + 1 (n + 1 for symmetric stencils).
    (d + 1..=stencil.len() + 2)
        .find(|&k| !is_zero(k))
        .map(|k| Accuracy {
            order: k - d,
            error_constant: moment_with_scale(stencil, k).0,
        })
}

/// Noise amplification `Σ |w_i|`: the factor by which independent sample errors of size `ε`
/// can grow in the weighted sum (before division by `h^d`).
pub fn noise_amplification(stencil: &Stencil) -> f64 {
    stencil.weights().iter().map(|w| w.abs()).sum()
}

/// The model-optimal step and error floor of a stencil in floating point.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ErrorFloor {
    /// The step minimising `T(h) + R(h)`.
    pub optimal_step: f64,
    /// The modelled total error at that step.
    pub floor: f64,
}

/// Minimise `E(h) = |C| |f^(d+p)| h^p + ε / h^d` over `h > 0`, where `ε = u Σ|w_i| |f|` is the
/// rounding error of the weighted sum of samples of magnitude `f_scale`.
///
/// The minimiser is `h* = (d ε / (p |C| |f^(d+p)|))^(1/(p+d))`. Returns `None` when the truncation
/// term vanishes (`C f^(d+p) = 0`: the stencil is exact for `f` and there is no optimum).
pub fn error_floor(
    stencil: &Stencil,
    accuracy: Accuracy,
    f_scale: f64,
    leading_derivative: f64,
) -> Option<ErrorFloor> {
    let d = stencil.deriv() as f64;
    let p = accuracy.order as f64;
    let t = accuracy.error_constant.abs() * leading_derivative.abs();
    let eps = UNIT_ROUNDOFF * noise_amplification(stencil) * f_scale.abs();
    if t == 0.0 || eps == 0.0 || !t.is_finite() {
        return None;
    }
    let optimal_step = (d * eps / (p * t)).powf(1.0 / (p + d));
    let floor = t * optimal_step.powf(p) + eps / optimal_step.powf(d);
    Some(ErrorFloor {
        optimal_step,
        floor,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fd::StencilKind;
    use proptest::prelude::*;

    #[test]
    fn known_orders_and_error_constants() {
        let c = |d, p| Stencil::by_accuracy(StencilKind::Central, d, p).unwrap();
        let f = |d, p| Stencil::by_accuracy(StencilKind::Forward, d, p).unwrap();
        // f'(0) ≈ (f(h) - f(-h)) / 2h = f' + h²/6 f''' + …
        let a = accuracy(&c(1, 2)).unwrap();
        assert_eq!(a.order, 2);
        assert!((a.error_constant - 1.0 / 6.0).abs() < 1e-15);
        // 5-point: error -h⁴/30 f^(5)
        let a = accuracy(&c(1, 4)).unwrap();
        assert_eq!(a.order, 4);
        assert!((a.error_constant + 1.0 / 30.0).abs() < 1e-15);
        // (f(h) - f(0)) / h = f' + h/2 f'' + …
        let a = accuracy(&f(1, 1)).unwrap();
        assert_eq!(a.order, 1);
        assert!((a.error_constant - 0.5).abs() < 1e-15);
        // second difference: f'' + h²/12 f''''
        let a = accuracy(&c(2, 2)).unwrap();
        assert_eq!(a.order, 2);
        assert!((a.error_constant - 1.0 / 12.0).abs() < 1e-15);
        for p in 1..=6 {
            assert_eq!(accuracy(&f(1, p)).unwrap().order, p);
            assert_eq!(accuracy(&f(2, p)).unwrap().order, p);
        }
        for p in [2, 4, 6, 8, 10] {
            assert_eq!(accuracy(&c(1, p)).unwrap().order, p);
            assert_eq!(accuracy(&c(2, p)).unwrap().order, p);
        }
    }

    #[test]
    fn noise_amplification_of_central_difference() {
        let s = Stencil::by_accuracy(StencilKind::Central, 1, 2).unwrap();
        assert_eq!(noise_amplification(&s), 1.0);
    }

    #[test]
    fn optimal_step_of_central_difference_is_the_textbook_cube_root() {
        // E(h) = h²/6 |f'''| + u |f| / h  →  h* = (3u|f| / |f'''|)^(1/3).
        let s = Stencil::by_accuracy(StencilKind::Central, 1, 2).unwrap();
        let e = error_floor(&s, accuracy(&s).unwrap(), 1.0, 1.0).unwrap();
        let expected = (3.0 * UNIT_ROUNDOFF).cbrt();
        assert!((e.optimal_step / expected - 1.0).abs() < 1e-14);
    }

    proptest! {
        /// On any distinct nodes, n weights for derivative d satisfy the moment conditions
        /// M_k = δ_{kd} for k < n (exactness on polynomials of degree < n).
        #[test]
        fn moment_conditions_on_random_grids(
            raw in proptest::collection::vec(-4.0f64..4.0, 2..9),
            d in 1usize..4,
        ) {
            let mut nodes = raw.clone();
            nodes.sort_by(f64::total_cmp);
            nodes.dedup_by(|a, b| (*a - *b).abs() < 0.05);
            prop_assume!(nodes.len() > d);
            let s = Stencil::on_offsets(d, &nodes).unwrap();
            for k in 0..nodes.len() {
                let (m, scale) = moment_with_scale(&s, k);
                let target = if k == d { 1.0 } else { 0.0 };
                prop_assert!((m - target).abs() <= 1e-9 * scale.max(1.0), "k={k} m={m}");
            }
        }
    }
}
