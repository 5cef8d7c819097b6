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

/// A workspace holding the committed Kepler sweep, already run.
fn kepler_run() -> tempfile::TempDir {
    let ws = workspace_with(include_str!("../../../data/sweeps/rk_convergence.yaml"));
    let out = attnum(ws.path(), &["sweep", "run", "rk_convergence"]);
    assert!(out.status.success(), "{}", stderr(&out));
    ws
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
    // A second merge is a no-op: it says so and rewrites nothing, the manifest included.
    let manifest = read(sharded.path(), "manifest.json");
    let out = attnum(sharded.path(), &["sweep", "merge", "rk_convergence"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("up to date, nothing to merge"),
        "{}",
        stderr(&out)
    );
    assert!(read(sharded.path(), "manifest.json") == manifest);
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
    let ws = kepler_run();
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
    // The CSV file no longer is its Parquet table either.
    assert!(
        report
            .lines()
            .any(|l| l.contains("orders.csv") && l.contains("FAIL (differs from orders.parquet)")),
        "{report}"
    );
    assert!(
        stderr(&out).contains("2 check(s) failed"),
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
    let ws = kepler_run();
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

/// The committed learned-derivative sweep, shortened (two seeds, few epochs, small sets) and
/// varied over the test-set seeds `test_seeds` only: every point trains models, and candle's
/// matrix products run on rayon inside it.
fn learned_sweep(test_seeds: &str) -> String {
    let text = include_str!("../../../data/sweeps/learned_derivative.yaml");
    for part in [
        "epochs: 2000",
        "sizes: [256, 128, 512]",
        "seeds: [1, 2, 3, 4, 5]",
    ] {
        assert!(text.contains(part), "`{part}` is in the committed file");
    }
    let fixed = &text[..text
        .find("\nvary:")
        .expect("the committed file varies points")];
    format!(
        "{}\nvary:\n  grid:\n    test_seed: [{test_seeds}]\n",
        fixed
            .replace("epochs: 2000", "epochs: 200")
            .replace("sizes: [256, 128, 512]", "sizes: [64, 32, 64]")
            .replace("seeds: [1, 2, 3, 4, 5]", "seeds: [1, 2]")
    )
}

fn workspace_named(name: &str, sweep: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let sweeps = dir.path().join("data/sweeps");
    std::fs::create_dir_all(&sweeps).unwrap();
    std::fs::write(sweeps.join(format!("{name}.yaml")), sweep).unwrap();
    dir
}

/// The test-set seeds of the completed points in the cache of `learned_derivative`.
fn completed_seeds(root: &Path) -> Vec<u64> {
    let cache = root.join("results/learned_derivative/.points");
    let mut seeds: Vec<u64> = std::fs::read_dir(cache)
        .map(|d| {
            d.flatten()
                .filter(|e| !e.file_name().to_string_lossy().contains(".partial-"))
                .filter_map(|e| std::fs::read(e.path().join("point.json")).ok())
                .map(|bytes| {
                    let record: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
                    record["parameters"]["test_seed"].as_u64().unwrap()
                })
                .collect()
        })
        .unwrap_or_default();
    seeds.sort_unstable();
    seeds
}

/// Hidden leftovers of a process in the results folder: partial points and temporary files.
fn leftovers(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    for sub in [dir.to_owned(), dir.join(".points"), dir.join("weights")] {
        for entry in std::fs::read_dir(sub).into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.contains(".partial-") || name.ends_with(".tmp") {
                found.push(name);
            }
        }
    }
    found
}

#[test]
fn with_one_job_a_killed_run_keeps_every_point_it_finished() {
    let ws = workspace_named(
        "learned_derivative",
        &learned_sweep("1, 2, 3, 4, 5, 6, 7, 8"),
    );
    let dir = ws.path().join("results/learned_derivative");
    let mut child = Command::new(env!("CARGO_BIN_EXE_attnum"))
        .arg("--root")
        .arg(ws.path())
        .args(["sweep", "run", "learned_derivative", "--jobs", "1"])
        // candle's matrix products use rayon with several threads, as on any multi-core machine.
        .env("RAYON_NUM_THREADS", "2")
        .env_remove("CANDLE_NUM_THREADS")
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while completed_seeds(ws.path()).is_empty() && start.elapsed() < Duration::from_secs(300) {
        std::thread::sleep(Duration::from_millis(10));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let done = completed_seeds(ws.path());
    // One point at a time, in order: the first point saved is the first point of the sweep.
    assert_eq!(done.first(), Some(&1), "saved when killed: seeds {done:?}");
    assert!(done.len() < 8, "killed before the end: seeds {done:?}");
    // Leftovers of a dead process (a partial point, a temporary file) as a kill leaves them.
    let mut dead = Command::new("true").spawn().unwrap();
    let dead_pid = dead.id();
    dead.wait().unwrap();
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    let host: String = host
        .trim()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let tag = format!("{host}-{dead_pid}");
    std::fs::create_dir_all(dir.join(format!(".points/{}.partial-{tag}", "0".repeat(64)))).unwrap();
    std::fs::write(dir.join(format!(".table.csv.{tag}.tmp")), "half").unwrap();
    assert_eq!(leftovers(&dir).len(), 2, "{:?}", leftovers(&dir));

    let out = Command::new(env!("CARGO_BIN_EXE_attnum"))
        .arg("--root")
        .arg(ws.path())
        .args(["sweep", "run", "learned_derivative", "--jobs", "1"])
        .env("RAYON_NUM_THREADS", "2")
        .env_remove("CANDLE_NUM_THREADS")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let reused = done.len();
    assert!(
        stderr(&out).contains(&format!(
            "{} point(s) computed, {reused} reused",
            8 - reused
        )),
        "{}",
        stderr(&out)
    );
    assert!(leftovers(&dir).is_empty(), "{:?}", leftovers(&dir));
    // Each point's time is its own: the points computed now took no longer than the run.
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    let points = manifest["points"].as_array().unwrap();
    let computed_now: f64 = points[reused..]
        .iter()
        .map(|p| p["wall_seconds"].as_f64().unwrap())
        .sum();
    let run = manifest["wall_seconds"].as_f64().unwrap();
    assert!(
        computed_now <= run,
        "points {computed_now} s in a run of {run} s"
    );
}

/// `attnum verify ARGS…` in `root`: success, the report (stdout) and stderr.
/// Every table (`*.csv`) and every weights file (`weights/*`) a learned sweep writes, by name,
/// as bytes.
fn written_results(root: &Path, sweep: &str) -> Vec<(String, Vec<u8>)> {
    let dir = root.join("results").join(sweep);
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    for (folder, keep) in [(dir.clone(), ".csv"), (dir.join("weights"), "")] {
        for entry in std::fs::read_dir(&folder).unwrap().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if entry.path().is_file() && name.ends_with(keep) {
                let relative = entry
                    .path()
                    .strip_prefix(&dir)
                    .unwrap()
                    .display()
                    .to_string();
                files.push((relative, std::fs::read(entry.path()).unwrap()));
            }
        }
    }
    files.sort();
    files
}

#[test]
fn the_thread_count_of_candles_cpu_pool_changes_no_result() {
    // The transformer, whose fused kernels cut every batch into parts of 32 rows that two
    // threads share (that a part gives what its rows give alone is `fused`'s unit test); its
    // tables and weights must not depend on which thread took which part.
    let token_heads = "model: { token_heads: { heads: 2, width: 4, init_scale: 0.5 } }";
    let sweep = learned_sweep("1");
    assert!(sweep.contains(token_heads), "the committed file's model");
    let sweep = sweep.replace(
        token_heads,
        "model: { transformer: { width: 16, heads: 2, blocks: 1, dropout: 0.0 } }",
    );
    let tables = ["1", "2"].map(|threads| {
        let ws = workspace_named("learned_derivative", &sweep);
        let out = Command::new(env!("CARGO_BIN_EXE_attnum"))
            .arg("--root")
            .arg(ws.path())
            .args(["sweep", "run", "learned_derivative", "--jobs", "1"])
            .env("CANDLE_NUM_THREADS", threads)
            .env("RAYON_NUM_THREADS", "1")
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        written_results(ws.path(), "learned_derivative")
    });
    let names = |files: &[(String, Vec<u8>)]| files.iter().map(|f| f.0.clone()).collect::<Vec<_>>();
    assert_eq!(names(&tables[0]), names(&tables[1]));
    assert!(
        names(&tables[0]).iter().any(|n| n.starts_with("weights/")) && tables[0].len() >= 6,
        "written: {:?}",
        names(&tables[0])
    );
    for ((name, one), (_, two)) in tables[0].iter().zip(&tables[1]) {
        assert!(one == two, "{name} differs between one and two threads");
    }
}

fn verify(root: &Path, args: &[&str]) -> (bool, String, String) {
    let mut all = vec!["verify"];
    all.extend_from_slice(args);
    let out = attnum(root, &all);
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr(&out),
    )
}

#[test]
fn verify_checks_a_named_sweep_of_another_tier_and_lists_what_it_skipped() {
    let text = include_str!("../../../data/sweeps/rk_convergence.yaml")
        .replace("tier: quick", "tier: full");
    let ws = workspace_with(&text);
    assert!(
        attnum(ws.path(), &["sweep", "run", "rk_convergence"])
            .status
            .success()
    );
    let (ok, report, err) = verify(ws.path(), &["--tier", "quick", "rk_convergence"]);
    assert!(ok, "{report}\n{err}");
    assert!(
        report
            .lines()
            .any(|l| l.starts_with("rk_convergence") && l.contains("orders") && l.contains("pass")),
        "the named sweep is checked: {report}"
    );
    assert!(
        report.contains("note: tier full, checked because it was named"),
        "{report}"
    );
    assert!(report.contains("figures: skipped: everything"), "{report}");
    // Unnamed, a sweep of another tier is skipped, and the report and the verdict say so.
    let (ok, report, err) = verify(ws.path(), &["--tier", "quick"]);
    assert!(!ok, "no figures here: {report}");
    assert!(
        report.contains("rk_convergence: skipped: everything (tier full"),
        "{report}"
    );
    assert!(!err.contains("every check passed"), "{err}");
    // What was checked, per sweep.
    let (_, report, _) = verify(ws.path(), &["rk_convergence"]);
    for item in [
        "rk_convergence:\n  checked: that the results were made from the sweep file as it is",
        "checked: 4 output file(s) against their manifest hashes",
        "checked: 2 CSV file(s) against their Parquet tables",
        "column(s) of 2 table(s) recomputed from 1 point(s)",
    ] {
        assert!(report.contains(item), "`{item}` in {report}");
    }
}

#[test]
fn verify_compares_csv_files_with_their_tables_even_with_updated_hashes() {
    let ws = kepler_run();
    let dir = ws.path().join("results/rk_convergence");
    let csv = std::fs::read_to_string(dir.join("orders.csv")).unwrap();
    let row = csv.lines().nth(1).unwrap();
    let last = row.rsplit(',').next().unwrap();
    let tampered = csv.replacen(
        row,
        &format!("{}{}", &row[..row.len() - last.len()], "9.99"),
        1,
    );
    assert_ne!(tampered, csv);
    std::fs::write(dir.join("orders.csv"), &tampered).unwrap();
    let path = dir.join("manifest.json");
    let mut manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    manifest["outputs"]["orders.csv"] =
        attnum_results::manifest::sha256_hex(tampered.as_bytes()).into();
    std::fs::write(&path, serde_json::to_vec_pretty(&manifest).unwrap()).unwrap();
    let (ok, report, _) = verify(ws.path(), &["rk_convergence"]);
    assert!(!ok, "{report}");
    assert!(
        report
            .lines()
            .any(|l| l.contains("orders.csv") && l.contains("FAIL (differs from orders.parquet)")),
        "{report}"
    );
}

#[test]
fn verify_never_reads_a_file_outside_the_results_folder() {
    let ws = kepler_run();
    let path = ws.path().join("results/rk_convergence/manifest.json");
    let mut manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let outside = std::fs::read("/etc/hostname").unwrap();
    manifest["outputs"]["../../../../etc/hostname"] =
        attnum_results::manifest::sha256_hex(&outside).into();
    std::fs::write(&path, serde_json::to_vec_pretty(&manifest).unwrap()).unwrap();
    let (ok, report, _) = verify(ws.path(), &["rk_convergence"]);
    assert!(!ok, "{report}");
    assert!(
        report.contains("is not a path inside the results folder"),
        "{report}"
    );
    assert!(
        !report
            .lines()
            .any(|l| l.contains("etc/hostname") && l.contains("pass")),
        "{report}"
    );
    let why =
        String::from_utf8_lossy(&attnum(ws.path(), &["why", "rk_convergence"]).stdout).into_owned();
    assert!(why.contains("rk_convergence: stale"), "{why}");
}

#[test]
fn verify_says_when_the_results_are_of_another_configuration() {
    let text = include_str!("../../../data/sweeps/rk_convergence.yaml");
    let ws = workspace_with(text);
    assert!(
        attnum(ws.path(), &["sweep", "run", "rk_convergence"])
            .status
            .success()
    );
    std::fs::write(
        ws.path().join("data/sweeps/rk_convergence.yaml"),
        text.replace("eccentricity: 0.5", "eccentricity: 0.4"),
    )
    .unwrap();
    let (ok, report, _) = verify(ws.path(), &["rk_convergence"]);
    assert!(!ok, "{report}");
    assert!(
        report.contains("stale: the results were made from another configuration")
            && report.contains("`experiment.rk_convergence.eccentricity` changed from 0.5 to 0.4"),
        "{report}"
    );
    assert!(
        report.contains(
            "skipped: the recomputation: the committed results are of another configuration"
        ),
        "{report}"
    );
}

/// A copy of the repository's sweep files and committed results.
fn committed_copy() -> tempfile::TempDir {
    let root = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."));
    let dir = tempfile::tempdir().unwrap();
    for sub in ["data/sweeps", "results"] {
        let status = Command::new("cp")
            .arg("-r")
            .arg(root.join(sub))
            .arg(
                dir.path()
                    .join(sub)
                    .parent()
                    .map(|p| {
                        std::fs::create_dir_all(p).unwrap();
                        p.to_owned()
                    })
                    .unwrap(),
            )
            .status()
            .unwrap();
        assert!(status.success());
    }
    dir
}

/// The result of each check of `figures`' report on `file`, e.g. `[("sha256", "pass")]`.
fn figure_checks(report: &str, file: &str) -> Vec<String> {
    report
        .lines()
        .filter(|l| l.starts_with("figures") && l.split_whitespace().nth(1) == Some(file))
        .map(|l| l.split_whitespace().skip(3).collect::<Vec<_>>().join(" "))
        .collect()
}

#[test]
fn verify_checks_the_figure_pdfs_against_their_manifest_and_a_fresh_drawing() {
    let ws = committed_copy();
    let (_, before, _) = verify(ws.path(), &["figures"]);
    assert!(
        before.contains("figure PDF(s) against results/figures/manifest.json"),
        "{before}"
    );
    let figures = ws.path().join("results/figures");
    std::fs::remove_file(figures.join("fd_convergence.pdf")).unwrap();
    let mut pdf = std::fs::read(figures.join("rk_convergence.pdf")).unwrap();
    pdf.extend_from_slice(b"\n% altered\n");
    std::fs::write(figures.join("rk_convergence.pdf"), &pdf).unwrap();
    let (ok, after, _) = verify(ws.path(), &["figures"]);
    assert!(!ok, "{after}");
    assert!(
        figure_checks(&after, "fd_convergence.pdf")
            .iter()
            .any(|c| c.contains("FAIL (missing)")),
        "{after}"
    );
    assert!(
        figure_checks(&after, "rk_convergence.pdf")
            .iter()
            .any(|c| c.contains("FAIL (tampered")),
        "{after}"
    );
    // With its hash updated in the figure manifest, the altered figure still differs from a
    // fresh drawing.
    let path = figures.join("manifest.json");
    let mut manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    manifest["rk_convergence"]["sha256"] = attnum_results::manifest::sha256_hex(&pdf).into();
    std::fs::write(&path, serde_json::to_vec_pretty(&manifest).unwrap()).unwrap();
    let (_, after, _) = verify(ws.path(), &["figures"]);
    let checks = figure_checks(&after, "rk_convergence.pdf");
    assert!(
        checks
            .iter()
            .any(|c| c.contains("FAIL (differs from a fresh drawing")),
        "{checks:?}"
    );
    // The other figures' results are what they were before.
    assert_eq!(
        figure_checks(&before, "noisy_derivative.pdf"),
        figure_checks(&after, "noisy_derivative.pdf")
    );
}

/// A small `kernel_attention` sweep whose second point passes every check but gives the S1
/// interval `[-1e308, 1e308]`, whose width overflows: its nodes are not finite and the kernel
/// attention refuses them.
fn overflowing_kernel_sweep() -> String {
    let text = include_str!("../../../data/sweeps/kernel_attention.yaml");
    let header = &text[..text.find("experiment:").unwrap()];
    format!(
        "{header}experiment:
  kernel_attention:
    query: 0.3
    bias: {{ sigmas: {{ from: 1.0, to: 0.1, per_decade: 1 }}, nodes_per_sigma: 4 }}
    aliasing: {{ sigma: 1.0, sigma_over_h: {{ from: 0.5, to: 2.0, points: 2 }}, offset: 0.25 }}
    boundary: {{ sigma: 1.0, nodes_per_sigma: 4, distances: {{ from: 0.0, to: 1.0, points: 2 }} }}
    refinement: {{ sigma: 0.5, sigma_over_h: {{ from: 0.5, to: 5.0, per_decade: 1 }} }}
    s1:
      quadratic: [-3.0, 2.0, 1.0]
      interval: [-5.0, 5.0]
      query: 1.0
      step: 0.01
      sigmas: [1.0]
      point_counts: [5]
vary:
  grid:
    s1.interval: [[-5.0, 5.0], [-1.0e308, 1.0e308]]
"
    )
}

#[test]
fn a_failed_library_call_is_a_failed_point_naming_the_sweep_and_point_not_a_panic() {
    let ws = workspace_named("kernel_attention", &overflowing_kernel_sweep());
    let out = attnum(ws.path(), &["sweep", "run", "kernel_attention"]);
    let err = stderr(&out);
    assert!(!out.status.success(), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(
        err.contains("sweep `kernel_attention`: 1 point(s) failed"),
        "{err}"
    );
    let line = err
        .lines()
        .find(|l| l.contains("point 2 (s1.interval = - -1e308 - 1e308): "))
        .unwrap_or_else(|| panic!("the failed point is named: {err}"));
    assert!(
        line.contains("experiment `kernel_attention`: Gaussian-score attention with σ = 1 on 5 nodes: kernel attention needs finite nodes"),
        "{line}"
    );
    // The good point is cached, and nothing is written for the sweep.
    let results = ws.path().join("results/kernel_attention");
    assert!(!results.join("manifest.json").exists());
    assert_eq!(
        std::fs::read_dir(results.join(".points")).unwrap().count(),
        1
    );
}
