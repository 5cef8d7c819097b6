//! The stencil a learner linear in the samples converges to: the best linear estimator (kriging
//! stencil, `k_{*x} K_{xx}^{-1}`) of `h^m f^{(m)}(x₀)` from samples `f(x₀ + o_i h) + σ ε_i` of the
//! random trigonometric family `f(x) = Σ_{k=1}^{K} (a_k cos kx + b_k sin kx)/k`, `a_k, b_k, ε_i`
//! independent standard normal — for one step `h`, or averaged over a log-uniform step with the
//! loss in units of the derivative, `E_h E_f (Σ w_i s_i − h^m f^{(m)})² / h^{2m}`.
//!
//! The family is a stationary Gaussian process with covariance `C(r) = Σ_k cos(kr)/k²` and
//! `Cov(f^{(m)}(x), f(x + r)) = Σ_k k^{m−2} cos(kr − mπ/2)`; the population loss of a stencil `w`
//! is `wᵀ A w − 2 wᵀ b + const` with `A = E_h[(K_{xx}(h) + σ² I)/h^{2m}]`,
//! `b = E_h[k_{x*}(h)/h^m]`, so its minimiser is `w* = A⁻¹ b` (Rasmussen & Williams 2006, ch. 2
//! and §9.4, for derivative observations; Solak et al. 2003). For a kernel `φ(εr)` the step `h`
//! plays the part of the shape parameter `ε` of RBF-generated finite differences (Fornberg &
//! Flyer 2015), whose weights tend to the polynomial (Fornberg) weights in the flat limit
//! `ε → 0` (Driscoll & Fornberg 2002); this kernel has rank `2K` only, and the flat limit and its
//! rates are the paper's proposition, checked by the tests here.
//!
//! The covariance matrix is singular to working precision for small `h` (its determinant is
//! `O(h^{n(n−1)})`), so `A⁻¹ b` is never formed. Instead the loss is written as a sum of squares
//! over the `2K` features `cos(kx)/k`, `sin(kx)/k` (each coefficient has unit variance), the
//! stencil in the basis of the Fornberg stencils `F_l` on the offsets, `w = Σ_l (δ_l + [l = m])
//! F_l`, whose coordinates are the moment defects `δ_j = Σ_i w_i o_i^j/j! − [j = m]`, and each
//! feature applied to `F_l` computed as its exact Taylor part plus the Taylor remainder of
//! `cos`/`sin` summed as a series: the least-squares problem for `δ` is then solved by Householder
//! QR with column scaling, and tiny defects come out with full relative accuracy. The log-uniform
//! expectation is a Gauss–Legendre rule in `t = ln h` (the integrand is entire in `t`, so the rule
//! converges geometrically; the tests compare 64 and 128 nodes and a composite Simpson rule in `h`).
//! No I/O; every bad input is a [`KrigingError`].

use crate::fd::{StencilError, fornberg_weights};
use crate::quadrature::{QuadratureError, gauss_legendre};
use std::f64::consts::FRAC_PI_2;
use thiserror::Error;

/// What can go wrong computing a kriging stencil.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum KrigingError {
    /// The offsets do not define a stencil of the derivative (too few, repeated, not finite).
    #[error(transparent)]
    Stencil(#[from] StencilError),
    /// The Gauss–Legendre rule could not be built.
    #[error(transparent)]
    Quadrature(#[from] QuadratureError),
    /// The family has no frequency.
    #[error("the trigonometric family needs a maximum frequency of at least 1")]
    NoFrequency,
    /// A step is not positive and finite, or the range is reversed.
    #[error("steps must be positive and finite with from ≤ to, got [{from}, {to}]")]
    BadSteps {
        /// Smallest step.
        from: f64,
        /// Largest step.
        to: f64,
    },
    /// The noise level is negative or not finite.
    #[error("the noise standard deviation must be finite and ≥ 0, got {0}")]
    BadNoise(f64),
    /// The loss does not determine the stencil (the covariance is singular on the nodes).
    #[error(
        "the loss does not determine the stencil: the family's covariance is singular on these \
         nodes (at most 2K = {features} samples are informative)"
    )]
    Singular {
        /// The number `2K` of features of the family.
        features: usize,
    },
    /// A least-squares problem is rank-deficient to working precision ([`least_squares`]).
    #[error("the least-squares problem is rank-deficient to working precision")]
    RankDeficient,
    /// The closed-form flat limit needs offsets symmetric about 0.
    #[error("the flat limit is derived for offsets symmetric about 0 (-r..=r)")]
    NotSymmetric,
}

/// The random trigonometric family `Σ_{k=1}^{K} (a_k cos kx + b_k sin kx)/k`, coefficients
/// independent standard normal: a stationary Gaussian process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrigonometricFamily {
    max_frequency: usize,
}

impl TrigonometricFamily {
    /// The family of maximum frequency `K ≥ 1`.
    ///
    /// # Errors
    /// [`KrigingError::NoFrequency`] for `K = 0`.
    pub fn new(max_frequency: usize) -> Result<Self, KrigingError> {
        if max_frequency == 0 {
            return Err(KrigingError::NoFrequency);
        }
        Ok(Self { max_frequency })
    }

    /// The maximum frequency `K`.
    pub fn max_frequency(self) -> usize {
        self.max_frequency
    }

    fn frequencies(self) -> impl Iterator<Item = f64> {
        (1..=self.max_frequency).map(|k| k as f64)
    }

    /// `Cov(f(x), f(x + r)) = Σ_k cos(kr)/k²`.
    pub fn covariance(self, r: f64) -> f64 {
        self.frequencies().map(|k| (k * r).cos() / (k * k)).sum()
    }

    /// `Cov(f^{(m)}(x), f(x + r)) = Σ_k k^{m−2} cos(kr − mπ/2)`.
    pub fn cross_covariance(self, m: usize, r: f64) -> f64 {
        self.frequencies()
            .map(|k| k.powi(m as i32 - 2) * (k * r - m as f64 * FRAC_PI_2).cos())
            .sum()
    }

    /// `Var f^{(m)}(x) = Σ_k k^{2m−2}`.
    pub fn derivative_variance(self, m: usize) -> f64 {
        self.frequencies().map(|k| k.powi(2 * m as i32 - 2)).sum()
    }
}

/// How the training steps are drawn.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum StepDistribution {
    /// One step `h`.
    Fixed(f64),
    /// `h = from (to/from)^u`, `u` uniform on `[0, 1]`; the expectation by a Gauss–Legendre rule
    /// of `nodes` points in `ln h`.
    LogUniform {
        /// Smallest step.
        from: f64,
        /// Largest step.
        to: f64,
        /// Gauss–Legendre nodes in `ln h`.
        nodes: usize,
    },
}

impl StepDistribution {
    /// The distribution as a rule: steps and probabilities.
    ///
    /// # Errors
    /// [`KrigingError::BadSteps`], or a quadrature error for zero nodes.
    pub fn rule(self) -> Result<Vec<(f64, f64)>, KrigingError> {
        match self {
            Self::Fixed(h) => {
                if !(h.is_finite() && h > 0.0) {
                    return Err(KrigingError::BadSteps { from: h, to: h });
                }
                Ok(vec![(h, 1.0)])
            }
            Self::LogUniform { from, to, nodes } => {
                if !(from.is_finite() && to.is_finite() && from > 0.0 && from <= to) {
                    return Err(KrigingError::BadSteps { from, to });
                }
                if from == to {
                    return Ok(vec![(from, 1.0)]);
                }
                let rule = gauss_legendre(nodes)?.on_interval(0.0, 1.0)?;
                let ratio = (to / from).ln();
                Ok(rule
                    .nodes()
                    .iter()
                    .zip(rule.weights())
                    .map(|(u, p)| (from * (ratio * u).exp(), *p))
                    .collect())
            }
        }
    }

    /// `E[h^{−2m}]`, in closed form.
    ///
    /// # Errors
    /// [`KrigingError::BadSteps`].
    pub fn inverse_moment(self, m: usize) -> Result<f64, KrigingError> {
        let p = 2.0 * m as f64;
        match self {
            Self::Fixed(h) => {
                self.rule()?;
                Ok(h.powf(-p))
            }
            Self::LogUniform { from, to, .. } => {
                self.rule()?;
                if from == to || m == 0 {
                    return Ok(from.powf(-p));
                }
                Ok((from.powf(-p) - to.powf(-p)) / (p * (to / from).ln()))
            }
        }
    }
}

/// The kriging stencil and what it does.
#[derive(Debug, Clone, PartialEq)]
pub struct KrigingStencil {
    /// The weights `w_i` on the offsets (output `Σ w_i s_i ≈ h^m f^{(m)}(x₀)`).
    pub weights: Vec<f64>,
    /// The moment defects `δ_j = Σ_i w_i o_i^j/j! − [j = m]`, `j = 0 … n−1`, computed as the
    /// unknowns themselves (full relative accuracy, unlike sums of the weights).
    pub defects: Vec<f64>,
    /// The population loss at the minimum: the mean squared error of `f^{(m)}(x₀)`.
    pub loss: f64,
}

/// The Taylor remainder `Σ_{j ≥ n} c_j x^j / j!` of `cos` (`odd = false`, `c_j = (−1)^{j/2}` on
/// even `j`) or `sin` (`odd = true`), without cancellation for small `x`.
fn taylor_remainder(x: f64, n: usize, odd: bool) -> f64 {
    let full = if odd { x.sin() } else { x.cos() };
    // Term j of the series: sign · x^j / j! on the parity of the function.
    let term = |j: usize| {
        let sign = if (j / 2).is_multiple_of(2) { 1.0 } else { -1.0 };
        sign * (1..=j).fold(1.0, |t, i| t * x / i as f64)
    };
    let parity = usize::from(odd);
    if x.abs() > 8.0 {
        // The partial sum is then far larger than the remainder's rounding: subtract directly.
        let partial: f64 = (0..n).filter(|j| j % 2 == parity).map(term).sum();
        return full - partial;
    }
    let first = (n..).find(|j| j % 2 == parity).unwrap_or(n);
    let mut j = first;
    let mut sum = 0.0;
    let mut t = term(j);
    loop {
        sum += t;
        // |x| ≤ 8: the terms decrease once j > 8 and the tail after a term below
        // ulp(sum) is smaller still.
        if j > 12 && t.abs() <= f64::EPSILON * 1e-2 * sum.abs().max(f64::MIN_POSITIVE) {
            break;
        }
        if j > 400 {
            break;
        }
        t *= -x * x / ((j + 1) as f64 * (j + 2) as f64);
        j += 2;
    }
    sum
}

/// The least-squares rows of one step `h`: for every feature `φ = cos(kx)/k` or `sin(kx)/k`, the
/// row `Σ_i F_{l,i} φ(o_i h)` over `l` (its Taylor part `±(kh)^l/k` plus the remainder) and the
/// residual of `F_m`, `Σ_i F_{m,i} φ(o_i h) − h^m φ^{(m)}(0)`. The Taylor part of `F_m` is exactly
/// the target, so that residual is the remainder alone, without the cancellation of subtracting
/// the target from the value.
fn feature_rows(
    family: TrigonometricFamily,
    offsets: &[f64],
    basis: &[Vec<f64>],
    m: usize,
    h: f64,
) -> Vec<(Vec<f64>, f64)> {
    let n = offsets.len();
    let mut rows = Vec::with_capacity(2 * family.max_frequency);
    for k in family.frequencies() {
        for odd in [false, true] {
            // Σ_i F_{l,i} R(k o_i h)/k: the remainder beyond the exactness of F_l.
            let remainder = |l: usize| -> f64 {
                basis[l]
                    .iter()
                    .zip(offsets)
                    .map(|(w, o)| w * taylor_remainder(k * o * h, n, odd))
                    .sum::<f64>()
                    / k
            };
            let row = (0..n)
                .map(|l| {
                    // Σ_i F_{l,i} (k o_i h)^j/j! = (kh)^j [j = l] for j < n.
                    let taylor = if (l % 2 == 1) == odd {
                        let sign = if (l / 2).is_multiple_of(2) { 1.0 } else { -1.0 };
                        sign * (k * h).powi(l as i32) / k
                    } else {
                        0.0
                    };
                    taylor + remainder(l)
                })
                .collect();
            rows.push((row, remainder(m)));
        }
    }
    rows
}

/// The Fornberg stencils `F_0 … F_{n−1}` on the offsets.
fn fornberg_basis(offsets: &[f64]) -> Result<Vec<Vec<f64>>, KrigingError> {
    Ok(fornberg_weights(0.0, offsets, offsets.len() - 1)?)
}

/// The kriging stencil of `h^m f^{(m)}(x₀)` on `offsets` (units of `h`) for the family, the step
/// distribution and noise `σ` on the samples: the minimiser of
/// `E_h E (Σ w_i s_i − h^m f^{(m)}(x₀))² / h^{2m}`.
///
/// # Errors
/// Invalid offsets or `m ≥ n` ([`KrigingError::Stencil`]), bad steps or noise, or a loss that does
/// not determine the stencil ([`KrigingError::Singular`]).
pub fn kriging_stencil(
    family: TrigonometricFamily,
    offsets: &[f64],
    m: usize,
    steps: StepDistribution,
    noise: f64,
) -> Result<KrigingStencil, KrigingError> {
    crate::fd::Stencil::on_offsets(m, offsets)?;
    if !(noise.is_finite() && noise >= 0.0) {
        return Err(KrigingError::BadNoise(noise));
    }
    let n = offsets.len();
    let basis = fornberg_basis(offsets)?;
    let mut rows: Vec<Vec<f64>> = Vec::new();
    let mut rhs: Vec<f64> = Vec::new();
    for (h, p) in steps.rule()? {
        let scale = p.sqrt() / h.powi(m as i32);
        for (row, fornberg_residual) in feature_rows(family, offsets, &basis, m, h) {
            // The residual of w = Σ_l (δ_l + [l = m]) F_l is Σ_l δ_l row_l + that of F_m.
            rows.push(row.iter().map(|x| scale * x).collect());
            rhs.push(-scale * fornberg_residual);
        }
    }
    if noise > 0.0 {
        // σ² E[h^{−2m}] ‖w‖², w = F (δ + e_m): one row per node.
        let s = noise * steps.inverse_moment(m)?.sqrt();
        for (i, fm) in basis[m].iter().enumerate() {
            rows.push(basis.iter().map(|fl| s * fl[i]).collect());
            rhs.push(-s * fm);
        }
    }
    let (defects, residual) = least_squares(rows, rhs).ok_or(KrigingError::Singular {
        features: 2 * family.max_frequency,
    })?;
    let weights = (0..n)
        .map(|i| {
            (0..n)
                .map(|l| (defects[l] + f64::from(u8::from(l == m))) * basis[l][i])
                .sum()
        })
        .collect();
    Ok(KrigingStencil {
        weights,
        defects,
        loss: residual,
    })
}

/// The population mean squared error of `f^{(m)}(x₀)` of any stencil `w` (output
/// `Σ w_i s_i / h^m`) on the family at step `h` with noise `σ`: the sum over the features `φ` of
/// `(Σ_i w_i φ(o_i h) − h^m φ^{(m)}(0))² / h^{2m}`, plus `σ² ‖w‖² / h^{2m}` (summing squared
/// residuals instead of the covariance form `wᵀKw − 2h^m wᵀk + …` avoids its cancellation).
pub fn mean_squared_error(
    family: TrigonometricFamily,
    offsets: &[f64],
    weights: &[f64],
    m: usize,
    h: f64,
    noise: f64,
) -> f64 {
    let hm = h.powi(m as i32);
    let phase = m as f64 * FRAC_PI_2;
    let features: f64 = family
        .frequencies()
        .map(|k| {
            let value = |g: fn(f64) -> f64| -> f64 {
                weights
                    .iter()
                    .zip(offsets)
                    .map(|(w, o)| w * g(k * o * h))
                    .sum::<f64>()
                    / k
            };
            let target = (k * h).powi(m as i32) / k;
            let cosine = value(f64::cos) - target * phase.cos().round();
            let sine = value(f64::sin) - target * phase.sin().round();
            cosine * cosine + sine * sine
        })
        .sum();
    let norm: f64 = weights.iter().map(|w| w * w).sum();
    (features + noise * noise * norm) / (hm * hm)
}

/// The leading term of each defect in the flat limit `h → 0` (noise-free, fixed step, offsets
/// `−r..=r`): `δ_j ≈ c_j h^{q_j}` for the defects `j ≡ m (mod 2)` (the others are 0 by symmetry),
/// as `(j, c_j, q_j)`. With `d` such defects `j_0 < … < j_{d−1}` and `j_d = j_{d−1} + 2`,
/// `c_{j_i} = (−1)^{d+1−i} π_i μ_{j_d}(F_m)` and `q_{j_i} = j_d − j_i`, where `π` is the
/// least-squares polynomial of degree `d − 1` to `s^d` on the points `s = k² = 1, 4, …, K²` with
/// weights `k^{2(j_0−1)}` (it interpolates when `K = d`) and
/// `μ_{j_d}(F_m)` the first nonzero moment beyond the Fornberg stencil's exactness.
///
/// # Errors
/// Offsets not symmetric `−r..=r` ([`KrigingError::NotSymmetric`]), or `K < d` (the covariance is
/// singular on the nodes, [`KrigingError::Singular`]).
pub fn flat_limit(
    family: TrigonometricFamily,
    offsets: &[f64],
    m: usize,
) -> Result<Vec<(usize, f64, usize)>, KrigingError> {
    let n = offsets.len();
    let r = n / 2;
    let symmetric = n % 2 == 1
        && offsets
            .iter()
            .enumerate()
            .all(|(i, &o)| o == i as f64 - r as f64);
    if !symmetric {
        return Err(KrigingError::NotSymmetric);
    }
    let fornberg = crate::fd::Stencil::on_offsets(m, offsets)?;
    let defects: Vec<usize> = (0..n).filter(|j| j % 2 == m % 2).collect();
    let d = defects.len();
    let k_max = family.max_frequency;
    if k_max < d {
        return Err(KrigingError::Singular {
            features: 2 * k_max,
        });
    }
    let top = defects[d - 1] + 2;
    let factorial: f64 = (1..=top).map(|i| i as f64).product();
    let moment: f64 = fornberg
        .weights()
        .iter()
        .zip(offsets)
        .map(|(w, o)| w * o.powi(top as i32))
        .sum::<f64>()
        / factorial;
    // π: least squares of s^d by 1, s, …, s^{d−1} on s = k², feature k weighted by k^{2(j₀−1)}
    // (the residual of feature k is k^{j₀−1} h^{j₀} times the polynomial in s = k²).
    let lowest = defects[0] as i32;
    let rows: Vec<Vec<f64>> = family
        .frequencies()
        .map(|k| {
            (0..d)
                .map(|i| k.powi(lowest - 1) * (k * k).powi(i as i32))
                .collect()
        })
        .collect();
    let rhs: Vec<f64> = family
        .frequencies()
        .map(|k| k.powi(lowest - 1) * (k * k).powi(d as i32))
        .collect();
    let (pi, _) = least_squares(rows, rhs).ok_or(KrigingError::Singular {
        features: 2 * k_max,
    })?;
    Ok(defects
        .iter()
        .zip(&pi)
        .enumerate()
        .map(|(i, (&j, &p))| {
            let sign = if (d + 1 - i).is_multiple_of(2) {
                1.0
            } else {
                -1.0
            };
            (j, sign * p * moment, top - j)
        })
        .collect())
}

/// Least squares `min ‖A x − b‖₂` by Householder QR with the columns scaled to unit norm; the
/// solution and the minimal `‖A x − b‖²`, or `None` when `A` is rank-deficient to working
/// precision.
#[allow(clippy::needless_range_loop)] // the reflections index rows and columns alike
pub fn least_squares(mut a: Vec<Vec<f64>>, mut b: Vec<f64>) -> Option<(Vec<f64>, f64)> {
    let rows = a.len();
    let cols = a.first().map_or(0, Vec::len);
    if cols == 0 || rows < cols {
        return None;
    }
    let norms: Vec<f64> = (0..cols)
        .map(|j| a.iter().map(|r| r[j] * r[j]).sum::<f64>().sqrt())
        .collect();
    if norms.iter().any(|&s| s == 0.0 || !s.is_finite()) {
        return None;
    }
    for r in &mut a {
        for (x, s) in r.iter_mut().zip(&norms) {
            *x /= s;
        }
    }
    for k in 0..cols {
        let norm = (k..rows).map(|i| a[i][k] * a[i][k]).sum::<f64>().sqrt();
        if norm <= 1e-13 {
            return None;
        }
        let alpha = if a[k][k] > 0.0 { -norm } else { norm };
        let mut v: Vec<f64> = (k..rows).map(|i| a[i][k]).collect();
        v[0] -= alpha;
        let vv: f64 = v.iter().map(|x| x * x).sum();
        for j in k..cols {
            let f = 2.0 * (k..rows).map(|i| v[i - k] * a[i][j]).sum::<f64>() / vv;
            for i in k..rows {
                a[i][j] -= f * v[i - k];
            }
        }
        let f = 2.0 * (k..rows).map(|i| v[i - k] * b[i]).sum::<f64>() / vv;
        for i in k..rows {
            b[i] -= f * v[i - k];
        }
    }
    let mut x = vec![0.0; cols];
    for i in (0..cols).rev() {
        let acc: f64 = (i + 1..cols).map(|j| a[i][j] * x[j]).sum();
        x[i] = (b[i] - acc) / a[i][i];
    }
    let residual = b[cols..].iter().map(|r| r * r).sum();
    Some((x.iter().zip(&norms).map(|(x, s)| x / s).collect(), residual))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn least_squares_recovers_an_exact_fit_and_refuses_a_rank_deficient_one() {
        let a = vec![
            vec![1.0, 0.0],
            vec![1.0, 1e-3],
            vec![1.0, 2e-3],
            vec![1.0, 3e-3],
        ];
        let b: Vec<f64> = a.iter().map(|r| 2.0 * r[0] - 5.0 * r[1]).collect();
        let (x, residual) = least_squares(a, b).unwrap();
        assert!(
            (x[0] - 2.0).abs() < 1e-12 && (x[1] + 5.0).abs() < 1e-9,
            "{x:?}"
        );
        assert!(residual < 1e-24, "{residual}");
        let parallel = vec![vec![1.0, 2.0], vec![2.0, 4.0], vec![3.0, 6.0]];
        assert_eq!(least_squares(parallel, vec![1.0, 2.0, 3.0]), None);
    }
    use crate::fd::Stencil;

    const OFFSETS: [f64; 5] = [-2.0, -1.0, 0.0, 1.0, 2.0];

    fn family() -> TrigonometricFamily {
        TrigonometricFamily::new(3).unwrap()
    }

    fn log_uniform(from: f64, to: f64) -> StepDistribution {
        StepDistribution::LogUniform {
            from,
            to,
            nodes: 64,
        }
    }

    /// `A`, `b` of the normal equations, from the covariances, over the rule `(h, p)`.
    fn normal_equations(rule: &[(f64, f64)], m: usize, noise: f64) -> (Vec<Vec<f64>>, Vec<f64>) {
        let n = OFFSETS.len();
        let mut a = vec![vec![0.0; n]; n];
        let mut b = vec![0.0; n];
        for &(h, p) in rule {
            let hm = h.powi(m as i32);
            for i in 0..n {
                b[i] += p * family().cross_covariance(m, OFFSETS[i] * h) / hm;
                for j in 0..n {
                    let noise_term = if i == j { noise * noise } else { 0.0 };
                    a[i][j] += p
                        * (family().covariance((OFFSETS[i] - OFFSETS[j]) * h) + noise_term)
                        / (hm * hm);
                }
            }
        }
        (a, b)
    }

    /// `A⁻¹ b` by Gaussian elimination with partial pivoting: the kriging formula taken literally.
    #[allow(clippy::needless_range_loop)] // elimination indexes rows and columns alike
    fn solve(mut a: Vec<Vec<f64>>, mut b: Vec<f64>) -> Vec<f64> {
        let n = b.len();
        for k in 0..n {
            let p = (k..n)
                .max_by(|&i, &j| a[i][k].abs().total_cmp(&a[j][k].abs()))
                .unwrap();
            a.swap(k, p);
            b.swap(k, p);
            for i in k + 1..n {
                let f = a[i][k] / a[k][k];
                for j in k..n {
                    a[i][j] -= f * a[k][j];
                }
                b[i] -= f * b[k];
            }
        }
        let mut x = vec![0.0; n];
        for i in (0..n).rev() {
            let acc: f64 = (i + 1..n).map(|j| a[i][j] * x[j]).sum();
            x[i] = (b[i] - acc) / a[i][i];
        }
        x
    }

    fn relative_distance(a: &[f64], b: &[f64]) -> f64 {
        let diff: f64 = a.iter().zip(b).map(|(x, y)| (x - y).powi(2)).sum();
        let norm: f64 = b.iter().map(|y| y * y).sum();
        (diff / norm).sqrt()
    }

    #[test]
    fn the_cross_covariances_are_derivatives_of_the_covariance() {
        // Cov(f^(m)(x), f(x + r)) = ∂_x^m C(r − x)|_{x=0} = (−1)^m C^(m)(r).
        let c = |r: f64| family().covariance(r);
        for r in [-1.3, -0.2, 0.0, 0.4, 2.5] {
            let e = 1e-4;
            let first = (c(r + e) - c(r - e)) / (2.0 * e);
            let second = (c(r + e) - 2.0 * c(r) + c(r - e)) / (e * e);
            assert!(
                (family().cross_covariance(1, r) + first).abs() < 1e-7,
                "r = {r}"
            );
            assert!(
                (family().cross_covariance(2, r) - second).abs() < 1e-5,
                "r = {r}"
            );
        }
        // Var f' = K, Var f'' = Σ k² = 14, Var f = Σ 1/k² = C(0).
        assert_eq!(family().derivative_variance(1), 3.0);
        assert_eq!(family().derivative_variance(2), 14.0);
        assert!((family().derivative_variance(0) - family().covariance(0.0)).abs() < 1e-15);
    }

    #[test]
    fn at_moderate_steps_the_stencil_is_the_kriging_formula() {
        for m in [1, 2] {
            for h in [0.3, 0.5, 1.0] {
                let s = kriging_stencil(family(), &OFFSETS, m, StepDistribution::Fixed(h), 0.0)
                    .unwrap();
                let (a, b) = normal_equations(&[(h, 1.0)], m, 0.0);
                let direct = solve(a, b);
                let d = relative_distance(&s.weights, &direct);
                assert!(d < 1e-9, "m = {m}, h = {h}: {d:e}");
            }
        }
    }

    #[test]
    fn the_stencil_satisfies_the_normal_equations() {
        for m in [1, 2] {
            for steps in [StepDistribution::Fixed(0.1), log_uniform(0.005, 0.5)] {
                for noise in [0.0, 1e-2] {
                    let s = kriging_stencil(family(), &OFFSETS, m, steps, noise).unwrap();
                    let (a, b) = normal_equations(&steps.rule().unwrap(), m, noise);
                    let a_norm = a.iter().flatten().map(|x| x * x).sum::<f64>().sqrt();
                    let w_norm = s.weights.iter().map(|x| x * x).sum::<f64>().sqrt();
                    let residual = a
                        .iter()
                        .zip(&b)
                        .map(|(row, bi)| {
                            (row.iter().zip(&s.weights).map(|(x, w)| x * w).sum::<f64>() - bi)
                                .powi(2)
                        })
                        .sum::<f64>()
                        .sqrt();
                    assert!(
                        residual <= 1e-12 * a_norm * w_norm,
                        "m = {m}, {steps:?}, σ = {noise}: {residual:e}"
                    );
                }
            }
        }
    }

    #[test]
    fn the_log_uniform_expectation_agrees_with_an_independent_rule() {
        // Gauss–Legendre in ln h with 64 and 128 nodes, and composite Simpson in h itself.
        for m in [1, 2] {
            let coarse =
                kriging_stencil(family(), &OFFSETS, m, log_uniform(0.005, 0.5), 0.0).unwrap();
            let fine = kriging_stencil(
                family(),
                &OFFSETS,
                m,
                StepDistribution::LogUniform {
                    from: 0.005,
                    to: 0.5,
                    nodes: 128,
                },
                0.0,
            )
            .unwrap();
            for (a, b) in coarse.defects.iter().zip(&fine.defects) {
                assert!((a - b).abs() <= 1e-10 * b.abs() + 1e-16, "{a:e} {b:e}");
            }
            let (from, to) = (0.05, 0.5);
            let s = kriging_stencil(family(), &OFFSETS, m, log_uniform(from, to), 0.0).unwrap();
            let panels = 4000;
            let width = (to - from) / panels as f64;
            let density = 1.0 / (to / from).ln();
            let rule: Vec<(f64, f64)> = (0..=2 * panels)
                .map(|i| {
                    let h = from + i as f64 * width / 2.0;
                    let simpson = if i == 0 || i == 2 * panels {
                        1.0
                    } else if i % 2 == 1 {
                        4.0
                    } else {
                        2.0
                    };
                    (h, simpson * width / 6.0 * density / h)
                })
                .collect();
            let (a, b) = normal_equations(&rule, m, 0.0);
            let d = relative_distance(&s.weights, &solve(a, b));
            assert!(d < 1e-8, "m = {m}: {d:e}");
        }
    }

    #[test]
    fn reflection_makes_the_first_derivative_antisymmetric_and_the_second_symmetric() {
        for steps in [StepDistribution::Fixed(0.1), log_uniform(0.005, 0.5)] {
            for noise in [0.0, 1e-2] {
                for m in [1, 2] {
                    let s = kriging_stencil(family(), &OFFSETS, m, steps, noise).unwrap();
                    let w = &s.weights;
                    let scale = w.iter().fold(0.0f64, |a, x| a.max(x.abs()));
                    let sign = if m == 1 { -1.0 } else { 1.0 };
                    for i in 0..5 {
                        assert!((w[i] - sign * w[4 - i]).abs() <= 1e-12 * scale, "{w:?}");
                    }
                    for (j, d) in s.defects.iter().enumerate() {
                        if j % 2 != m % 2 {
                            assert!(d.abs() <= 1e-13, "m = {m}, δ_{j} = {d:e}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn at_one_step_the_second_derivative_stencil_is_exact_on_the_family() {
        // Three symmetric weights, three cosines: the samples determine h² f''(x₀).
        for h in [0.01, 0.1, 0.5] {
            let s =
                kriging_stencil(family(), &OFFSETS, 2, StepDistribution::Fixed(h), 0.0).unwrap();
            for k in 1..=3 {
                let k = f64::from(k);
                let value: f64 = s
                    .weights
                    .iter()
                    .zip(OFFSETS)
                    .map(|(w, o)| w * (k * o * h).cos())
                    .sum();
                let scale: f64 = s.weights.iter().map(|w| w.abs()).sum();
                assert!((value + k * k * h * h).abs() <= 1e-14 * scale, "h = {h}");
            }
            assert!(s.loss <= 1e-20, "h = {h}: loss {:e}", s.loss);
            // …and yet not consistent: its zeroth moment is not 0.
            assert!(s.defects[0] < 0.0);
        }
    }

    #[test]
    fn the_loss_is_the_mean_squared_error_and_no_stencil_does_better() {
        for m in [1, 2] {
            for noise in [0.0, 1e-3] {
                let h = 0.2;
                let s = kriging_stencil(family(), &OFFSETS, m, StepDistribution::Fixed(h), noise)
                    .unwrap();
                let mse = |w: &[f64]| mean_squared_error(family(), &OFFSETS, w, m, h, noise);
                let at = mse(&s.weights);
                // (For f'' without noise both are rounding: the stencil is exact on the family.)
                assert!(
                    (at - s.loss).abs() <= 1e-10 * s.loss + 1e-25,
                    "{at:e} {:e}",
                    s.loss
                );
                // The covariance form wᵀ(K + σ²I)w − 2 wᵀb + Var, from the normal equations.
                let (a, b) = normal_equations(&[(h, 1.0)], m, noise);
                let w = &s.weights;
                let quadratic: f64 = (0..5)
                    .map(|i| w[i] * ((0..5).map(|j| a[i][j] * w[j]).sum::<f64>() - 2.0 * b[i]))
                    .sum();
                let covariance = quadratic + family().derivative_variance(m);
                // The covariance form cancels terms of size Var f^(m): an absolute 1e-11 is rounding.
                assert!(
                    (covariance - at).abs() <= 1e-6 * at + 1e-11,
                    "{covariance:e} {at:e}"
                );
                let central = Stencil::on_offsets(m, &OFFSETS).unwrap();
                assert!(mse(central.weights()) > at);
                for i in 0..5 {
                    let mut w = s.weights.clone();
                    w[i] += 1e-3;
                    assert!(mse(&w) > at);
                }
            }
        }
    }

    #[test]
    fn the_defects_vanish_in_the_flat_limit_with_the_predicted_constants_and_rates() {
        for m in [1, 2] {
            let limit = flat_limit(family(), &OFFSETS, m).unwrap();
            // m = 1: δ₁ ≈ −(108/7)/30 h⁴... as closed forms: −18/35 h⁴ and −101/294 h².
            // m = 2: δ₀ = 36 μ₆ h⁶, δ₂ = 49 μ₆ h⁴, δ₄ = 14 μ₆ h², μ₆(F₂) = −1/90.
            let expected: Vec<(usize, f64, usize)> = if m == 1 {
                vec![(1, -18.0 / 35.0, 4), (3, -101.0 / 294.0, 2)]
            } else {
                vec![
                    (0, -36.0 / 90.0, 6),
                    (2, -49.0 / 90.0, 4),
                    (4, -14.0 / 90.0, 2),
                ]
            };
            for ((j, c, q), (ej, ec, eq)) in limit.iter().zip(&expected) {
                assert_eq!((j, q), (ej, eq));
                assert!((c - ec).abs() < 1e-12, "m = {m}, j = {j}: {c} against {ec}");
            }
            let steps = [1e-3, 2e-3, 4e-3, 1e-2];
            let runs: Vec<KrigingStencil> = steps
                .iter()
                .map(|&h| {
                    kriging_stencil(family(), &OFFSETS, m, StepDistribution::Fixed(h), 0.0).unwrap()
                })
                .collect();
            for &(j, c, q) in &limit {
                let ratio = runs[0].defects[j] / (c * steps[0].powi(q as i32));
                assert!((ratio - 1.0).abs() < 1e-4, "m = {m}, δ_{j}: ratio {ratio}");
                let points: Vec<(f64, f64)> = steps
                    .iter()
                    .zip(&runs)
                    .map(|(h, s)| (h.ln(), s.defects[j].abs().ln()))
                    .collect();
                let slope = fitted_slope(&points);
                assert!(
                    (slope - q as f64).abs() < 1e-3,
                    "m = {m}, δ_{j}: slope {slope}"
                );
            }
        }
    }

    #[test]
    fn the_flat_limit_holds_for_richer_families_where_the_fit_is_weighted() {
        // K > d: the leading polynomial is a weighted least-squares fit, not an interpolant.
        for k in [4, 5] {
            let family = TrigonometricFamily::new(k).unwrap();
            for m in [1, 2] {
                let h = 1e-3;
                let s =
                    kriging_stencil(family, &OFFSETS, m, StepDistribution::Fixed(h), 0.0).unwrap();
                for (j, c, q) in flat_limit(family, &OFFSETS, m).unwrap() {
                    let ratio = s.defects[j] / (c * h.powi(q as i32));
                    assert!(
                        (ratio - 1.0).abs() < 1e-4,
                        "K = {k}, m = {m}, δ_{j}: {ratio}"
                    );
                }
            }
        }
    }

    fn fitted_slope(points: &[(f64, f64)]) -> f64 {
        let n = points.len() as f64;
        let (mx, my) = points
            .iter()
            .fold((0.0, 0.0), |(a, b), (x, y)| (a + x / n, b + y / n));
        let sxy: f64 = points.iter().map(|(x, y)| (x - mx) * (y - my)).sum();
        let sxx: f64 = points.iter().map(|(x, _)| (x - mx).powi(2)).sum();
        sxy / sxx
    }

    #[test]
    fn under_a_shrinking_log_uniform_step_the_defects_vanish_at_the_same_rates() {
        for m in [1, 2] {
            let limit = flat_limit(family(), &OFFSETS, m).unwrap();
            let at = |scale: f64| {
                kriging_stencil(
                    family(),
                    &OFFSETS,
                    m,
                    log_uniform(0.005 * scale, 0.5 * scale),
                    0.0,
                )
                .unwrap()
            };
            let (small, half) = (at(1e-3), at(2e-3));
            for &(j, _, q) in &limit {
                let ratio = half.defects[j] / small.defects[j];
                let expected = 2f64.powi(q as i32);
                assert!(
                    (ratio / expected - 1.0).abs() < 1e-4,
                    "m = {m}, δ_{j}: {ratio}"
                );
            }
        }
    }

    #[test]
    fn noise_shrinks_the_stencil() {
        // σ² E[h^{−2m}] ‖w‖² is a ridge penalty: more noise, smaller weights.
        let norm = |noise: f64| {
            let s = kriging_stencil(family(), &OFFSETS, 1, log_uniform(0.005, 0.5), noise).unwrap();
            s.weights.iter().map(|w| w * w).sum::<f64>().sqrt()
        };
        assert!(norm(1e-3) < norm(0.0) && norm(1e-1) < norm(1e-3));
        let e = log_uniform(0.005, 0.5).inverse_moment(1).unwrap();
        assert!((e - (0.005f64.powi(-2) - 0.5f64.powi(-2)) / (2.0 * 100f64.ln())).abs() < 1e-9);
    }

    #[test]
    fn singular_and_bad_inputs_are_errors() {
        // Five nodes equispaced on the circle: (1, …, 1) annihilates cos kx, sin kx for k ≤ 4.
        let ring = 2.0 * std::f64::consts::PI / 5.0;
        assert!(matches!(
            kriging_stencil(family(), &OFFSETS, 1, StepDistribution::Fixed(ring), 0.0),
            Err(KrigingError::Singular { features: 6 })
        ));
        assert!(kriging_stencil(family(), &OFFSETS, 1, StepDistribution::Fixed(ring), 0.1).is_ok());
        // K = 1: two features for five samples.
        let one = TrigonometricFamily::new(1).unwrap();
        assert!(matches!(
            kriging_stencil(one, &OFFSETS, 1, StepDistribution::Fixed(0.1), 0.0),
            Err(KrigingError::Singular { features: 2 })
        ));
        assert!(matches!(
            flat_limit(one, &OFFSETS, 2),
            Err(KrigingError::Singular { .. })
        ));
        assert!(matches!(
            flat_limit(family(), &[0.0, 1.0, 2.0], 1),
            Err(KrigingError::NotSymmetric)
        ));
        assert_eq!(TrigonometricFamily::new(0), Err(KrigingError::NoFrequency));
        for steps in [
            StepDistribution::Fixed(0.0),
            StepDistribution::Fixed(f64::NAN),
            log_uniform(0.5, 0.1),
        ] {
            assert!(matches!(
                kriging_stencil(family(), &OFFSETS, 1, steps, 0.0),
                Err(KrigingError::BadSteps { .. })
            ));
        }
        assert_eq!(
            kriging_stencil(family(), &OFFSETS, 1, StepDistribution::Fixed(0.1), -1.0),
            Err(KrigingError::BadNoise(-1.0))
        );
        assert!(matches!(
            kriging_stencil(family(), &OFFSETS, 5, StepDistribution::Fixed(0.1), 0.0),
            Err(KrigingError::Stencil(_))
        ));
    }

    #[test]
    fn the_taylor_remainder_has_full_relative_accuracy() {
        // cos x − 1 + x²/2 − x⁴/24 = x⁶(−1/720 + x²/40320 − …).
        let x: f64 = 1e-3;
        let expected = x.powi(6) * (-1.0 / 720.0 + x * x / 40320.0);
        assert!((taylor_remainder(x, 5, false) / expected - 1.0).abs() < 1e-12);
        for x in [0.7f64, 3.0, 9.5] {
            let direct = x.sin() - x + x.powi(3) / 6.0;
            assert!((taylor_remainder(x, 5, true) - direct).abs() < 1e-13 * x.powi(5));
        }
    }
}
