//! Scalar conservation laws `u_t + f(u)_x = 0` on a periodic grid by the method of lines:
//! finite-difference WENO5-JS in space (Shu's form, Jiang & Shu 1996) with global
//! Lax–Friedrichs flux splitting, and SSPRK3 (Shu & Osher 1988) in time.
//!
//! The flux is split as `f± = ½ (f(u) ± α u)` with `α = max_i |f'(u_i)|` over the grid the
//! right-hand side is evaluated on (every stage), so that `f⁺` has non-negative and `f⁻`
//! non-positive characteristic speed. The numerical flux at `x_{i+1/2}` is
//! `F_{i+1/2} = R(f⁺_{i−2} … f⁺_{i+2}) + R(f⁻_{i+3} … f⁻_{i−1})`: the same left-biased
//! reconstruction `R`, applied to `f⁻` on the mirrored window. The semi-discrete equation is
//! `u_i' = −(F_{i+1/2} − F_{i−1/2}) / Δx`, stepped by the `ssprk3` tableau of [`crate::rk`].
//!
//! `R` is WENO5-JS ([`Weno5`]) or, to show what the nonlinear weights buy, the linear
//! fifth-order upwind stencil (the ideal weights `d_k`), which oscillates at a discontinuity.
//! This module knows nothing of boundaries other than periodic ones, of systems, or of adaptive
//! steps: the step `Δt` is fixed and checked once, against the initial data, by
//! `α Δt / Δx ≤` [`MAX_CFL`].

use thiserror::Error;

use crate::rk::{Tableau, TableauError, named_method};
use crate::weno::{CANDIDATE_STENCILS, LINEAR_WEIGHTS, Weno5, periodic_window};

/// The largest Courant number `α Δt / Δx` accepted: 1, inside the linear stability limit of
/// SSPRK3 with the fifth-order upwind stencil (about 1.43) and the usual choice for
/// SSPRK3–WENO5 (Jiang & Shu 1996 run at 0.6–1).
pub const MAX_CFL: f64 = 1.0;

/// The flux `f(u)` of a scalar conservation law.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Flux {
    /// Linear advection `f(u) = a u`.
    Advection {
        /// The speed `a`.
        speed: f64,
    },
    /// Inviscid Burgers `f(u) = u² / 2`.
    Burgers,
}

impl Flux {
    /// `f(u)`.
    pub fn value(&self, u: f64) -> f64 {
        match self {
            Self::Advection { speed } => speed * u,
            Self::Burgers => 0.5 * u * u,
        }
    }

    /// `|f'(u)|`.
    pub fn speed(&self, u: f64) -> f64 {
        match self {
            Self::Advection { speed } => speed.abs(),
            Self::Burgers => u.abs(),
        }
    }

    /// The splitting constant `α = max_i |f'(u_i)|`.
    pub fn max_speed(&self, u: &[f64]) -> f64 {
        u.iter().map(|&v| self.speed(v)).fold(0.0, f64::max)
    }
}

/// The reconstruction of the interface flux from five point values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Reconstruction {
    /// WENO5-JS: the nonlinear weights.
    Weno(Weno5),
    /// The fifth-order upwind stencil `(2, −13, 47, 27, −3)/60`: the ideal weights only.
    Upwind5,
}

impl Reconstruction {
    /// The reconstruction at `x_{i+1/2}` from `v_{i−2} … v_{i+2}`.
    pub fn reconstruct(&self, window: &[f64; 5]) -> f64 {
        match self {
            Self::Weno(weno) => weno.reconstruct(window),
            Self::Upwind5 => {
                let q = Weno5::candidates(window);
                LINEAR_WEIGHTS.iter().zip(q).map(|(d, q)| d * q).sum()
            }
        }
    }
}

/// The fifth-order upwind stencil as weights on `v_{i−2} … v_{i+2}`: `Σ_k d_k` times each
/// candidate's stencil.
pub fn upwind5_stencil() -> [f64; 5] {
    std::array::from_fn(|r| {
        (0..3)
            .map(|k| LINEAR_WEIGHTS[k] * CANDIDATE_STENCILS[k][r])
            .sum()
    })
}

/// Why a run cannot be made.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum ConservationError {
    /// The grid has fewer points than the five-point stencil.
    #[error("the WENO5 stencil needs at least 5 grid points, got {0}")]
    TooFewPoints(usize),
    /// The domain length, the time step or the advection speed is not a positive (or, for the
    /// speed, finite) number.
    #[error("{what} must be positive and finite, got {value}")]
    Parameter {
        /// Which parameter.
        what: &'static str,
        /// Its value.
        value: f64,
    },
    /// An initial value is NaN or infinite.
    #[error("initial value {index} is not finite ({value})")]
    NotFinite {
        /// Its index on the grid.
        index: usize,
        /// The value.
        value: f64,
    },
    /// The initial data are not on the scheme's grid.
    #[error("the initial data have {got} values on a grid of {expected} points")]
    GridLength {
        /// The number of grid points.
        expected: usize,
        /// The number of values.
        got: usize,
    },
    /// The SSPRK3 tableau is missing from the named methods.
    #[error(transparent)]
    Tableau(#[from] TableauError),
    /// The Courant number of the initial data exceeds [`MAX_CFL`].
    #[error(
        "Courant number α Δt / Δx = {cfl} exceeds the stable limit {limit} (α = {alpha}, \
         Δt = {dt}, Δx = {dx})"
    )]
    Cfl {
        /// `α Δt / Δx`.
        cfl: f64,
        /// [`MAX_CFL`].
        limit: f64,
        /// `max |f'(u₀)|`.
        alpha: f64,
        /// The time step.
        dt: f64,
        /// The grid step.
        dx: f64,
    },
}

/// A checked method of lines: flux, reconstruction, grid and time step.
#[derive(Debug, Clone, PartialEq)]
pub struct Scheme {
    flux: Flux,
    reconstruction: Reconstruction,
    points: usize,
    dx: f64,
    dt: f64,
    tableau: Tableau,
}

fn positive(what: &'static str, value: f64) -> Result<f64, ConservationError> {
    if value > 0.0 && value.is_finite() {
        Ok(value)
    } else {
        Err(ConservationError::Parameter { what, value })
    }
}

impl Scheme {
    /// The scheme on `points` equal cells of a periodic domain of length `length`, with step
    /// `dt`.
    ///
    /// # Errors
    /// [`ConservationError::TooFewPoints`] below five points, [`ConservationError::Parameter`]
    /// for a length or step that is not positive and finite or an advection speed that is not
    /// finite.
    pub fn new(
        flux: Flux,
        reconstruction: Reconstruction,
        points: usize,
        length: f64,
        dt: f64,
    ) -> Result<Self, ConservationError> {
        if points < 5 {
            return Err(ConservationError::TooFewPoints(points));
        }
        if let Flux::Advection { speed } = flux
            && !speed.is_finite()
        {
            return Err(ConservationError::Parameter {
                what: "the advection speed",
                value: speed,
            });
        }
        let length = positive("the domain length", length)?;
        let dt = positive("the time step", dt)?;
        let tableau = named_method("ssprk3")?.tableau;
        Ok(Self {
            flux,
            reconstruction,
            points,
            dx: length / points as f64,
            dt,
            tableau,
        })
    }

    /// The flux.
    pub fn flux(&self) -> Flux {
        self.flux
    }

    /// The reconstruction.
    pub fn reconstruction(&self) -> Reconstruction {
        self.reconstruction
    }

    /// The number of grid points.
    pub fn points(&self) -> usize {
        self.points
    }

    /// The grid step `Δx`.
    pub fn dx(&self) -> f64 {
        self.dx
    }

    /// The time step `Δt`.
    pub fn dt(&self) -> f64 {
        self.dt
    }

    /// The grid `x_i = i Δx`.
    pub fn grid(&self) -> Vec<f64> {
        (0..self.points).map(|i| i as f64 * self.dx).collect()
    }

    /// The SSPRK3 tableau the scheme steps with.
    pub fn tableau(&self) -> &Tableau {
        &self.tableau
    }

    /// The interface fluxes `F_{i+1/2}`, `i = 0 … N−1`, of the grid values `u`.
    pub fn interface_fluxes(&self, u: &[f64]) -> Vec<f64> {
        let alpha = self.flux.max_speed(u);
        let plus: Vec<f64> = u
            .iter()
            .map(|&v| 0.5 * (self.flux.value(v) + alpha * v))
            .collect();
        let minus: Vec<f64> = u
            .iter()
            .map(|&v| 0.5 * (self.flux.value(v) - alpha * v))
            .collect();
        (0..u.len())
            .map(|i| {
                let left = self.reconstruction.reconstruct(&periodic_window(&plus, i));
                let right = self.reconstruction.reconstruct(&mirrored_window(&minus, i));
                left + right
            })
            .collect()
    }

    /// The semi-discrete right-hand side `−(F_{i+1/2} − F_{i−1/2}) / Δx`, written to `out`.
    pub fn rhs(&self, u: &[f64], out: &mut [f64]) {
        let flux = self.interface_fluxes(u);
        let n = flux.len();
        for (i, o) in out.iter_mut().enumerate() {
            *o = -(flux[i] - flux[(i + n - 1) % n]) / self.dx;
        }
    }

    fn check(&self, u0: &[f64]) -> Result<(), ConservationError> {
        if u0.len() != self.points {
            return Err(ConservationError::GridLength {
                expected: self.points,
                got: u0.len(),
            });
        }
        if let Some(index) = u0.iter().position(|v| !v.is_finite()) {
            return Err(ConservationError::NotFinite {
                index,
                value: u0[index],
            });
        }
        let alpha = self.flux.max_speed(u0);
        let cfl = alpha * self.dt / self.dx;
        if cfl > MAX_CFL {
            return Err(ConservationError::Cfl {
                cfl,
                limit: MAX_CFL,
                alpha,
                dt: self.dt,
                dx: self.dx,
            });
        }
        Ok(())
    }

    /// One SSPRK3 step from `u` (by the tableau; unchecked).
    pub fn step(&self, u: &[f64]) -> Vec<f64> {
        self.tableau
            .step(&mut |_, y, dy| self.rhs(y, dy), 0.0, u, self.dt)
    }

    /// The same step in Shu and Osher's convex form:
    /// `u⁽¹⁾ = u + Δt L(u)`, `u⁽²⁾ = ¾ u + ¼ (u⁽¹⁾ + Δt L(u⁽¹⁾))`,
    /// `u⁺ = ⅓ u + ⅔ (u⁽²⁾ + Δt L(u⁽²⁾))`.
    pub fn step_shu_osher(&self, u: &[f64]) -> Vec<f64> {
        let n = u.len();
        let mut l = vec![0.0; n];
        let euler = |v: &[f64], l: &mut [f64]| -> Vec<f64> {
            self.rhs(v, l);
            v.iter()
                .zip(l.iter())
                .map(|(v, l)| v + self.dt * l)
                .collect()
        };
        let u1 = euler(u, &mut l);
        let e1 = euler(&u1, &mut l);
        let u2: Vec<f64> = u
            .iter()
            .zip(&e1)
            .map(|(a, b)| 0.75 * a + 0.25 * b)
            .collect();
        let e2 = euler(&u2, &mut l);
        u.iter()
            .zip(&e2)
            .map(|(a, b)| a / 3.0 + 2.0 * b / 3.0)
            .collect()
    }

    /// `steps` steps from `u0`, returning the solution after every step in `record`
    /// (`record[k]` steps; `0` is the initial data).
    ///
    /// # Errors
    /// [`ConservationError::NotFinite`] for non-finite initial data,
    /// [`ConservationError::Cfl`] when `α Δt / Δx` of the initial data exceeds [`MAX_CFL`],
    /// [`ConservationError::GridLength`] when `u0` is not on the scheme's grid.
    pub fn run(&self, u0: &[f64], record: &[usize]) -> Result<Vec<Vec<f64>>, ConservationError> {
        self.check(u0)?;
        let last = record.iter().copied().max().unwrap_or(0);
        let mut out = vec![Vec::new(); record.len()];
        let mut u = u0.to_vec();
        for n in 0..=last {
            for (slot, &k) in out.iter_mut().zip(record) {
                if k == n {
                    slot.clone_from(&u);
                }
            }
            if n < last {
                u = self.step(&u);
            }
        }
        Ok(out)
    }

    /// The solution after `steps` steps from `u0`.
    ///
    /// # Errors
    /// As [`Scheme::run`].
    pub fn solve(&self, u0: &[f64], steps: usize) -> Result<Vec<f64>, ConservationError> {
        Ok(self.run(u0, &[steps])?.remove(0))
    }
}

/// The window `v_{i+3}, v_{i+2}, v_{i+1}, v_i, v_{i−1}`: the left-biased reconstruction of it
/// is the right-biased reconstruction at `x_{i+1/2}`.
pub fn mirrored_window(values: &[f64], i: usize) -> [f64; 5] {
    let n = values.len();
    std::array::from_fn(|r| values[(i + 3 * n + 3 - r) % n])
}

/// The total variation `Σ_i |u_{i+1} − u_i|` of a periodic grid function.
pub fn total_variation(u: &[f64]) -> f64 {
    let n = u.len();
    (0..n).map(|i| (u[(i + 1) % n] - u[i]).abs()).sum()
}

/// The exact solution of Burgers' equation with `u₀ = a + b sin(2π x / L)` at `(x, t)` before
/// the break time `L / (2π |b|)`, by Newton's method on `u = u₀(x − u t)`.
pub fn burgers_sine(x: f64, t: f64, mean: f64, amplitude: f64, length: f64) -> f64 {
    let k = 2.0 * std::f64::consts::PI / length;
    let mut u = mean + amplitude * (k * x).sin();
    for _ in 0..100 {
        let phase = k * (x - u * t);
        let g = u - mean - amplitude * phase.sin();
        let dg = 1.0 + amplitude * k * t * phase.cos();
        let next = u - g / dg;
        if (next - u).abs() <= 1e-15 * (1.0 + u.abs()) {
            return next;
        }
        u = next;
    }
    u
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f64::consts::PI;

    fn max_error(a: &[f64], b: &[f64]) -> f64 {
        a.iter()
            .zip(b)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max)
    }

    /// Advect `sin(2πx)` once round `[0, 1)` with `Δt = 0.5 Δx^{5/3}`: the error of the
    /// fifth-order space discretisation dominates.
    fn advection_error(n: usize) -> f64 {
        let dx = 1.0 / n as f64;
        let steps = (1.0 / (0.5 * dx.powf(5.0 / 3.0))).ceil() as usize;
        let scheme = Scheme::new(
            Flux::Advection { speed: 1.0 },
            Reconstruction::Weno(Weno5::jiang_shu()),
            n,
            1.0,
            1.0 / steps as f64,
        )
        .unwrap();
        let u0: Vec<f64> = scheme.grid().iter().map(|x| (2.0 * PI * x).sin()).collect();
        let u = scheme.solve(&u0, steps).unwrap();
        max_error(&u, &u0)
    }

    #[test]
    fn smooth_advection_converges_at_fifth_order_and_returns_after_one_period() {
        let (e1, e2) = (advection_error(40), advection_error(80));
        let order = (e1 / e2).log2();
        assert!(order > 4.5, "observed order {order} ({e1:e}, {e2:e})");
        assert!(e2 < 1e-5, "one period at N = 80: {e2:e}");
    }

    #[test]
    fn the_tableau_step_is_shu_and_osher_convex_form() {
        let scheme = Scheme::new(
            Flux::Burgers,
            Reconstruction::Weno(Weno5::jiang_shu()),
            32,
            1.0,
            0.01,
        )
        .unwrap();
        let u0: Vec<f64> = scheme
            .grid()
            .iter()
            .map(|x| 0.5 + (2.0 * PI * x).sin() + if *x > 0.5 { 0.3 } else { 0.0 })
            .collect();
        let a = scheme.step(&u0);
        let b = scheme.step_shu_osher(&u0);
        assert!(max_error(&a, &b) < 1e-14, "{:e}", max_error(&a, &b));
    }

    #[test]
    fn burgers_before_the_shock_converges() {
        // u₀ = sin(2πx) breaks at t = 1/(2π) ≈ 0.159; compare at t = 0.1.
        let error = |n: usize| {
            let dx = 1.0 / n as f64;
            let steps = (0.1 / (0.3 * dx.powf(5.0 / 3.0))).ceil() as usize;
            let scheme = Scheme::new(
                Flux::Burgers,
                Reconstruction::Weno(Weno5::jiang_shu()),
                n,
                1.0,
                0.1 / steps as f64,
            )
            .unwrap();
            let grid = scheme.grid();
            let u0: Vec<f64> = grid.iter().map(|x| (2.0 * PI * x).sin()).collect();
            let u = scheme.solve(&u0, steps).unwrap();
            let exact: Vec<f64> = grid
                .iter()
                .map(|&x| burgers_sine(x, 0.1, 0.0, 1.0, 1.0))
                .collect();
            max_error(&u, &exact)
        };
        let (e1, e2) = (error(80), error(160));
        let order = (e1 / e2).log2();
        assert!(order > 3.5, "observed order {order} ({e1:e}, {e2:e})");
    }

    #[test]
    fn a_square_wave_stays_bounded_under_weno_and_oscillates_under_the_linear_stencil() {
        let n = 100;
        let run = |reconstruction| {
            let scheme = Scheme::new(
                Flux::Advection { speed: 1.0 },
                reconstruction,
                n,
                1.0,
                0.5 / n as f64,
            )
            .unwrap();
            let u0: Vec<f64> = scheme
                .grid()
                .iter()
                .map(|&x| if (0.25..0.75).contains(&x) { 1.0 } else { 0.0 })
                .collect();
            let u = scheme.solve(&u0, 2 * n).unwrap();
            (total_variation(&u0), total_variation(&u), u)
        };
        let (tv0, tv, u) = run(Reconstruction::Weno(Weno5::jiang_shu()));
        assert!(
            tv <= tv0 * (1.0 + 1e-2),
            "WENO total variation {tv} from {tv0}"
        );
        let (lo, hi) = u
            .iter()
            .fold((f64::MAX, f64::MIN), |(l, h), &v| (l.min(v), h.max(v)));
        assert!(lo > -1e-2 && hi < 1.0 + 1e-2, "WENO range [{lo}, {hi}]");
        let (tv0, tv, _) = run(Reconstruction::Upwind5);
        assert!(
            tv > tv0 * 1.1,
            "the linear stencil should oscillate: {tv} from {tv0}"
        );
    }

    #[test]
    fn burgers_shock_keeps_its_total_variation() {
        let n = 100;
        let scheme = Scheme::new(
            Flux::Burgers,
            Reconstruction::Weno(Weno5::jiang_shu()),
            n,
            1.0,
            0.5 / n as f64,
        )
        .unwrap();
        let u0: Vec<f64> = scheme.grid().iter().map(|x| (2.0 * PI * x).sin()).collect();
        // t = 0.4, well past the break time 1/(2π).
        let u = scheme.solve(&u0, 80).unwrap();
        let (tv0, tv) = (total_variation(&u0), total_variation(&u));
        assert!(tv <= tv0 * (1.0 + 1e-3), "{tv} from {tv0}");
    }

    #[test]
    fn upwind5_is_the_linear_weights_stencil() {
        let expected = [2.0, -13.0, 47.0, 27.0, -3.0].map(|x| x / 60.0);
        for (a, b) in upwind5_stencil().iter().zip(expected) {
            assert!((a - b).abs() < 1e-15);
        }
    }

    #[test]
    fn mirrored_windows_wrap_around() {
        let v = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0];
        assert_eq!(mirrored_window(&v, 0), [3.0, 2.0, 1.0, 0.0, 5.0]);
        assert_eq!(mirrored_window(&v, 5), [2.0, 1.0, 0.0, 5.0, 4.0]);
    }

    #[test]
    fn bad_input_is_refused() {
        let weno = Reconstruction::Weno(Weno5::jiang_shu());
        assert_eq!(
            Scheme::new(Flux::Burgers, weno, 4, 1.0, 0.1),
            Err(ConservationError::TooFewPoints(4))
        );
        assert!(matches!(
            Scheme::new(Flux::Burgers, weno, 10, 1.0, 0.0),
            Err(ConservationError::Parameter { .. })
        ));
        assert!(matches!(
            Scheme::new(Flux::Advection { speed: f64::NAN }, weno, 10, 1.0, 0.1),
            Err(ConservationError::Parameter { .. })
        ));
        let scheme = Scheme::new(Flux::Advection { speed: 2.0 }, weno, 10, 1.0, 0.06).unwrap();
        assert!(matches!(
            scheme.solve(&[0.0; 10], 1),
            Err(ConservationError::Cfl { .. })
        ));
        let scheme = Scheme::new(Flux::Burgers, weno, 10, 1.0, 0.06).unwrap();
        let mut u0 = [0.0; 10];
        u0[3] = f64::NAN;
        assert!(matches!(
            scheme.solve(&u0, 1),
            Err(ConservationError::NotFinite { index: 3, .. })
        ));
        u0[3] = 2.0;
        assert!(matches!(
            scheme.solve(&u0, 1),
            Err(ConservationError::Cfl { .. })
        ));
        assert!(scheme.solve(&[0.5; 10], 3).is_ok());
    }
}
