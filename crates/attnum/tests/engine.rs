//! The sweep engine as a user meets it: points, resume after SIGKILL, shards and merge,
//! `verify` against tampering.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{attnum, stderr};

/// The committed Kepler sweep with the eccentricity varied over `values`.
fn kepler_sweep(values: &str) -> String {
    let text = include_str!("../../../data/sweeps/rk_convergence.yaml");
    format!("{text}vary:\n  grid:\n    eccentricity: [{values}]\n")
}

fn workspace_with(sweep: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let sweeps = dir.path().join("data/sweeps");
    std::fs::create_dir_all(&sweeps).unwrap();
    std::fs::write(sweeps.join("rk_convergence.yaml"), sweep).unwrap();
    dir
}

fn read(root: &Path, file: &str) -> Vec<u8> {
    std::fs::read(root.join("results/rk_convergence").join(file)).unwrap()
}

fn completed_points(root: &Path) -> usize {
    std::fs::read_dir(root.join("results/rk_convergence/.points"))
        .map(|d| {
            d.flatten()
                .filter(|e| !e.file_name().to_string_lossy().contains(".partial-"))
                .count()
        })
        .unwrap_or(0)
}

#[test]
fn points_carry_their_parameters_and_shards_merge_to_the_unsharded_result() {
    let sweep = kepler_sweep("0.1, 0.3, 0.5");
    let whole = workspace_with(&sweep);
    let out = attnum(
        whole.path(),
        &["sweep", "run", "rk_convergence", "--jobs", "2"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("3 point(s) computed, 0 reused"),
        "{}",
        stderr(&out)
    );
    let csv = String::from_utf8(read(whole.path(), "orders.csv")).unwrap();
    assert!(csv.starts_with("eccentricity,method,"), "{csv}");
    assert_eq!(csv.lines().count(), 1 + 3 * 12);

    let sharded = workspace_with(&sweep);
    for shard in ["1/2", "2/2"] {
        let out = attnum(
            sharded.path(),
            &["sweep", "run", "rk_convergence", "--shard", shard],
        );
        assert!(out.status.success(), "{}", stderr(&out));
    }
    assert!(
        !sharded
            .path()
            .join("results/rk_convergence/orders.csv")
            .exists()
    );
    let out = attnum(sharded.path(), &["sweep", "merge", "rk_convergence"]);
    assert!(out.status.success(), "{}", stderr(&out));
    for file in ["table.parquet", "table.csv", "orders.parquet", "orders.csv"] {
        assert!(
            read(whole.path(), file) == read(sharded.path(), file),
            "{file} differs"
        );
    }
    // A merge with a point missing names it.
    let partial = workspace_with(&sweep);
    attnum(
        partial.path(),
        &["sweep", "run", "rk_convergence", "--shard", "1/3"],
    );
    let out = attnum(partial.path(), &["sweep", "merge", "rk_convergence"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("2 point(s) not computed yet"),
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("point 2 (eccentricity = 0.3)"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_sweep_killed_mid_run_resumes_without_redoing_finished_points() {
    let sweep = kepler_sweep("0.1, 0.2, 0.3, 0.4, 0.5, 0.6");
    let reference = workspace_with(&sweep);
    assert!(
        attnum(reference.path(), &["sweep", "run", "rk_convergence"])
            .status
            .success()
    );

    let ws = workspace_with(&sweep);
    let mut child = Command::new(env!("CARGO_BIN_EXE_attnum"))
        .arg("--root")
        .arg(ws.path())
        .args(["sweep", "run", "rk_convergence"])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while completed_points(ws.path()) < 1 && start.elapsed() < Duration::from_secs(120) {
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let done = completed_points(ws.path());
    assert!((1..6).contains(&done), "{done} points done when killed");
    assert!(
        !ws.path().join("results/rk_convergence/orders.csv").exists(),
        "no partial table is ever visible"
    );
    let out = attnum(ws.path(), &["sweep", "run", "rk_convergence"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!("{} point(s) computed, {done} reused", 6 - done)),
        "{}",
        stderr(&out)
    );
    for file in ["table.parquet", "orders.parquet", "orders.csv"] {
        assert!(
            read(reference.path(), file) == read(ws.path(), file),
            "{file} differs"
        );
    }
}

#[test]
fn verify_passes_on_fresh_results_and_names_a_tampered_file() {
    let ws = workspace_with(include_str!("../../../data/sweeps/rk_convergence.yaml"));
    assert!(
        attnum(ws.path(), &["sweep", "run", "rk_convergence"])
            .status
            .success()
    );
    let out = attnum(ws.path(), &["verify", "rk_convergence"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let csv = ws.path().join("results/rk_convergence/orders.csv");
    let text = std::fs::read_to_string(&csv)
        .unwrap()
        .replacen("rk4", "rk5", 1);
    std::fs::write(&csv, text).unwrap();
    let out = attnum(ws.path(), &["verify", "rk_convergence"]);
    assert!(!out.status.success());
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        report
            .lines()
            .any(|l| l.contains("orders.csv") && l.contains("FAIL (tampered")),
        "{report}"
    );
    assert!(
        stderr(&out).contains("1 check(s) failed"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn editing_tolerances_does_not_make_a_sweep_stale_but_editing_a_parameter_does() {
    let text = include_str!("../../../data/sweeps/rk_convergence.yaml");
    let ws = workspace_with(text);
    assert!(
        attnum(ws.path(), &["sweep", "run", "rk_convergence"])
            .status
            .success()
    );
    let sweep = ws.path().join("data/sweeps/rk_convergence.yaml");
    std::fs::write(
        &sweep,
        format!("{text}verify:\n  error: {{ abs: 1.0e-12 }}\n"),
    )
    .unwrap();
    let why = String::from_utf8_lossy(&attnum(ws.path(), &["why"]).stdout).into_owned();
    assert!(why.contains("rk_convergence: up to date"), "{why}");
    std::fs::write(
        &sweep,
        text.replace("eccentricity: 0.5", "eccentricity: 0.4"),
    )
    .unwrap();
    let why = String::from_utf8_lossy(&attnum(ws.path(), &["why"]).stdout).into_owned();
    assert!(
        why.contains("`experiment.rk_convergence.eccentricity` changed from 0.5 to 0.4"),
        "{why}"
    );
}

#[test]
fn why_names_a_code_change_and_accepts_a_result_file() {
    let ws = workspace_with(include_str!("../../../data/sweeps/rk_convergence.yaml"));
    assert!(
        attnum(ws.path(), &["sweep", "run", "rk_convergence"])
            .status
            .success()
    );
    let out = attnum(ws.path(), &["why", "results/rk_convergence/orders.csv"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("rk_convergence: up to date"));
    // Results computed by other code: the manifest records another fingerprint.
    let manifest = ws.path().join("results/rk_convergence/manifest.json");
    let text = std::fs::read_to_string(&manifest).unwrap();
    let mut json: serde_json::Value = serde_json::from_str(&text).unwrap();
    json["code_fingerprint"] = "0".repeat(64).into();
    std::fs::write(&manifest, serde_json::to_vec_pretty(&json).unwrap()).unwrap();
    let why = String::from_utf8_lossy(&attnum(ws.path(), &["why"]).stdout).into_owned();
    assert!(
        why.contains("the code of experiment `rk_convergence` changed"),
        "{why}"
    );
}
