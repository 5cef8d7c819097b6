//! What a set of weights is: the classical description of the linear method an attention module
//! applies, and the nearest named classical method.
//!
//! * Derivative weights on offsets (units of `h`): the derivative they approximate (the first
//!   Taylor moment that is not zero), their order of accuracy and leading error constant, and the
//!   nearest of the finite-difference and Savitzky–Golay stencils on the same nodes.
//! * Quadrature weights on nodes in `[-1, 1]`: the degree of exactness, the number of softmax
//!   heads they need, and the nearest Gauss–Legendre, Clenshaw–Curtis or Newton–Cotes rule.
//! * Butcher tableaus: the order from the rooted-tree conditions, the largest tree residual of
//!   each order, and the nearest named method with as many stages.
//!
//! Distances are relative max-norm distances `max |w − w_c| / max |w_c|` (for rules, also the
//! largest node distance; for tableaus, the largest entry distance of `A` and `b`).

use attnum_classical::analysis;
use attnum_classical::fd::Stencil;
use attnum_classical::quadrature::{self, NewtonCotes, Rule};
use attnum_classical::rk::{self, Tableau};
use attnum_classical::savitzky_golay::savitzky_golay;
use attnum_classical::trees;

use crate::heads::heads_needed;
use crate::{AttentionError, Result};

/// Relative tolerance below which a moment or a condition counts as satisfied.
pub const TOLERANCE: f64 = 1e-9;

/// The nearest classical method and how far it is.
#[derive(Debug, Clone, PartialEq)]
pub struct Nearest {
    /// Its name.
    pub name: String,
    /// The relative max-norm distance.
    pub distance: f64,
}

/// The classification of derivative weights.
#[derive(Debug, Clone, PartialEq)]
pub struct StencilClass {
    /// The derivative approximated: the first nonzero Taylor moment, if it equals 1.
    pub deriv: Option<usize>,
    /// Order of accuracy and leading error constant.
    pub accuracy: Option<analysis::Accuracy>,
    /// The nearest finite-difference or Savitzky–Golay stencil on the same nodes.
    pub nearest: Option<Nearest>,
}

/// The relative max-norm distance `max_i |w_i − r_i| / max_i |r_i|` between two weight vectors of
/// equal length.
pub fn relative_distance(w: &[f64], reference: &[f64]) -> f64 {
    let scale = reference.iter().fold(0.0f64, |m, x| m.max(x.abs()));
    let diff = w
        .iter()
        .zip(reference)
        .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
    diff / scale.max(f64::MIN_POSITIVE)
}

/// The candidate with the smallest distance.
fn nearest(candidates: impl IntoIterator<Item = (String, f64)>) -> Option<Nearest> {
    candidates
        .into_iter()
        .filter(|(_, d)| d.is_finite())
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(name, distance)| Nearest { name, distance })
}

/// Classify derivative weights on offsets (in units of `h`).
///
/// # Errors
/// Invalid nodes, or weights of another length.
pub fn classify_stencil(offsets: &[f64], weights: &[f64]) -> Result<StencilClass> {
    let probe = Stencil::from_weights(0, offsets, weights)?;
    let n = offsets.len();
    // Moments up to n + 1 with the scale of their terms.
    let size: f64 = weights.iter().map(|w| w.abs()).sum();
    let moments = analysis::moments(&probe, n + 2);
    let deriv = moments
        .iter()
        .position(|m| m.abs() > TOLERANCE * size.max(f64::MIN_POSITIVE))
        .filter(|&d| (moments[d] - 1.0).abs() <= TOLERANCE * size.max(1.0));
    let Some(d) = deriv else {
        return Ok(StencilClass {
            deriv: None,
            accuracy: None,
            nearest: None,
        });
    };
    let stencil = Stencil::from_weights(d, offsets, weights)?;
    let mut candidates = Vec::new();
    if let Ok(fd) = Stencil::on_offsets(d, offsets) {
        candidates.push((
            "finite difference".to_owned(),
            relative_distance(weights, fd.weights()),
        ));
    }
    for degree in d..n.saturating_sub(1) {
        if let Ok(sg) = savitzky_golay(d, degree, offsets) {
            candidates.push((
                format!("Savitzky–Golay degree {degree}"),
                relative_distance(weights, sg.weights()),
            ));
        }
    }
    Ok(StencilClass {
        deriv: Some(d),
        accuracy: analysis::accuracy(&stencil),
        nearest: nearest(candidates),
    })
}

/// The classification of quadrature weights.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleClass {
    /// The degree of exactness on `[-1, 1]` (`None`: not even constants).
    pub degree: Option<usize>,
    /// Scaled softmax heads needed: 1 for weights of one sign, 2 otherwise.
    pub heads: usize,
    /// The nearest classical rule with as many nodes.
    pub nearest: Option<Nearest>,
}

/// Classify quadrature weights on nodes in `[-1, 1]`.
///
/// # Errors
/// [`AttentionError::Invalid`] when nodes and weights differ in length or are empty.
pub fn classify_rule(nodes: &[f64], weights: &[f64]) -> Result<RuleClass> {
    if nodes.is_empty() || nodes.len() != weights.len() {
        return Err(AttentionError::Invalid(format!(
            "{} nodes and {} weights",
            nodes.len(),
            weights.len()
        )));
    }
    let n = nodes.len();
    let rule = Rule::new(nodes.to_vec(), weights.to_vec());
    let families: [(&str, std::result::Result<Rule, quadrature::QuadratureError>); 4] = [
        ("Gauss–Legendre", quadrature::gauss_legendre(n)),
        ("Clenshaw–Curtis", quadrature::clenshaw_curtis(n)),
        (
            "closed Newton–Cotes",
            quadrature::newton_cotes(NewtonCotes::Closed, n),
        ),
        (
            "open Newton–Cotes",
            quadrature::newton_cotes(NewtonCotes::Open, n),
        ),
    ];
    let candidates = families.into_iter().filter_map(|(name, r)| {
        let r = r.ok()?;
        let node_distance = nodes
            .iter()
            .zip(r.nodes())
            .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
        Some((
            format!("{name} {n}"),
            node_distance.max(relative_distance(weights, r.weights())),
        ))
    });
    Ok(RuleClass {
        degree: rule.degree_of_exactness(2 * n + 2, TOLERANCE),
        heads: heads_needed(weights),
        nearest: nearest(candidates),
    })
}

/// The classification of a Butcher tableau.
#[derive(Debug, Clone, PartialEq)]
pub struct TableauClass {
    /// The order: every tree condition up to it holds (to [`TOLERANCE`]).
    pub order: usize,
    /// `max |Φ(t) − 1/γ(t)|` over the trees of each order `1..=max_order`.
    pub residuals: Vec<f64>,
    /// The nearest named method with as many stages.
    pub nearest: Option<Nearest>,
}

/// Classify a tableau against the tree conditions up to `max_order`.
pub fn classify_tableau(tableau: &Tableau, max_order: usize) -> TableauClass {
    let residuals = (1..=max_order)
        .map(|p| {
            trees::trees_of_order(p)
                .iter()
                .map(|t| t.residual(tableau).abs())
                .fold(0.0, f64::max)
        })
        .collect();
    let candidates = rk::named_methods().into_iter().filter_map(|m| {
        let other = &m.tableau;
        (other.stages() == tableau.stages()).then(|| {
            let a = tableau
                .a()
                .iter()
                .flatten()
                .zip(other.a().iter().flatten())
                .chain(tableau.b().iter().zip(other.b()))
                .fold(0.0f64, |d, (x, y)| d.max((x - y).abs()));
            (m.name.to_owned(), a)
        })
    });
    TableauClass {
        order: trees::order_of(tableau, max_order, TOLERANCE),
        residuals,
        nearest: nearest(candidates),
    }
}
