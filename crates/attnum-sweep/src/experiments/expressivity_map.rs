//! Experiment `expressivity_map`: the table "What attention can represent" — for each target
//! (derivative stencils, quadrature rules, explicit Runge–Kutta methods, WENO5) and each
//! architecture, the verdict of `attnum_attention::expressivity` with its heads, layers and
//! proposition, the error of the cheapest exact construction against the classical weights,
//! and the numerical witnesses of three impossibilities (one head plus the residual stream, by
//! optimisation from many starts; polynomial keys on a whole grid, by least squares; WENO5 by
//! linear attention, its values along a ray on which it is bounded but not constant).

use attnum_attention::expressivity::{
    self, Architecture, Target, polynomial_key_residual, residual_head_best_error_constant,
};
use attnum_attention::classify::{classify_rule, classify_stencil, classify_tableau};
use attnum_attention::extract::effective_weights;
use attnum_attention::heads::SoftmaxHeads;
use attnum_attention::looped::LoopedRk;
use attnum_attention::rk::RkAttention;
use attnum_attention::samples;
use attnum_attention::weno::WenoAttention;
use attnum_classical::fd::{Stencil, StencilKind};
use attnum_classical::quadrature::Rule;
use attnum_classical::rk::{Tableau, named_method};
use attnum_classical::savitzky_golay::{savitzky_golay, symmetric_window};
use attnum_classical::weno::Weno5;
use serde::{Deserialize, Serialize};

use super::quadrature_rules::Family;
use super::{Context, ExperimentError, FieldError, NamedTable};
use crate::checks;
use attnum_results::Table;

/// A row of `map`: one target, and for each architecture (in the order of
/// `Architecture::ALL`, named by `Architecture::name`) its verdict, heads, layers, masks and
/// proposition; then the error of the cheapest exact construction and the read-back weights
/// classified as the classical family does: order of accuracy, degree of exactness or tree order
/// (none for WENO, whose weights depend on the data).
#[derive(Serialize)]
struct MapRow {
    target: String,
    family: &'static str,
    linear_absolute_keys: String,
    linear_absolute_keys_heads: usize,
    linear_absolute_keys_layers: usize,
    linear_absolute_keys_masks: &'static str,
    linear_absolute_keys_ref: &'static str,
    one_head: String,
    one_head_heads: usize,
    one_head_layers: usize,
    one_head_masks: &'static str,
    one_head_ref: &'static str,
    one_head_residual: String,
    one_head_residual_heads: usize,
    one_head_residual_layers: usize,
    one_head_residual_masks: &'static str,
    one_head_residual_ref: &'static str,
    fewest_heads: String,
    fewest_heads_heads: usize,
    fewest_heads_layers: usize,
    fewest_heads_masks: &'static str,
    fewest_heads_ref: &'static str,
    bounded_logits: String,
    bounded_logits_heads: usize,
    bounded_logits_layers: usize,
    bounded_logits_masks: &'static str,
    bounded_logits_ref: &'static str,
    depth: String,
    depth_heads: usize,
    depth_layers: usize,
    depth_masks: &'static str,
    depth_ref: &'static str,
    construction_error: f64,
    read_back_order: Option<usize>,
}

impl MapRow {
    fn new(
        label: String,
        family: &'static str,
        target: Target<'_>,
        construction_error: f64,
        read_back_order: Option<usize>,
    ) -> Self {
        let linear_absolute_keys = expressivity::cell(target, Architecture::LinearAbsoluteKeys);
        let one_head = expressivity::cell(target, Architecture::OneHead);
        let one_head_residual = expressivity::cell(target, Architecture::OneHeadResidual);
        let fewest_heads = expressivity::cell(target, Architecture::FewestHeads);
        let bounded_logits = expressivity::cell(target, Architecture::BoundedLogits);
        let depth = expressivity::cell(target, Architecture::Depth);
        let yes_no = |masks: bool| if masks { "yes" } else { "no" };
        Self {
            target: label,
            family,
            linear_absolute_keys: linear_absolute_keys.verdict.to_string(),
            linear_absolute_keys_heads: linear_absolute_keys.heads,
            linear_absolute_keys_layers: linear_absolute_keys.layers,
            linear_absolute_keys_masks: yes_no(linear_absolute_keys.masks),
            linear_absolute_keys_ref: linear_absolute_keys.proposition,
            one_head: one_head.verdict.to_string(),
            one_head_heads: one_head.heads,
            one_head_layers: one_head.layers,
            one_head_masks: yes_no(one_head.masks),
            one_head_ref: one_head.proposition,
            one_head_residual: one_head_residual.verdict.to_string(),
            one_head_residual_heads: one_head_residual.heads,
            one_head_residual_layers: one_head_residual.layers,
            one_head_residual_masks: yes_no(one_head_residual.masks),
            one_head_residual_ref: one_head_residual.proposition,
            fewest_heads: fewest_heads.verdict.to_string(),
            fewest_heads_heads: fewest_heads.heads,
            fewest_heads_layers: fewest_heads.layers,
            fewest_heads_masks: yes_no(fewest_heads.masks),
            fewest_heads_ref: fewest_heads.proposition,
            bounded_logits: bounded_logits.verdict.to_string(),
            bounded_logits_heads: bounded_logits.heads,
            bounded_logits_layers: bounded_logits.layers,
            bounded_logits_masks: yes_no(bounded_logits.masks),
            bounded_logits_ref: bounded_logits.proposition,
            depth: depth.verdict.to_string(),
            depth_heads: depth.heads,
            depth_layers: depth.layers,
            depth_masks: yes_no(depth.masks),
            depth_ref: depth.proposition,
            construction_error,
            read_back_order,
        }
    }
}

/// A row of `witnesses`: one impossibility's numerical witness at one parameter (window or key
/// degree), beside the bound it cannot beat.
#[derive(Serialize)]
struct WitnessRow {
    witness: &'static str,
    parameter: usize,
    value: f64,
    bound: f64,
}

/// A row of `weno_ray`: WENO5 on the window `e₃ + t e₅`.
#[derive(Serialize)]
struct RayRow {
    t: f64,
    reconstruction: f64,
}

/// A stencil by kind, derivative and accuracy order, as written in sweep files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct StencilTarget {
    /// `central`, `forward` or `backward`.
    pub kind: StencilKindName,
    /// The derivative order `m ≥ 1`.
    pub derivative: usize,
    /// The accuracy order `p`.
    pub accuracy: usize,
}

/// A stencil kind as named in sweep files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StencilKindName {
    /// Symmetric nodes.
    Central,
    /// Nodes `0, 1, …`.
    Forward,
    /// Nodes `…, −1, 0`.
    Backward,
}

impl StencilTarget {
    /// The stencil; error paths are relative to the target.
    pub(crate) fn stencil(&self) -> Result<Stencil, FieldError> {
        let kind = match self.kind {
            StencilKindName::Central => StencilKind::Central,
            StencilKindName::Forward => StencilKind::Forward,
            StencilKindName::Backward => StencilKind::Backward,
        };
        if self.derivative == 0 {
            return Err(FieldError::new(
                "derivative",
                "a derivative stencil has derivative order at least 1",
            ));
        }
        if self.accuracy > 16 {
            return Err(FieldError::new("accuracy", "at most 16"));
        }
        Stencil::by_accuracy(kind, self.derivative, self.accuracy)
            .map_err(|e| FieldError::new("", e.to_string()))
    }

    /// `central d=1 p=4`.
    pub(crate) fn label(&self) -> String {
        let kind = match self.kind {
            StencilKindName::Central => "central",
            StencilKindName::Forward => "forward",
            StencilKindName::Backward => "backward",
        };
        format!("{kind} d={} p={}", self.derivative, self.accuracy)
    }
}

/// A Savitzky–Golay derivative filter on the symmetric window `−half_width … half_width`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FilterTarget {
    /// The derivative order `m ≥ 1`.
    pub derivative: usize,
    /// The degree of the least-squares polynomial (`m ≤ degree < 2 half_width + 1`).
    pub degree: usize,
    /// The window's half-width (at most 32).
    pub half_width: usize,
}

impl FilterTarget {
    /// The filter; errors are about the target itself.
    fn stencil(&self) -> Result<Stencil, FieldError> {
        if self.derivative == 0 || self.half_width > 32 {
            return Err(FieldError::new(
                "",
                "needs derivative ≥ 1 and half_width ≤ 32",
            ));
        }
        savitzky_golay(self.derivative, self.degree, &symmetric_window(self.half_width))
            .map_err(|e| FieldError::new("", e.to_string()))
    }

    /// `savitzky-golay d=1 q=4 n=9`.
    fn label(&self) -> String {
        format!(
            "savitzky-golay d={} q={} n={}",
            self.derivative,
            self.degree,
            2 * self.half_width + 1
        )
    }
}

/// A quadrature rule by family and size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RuleTarget {
    /// The family.
    pub family: Family,
    /// The number of nodes.
    pub points: usize,
}

/// The witness that one head plus the residual stream cannot beat `|C| = 1/2`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ResidualHeadWitness {
    /// Half-widths of the head's window of offsets.
    pub windows: Vec<usize>,
    /// Random starts per window.
    pub starts: usize,
    /// Adam steps per start.
    pub steps: usize,
    /// Initial logits are uniform in `[−spread, spread]`.
    pub spread: f64,
    /// The random seed.
    pub seed: u64,
}

/// The witness that polynomial keys cannot localise on a whole grid.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PolynomialKeyWitness {
    /// The grid size.
    pub points: usize,
    /// The key degrees.
    pub degrees: Vec<usize>,
}

/// Parameters of the `expressivity_map` experiment.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ExpressivityMap {
    /// Derivative stencils (applied at every grid point).
    pub stencils: Vec<StencilTarget>,
    /// Savitzky–Golay derivative filters (applied at every grid point).
    pub filters: Vec<FilterTarget>,
    /// Quadrature rules.
    pub rules: Vec<RuleTarget>,
    /// Named explicit Runge–Kutta methods.
    pub methods: Vec<String>,
    /// Stage counts `s` of Gauss–Legendre collocation methods (implicit).
    pub collocation: Vec<usize>,
    /// Grid size of the WENO5 check (smooth, kinked, discontinuous data).
    pub weno_points: usize,
    /// One head plus the residual stream.
    pub residual_head: ResidualHeadWitness,
    /// Linear attention with absolute polynomial keys.
    pub polynomial_keys: PolynomialKeyWitness,
}

/// The entries of `A` and `b`, row by row.
fn flat(tableau: &Tableau) -> Vec<f64> {
    tableau
        .a()
        .iter()
        .flatten()
        .chain(tableau.b())
        .copied()
        .collect()
}

/// The construction's weights against the classical ones: `max |a − b| / max |b|`.
fn relative_difference(a: &[f64], b: &[f64]) -> f64 {
    attnum_attention::classify::relative_distance(a, b)
}

/// A checked `expressivity_map` experiment: every target's stencil, rule and tableau built.
#[derive(Debug, Clone)]
pub struct CheckedExpressivityMap {
    /// `(label, stencil)` for the stencils, then the filters.
    stencils: Vec<(String, Stencil)>,
    /// `(label, rule)` for each rule target.
    rules: Vec<(String, Rule)>,
    /// `(name, tableau)` for each named method.
    methods: Vec<(String, Tableau)>,
    /// `(stages, tableau)` for each Gauss–Legendre collocation method.
    collocation: Vec<(usize, Tableau)>,
    /// 5 to 4096.
    weno_points: usize,
    /// Windows 1 to 20, starts 1 to 1000, steps 1 to 100000, spread in (0, 50].
    residual_head: ResidualHeadWitness,
    /// Points 8 to 1024, each degree below the points minus one.
    polynomial_keys: PolynomialKeyWitness,
}

impl ExpressivityMap {
    /// Check every parameter and build every target; errors carry the field path below
    /// `experiment.expressivity_map`.
    ///
    /// # Errors
    /// The first refused parameter.
    pub fn check(&self) -> Result<CheckedExpressivityMap, FieldError> {
        let mut stencils = checks::each("stencils", &self.stencils, |t| {
            Ok((t.label(), t.stencil()?))
        })?;
        stencils.extend(checks::each("filters", &self.filters, |t| {
            Ok((t.label(), t.stencil()?))
        })?);
        let rules = checks::each("rules", &self.rules, |target| {
            if target.points > 40 {
                return Err(FieldError::new("points", "at most 40"));
            }
            let rule = target
                .family
                .rule(target.points)
                .map_err(|e| FieldError::new("", e.to_string()))?;
            Ok((format!("{} n={}", target.family.name(), target.points), rule))
        })?;
        let methods = checks::each("methods", &self.methods, |name| {
            named_method(name)
                .map(|m| (name.clone(), m.tableau))
                .map_err(|e| FieldError::new("", e.to_string()))
        })?;
        let collocation = checks::each("collocation", &self.collocation, |&stages| {
            if !(1..=8).contains(&stages) {
                return Err(FieldError::new(
                    "",
                    "a Gauss–Legendre collocation method here has 1 to 8 stages",
                ));
            }
            Tableau::gauss_legendre(stages)
                .map(|t| (stages, t))
                .map_err(|e| FieldError::new("", e.to_string()))
        })?;
        if !(5..=4096).contains(&self.weno_points) {
            return Err(FieldError::new("weno_points", "must be between 5 and 4096"));
        }
        let witness = &self.residual_head;
        if witness.windows.is_empty() || witness.windows.iter().any(|&w| w == 0 || w > 20) {
            return Err(FieldError::new(
                "residual_head.windows",
                "needs half-widths between 1 and 20",
            ));
        }
        if !(1..=1000).contains(&witness.starts) || !(1..=100_000).contains(&witness.steps) {
            return Err(FieldError::new(
                "residual_head",
                "starts must be in 1..=1000 and steps in 1..=100000",
            ));
        }
        if !(witness.spread.is_finite() && witness.spread > 0.0 && witness.spread <= 50.0) {
            return Err(FieldError::new("residual_head.spread", "must be in (0, 50]"));
        }
        let keys = &self.polynomial_keys;
        if !(8..=1024).contains(&keys.points) {
            return Err(FieldError::new(
                "polynomial_keys.points",
                "must be between 8 and 1024",
            ));
        }
        if let Some(j) = keys.degrees.iter().position(|&d| d + 1 >= keys.points) {
            return Err(FieldError::new(
                format!("polynomial_keys.degrees[{j}]"),
                "must be below the number of points minus one",
            ));
        }
        Ok(CheckedExpressivityMap {
            stencils,
            rules,
            methods,
            collocation,
            weno_points: self.weno_points,
            residual_head: self.residual_head.clone(),
            polynomial_keys: self.polynomial_keys.clone(),
        })
    }
}

impl CheckedExpressivityMap {
    /// Run the experiment: `map` (one row per target), `witnesses` and `weno_ray`.
    ///
    /// # Errors
    /// A construction that cannot be built, read back or classified, a witness that cannot be computed, or a tensor operation that fails.
    pub fn run(&self) -> Result<Vec<NamedTable>, ExperimentError> {
        let mut map = Vec::new();
        for (label, stencil) in &self.stencils {
            // The residual stream carries the centre weight; heads carry the rest.
            let off: Vec<f64> = stencil
                .offsets()
                .iter()
                .zip(stencil.weights())
                .map(|(o, w)| if *o == 0.0 { 0.0 } else { *w })
                .collect();
            let heads = SoftmaxHeads::compile(&off)
                .with_context(|| format!("the softmax heads of stencil {label}"))?;
            let mut built = effective_weights(&heads)
                .with_context(|| format!("the weights of the heads of stencil {label}"))?;
            for ((o, w), b) in stencil.offsets().iter().zip(stencil.weights()).zip(&mut built) {
                if *o == 0.0 {
                    *b += w;
                }
            }
            let error = relative_difference(&built, stencil.weights());
            let order = classify_stencil(stencil.offsets(), &built)
                .with_context(|| format!("the class of the weights built for stencil {label}"))?
                .accuracy
                .map(|a| a.order);
            map.push(MapRow::new(label.clone(), "stencil", Target::Stencil(stencil), error, order));
        }
        for (label, rule) in &self.rules {
            let heads = SoftmaxHeads::compile(rule.weights())
                .with_context(|| format!("the softmax heads of rule {label}"))?;
            let built = effective_weights(&heads)
                .with_context(|| format!("the weights of the heads of rule {label}"))?;
            let error = relative_difference(&built, rule.weights());
            let degree = classify_rule(rule.nodes(), &built)
                .with_context(|| format!("the class of the weights built for rule {label}"))?
                .degree;
            map.push(MapRow::new(label.clone(), "rule", Target::Rule(rule.weights()), error, degree));
        }
        for (name, tableau) in &self.methods {
            let attention = RkAttention::compile(tableau)
                .with_context(|| format!("the stage attention of {name}"))?;
            let read_back = attention
                .tableau()
                .with_context(|| format!("the tableau read back from the attention of {name}"))?;
            let error = relative_difference(&flat(&read_back), &flat(tableau));
            let order = classify_tableau(&read_back, 8).order;
            map.push(MapRow::new(name.clone(), "tableau", Target::Tableau(tableau), error, Some(order)));
        }
        for &(stages, ref tableau) in &self.collocation {
            let attention = LoopedRk::compile(tableau).with_context(|| {
                format!("the looped block of the {stages}-stage Gauss method")
            })?;
            let read_back = attention.tableau().with_context(|| {
                format!("the tableau read back from the {stages}-stage looped block")
            })?;
            let error = relative_difference(&flat(&read_back), &flat(tableau));
            let order = classify_tableau(&read_back, 2 * stages + 1).order;
            map.push(MapRow::new(
                format!("gauss-legendre s={stages}"),
                "tableau",
                Target::Tableau(tableau),
                error,
                Some(order),
            ));
        }
        map.push(MapRow::new(
            "weno5-js".into(),
            "weno",
            Target::Weno5,
            self.weno_difference()?,
            None,
        ));
        let mut witnesses = Vec::new();
        let witness = &self.residual_head;
        for &window in &witness.windows {
            let best = residual_head_best_error_constant(
                window,
                witness.starts,
                witness.steps,
                witness.spread,
                witness.seed,
            )
            .with_context(|| format!("the best residual head on a window of {window}"))?;
            witnesses.push(WitnessRow {
                witness: "residual_head_error_constant",
                parameter: window,
                value: best,
                bound: 0.5,
            });
        }
        let central = Stencil::by_accuracy(StencilKind::Central, 1, 2)
            .context("the central first-derivative stencil of order 2")?;
        for &degree in &self.polynomial_keys.degrees {
            let residual = polynomial_key_residual(&central, self.polynomial_keys.points, degree)
                .with_context(|| format!("the residual of polynomial keys of degree {degree}"))?;
            witnesses.push(WitnessRow {
                witness: "polynomial_key_residual",
                parameter: degree,
                value: residual,
                bound: 0.0,
            });
        }
        // WENO5 along the ray e₃ + t e₅: bounded but not constant, so not a polynomial.
        let ray: Vec<RayRow> = [0.0, 1.0, 10.0, 1e2, 1e3, 1e6]
            .into_iter()
            .map(|t| RayRow {
                t,
                reconstruction: Weno5::jiang_shu().reconstruct(&[0.0, 0.0, 1.0, 0.0, t]),
            })
            .collect();
        Ok(vec![
            NamedTable {
                stem: "map",
                table: Table::from_rows(&map),
            },
            NamedTable {
                stem: "witnesses",
                table: Table::from_rows(&witnesses),
            },
            NamedTable {
                stem: "weno_ray",
                table: Table::from_rows(&ray),
            },
        ])
    }

    /// The largest difference, relative to the data's scale, between WENO5 attention and the
    /// classical reconstruction on smooth, kinked and discontinuous periodic data.
    ///
    /// # Errors
    /// WENO attention that cannot be built or evaluated, or a reconstruction that fails.
    fn weno_difference(&self) -> Result<f64, ExperimentError> {
        let n = self.weno_points;
        let classical = Weno5::jiang_shu();
        let attention = WenoAttention::compile(&classical).context("WENO5 attention")?;
        let x: Vec<f64> = (0..n).map(|i| i as f64 / n as f64).collect();
        let grids: [Vec<f64>; 3] = [
            x.iter()
                .map(|x| (2.0 * std::f64::consts::PI * x).sin().exp())
                .collect(),
            x.iter().map(|x| (x - 0.5).abs()).collect(),
            x.iter().map(|&x| if x < 0.3 { 1.0 } else { -0.5 }).collect(),
        ];
        let mut largest = 0.0f64;
        for grid in &grids {
            let expected = classical
                .reconstruct_periodic(grid)
                .with_context(|| format!("the classical WENO5 reconstruction on {n} points"))?;
            let got = samples(grid)
                .and_then(|values| attention.reconstruct_periodic(&values))
                .and_then(|t| Ok(t.squeeze(0)?.to_vec1::<f64>()?))
                .with_context(|| format!("the WENO5 attention reconstruction on {n} points"))?;
            largest = largest.max(relative_difference(&got, &expected));
        }
        Ok(largest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_map_columns_follow_the_architectures() {
        let stencil = Stencil::by_accuracy(StencilKind::Central, 1, 4).expect("a stencil");
        let rule = Family::GaussLegendre.rule(3).expect("a rule");
        let rk4 = named_method("rk4").expect("a named method").tableau;
        let targets = [
            Target::Stencil(&stencil),
            Target::Rule(rule.weights()),
            Target::Tableau(&rk4),
            Target::Weno5,
        ];
        let rows: Vec<MapRow> = targets
            .iter()
            .map(|&target| MapRow::new("target".into(), "family", target, 0.0, None))
            .collect();
        let table = Table::from_rows(&rows);
        let mut expected = vec!["target".to_string(), "family".to_string()];
        for architecture in Architecture::ALL {
            for suffix in ["", "_heads", "_layers", "_masks", "_ref"] {
                expected.push(format!("{}{suffix}", architecture.name()));
            }
        }
        expected.push("construction_error".into());
        expected.push("read_back_order".into());
        assert_eq!(table.names(), expected);
        // Each architecture's columns hold that architecture's cell, on every kind of target.
        for (row, &target) in targets.iter().enumerate() {
            for architecture in Architecture::ALL {
                let cell = expressivity::cell(target, architecture);
                let name = architecture.name();
                let at = |suffix: &str| table.cell(row, &format!("{name}{suffix}")).cloned();
                assert_eq!(at(""), Some(cell.verdict.to_string().into()), "{name}");
                assert_eq!(at("_heads"), Some(cell.heads.into()), "{name}");
                assert_eq!(at("_layers"), Some(cell.layers.into()), "{name}");
                let masks = if cell.masks { "yes" } else { "no" };
                assert_eq!(at("_masks"), Some(masks.into()), "{name}");
                assert_eq!(at("_ref"), Some(cell.proposition.into()), "{name}");
            }
        }
    }
}

