//! Classical numerical methods in pure `f64`: the yardstick against which attention is measured.
//!
//! This crate knows nothing of candle, files or sweeps. It offers
//!
//! * [`fd`]: finite-difference weights on arbitrary distinct nodes by Fornberg's recurrence, the
//!   central / forward / backward stencil builders indexed by accuracy order, Richardson
//!   extrapolation, and the complex-step derivative as a reference;
//! * [`analysis`]: what a set of weights does — Taylor moments, order of accuracy, leading error
//!   constant, noise amplification, and the model-optimal step and error floor in floating point;
//! * [`kriging`]: the best linear stencil for a random trigonometric family (the population
//!   minimiser a learner linear in the samples converges to), for one step or a log-uniform step,
//!   with noise; its moment defects and their flat limit;
//! * [`savitzky_golay`]: least-squares derivative filters by a QR factorisation;
//! * [`spectral`]: the Chebyshev differentiation matrix;
//! * [`quadrature`]: Gauss–Legendre in O(n), Clenshaw–Curtis, Newton–Cotes with exact rational
//!   weights, and the degree of exactness of any rule;
//! * [`rk`]: Butcher tableaus, a library of named explicit Runge–Kutta methods, the
//!   Gauss–Legendre collocation methods, stepping (explicit, by Picard sweeps, or to the fixed
//!   point);
//! * [`trees`]: rooted trees, γ, σ, α, elementary weights and the order of a tableau;
//! * [`weno`]: the WENO5-JS reconstruction (nonlinear weights from smoothness indicators).
//! * [`conservation`]: scalar conservation laws (advection, Burgers) on a periodic grid by
//!   finite-difference WENO5 with Lax–Friedrichs splitting and SSPRK3.
//!
//! ```
//! use attnum_classical::fd::{Stencil, StencilKind};
//! let s = Stencil::by_accuracy(StencilKind::Central, 1, 4).unwrap();
//! assert_eq!(s.offsets(), &[-2.0, -1.0, 0.0, 1.0, 2.0]);
//! let expected = [1.0 / 12.0, -2.0 / 3.0, 0.0, 2.0 / 3.0, -1.0 / 12.0];
//! for (w, e) in s.weights().iter().zip(expected) {
//!     assert!((w - e).abs() < 1e-15);
//! }
//! ```

pub mod analysis;
pub mod conservation;
pub mod fd;
pub mod kriging;
pub mod quadrature;
pub mod rk;
pub mod savitzky_golay;
pub mod spectral;
pub mod trees;
pub mod weno;

pub use fd::{Stencil, StencilError, StencilKind};
