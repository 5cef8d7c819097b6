//! `attnum`: the command line of the pipeline. It only wires the library crates together:
//! sweeps (`attnum-sweep`), the paper (`attnum-paper`), the related work
//! (`attnum-literature`, in [`literature`]) and the classical methods (`attnum-classical`, in
//! [`classical`]).

mod classical;
mod literature;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use attnum_sweep::{Freshness, SweepFile, Workspace};
use clap::{Parser, Subcommand};

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
    },
    /// Say why the results of sweeps are stale (every reason), or that they are up to date.
    Why {
        /// Sweep names (default: every sweep).
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
        /// Rerun even when the results are up to date.
        #[arg(long)]
        force: bool,
    },
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("ATTNUM_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
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
            command: SweepCommand::Run { names, force },
        } => {
            let workspace = open_workspace(root)?;
            // Validate every name and file before running anything.
            let sweeps = names
                .iter()
                .map(|n| workspace.load(n))
                .collect::<Result<Vec<_>, _>>()?;
            for sweep in &sweeps {
                run_sweep(&workspace, sweep, force)?;
            }
            Ok(())
        }
        Command::Paper { no_pdf } => paper(&open_workspace(root)?, no_pdf),
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
    for name in names {
        let sweep = workspace.load(&name)?;
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
        match workspace.load(&name) {
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

fn run_sweep(workspace: &Workspace, sweep: &SweepFile, force: bool) -> Result<()> {
    let name = &sweep.spec.name;
    let status = workspace.freshness(sweep)?;
    if status == Freshness::UpToDate && !force {
        eprintln!("{name}: up to date");
        return Ok(());
    }
    eprintln!("{name}: running ({status})");
    let summary = workspace.run(sweep)?;
    let rows: Vec<String> = summary
        .manifest
        .rows
        .iter()
        .map(|(stem, n)| format!("{stem} {n} rows"))
        .collect();
    eprintln!(
        "{name}: done in {:.2} s → {} ({})",
        summary.manifest.wall_seconds,
        summary.dir.display(),
        rows.join(", ")
    );
    Ok(())
}

fn paper(workspace: &Workspace, no_pdf: bool) -> Result<()> {
    let sweeps = workspace
        .sweep_names()?
        .iter()
        .map(|n| workspace.load(n))
        .collect::<Result<Vec<_>, _>>()?;
    for sweep in &sweeps {
        run_sweep(workspace, sweep, false)?;
    }
    let summary = attnum_paper::render(workspace)?;
    eprintln!(
        "paper: {} files written, {} unchanged",
        summary.written.len(),
        summary.unchanged
    );
    if !no_pdf {
        let layout = attnum_paper::PaperLayout::of(workspace);
        let pdf = attnum_paper::compile::latexmk(workspace.root(), &layout.build)?;
        eprintln!("paper: {}", pdf.display());
    }
    Ok(())
}
