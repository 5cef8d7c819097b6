//! The bibliography for natbib (`plainnat`): one BibTeX entry per literature entry.
//!
//! Papers become `@article` (journal = venue), books `@book` (publisher = venue), preprints,
//! blogs, software and listings `@misc`. Identifiers go into `doi`, `eprint` (with
//! `archiveprefix = {arXiv}`), `isbn` and `url`. Every text field is escaped for LaTeX
//! ([`escape`]), the title is braced so BibTeX keeps its capitals, and the authors
//! (comma-separated in the data) are joined with `and`; a listing without authors gets its
//! title as `key`, which natbib shows in their place. Escaped braces still count for BibTeX:
//! [`crate::validate`] refuses unbalanced ones before they get here.

use std::fmt::Write;

use crate::escape;
use crate::model::{Entry, Kind, Literature};

/// The BibTeX authors: the comma-separated names joined with `and`.
fn authors(list: &str) -> String {
    list.split(',')
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(escape)
        .collect::<Vec<_>>()
        .join(" and ")
}

fn entry(e: &Entry, out: &mut String) {
    let kind = match e.kind {
        Kind::Paper => "article",
        Kind::Book => "book",
        Kind::Preprint | Kind::Blog | Kind::Software | Kind::Listing => "misc",
    };
    let mut fields: Vec<(&str, String)> = match &e.authors {
        Some(list) => vec![("author", authors(list))],
        None => vec![("key", escape(&e.title))],
    };
    fields.push(("title", format!("{{{}}}", escape(&e.title))));
    let venue = e.venue.as_deref().map(escape);
    match (e.kind, venue) {
        (Kind::Paper, Some(v)) => fields.push(("journal", v)),
        (Kind::Book, Some(v)) => fields.push(("publisher", v)),
        (Kind::Preprint, _) => fields.push((
            "howpublished",
            format!("arXiv preprint arXiv:{}", e.arxiv.as_deref().unwrap_or("")),
        )),
        (_, Some(v)) => fields.push(("howpublished", v)),
        (_, None) => {}
    }
    if let Some(y) = e.year {
        fields.push(("year", y.to_string()));
    }
    if let Some(d) = &e.doi {
        fields.push(("doi", d.clone()));
    }
    if let Some(a) = &e.arxiv {
        fields.push(("eprint", a.clone()));
        fields.push(("archiveprefix", "arXiv".into()));
    }
    if let Some(i) = &e.isbn {
        fields.push(("isbn", i.clone()));
    }
    if let Some(u) = &e.url {
        fields.push(("url", u.clone()));
    }
    let _ = writeln!(out, "@{kind}{{{},", e.key);
    for (name, value) in fields {
        let _ = writeln!(out, "  {name:<13} = {{{value}}},");
    }
    out.push_str("}\n\n");
}

/// The whole bibliography, entries in file order.
pub fn render(literature: &Literature) -> String {
    let mut out = String::from(
        "% Generated from data/literature.yaml by attnum (crates/attnum-literature/src/bibtex.rs).\n\n",
    );
    for e in &literature.entries {
        entry(e, &mut out);
    }
    out
}
