//! The rules a literature file must follow; each broken rule is a [`Problem`] with the line of
//! the entry and the field path.
//!
//! Every entry of the file is shown in the paper's long table, so no entry can be orphaned; what
//! is checked is that each entry can be trusted and found: required fields per type,
//! identifier syntax (new- and old-style arXiv ids, DOI, URL), no duplicate keys or identifiers,
//! a plausible year, a known theme, questions among 1–3, well-formed cross-references, every
//! theme used, a consistent seed-citation audit, and every key the paper cites present.

use std::collections::{BTreeMap, BTreeSet};

use crate::model::{Entry, Kind, Literature, Verdict};
use crate::{Problem, line_of};

/// The latest year an entry may carry.
pub const LATEST_YEAR: u16 = 2027;
/// The earliest year an entry may carry.
pub const EARLIEST_YEAR: u16 = 1600;

/// Whether `id` is an arXiv identifier: `YYMM.NNNN` (April 2007 to 2014) or `YYMM.NNNNN` (since
/// 2015) with an optional version, or the old `archive(.XX)/YYMMNNN`.
pub fn is_arxiv_id(id: &str) -> bool {
    let id = match id.rsplit_once('v') {
        Some((base, version))
            if !version.is_empty() && version.chars().all(|c| c.is_ascii_digit()) =>
        {
            base
        }
        _ => id,
    };
    if let Some((yymm, number)) = id.split_once('.')
        && yymm.len() == 4
        && yymm.chars().all(|c| c.is_ascii_digit())
        && number.chars().all(|c| c.is_ascii_digit())
    {
        // Four-digit numbers from 0704 to 1412, five digits since 1501.
        let month: u32 = yymm[2..].parse().unwrap_or(0);
        let digits = if yymm >= "1501" { 5 } else { 4 };
        return (1..=12).contains(&month) && number.len() == digits && yymm >= "0704";
    }
    if let Some((archive, number)) = id.split_once('/') {
        let (name, class) = archive.split_once('.').unwrap_or((archive, ""));
        let name_ok = !name.is_empty()
            && name
                .split('-')
                .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase()));
        let class_ok =
            class.is_empty() || (class.len() == 2 && class.chars().all(|c| c.is_ascii_uppercase()));
        return name_ok
            && class_ok
            && number.len() == 7
            && number.chars().all(|c| c.is_ascii_digit());
    }
    false
}

/// Whether `doi` has DOI syntax: `10.` + a registrant code of digits (and dots) + `/` + a
/// non-empty suffix without spaces.
pub fn is_doi(doi: &str) -> bool {
    let Some(rest) = doi.strip_prefix("10.") else {
        return false;
    };
    let Some((registrant, suffix)) = rest.split_once('/') else {
        return false;
    };
    registrant.len() >= 4
        && registrant.chars().all(|c| c.is_ascii_digit() || c == '.')
        && !suffix.is_empty()
        && !suffix.chars().any(char::is_whitespace)
}

/// Whether `url` is an absolute http(s) URL without spaces or braces.
pub fn is_url(url: &str) -> bool {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    rest.is_some_and(|r| {
        r.contains('.')
            && !r.starts_with('/')
            && !r
                .chars()
                .any(|c| c.is_whitespace() || c == '{' || c == '}' || c == '"')
    })
}

/// The labels of the `@ref(label)` cross-references in `text`, or an error message.
pub fn references(text: &str) -> Result<Vec<&str>, String> {
    let mut labels = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("@ref(") {
        let after = &rest[start + 5..];
        let end = after
            .find(')')
            .ok_or_else(|| "an `@ref(` is not closed".to_owned())?;
        let label = &after[..end];
        if label.is_empty()
            || !label
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == ':' || c == '-' || c == '_')
        {
            return Err(format!("`@ref({label})` is not a label"));
        }
        labels.push(label);
        rest = &after[end + 1..];
    }
    Ok(labels)
}

fn check_entry(e: &Entry, mut problem: impl FnMut(&str, String)) {
    if e.key.is_empty()
        || !e
            .key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == ':')
    {
        problem(
            "key",
            format!("`{}` is not a citation key (letters, digits, _ - :)", e.key),
        );
    }
    for (field, value) in [
        ("authors", &e.authors),
        ("title", &e.title),
        ("shows", &e.shows),
        ("relation", &e.relation),
    ] {
        if value.trim().is_empty() {
            problem(field, "must not be empty".into());
        }
    }
    match e.year {
        Some(y) if !(EARLIEST_YEAR..=LATEST_YEAR).contains(&y) => problem(
            "year",
            format!("{y} is outside {EARLIEST_YEAR}–{LATEST_YEAR}"),
        ),
        None if matches!(e.kind, Kind::Paper | Kind::Preprint | Kind::Book) => {
            problem("year", format!("a {} needs a year", e.kind.name()))
        }
        _ => {}
    }
    if let Some(a) = &e.arxiv
        && !is_arxiv_id(a)
    {
        problem(
            "arxiv",
            format!("`{a}` is not an arXiv id (e.g. 2106.01234 or math.NA/0601001)"),
        );
    }
    if let Some(d) = &e.doi
        && !is_doi(d)
    {
        problem(
            "doi",
            format!("`{d}` is not a DOI (10.NNNN/suffix, without https://doi.org/)"),
        );
    }
    if let Some(u) = &e.url
        && !is_url(u)
    {
        problem("url", format!("`{u}` is not an absolute http(s) URL"));
    }
    let needs = |what: &str| format!("a {} needs {what}", e.kind.name());
    match e.kind {
        Kind::Preprint if e.arxiv.is_none() => problem("arxiv", needs("an arXiv id")),
        Kind::Paper | Kind::Book if e.venue.as_deref().is_none_or(str::is_empty) => {
            problem("venue", needs("a venue"))
        }
        Kind::Paper if e.doi.is_none() && e.arxiv.is_none() && e.url.is_none() => {
            problem("doi", needs("a DOI, an arXiv id or a URL"))
        }
        Kind::Book if e.doi.is_none() && e.url.is_none() => problem("doi", needs("a DOI or a URL")),
        Kind::Blog | Kind::Software if e.url.is_none() => problem("url", needs("a URL")),
        _ => {}
    }
    if e.questions.is_empty() || e.questions.iter().any(|q| !(1..=3).contains(q)) {
        problem(
            "questions",
            format!("must list questions among 1, 2, 3, got {:?}", e.questions),
        );
    }
    if let Err(message) = references(&e.relation) {
        problem("relation", message);
    }
}

/// Every problem of `literature` (parsed from `text`), given the keys the paper cites.
pub fn literature(literature: &Literature, text: &str, cited: &[String]) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut themes = BTreeSet::new();
    for (i, t) in literature.themes.iter().enumerate() {
        if !themes.insert(t.id.as_str()) {
            problems.push(Problem {
                line: line_of(text, "id", &t.id),
                field: format!("themes[{i}].id"),
                message: format!("theme `{}` is defined twice", t.id),
            });
        }
    }
    let mut keys: BTreeMap<&str, usize> = BTreeMap::new();
    let mut identifiers: BTreeMap<(String, String), &str> = BTreeMap::new();
    let mut used_themes = BTreeSet::new();
    for (i, e) in literature.entries.iter().enumerate() {
        let line = line_of(text, "key", &e.key);
        let prefix = format!("entries[{i}] ({})", e.key);
        let mut problem = |field: &str, message: String| {
            problems.push(Problem {
                line,
                field: format!("{prefix}.{field}"),
                message,
            });
        };
        check_entry(e, &mut problem);
        if let Some(first) = keys.insert(e.key.as_str(), i) {
            problem("key", format!("duplicate key: also entries[{first}]"));
        }
        for (kind, value) in [("arxiv", &e.arxiv), ("doi", &e.doi), ("url", &e.url)] {
            if let Some(v) = value {
                let normalised = v.trim_end_matches('/').to_ascii_lowercase();
                if let Some(other) = identifiers.insert((kind.to_owned(), normalised), &e.key) {
                    problem(kind, format!("`{v}` is also the {kind} of `{other}`"));
                }
            }
        }
        if themes.contains(e.theme.as_str()) {
            used_themes.insert(e.theme.as_str());
        } else {
            problem("theme", format!("unknown theme `{}`", e.theme));
        }
    }
    for (i, t) in literature.themes.iter().enumerate() {
        if !used_themes.contains(t.id.as_str()) {
            problems.push(Problem {
                line: line_of(text, "id", &t.id),
                field: format!("themes[{i}] ({})", t.id),
                message: "no entry has this theme".into(),
            });
        }
    }
    let mut ids = BTreeSet::new();
    for (i, s) in literature.seed_citations.iter().enumerate() {
        let line = line_of(text, "id", &s.id);
        let field = |f: &str| format!("seed_citations[{i}] ({}).{f}", s.id);
        if !ids.insert(s.id.as_str()) {
            problems.push(Problem {
                line,
                field: field("id"),
                message: "duplicate id".into(),
            });
        }
        match (&s.entry, s.verdict) {
            (Some(_), Verdict::NotFound) => problems.push(Problem {
                line,
                field: field("entry"),
                message: "a work that was not found has no entry".into(),
            }),
            (None, v) if v != Verdict::NotFound => problems.push(Problem {
                line,
                field: field("entry"),
                message: format!("a work whose verdict is `{}` needs its entry", v.name()),
            }),
            (Some(key), _) if !keys.contains_key(key.as_str()) => problems.push(Problem {
                line,
                field: field("entry"),
                message: format!("no entry `{key}`"),
            }),
            _ => {}
        }
    }
    for key in cited {
        if !keys.contains_key(key.as_str()) {
            problems.push(Problem {
                line: None,
                field: format!("cited key `{key}`"),
                message: "the paper cites it but data/literature.yaml has no such entry".into(),
            });
        }
    }
    problems
}
