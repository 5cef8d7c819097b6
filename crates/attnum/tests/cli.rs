//! The `attnum` command line, run as a user would: in a scratch copy of a workspace.

use std::path::Path;
use std::process::{Command, Output};

const SWEEP: &str = include_str!("../../../data/sweeps/fd_convergence.yaml");

fn attnum(root: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_attnum"))
        .arg("--root")
        .arg(root)
        .args(args)
        .output()
        .unwrap()
}

fn workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("data/sweeps")).unwrap();
    std::fs::write(dir.path().join("data/sweeps/fd_convergence.yaml"), SWEEP).unwrap();
    dir
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
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
