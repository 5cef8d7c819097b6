//! A transformer that is a PDE solver: the method of lines for `u_t + f(u)_x = 0` on a periodic
//! grid, every operation an attention module or a fixed layer, no classical code in the loop.
//!
//! One right-hand side evaluation, on the grid values `u` as a `(1, N)` tensor of tokens:
//!
//! 1. the pointwise flux `f(u)` (an elementwise layer: `a u`, or `u²/2`) and the splitting
//!    constant `α = max_i |f'(u_i)|` (a max-pool over the tokens);
//! 2. `f± = ½ (f(u) ± α u)`;
//! 3. the interface fluxes `F_{i+1/2} = R(f⁺ window) + R(f⁻ mirrored window)`, each `R` a
//!    [`WenoAttention`] head (or, for the linear fifth-order upwind stencil, a fixed linear
//!    layer) on windows gathered by index, so the map is translation-equivariant;
//! 4. `−(F_{i+1/2} − F_{i−1/2}) / Δx` as a fixed two-tap convolution with kernel `(1, −1)/Δx`
//!    over the interface tokens `(F_{i−1/2}, F_{i+1/2})`.
//!
//! The time step is [`RkAttention`] compiled from the `ssprk3` tableau: the stages are tokens and
//! each stage attends causally to the earlier stage derivatives. The scheme's parameters are
//! read from `attnum_classical::conservation::Scheme` once, when the solver is compiled; the
//! classical scheme is never called while it runs.

use attnum_classical::conservation::{Flux, Reconstruction, Scheme, upwind5_stencil};
use candle_core::{D, Tensor};

use crate::rk::RkAttention;
use crate::weno::WenoAttention;
use crate::{AttentionError, DEVICE, Result};

/// How the interface flux is reconstructed.
#[derive(Debug, Clone)]
enum Head {
    Weno(WenoAttention),
    /// `(5, 1)`: the fifth-order upwind stencil as a linear layer.
    Linear(Tensor),
}

/// The method of lines as attention: WENO (or linear) reconstruction heads, a fixed flux
/// difference, and a Runge–Kutta step as causal attention over the stages.
#[derive(Debug, Clone)]
pub struct AttentionSolver {
    flux: Flux,
    head: Head,
    /// `(N·5,)`: indices of the left-biased windows `u_{i−2} … u_{i+2}`.
    left: Tensor,
    /// `(N·5,)`: indices of the mirrored windows `u_{i+3} … u_{i−1}`.
    mirrored: Tensor,
    /// `(N·2,)`: indices of the pairs `(F_{i−1/2}, F_{i+1/2})`.
    pairs: Tensor,
    /// `(2, 1)`: the kernel `(1, −1)/Δx` of the flux difference.
    difference: Tensor,
    step: RkAttention,
    points: usize,
    dt: f64,
}

/// Operation counts of one time step, by kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepCost {
    /// Attention heads evaluated (reconstruction heads over all windows, and stage rows).
    pub heads: usize,
    /// Multiply–adds of the linear layers (projections, forms, mixing, flux difference).
    pub multiply_adds: usize,
    /// Elementwise nonlinear operations (squares, logarithms, exponentials of the softmax).
    pub nonlinear: usize,
}

impl AttentionSolver {
    /// Compile the attention solver for a classical scheme.
    ///
    /// # Errors
    /// A tensor error, or a tableau the causal attention refuses.
    pub fn compile(scheme: &Scheme) -> Result<Self> {
        let n = scheme.points();
        let head = match scheme.reconstruction() {
            Reconstruction::Weno(weno) => Head::Weno(WenoAttention::compile(&weno)?),
            Reconstruction::Upwind5 => {
                Head::Linear(Tensor::from_slice(&upwind5_stencil(), (5, 1), &DEVICE)?)
            }
        };
        let indices = |offset: &dyn Fn(usize, usize) -> usize| -> Result<Tensor> {
            let index: Vec<u32> = (0..n)
                .flat_map(|i| (0..5).map(move |r| (i, r)))
                .map(|(i, r)| offset(i, r) as u32)
                .collect();
            Ok(Tensor::from_vec(index, n * 5, &DEVICE)?)
        };
        let left = indices(&|i, r| (i + n + r - 2) % n)?;
        let mirrored = indices(&|i, r| (i + 3 * n + 3 - r) % n)?;
        let dx = scheme.dx();
        let pairs: Vec<u32> = (0..n)
            .flat_map(|i| [((i + n - 1) % n) as u32, i as u32])
            .collect();
        Ok(Self {
            flux: scheme.flux(),
            head,
            left,
            mirrored,
            pairs: Tensor::from_vec(pairs, n * 2, &DEVICE)?,
            difference: Tensor::from_slice(&[1.0 / dx, -1.0 / dx], (2, 1), &DEVICE)?,
            step: RkAttention::compile(scheme.tableau())?,
            points: n,
            dt: scheme.dt(),
        })
    }

    /// The reconstruction of `values` `(1, N)` on the windows of `index`: `(1, N)`.
    fn reconstruct(&self, values: &Tensor, index: &Tensor) -> candle_core::Result<Tensor> {
        let windows = values.index_select(index, 1)?.reshape((self.points, 5))?;
        let out = match &self.head {
            Head::Weno(weno) => crate::AttentionMethod::forward(weno, &windows)?,
            Head::Linear(stencil) => windows.matmul(stencil)?.squeeze(1)?,
        };
        out.reshape((1, self.points))
    }

    /// The semi-discrete right-hand side of grid values `u` of shape `(N,)`.
    ///
    /// # Errors
    /// A tensor error (for instance `u` not of length `N`).
    pub fn rhs(&self, u: &Tensor) -> candle_core::Result<Tensor> {
        let u = u.reshape((1, self.points))?;
        let (flux, alpha) = match self.flux {
            Flux::Advection { speed } => {
                ((&u * speed)?, Tensor::full(speed.abs(), (1, 1), &DEVICE)?)
            }
            Flux::Burgers => ((u.sqr()? * 0.5)?, u.abs()?.max_keepdim(D::Minus1)?),
        };
        let scaled = u.broadcast_mul(&alpha)?;
        let plus = ((&flux + &scaled)? * 0.5)?;
        let minus = ((&flux - &scaled)? * 0.5)?;
        let interface =
            (self.reconstruct(&plus, &self.left)? + self.reconstruct(&minus, &self.mirrored)?)?;
        interface
            .index_select(&self.pairs, 1)?
            .reshape((self.points, 2))?
            .matmul(&self.difference)?
            .reshape(self.points)
    }

    /// The solution after each of the step counts in `record` (`0` is `u0`), from `u0`.
    ///
    /// # Errors
    /// [`AttentionError::Invalid`] when `u0` is not on the grid; a tensor error.
    pub fn run(&self, u0: &[f64], record: &[usize]) -> Result<Vec<Vec<f64>>> {
        if u0.len() != self.points {
            return Err(AttentionError::Invalid(format!(
                "the initial data have {} values on a grid of {} points",
                u0.len(),
                self.points
            )));
        }
        // Detached, as in `RkAttention::integrate`: the WENO heads' parameters would otherwise
        // chain every step into one autograd graph, whose recursive drop overflows the stack.
        let mut f = |_t: f64, y: &Tensor| Ok(self.rhs(y)?.detach());
        let mut order: Vec<usize> = (0..record.len()).collect();
        order.sort_by_key(|&k| record[k]);
        let mut out = vec![Vec::new(); record.len()];
        let mut u = Tensor::from_slice(u0, self.points, &DEVICE)?;
        let mut done = 0;
        for k in order {
            let steps = record[k] - done;
            if steps > 0 {
                let t0 = done as f64 * self.dt;
                u = self
                    .step
                    .integrate(&mut f, t0, &u, t0 + steps as f64 * self.dt, steps)?;
                done = record[k];
            }
            out[k] = u.to_vec1::<f64>()?;
        }
        Ok(out)
    }

    /// The solution after `steps` steps from `u0`.
    ///
    /// # Errors
    /// As [`AttentionSolver::run`].
    pub fn solve(&self, u0: &[f64], steps: usize) -> Result<Vec<f64>> {
        Ok(self.run(u0, &[steps])?.remove(0))
    }

    /// The operation counts of one time step on `N` points, from the shapes of the layers.
    pub fn step_cost(&self) -> StepCost {
        let n = self.points;
        let stages = self.step.stages();
        // Per window of a WENO head: candidates 5×3, forms 5×6, mixing 6×3, the scores 3×2 and
        // the weighted sum 3; nonlinear: 6 squares, 3 logarithms, 3 exponentials.
        let (heads, window_mads, window_nonlinear) = match self.head {
            Head::Weno(_) => (1, 15 + 30 + 18 + 6 + 3, 12),
            Head::Linear(_) => (0, 5, 0),
        };
        let rhs = StepCost {
            heads: 2 * heads * n,
            // Two reconstructions, the splitting (3 per point) and the two-tap difference.
            multiply_adds: 2 * n * window_mads + 3 * n + 2 * n,
            nonlinear: 2 * n * window_nonlinear + n,
        };
        let rows: usize = self.step.head_counts().iter().sum();
        StepCost {
            heads: stages * rhs.heads + rows,
            multiply_adds: stages * rhs.multiply_adds + (stages + 1) * stages * n,
            nonlinear: stages * rhs.nonlinear,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use attnum_classical::weno::Weno5;
    use std::f64::consts::PI;

    fn relative_difference(a: &[Vec<f64>], b: &[Vec<f64>]) -> f64 {
        let scale = b
            .iter()
            .flatten()
            .map(|v| v.abs())
            .fold(0.0, f64::max)
            .max(f64::MIN_POSITIVE);
        a.iter()
            .flatten()
            .zip(b.iter().flatten())
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f64::max)
            / scale
    }

    fn agree(flux: Flux, reconstruction: Reconstruction, u0: impl Fn(f64) -> f64, steps: usize) {
        let n = 64;
        let scheme = Scheme::new(flux, reconstruction, n, 1.0, 0.4 / n as f64).unwrap();
        let u0: Vec<f64> = scheme.grid().into_iter().map(u0).collect();
        let record: Vec<usize> = (0..=4).map(|k| k * steps / 4).collect();
        let classical = scheme.run(&u0, &record).unwrap();
        let attention = AttentionSolver::compile(&scheme)
            .unwrap()
            .run(&u0, &record)
            .unwrap();
        let d = relative_difference(&attention, &classical);
        assert!(
            d < 1e-13,
            "{flux:?} {reconstruction:?}: relative difference {d:e}"
        );
    }

    #[test]
    fn the_attention_solver_is_the_classical_scheme() {
        let weno = Reconstruction::Weno(Weno5::jiang_shu());
        let smooth = |x: f64| 0.5 + (2.0 * PI * x).sin();
        let square = |x: f64| if (0.25..0.75).contains(&x) { 1.0 } else { 0.0 };
        let sine = |x: f64| (2.0 * PI * x).sin();
        let advection = Flux::Advection { speed: 1.0 };
        agree(advection, weno, smooth, 160);
        agree(advection, weno, square, 160);
        agree(Flux::Advection { speed: -0.7 }, weno, square, 160);
        agree(Flux::Burgers, weno, sine, 160);
        agree(Flux::Burgers, weno, square, 160);
        agree(advection, Reconstruction::Upwind5, square, 160);
    }

    #[test]
    fn the_right_hand_side_is_the_classical_one() {
        let n = 40;
        let scheme = Scheme::new(
            Flux::Burgers,
            Reconstruction::Weno(Weno5::jiang_shu()),
            n,
            2.0,
            0.01,
        )
        .unwrap();
        let u: Vec<f64> = scheme
            .grid()
            .iter()
            .map(|x| (PI * x).cos() + if *x > 1.0 { 0.5 } else { -0.2 })
            .collect();
        let mut expected = vec![0.0; n];
        scheme.rhs(&u, &mut expected);
        let solver = AttentionSolver::compile(&scheme).unwrap();
        let got = solver
            .rhs(&Tensor::from_slice(&u, n, &DEVICE).unwrap())
            .unwrap()
            .to_vec1::<f64>()
            .unwrap();
        let d = relative_difference(&[got], &[expected]);
        assert!(d < 1e-14, "{d:e}");
    }

    #[test]
    fn ssprk3_is_single_head_causal_attention() {
        let scheme = Scheme::new(
            Flux::Burgers,
            Reconstruction::Weno(Weno5::jiang_shu()),
            8,
            1.0,
            0.01,
        )
        .unwrap();
        let solver = AttentionSolver::compile(&scheme).unwrap();
        assert!(solver.step.is_single_head());
        assert_eq!(solver.step_cost().heads, 3 * 2 * 8 + 3);
        assert!(solver.solve(&[0.0; 7], 1).is_err());
    }
}
