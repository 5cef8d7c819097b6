//! The `attnum` command line, run as a user would: in a scratch copy of a workspace.

mod common;

use std::path::Path;
use std::process::Command;

use common::{attnum, stderr};

const SWEEP: &str = include_str!("../../../data/sweeps/fd_convergence.yaml");

fn workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("data/sweeps")).unwrap();
    std::fs::write(dir.path().join("data/sweeps/fd_convergence.yaml"), SWEEP).unwrap();
    dir
}

#[test]
fn unknown_sweep_lists_the_sweeps_and_fails() {
    let ws = workspace();
    let out = attnum(ws.path(), &["sweep", "run", "nosuch"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("no sweep named `nosuch`; the sweeps are: fd_convergence"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn run_then_up_to_date_then_stale_after_tampering() {
    let ws = workspace();
    let out = attnum(ws.path(), &["sweep", "run", "fd_convergence"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let dir = ws.path().join("results/fd_convergence");
    for file in [
        "table.parquet",
        "table.csv",
        "orders.parquet",
        "orders.csv",
        "manifest.json",
    ] {
        assert!(dir.join(file).is_file(), "{file} written");
    }
    let manifest = std::fs::read_to_string(dir.join("manifest.json")).unwrap();
    for key in [
        "sweep_file_sha256",
        "git_commit",
        "git_dirty",
        "rustc",
        "started_at",
        "wall_seconds",
    ] {
        assert!(manifest.contains(key), "manifest records {key}");
    }

    let out = attnum(ws.path(), &["sweep", "run", "fd_convergence"]);
    assert!(
        stderr(&out).contains("fd_convergence: up to date"),
        "{}",
        stderr(&out)
    );
    let list = attnum(ws.path(), &["sweep", "list"]);
    assert!(String::from_utf8_lossy(&list.stdout).contains("quick  up to date"));

    let why = attnum(ws.path(), &["why"]);
    assert_eq!(
        String::from_utf8_lossy(&why.stdout),
        "fd_convergence: up to date\n"
    );

    // A comment changes the file but not the configuration: still up to date.
    let sweep_file = ws.path().join("data/sweeps/fd_convergence.yaml");
    std::fs::write(&sweep_file, format!("# a comment\n{SWEEP}")).unwrap();
    let why = attnum(ws.path(), &["why", "fd_convergence"]);
    assert_eq!(
        String::from_utf8_lossy(&why.stdout),
        "fd_convergence: up to date\n"
    );
    // A parameter changes: the reason names it with both values.
    std::fs::write(
        &sweep_file,
        SWEEP.replace("max_step: 0.5", "max_step: 0.25"),
    )
    .unwrap();
    let why = String::from_utf8_lossy(&attnum(ws.path(), &["why"]).stdout).into_owned();
    assert!(
        why.contains("`experiment.fd_convergence.fit.max_step` changed from 0.5 to 0.25"),
        "{why}"
    );
    std::fs::write(&sweep_file, SWEEP).unwrap();

    std::fs::write(dir.join("table.csv"), "tampered").unwrap();
    let list = attnum(ws.path(), &["sweep", "list"]);
    let text = String::from_utf8_lossy(&list.stdout).into_owned();
    assert!(
        text.contains("stale: table.csv differs from its manifest hash"),
        "{text}"
    );
}

#[test]
fn bad_sweep_file_fails_before_any_output() {
    let ws = workspace();
    std::fs::write(
        ws.path().join("data/sweeps/fd_convergence.yaml"),
        SWEEP.replace("from: 1.0,", "from: 0.0,"),
    )
    .unwrap();
    let out = attnum(ws.path(), &["sweep", "run", "fd_convergence"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("steps.from"), "{}", stderr(&out));
    assert!(!stderr(&out).contains("panicked"));
    assert!(!ws.path().join("results").exists());
}

#[test]
fn every_subcommand_has_help() {
    let ws = workspace();
    for args in [
        &["--help"][..],
        &["sweep", "--help"],
        &["sweep", "run", "--help"],
        &["sweep", "list", "--help"],
        &["paper", "--help"],
    ] {
        let out = attnum(ws.path(), args);
        assert!(out.status.success(), "{args:?}");
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("Usage"),
            "{args:?}"
        );
    }
}

fn json(args: &[&str]) -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_attnum"))
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn failure(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_attnum"))
        .args(args)
        .output()
        .unwrap();
    assert!(!out.status.success(), "{args:?} must fail");
    let err = stderr(&out);
    assert!(!err.contains("panicked"), "{err}");
    err
}

#[test]
fn stencil_command_gives_fornberg_weights_and_order() {
    let v = json(&[
        "stencil",
        "--deriv",
        "1",
        "--offsets",
        "-2,-1,0,1,2",
        "--h",
        "0.5",
        "--json",
    ]);
    let w: Vec<f64> = serde_json::from_value(v["weights"].clone()).unwrap();
    let expected = [1.0 / 12.0, -2.0 / 3.0, 0.0, 2.0 / 3.0, -1.0 / 12.0];
    assert!(
        w.iter().zip(expected).all(|(a, b)| (a - b).abs() < 1e-15),
        "{w:?}"
    );
    assert_eq!(v["order"], 4);
    assert_eq!(v["weights_over_h_pow_d"][1], -4.0 / 3.0);
    // Two signs off the centre: two heads; the residual stream does not save one.
    let cell = |v: &serde_json::Value, architecture: &str| {
        v["attention"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["architecture"] == architecture)
            .unwrap()
            .clone()
    };
    assert_eq!(cell(&v, "fewest_heads")["heads"], 2);
    assert_eq!(cell(&v, "one_head_residual")["verdict"], "impossible");
    // Without masks, two heads whose uniform parts cancel are exact at finite logits.
    assert_eq!(
        (
            cell(&v, "bounded_logits")["verdict"].clone(),
            cell(&v, "bounded_logits")["heads"].clone()
        ),
        ("exact".into(), 2.into())
    );
    let forward = json(&["stencil", "--deriv", "1", "--offsets", "0,1", "--json"]);
    assert_eq!(cell(&forward, "one_head_residual")["verdict"], "exact");
    let err = failure(&["stencil", "--deriv", "3", "--offsets", "0,1"]);
    assert!(
        err.contains("derivative order 3 needs at least 4 nodes, got 2"),
        "{err}"
    );
    let err = failure(&["stencil", "--deriv", "1", "--offsets", "0,1,1"]);
    assert!(err.contains("coincide"), "{err}");
}

#[test]
fn quadrature_command() {
    let v = json(&["quadrature", "gauss-legendre", "4", "--json"]);
    assert_eq!(v["degree_of_exactness"], 7);
    assert_eq!(v["positive_weights"], true);
    assert!(
        v["attention"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["verdict"] == "exact"),
        "a positive rule is one head with finite logits: {}",
        v["attention"]
    );
    let v = json(&[
        "quadrature",
        "newton-cotes-closed",
        "9",
        "--interval",
        "0,1",
        "--json",
    ]);
    assert_eq!(v["positive_weights"], false);
    let sum: f64 = v["weights"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_f64().unwrap())
        .sum();
    assert!((sum - 1.0).abs() < 1e-13);
    assert!(failure(&["quadrature", "gauss-legendre", "0"]).contains("at least 1 point"));
    assert!(failure(&["quadrature", "simpson", "3"]).contains("invalid value 'simpson'"));
    assert!(failure(&["quadrature", "gauss-legendre", "3", "--interval", "1,0"]).contains("a < b"));
}

#[test]
fn tableau_and_trees_commands() {
    let v = json(&["tableau", "rk4", "--json"]);
    assert_eq!(v["order"], 4);
    assert_eq!(v["non_negative"], true);
    let depth = v["attention"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["architecture"] == "depth")
        .unwrap()
        .clone();
    assert_eq!(
        (depth["heads"].clone(), depth["layers"].clone()),
        (1.into(), 4.into())
    );
    let v = json(&["tableau", "three-eighths", "--json"]);
    assert_eq!(
        (v["order"].clone(), v["non_negative"].clone()),
        (4.into(), false.into())
    );
    // A tableau of one's own, with rationals: the implicit midpoint rule (Gauss–Legendre s = 1).
    let dir = tempfile::tempdir().unwrap();
    let midpoint = dir.path().join("midpoint.yaml");
    std::fs::write(&midpoint, "a: [[\"1/2\"]]\nb: [1]\n").unwrap();
    let v = json(&["tableau", "--file", midpoint.to_str().unwrap(), "--json"]);
    assert_eq!(
        (v["order"].clone(), v["explicit"].clone()),
        (2.into(), false.into())
    );
    assert_eq!(v["c"][0], 0.5);
    let looped = v["attention"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["architecture"] == "depth")
        .unwrap()
        .clone();
    assert_eq!(
        (looped["verdict"].clone(), looped["layers"].clone()),
        ("in the limit".into(), 2.into())
    );
    let bad = dir.path().join("bad.yaml");
    std::fs::write(&bad, "a: [[0, 0], [\"1/0\", 0]]\nb: [0.5, 0.5]\n").unwrap();
    let err = failure(&["tableau", "--file", bad.to_str().unwrap()]);
    assert!(err.contains("bad.yaml: field `a[1][0]`: `1/0`"), "{err}");
    std::fs::write(&bad, "a: [[0]]\nb: [1]\nd: [1]\n").unwrap();
    let err = failure(&["tableau", "--file", bad.to_str().unwrap()]);
    assert!(err.contains("bad.yaml:3:1: unknown field `d`"), "{err}");
    let err = failure(&["tableau", "rk5"]);
    assert!(err.contains("no Runge–Kutta method named `rk5`") && err.contains("dormand-prince5"));
    let v = json(&["trees", "--order", "5", "--tableau", "rk4", "--json"]);
    let trees = v["trees"].as_array().unwrap();
    assert_eq!(trees.len(), 1 + 1 + 2 + 4 + 9);
    let failing = trees
        .iter()
        .filter(|t| t["residual"].as_f64().unwrap().abs() > 1e-12)
        .count();
    assert!(
        failing > 0
            && trees
                .iter()
                .take(8)
                .all(|t| t["residual"].as_f64().unwrap().abs() < 1e-12)
    );
    assert!(failure(&["trees", "--order", "0"]).contains("--order must be between 1 and 14"));
}

#[test]
fn lit_check_and_show_on_the_repository() {
    let root = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."));
    let out = attnum(root, &["lit", "check"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("entries in") && text.contains("claims: valid"),
        "{text}"
    );
    let out = attnum(root, &["lit", "show", "--theme", "quadrature"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("golubwelsch1969"));
    let out = attnum(root, &["lit", "show", "--theme", "nosuch"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("no theme `nosuch`; the themes are: kernel"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn lit_check_names_file_line_and_field_of_a_bad_entry() {
    let ws = workspace();
    let root = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."));
    let text = std::fs::read_to_string(root.join("data/literature.yaml")).unwrap();
    let bad = text.replacen("doi: 10.1137/1109020", "doi: 10.11/bad", 1);
    assert_ne!(bad, text, "the committed file cites nadaraya1964 by DOI");
    std::fs::write(ws.path().join("data/literature.yaml"), bad).unwrap();
    std::fs::create_dir_all(ws.path().join("paper")).unwrap();
    let out = attnum(ws.path(), &["lit", "check"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("data/literature.yaml:")
            && err.contains("(nadaraya1964).doi: `10.11/bad` is not a DOI"),
        "{err}"
    );
}

#[test]
fn an_oversized_sweep_file_blocks_no_other_command() {
    let ws = workspace();
    let grid: String = (0..10)
        .map(|i| format!("    key{i}: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]\n"))
        .collect();
    let huge = SWEEP.replace("name: fd_convergence", "name: huge");
    std::fs::write(
        ws.path().join("data/sweeps/huge.yaml"),
        format!("{huge}vary:\n  grid:\n{grid}"),
    )
    .unwrap();
    let start = std::time::Instant::now();
    let out = attnum(ws.path(), &["sweep", "list"]);
    assert!(start.elapsed().as_secs() < 10, "counted, not expanded");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(text.contains("fd_convergence"), "{text}");
    assert!(
        text.contains("huge") && text.contains("declares 10000000000 points"),
        "{text}"
    );
    let out = attnum(ws.path(), &["sweep", "run", "fd_convergence"]);
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn an_output_that_cannot_be_written_is_reported_once_and_leaves_nothing_hidden() {
    let ws = workspace();
    let dir = ws.path().join("results/fd_convergence");
    // A directory where the table goes: its rename fails, whoever runs the test (root too).
    std::fs::create_dir_all(dir.join("table.csv/occupied")).unwrap();
    let out = attnum(ws.path(), &["sweep", "run", "fd_convergence"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert_eq!(err.matches("table.csv").count(), 1, "{err}");
    assert_eq!(err.matches("os error").count(), 1, "{err}");
    let hidden: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(hidden.is_empty(), "{hidden:?}");
    assert!(!dir.join("manifest.json").exists());
}

#[test]
fn a_read_only_results_folder_is_reported_once() {
    let ws = workspace();
    let results = ws.path().join("results");
    std::fs::create_dir_all(&results).unwrap();
    let mut permissions = std::fs::metadata(&results).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o555);
    std::fs::set_permissions(&results, permissions).unwrap();
    if std::fs::write(results.join("probe"), "").is_ok() {
        eprintln!("skipped: this user (root) writes into read-only folders");
        return;
    }
    let out = attnum(ws.path(), &["sweep", "run", "fd_convergence"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert_eq!(err.matches("Permission denied").count(), 1, "{err}");
    assert_eq!(std::fs::read_dir(&results).unwrap().count(), 0);
}

#[test]
fn a_sweep_name_is_never_a_path() {
    let ws = workspace();
    std::fs::write(ws.path().join("data/evil.yaml"), SWEEP).unwrap();
    for args in [
        &["sweep", "run", "../evil"][..],
        &["why", "../evil"],
        &["why", "results/../evil"],
        &["verify", "../evil"],
        &["sweep", "merge", "../evil"],
    ] {
        let out = attnum(ws.path(), args);
        assert!(!out.status.success(), "{args:?}");
        assert!(
            stderr(&out).contains("no sweep named `.."),
            "{args:?}: {}",
            stderr(&out)
        );
    }
}

#[test]
fn zero_jobs_is_refused() {
    let ws = workspace();
    let out = attnum(
        ws.path(),
        &["sweep", "run", "fd_convergence", "--jobs", "0"],
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("must be at least 1"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_closed_standard_output_ends_a_command_quietly() {
    // More output than a pipe holds, read by nobody.
    let mut child = Command::new(env!("CARGO_BIN_EXE_attnum"))
        .args(["trees", "--order", "14"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let err = stderr(&out);
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(out.status.code(), Some(141), "{err}");
}
