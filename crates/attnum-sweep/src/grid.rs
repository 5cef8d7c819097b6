//! Parameter grids shared by experiments.

use serde::{Deserialize, Serialize};

use crate::experiments::FieldError;

/// A logarithmic grid from `from` down (or up) to `to` with `per_decade` points per decade,
/// both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LogGrid {
    /// First value (> 0).
    pub from: f64,
    /// Last value (> 0, different from `from`).
    pub to: f64,
    /// Points per decade (1 to 1000).
    pub per_decade: usize,
}

impl LogGrid {
    /// Check the grid; `field` is the path of the grid in the sweep file.
    pub fn validate(&self, field: &str) -> Result<(), FieldError> {
        let err = |sub: &str, msg: String| Err(FieldError::new(format!("{field}.{sub}"), msg));
        for (sub, v) in [("from", self.from), ("to", self.to)] {
            if !(v.is_finite() && v > 0.0) {
                return err(sub, format!("must be a finite number > 0, got {v}"));
            }
        }
        if self.from == self.to {
            return err("to", format!("must differ from `from` ({})", self.from));
        }
        if !(1..=1000).contains(&self.per_decade) {
            return err(
                "per_decade",
                format!("must be between 1 and 1000, got {}", self.per_decade),
            );
        }
        let decades = (self.from / self.to).log10().abs();
        if decades * self.per_decade as f64 > 100_000.0 {
            return err(
                "per_decade",
                "the grid would have more than 100000 points".into(),
            );
        }
        Ok(())
    }

    /// The grid values, starting at `from`.
    pub fn values(&self) -> Vec<f64> {
        let decades = (self.to / self.from).log10();
        let steps = (decades.abs() * self.per_decade as f64 + 1e-9).floor() as usize;
        let sign = decades.signum();
        (0..=steps)
            .map(|k| self.from * 10f64.powf(sign * k as f64 / self.per_decade as f64))
            .collect()
    }
}

/// An equispaced grid of `points` values from `from` to `to`, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LinearGrid {
    /// First value.
    pub from: f64,
    /// Last value (different from `from`).
    pub to: f64,
    /// Number of values (2 to 100000).
    pub points: usize,
}

impl LinearGrid {
    /// Check the grid; `field` is the path of the grid in the sweep file.
    pub fn validate(&self, field: &str) -> Result<(), FieldError> {
        let err = |sub: &str, msg: String| Err(FieldError::new(format!("{field}.{sub}"), msg));
        for (sub, v) in [("from", self.from), ("to", self.to)] {
            if !v.is_finite() {
                return err(sub, format!("must be finite, got {v}"));
            }
        }
        if self.from == self.to {
            return err("to", format!("must differ from `from` ({})", self.from));
        }
        if !(2..=100_000).contains(&self.points) {
            return err(
                "points",
                format!("must be between 2 and 100000, got {}", self.points),
            );
        }
        Ok(())
    }

    /// The grid values, starting at `from`.
    pub fn values(&self) -> Vec<f64> {
        let step = (self.to - self.from) / (self.points - 1) as f64;
        (0..self.points)
            .map(|k| self.from + k as f64 * step)
            .collect()
    }

    /// The smallest value.
    pub fn min(&self) -> f64 {
        self.from.min(self.to)
    }

    /// The largest value.
    pub fn max(&self) -> f64 {
        self.from.max(self.to)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decades_with_both_ends() {
        let g = LogGrid {
            from: 1.0,
            to: 1e-10,
            per_decade: 4,
        };
        let v = g.values();
        assert_eq!(v.len(), 41);
        assert_eq!(v[0], 1.0);
        assert!((v[40] / 1e-10 - 1.0).abs() < 1e-14);
        assert!((v[4] / 0.1 - 1.0).abs() < 1e-15);
        assert!(v.windows(2).all(|w| w[1] < w[0]));
    }

    #[test]
    fn bad_grids_name_their_field() {
        let g = |from, to, per_decade| LogGrid {
            from,
            to,
            per_decade,
        };
        assert_eq!(
            g(-1.0, 1e-3, 4).validate("steps").unwrap_err().path,
            "steps.from"
        );
        assert_eq!(
            g(1.0, 0.0, 4).validate("steps").unwrap_err().path,
            "steps.to"
        );
        assert_eq!(
            g(1.0, 1.0, 4).validate("steps").unwrap_err().path,
            "steps.to"
        );
        assert_eq!(
            g(1.0, 1e-3, 0).validate("steps").unwrap_err().path,
            "steps.per_decade"
        );
    }
}
