//! Runge–Kutta methods: Butcher tableaus, a library of named explicit methods, the
//! Gauss–Legendre collocation methods, and stepping of vector ODEs `y' = f(t, y)`.
//!
//! A step of an `s`-stage method computes stage derivatives `k_i = f(t + c_i h, y + h Σ_j a_ij k_j)`
//! and returns `y + h Σ_i b_i k_i`. For an explicit method (`a_ij = 0` for `j ≥ i`) the stages
//! follow one another ([`Tableau::step`]); for an implicit one they are a fixed point, reached
//! here by Picard iteration: [`Tableau::picard_step`] stops after a given number of sweeps (each
//! sweep updates every stage from the previous sweep's stages at once, which is what one
//! attention layer over the stage tokens computes) and is itself the explicit method
//! [`Tableau::picard_tableau`]; [`Tableau::implicit_step`] iterates until the sweeps stop moving,
//! or says why they do not contract. No Newton iteration: this module solves nothing else.

use std::fmt;

use thiserror::Error;

use crate::quadrature;

/// Why a tableau is refused.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum TableauError {
    /// `A` is not `s × s`, or `b` / `c` do not have `s` entries.
    #[error(
        "a tableau with {stages} stages needs A {stages}×{stages}, b and c of length {stages}; {what}"
    )]
    Shape {
        /// The number of stages (length of `c`).
        stages: usize,
        /// Which part has the wrong shape.
        what: String,
    },
    /// An entry on or above the diagonal of `A` is nonzero: the method is implicit.
    #[error("a_{i}{j} = {value} is on or above the diagonal: the method is not explicit")]
    NotExplicit {
        /// Row (1-based).
        i: usize,
        /// Column (1-based).
        j: usize,
        /// The entry.
        value: f64,
    },
    /// An entry is NaN or infinite.
    #[error("entry {what} is not finite")]
    NotFinite {
        /// Which entry.
        what: String,
    },
    /// No method of that name.
    #[error("no Runge–Kutta method named `{name}`; the methods are: {}", available.join(", "))]
    UnknownMethod {
        /// The name asked for.
        name: String,
        /// The known names.
        available: Vec<&'static str>,
    },
}

/// Why the fixed-point iteration of an implicit step stopped without a solution.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum FixedPointError {
    /// The sweeps did not bring the stage increment below the tolerance.
    #[error(
        "the stage iteration did not converge in {sweeps} sweeps: the last increment is \
         {increment:e} (tolerance {tolerance:e}) and the last ratio of increments {ratio}; the \
         sweep map contracts only when h·L·‖A‖∞ < 1 (L the Lipschitz constant of f): take a \
         smaller step"
    )]
    NotConverged {
        /// Sweeps done.
        sweeps: usize,
        /// `max_i ‖k_i⁽ᵐ⁾ − k_i⁽ᵐ⁻¹⁾‖∞` after the last sweep.
        increment: f64,
        /// The tolerance it had to reach (already scaled).
        tolerance: f64,
        /// The ratio of the last two increments (≥ 1 means no contraction).
        ratio: f64,
    },
    /// A stage derivative became NaN or infinite.
    #[error("a stage derivative is not finite after sweep {sweep}")]
    NotFinite {
        /// The sweep (0 is the initial guess `f(t, y)`).
        sweep: usize,
    },
    /// The tolerance or the sweep limit is unusable.
    #[error("{0}")]
    Invalid(String),
}

/// A converged implicit step: the new value and how the iteration went.
#[derive(Debug, Clone, PartialEq)]
pub struct ImplicitStep {
    /// `y + h Σ_i b_i k_i` at the fixed point.
    pub y: Vec<f64>,
    /// The number of sweeps done (the last one moved the stages by at most the tolerance).
    pub sweeps: usize,
    /// `δ_m = max_i ‖k_i⁽ᵐ⁾ − k_i⁽ᵐ⁻¹⁾‖∞` for `m = 1..=sweeps`: their ratios measure the
    /// contraction of the sweep map.
    pub increments: Vec<f64>,
}

/// The Butcher tableau of a Runge–Kutta method, explicit ([`Tableau::new`]) or not
/// ([`Tableau::general`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Tableau {
    a: Vec<Vec<f64>>,
    b: Vec<f64>,
    c: Vec<f64>,
}

impl Tableau {
    /// A tableau from its rows of `A`, `b` and `c`; `A` must be strictly lower triangular.
    pub fn new(a: Vec<Vec<f64>>, b: Vec<f64>, c: Vec<f64>) -> Result<Self, TableauError> {
        Self::checked(a, b, c, true)
    }

    /// A tableau with any square `A` (an implicit method when an entry on or above the diagonal
    /// is nonzero).
    pub fn general(a: Vec<Vec<f64>>, b: Vec<f64>, c: Vec<f64>) -> Result<Self, TableauError> {
        Self::checked(a, b, c, false)
    }

    fn checked(
        a: Vec<Vec<f64>>,
        b: Vec<f64>,
        c: Vec<f64>,
        explicit: bool,
    ) -> Result<Self, TableauError> {
        let s = c.len();
        let shape = |what: String| TableauError::Shape { stages: s, what };
        if s == 0 {
            return Err(shape("there are no stages".into()));
        }
        if b.len() != s {
            return Err(shape(format!("b has {} entries", b.len())));
        }
        if a.len() != s {
            return Err(shape(format!("A has {} rows", a.len())));
        }
        for (i, row) in a.iter().enumerate() {
            if row.len() != s {
                return Err(shape(format!(
                    "row {} of A has {} entries",
                    i + 1,
                    row.len()
                )));
            }
            for (j, &value) in row.iter().enumerate() {
                if !value.is_finite() {
                    return Err(TableauError::NotFinite {
                        what: format!("a_{}{}", i + 1, j + 1),
                    });
                }
                if explicit && j >= i && value != 0.0 {
                    return Err(TableauError::NotExplicit {
                        i: i + 1,
                        j: j + 1,
                        value,
                    });
                }
            }
        }
        for (name, v) in [("b", &b), ("c", &c)] {
            if let Some(i) = v.iter().position(|x| !x.is_finite()) {
                return Err(TableauError::NotFinite {
                    what: format!("{name}_{}", i + 1),
                });
            }
        }
        Ok(Self { a, b, c })
    }

    /// Number of stages.
    pub fn stages(&self) -> usize {
        self.c.len()
    }

    /// The matrix `A` by rows.
    pub fn a(&self) -> &[Vec<f64>] {
        &self.a
    }

    /// The weights `b`.
    pub fn b(&self) -> &[f64] {
        &self.b
    }

    /// The nodes `c`.
    pub fn c(&self) -> &[f64] {
        &self.c
    }

    /// Whether every entry of `A`, `b` and `c` is non-negative.
    pub fn is_non_negative(&self) -> bool {
        self.a
            .iter()
            .flatten()
            .chain(&self.b)
            .chain(&self.c)
            .all(|&x| x >= 0.0)
    }

    /// Whether `c_i = Σ_j a_ij` for every stage (the usual row-sum condition).
    pub fn satisfies_row_sums(&self, tol: f64) -> bool {
        self.a
            .iter()
            .zip(&self.c)
            .all(|(row, &c)| (row.iter().sum::<f64>() - c).abs() <= tol)
    }

    /// Whether `A` is strictly lower triangular, so that each stage needs only earlier ones.
    pub fn is_explicit(&self) -> bool {
        self.a
            .iter()
            .enumerate()
            .all(|(i, row)| row[i..].iter().all(|&x| x == 0.0))
    }

    /// The `s`-stage Gauss–Legendre collocation method (order `2s`, Butcher 1964): `c` the
    /// Gauss–Legendre nodes on `[0, 1]`, `a_ij = ∫_0^{c_i} ℓ_j` and `b_j = ∫_0^1 ℓ_j` for the
    /// Lagrange basis `ℓ_j` on `c`. Each `a_ij` is an `s`-point Gauss rule on `[0, c_i]`, exact
    /// for `ℓ_j` (degree `s − 1`); `b` is the Gauss weights halved. Cost O(s³).
    ///
    /// # Errors
    /// [`TableauError::Shape`] for `s = 0`.
    pub fn gauss_legendre(s: usize) -> Result<Self, TableauError> {
        let rule = quadrature::gauss_legendre(s).map_err(|_| TableauError::Shape {
            stages: s,
            what: "there are no stages".into(),
        })?;
        let c: Vec<f64> = rule.nodes().iter().map(|x| (1.0 + x) / 2.0).collect();
        let lagrange = |j: usize, x: f64| -> f64 {
            c.iter()
                .enumerate()
                .filter(|&(m, _)| m != j)
                .map(|(_, &cm)| (x - cm) / (c[j] - cm))
                .product()
        };
        let a = c
            .iter()
            .map(|&ci| {
                (0..s)
                    .map(|j| {
                        rule.nodes()
                            .iter()
                            .zip(rule.weights())
                            .map(|(&x, &w)| w * lagrange(j, ci * (1.0 + x) / 2.0))
                            .sum::<f64>()
                            * ci
                            / 2.0
                    })
                    .collect()
            })
            .collect();
        let b = rule.weights().iter().map(|w| w / 2.0).collect();
        Self::general(a, b, c)
    }

    /// One step of size `h` from `(t, y)` for `y' = f(t, y)`, where `f(t, y, dy)` writes `dy`.
    ///
    /// For an implicit tableau this is [`Tableau::implicit_step`] with a relative tolerance of
    /// `4ε` and at most 200 sweeps, and every component is NaN when that iteration fails: call
    /// [`Tableau::implicit_step`] to learn why.
    pub fn step(
        &self,
        f: &mut impl FnMut(f64, &[f64], &mut [f64]),
        t: f64,
        y: &[f64],
        h: f64,
    ) -> Vec<f64> {
        if !self.is_explicit() {
            return self
                .implicit_step(f, t, y, h, 4.0 * f64::EPSILON, 200)
                .map_or_else(|_| vec![f64::NAN; y.len()], |step| step.y);
        }
        let s = self.stages();
        let dim = y.len();
        let mut k = vec![vec![0.0; dim]; s];
        let mut stage_y = vec![0.0; dim];
        for i in 0..s {
            stage_y.copy_from_slice(y);
            for (j, kj) in k.iter().enumerate().take(i) {
                let a = self.a[i][j];
                if a != 0.0 {
                    for (yd, kd) in stage_y.iter_mut().zip(kj) {
                        *yd += h * a * kd;
                    }
                }
            }
            f(t + self.c[i] * h, &stage_y, &mut k[i]);
        }
        let mut out = y.to_vec();
        for (bi, ki) in self.b.iter().zip(&k) {
            for (o, kd) in out.iter_mut().zip(ki) {
                *o += h * bi * kd;
            }
        }
        out
    }

    /// One Jacobi sweep of the stage equations: `next_i = f(t + c_i h, y + h Σ_j a_ij k_j)` for
    /// every `i`, all from the same `k`.
    fn sweep(
        &self,
        f: &mut impl FnMut(f64, &[f64], &mut [f64]),
        t: f64,
        y: &[f64],
        h: f64,
        k: &[Vec<f64>],
        next: &mut [Vec<f64>],
    ) {
        let mut stage_y = vec![0.0; y.len()];
        for (i, (row, out)) in self.a.iter().zip(next.iter_mut()).enumerate() {
            stage_y.copy_from_slice(y);
            for (&a, kj) in row.iter().zip(k) {
                if a != 0.0 {
                    for (yd, kd) in stage_y.iter_mut().zip(kj) {
                        *yd += h * a * kd;
                    }
                }
            }
            f(t + self.c[i] * h, &stage_y, out);
        }
    }

    /// `y + h Σ_i b_i k_i`.
    fn combine(&self, y: &[f64], h: f64, k: &[Vec<f64>]) -> Vec<f64> {
        let mut out = y.to_vec();
        for (bi, ki) in self.b.iter().zip(k) {
            for (o, kd) in out.iter_mut().zip(ki) {
                *o += h * bi * kd;
            }
        }
        out
    }

    /// One step by `sweeps` Picard (fixed-point) sweeps of the stage equations: the stage
    /// derivatives start at `k_i⁽⁰⁾ = f(t, y)`, sweep `m` sets
    /// `k_i⁽ᵐ⁾ = f(t + c_i h, y + h Σ_j a_ij k_j⁽ᵐ⁻¹⁾)` for all `i` at once (Jacobi, not
    /// Gauss–Seidel), and the step is `y + h Σ_i b_i k_i⁽ᴷ⁾`. It is the explicit method
    /// [`Tableau::picard_tableau`]`(sweeps)`; for an explicit tableau with `sweeps ≥ s` it is that
    /// tableau's own step.
    pub fn picard_step(
        &self,
        f: &mut impl FnMut(f64, &[f64], &mut [f64]),
        t: f64,
        y: &[f64],
        h: f64,
        sweeps: usize,
    ) -> Vec<f64> {
        let mut f0 = vec![0.0; y.len()];
        f(t, y, &mut f0);
        let mut k = vec![f0; self.stages()];
        let mut next = k.clone();
        for _ in 0..sweeps {
            self.sweep(f, t, y, h, &k, &mut next);
            std::mem::swap(&mut k, &mut next);
        }
        self.combine(y, h, &k)
    }

    /// One step of the (implicit) method: Picard sweeps as in [`Tableau::picard_step`] until a
    /// sweep moves no stage derivative by more than `tolerance · max(1, max_i ‖k_i‖∞)` in the
    /// max norm. The sweep map is a contraction, so that this converges from any start, when
    /// `h L ‖A‖∞ < 1` for the Lipschitz constant `L` of `f` in the max norm.
    ///
    /// # Errors
    /// [`FixedPointError::NotConverged`] after `max_sweeps` sweeps without reaching the
    /// tolerance, [`FixedPointError::NotFinite`] when a stage derivative overflows, and
    /// [`FixedPointError::Invalid`] for a tolerance that is not positive and finite or
    /// `max_sweeps = 0`.
    pub fn implicit_step(
        &self,
        f: &mut impl FnMut(f64, &[f64], &mut [f64]),
        t: f64,
        y: &[f64],
        h: f64,
        tolerance: f64,
        max_sweeps: usize,
    ) -> Result<ImplicitStep, FixedPointError> {
        if !(tolerance.is_finite() && tolerance > 0.0) {
            return Err(FixedPointError::Invalid(format!(
                "the tolerance must be positive and finite, got {tolerance}"
            )));
        }
        if max_sweeps == 0 {
            return Err(FixedPointError::Invalid(
                "at least one sweep is needed".into(),
            ));
        }
        let max_norm = |k: &[Vec<f64>]| k.iter().flatten().fold(0.0f64, |m, x| m.max(x.abs()));
        let mut f0 = vec![0.0; y.len()];
        f(t, y, &mut f0);
        let mut k = vec![f0; self.stages()];
        if !k.iter().flatten().all(|x| x.is_finite()) {
            return Err(FixedPointError::NotFinite { sweep: 0 });
        }
        let mut next = k.clone();
        let mut increments = Vec::new();
        for sweep in 1..=max_sweeps {
            self.sweep(f, t, y, h, &k, &mut next);
            if !next.iter().flatten().all(|x| x.is_finite()) {
                return Err(FixedPointError::NotFinite { sweep });
            }
            let increment = k
                .iter()
                .flatten()
                .zip(next.iter().flatten())
                .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
            increments.push(increment);
            std::mem::swap(&mut k, &mut next);
            let scaled = tolerance * max_norm(&k).max(1.0);
            if increment <= scaled {
                return Ok(ImplicitStep {
                    y: self.combine(y, h, &k),
                    sweeps: sweep,
                    increments,
                });
            }
            if sweep == max_sweeps {
                let ratio = match increments.as_slice() {
                    [.., p, l] => l / p,
                    _ => f64::NAN,
                };
                return Err(FixedPointError::NotConverged {
                    sweeps: sweep,
                    increment,
                    tolerance: scaled,
                    ratio,
                });
            }
        }
        unreachable!("the loop returns at its last sweep")
    }

    /// The explicit tableau of [`Tableau::picard_step`] with `sweeps = K`: `1 + K s` stages, the
    /// first `f(t, y)`, then one block of `s` per sweep. Block 1 reads the first stage with weight
    /// `Σ_j a_ij` (all `k_j⁽⁰⁾` are that stage), block `m ≥ 2` reads block `m − 1` through `A`,
    /// the nodes of block `m` are `c`, and `b` weights the last block (for `K = 0`, the first
    /// stage with weight `Σ_i b_i`).
    ///
    /// # Errors
    /// [`TableauError::NotFinite`] if a row sum of `A` overflows.
    pub fn picard_tableau(&self, sweeps: usize) -> Result<Self, TableauError> {
        let s = self.stages();
        let n = 1 + sweeps * s;
        let mut a = vec![vec![0.0; n]; n];
        let mut c = vec![0.0; n];
        for m in 1..=sweeps {
            for i in 0..s {
                let row = 1 + (m - 1) * s + i;
                c[row] = self.c[i];
                if m == 1 {
                    a[row][0] = self.a[i].iter().sum();
                } else {
                    let previous = 1 + (m - 2) * s;
                    a[row][previous..previous + s].copy_from_slice(&self.a[i]);
                }
            }
        }
        let mut b = vec![0.0; n];
        if sweeps == 0 {
            b[0] = self.b.iter().sum();
        } else {
            b[n - s..].copy_from_slice(&self.b);
        }
        Self::new(a, b, c)
    }

    /// Integrate from `t0` to `t1` in `steps` equal steps.
    pub fn integrate(
        &self,
        f: &mut impl FnMut(f64, &[f64], &mut [f64]),
        t0: f64,
        y0: &[f64],
        t1: f64,
        steps: usize,
    ) -> Vec<f64> {
        let h = (t1 - t0) / steps as f64;
        let mut y = y0.to_vec();
        for n in 0..steps {
            y = self.step(f, t0 + n as f64 * h, &y, h);
        }
        y
    }
}

/// A named explicit Runge–Kutta method from the literature.
#[derive(Debug, Clone, PartialEq)]
pub struct NamedMethod {
    /// Short name used on the command line and in tables.
    pub name: &'static str,
    /// Its usual full name.
    pub title: &'static str,
    /// The order of accuracy claimed by its source.
    pub order: usize,
    /// Where it is published.
    pub source: &'static str,
    /// The tableau.
    pub tableau: Tableau,
}

impl fmt::Display for NamedMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.title, self.name)
    }
}

/// The names of the methods in [`named_methods`], in order.
pub const METHOD_NAMES: [&str; 13] = [
    "euler",
    "midpoint",
    "heun2",
    "ralston2",
    "ssprk2",
    "kutta3",
    "heun3",
    "ralston3",
    "ssprk3",
    "bogacki-shampine3",
    "rk4",
    "three-eighths",
    "dormand-prince5",
];

fn tableau(rows: &[&[f64]], b: &[f64]) -> Tableau {
    let s = b.len();
    let a: Vec<Vec<f64>> = (0..s)
        .map(|i| {
            let mut row = vec![0.0; s];
            if i > 0 {
                row[..i].copy_from_slice(rows[i - 1]);
            }
            row
        })
        .collect();
    let c = a.iter().map(|r| r.iter().sum()).collect();
    Tableau::new(a, b.to_vec(), c).expect("library tableaus are valid")
}

/// The library of named explicit methods. `c` is always the row sums of `A`.
pub fn named_methods() -> Vec<NamedMethod> {
    let m = |name, title, order, source, rows: &[&[f64]], b: &[f64]| NamedMethod {
        name,
        title,
        order,
        source,
        tableau: tableau(rows, b),
    };
    vec![
        m(
            "euler",
            "forward Euler",
            1,
            "Euler (1768); Hairer, Nørsett & Wanner, Solving ODEs I, II.1",
            &[],
            &[1.0],
        ),
        m(
            "midpoint",
            "explicit midpoint",
            2,
            "Runge (1895); Hairer, Nørsett & Wanner, II.1",
            &[&[0.5]],
            &[0.0, 1.0],
        ),
        m(
            "heun2",
            "Heun's method (explicit trapezoid)",
            2,
            "Heun (1900); Hairer, Nørsett & Wanner, II.1",
            &[&[1.0]],
            &[0.5, 0.5],
        ),
        m(
            "ralston2",
            "Ralston's second-order method",
            2,
            "Ralston, Math. Comp. 16 (1962) 431–437",
            &[&[2.0 / 3.0]],
            &[0.25, 0.75],
        ),
        m(
            "ssprk2",
            "SSPRK(2,2)",
            2,
            "Shu & Osher, J. Comput. Phys. 77 (1988); equal to Heun's method",
            &[&[1.0]],
            &[0.5, 0.5],
        ),
        m(
            "kutta3",
            "Kutta's third-order method",
            3,
            "Kutta (1901); Hairer, Nørsett & Wanner, II.1",
            &[&[0.5], &[-1.0, 2.0]],
            &[1.0 / 6.0, 2.0 / 3.0, 1.0 / 6.0],
        ),
        m(
            "heun3",
            "Heun's third-order method",
            3,
            "Heun (1900); Hairer, Nørsett & Wanner, II.1",
            &[&[1.0 / 3.0], &[0.0, 2.0 / 3.0]],
            &[0.25, 0.0, 0.75],
        ),
        m(
            "ralston3",
            "Ralston's third-order method",
            3,
            "Ralston, Math. Comp. 16 (1962) 431–437",
            &[&[0.5], &[0.0, 0.75]],
            &[2.0 / 9.0, 1.0 / 3.0, 4.0 / 9.0],
        ),
        m(
            "ssprk3",
            "SSPRK(3,3)",
            3,
            "Shu & Osher, J. Comput. Phys. 77 (1988) 439–471",
            &[&[1.0], &[0.25, 0.25]],
            &[1.0 / 6.0, 1.0 / 6.0, 2.0 / 3.0],
        ),
        m(
            "bogacki-shampine3",
            "Bogacki–Shampine 3(2), third-order weights",
            3,
            "Bogacki & Shampine, Appl. Math. Lett. 2 (1989) 321–325",
            &[&[0.5], &[0.0, 0.75], &[2.0 / 9.0, 1.0 / 3.0, 4.0 / 9.0]],
            &[2.0 / 9.0, 1.0 / 3.0, 4.0 / 9.0, 0.0],
        ),
        m(
            "rk4",
            "classical Runge–Kutta method",
            4,
            "Kutta (1901); Hairer, Nørsett & Wanner, II.1",
            &[&[0.5], &[0.0, 0.5], &[0.0, 0.0, 1.0]],
            &[1.0 / 6.0, 1.0 / 3.0, 1.0 / 3.0, 1.0 / 6.0],
        ),
        m(
            "three-eighths",
            "Kutta's 3/8 rule",
            4,
            "Kutta (1901); Hairer, Nørsett & Wanner, II.1",
            &[&[1.0 / 3.0], &[-1.0 / 3.0, 1.0], &[1.0, -1.0, 1.0]],
            &[0.125, 0.375, 0.375, 0.125],
        ),
        m(
            "dormand-prince5",
            "Dormand–Prince 5(4), fifth-order weights",
            5,
            "Dormand & Prince, J. Comput. Appl. Math. 6 (1980) 19–26",
            &[
                &[1.0 / 5.0],
                &[3.0 / 40.0, 9.0 / 40.0],
                &[44.0 / 45.0, -56.0 / 15.0, 32.0 / 9.0],
                &[
                    19372.0 / 6561.0,
                    -25360.0 / 2187.0,
                    64448.0 / 6561.0,
                    -212.0 / 729.0,
                ],
                &[
                    9017.0 / 3168.0,
                    -355.0 / 33.0,
                    46732.0 / 5247.0,
                    49.0 / 176.0,
                    -5103.0 / 18656.0,
                ],
                &[
                    35.0 / 384.0,
                    0.0,
                    500.0 / 1113.0,
                    125.0 / 192.0,
                    -2187.0 / 6784.0,
                    11.0 / 84.0,
                ],
            ],
            &[
                35.0 / 384.0,
                0.0,
                500.0 / 1113.0,
                125.0 / 192.0,
                -2187.0 / 6784.0,
                11.0 / 84.0,
                0.0,
            ],
        ),
    ]
}

/// The named method `name` (one of [`METHOD_NAMES`]).
pub fn named_method(name: &str) -> Result<NamedMethod, TableauError> {
    named_methods()
        .into_iter()
        .find(|m| m.name == name)
        .ok_or_else(|| TableauError::UnknownMethod {
            name: name.to_owned(),
            available: METHOD_NAMES.to_vec(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn library_is_complete_and_consistent() {
        let methods = named_methods();
        let names: Vec<&str> = methods.iter().map(|m| m.name).collect();
        assert_eq!(names, METHOD_NAMES);
        for m in &methods {
            assert!(m.tableau.satisfies_row_sums(1e-15), "{m}");
            assert!(
                (m.tableau.b().iter().sum::<f64>() - 1.0).abs() < 1e-15,
                "{m}: Σb = 1"
            );
        }
        assert!(named_method("rk4").unwrap().tableau.is_non_negative());
        assert!(!named_method("kutta3").unwrap().tableau.is_non_negative());
    }

    #[test]
    fn bad_tableaus_are_refused() {
        assert!(matches!(
            Tableau::new(vec![vec![0.0]], vec![1.0, 0.0], vec![0.0]),
            Err(TableauError::Shape { .. })
        ));
        assert!(matches!(
            Tableau::new(vec![vec![0.0, 0.0]], vec![1.0], vec![0.0]),
            Err(TableauError::Shape { .. })
        ));
        assert_eq!(
            Tableau::new(vec![vec![0.5]], vec![1.0], vec![0.5]),
            Err(TableauError::NotExplicit {
                i: 1,
                j: 1,
                value: 0.5
            })
        );
        assert!(matches!(
            Tableau::new(vec![vec![0.0]], vec![f64::NAN], vec![0.0]),
            Err(TableauError::NotFinite { .. })
        ));
        let err = named_method("rk5").unwrap_err().to_string();
        assert!(
            err.contains("no Runge–Kutta method named `rk5`") && err.contains("rk4"),
            "{err}"
        );
    }

    /// The Gauss–Legendre tableaus with two and three stages as printed by Hairer & Wanner,
    /// Solving ODEs II, Tables IV.5.1–5.2 (and Butcher, Math. Comp. 18, 1964).
    fn published_gauss(s: usize) -> (Vec<Vec<f64>>, Vec<f64>, Vec<f64>) {
        let r3 = 3f64.sqrt();
        let r15 = 15f64.sqrt();
        match s {
            1 => (vec![vec![0.5]], vec![1.0], vec![0.5]),
            2 => (
                vec![vec![0.25, 0.25 - r3 / 6.0], vec![0.25 + r3 / 6.0, 0.25]],
                vec![0.5, 0.5],
                vec![0.5 - r3 / 6.0, 0.5 + r3 / 6.0],
            ),
            3 => (
                vec![
                    vec![5.0 / 36.0, 2.0 / 9.0 - r15 / 15.0, 5.0 / 36.0 - r15 / 30.0],
                    vec![5.0 / 36.0 + r15 / 24.0, 2.0 / 9.0, 5.0 / 36.0 - r15 / 24.0],
                    vec![5.0 / 36.0 + r15 / 30.0, 2.0 / 9.0 + r15 / 15.0, 5.0 / 36.0],
                ],
                vec![5.0 / 18.0, 4.0 / 9.0, 5.0 / 18.0],
                vec![0.5 - r15 / 10.0, 0.5, 0.5 + r15 / 10.0],
            ),
            _ => unreachable!(),
        }
    }

    #[test]
    fn gauss_legendre_tableaus_match_the_published_ones() {
        for s in 1..=3 {
            let t = Tableau::gauss_legendre(s).unwrap();
            let (a, b, c) = published_gauss(s);
            let close = |x: &[f64], y: &[f64]| x.iter().zip(y).all(|(p, q)| (p - q).abs() <= 1e-15);
            for (row, expected) in t.a().iter().zip(&a) {
                assert!(close(row, expected), "s = {s}: {row:?} vs {expected:?}");
            }
            assert!(close(t.b(), &b) && close(t.c(), &c), "s = {s}");
            assert!(!t.is_explicit() && t.satisfies_row_sums(1e-15), "s = {s}");
        }
        assert!(matches!(
            Tableau::gauss_legendre(0),
            Err(TableauError::Shape { stages: 0, .. })
        ));
    }

    #[test]
    fn gauss_legendre_has_order_2s_by_the_trees() {
        for s in 1..=5 {
            let t = Tableau::gauss_legendre(s).unwrap();
            assert_eq!(
                crate::trees::order_of(&t, 2 * s + 1, 1e-12),
                2 * s,
                "s = {s}"
            );
        }
    }

    #[test]
    fn general_tableaus_are_checked_like_explicit_ones() {
        assert!(Tableau::general(vec![vec![0.5]], vec![1.0], vec![0.5]).is_ok());
        assert!(matches!(
            Tableau::general(vec![], vec![], vec![]),
            Err(TableauError::Shape { stages: 0, .. })
        ));
        assert!(matches!(
            Tableau::general(vec![vec![0.5, 0.1]], vec![1.0], vec![0.5]),
            Err(TableauError::Shape { .. })
        ));
        assert!(matches!(
            Tableau::general(vec![vec![f64::INFINITY]], vec![1.0], vec![0.5]),
            Err(TableauError::NotFinite { .. })
        ));
        for m in named_methods() {
            assert!(m.tableau.is_explicit(), "{m}");
            let general = Tableau::general(
                m.tableau.a().to_vec(),
                m.tableau.b().to_vec(),
                m.tableau.c().to_vec(),
            );
            assert_eq!(general.as_ref(), Ok(&m.tableau), "{m}");
        }
    }

    fn kepler(_t: f64, y: &[f64], dy: &mut [f64]) {
        let r3 = (y[0] * y[0] + y[1] * y[1]).powf(1.5);
        dy.copy_from_slice(&[y[2], y[3], -y[0] / r3, -y[1] / r3]);
    }

    #[test]
    fn picard_sweeps_are_the_explicit_picard_tableau() {
        let y0 = [0.5, 0.0, 0.0, 3f64.sqrt()];
        for s in 1..=3 {
            let gauss = Tableau::gauss_legendre(s).unwrap();
            for sweeps in 0..=2 * s + 1 {
                let unrolled = gauss.picard_tableau(sweeps).unwrap();
                assert_eq!(unrolled.stages(), 1 + sweeps * s);
                assert!(unrolled.is_explicit());
                let a = gauss.picard_step(&mut kepler, 0.3, &y0, 0.1, sweeps);
                let b = unrolled.step(&mut kepler, 0.3, &y0, 0.1);
                for (x, y) in a.iter().zip(&b) {
                    assert!((x - y).abs() <= 1e-15, "s = {s}, K = {sweeps}: {x} vs {y}");
                }
            }
        }
        // On an explicit tableau the Jacobi sweeps settle after s sweeps on the method's step,
        // bit for bit (the same sums in the same order).
        for m in named_methods() {
            let s = m.tableau.stages();
            assert_eq!(
                m.tableau.picard_step(&mut kepler, 0.3, &y0, 0.1, s),
                m.tableau.step(&mut kepler, 0.3, &y0, 0.1),
                "{m}"
            );
        }
    }

    #[test]
    fn picard_tableau_order_is_min_of_sweeps_plus_one_and_2s() {
        for s in 1..=3 {
            let gauss = Tableau::gauss_legendre(s).unwrap();
            for sweeps in 0..=2 * s + 1 {
                let unrolled = gauss.picard_tableau(sweeps).unwrap();
                assert_eq!(
                    crate::trees::order_of(&unrolled, 2 * s + 2, 1e-12),
                    (sweeps + 1).min(2 * s),
                    "s = {s}, K = {sweeps}"
                );
            }
        }
    }

    #[test]
    fn converged_gauss_step_on_the_exponential_is_the_pade_approximant() {
        // For y' = λy the s-stage Gauss method multiplies by the (s, s) Padé approximant of e^z.
        let z: f64 = -0.3;
        let pade = [
            (1.0 + z / 2.0) / (1.0 - z / 2.0),
            (1.0 + z / 2.0 + z * z / 12.0) / (1.0 - z / 2.0 + z * z / 12.0),
            (1.0 + z / 2.0 + z * z / 10.0 + z.powi(3) / 120.0)
                / (1.0 - z / 2.0 + z * z / 10.0 - z.powi(3) / 120.0),
        ];
        for (s, expected) in (1..=3).zip(pade) {
            let gauss = Tableau::gauss_legendre(s).unwrap();
            let mut f = |_: f64, y: &[f64], dy: &mut [f64]| dy[0] = -3.0 * y[0];
            let step = gauss
                .implicit_step(&mut f, 0.0, &[1.0], 0.1, 1e-15, 100)
                .unwrap();
            assert!((step.y[0] - expected).abs() < 1e-15, "s = {s}");
            // The increments shrink by about h|λ|ρ(A) per sweep; ρ(A) ≤ 1/2.
            let ratio = step.increments[2] / step.increments[1];
            assert!(ratio < 0.3 * 0.5 + 1e-12, "s = {s}: ratio {ratio}");
            assert_eq!(gauss.step(&mut f, 0.0, &[1.0], 0.1), {
                let y = gauss.implicit_step(&mut f, 0.0, &[1.0], 0.1, 4.0 * f64::EPSILON, 200);
                y.unwrap().y
            });
        }
    }

    #[test]
    fn a_sweep_map_that_does_not_contract_is_an_error() {
        let gauss = Tableau::gauss_legendre(2).unwrap();
        let mut stiff = |_: f64, y: &[f64], dy: &mut [f64]| dy[0] = -100.0 * y[0];
        let err = gauss
            .implicit_step(&mut stiff, 0.0, &[1.0], 1.0, 1e-14, 30)
            .unwrap_err();
        match err {
            FixedPointError::NotConverged { sweeps, ratio, .. } => {
                assert_eq!(sweeps, 30);
                assert!(ratio > 1.0, "{ratio}");
            }
            other => panic!("{other}"),
        }
        assert!(gauss.step(&mut stiff, 0.0, &[1.0], 1.0)[0].is_nan());
        let mut blow_up = |_: f64, y: &[f64], dy: &mut [f64]| dy[0] = y[0].exp();
        assert!(matches!(
            gauss.implicit_step(&mut blow_up, 0.0, &[10.0], 1.0, 1e-14, 30),
            Err(FixedPointError::NotFinite { .. })
        ));
        for (tolerance, sweeps) in [(0.0, 10), (f64::NAN, 10), (1e-14, 0)] {
            assert!(matches!(
                gauss.implicit_step(&mut stiff, 0.0, &[1.0], 0.001, tolerance, sweeps),
                Err(FixedPointError::Invalid(_))
            ));
        }
    }

    #[test]
    fn rk4_step_on_exponential_matches_its_taylor_polynomial() {
        // For y' = y, one RK4 step multiplies by 1 + h + h²/2 + h³/6 + h⁴/24 exactly.
        let rk4 = named_method("rk4").unwrap().tableau;
        let h = 0.1;
        let y = rk4.step(&mut |_, y, dy| dy[0] = y[0], 0.0, &[1.0], h);
        let expected = 1.0 + h + h * h / 2.0 + h.powi(3) / 6.0 + h.powi(4) / 24.0;
        assert!((y[0] - expected).abs() < 1e-16);
    }
}
