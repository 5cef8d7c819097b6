//! The paper renderer: from `results/` and `paper/` to `paper/build/paper.pdf`.
//!
//! 1. [`figures`]: each figure is drawn from the results tables with plotters and written as a
//!    vector PDF with embedded fonts to `results/figures/NAME.pdf` ([`figure`], [`plot`]);
//!    `results/figures/manifest.json` records each figure's hash and the tables it read.
//! 2. [`numbers`]: every number the text quotes is a named query in `paper/numbers/SWEEP.yaml`,
//!    rendered as a LaTeX macro into `paper/build/numbers.tex`.
//! 3. [`latex`]: every `.tex` file under `paper/` is a Tera 2 template (delimiters `<< >>`,
//!    `<% %>`, `<# #>`, LaTeX escaping) rendered into `paper/build/` with all results tables and
//!    manifests in its context, and the related work of [`literature`]: the bibliography
//!    `references.bib` is generated from `data/literature.yaml`, and the claims audit of
//!    `data/claims.yaml` has its evidence evaluated (a query without a row fails the build).
//! 4. [`compile`]: latexmk builds `paper/build/paper.pdf` with `SOURCE_DATE_EPOCH` from the last
//!    commit, so the same inputs give the same bytes.
//!
//! Every output is written only when its bytes change, so a rebuild with nothing new is a no-op.
//! This crate reads results but never computes them.

pub mod compile;
pub mod environment;
pub mod error;
pub mod figure;
pub mod figures;
pub mod latex;
pub mod literature;
pub mod numbers;
pub mod peers;
pub mod plot;
pub mod provenance;
pub mod results;
pub mod stamp;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use attnum_results::Workspace;
use attnum_results::atomic::write_if_changed;
use attnum_results::report::Report;
use serde::Serialize;

pub use error::{PaperError, Result};
pub use results::Results;

/// Where the paper's inputs and outputs live in a workspace.
#[derive(Debug, Clone)]
pub struct PaperLayout {
    /// `paper/`: templates and `numbers/` (the queries of each sweep).
    pub source: PathBuf,
    /// `paper/build/`: rendered `.tex`, figures, and the PDF.
    pub build: PathBuf,
    /// `results/figures/`: the committed figure PDFs.
    pub figures: PathBuf,
}

impl PaperLayout {
    /// The layout of `workspace`.
    pub fn of(workspace: &Workspace) -> Self {
        let source = workspace.root().join("paper");
        Self {
            build: source.join("build"),
            figures: workspace.results_root().join("figures"),
            source,
        }
    }
}

/// What [`render`] wrote.
#[derive(Debug, Clone, Default)]
pub struct RenderSummary {
    /// Files whose bytes changed.
    pub written: Vec<PathBuf>,
    /// Files that were already up to date.
    pub unchanged: usize,
}

impl RenderSummary {
    fn record(&mut self, path: &Path, bytes: &[u8]) -> Result<()> {
        if write_if_changed(path, bytes)? {
            self.written.push(path.to_owned());
        } else {
            self.unchanged += 1;
        }
        Ok(())
    }
}

/// One sweep's provenance, as templates see it.
#[derive(Debug, Serialize)]
struct SweepContext {
    /// The parsed configuration the results were made with, from the manifest (the sweep file
    /// without its `verify` tolerances and point limit).
    spec: serde_json::Value,
    sweep_file: String,
    sweep_file_sha256: String,
    git_commit: String,
    wall_seconds: f64,
    rows: BTreeMap<String, usize>,
    /// Number of points.
    points: usize,
    /// Sum of the points' wall times (the serial compute time), seconds.
    point_seconds: f64,
    /// Peak resident memory of the run, MiB.
    peak_rss_mib: f64,
    /// CPU model and parallelism of the run.
    cpu: String,
    jobs: usize,
    /// The CPU model as LaTeX that wraps in any column ([`environment::machine_text`]).
    cpu_tex: String,
    /// The sweep's name as breakable typewriter LaTeX ([`environment::breakable_name`]).
    name_tex: String,
    /// Short hash of the parsed configuration.
    config_hash: String,
    /// The caption line linking the sweep file, its tables and its manifest (LaTeX).
    provenance: String,
}

/// Render figures, number macros and templates into `paper/build/` (no LaTeX run).
pub fn render(workspace: &Workspace) -> Result<RenderSummary> {
    let layout = PaperLayout::of(workspace);
    let results = Results::load(workspace)?;
    let mut summary = RenderSummary::default();
    for dir in [
        &layout.figures,
        &layout.build,
        &layout.build.join("figures"),
        &layout.build.join("manifests"),
        &layout.build.join("sections"),
    ] {
        attnum_results::atomic::remove_dead_temporaries(dir);
    }

    let mut provenance = BTreeMap::new();
    for fig in figures::FIGURES {
        let svg = fig.draw(&results)?;
        let pdf = figure::svg_to_pdf(fig.name, &svg)?;
        let file = format!("{}.pdf", fig.name);
        summary.record(&layout.figures.join(&file), &pdf)?;
        summary.record(&layout.build.join("figures").join(&file), &pdf)?;
        provenance.insert(fig.name, figure_provenance(&results, fig.name, &pdf));
    }
    let mut json = serde_json::to_vec_pretty(&provenance).expect("provenance serialises");
    json.push(b'\n');
    summary.record(&layout.figures.join("manifest.json"), &json)?;

    // The manifests, beside the sources, for `\embedfile` (and the arXiv bundle).
    for name in results.manifests.keys() {
        let path = workspace.results_dir(name).join("manifest.json");
        let bytes = std::fs::read(&path).map_err(|e| PaperError::io(&path, e))?;
        summary.record(
            &layout.build.join("manifests").join(format!("{name}.json")),
            &bytes,
        )?;
    }

    let macros = numbers::render_macros(&layout.source.join("numbers"), &results)?;
    summary.record(&layout.build.join("numbers.tex"), macros.as_bytes())?;

    let cited = literature::cited_keys(&layout.source, &layout.build)?;
    let (bibliography, literature) = literature::render(workspace.root(), &cited, &results)?;
    summary.record(
        &layout.build.join("references.bib"),
        bibliography.as_bytes(),
    )?;
    let commit = provenance::build_commit(workspace.root());
    let mut context = template_context(workspace, &results, &commit)?;
    context.insert("literature", &literature);
    // Each figure's caption line, from the tables its drawing read.
    let figure_sources: BTreeMap<&str, String> = figures::FIGURES
        .iter()
        .map(|fig| {
            let read = results.tables_read_by(fig.name);
            (
                fig.name,
                provenance::line(&commit, &results.manifests, &read),
            )
        })
        .collect();
    context.insert("figure_sources", &figure_sources);
    let mut tera = latex::tera();
    let mut sources = Vec::new();
    collect_sources(&layout.source, &layout.build, &mut sources)?;
    sources.sort();
    for path in &sources {
        let rel = path.strip_prefix(&layout.source).unwrap_or(path);
        let name = rel.to_string_lossy().replace('\\', "/");
        let out = layout.build.join(rel);
        if path.extension().is_some_and(|e| e == "tex") {
            tera.add_template_file(path, Some(&name))
                .map_err(|e| PaperError::Template {
                    path: path.clone(),
                    message: e.to_string(),
                })?;
            let text = tera
                .render(&name, &context)
                .map_err(|e| PaperError::Template {
                    path: path.clone(),
                    message: error_chain(&e),
                })?;
            summary.record(&out, text.as_bytes())?;
        }
    }
    Ok(summary)
}

/// Render one template of `paper/` (e.g. `sections/compute.tex`) with the results of
/// `workspace` and return the LaTeX, writing nothing: the context has the tables, the sweeps
/// and the environment, but not the related work or the figures' provenance lines.
///
/// # Errors
/// Missing results, or a template that fails to parse or render.
pub fn render_template(workspace: &Workspace, name: &str) -> Result<String> {
    let layout = PaperLayout::of(workspace);
    let results = Results::load(workspace)?;
    let commit = provenance::build_commit(workspace.root());
    let context = template_context(workspace, &results, &commit)?;
    let path = layout.source.join(name);
    let mut tera = latex::tera();
    tera.add_template_file(&path, Some(name))
        .map_err(|e| PaperError::Template {
            path: path.clone(),
            message: e.to_string(),
        })?;
    tera.render(name, &context)
        .map_err(|e| PaperError::Template {
            path,
            message: error_chain(&e),
        })
}

/// One figure as `results/figures/manifest.json` records it.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct FigureRecord {
    pdf: String,
    sha256: String,
    tables: BTreeMap<String, FigureInput>,
}

/// A table a figure was drawn from, as the figure manifest records it.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // provenance for readers; `verify` compares `file` and `sha256`
struct FigureInput {
    file: String,
    sha256: String,
    sweep_file: String,
    sweep_file_sha256: String,
    code_fingerprint: String,
}

/// `attnum verify`'s check of the figures: every figure of the paper is listed in
/// `results/figures/manifest.json`, its PDF has the recorded hash, it was drawn from the tables
/// committed now (their hashes in the sweeps' manifests), and it is byte for byte what drawing
/// those tables gives now. Stray PDFs and unknown entries fail.
///
/// # Errors
/// An unreadable figures folder.
pub fn verify_figures(workspace: &Workspace) -> Result<Report> {
    use attnum_results::manifest::{Manifest, sha256_hex};
    let layout = PaperLayout::of(workspace);
    let mut report = Report::new("figures");
    let manifest_path = layout.figures.join("manifest.json");
    let records: BTreeMap<String, FigureRecord> = match std::fs::read(&manifest_path) {
        Err(_) => {
            report.artifact(
                "manifest.json",
                "-",
                Some("missing: run `attnum paper`".into()),
            );
            report
                .skipped
                .push("everything else: there is no figure manifest".into());
            return Ok(report);
        }
        Ok(bytes) => match serde_json::from_slice(&bytes) {
            Ok(records) => records,
            Err(e) => {
                report.artifact("manifest.json", "-", Some(format!("unreadable: {e}")));
                report
                    .skipped
                    .push("everything else: the figure manifest cannot vouch for any file".into());
                return Ok(report);
            }
        },
    };
    let known: Vec<&str> = figures::FIGURES.iter().map(|f| f.name).collect();
    for name in records.keys().filter(|n| !known.contains(&n.as_str())) {
        report.artifact(
            "manifest.json",
            "-",
            Some(format!(
                "lists `{name}`, which is not a figure of the paper"
            )),
        );
    }
    let entries =
        std::fs::read_dir(&layout.figures).map_err(|e| PaperError::io(&layout.figures, e))?;
    let mut stray: Vec<String> = entries
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|f| f.ends_with(".pdf") && !known.contains(&f.trim_end_matches(".pdf")))
        .collect();
    stray.sort();
    for file in stray {
        report.artifact(&file, "-", Some("not a figure of the paper".into()));
    }
    let mut manifests: BTreeMap<String, Option<Manifest>> = BTreeMap::new();
    let mut committed: BTreeMap<&str, Vec<u8>> = BTreeMap::new();
    for name in &known {
        let file = format!("{name}.pdf");
        let Some(record) = records.get(*name) else {
            report.artifact(
                &file,
                "sha256",
                Some("not in results/figures/manifest.json".into()),
            );
            continue;
        };
        let failure = if record.pdf != format!("results/figures/{file}") {
            Some(format!("the manifest names `{}` for it", record.pdf))
        } else {
            match std::fs::read(layout.figures.join(&file)) {
                Err(_) => Some("missing".into()),
                Ok(bytes) => {
                    let actual = sha256_hex(&bytes);
                    committed.insert(*name, bytes);
                    (actual != record.sha256).then(|| {
                        format!(
                            "tampered: sha256 {} but the manifest records {}",
                            &actual[..12],
                            &record.sha256[..12.min(record.sha256.len())]
                        )
                    })
                }
            }
        };
        report.artifact(&file, "sha256", failure);
        let mut stale = Vec::new();
        for (key, input) in &record.tables {
            let (sweep, stem) = key.split_once('/').unwrap_or((key.as_str(), ""));
            if input.file != format!("results/{sweep}/{stem}.parquet") {
                stale.push(format!("`{key}` names the file `{}`", input.file));
                continue;
            }
            let manifest = manifests
                .entry(sweep.to_owned())
                .or_insert_with(|| workspace.manifest(sweep).ok().flatten());
            let current = manifest
                .as_ref()
                .and_then(|m| m.outputs.get(&format!("{stem}.parquet")));
            if current != Some(&input.sha256) {
                stale.push(format!("{} changed since", input.file));
            }
        }
        report.artifact(
            &file,
            "its tables' hashes",
            (!stale.is_empty()).then(|| {
                format!(
                    "drawn from other results ({}); run `attnum paper`",
                    stale.join("; ")
                )
            }),
        );
    }
    report.checked.push(format!(
        "{} figure PDF(s) against results/figures/manifest.json, and that they were drawn from \
         the committed tables",
        known.len()
    ));
    match Results::load(workspace) {
        Err(e) => report.skipped.push(format!("redrawing the figures: {e}")),
        Ok(results) => {
            for fig in figures::FIGURES {
                let file = format!("{}.pdf", fig.name);
                let fresh = fig
                    .draw(&results)
                    .and_then(|svg| figure::svg_to_pdf(fig.name, &svg));
                let failure = match (fresh, committed.get(fig.name)) {
                    (Err(e), _) => Some(format!("cannot be redrawn: {e}")),
                    (Ok(_), None) => continue, // already reported missing
                    (Ok(pdf), Some(bytes)) if pdf == *bytes => None,
                    (Ok(_), Some(_)) => {
                        Some("differs from a fresh drawing of the committed tables".into())
                    }
                };
                report.artifact(&file, "fresh drawing", failure);
            }
            report
                .checked
                .push("each figure against a fresh drawing of the committed tables".into());
        }
    }
    Ok(report)
}

/// A figure's provenance: the SHA-256 of its PDF and, for each table it read, the table file's
/// SHA-256 and its sweep's code fingerprint and sweep-file hash (no clock, no commit: the file
/// changes only when the figure or its inputs do).
fn figure_provenance(results: &Results, name: &str, pdf: &[u8]) -> serde_json::Value {
    let inputs: BTreeMap<String, serde_json::Value> = results
        .tables_read_by(name)
        .into_iter()
        .map(|key| {
            let (sweep, stem) = key.split_once('/').unwrap_or((&key, ""));
            let file = format!("{stem}.parquet");
            let manifest = results.manifests.get(sweep);
            let value = serde_json::json!({
                "file": format!("results/{sweep}/{file}"),
                "sha256": manifest.and_then(|m| m.outputs.get(&file)).cloned().unwrap_or_default(),
                "sweep_file": manifest.map(|m| m.sweep_file.clone()).unwrap_or_default(),
                "sweep_file_sha256": manifest.map(|m| m.sweep_file_sha256.clone()).unwrap_or_default(),
                "code_fingerprint": manifest.map(|m| m.code_fingerprint.clone()).unwrap_or_default(),
            });
            (key, value)
        })
        .collect();
    serde_json::json!({
        "pdf": format!("results/figures/{name}.pdf"),
        "sha256": attnum_results::manifest::sha256_hex(pdf),
        "tables": inputs,
    })
}

/// Tera's error with its causes (the cause names the undefined variable).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut message = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        message.push_str(": ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    message
}

/// Every file under `dir`, recursively, except under `skip`.
pub(crate) fn collect_sources(dir: &Path, skip: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let entries = std::fs::read_dir(dir).map_err(|e| PaperError::io(dir, e))?;
    for entry in entries {
        let path = entry.map_err(|e| PaperError::io(dir, e))?.path();
        if path == skip {
            continue;
        }
        if path.is_dir() {
            collect_sources(&path, skip, out)?;
        } else {
            out.push(path);
        }
    }
    Ok(())
}

/// The context of every template: `tables.SWEEP.STEM` (rows of strings; floats in `e`
/// notation for siunitx's `\num`, nulls empty) and `sweeps.SWEEP` (the configuration its
/// results were made with as `spec`, and provenance, both from the manifest).
fn template_context(
    workspace: &Workspace,
    results: &Results,
    commit: &str,
) -> Result<tera::Context> {
    let mut tables: BTreeMap<String, BTreeMap<String, Vec<BTreeMap<String, String>>>> =
        BTreeMap::new();
    for (key, table) in &results.tables {
        let (sweep, stem) = key.split_once('/').expect("keys are SWEEP/STEM");
        let rows = (0..table.height())
            .map(|r| {
                table
                    .names()
                    .iter()
                    .map(|n| {
                        let value = match table.cell(r, n) {
                            Some(attnum_results::Cell::Float(x)) => format!("{x:e}"),
                            Some(attnum_results::Cell::Null) | None => String::new(),
                            Some(other) => other.to_string(),
                        };
                        (n.clone(), value)
                    })
                    .collect()
            })
            .collect();
        tables
            .entry(sweep.to_owned())
            .or_default()
            .insert(stem.to_owned(), rows);
    }
    let mut sweeps = BTreeMap::new();
    for (name, manifest) in &results.manifests {
        sweeps.insert(
            name.clone(),
            SweepContext {
                spec: manifest.config.clone(),
                sweep_file: manifest.sweep_file.clone(),
                sweep_file_sha256: manifest.sweep_file_sha256.clone(),
                git_commit: manifest.git_commit.clone(),
                wall_seconds: manifest.wall_seconds,
                rows: manifest.rows.clone(),
                points: manifest.points.len(),
                point_seconds: manifest.points.iter().map(|p| p.wall_seconds).sum(),
                peak_rss_mib: manifest.peak_rss_kib as f64 / 1024.0,
                cpu: manifest.machine.cpu.clone(),
                jobs: manifest.machine.jobs,
                cpu_tex: environment::machine_text(&manifest.machine.cpu),
                name_tex: environment::breakable_name(name),
                config_hash: provenance::config_hash(manifest),
                provenance: provenance::line(
                    commit,
                    &results.manifests,
                    &manifest
                        .rows
                        .keys()
                        .map(|stem| format!("{name}/{stem}"))
                        .collect::<Vec<_>>(),
                ),
            },
        );
    }
    let mut context = tera::Context::new();
    context.insert("tables", &tables);
    // Tera iterates maps in no fixed order: templates loop over this sorted list instead.
    let names: Vec<&String> = sweeps.keys().collect();
    context.insert("sweep_names", &names);
    context.insert("sweeps", &sweeps);
    let outlines = sweeps
        .keys()
        .map(|name| Ok((name.clone(), workspace.outline(name)?)))
        .collect::<Result<BTreeMap<_, _>>>()?;
    context.insert(
        "environment",
        &environment::collect(workspace.root(), &outlines, &results.manifests),
    );
    context.insert("peers", &peers::read(workspace.root())?);
    context.insert("build_commit", commit);
    context.insert("build_commit_short", &commit[..commit.len().min(12)]);
    context.insert("repository", provenance::REPOSITORY);
    Ok(context)
}
