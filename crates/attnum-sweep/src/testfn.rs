//! Test functions with exact derivatives of every order, for convergence experiments.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A smooth function whose derivatives of every order are known in closed form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TestFunction {
    /// `sin x`.
    Sin,
    /// `exp x`.
    Exp,
    /// `x² + 2x − 3`, the polynomial of the seed conversation's system S1.
    Quadratic,
}

impl TestFunction {
    /// The name used in sweep files and tables.
    pub fn name(self) -> &'static str {
        match self {
            Self::Sin => "sin",
            Self::Exp => "exp",
            Self::Quadratic => "quadratic",
        }
    }

    /// The value of the function.
    pub fn value(self, x: f64) -> f64 {
        self.derivative(0, x)
    }

    /// The `n`-th derivative at `x`.
    pub fn derivative(self, n: usize, x: f64) -> f64 {
        match self {
            Self::Sin => match n % 4 {
                0 => x.sin(),
                1 => x.cos(),
                2 => -x.sin(),
                _ => -x.cos(),
            },
            Self::Exp => x.exp(),
            Self::Quadratic => match n {
                0 => x * x + 2.0 * x - 3.0,
                1 => 2.0 * x + 2.0,
                2 => 2.0,
                _ => 0.0,
            },
        }
    }
}

impl fmt::Display for TestFunction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derivatives_agree_with_central_differences_of_the_previous_order() {
        let h = 1e-5;
        for f in [
            TestFunction::Sin,
            TestFunction::Exp,
            TestFunction::Quadratic,
        ] {
            for n in 0..6 {
                for x in [-1.3, 0.0, 0.7, 2.0] {
                    let fd = (f.derivative(n, x + h) - f.derivative(n, x - h)) / (2.0 * h);
                    let exact = f.derivative(n + 1, x);
                    assert!(
                        (fd - exact).abs() < 1e-8 * exact.abs().max(1.0),
                        "{f} n={n} x={x}"
                    );
                }
            }
        }
    }
}
