//! Every LaTeX special character and non-ASCII names survive the real LaTeX build: in text
//! escaped by the template environment and in the generated bibliography.

use std::path::Path;

use attnum_literature::{Literature, bibtex};
use attnum_paper::compile::latexmk;
use attnum_paper::latex::escape;

const TITLE: &str =
    r"Every special: & _ % $ # ~ ^ { } \ < > | and Gödel, Łukasz, Nyström, Erdős, Åström — σ ≈ β";

#[test]
fn a_title_with_every_special_character_compiles() {
    let dir = tempfile::tempdir().unwrap();
    let literature = format!(
        r#"themes:
- id: t
  title: Theme
  scope: Scope.
entries:
- key: special2024
  type: paper
  authors: Kurt Gödel, Łukasz Kaiser, E. J. Nyström
  title: '{}'
  year: 2024
  venue: 'Journal of $ & % # _'
  doi: 10.1000/xyz_123
  theme: t
  questions: [3]
  shows: Nothing.
  relation: None.
seed_citations: []
"#,
        TITLE.replace('\'', "''")
    );
    let path = dir.path().join("literature.yaml");
    let lit = Literature::parse(&path, &literature, &["special2024".into()]).unwrap();
    std::fs::write(dir.path().join("references.bib"), bibtex::render(&lit)).unwrap();
    let document = format!(
        r"\documentclass{{article}}
\usepackage[T1]{{fontenc}}
\usepackage{{lmodern}}
\usepackage{{amsmath}}
\usepackage[numbers]{{natbib}}
\usepackage{{hyperref}}
\begin{{document}}
{} \citep{{special2024}}
\bibliographystyle{{plainnat}}
\bibliography{{references}}
\end{{document}}
",
        escape(TITLE)
    );
    std::fs::write(dir.path().join("paper.tex"), document).unwrap();
    let pdf = latexmk(Path::new("."), dir.path()).unwrap_or_else(|e| panic!("{e}"));
    assert!(pdf.exists());
    let bbl = std::fs::read_to_string(dir.path().join("paper.bbl")).unwrap();
    assert!(bbl.contains("special2024"), "{bbl}");
}
