//! Quadrature rules on `[-1, 1]`: Gauss–Legendre, Clenshaw–Curtis, closed and open Newton–Cotes,
//! and the degree of exactness of any rule.
//!
//! Gauss–Legendre nodes and weights are computed in O(n) by Newton's method in `θ = arccos x`
//! (after Hale & Townsend, SIAM J. Sci. Comput. 35, 2013): away from the ends of the interval
//! `P_n(cos θ)` and its derivative are evaluated by Stieltjes' asymptotic series in O(1); the few
//! nodes near `±1` where that series does not converge fast enough use the three-term recurrence,
//! written in `t = 1 − x` so that no accuracy is lost to rounding `cos θ`. The weights are
//! `2 / (dP_n/dθ)²`, which avoids the cancellation in `1 − x²`.
//!
//! Newton–Cotes weights are also available as exact rationals, so that their signs are decided
//! exactly ([`newton_cotes_exact`]).

use num_bigint::BigInt;
use num_rational::BigRational;
use num_traits::{One, Signed, ToPrimitive, Zero};
use thiserror::Error;

/// Why a rule cannot be built.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum QuadratureError {
    /// Fewer points than the family allows.
    #[error("{family} needs at least {min} point(s), got {n}")]
    TooFewPoints {
        /// The rule family.
        family: &'static str,
        /// The number of points asked for.
        n: usize,
        /// The smallest valid number.
        min: usize,
    },
    /// More points than the exact Newton–Cotes construction supports.
    #[error("{family} is available up to {max} points, got {n}")]
    TooManyPoints {
        /// The rule family.
        family: &'static str,
        /// The number of points asked for.
        n: usize,
        /// The largest supported number.
        max: usize,
    },
    /// An interval with non-finite ends or `a >= b`.
    #[error("the interval [{a}, {b}] must have finite ends with a < b")]
    BadInterval {
        /// Left end.
        a: f64,
        /// Right end.
        b: f64,
    },
}

/// A quadrature rule: `∫ f ≈ Σ w_i f(x_i)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    nodes: Vec<f64>,
    weights: Vec<f64>,
}

impl Rule {
    /// A rule from nodes and weights of equal length.
    ///
    /// # Panics
    /// When the lengths differ (a bug in the caller, never a consequence of user input).
    pub fn new(nodes: Vec<f64>, weights: Vec<f64>) -> Self {
        assert_eq!(nodes.len(), weights.len(), "one weight per node");
        Self { nodes, weights }
    }

    /// The nodes, increasing.
    pub fn nodes(&self) -> &[f64] {
        &self.nodes
    }

    /// The weights.
    pub fn weights(&self) -> &[f64] {
        &self.weights
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether the rule has no nodes (never the case for the built-in families).
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// The same rule mapped affinely from `[-1, 1]` to `[a, b]`.
    pub fn on_interval(&self, a: f64, b: f64) -> Result<Self, QuadratureError> {
        if !(a.is_finite() && b.is_finite() && a < b) {
            return Err(QuadratureError::BadInterval { a, b });
        }
        let (mid, half) = ((a + b) / 2.0, (b - a) / 2.0);
        Ok(Self {
            nodes: self.nodes.iter().map(|x| mid + half * x).collect(),
            weights: self.weights.iter().map(|w| half * w).collect(),
        })
    }

    /// The composite rule: this rule (on `[-1, 1]`) applied on each of `panels` equal
    /// subintervals of `[a, b]`. Nodes shared by neighbouring panels (closed rules) are merged
    /// and their weights added.
    pub fn composite(&self, a: f64, b: f64, panels: usize) -> Result<Self, QuadratureError> {
        if panels == 0 {
            return Err(QuadratureError::TooFewPoints {
                family: "composite rule (panels)",
                n: 0,
                min: 1,
            });
        }
        if !(a.is_finite() && b.is_finite() && a < b) {
            return Err(QuadratureError::BadInterval { a, b });
        }
        let width = (b - a) / panels as f64;
        let mut nodes: Vec<f64> = Vec::with_capacity(panels * self.len());
        let mut weights: Vec<f64> = Vec::with_capacity(panels * self.len());
        for k in 0..panels {
            let lo = a + k as f64 * width;
            let panel = self.on_interval(lo, if k + 1 == panels { b } else { lo + width })?;
            for (&x, &w) in panel.nodes.iter().zip(&panel.weights) {
                match nodes.last() {
                    Some(&last) if (x - last).abs() <= 1e-14 * width => {
                        *weights.last_mut().expect("a node has a weight") += w;
                    }
                    _ => {
                        nodes.push(x);
                        weights.push(w);
                    }
                }
            }
        }
        Ok(Self { nodes, weights })
    }

    /// Apply the rule to `f`.
    pub fn integrate(&self, f: impl Fn(f64) -> f64) -> f64 {
        self.nodes
            .iter()
            .zip(&self.weights)
            .map(|(&x, &w)| w * f(x))
            .sum()
    }

    /// Whether every weight is positive.
    pub fn has_positive_weights(&self) -> bool {
        self.weights.iter().all(|&w| w > 0.0)
    }

    /// The largest `D` such that the rule (on `[-1, 1]`) integrates every polynomial of degree
    /// `≤ D` exactly, judged with relative tolerance `tol` on the Legendre polynomials `P_k`,
    /// `k ≤ max_degree` relative to `Σ|w_i|`; `None` when even constants are not integrated
    /// exactly.
    ///
    /// Legendre polynomials, not monomials: a rule's error on `x^k` can be far below any
    /// tolerance (Gauss–Legendre misses `∫ x^(2n)` by about `4^(−n)`), while its error on `P_k`
    /// beyond its degree is of order `Σ|w|`.
    pub fn degree_of_exactness(&self, max_degree: usize, tol: f64) -> Option<usize> {
        // Columns P_{k-1}(x_i), P_k(x_i), advanced by the three-term recurrence.
        let mut prev: Vec<f64> = vec![0.0; self.len()];
        let mut cur: Vec<f64> = vec![1.0; self.len()];
        let size: f64 = self.weights.iter().map(|w| w.abs()).sum();
        let mut degree = None;
        for k in 0..=max_degree {
            if k > 0 {
                let kf = k as f64;
                for ((p, c), &x) in prev.iter_mut().zip(cur.iter_mut()).zip(&self.nodes) {
                    let next = ((2.0 * kf - 1.0) * x * *c - (kf - 1.0) * *p) / kf;
                    *p = *c;
                    *c = next;
                }
            }
            let sum: f64 = cur.iter().zip(&self.weights).map(|(&pk, &w)| w * pk).sum();
            let exact = if k == 0 { 2.0 } else { 0.0 };
            // |P_k| ≤ 1 on [-1, 1], so Σ|w| bounds every term: the natural scale of the sum.
            if (sum - exact).abs() > tol * size.max(f64::MIN_POSITIVE) {
                break;
            }
            degree = Some(k);
        }
        degree
    }
}

// ---------------------------------------------------------------------------------------------
// Gauss–Legendre

/// Below this size every node is computed with the recurrence (O(n²) in total, still fast).
const GL_RECURRENCE_ONLY: usize = 100;
/// The asymptotic series is used where `n sin θ` exceeds this (its terms then fall below
/// `u` well before they start to grow).
const GL_SERIES_MIN_N_SIN_THETA: f64 = 25.0;
/// Largest number of terms of the asymptotic series.
const GL_SERIES_TERMS: usize = 60;

/// `(hi, lo)` with `hi + lo = a·b` exactly.
fn two_prod(a: f64, b: f64) -> (f64, f64) {
    let p = a * b;
    (p, a.mul_add(b, -p))
}

/// `(s, e)` with `s + e = a + b` exactly.
fn two_sum(a: f64, b: f64) -> (f64, f64) {
    let s = a + b;
    let bb = s - a;
    (s, (a - (s - bb)) + (b - bb))
}

/// A double-double number `hi + lo` (about 32 significant digits), for the few evaluations whose
/// n roundings in plain `f64` would cost n ulps.
#[derive(Debug, Clone, Copy)]
struct DoubleDouble {
    hi: f64,
    lo: f64,
}

impl DoubleDouble {
    fn new(x: f64) -> Self {
        Self { hi: x, lo: 0.0 }
    }

    fn normalise(hi: f64, lo: f64) -> Self {
        let (hi, lo) = two_sum(hi, lo);
        Self { hi, lo }
    }

    fn add(self, o: Self) -> Self {
        let (s, e) = two_sum(self.hi, o.hi);
        Self::normalise(s, e + self.lo + o.lo)
    }

    fn sub(self, o: Self) -> Self {
        self.add(Self {
            hi: -o.hi,
            lo: -o.lo,
        })
    }

    fn mul(self, b: f64) -> Self {
        let (p, e) = two_prod(self.hi, b);
        Self::normalise(p, e + self.lo * b)
    }

    fn div(self, b: f64) -> Self {
        let q = self.hi / b;
        let (p, e) = two_prod(q, b);
        Self::normalise(q, (self.hi - p - e + self.lo) / b)
    }

    fn value(self) -> f64 {
        self.hi + self.lo
    }
}

/// `C_n = (4/π) ∏_{j=1}^{n} j/(j + 1/2)`, accumulated in double-double.
fn stieltjes_constant(n: usize) -> f64 {
    let mut c = DoubleDouble::new(1.0);
    for j in 1..=n {
        let j = j as f64;
        c = c.mul(j).div(j + 0.5);
    }
    // 4/π in double-double.
    const FOUR_OVER_PI: DoubleDouble = DoubleDouble {
        hi: 1.273_239_544_735_162_7,
        lo: -7.871_470_718_671_754e-17,
    };
    let (p, e) = two_prod(FOUR_OVER_PI.hi, c.hi);
    p + (e + FOUR_OVER_PI.hi * c.lo + FOUR_OVER_PI.lo * c.hi)
}

/// `(P_n(cos θ), dP_n(cos θ)/dθ)` by Stieltjes' series (Szegő, Orthogonal Polynomials, 8.21.14):
/// `P_n(cos θ) = C_n Σ_m h_m cos α_m / (2 sin θ)^{m+1/2}`, `α_m = (n+m+1/2)θ − (m+1/2)π/2`,
/// `h_0 = 1`, `h_m = h_{m−1} (m−1/2)² / (m (n+m+1/2))`. The series is asymptotic: it is summed
/// up to its smallest term.
fn legendre_series(n: usize, c_n: f64, theta: f64) -> (f64, f64) {
    let nf = n as f64;
    let (s, c) = theta.sin_cos();
    let two_s = 2.0 * s;
    let leading = 1.0 / two_s.sqrt();
    let mut scale = leading; // h_m / (2 sin θ)^{m+1/2}
    // α_m = α_{m−1} + (θ − π/2): rotate by (cos, sin)(θ − π/2) = (sin θ, −cos θ).
    let (mut sa, mut ca) = ((nf + 0.5) * theta - std::f64::consts::FRAC_PI_4).sin_cos();
    let (mut p, mut dp) = (0.0, 0.0);
    for m in 0..GL_SERIES_TERMS {
        let mf = m as f64;
        if m > 0 {
            let next = scale * (mf - 0.5) * (mf - 0.5) / (mf * (nf + mf + 0.5) * two_s);
            if next >= scale || next < 1e-17 * leading {
                break;
            }
            scale = next;
            (ca, sa) = (ca * s + sa * c, sa * s - ca * c);
        }
        p += scale * ca;
        // d/dθ [cos α_m (2 sin θ)^{−m−1/2}] = −(n+m+1/2) sin α_m (…) − (m+1/2) cos α_m cot θ (…)
        dp -= scale * ((nf + mf + 0.5) * sa + (mf + 0.5) * ca * c / s);
    }
    (c_n * p, c_n * dp)
}

/// `(P_n(cos θ), dP_n(cos θ)/dθ)` by the three-term recurrence in `t = 1 − cos θ = 2 sin²(θ/2)`,
/// `k P_k = k P_{k−1} + (k−1)(P_{k−1} − P_{k−2}) − (2k−1) t P_{k−1}`, in double-double so that the
/// n steps cost no accuracy.
fn legendre_recurrence(n: usize, theta: f64) -> (f64, f64) {
    let half = (theta / 2.0).sin();
    let t = 2.0 * half * half;
    let mut p_prev = DoubleDouble::new(1.0);
    let mut p = DoubleDouble::new(1.0).sub(DoubleDouble::new(t));
    for k in 2..=n {
        let kf = k as f64;
        let next = p
            .mul(kf)
            .add(p.sub(p_prev).mul(kf - 1.0))
            .sub(p.mul(t).mul(2.0 * kf - 1.0))
            .div(kf);
        p_prev = p;
        p = next;
    }
    // dP/dθ = n (x P_n − P_{n−1}) / sin θ, with x P_n − P_{n−1} = (P_n − P_{n−1}) − t P_n.
    let numerator = p.sub(p_prev).sub(p.mul(t));
    (p.value(), n as f64 * numerator.value() / theta.sin())
}

/// How `P_n` is evaluated while computing Gauss–Legendre nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LegendreEvaluation {
    /// The asymptotic series where it converges (O(1) per evaluation), else the recurrence.
    Fast,
    /// The double-double recurrence everywhere (O(n) per evaluation): a slow, accurate reference.
    Recurrence,
}

/// The `k`-th Gauss–Legendre node from the right end (`k = 1..=⌊n/2⌋`, `θ_k ∈ (0, π/2)`) as
/// `(θ_k, w_k)` with `x_k = cos θ_k`.
fn gauss_legendre_theta(
    n: usize,
    k: usize,
    c_n: f64,
    evaluation: LegendreEvaluation,
) -> (f64, f64) {
    let (nf, kf) = (n as f64, k as f64);
    // Tricomi's initial guess.
    let mut theta = (4.0 * kf - 1.0) * std::f64::consts::PI / (4.0 * nf + 2.0);
    theta += (1.0 - 1.0 / nf) / (8.0 * nf * nf * theta.tan());
    let use_series = evaluation == LegendreEvaluation::Fast
        && n >= GL_RECURRENCE_ONLY
        && nf * theta.sin() >= GL_SERIES_MIN_N_SIN_THETA;
    let eval = |th: f64| {
        if use_series {
            legendre_series(n, c_n, th)
        } else {
            legendre_recurrence(n, th)
        }
    };
    for _ in 0..50 {
        let (p, d) = eval(theta);
        let step = p / d;
        theta -= step;
        if step.abs() <= 1e-16 * theta {
            break;
        }
    }
    let (_, d) = eval(theta);
    (theta, 2.0 / (d * d))
}

/// The `i`-th node (from the left, `0 ≤ i < n`) and weight of the `n`-point Gauss–Legendre rule,
/// computed on its own in O(1) (O(n) near the ends or with [`LegendreEvaluation::Recurrence`]).
pub fn gauss_legendre_node(
    n: usize,
    i: usize,
    evaluation: LegendreEvaluation,
) -> Result<(f64, f64), QuadratureError> {
    if n == 0 || i >= n {
        return Err(QuadratureError::TooFewPoints {
            family: "gauss-legendre",
            n,
            min: i + 1,
        });
    }
    if n % 2 == 1 && i == n / 2 {
        let (_, d) = legendre_recurrence(n, std::f64::consts::FRAC_PI_2);
        return Ok((0.0, 2.0 / (d * d)));
    }
    let c_n = stieltjes_constant(n);
    let (k, sign) = if i < n / 2 {
        (i + 1, -1.0)
    } else {
        (n - i, 1.0)
    };
    let (theta, w) = gauss_legendre_theta(n, k, c_n, evaluation);
    Ok((sign * theta.cos(), w))
}

/// Gauss–Legendre rule with `n ≥ 1` points on `[-1, 1]`, in O(n).
pub fn gauss_legendre(n: usize) -> Result<Rule, QuadratureError> {
    if n == 0 {
        return Err(QuadratureError::TooFewPoints {
            family: "gauss-legendre",
            n,
            min: 1,
        });
    }
    let c_n = stieltjes_constant(n);
    let right: Vec<(f64, f64)> = (1..=n / 2)
        .map(|k| gauss_legendre_theta(n, k, c_n, LegendreEvaluation::Fast))
        .collect();
    let mut nodes = Vec::with_capacity(n);
    let mut weights = Vec::with_capacity(n);
    for &(theta, w) in &right {
        nodes.push(-theta.cos());
        weights.push(w);
    }
    if n % 2 == 1 {
        let (x, w) = gauss_legendre_node(n, n / 2, LegendreEvaluation::Fast)?;
        nodes.push(x);
        weights.push(w);
    }
    for &(theta, w) in right.iter().rev() {
        nodes.push(theta.cos());
        weights.push(w);
    }
    Ok(Rule::new(nodes, weights))
}

// ---------------------------------------------------------------------------------------------
// Clenshaw–Curtis

/// Clenshaw–Curtis rule with `n ≥ 2` points `cos(jπ/(n−1))` on `[-1, 1]` (weights by the
/// explicit cosine sum; all positive).
pub fn clenshaw_curtis(n: usize) -> Result<Rule, QuadratureError> {
    if n < 2 {
        return Err(QuadratureError::TooFewPoints {
            family: "clenshaw-curtis",
            n,
            min: 2,
        });
    }
    let m = n - 1;
    let mf = m as f64;
    let nodes: Vec<f64> = (0..n)
        .map(|j| -(j as f64 * std::f64::consts::PI / mf).cos())
        .collect();
    let weights = (0..n)
        .map(|j| {
            let theta = j as f64 * std::f64::consts::PI / mf;
            let mut sum = 1.0;
            for k in 1..=m / 2 {
                let b = if 2 * k == m { 1.0 } else { 2.0 };
                let kf = k as f64;
                sum -= b / (4.0 * kf * kf - 1.0) * (2.0 * kf * theta).cos();
            }
            let c = if j == 0 || j == m { 1.0 } else { 2.0 };
            c / mf * sum
        })
        .collect();
    Ok(Rule::new(nodes, weights))
}

// ---------------------------------------------------------------------------------------------
// Newton–Cotes

/// Closed Newton–Cotes: `n` equispaced nodes including both ends.
/// Open Newton–Cotes: `n` equispaced interior nodes `x_i = −1 + 2i/(n+1)`, `i = 1..n`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NewtonCotes {
    /// Nodes include the end points (`n ≥ 2`).
    Closed,
    /// Nodes exclude the end points (`n ≥ 1`).
    Open,
}

/// Largest Newton–Cotes size offered (the weights grow like `2^n`; beyond this they are useless).
pub const NEWTON_COTES_MAX: usize = 64;

/// Exact weights of the `n`-point Newton–Cotes rule on `[-1, 1]`, as rationals.
pub fn newton_cotes_exact(
    kind: NewtonCotes,
    n: usize,
) -> Result<Vec<BigRational>, QuadratureError> {
    let (family, min) = match kind {
        NewtonCotes::Closed => ("newton-cotes-closed", 2),
        NewtonCotes::Open => ("newton-cotes-open", 1),
    };
    if n < min {
        return Err(QuadratureError::TooFewPoints { family, n, min });
    }
    if n > NEWTON_COTES_MAX {
        return Err(QuadratureError::TooManyPoints {
            family,
            n,
            max: NEWTON_COTES_MAX,
        });
    }
    // Work on the integer grid: nodes s_i, integrate over [lo, hi], then scale by 2/(hi − lo).
    let (nodes, lo, hi): (Vec<i64>, i64, i64) = match kind {
        NewtonCotes::Closed => ((0..n as i64).collect(), 0, n as i64 - 1),
        NewtonCotes::Open => ((1..=n as i64).collect(), 0, n as i64 + 1),
    };
    let int = |v: i64| BigRational::from_integer(BigInt::from(v));
    let scale = BigRational::new(BigInt::from(2), BigInt::from(hi - lo));
    let weights = (0..n)
        .map(|i| {
            // Coefficients of ℓ_i(s) = ∏_{j≠i} (s − s_j)/(s_i − s_j), lowest degree first.
            let mut poly = vec![BigRational::one()];
            let mut denom = BigRational::one();
            for (j, &sj) in nodes.iter().enumerate() {
                if j == i {
                    continue;
                }
                let mut next = vec![BigRational::zero(); poly.len() + 1];
                for (k, c) in poly.iter().enumerate() {
                    next[k + 1] += c;
                    next[k] -= c * int(sj);
                }
                poly = next;
                denom *= int(nodes[i] - sj);
            }
            let integral = poly
                .iter()
                .enumerate()
                .fold(BigRational::zero(), |acc, (k, c)| {
                    let e = k as u32 + 1;
                    let antiderivative = |v: i64| int(v).pow(e as i32) / int(e as i64);
                    acc + c * (antiderivative(hi) - antiderivative(lo))
                });
            integral / denom * &scale
        })
        .collect();
    Ok(weights)
}

/// The `n`-point Newton–Cotes rule on `[-1, 1]` in `f64` (rounded from the exact weights).
pub fn newton_cotes(kind: NewtonCotes, n: usize) -> Result<Rule, QuadratureError> {
    let exact = newton_cotes_exact(kind, n)?;
    let nf = n as f64;
    let nodes = (0..n)
        .map(|i| match kind {
            NewtonCotes::Closed => -1.0 + 2.0 * i as f64 / (nf - 1.0),
            NewtonCotes::Open => -1.0 + 2.0 * (i as f64 + 1.0) / (nf + 1.0),
        })
        .collect();
    let weights = exact
        .iter()
        .map(|w| w.to_f64().unwrap_or(f64::NAN))
        .collect();
    Ok(Rule::new(nodes, weights))
}

/// Indices of the negative weights of an exact rule.
pub fn negative_weights(weights: &[BigRational]) -> Vec<usize> {
    weights
        .iter()
        .enumerate()
        .filter(|(_, w)| w.is_negative())
        .map(|(i, _)| i)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol * b.abs().max(1.0)
    }

    /// Abramowitz & Stegun, Table 25.4 (closed forms).
    #[test]
    fn gauss_legendre_small_n_published_values() {
        let r = gauss_legendre(1).unwrap();
        assert_eq!((r.nodes(), r.weights()), (&[0.0][..], &[2.0][..]));
        let r = gauss_legendre(2).unwrap();
        assert!(close(r.nodes()[1], 1.0 / 3f64.sqrt(), 1e-15));
        assert!(close(r.weights()[0], 1.0, 1e-15));
        let r = gauss_legendre(3).unwrap();
        assert!(close(r.nodes()[2], (0.6f64).sqrt(), 1e-15));
        assert!(close(r.weights()[1], 8.0 / 9.0, 1e-15));
        assert!(close(r.weights()[2], 5.0 / 9.0, 1e-15));
        let r = gauss_legendre(4).unwrap();
        let inner = (3.0 / 7.0 - 2.0 / 7.0 * (1.2f64).sqrt()).sqrt();
        let outer = (3.0 / 7.0 + 2.0 / 7.0 * (1.2f64).sqrt()).sqrt();
        assert!(close(r.nodes()[2], inner, 1e-15) && close(r.nodes()[3], outer, 1e-15));
        assert!(close(r.weights()[2], (18.0 + 30f64.sqrt()) / 36.0, 1e-15));
        assert!(close(r.weights()[3], (18.0 - 30f64.sqrt()) / 36.0, 1e-15));
        let r = gauss_legendre(5).unwrap();
        let x1 = (5.0 - 2.0 * (10.0f64 / 7.0).sqrt()).sqrt() / 3.0;
        let x2 = (5.0 + 2.0 * (10.0f64 / 7.0).sqrt()).sqrt() / 3.0;
        assert!(close(r.nodes()[3], x1, 1e-15) && close(r.nodes()[4], x2, 1e-15));
        assert!(close(r.weights()[2], 128.0 / 225.0, 1e-15));
        assert!(close(
            r.weights()[3],
            (322.0 + 13.0 * 70f64.sqrt()) / 900.0,
            1e-15
        ));
        assert!(close(
            r.weights()[4],
            (322.0 - 13.0 * 70f64.sqrt()) / 900.0,
            1e-15
        ));
        // A&S 25.4, n = 10: largest node and its weight.
        let r = gauss_legendre(10).unwrap();
        assert!(close(r.nodes()[9], 0.973_906_528_517_171_7, 1e-15));
        assert!(close(r.weights()[9], 0.066_671_344_308_688_1, 1e-14));
    }

    #[test]
    fn gauss_legendre_is_exact_to_degree_2n_minus_1() {
        for n in (1..=40).chain([100, 500]) {
            let r = gauss_legendre(n).unwrap();
            assert_eq!(
                r.degree_of_exactness(2 * n + 2, 1e-12),
                Some(2 * n - 1),
                "n = {n}"
            );
            assert!(r.has_positive_weights());
            assert!(r.nodes().windows(2).all(|w| w[0] < w[1]));
        }
    }

    /// The fast path against the double-double recurrence (error about n·u², effectively exact):
    /// every node for moderate n, and nodes across the whole range (both evaluation regimes and
    /// the switch between them) for n = 10⁴, where the weights must be accurate to 1e-14.
    #[test]
    fn fast_path_matches_the_double_double_reference() {
        for n in [100, 257, 1000] {
            let fast = gauss_legendre(n).unwrap();
            for i in 0..n {
                let (x, w) = gauss_legendre_node(n, i, LegendreEvaluation::Recurrence).unwrap();
                assert!((fast.nodes()[i] - x).abs() <= 1e-15, "n={n} node {i}");
                assert!(
                    (fast.weights()[i] - w).abs() <= 1e-14 * w,
                    "n={n} weight {i}"
                );
            }
        }
        let n = 10_000;
        let fast = gauss_legendre(n).unwrap();
        let sum: f64 = fast.weights().iter().sum();
        assert!((sum - 2.0).abs() < 1e-13, "Σw = {sum}");
        let picks = (0..12)
            .chain([60, 61, 300, 2500, 4999, 5000, 7777])
            .chain(n - 12..n);
        for i in picks {
            let (x, w) = gauss_legendre_node(n, i, LegendreEvaluation::Recurrence).unwrap();
            assert!((fast.nodes()[i] - x).abs() <= 1e-15, "node {i}");
            let rel = (fast.weights()[i] - w).abs() / w;
            assert!(rel <= 1e-14, "weight {i}: relative error {rel:e}");
        }
    }

    #[test]
    fn clenshaw_curtis_exactness_and_positivity() {
        for n in 2..=30 {
            let r = clenshaw_curtis(n).unwrap();
            let d = r.degree_of_exactness(n + 3, 1e-12).unwrap();
            // n − 1 for even n, n for odd n (symmetry adds one degree).
            assert_eq!(d, if n % 2 == 1 { n } else { n - 1 }, "n = {n}");
            assert!(r.has_positive_weights(), "n = {n}");
        }
    }

    #[test]
    fn newton_cotes_rationals_match_published_values() {
        let as_strings = |kind, n| {
            newton_cotes_exact(kind, n)
                .unwrap()
                .iter()
                .map(|w| w.to_string())
                .collect::<Vec<_>>()
        };
        // Trapezoid and Simpson on [-1, 1].
        assert_eq!(as_strings(NewtonCotes::Closed, 2), ["1", "1"]);
        assert_eq!(as_strings(NewtonCotes::Closed, 3), ["1/3", "4/3", "1/3"]);
        // Simpson's 3/8 rule (×2/3), Boole's rule (×1/2 · 2/45·…): weights 7, 32, 12, 32, 7 / 45.
        assert_eq!(
            as_strings(NewtonCotes::Closed, 4),
            ["1/4", "3/4", "3/4", "1/4"]
        );
        assert_eq!(
            as_strings(NewtonCotes::Closed, 5),
            ["7/45", "32/45", "4/15", "32/45", "7/45"]
        );
        // Midpoint, and the two-point open rule.
        assert_eq!(as_strings(NewtonCotes::Open, 1), ["2"]);
        assert_eq!(as_strings(NewtonCotes::Open, 2), ["1", "1"]);
        // Open 3-point (Milne): (2/3)(2, −1, 2).
        assert_eq!(as_strings(NewtonCotes::Open, 3), ["4/3", "-2/3", "4/3"]);
    }

    #[test]
    fn newton_cotes_signs_are_decided_exactly() {
        // Closed rules have a negative weight first at 9 points; open rules at 3 points.
        for n in 2..=8 {
            assert!(
                negative_weights(&newton_cotes_exact(NewtonCotes::Closed, n).unwrap()).is_empty()
            );
        }
        assert!(!negative_weights(&newton_cotes_exact(NewtonCotes::Closed, 9).unwrap()).is_empty());
        assert!(negative_weights(&newton_cotes_exact(NewtonCotes::Open, 2).unwrap()).is_empty());
        assert!(!negative_weights(&newton_cotes_exact(NewtonCotes::Open, 3).unwrap()).is_empty());
        for n in 2..=20 {
            let sum: BigRational = newton_cotes_exact(NewtonCotes::Closed, n)
                .unwrap()
                .into_iter()
                .sum();
            assert_eq!(
                sum,
                BigRational::from_integer(2.into()),
                "weights sum to the length"
            );
        }
    }

    #[test]
    fn newton_cotes_degree_of_exactness() {
        for n in 2..=12 {
            let r = newton_cotes(NewtonCotes::Closed, n).unwrap();
            let expected = if n % 2 == 1 { n } else { n - 1 };
            assert_eq!(
                r.degree_of_exactness(n + 3, 1e-11),
                Some(expected),
                "closed n = {n}"
            );
            let r = newton_cotes(NewtonCotes::Open, n).unwrap();
            assert_eq!(
                r.degree_of_exactness(n + 3, 1e-11),
                Some(expected),
                "open n = {n}"
            );
        }
    }

    #[test]
    fn composite_rules_converge_at_their_order() {
        // Composite Simpson: error ∝ panels^-4; composite trapezoid ∝ panels^-2.
        let exact = 1f64.exp() - 1.0;
        for (rule, order) in [
            (newton_cotes(NewtonCotes::Closed, 3).unwrap(), 4.0),
            (newton_cotes(NewtonCotes::Closed, 2).unwrap(), 2.0),
        ] {
            let err = |m| (rule.composite(0.0, 1.0, m).unwrap().integrate(f64::exp) - exact).abs();
            let observed = (err(16) / err(32)).log2();
            assert!(
                (observed - order).abs() < 0.01,
                "observed {observed}, expected {order}"
            );
        }
        let simpson = newton_cotes(NewtonCotes::Closed, 3)
            .unwrap()
            .composite(0.0, 1.0, 4)
            .unwrap();
        assert_eq!(simpson.len(), 9, "shared end points are merged");
        assert!((simpson.weights()[2] - 2.0 / 24.0).abs() < 1e-16);
        assert!(
            newton_cotes(NewtonCotes::Closed, 3)
                .unwrap()
                .composite(0.0, 1.0, 0)
                .is_err()
        );
    }

    #[test]
    fn bad_sizes_and_intervals() {
        assert!(gauss_legendre(0).is_err());
        assert!(clenshaw_curtis(1).is_err());
        assert!(newton_cotes(NewtonCotes::Closed, 1).is_err());
        assert!(newton_cotes(NewtonCotes::Open, 0).is_err());
        assert!(newton_cotes(NewtonCotes::Open, NEWTON_COTES_MAX + 1).is_err());
        let r = gauss_legendre(3).unwrap();
        assert!(r.on_interval(1.0, 1.0).is_err());
        assert!(r.on_interval(0.0, f64::NAN).is_err());
        let mapped = r.on_interval(0.0, std::f64::consts::PI).unwrap();
        assert!((mapped.integrate(f64::sin) - 2.0).abs() < 2e-3);
    }
}
