//! Bad sweep files: each gives a clear error naming the file with line and column or the field,
//! never a panic, and leaves no output behind.

use attnum_sweep::{SweepError, Workspace};

const GOOD: &str = include_str!("../../../data/sweeps/fd_convergence.yaml");

/// Write `text` as `data/sweeps/NAME.yaml` of a fresh workspace and load it; a load never writes
/// results.
fn load_named(
    name: &str,
    text: &str,
) -> (
    tempfile::TempDir,
    Result<attnum_sweep::SweepFile, SweepError>,
) {
    let dir = tempfile::tempdir().unwrap();
    let sweeps = dir.path().join("data/sweeps");
    std::fs::create_dir_all(&sweeps).unwrap();
    std::fs::write(sweeps.join(format!("{name}.yaml")), text).unwrap();
    let result = Workspace::at(dir.path()).unwrap().load(name);
    assert!(
        !dir.path().join("results").exists(),
        "no output is written for a bad file"
    );
    (dir, result)
}

/// [`load_named`] for the `fd_convergence` sweep.
fn load(
    text: &str,
) -> (
    tempfile::TempDir,
    Result<attnum_sweep::SweepFile, SweepError>,
) {
    load_named("fd_convergence", text)
}

fn error_of(text: &str) -> String {
    error_of_named("fd_convergence", text)
}

#[test]
fn the_committed_file_is_valid() {
    let (_dir, result) = load(GOOD);
    result.unwrap();
}

#[test]
fn unknown_field_names_file_line_column_and_field() {
    let text = GOOD.replace("    x0: 1.0\n", "    x0: 1.0\n    colour: red\n");
    let err = error_of(&text);
    assert!(err.contains("fd_convergence.yaml:12:5:"), "{err}");
    assert!(
        err.contains("experiment.fd_convergence: unknown field `colour`"),
        "{err}"
    );
}

#[test]
fn misspelt_top_level_field() {
    let err = error_of(&GOOD.replace("tier: quick", "teir: quick"));
    assert!(err.contains("unknown field `teir`"), "{err}");
    assert!(err.contains(":8:1:"), "{err}");
}

#[test]
fn malformed_yaml_has_a_position() {
    let err = error_of(&GOOD.replace("derivatives: [1, 2]", "derivatives: [1, 2"));
    assert!(err.contains("fd_convergence.yaml:"), "{err}");
    assert!(
        err.split(':')
            .nth(1)
            .unwrap()
            .trim()
            .parse::<usize>()
            .is_ok(),
        "{err}"
    );
}

#[test]
fn wrong_type() {
    let err = error_of(&GOOD.replace("x0: 1.0", "x0: one"));
    assert!(
        err.contains("experiment.fd_convergence.x0: invalid type"),
        "{err}"
    );
}

#[test]
fn unknown_function_and_stencil_family() {
    let err = error_of(&GOOD.replace("[sin, exp, quadratic]", "[sin, cosh]"));
    assert!(err.contains("unknown variant `cosh`"), "{err}");
    let err = error_of(&GOOD.replace("- central: [2, 4, 6, 8]", "- centred: [2, 4]"));
    assert!(err.contains("unknown variant `centred`"), "{err}");
}

#[test]
fn nonpositive_step_names_the_parameter() {
    let err = error_of(&GOOD.replace("from: 1.0,", "from: -1.0,"));
    assert!(
        err.contains("field `experiment.fd_convergence.steps.from`"),
        "{err}"
    );
    assert!(err.contains("> 0"), "{err}");
    let err = error_of(&GOOD.replace("to: 1.0e-10", "to: 0.0"));
    assert!(
        err.contains("field `experiment.fd_convergence.steps.to`"),
        "{err}"
    );
}

#[test]
fn stencil_with_too_few_nodes_names_the_stencil() {
    let text = GOOD.replace("- backward: [1, 2, 3, 4]", "- offsets: [0.0, 1.0]");
    let err = error_of(&text);
    assert!(
        err.contains("field `experiment.fd_convergence.stencils[2].offsets`"),
        "{err}"
    );
    assert!(
        err.contains("derivative order 2 needs at least 3 nodes, got 2"),
        "{err}"
    );
}

#[test]
fn repeated_nodes_and_odd_central_order() {
    let err = error_of(&GOOD.replace("- backward: [1, 2, 3, 4]", "- offsets: [0.0, 1.0, 1.0]"));
    assert!(err.contains("coincide"), "{err}");
    let err = error_of(&GOOD.replace("central: [2, 4, 6, 8]", "central: [2, 3]"));
    assert!(err.contains("stencils[0].central[1]"), "{err}");
    assert!(err.contains("even accuracy order only"), "{err}");
    let err = error_of(&GOOD.replace("forward: [1, 2, 3, 4]", "forward: [0]"));
    assert!(err.contains("stencils[1].forward[0]"), "{err}");
}

#[test]
fn bad_derivative_and_fit_parameters() {
    let err = error_of(&GOOD.replace("derivatives: [1, 2]", "derivatives: [0]"));
    assert!(err.contains("derivatives[0]"), "{err}");
    let err = error_of(&GOOD.replace("roundoff_margin: 1000.0", "roundoff_margin: 0.5"));
    assert!(err.contains("fit.roundoff_margin"), "{err}");
    let err = error_of(&GOOD.replace("per_decade: 10", "per_decade: 0"));
    assert!(err.contains("steps.per_decade"), "{err}");
    let err = error_of(&GOOD.replace("functions: [sin, exp, quadratic]", "functions: []"));
    assert!(
        err.contains("field `experiment.fd_convergence.functions`"),
        "{err}"
    );
}

#[test]
fn name_must_match_file() {
    let err = error_of(&GOOD.replace("name: fd_convergence", "name: other"));
    assert!(err.contains("field `name`"), "{err}");
}

#[test]
fn empty_and_non_mapping_files() {
    for text in ["", "42", "- a\n- b", "\u{0}"] {
        let err = error_of(text);
        assert!(err.contains("fd_convergence.yaml"), "{text:?}: {err}");
    }
}

#[test]
fn unknown_sweep_lists_the_existing_ones() {
    let (dir, _) = load(GOOD);
    let err = Workspace::at(dir.path())
        .unwrap()
        .load("nosuch")
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "no sweep named `nosuch`; the sweeps are: fd_convergence"
    );
}

/// The error of loading `text` as `data/sweeps/NAME.yaml`.
fn error_of_named(name: &str, text: &str) -> String {
    let (_dir, result) = load_named(name, text);
    result.expect_err("the file must be refused").to_string()
}

#[test]
fn classical_sweeps_refuse_bad_parameters() {
    let rk = include_str!("../../../data/sweeps/rk_convergence.yaml");
    let err = error_of_named(
        "rk_convergence",
        &rk.replace("methods: [euler,", "methods: [eulr,"),
    );
    assert!(
        err.contains("experiment.rk_convergence.methods[0]")
            && err.contains("no Runge–Kutta method named `eulr`"),
        "{err}"
    );
    let err = error_of_named(
        "rk_convergence",
        &rk.replace("eccentricity: 0.5", "eccentricity: 1.0"),
    );
    assert!(
        err.contains("experiment.rk_convergence.eccentricity"),
        "{err}"
    );
    let err = error_of_named("rk_convergence", &rk.replace("points: 4", "points: 1"));
    assert!(err.contains("fit.points"), "{err}");
    let quad = include_str!("../../../data/sweeps/quadrature_rules.yaml");
    let err = error_of_named(
        "quadrature_rules",
        &quad.replace("max_points: 30", "max_points: 1000"),
    );
    assert!(
        err.contains("experiment.quadrature_rules.max_points"),
        "{err}"
    );
    let err = error_of_named(
        "quadrature_rules",
        &quad.replace("gauss_legendre,", "gauss,"),
    );
    assert!(err.contains("unknown variant `gauss`"), "{err}");
    let trees = include_str!("../../../data/sweeps/butcher_trees.yaml");
    let err = error_of_named(
        "butcher_trees",
        &trees.replace("max_order: 5", "max_order: 40"),
    );
    assert!(err.contains("experiment.butcher_trees.max_order"), "{err}");
    let err = error_of_named(
        "butcher_trees",
        &trees.replace("tolerance: 1.0e-12", "tolerance: -1"),
    );
    assert!(err.contains("experiment.butcher_trees.tolerance"), "{err}");
}

/// Each replacement in a committed attention sweep file and the field its error must name.
const ATTENTION_CORPUS: &[(&str, &str, &str, &str)] = &[
    (
        "attention_equivalence",
        "derivatives: [1, 2]",
        "derivatives: [1, 7]",
        "experiment.attention_equivalence.derivatives[1]",
    ),
    (
        "attention_equivalence",
        "accuracies: [2, 4,",
        "accuracies: [3, 4,",
        "experiment.attention_equivalence.accuracies[0]",
    ),
    (
        "attention_equivalence",
        "half_widths: [3,",
        "half_widths: [1,",
        "experiment.attention_equivalence.savitzky_golay.half_widths[0]",
    ),
    (
        "attention_equivalence",
        "hard_sharpness: 60.0",
        "hard_sharpness: 5.0",
        "experiment.attention_equivalence.hard_sharpness",
    ),
    (
        "kernel_attention",
        "query: 0.3",
        "query: .nan",
        "experiment.kernel_attention.query",
    ),
    (
        "kernel_attention",
        "nodes_per_sigma: 8",
        "nodes_per_sigma: 2",
        "experiment.kernel_attention.bias.nodes_per_sigma",
    ),
    (
        "kernel_attention",
        "offset: 0.25",
        "offset: 1.5",
        "experiment.kernel_attention.aliasing.offset",
    ),
    (
        "kernel_attention",
        "from: 0.3, to: 2.0, points: 35",
        "from: 0.3, to: 2.0, points: 1",
        "experiment.kernel_attention.aliasing.sigma_over_h.points",
    ),
    (
        "kernel_attention",
        "distances: { from: 0.0, to: 6.0",
        "distances: { from: 0.0, to: 60.0",
        "experiment.kernel_attention.boundary.distances",
    ),
    (
        "kernel_attention",
        "interval: [-5.0, 5.0]",
        "interval: [5.0, -5.0]",
        "experiment.kernel_attention.s1.interval",
    ),
    (
        "kernel_attention",
        "point_counts: [5,",
        "point_counts: [1,",
        "experiment.kernel_attention.s1.point_counts[0]",
    ),
    (
        "hard_attention",
        "stencils: [[1, 2],",
        "stencils: [[1, 3],",
        "experiment.hard_attention.stencils[0]",
    ),
    (
        "hard_attention",
        "wide_half_width: 10",
        "wide_half_width: 1",
        "experiment.hard_attention.wide_half_width",
    ),
    (
        "hard_attention",
        "step: 0.01",
        "step: 0.0",
        "experiment.hard_attention.step",
    ),
    (
        "quadrature_attention",
        "max_tree_order: 6",
        "max_tree_order: 9",
        "experiment.quadrature_attention.max_tree_order",
    ),
    (
        "expressivity_map",
        "methods: [euler,",
        "methods: [eulr,",
        "experiment.expressivity_map.methods[0]",
    ),
    (
        "expressivity_map",
        "weno_points: 64",
        "weno_points: 4",
        "experiment.expressivity_map.weno_points",
    ),
    (
        "expressivity_logits",
        "reach_factor: 2.0",
        "reach_factor: 0.5",
        "experiment.expressivity_logits.reach_factor",
    ),
    (
        "expressivity_logits",
        "points: [16,",
        "points: [3,",
        "experiment.expressivity_logits.points[0]",
    ),
    (
        "rk_attention",
        "methods: [euler,",
        "methods: [eulr,",
        "experiment.rk_attention.methods[0]",
    ),
    (
        "rk_attention",
        "steps: [32,",
        "steps: [0,",
        "experiment.rk_attention.steps[0]",
    ),
    (
        "expressivity_looped",
        "stages: [1, 2, 3]",
        "stages: [1, 2, 2]",
        "experiment.expressivity_looped.stages[2]",
    ),
    (
        "expressivity_looped",
        "max_tree_order: 8",
        "max_tree_order: 6",
        "experiment.expressivity_looped.max_tree_order",
    ),
    (
        "expressivity_looped",
        "sweep_fit: { min_error: 1.0e-14, points: 3 }",
        "sweep_fit: { min_error: 1.0e-14, points: 1 }",
        "experiment.expressivity_looped.sweep_fit.points",
    ),
    (
        "attention_solver",
        "cfl: 0.4",
        "cfl: 1.5",
        "experiment.attention_solver.cfl",
    ),
    (
        "attention_solver",
        "burgers_time: 0.1",
        "burgers_time: 0.2",
        "experiment.attention_solver.burgers_time",
    ),
    (
        "attention_solver",
        "points: [20,",
        "points: [4,",
        "experiment.attention_solver.points[0]",
    ),
    (
        "learned_architectures",
        "width: 16, heads: 2,",
        "width: 15, heads: 2,",
        "experiment.learned_derivative.model.transformer.width",
    ),
    (
        "learned_architectures",
        "dropout: 0.0 }",
        "dropout: 0.9 }",
        "experiment.learned_derivative.model.transformer.dropout",
    ),
    (
        "learned_architectures",
        "derivative: [1, 2]",
        "derivative: [1, 3]",
        "experiment.learned_derivative.derivative",
    ),
    (
        "learned_derivative",
        "evaluation_noise: [0.0,",
        "evaluation_noise: [-1.0,",
        "experiment.learned_derivative.evaluation_noise[0]",
    ),
    (
        "learned_derivative",
        "model: { token_heads:",
        "model: { token_head:",
        "unknown variant `token_head`",
    ),
    (
        "learned_order",
        "order: 2",
        "order: 4",
        "experiment.learned_order.order",
    ),
    (
        "learned_quadrature",
        "nodes: [2, 3,",
        "nodes: [17, 3,",
        "experiment.learned_quadrature.nodes",
    ),
    (
        "learned_quadrature",
        "restarts: 50",
        "restarts: 0",
        "experiment.learned_quadrature.restarts",
    ),
    (
        "learned_rk",
        "steps: { low: 0.2, high: 0.6,",
        "steps: { low: 0.2, high: 0.1,",
        "experiment.learned_rk.steps.high",
    ),
    (
        "learned_rk",
        "learning_rate: 0.03",
        "learning_rate: 3.0",
        "experiment.learned_rk.training.learning_rate",
    ),
    (
        "learned_theory",
        "offsets: [-2.0, -1.0, 0.0, 1.0, 2.0]",
        "offsets: [-2.0, -1.0, 0.0, 1.0, 3.0]",
        "experiment.learned_theory.offsets",
    ),
    (
        "learned_theory",
        "derivatives: [1, 2]",
        "derivatives: [1, 3]",
        "experiment.learned_theory.derivatives[1]",
    ),
];

#[test]
fn attention_sweeps_refuse_bad_parameters() {
    for &(name, from, to, field) in ATTENTION_CORPUS {
        let path = format!(
            "{}/../../data/sweeps/{name}.yaml",
            env!("CARGO_MANIFEST_DIR")
        );
        let text = std::fs::read_to_string(path).unwrap();
        assert!(
            text.contains(from),
            "{name}: `{from}` is not in the committed file"
        );
        let err = error_of_named(name, &text.replace(from, to));
        assert!(err.contains(field), "{name}: `{to}` gave {err}");
    }
}

/// Malformed `vary` and `verify` sections appended to the Kepler sweep, and the message each
/// must give.
const VARY_CORPUS: &[(&str, &str)] = &[
    (
        "vary:\n  grid:\n    eccentricty: [0.1]\n",
        "field `vary.eccentricty`: no parameter `eccentricty` in experiment `rk_convergence`",
    ),
    (
        "vary:\n  grid:\n    eccentricity: []\n",
        "field `vary.grid.eccentricity`: needs at least one value",
    ),
    (
        "vary:\n  grid:\n    eccentricity: [0.1, 2.0]\n",
        "field `vary point eccentricity = 2.0 → experiment.rk_convergence.eccentricity`: must be in [0, 0.95]",
    ),
    (
        "vary:\n  grid:\n    eccentricity: [fast]\n",
        "field `vary point eccentricity = fast`: the point does not fit experiment `rk_convergence`",
    ),
    (
        "vary:\n  zip:\n    eccentricity: [0.1, 0.2]\n    fit.points: [3]\n",
        "field `vary.zip.fit.points`: has 1 values but zip.eccentricity has 2",
    ),
    (
        "vary:\n  points:\n    - { methods: [rk9] }\n",
        "experiment.rk_convergence.methods[0]",
    ),
    ("vary:\n  gird: {}\n", "unknown field `gird`"),
    (
        "vary:\n  grid:\n    eccentricity: [0.1]\n    eccentricity: [0.2]\n",
        "vary.grid: the path `eccentricity` is written twice",
    ),
    (
        "vary:\n  points:\n    - { eccentricity: 0.1, eccentricity: 0.2 }\n",
        "the path `eccentricity` is written twice",
    ),
    (
        "verify:\n  error: { abs: -1.0 }\n",
        "field `verify.error.abs`: must be a finite number ≥ 0",
    ),
    (
        "verify:\n  error: { relative: 1.0e-9 }\n",
        "unknown field `relative`",
    ),
    ("verify:\n  error: 1.0e-9\n", "invalid type"),
];

#[test]
fn malformed_points_and_tolerances_are_refused() {
    let base = include_str!("../../../data/sweeps/rk_convergence.yaml");
    for &(section, expected) in VARY_CORPUS {
        let err = error_of_named("rk_convergence", &format!("{base}{section}"));
        assert!(
            err.contains(expected),
            "{section}\ngave {err}\nexpected {expected}"
        );
    }
}

#[test]
fn a_locked_sweep_is_refused_without_touching_its_results() {
    let (dir, result) = load(GOOD);
    let sweep = result.unwrap();
    let ws = Workspace::at(dir.path()).unwrap();
    let results = ws.results_dir("fd_convergence");
    std::fs::create_dir_all(&results).unwrap();
    let held = std::fs::File::create(results.join(".lock")).unwrap();
    held.lock().unwrap();
    let err = ws.run(&sweep).unwrap_err().to_string();
    assert!(
        err.contains("sweep `fd_convergence` is being run by another process"),
        "{err}"
    );
    assert!(!results.join("manifest.json").exists());
    held.unlock().unwrap();
    ws.run(&sweep).unwrap();
    assert!(results.join("manifest.json").exists());
}

#[test]
fn the_schema_reference_names_every_experiment_kind() {
    let schema = include_str!("../../../docs/sweep-schema.md");
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let ws = Workspace::at(&root).unwrap();
    for name in ws.sweep_names().unwrap() {
        let kind = ws.load(&name).unwrap().spec.experiment.kind();
        assert!(
            schema.contains(&format!("| `{kind}` |")),
            "docs/sweep-schema.md lacks `{kind}`"
        );
    }
}

#[test]
fn noisy_derivative_and_seed_examples_refuse_bad_parameters() {
    let noisy = include_str!("../../../data/sweeps/noisy_derivative.yaml");
    let err = error_of_named(
        "noisy_derivative",
        &noisy.replace("noise: [1.0e-12,", "noise: [-1.0e-12,"),
    );
    assert!(
        err.contains("experiment.noisy_derivative.noise[0]"),
        "{err}"
    );
    let seed = include_str!("../../../data/sweeps/seed_examples.yaml");
    let err = error_of_named(
        "seed_examples",
        &seed.replace("seeds: [1, 2, 3, 4, 5]", "seeds: []"),
    );
    assert!(err.contains("experiment.seed_examples.seeds"), "{err}");
}

/// The Kepler sweep with `section` appended, loaded fully (every point expanded).
fn kepler_with(section: &str) -> Result<attnum_sweep::SweepFile, SweepError> {
    let base = include_str!("../../../data/sweeps/rk_convergence.yaml");
    load_named("rk_convergence", &format!("{base}{section}")).1
}

#[test]
fn an_oversized_grid_is_refused_by_its_count_before_any_point_is_made() {
    // 10 keys of 10 values: 10^10 points, which once grew to 23.7 GB before being killed.
    let grid: String = (0..10)
        .map(|i| format!("    key{i}: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]\n"))
        .collect();
    let section = format!("vary:\n  grid:\n{grid}");
    let start = std::time::Instant::now();
    let err = kepler_with(&section).unwrap_err().to_string();
    assert!(start.elapsed().as_secs_f64() < 1.0, "counted, not expanded");
    assert!(err.contains("rk_convergence.yaml"), "{err}");
    assert!(err.contains("declares 10000000000 points"), "{err}");
    assert!(err.contains("more than the limit of 10000"), "{err}");
    assert!(err.contains("max_points: 10000000000"), "{err}");
    // A product that overflows 64 bits is still counted.
    let huge: String = (0..40)
        .map(|i| format!("    key{i}: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]\n"))
        .collect();
    let err = kepler_with(&format!("vary:\n  grid:\n{huge}"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("more than the limit"), "{err}");
}

#[test]
fn max_points_raises_the_limit_within_its_ceiling() {
    // 101 × 100 = 10 100 points: one more hundred than the default limit.
    let values = |n: usize| {
        (0..n)
            .map(|i| format!("{}", 0.01 + 0.009 * i as f64))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let grid = format!(
        "vary:\n  grid:\n    eccentricity: [{}]\n    fit.min_error: [{}]\n",
        values(101),
        (0..100)
            .map(|i| format!("1.0e-{}", 10 + i))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let err = kepler_with(&grid).unwrap_err().to_string();
    assert!(err.contains("declares 10100 points"), "{err}");
    let (dir, result) = load_named(
        "rk_convergence",
        &format!(
            "{}max_points: 20000\n{grid}",
            include_str!("../../../data/sweeps/rk_convergence.yaml")
        ),
    );
    let sweep = result.unwrap();
    assert_eq!(sweep.point_count, 10_100);
    assert_eq!(sweep.points().unwrap().len(), 10_100);
    drop(dir);
    let err = kepler_with("max_points: 2000000\n")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("field `max_points`: must be between 1 and 1000000"),
        "{err}"
    );
}

#[test]
fn opening_a_sweep_counts_its_points_without_expanding_them() {
    let (dir, result) = load(GOOD);
    drop(result);
    let sweeps = dir.path().join("data/sweeps");
    // A point the experiment refuses: `open` (list, why, paper's check) does not expand it,
    // `load` (run, verify, merge) does and names it.
    std::fs::write(
        sweeps.join("fd_convergence.yaml"),
        format!("{GOOD}vary:\n  grid:\n    fit.min_points: [3, 0]\n"),
    )
    .unwrap();
    let ws = Workspace::at(dir.path()).unwrap();
    let sweep = ws.open("fd_convergence").unwrap();
    assert_eq!(sweep.point_count, 2);
    let err = ws.load("fd_convergence").unwrap_err().to_string();
    assert!(
        err.contains("vary point fit.min_points = 0 → experiment.fd_convergence.fit.min_points"),
        "{err}"
    );
    assert_eq!(sweep.points().unwrap_err().to_string(), err);
}

#[test]
fn duplicate_points_are_refused_naming_both() {
    let err = kepler_with("vary:\n  grid:\n    eccentricity: [0.1, 0.3, 0.1]\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("rk_convergence.yaml: field `vary`"), "{err}");
    assert!(
        err.contains(
            "points 1 (eccentricity = 0.1) and 3 (eccentricity = 0.1) are the same configuration"
        ),
        "{err}"
    );
    // An explicit point equal to the experiment as written is a duplicate of the empty point.
    let err = kepler_with("vary:\n  points:\n    - {}\n    - { eccentricity: 0.5 }\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("points 1 (eccentricity = 0.5) and 2"), "{err}");
}

#[test]
fn a_varied_parameter_that_is_also_a_column_is_refused_before_computing() {
    let err = error_of(&format!("{GOOD}vary:\n  grid:\n    x0: [0.5, 1.0]\n"));
    assert!(
        err.contains("fd_convergence.yaml: field `vary.x0`"),
        "{err}"
    );
    assert!(
        err.contains("experiment `fd_convergence` writes a column `x0` itself"),
        "{err}"
    );
    // The same class in the other experiments: a learned derivative's evaluation noise, the
    // steps of Runge–Kutta attention.
    let rka = include_str!("../../../data/sweeps/rk_attention.yaml");
    let err = error_of_named(
        "rk_attention",
        &format!("{rka}vary:\n  points:\n    - {{ steps: [32, 64] }}\n"),
    );
    assert!(err.contains("field `vary.steps`"), "{err}");
}

#[test]
fn the_columns_read_from_the_code_are_every_column_of_the_committed_tables() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let ws = Workspace::at(&root).unwrap();
    for name in ws.sweep_names().unwrap() {
        let sweep = ws.open(&name).unwrap();
        let kind = sweep.spec.experiment.kind();
        let written = attnum_sweep::points::written_columns(kind);
        let varied = sweep.spec.vary.paths();
        for entry in std::fs::read_dir(ws.results_dir(&name)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "csv") {
                let text = std::fs::read_to_string(&path).unwrap();
                let header = text.lines().next().unwrap_or_default();
                for column in header.split(',') {
                    assert!(
                        written.contains(column) || varied.contains(column),
                        "{}: column `{column}` is not found in experiments/{kind}.rs",
                        path.display()
                    );
                }
            }
        }
    }
}

#[test]
fn names_that_are_paths_or_reserved_are_no_sweeps() {
    let (dir, _) = load(GOOD);
    let ws = Workspace::at(dir.path()).unwrap();
    std::fs::write(dir.path().join("data/evil.yaml"), GOOD).unwrap();
    for name in ["../evil", "/etc/hostname", "fd_convergence/..", ".", ""] {
        let err = ws.load(name).unwrap_err().to_string();
        assert!(err.starts_with("no sweep named"), "{name}: {err}");
    }
    // An editor's lock file is no sweep (and blocks no command).
    std::os::unix::fs::symlink(
        "nowhere",
        dir.path().join("data/sweeps/.#fd_convergence.yaml"),
    )
    .unwrap();
    assert_eq!(ws.sweep_names().unwrap(), ["fd_convergence"]);
    let err = error_of_named(
        "figures",
        &GOOD.replace("name: fd_convergence", "name: figures"),
    );
    assert!(err.contains("`figures` is reserved"), "{err}");
}

#[test]
fn a_manifest_naming_files_outside_its_folder_is_refused() {
    let (dir, result) = load(GOOD);
    let sweep = result.unwrap();
    let ws = Workspace::at(dir.path()).unwrap();
    ws.run(&sweep).unwrap();
    let path = ws.results_dir("fd_convergence").join("manifest.json");
    let text = std::fs::read_to_string(&path).unwrap();
    for (from, to) in [
        ("\"table.csv\":", "\"../../../../etc/hostname\":"),
        ("\"table.csv\":", "\"/etc/hostname\":"),
        ("\"orders\":", "\"../orders\":"),
    ] {
        std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
        let err = attnum_results::manifest::Manifest::read(&path)
            .unwrap_err()
            .to_string();
        assert!(err.contains("manifest.json"), "{err}");
        assert!(
            err.contains("inside the results folder") || err.contains("plain file name"),
            "{err}"
        );
        let why = ws.explain(&sweep).unwrap();
        assert_eq!(why.len(), 1, "{why:?}");
    }
    // A link that leads out of the folder is refused where it is read.
    std::fs::write(&path, &text).unwrap();
    let table = ws.results_dir("fd_convergence").join("orders.parquet");
    std::fs::remove_file(&table).unwrap();
    std::os::unix::fs::symlink("/etc/hostname", &table).unwrap();
    let err = ws
        .read_table("fd_convergence", "orders")
        .unwrap_err()
        .to_string();
    assert!(err.contains("outside the results folder"), "{err}");
    let why: Vec<String> = ws
        .explain(&sweep)
        .unwrap()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert!(
        why.iter()
            .any(|r| r.contains("orders.parquet") && r.contains("outside the results folder")),
        "{why:?}"
    );
}

#[test]
fn repeated_or_oversized_lists_are_refused() {
    let err = error_of(&GOOD.replace("[sin, exp, quadratic]", "[sin, exp, sin]"));
    assert!(
        err.contains("field `experiment.fd_convergence.functions[2]`")
            && err.contains("listed twice"),
        "{err}"
    );
    let err = error_of(&GOOD.replace("derivatives: [1, 2]", "derivatives: [1, 2, 1]"));
    assert!(
        err.contains("derivatives[2]") && err.contains("listed twice"),
        "{err}"
    );
    let err = error_of(&GOOD.replace("central: [2, 4, 6, 8]", "central: [2, 4, 2]"));
    assert!(
        err.contains("stencils[0].central[2]") && err.contains("listed twice"),
        "{err}"
    );
    let offsets: Vec<String> = (0..65).map(|i| format!("{i}.0")).collect();
    let err = error_of(&GOOD.replace(
        "- backward: [1, 2, 3, 4]",
        &format!("- offsets: [{}]", offsets.join(", ")),
    ));
    assert!(
        err.contains("stencils[2].offsets") && err.contains("65 nodes"),
        "{err}"
    );
    let err = error_of(
        &GOOD
            .replace("per_decade: 10", "per_decade: 1000")
            .replace("derivatives: [1, 2]", "derivatives: [1, 2, 3]"),
    );
    assert!(
        err.contains("field `experiment.fd_convergence.steps`") && err.contains("rows, more than"),
        "{err}"
    );
}

#[test]
fn a_tolerance_must_name_a_column() {
    let err = kepler_with("verify:\n  eror: { abs: 1.0e-12 }\n")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(
            "field `verify.eror`: names no column of the tables of experiment `rk_convergence`"
        ),
        "{err}"
    );
    let err = kepler_with("verify:\n  ordrs.observed_order: { abs: 1.0e-12 }\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("field `verify.ordrs.observed_order`"), "{err}");
    kepler_with(
        "verify:\n  error: { abs: 1.0e-12 }\n  orders.observed_order: { abs: 1.0e-9 }\n  \"*\": { rel: 1.0e-12 }\n",
    )
    .unwrap();
    // A varied path is a column too.
    kepler_with("vary:\n  grid:\n    fit.points: [3, 4]\nverify:\n  fit.points: { abs: 0.0 }\n")
        .unwrap();
}

#[test]
fn a_manifest_without_the_hash_of_a_table_is_refused() {
    let (dir, result) = load(GOOD);
    let sweep = result.unwrap();
    let ws = Workspace::at(dir.path()).unwrap();
    ws.run(&sweep).unwrap();
    let path = ws.results_dir("fd_convergence").join("manifest.json");
    let mut manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    manifest["outputs"]
        .as_object_mut()
        .unwrap()
        .remove("orders.csv");
    std::fs::write(&path, serde_json::to_vec_pretty(&manifest).unwrap()).unwrap();
    let err = attnum_results::manifest::Manifest::read(&path)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("table `orders` has no hash for orders.csv"),
        "{err}"
    );
    assert_eq!(ws.explain(&sweep).unwrap().len(), 1);
}
