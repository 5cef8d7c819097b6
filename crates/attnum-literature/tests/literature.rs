//! The committed literature and claims files, the validation corpus, and the BibTeX output.

use std::path::Path;

use attnum_literature::{Claims, Literature, LiteratureError, bibtex};

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

fn committed() -> (Literature, String) {
    let path = root().join("data/literature.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    (Literature::parse(&path, &text, &[]).unwrap(), text)
}

#[test]
fn the_committed_files_are_valid_and_large_enough() {
    let (literature, _) = committed();
    assert!(
        literature.entries.len() >= 60,
        "{} entries",
        literature.entries.len()
    );
    assert!(
        literature
            .entries
            .iter()
            .all(|e| e.arxiv.is_some() || e.doi.is_some() || e.url.is_some())
    );
    let not_found = literature
        .seed_citations
        .iter()
        .filter(|s| s.verdict == attnum_literature::Verdict::NotFound)
        .count();
    assert_eq!(
        not_found, 3,
        "three of the conversation's citations cannot be found (the fourth, g, exists)"
    );
    let g = literature
        .seed_citations
        .iter()
        .find(|s| s.id == "g")
        .unwrap();
    assert_eq!(g.verdict, attnum_literature::Verdict::Exists);
    Claims::load(&root().join("data/claims.yaml"), &literature).unwrap();
}

/// A minimal valid file with one entry per type.
const VALID: &str = r#"themes:
- id: kernel
  title: Kernel view
  scope: Attention as a smoother.
entries:
- key: nadaraya1964
  type: paper
  authors: E. A. Nadaraya
  title: On estimating regression
  year: 1964
  venue: Theory of Probability and Its Applications
  doi: 10.1137/1109020
  theme: kernel
  questions: [2]
  shows: The kernel regression estimator.
  relation: Kernel attention is this estimator (@ref(prop:kernel-derivative)).
- key: vaswani2017attention
  type: preprint
  authors: Ashish Vaswani, Noam Shazeer
  title: Attention Is All You Need
  year: 2017
  arxiv: '1706.03762'
  theme: kernel
  questions: [1, 2]
  shows: The transformer.
  relation: Defines attention.
- key: findiff
  type: software
  authors: maroba
  title: findiff
  url: https://github.com/maroba/findiff
  theme: kernel
  questions: [1]
  shows: Finite-difference coefficients.
  relation: Reference weights.
- key: wand1995kernel
  type: book
  authors: M. P. Wand, M. C. Jones
  title: Kernel Smoothing
  year: 1995
  venue: Chapman & Hall
  isbn: 978-0-412-55270-0
  theme: kernel
  questions: [2]
  shows: Kernel regression, its bias and its boundary effects.
  relation: Textbook kernel regression.
- key: singularities
  type: listing
  title: Numerical integration rules with improved accuracy close to singularities
  url: https://deepai.com/publication/numerical-integration-rules-with-improved-accuracy-close-to-singularities
  theme: kernel
  questions: [2]
  shows: Corrected quadrature near known jumps.
  relation: Cited by the conversation.
seed_citations:
- id: a
  cited_as: Attention Is All You Need
  verdict: exists
  entry: vaswani2017attention
  note: Found.
- id: f
  cited_as: Learning Numerical Integration Rules via Attention
  verdict: not_found
  note: Not found anywhere.
  searched:
  - strategy: exact_title
    query: Learning Numerical Integration Rules via Attention
    corpora: web pages
    result: no hit
  - strategy: claimed_content
    query: attention learns adaptive quadrature rules
    corpora: web pages
    result: no hit
  - strategy: related
    query: learned quadrature weights neural network
    corpora: documentation
    result: a graph-network quadrature learner
- id: g
  cited_as: Numerical integration rules with improved accuracy close to singularities
  verdict: exists
  entry: singularities
  note: Abstract indexed by DeepAI.
"#;

fn error_of(text: &str, cited: &[&str]) -> String {
    let cited: Vec<String> = cited.iter().map(|s| s.to_string()).collect();
    match Literature::parse(Path::new("data/literature.yaml"), text, &cited) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn the_minimal_file_is_valid() {
    Literature::parse(Path::new("x.yaml"), VALID, &["nadaraya1964".into()]).unwrap();
}

/// Each bad entry: the replacement in `VALID` and what the message must contain.
const CORPUS: &[(&str, &str, &str)] = &[
    (
        "doi: 10.1137/1109020",
        "doi: https://doi.org/10.1137/1109020",
        "data/literature.yaml:6: entries[0] (nadaraya1964).doi: `https://doi.org/10.1137/1109020` is not a DOI",
    ),
    (
        "doi: 10.1137/1109020",
        "doi: 10.11/x",
        "entries[0] (nadaraya1964).doi",
    ),
    (
        "arxiv: '1706.03762'",
        "arxiv: '1706.3762'",
        "entries[1] (vaswani2017attention).arxiv: `1706.3762` is not an arXiv id",
    ),
    (
        "arxiv: '1706.03762'",
        "arxiv: '1713.03762'",
        "is not an arXiv id",
    ),
    (
        "arxiv: '1706.03762'",
        "arxiv: 'Math.NA/0601001'",
        "is not an arXiv id",
    ),
    (
        "url: https://github.com/maroba/findiff",
        "url: github.com/maroba/findiff",
        "entries[2] (findiff).url",
    ),
    (
        "year: 1964",
        "year: 1492",
        "entries[0] (nadaraya1964).year: 1492 is outside 1600–2027",
    ),
    (
        "  year: 2017\n",
        "",
        "entries[1] (vaswani2017attention).year: a preprint needs a year",
    ),
    (
        "  arxiv: '1706.03762'\n",
        "",
        "entries[1] (vaswani2017attention).arxiv: a preprint needs an arXiv id",
    ),
    (
        "  venue: Theory of Probability and Its Applications\n",
        "",
        "entries[0] (nadaraya1964).venue: a paper needs a venue",
    ),
    (
        "  url: https://github.com/maroba/findiff\n",
        "",
        "entries[2] (findiff).url: a software needs a URL",
    ),
    ("key: findiff", "key: nadaraya1964", "duplicate key"),
    ("key: findiff", "key: find diff", "is not a citation key"),
    (
        "theme: kernel\n  questions: [1]\n",
        "theme: kernels\n  questions: [1]\n",
        "unknown theme `kernels`",
    ),
    (
        "questions: [2]",
        "questions: [4]",
        "must list questions among 1, 2, 3",
    ),
    (
        "questions: [2]",
        "questions: []",
        "must list questions among 1, 2, 3",
    ),
    (
        "relation: Defines attention.",
        "relation: Defines @ref(attention.",
        "an `@ref(` is not closed",
    ),
    (
        "shows: The transformer.",
        "shows: ''",
        "entries[1] (vaswani2017attention).shows: must not be empty",
    ),
    (
        "url: https://github.com/maroba/findiff",
        "url: https://github.com/maroba/findiff\n  doi: 10.1137/1109020",
        "`10.1137/1109020` is also the doi of `nadaraya1964`",
    ),
    (
        "  entry: vaswani2017attention\n",
        "",
        "seed_citations[0] (a).entry: a work whose verdict is `exists` needs its entry",
    ),
    (
        "entry: vaswani2017attention",
        "entry: vaswani2017",
        "no entry `vaswani2017`",
    ),
    (
        "  note: Not found anywhere.",
        "  entry: findiff\n  note: Not found anywhere.",
        "a work that was not found has no entry",
    ),
    (
        "- id: f\n",
        "- id: a\n",
        "seed_citations[1] (a).id: duplicate id",
    ),
    (
        "  questions: [2]\n",
        "  questions: [2]\n  pages: 141-142\n",
        "unknown field `pages`",
    ),
    ("type: software", "type: code", "unknown variant `code`"),
    ("year: 1964", "year: nineteen", "invalid type"),
    // Braces: BibTeX counts escaped braces too, so every text must balance.
    (
        "title: On estimating regression",
        "title: On estimating regression}",
        "data/literature.yaml:6: entries[0] (nadaraya1964).title: unbalanced braces: the `}` at character 25 closes no `{`",
    ),
    (
        "shows: The transformer.",
        "shows: The {transformer.",
        "entries[1] (vaswani2017attention).shows: unbalanced braces: 1 `{` never closed",
    ),
    (
        "authors: maroba",
        "authors: '}maroba{'",
        "entries[2] (findiff).authors: unbalanced braces",
    ),
    (
        "venue: Chapman & Hall",
        "venue: Chapman & Hall}",
        "entries[3] (wand1995kernel).venue: unbalanced braces",
    ),
    (
        "doi: 10.1137/1109020",
        "doi: 10.1137/1109020}",
        "entries[0] (nadaraya1964).doi: unbalanced braces",
    ),
    (
        "relation: Reference weights.",
        "relation: Reference {weights}}.",
        "entries[2] (findiff).relation: unbalanced braces",
    ),
    (
        "  title: Kernel view",
        "  title: Kernel view}",
        "data/literature.yaml:2: themes[0] (kernel).title: unbalanced braces",
    ),
    (
        "  note: Not found anywhere.",
        "  note: Not found {anywhere.",
        "seed_citations[1] (f).note: unbalanced braces",
    ),
    (
        "    result: no hit\n  - strategy: related",
        "    result: no hit}\n  - strategy: related",
        "seed_citations[1] (f).searched[1].result: unbalanced braces",
    ),
    // Identifiers and kinds added with the ISBN and the listing.
    (
        "isbn: 978-0-412-55270-0",
        "isbn: 978-0-412-55270-1",
        "entries[3] (wand1995kernel).isbn: `978-0-412-55270-1` is not an ISBN-10 or ISBN-13",
    ),
    (
        "isbn: 978-0-412-55270-0",
        "isbn: 0-412-5527",
        "is not an ISBN-10 or ISBN-13",
    ),
    (
        "  isbn: 978-0-412-55270-0\n",
        "",
        "entries[3] (wand1995kernel).doi: a book needs a DOI, an ISBN or a URL",
    ),
    (
        "  url: https://deepai.com/publication/numerical-integration-rules-with-improved-accuracy-close-to-singularities\n",
        "",
        "entries[4] (singularities).url: a listing needs the URL of the record",
    ),
    (
        "  authors: maroba\n",
        "",
        "entries[2] (findiff).authors: a software needs its authors",
    ),
    (
        "type: listing",
        "type: paper",
        "entries[4] (singularities).authors: a paper needs its authors",
    ),
    // A "not found" verdict records the searches behind it.
    (
        "  searched:\n  - strategy: exact_title\n    query: Learning Numerical Integration Rules via Attention\n    corpora: web pages\n    result: no hit\n  - strategy: claimed_content\n    query: attention learns adaptive quadrature rules\n    corpora: web pages\n    result: no hit\n  - strategy: related\n    query: learned quadrature weights neural network\n    corpora: documentation\n    result: a graph-network quadrature learner\n",
        "",
        "data/literature.yaml:61: seed_citations[1] (f).searched: a `not found` verdict needs the searches behind it",
    ),
    (
        "  - strategy: related",
        "  - strategy: claimed_content",
        "seed_citations[1] (f).searched: a `not found` verdict needs at least 3 different search strategies (recorded: exact title, claimed content)",
    ),
    (
        "  - strategy: exact_title",
        "  - strategy: authors",
        "seed_citations[1] (f).searched: a `not found` verdict needs an exact_title search",
    ),
    (
        "    query: attention learns adaptive quadrature rules",
        "    query: ''",
        "seed_citations[1] (f).searched[1].query: must not be empty",
    ),
    (
        "strategy: related",
        "strategy: guessed",
        "unknown variant `guessed`",
    ),
    (
        "    result: no hit\n  - strategy: claimed_content",
        "    result: no hit\n    found: nothing\n  - strategy: claimed_content",
        "unknown field `found`",
    ),
];

#[test]
fn bad_entries_are_refused_with_their_line_and_field() {
    for &(from, to, expected) in CORPUS {
        assert!(VALID.contains(from), "`{from}` is not in the valid file");
        let err = error_of(&VALID.replacen(from, to, 1), &[]);
        assert!(
            err.contains(expected),
            "`{to}`:\n{err}\nshould contain\n{expected}"
        );
    }
    let err = error_of(VALID, &["nadaraya1964", "knuth1984"]);
    assert!(err.contains("cited key `knuth1984`"), "{err}");
    let err = error_of(
        &VALID.replace(
            "  scope: Attention as a smoother.",
            "  scope: Attention as a smoother.\n- id: unused\n  title: Unused\n  scope: Nothing.",
        ),
        &[],
    );
    assert!(
        err.contains("themes[1] (unused): no entry has this theme"),
        "{err}"
    );
    let err = error_of("themes: [\n", &[]);
    assert!(err.starts_with("data/literature.yaml:"), "{err}");
}

#[test]
fn yaml_errors_have_a_position() {
    let bad = VALID.replace("  year: 1964", "  year: 1964\n year: 1965");
    match Literature::parse(Path::new("l.yaml"), &bad, &[]) {
        Err(LiteratureError::Syntax { line, .. }) => assert!(line >= 6, "line {line}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_bibtex_parses_back_with_keys_and_fields_intact() {
    let (literature, _) = committed();
    let text = bibtex::render(&literature);
    let bibliography = biblatex::RawBibliography::parse(&text).expect("valid BibTeX");
    assert_eq!(bibliography.entries.len(), literature.entries.len());
    for (raw, entry) in bibliography.entries.iter().zip(&literature.entries) {
        let raw = &raw.v;
        assert_eq!(raw.key.v, entry.key);
        let field = |name: &str| {
            raw.fields
                .iter()
                .find(|f| f.key.v == name)
                .map(|f| format!("{:?}", f.value.v))
        };
        assert!(field("title").is_some(), "{}: no title", entry.key);
        if let Some(doi) = &entry.doi {
            assert!(
                field("doi").unwrap().contains(doi.as_str()),
                "{}",
                entry.key
            );
        }
        if let Some(arxiv) = &entry.arxiv {
            assert!(
                field("eprint").unwrap().contains(arxiv.as_str()),
                "{}",
                entry.key
            );
        }
        if let Some(y) = entry.year {
            assert!(
                field("year").unwrap().contains(&y.to_string()),
                "{}",
                entry.key
            );
        }
    }
}

#[test]
fn bibtex_escapes_every_special_character() {
    assert_eq!(
        attnum_literature::escape(r"a & b % c $ d # e _ f ~ g ^ h \ i { j }"),
        r"a \& b \% c \$ d \# e \_ f \textasciitilde{} g \textasciicircum{} h \textbackslash{} i \{ j \}"
    );
}

#[test]
fn listings_books_and_balanced_braces_reach_bibtex_intact() {
    let with_braces = VALID.replace(
        "title: Kernel Smoothing",
        "title: Kernel Smoothing {and} Its Braces",
    );
    let literature = Literature::parse(Path::new("x.yaml"), &with_braces, &[]).unwrap();
    let text = bibtex::render(&literature);
    let bibliography = biblatex::RawBibliography::parse(&text).expect("valid BibTeX");
    let field = |key: &str, name: &str| {
        let entry = bibliography
            .entries
            .iter()
            .find(|e| e.v.key.v == key)
            .unwrap_or_else(|| panic!("no entry {key}"));
        entry
            .v
            .fields
            .iter()
            .find(|f| f.key.v == name)
            .map(|f| format!("{:?}", f.value.v))
    };
    assert!(
        field("wand1995kernel", "isbn")
            .unwrap()
            .contains("978-0-412-55270-0")
    );
    assert!(field("wand1995kernel", "title").unwrap().contains("Braces"));
    // A listing has no authors; natbib shows its `key` (the title) in their place.
    assert!(field("singularities", "author").is_none());
    assert!(
        field("singularities", "key")
            .unwrap()
            .contains("singularities")
    );
    assert!(text.contains("@misc{singularities,"), "{text}");
}

#[test]
fn isbns_are_checked_by_their_check_digit_and_braces_by_their_depth() {
    use attnum_literature::validate::{is_isbn, unbalanced_braces};
    for good in [
        "978-0-412-98321-4",
        "9780412552700",
        "0-412-98321-4",
        "0-8044-2957-X",
    ] {
        assert!(is_isbn(good), "{good}");
    }
    for bad in [
        "978-0-412-98321-5",
        "0-8044-2957-x",
        "X-8044-2957-0",
        "978--0-412-98321-4",
        "-9780412552700",
        "97804125527",
    ] {
        assert!(!is_isbn(bad), "{bad}");
    }
    assert_eq!(unbalanced_braces("{a} {b {c}}"), None);
    assert!(unbalanced_braces("a}{").unwrap().contains("character 2"));
    assert!(
        unbalanced_braces("{{a}")
            .unwrap()
            .contains("1 `{` never closed")
    );
}
