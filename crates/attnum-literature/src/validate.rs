//! The rules a literature file must follow; each broken rule is a [`Problem`] with the line of
//! the entry and the field path.
//!
//! Every entry of the file is shown in the paper's long table, so no entry can be orphaned; what
//! is checked is that each entry can be trusted and found: required fields per type,
//! identifier syntax (new- and old-style arXiv ids, DOI, URL, ISBN with its checksum), no
//! duplicate keys or identifiers, a plausible year, a known theme, questions among 1–3,
//! well-formed cross-references, balanced braces in every text (BibTeX counts braces even when
//! they are escaped, so one stray `}` breaks the bibliography), every theme used, a consistent
//! seed-citation audit in which every "not found" records the searches behind it, and every key
//! the paper cites present.

use std::collections::{BTreeMap, BTreeSet};

use crate::model::{Entry, Kind, Literature, Search, Strategy, Verdict};
use crate::{Problem, line_of};

/// How many different search strategies a "not found" verdict needs, the exact title among them.
pub const NOT_FOUND_STRATEGIES: usize = 3;

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

/// Whether `isbn` is an ISBN-10 or ISBN-13 (digits and hyphens, final `X` allowed in an
/// ISBN-10) with a valid check digit.
pub fn is_isbn(isbn: &str) -> bool {
    if isbn.starts_with('-') || isbn.ends_with('-') || isbn.contains("--") {
        return false;
    }
    let symbols: Vec<char> = isbn.chars().filter(|&c| c != '-').collect();
    let digit = |c: char| c.to_digit(10);
    match symbols.len() {
        10 => {
            let mut sum = 0;
            for (i, &c) in symbols.iter().enumerate() {
                let value = match (digit(c), c, i) {
                    (Some(d), _, _) => d,
                    (None, 'X', 9) => 10,
                    _ => return false,
                };
                sum += (10 - i as u32) * value;
            }
            sum % 11 == 0
        }
        13 => {
            let mut sum = 0;
            for (i, &c) in symbols.iter().enumerate() {
                let Some(d) = digit(c) else { return false };
                sum += if i % 2 == 0 { d } else { 3 * d };
            }
            sum % 10 == 0
        }
        _ => false,
    }
}

/// What is wrong with the braces of `text`, if anything. BibTeX counts `{` and `}` whether or
/// not a backslash precedes them, so the escaped text of a field must still balance.
pub fn unbalanced_braces(text: &str) -> Option<String> {
    let mut depth = 0usize;
    for (i, c) in text.chars().enumerate() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => {
                return Some(format!(
                    "unbalanced braces: the `}}` at character {} closes no `{{` (BibTeX would fail)",
                    i + 1
                ));
            }
            '}' => depth -= 1,
            _ => {}
        }
    }
    (depth > 0).then(|| format!("unbalanced braces: {depth} `{{` never closed (BibTeX would fail)"))
}

/// What is missing from the searches recorded for a "not found" verdict, if anything.
pub fn missing_searches(searched: &[Search]) -> Option<String> {
    let strategies: BTreeSet<Strategy> = searched.iter().map(|s| s.strategy).collect();
    let names = || {
        strategies
            .iter()
            .map(|s| s.name())
            .collect::<Vec<_>>()
            .join(", ")
    };
    if searched.is_empty() {
        Some(format!(
            "a `not found` verdict needs the searches behind it: at least \
             {NOT_FOUND_STRATEGIES} strategies (exact_title, claimed_content, authors, venue, \
             related), each with query, corpora and result"
        ))
    } else if !strategies.contains(&Strategy::ExactTitle) {
        Some(format!(
            "a `not found` verdict needs an exact_title search (recorded: {})",
            names()
        ))
    } else if strategies.len() < NOT_FOUND_STRATEGIES {
        Some(format!(
            "a `not found` verdict needs at least {NOT_FOUND_STRATEGIES} different search \
             strategies (recorded: {})",
            names()
        ))
    } else {
        None
    }
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
        ("title", &e.title),
        ("shows", &e.shows),
        ("relation", &e.relation),
    ] {
        if value.trim().is_empty() {
            problem(field, "must not be empty".into());
        }
    }
    match &e.authors {
        Some(a) if a.trim().is_empty() => problem("authors", "must not be empty".into()),
        None if e.kind != Kind::Listing => {
            problem("authors", format!("a {} needs its authors", e.kind.name()))
        }
        _ => {}
    }
    // The arXiv id, URL and ISBN checks already refuse braces; a DOI suffix may contain them.
    for (field, value) in [
        ("authors", e.authors.as_deref()),
        ("title", Some(e.title.as_str())),
        ("venue", e.venue.as_deref()),
        ("doi", e.doi.as_deref()),
        ("shows", Some(e.shows.as_str())),
        ("relation", Some(e.relation.as_str())),
    ] {
        if let Some(message) = value.and_then(unbalanced_braces) {
            problem(field, message);
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
    if let Some(i) = &e.isbn
        && !is_isbn(i)
    {
        problem(
            "isbn",
            format!("`{i}` is not an ISBN-10 or ISBN-13 with a valid check digit"),
        );
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
        Kind::Book if e.doi.is_none() && e.isbn.is_none() && e.url.is_none() => {
            problem("doi", needs("a DOI, an ISBN or a URL"))
        }
        Kind::Blog | Kind::Software if e.url.is_none() => problem("url", needs("a URL")),
        Kind::Listing if e.url.is_none() => problem("url", needs("the URL of the record")),
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
        let line = line_of(text, "id", &t.id);
        if !themes.insert(t.id.as_str()) {
            problems.push(Problem {
                line,
                field: format!("themes[{i}].id"),
                message: format!("theme `{}` is defined twice", t.id),
            });
        }
        for (field, value) in [("title", &t.title), ("scope", &t.scope)] {
            if let Some(message) = unbalanced_braces(value) {
                problems.push(Problem {
                    line,
                    field: format!("themes[{i}] ({}).{field}", t.id),
                    message,
                });
            }
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
        for (kind, value) in [
            ("arxiv", &e.arxiv),
            ("doi", &e.doi),
            ("url", &e.url),
            ("isbn", &e.isbn),
        ] {
            if let Some(v) = value {
                let mut normalised = v.trim_end_matches('/').to_ascii_lowercase();
                if kind == "isbn" {
                    normalised.retain(|c| c != '-');
                }
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
        if s.verdict == Verdict::NotFound
            && let Some(message) = missing_searches(&s.searched)
        {
            problems.push(Problem {
                line,
                field: field("searched"),
                message,
            });
        }
        let mut texts = vec![
            ("cited_as".to_owned(), &s.cited_as),
            ("note".to_owned(), &s.note),
        ];
        for (j, search) in s.searched.iter().enumerate() {
            for (name, value) in [
                ("query", &search.query),
                ("corpora", &search.corpora),
                ("result", &search.result),
            ] {
                if value.trim().is_empty() {
                    problems.push(Problem {
                        line,
                        field: field(&format!("searched[{j}].{name}")),
                        message: "must not be empty".into(),
                    });
                }
                texts.push((format!("searched[{j}].{name}"), value));
            }
        }
        for (name, value) in texts {
            if let Some(message) = unbalanced_braces(value) {
                problems.push(Problem {
                    line,
                    field: field(&name),
                    message,
                });
            }
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
