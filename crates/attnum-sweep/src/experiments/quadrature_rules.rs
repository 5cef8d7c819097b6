//! Experiment `quadrature_rules`: the sign pattern, degree of exactness, stability and accuracy
//! of the classical quadrature families by size.
//!
//! For every family and number of nodes n the table records the number of negative weights
//! (decided exactly, in rational arithmetic, for Newton–Cotes), the smallest weight, the
//! stability factor `Σ|w_i| / Σ w_i` (1 for positive rules), the degree of exactness (measured
//! on Legendre polynomials), the error on the monomial `x^{2n}` (for Gauss–Legendre the first
//! degree it misses, by about `π 4^{-n}`: below the exactness tolerance for large n, which is why
//! the degree is not measured on monomials), and the error on `∫_{-1}^{1} e^x dx` and on Runge's
//! function `∫_{-1}^{1} dx/(1 + 25x²)`.

use attnum_classical::quadrature::{self, NewtonCotes, Rule};
use serde::{Deserialize, Serialize};
use attnum_results::Table;

use super::{ExperimentError, FieldError, NamedTable};
use crate::checks;

/// A row of `table`: one rule of one family and size.
#[derive(Serialize)]
struct RuleRow {
    family: &'static str,
    n: usize,
    negative_weights: usize,
    /// 1 when some weight is negative, 0 otherwise.
    has_negative: usize,
    min_weight: f64,
    /// `Σ|w_i| / Σ w_i`.
    stability: f64,
    degree: Option<usize>,
    error_x2n: f64,
    /// 1 when `error_x2n` is within the exactness tolerance, 0 otherwise.
    x2n_within_tolerance: usize,
    exp_error: f64,
    runge_error: f64,
}

/// A quadrature family as named in sweep files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    /// Gauss–Legendre.
    GaussLegendre,
    /// Clenshaw–Curtis.
    ClenshawCurtis,
    /// Closed Newton–Cotes.
    NewtonCotesClosed,
    /// Open Newton–Cotes.
    NewtonCotesOpen,
}

impl Family {
    /// Name in tables.
    pub fn name(self) -> &'static str {
        match self {
            Self::GaussLegendre => "gauss_legendre",
            Self::ClenshawCurtis => "clenshaw_curtis",
            Self::NewtonCotesClosed => "newton_cotes_closed",
            Self::NewtonCotesOpen => "newton_cotes_open",
        }
    }

    pub(crate) fn min_points(self) -> usize {
        match self {
            Self::ClenshawCurtis | Self::NewtonCotesClosed => 2,
            Self::GaussLegendre | Self::NewtonCotesOpen => 1,
        }
    }

    pub(crate) fn rule(self, n: usize) -> Result<Rule, quadrature::QuadratureError> {
        match self {
            Self::GaussLegendre => quadrature::gauss_legendre(n),
            Self::ClenshawCurtis => quadrature::clenshaw_curtis(n),
            Self::NewtonCotesClosed => quadrature::newton_cotes(NewtonCotes::Closed, n),
            Self::NewtonCotesOpen => quadrature::newton_cotes(NewtonCotes::Open, n),
        }
    }

    /// Number of negative weights: exact for Newton–Cotes, from the `f64` weights otherwise.
    pub(crate) fn negative_weights(self, n: usize, rule: &Rule) -> usize {
        let exact = match self {
            Self::NewtonCotesClosed => quadrature::newton_cotes_exact(NewtonCotes::Closed, n).ok(),
            Self::NewtonCotesOpen => quadrature::newton_cotes_exact(NewtonCotes::Open, n).ok(),
            _ => None,
        };
        match exact {
            Some(w) => quadrature::negative_weights(&w).len(),
            None => rule.weights().iter().filter(|&&w| w < 0.0).count(),
        }
    }
}

/// A quadrature family with its rules from its smallest size up to the largest requested.
#[derive(Debug, Clone)]
pub(crate) struct FamilyRules {
    /// The family.
    pub family: Family,
    /// `(n, rule)` for each size `n`, increasing.
    pub rules: Vec<(usize, Rule)>,
}

/// Check a non-empty list of families and a largest size between 2 and
/// [`quadrature::NEWTON_COTES_MAX`], and build every family's rules up to that size.
pub(crate) fn check_families(
    families: &[Family],
    max_points: usize,
) -> Result<Vec<FamilyRules>, FieldError> {
    checks::non_empty("families", families, "family")?;
    checks::count_in("max_points", max_points, 2, quadrature::NEWTON_COTES_MAX)?;
    checks::each("families", families, |&family| {
        let rules = (family.min_points()..=max_points)
            .map(|n| {
                family.rule(n).map(|rule| (n, rule)).map_err(|e| {
                    FieldError::new("", format!("no {}-point rule: {e}", n))
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(FamilyRules { family, rules })
    })
}

/// The largest error that counts as exact when the degree of exactness is measured.
const EXACTNESS_TOLERANCE: f64 = 1e-10;

/// Parameters of the `quadrature_rules` experiment.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct QuadratureRules {
    /// The families.
    pub families: Vec<Family>,
    /// Largest number of nodes (each family starts at its smallest valid size).
    pub max_points: usize,
}

/// A checked `quadrature_rules` experiment: every family's rules built.
#[derive(Debug, Clone)]
pub struct CheckedQuadratureRules {
    families: Vec<FamilyRules>,
}

impl QuadratureRules {
    /// Check every parameter and build the rules; errors carry the field path below
    /// `experiment.quadrature_rules`.
    ///
    /// # Errors
    /// The first refused parameter.
    pub fn check(&self) -> Result<CheckedQuadratureRules, FieldError> {
        Ok(CheckedQuadratureRules {
            families: check_families(&self.families, self.max_points)?,
        })
    }
}

impl CheckedQuadratureRules {
    /// Run the experiment: one row per family and size.
    pub fn run(&self) -> Result<Vec<NamedTable>, ExperimentError> {
        let mut rows = Vec::new();
        let exp_exact = 1f64.exp() - (-1f64).exp();
        let runge_exact = 0.4 * 5f64.atan();
        for FamilyRules { family, rules } in &self.families {
            let family = *family;
            for &(n, ref rule) in rules {
                let sum_abs: f64 = rule.weights().iter().map(|w| w.abs()).sum();
                let sum: f64 = rule.weights().iter().sum();
                let degree = rule.degree_of_exactness(2 * n + 1, EXACTNESS_TOLERANCE);
                let power = 2 * n as i32;
                let error_x2n =
                    (rule.integrate(|x| x.powi(power)) - 2.0 / f64::from(power + 1)).abs();
                let negatives = family.negative_weights(n, rule);
                rows.push(RuleRow {
                    family: family.name(),
                    n,
                    negative_weights: negatives,
                    has_negative: usize::from(negatives > 0),
                    min_weight: rule.weights().iter().copied().fold(f64::INFINITY, f64::min),
                    stability: sum_abs / sum,
                    degree,
                    error_x2n,
                    x2n_within_tolerance: usize::from(error_x2n <= EXACTNESS_TOLERANCE),
                    exp_error: (rule.integrate(f64::exp) - exp_exact).abs(),
                    runge_error: (rule.integrate(|x| 1.0 / (1.0 + 25.0 * x * x)) - runge_exact)
                        .abs(),
                });
            }
        }
        Ok(vec![NamedTable {
            stem: "table",
            table: Table::from_rows(&rows),
        }])
    }
}
