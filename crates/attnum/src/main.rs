//! `attnum`: the command line of the pipeline. It only wires the library crates together:
//! sweeps (`attnum-sweep`), their results (`attnum-results`), the paper (`attnum-paper`), the
//! related work (`attnum-literature`, in [`literature`]) and the classical methods
//! (`attnum-classical`, in [`classical`]).

mod classical;
mod literature;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use std::io::IsTerminal;

use attnum_results::Tier;
use attnum_results::report::Report;
use attnum_sweep::{Freshness, RunOptions, Shard, SweepFile, Workspace};
use clap::{Parser, Subcommand};

/// mimalloc keeps freed blocks for reuse: the training loops allocate and free the same
/// megabyte-sized tensors every step, which glibc's allocator maps and unmaps each time
/// (`just bench`: one transformer training step 42 ms → see the paper's cost paragraph).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Attention as a numerical method: run the declared sweeps and build the paper.
#[derive(Debug, Parser)]
#[command(name = "attnum", version, about, long_about = None)]
struct Cli {
    /// Repository root (default: the checkout containing the current directory).
    #[arg(long, global = true)]
    root: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Declared experiment sweeps (`data/sweeps/NAME.yaml` → `results/NAME/`).
    Sweep {
        #[command(subcommand)]
        command: SweepCommand,
    },
    /// Run stale sweeps, render figures, numbers and templates, and compile paper/build/paper.pdf.
    Paper {
        /// Render into paper/build/ but do not run LaTeX.
        #[arg(long)]
        no_pdf: bool,
        /// Render the committed results as they are, without rerunning stale sweeps (for drafting
        /// prose while code changes; each stale sweep is named on stderr).
        #[arg(long)]
        keep_stale: bool,
    },
    /// Recompute sweeps and compare them with the committed results, column by column, with the
    /// tolerances their files declare; check every artifact against its manifest hash, every CSV
    /// file against its table, the figure PDFs against theirs; list what was checked and skipped.
    Verify {
        /// quick: only the sweeps of tier quick; full: every sweep (named sweeps are always
        /// checked).
        #[arg(long, value_enum, default_value = "full")]
        tier: TierArg,
        /// Sweep names, or `figures` (default: every sweep of the tier, and the figures).
        names: Vec<String>,
    },
    /// Say why the results of sweeps are stale (every reason), or that they are up to date.
    Why {
        /// Sweep names or result files (`results/NAME/…`) (default: every sweep).
        names: Vec<String>,
    },
    /// The related work: validate it (`check`) or print it (`show`).
    Lit {
        #[command(subcommand)]
        command: literature::LitCommand,
    },
    /// Finite-difference weights on given offsets, with their order and error constant.
    Stencil(classical::StencilArgs),
    /// Nodes, weights and degree of exactness of a quadrature rule.
    Quadrature(classical::QuadratureArgs),
    /// A named explicit Runge–Kutta method: its tableau, order and sign pattern.
    Tableau(classical::TableauArgs),
    /// Rooted trees up to an order with γ, σ, α, and a method's elementary weights.
    Trees(classical::TreesArgs),
}

#[derive(Debug, Subcommand)]
enum SweepCommand {
    /// List the sweeps with their tier and whether their results are up to date.
    List,
    /// Run the named sweeps (those whose results are stale, or all of them with --force).
    Run {
        /// Sweep names (file stems under data/sweeps/).
        #[arg(required = true)]
        names: Vec<String>,
        /// Recompute every point even when the results are up to date.
        #[arg(long)]
        force: bool,
        /// Points computed at once (each on one thread); the machine's cores by default.
        #[arg(long, default_value_t = available_cores(), value_parser = parse_jobs)]
        jobs: usize,
        /// Compute only shard I of N (`I/N`, 1-based; `/N` takes SLURM_ARRAY_TASK_ID, 0-based:
        /// submit `sbatch --array=0-(N-1)`); assemble afterwards with `attnum sweep merge`.
        #[arg(long)]
        shard: Option<String>,
    },
    /// Assemble the tables and manifest of a sweep whose points were computed by shards.
    Merge {
        /// The sweep.
        name: String,
    },
    /// Print the reference of the sweep-file format (docs/sweep-schema.md).
    Schema,
}

/// A verification tier on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum TierArg {
    /// Only the sweeps of tier quick.
    Quick,
    /// Every sweep.
    Full,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("ATTNUM_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    quiet_broken_pipe();
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", error_chain(&e));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes, each cause only when the message so far does not already say it
/// (most errors here print their cause themselves, e.g. `path: Permission denied`).
fn error_chain(e: &anyhow::Error) -> String {
    let mut message = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if !message.contains(&text) {
            if !message.is_empty() {
                message.push_str(": ");
            }
            message.push_str(&text);
        }
    }
    message
}

/// `--jobs`: at least one.
fn parse_jobs(text: &str) -> std::result::Result<usize, String> {
    match text.parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    }
}

/// A closed standard output (`attnum sweep list | head -1`) ends the command quietly: the
/// standard library's printing panics on it, which is no error of the user's.
fn quiet_broken_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or_default();
        if message.starts_with("failed printing to stdout") && message.contains("Broken pipe") {
            std::process::exit(141); // as a shell reports a process ended by SIGPIPE
        }
        default(info);
    }));
}

/// The number of cores this process may use.
fn available_cores() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

fn run(cli: Cli) -> Result<()> {
    let root = cli.root.as_deref();
    match cli.command {
        Command::Stencil(args) => classical::stencil(&args),
        Command::Quadrature(args) => classical::quadrature(&args),
        Command::Tableau(args) => classical::tableau(&args),
        Command::Trees(args) => classical::trees(&args),
        Command::Sweep {
            command: SweepCommand::List,
        } => list(&open_workspace(root)?),
        Command::Sweep {
            command:
                SweepCommand::Run {
                    names,
                    force,
                    jobs,
                    shard,
                },
        } => {
            let workspace = open_workspace(root)?;
            let shard = shard
                .map(|s| Shard::parse(&s))
                .transpose()
                .map_err(|e| anyhow::anyhow!("--shard: {e}"))?;
            // Validate every name and file before running anything.
            let sweeps = names
                .iter()
                .map(|n| workspace.load(n))
                .collect::<Result<Vec<_>, _>>()?;
            let options = RunOptions {
                jobs,
                shard,
                force,
                progress: std::io::stderr().is_terminal(),
            };
            for sweep in &sweeps {
                run_sweep(&workspace, sweep, &options)?;
            }
            Ok(())
        }
        Command::Sweep {
            command: SweepCommand::Merge { name },
        } => {
            let workspace = open_workspace(root)?;
            // Expands and validates every point: the merge needs them all.
            let sweep = workspace.load(&name)?;
            if workspace.freshness(&sweep)? == Freshness::UpToDate {
                eprintln!("{name}: up to date, nothing to merge");
                return Ok(());
            }
            let summary = workspace.merge(&sweep)?;
            eprintln!(
                "{name}: merged {} points → {}",
                summary.manifest.points.len(),
                summary.dir.display()
            );
            Ok(())
        }
        Command::Sweep {
            command: SweepCommand::Schema,
        } => {
            print!("{}", include_str!("../../../docs/sweep-schema.md"));
            Ok(())
        }
        Command::Verify { tier, names } => verify(&open_workspace(root)?, tier, names),
        Command::Paper { no_pdf, keep_stale } => paper(&open_workspace(root)?, no_pdf, keep_stale),
        Command::Why { names } => why(&open_workspace(root)?, names),
        Command::Lit { command } => literature::run(&open_workspace(root)?, command),
    }
}

fn why(workspace: &Workspace, names: Vec<String>) -> Result<()> {
    let names = if names.is_empty() {
        workspace.sweep_names()?
    } else {
        names
    };
    for artifact in names {
        // A result file names its sweep: results/NAME/table.csv → NAME.
        let name = artifact
            .strip_prefix("results/")
            .and_then(|rest| rest.split('/').next())
            .unwrap_or(&artifact)
            .to_owned();
        // The configuration is enough: the points are not expanded.
        let sweep = workspace.open(&name)?;
        let reasons = workspace.explain(&sweep)?;
        if reasons.is_empty() {
            println!("{name}: up to date");
        } else {
            println!("{name}: stale");
            for reason in reasons {
                println!("  - {reason}");
            }
        }
    }
    Ok(())
}

/// The workspace at `--root`, or the checkout containing the current directory.
fn open_workspace(root: Option<&std::path::Path>) -> Result<Workspace> {
    Ok(match root {
        Some(root) => Workspace::at(root)?,
        None => Workspace::discover(&std::env::current_dir().context("current directory")?)?,
    })
}

fn list(workspace: &Workspace) -> Result<()> {
    for name in workspace.sweep_names()? {
        // Only the configuration and the number of points: a sweep's points are not expanded.
        match workspace.open(&name) {
            Ok(sweep) => {
                let status = workspace.freshness(&sweep)?;
                println!(
                    "{name:<24} {:<6} {status}",
                    format!("{:?}", sweep.spec.tier).to_lowercase()
                );
            }
            Err(e) => println!("{name:<24} invalid: {e}"),
        }
    }
    Ok(())
}

fn run_sweep(workspace: &Workspace, sweep: &SweepFile, options: &RunOptions) -> Result<()> {
    let name = &sweep.spec.name;
    let status = workspace.freshness(sweep)?;
    if status == Freshness::UpToDate && !options.force && options.shard.is_none() {
        eprintln!("{name}: up to date");
        return Ok(());
    }
    eprintln!("{name}: running ({status})");
    let outcome = workspace.run_with(sweep, options)?;
    let points = format!(
        "{} point(s) computed, {} reused",
        outcome.computed, outcome.reused
    );
    match outcome.summary {
        Some(summary) => {
            let rows: Vec<String> = summary
                .manifest
                .rows
                .iter()
                .map(|(stem, n)| format!("{stem} {n} rows"))
                .collect();
            eprintln!(
                "{name}: done in {:.2} s, {points} → {} ({})",
                summary.manifest.wall_seconds,
                summary.dir.display(),
                rows.join(", ")
            );
        }
        None => eprintln!(
            "{name}: shard done, {points}; run `attnum sweep merge {name}` when all shards are"
        ),
    }
    Ok(())
}

/// What `verify` is asked to check: named sweeps (whatever their tier) and the figures, or
/// every sweep of the tier and the figures.
fn verify(workspace: &Workspace, tier: TierArg, names: Vec<String>) -> Result<()> {
    let named = !names.is_empty();
    let all = workspace.sweep_names()?;
    let figures = !named || names.iter().any(|n| n == "figures");
    let names: Vec<String> = if named {
        names.into_iter().filter(|n| n != "figures").collect()
    } else {
        all.clone()
    };
    // Validate every name and file before recomputing anything (points expand when checked).
    let sweeps = names
        .iter()
        .map(|n| workspace.open(n))
        .collect::<Result<Vec<_>, _>>()?;
    println!(
        "{:<22} {:<26} {:<26} {:>12} {:<28} result",
        "sweep", "table", "column", "max dev.", "tolerance"
    );
    let mut reports = Vec::new();
    let mut skipped_sweeps = Vec::new();
    for sweep in &sweeps {
        let name = &sweep.spec.name;
        let of_tier = tier == TierArg::Full || sweep.spec.tier == Tier::Quick;
        if !of_tier && !named {
            skipped_sweeps.push(name.clone());
            continue;
        }
        let mut report = attnum_sweep::verify::verify(workspace, sweep)?;
        if !of_tier {
            report.notes.push(format!(
                "tier {}, checked because it was named",
                tier_name(sweep.spec.tier)
            ));
        }
        print_checks(&report);
        reports.push(report);
    }
    if figures {
        let report = attnum_paper::verify_figures(workspace)?;
        print_checks(&report);
        reports.push(report);
    }
    println!("\nwhat was checked and skipped");
    for report in &reports {
        println!("{}:", report.subject);
        for item in &report.checked {
            println!("  checked: {item}");
        }
        for item in &report.skipped {
            println!("  skipped: {item}");
        }
        for item in &report.notes {
            println!("  note: {item}");
        }
    }
    for name in &skipped_sweeps {
        println!("{name}: skipped: everything (tier full; `--tier full` or naming it checks it)");
    }
    if named && !figures {
        println!("figures: skipped: everything (name `figures` or name no sweep to check them)");
    }
    let failed: usize = reports.iter().map(Report::failures).sum();
    let checks: usize = reports.iter().map(|r| r.checks.len()).sum();
    if failed > 0 {
        anyhow::bail!("{failed} check(s) failed");
    }
    let skipped = if skipped_sweeps.is_empty() {
        String::new()
    } else {
        format!(
            "; {} sweep(s) of tier full not checked: {}",
            skipped_sweeps.len(),
            skipped_sweeps.join(", ")
        )
    };
    eprintln!(
        "verify: all {checks} check(s) of {} passed{skipped}",
        reports
            .iter()
            .map(|r| r.subject.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(())
}

fn tier_name(tier: Tier) -> &'static str {
    match tier {
        Tier::Quick => "quick",
        Tier::Full => "full",
    }
}

fn print_checks(report: &Report) {
    for c in &report.checks {
        println!(
            "{:<22} {:<26} {:<26} {:>12.3e} {:<28} {}{}",
            c.sweep,
            c.table,
            c.column,
            c.max_deviation,
            c.tolerance,
            if c.pass { "pass" } else { "FAIL" },
            if c.note.is_empty() {
                String::new()
            } else {
                format!(" ({})", c.note)
            }
        );
    }
}

fn paper(workspace: &Workspace, no_pdf: bool, keep_stale: bool) -> Result<()> {
    let layout = attnum_paper::PaperLayout::of(workspace);
    // Nothing read by a build changed since the last one that succeeded: nothing to do.
    let program = std::env::current_exe().context("the path of this program")?;
    let digest = || attnum_paper::stamp::inputs_digest(workspace.root(), &program);
    if !no_pdf
        && !keep_stale
        && digest().is_some_and(|d| attnum_paper::stamp::is_current(&layout, &d))
    {
        eprintln!("paper: up to date (no input changed since the last build)");
        return Ok(());
    }
    // Every file is checked first; the points of a sweep are expanded only if it must rerun.
    let sweeps = workspace
        .sweep_names()?
        .iter()
        .map(|n| workspace.open(n))
        .collect::<Result<Vec<_>, _>>()?;
    for sweep in &sweeps {
        if keep_stale {
            let status = workspace.freshness(sweep)?;
            if status != Freshness::UpToDate {
                eprintln!("{}: {status}, rendered as committed", sweep.spec.name);
            }
            continue;
        }
        run_sweep(
            workspace,
            sweep,
            &RunOptions {
                jobs: available_cores(),
                ..RunOptions::default()
            },
        )?;
    }
    let summary = attnum_paper::render(workspace)?;
    eprintln!(
        "paper: {} files written, {} unchanged",
        summary.written.len(),
        summary.unchanged
    );
    if !no_pdf {
        let pdf = attnum_paper::compile::latexmk(workspace.root(), &layout.build)?;
        eprintln!("paper: {}", pdf.display());
        if !keep_stale && let Some(digest) = digest() {
            attnum_paper::stamp::record(&layout, &digest).with_context(|| {
                format!(
                    "writing {}",
                    layout.build.join(attnum_paper::stamp::STAMP).display()
                )
            })?;
        }
    }
    Ok(())
}
