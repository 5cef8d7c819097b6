//! The paper's parts rendered from the committed results, outside the paper build: every figure
//! draws, converts to a PDF byte-identical to the committed `results/figures/NAME.pdf`, and reads
//! at least one table; every number query of `paper/numbers/*.yaml` finds its value. A broken or
//! stale figure, or a query without a row, fails `cargo test` rather than only `attnum paper`.
//! Nothing is written to the repository.

use std::path::PathBuf;

use attnum_paper::figures::FIGURES;
use attnum_paper::{Results, figure, numbers};
use attnum_results::Workspace;

fn root() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

fn results() -> Results {
    let workspace = Workspace::at(root()).expect("the repository is a workspace");
    Results::load(&workspace).expect("every sweep has committed results")
}

#[test]
fn every_figure_draws_the_committed_pdf_from_the_committed_results() {
    let results = results();
    for fig in FIGURES {
        let svg = fig
            .draw(&results)
            .unwrap_or_else(|e| panic!("figure {}: {e}", fig.name));
        let pdf = figure::svg_to_pdf(fig.name, &svg).expect("converts to PDF");
        let committed = root()
            .join("results/figures")
            .join(format!("{}.pdf", fig.name));
        let on_disk =
            std::fs::read(&committed).unwrap_or_else(|e| panic!("{}: {e}", committed.display()));
        assert!(
            pdf == on_disk,
            "figure {}: the drawing differs from the committed {} (run `attnum paper`)",
            fig.name,
            committed.display()
        );
        assert!(
            !results.tables_read_by(fig.name).is_empty(),
            "figure {} read no table: its caption would have no provenance",
            fig.name
        );
    }
}

#[test]
fn every_number_query_has_a_value() {
    let results = results();
    let dir = root().join("paper/numbers");
    let macros = numbers::render_macros(&dir, &results).unwrap_or_else(|e| panic!("{e}"));
    let queries: usize = std::fs::read_dir(&dir)
        .expect("paper/numbers/")
        .map(|entry| std::fs::read_to_string(entry.unwrap().path()).unwrap())
        .map(|text| text.lines().filter(|l| l.starts_with("- name:")).count())
        .sum();
    assert_eq!(macros.matches("\\newcommand").count(), queries);
}
