//! The checks that many experiments make on their parameters, written once so that the same
//! refusal reads the same everywhere: a finite number, a positive one, one in an interval, a
//! count in a range, a list that is not empty or not too long. Each takes the field's path and
//! returns the accepted value or a [`FieldError`] naming that path; checks particular to one
//! experiment stay in its module.

use std::fmt;

use crate::experiments::FieldError;

/// A finite number.
///
/// # Errors
/// NaN or an infinity.
pub fn finite(path: &str, v: f64) -> Result<f64, FieldError> {
    if v.is_finite() {
        Ok(v)
    } else {
        Err(FieldError::new(path, format!("must be finite, got {v}")))
    }
}

/// A finite number `> 0`.
///
/// # Errors
/// Zero, a negative number, NaN or an infinity.
pub fn positive(path: &str, v: f64) -> Result<f64, FieldError> {
    if v.is_finite() && v > 0.0 {
        Ok(v)
    } else {
        Err(FieldError::new(
            path,
            format!("must be a finite number > 0, got {v}"),
        ))
    }
}

/// An interval of the real line, each end open or closed; it prints as `(0, 1]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval {
    low: f64,
    high: f64,
    low_open: bool,
    high_open: bool,
}

impl Interval {
    /// `[low, high]`.
    pub const fn closed(low: f64, high: f64) -> Self {
        Self::new(low, high, false, false)
    }

    /// `(low, high]`.
    pub const fn open_closed(low: f64, high: f64) -> Self {
        Self::new(low, high, true, false)
    }

    /// `[low, high)`.
    pub const fn closed_open(low: f64, high: f64) -> Self {
        Self::new(low, high, false, true)
    }

    /// `(low, high)`.
    pub const fn open(low: f64, high: f64) -> Self {
        Self::new(low, high, true, true)
    }

    const fn new(low: f64, high: f64, low_open: bool, high_open: bool) -> Self {
        Self {
            low,
            high,
            low_open,
            high_open,
        }
    }

    /// Whether `v` lies in the interval (never for NaN).
    pub fn contains(&self, v: f64) -> bool {
        let above = if self.low_open {
            v > self.low
        } else {
            v >= self.low
        };
        let below = if self.high_open {
            v < self.high
        } else {
            v <= self.high
        };
        above && below
    }
}

/// A number as the messages write it: `−` for minus, as in the paper.
fn signed(v: f64) -> String {
    let s = v.to_string();
    s.strip_prefix('-')
        .map_or(s.clone(), |rest| format!("−{rest}"))
}

impl fmt::Display for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}{}, {}{}",
            if self.low_open { '(' } else { '[' },
            signed(self.low),
            signed(self.high),
            if self.high_open { ')' } else { ']' },
        )
    }
}

/// A number in `interval` (which excludes NaN and, being bounded, the infinities).
///
/// # Errors
/// A number outside the interval, named with the interval and the value.
pub fn in_interval(path: &str, v: f64, interval: Interval) -> Result<f64, FieldError> {
    if interval.contains(v) {
        Ok(v)
    } else {
        Err(FieldError::new(
            path,
            format!("must be in {interval}, got {}", signed(v)),
        ))
    }
}

/// A count between `low` and `high`, both included.
///
/// # Errors
/// A count outside the range.
pub fn count_in(path: &str, n: usize, low: usize, high: usize) -> Result<usize, FieldError> {
    if (low..=high).contains(&n) {
        Ok(n)
    } else {
        Err(FieldError::new(
            path,
            format!("must be between {low} and {high}, got {n}"),
        ))
    }
}

/// A list with at least one entry; `what` names one entry in the message ("stencil").
///
/// # Errors
/// An empty list.
pub fn non_empty<'a, T>(path: &str, list: &'a [T], what: &str) -> Result<&'a [T], FieldError> {
    if list.is_empty() {
        Err(FieldError::new(path, format!("needs at least one {what}")))
    } else {
        Ok(list)
    }
}

/// A list with at most `max` entries; `what` names the entries in the message ("stencils").
///
/// # Errors
/// A longer list.
pub fn at_most<'a, T>(
    path: &str,
    list: &'a [T],
    max: usize,
    what: &str,
) -> Result<&'a [T], FieldError> {
    if list.len() > max {
        Err(FieldError::new(
            path,
            format!("at most {max} {what}, got {}", list.len()),
        ))
    } else {
        Ok(list)
    }
}

/// Check every entry of a list with `check`, the error's path prefixed by `path[i]`; the checked
/// entries in order.
///
/// # Errors
/// The first entry `check` refuses.
pub fn each<T, U>(
    path: &str,
    list: &[T],
    mut check: impl FnMut(&T) -> Result<U, FieldError>,
) -> Result<Vec<U>, FieldError> {
    list.iter()
        .enumerate()
        .map(|(i, entry)| check(entry).map_err(|e| e.at(i).within(path)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_prefixed_from_the_inside_out() {
        let e = FieldError::new("offsets", "bad").at(2).within("stencils");
        assert_eq!(e.path, "stencils[2].offsets");
        let e = FieldError::new("", "bad").at(0).within("methods");
        assert_eq!(e.path, "methods[0]");
        assert_eq!(e.to_string(), "field `methods[0]`: bad");
        let e = each("xs", &[1.0, f64::NAN], |&v| finite("", v)).unwrap_err();
        assert_eq!(e.path, "xs[1]");
    }

    #[test]
    fn intervals_print_as_written_in_the_paper() {
        assert_eq!(Interval::open_closed(0.0, 1.0).to_string(), "(0, 1]");
        assert_eq!(Interval::closed(-100.0, 100.0).to_string(), "[−100, 100]");
        let e = in_interval("point", 200.0, Interval::closed(-100.0, 100.0)).unwrap_err();
        assert_eq!(e.message, "must be in [−100, 100], got 200");
        assert!(in_interval("x", f64::NAN, Interval::closed(0.0, 1.0)).is_err());
        assert!(!Interval::closed_open(0.0, 1.0).contains(1.0));
        assert!(!Interval::open(0.0, 1.0).contains(0.0));
    }
}
