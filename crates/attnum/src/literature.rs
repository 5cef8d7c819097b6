//! `attnum lit check` and `attnum lit show`: the related work from the command line.

use anyhow::{Result, bail};
use attnum_literature::{Claims, Literature};
use attnum_sweep::Workspace;
use clap::Subcommand;

/// Subcommands of `attnum lit`.
#[derive(Debug, Subcommand)]
pub enum LitCommand {
    /// Validate data/literature.yaml and data/claims.yaml against the keys the paper cites.
    Check,
    /// Print the related work as a table, optionally for one theme.
    Show {
        /// A theme id (see `themes:` in data/literature.yaml).
        #[arg(long)]
        theme: Option<String>,
    },
}

fn load(workspace: &Workspace) -> Result<Literature> {
    let paper = workspace.root().join("paper");
    let cited = attnum_paper::literature::cited_keys(&paper, &paper.join("build"))?;
    Ok(Literature::load(
        &workspace.root().join("data/literature.yaml"),
        &cited,
    )?)
}

/// Run a `lit` subcommand.
pub fn run(workspace: &Workspace, command: LitCommand) -> Result<()> {
    let literature = load(workspace)?;
    match command {
        LitCommand::Check => {
            let claims = Claims::load(&workspace.root().join("data/claims.yaml"), &literature)?;
            let not_found: Vec<_> = literature
                .seed_citations
                .iter()
                .filter(|s| s.verdict == attnum_literature::Verdict::NotFound)
                .collect();
            println!(
                "data/literature.yaml: {} entries in {} themes, {} seed citations ({} not found, \
                 after {} recorded searches): valid",
                literature.entries.len(),
                literature.themes.len(),
                literature.seed_citations.len(),
                not_found.len(),
                not_found.iter().map(|s| s.searched.len()).sum::<usize>()
            );
            println!("data/claims.yaml: {} claims: valid", claims.claims.len());
            Ok(())
        }
        LitCommand::Show { theme } => {
            if let Some(t) = &theme
                && !literature.themes.iter().any(|x| &x.id == t)
            {
                let ids: Vec<&str> = literature.themes.iter().map(|x| x.id.as_str()).collect();
                bail!("no theme `{t}`; the themes are: {}", ids.join(", "));
            }
            for t in &literature.themes {
                if theme.as_ref().is_some_and(|id| id != &t.id) {
                    continue;
                }
                println!("== {} ({})", t.title, t.id);
                for e in literature.entries_of(&t.id) {
                    let year = e.year.map_or_else(|| "n.d.".to_owned(), |y| y.to_string());
                    let id = e
                        .doi
                        .as_ref()
                        .map(|d| format!("doi:{d}"))
                        .or_else(|| e.arxiv.as_ref().map(|a| format!("arXiv:{a}")))
                        .or_else(|| e.url.clone())
                        .unwrap_or_default();
                    println!("{:<28} {year:>4}  {:<8} {}", e.key, e.kind.name(), e.title);
                    println!("{:<28}       {id}", "");
                    println!("{:<28}       shows: {}", "", e.shows);
                    println!("{:<28}       relation: {}", "", e.relation);
                }
                println!();
            }
            Ok(())
        }
    }
}
