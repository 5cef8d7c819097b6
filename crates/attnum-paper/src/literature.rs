//! The related work in the paper: the bibliography generated from `data/literature.yaml`, the
//! literature and audit tables' template context, and the claims audit with its evidence
//! evaluated against the results (a query that matches no row fails the build).

use std::collections::BTreeMap;

use std::path::Path;

use attnum_literature::claims::{Claims, Evidence, EvidenceQuery};
use attnum_literature::validate::references;
use attnum_literature::{Literature, Verdict, bibtex};
use serde::Serialize;

use crate::error::{PaperError, Result};
use crate::latex::escape;
use crate::numbers::NumberQuery;
use crate::results::Results;

/// An entry as the templates see it (text fields already LaTeX).
#[derive(Debug, Serialize)]
struct EntryContext {
    key: String,
    kind: &'static str,
    year: String,
    title: String,
    shows: String,
    relation: String,
}

/// A theme with its entries.
#[derive(Debug, Serialize)]
struct ThemeContext {
    id: String,
    title: String,
    scope: String,
    entries: Vec<EntryContext>,
}

/// A seed citation as the templates see it.
#[derive(Debug, Serialize)]
struct SeedContext {
    id: String,
    cited_as: String,
    verdict: &'static str,
    found_as: String,
    note: String,
}

/// A claim with its evidence rendered as LaTeX.
#[derive(Debug, Serialize)]
struct ClaimContext {
    id: String,
    source: String,
    claim: String,
    verdict: &'static str,
    evidence: String,
    explanation: String,
}

/// The literature part of the template context.
#[derive(Debug, Serialize)]
pub struct LiteratureContext {
    count: usize,
    seed_count: usize,
    seed_not_found: usize,
    themes: Vec<ThemeContext>,
    seed_citations: Vec<SeedContext>,
    claims: Vec<ClaimContext>,
    /// The number of claims with each verdict, by the verdict's name.
    verdicts: BTreeMap<&'static str, usize>,
}

/// `text` escaped for LaTeX with each `@ref(label)` turned into `\cref{label}`.
fn with_references(text: &str) -> String {
    let mut out = escape(text);
    if let Ok(labels) = references(text) {
        for label in labels {
            out = out.replace(
                &format!("@ref({})", escape(label)),
                &format!(r"\cref{{{label}}}"),
            );
        }
    }
    out
}

/// Evaluate one query of the claims audit.
///
/// # Errors
/// [`PaperError::Claim`] when the query is malformed or matches no row.
pub fn evaluate_evidence(claim: &str, q: &EvidenceQuery, results: &Results) -> Result<String> {
    let fail = |message: String| PaperError::Claim {
        claim: claim.to_owned(),
        message,
    };
    let mut mapping = serde_yaml::Mapping::new();
    let mut put = |k: &str, v: serde_yaml::Value| {
        mapping.insert(serde_yaml::Value::String(k.into()), v);
    };
    put("name", "Evidence".into());
    put("table", q.table.clone().into());
    put(
        "where",
        serde_yaml::Value::Mapping(
            q.conditions
                .iter()
                .map(|(k, v)| (serde_yaml::Value::String(k.clone()), v.clone()))
                .collect(),
        ),
    );
    put("column", q.column.clone().into());
    put(
        "reduce",
        q.reduce.clone().unwrap_or_else(|| "one".into()).into(),
    );
    put("format", "int".into());
    let query: NumberQuery = serde_yaml::from_value(serde_yaml::Value::Mapping(mapping))
        .map_err(|e| fail(format!("query on `{}`: {e}", q.table)))?;
    let value = query
        .evaluate(results)
        .map_err(|e| fail(format!("query on `{}`: {e}", q.table)))?;
    let digits = q.digits.unwrap_or(4);
    Ok(format!(
        r"{}: \num[round-mode=figures,round-precision={digits}]{{{value:e}}} (\texttt{{{}}})",
        escape(&q.label),
        escape(&q.table)
    ))
}

fn evidence(claim: &str, ev: &Evidence, results: &Results) -> Result<String> {
    match (&ev.cite, &ev.query, &ev.seed) {
        (Some(key), _, _) => Ok(format!(r"\citet{{{key}}}")),
        (_, Some(q), _) => evaluate_evidence(claim, q, results),
        (_, _, Some(id)) => Ok(format!(
            r"seed citation {} (\cref{{tab:seed-audit}})",
            escape(id)
        )),
        _ => Err(PaperError::Claim {
            claim: claim.to_owned(),
            message: "evidence without `cite`, `query` or `seed`".into(),
        }),
    }
}

/// The keys cited by `\cite`, `\citet` and `\citep` in the `.tex` files under `dir` (not
/// under `skip`).
pub fn cited_keys(dir: &Path, skip: &Path) -> Result<Vec<String>> {
    let mut sources = Vec::new();
    crate::collect_sources(dir, skip, &mut sources)?;
    let mut keys = std::collections::BTreeSet::new();
    for path in sources
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "tex"))
    {
        let text = std::fs::read_to_string(path).map_err(|e| PaperError::io(path, e))?;
        for command in [r"\cite{", r"\citet{", r"\citep{"] {
            for (i, _) in text.match_indices(command) {
                let rest = &text[i + command.len()..];
                if let Some(end) = rest.find('}') {
                    keys.extend(rest[..end].split(',').map(|k| k.trim().to_owned()));
                }
            }
        }
    }
    // Template expressions (`\citep{<< e.key >>}`) cite every entry and are not keys.
    Ok(keys
        .into_iter()
        .filter(|k| !k.is_empty() && !k.contains("<<"))
        .collect())
}

/// Load and validate the literature and the claims of the workspace at `root` (with the keys the
/// paper cites), and return the bibliography and the template context.
///
/// # Errors
/// Invalid literature or claims files, or a claim whose evidence query matches nothing.
pub fn render(
    root: &Path,
    cited: &[String],
    results: &Results,
) -> Result<(String, LiteratureContext)> {
    let literature = Literature::load(&root.join("data/literature.yaml"), cited)?;
    let claims = Claims::load(&root.join("data/claims.yaml"), &literature)?;
    let themes = literature
        .themes
        .iter()
        .map(|t| ThemeContext {
            id: t.id.clone(),
            title: escape(&t.title),
            scope: escape(&t.scope),
            entries: literature
                .entries_of(&t.id)
                .map(|e| EntryContext {
                    key: e.key.clone(),
                    kind: e.kind.name(),
                    year: e
                        .year
                        .map(|y| y.to_string())
                        .unwrap_or_else(|| "n.d.".into()),
                    title: escape(&e.title),
                    shows: escape(&e.shows),
                    relation: with_references(&e.relation),
                })
                .collect(),
        })
        .collect();
    let seed_citations = literature
        .seed_citations
        .iter()
        .map(|s| SeedContext {
            id: escape(&s.id),
            cited_as: escape(&s.cited_as),
            verdict: s.verdict.name(),
            found_as: s
                .entry
                .as_ref()
                .map(|k| format!(r"\citet{{{k}}}"))
                .unwrap_or_else(|| "---".into()),
            note: escape(&s.note),
        })
        .collect();
    let claims = claims
        .claims
        .iter()
        .map(|c| {
            let evidence = c
                .evidence
                .iter()
                .map(|ev| evidence(&c.id, ev, results))
                .collect::<Result<Vec<_>>>()?;
            Ok(ClaimContext {
                id: escape(&c.id),
                source: escape(&c.source),
                claim: escape(&c.claim),
                verdict: c.verdict.name(),
                evidence: if evidence.is_empty() {
                    "---".into()
                } else {
                    evidence.join("; ")
                },
                explanation: escape(&c.explanation),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let mut verdicts = BTreeMap::new();
    for c in &claims {
        *verdicts.entry(c.verdict).or_insert(0) += 1;
    }
    Ok((
        bibtex::render(&literature),
        LiteratureContext {
            count: literature.entries.len(),
            seed_count: literature
                .seed_citations
                .iter()
                .filter(|s| s.verdict != Verdict::Origin)
                .count(),
            seed_not_found: literature
                .seed_citations
                .iter()
                .filter(|s| s.verdict == Verdict::NotFound)
                .count(),
            themes,
            seed_citations,
            claims,
            verdicts,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use attnum_results::Table;

    fn results() -> Results {
        let mut table = Table::new(&["sigma", "s1"]);
        table.push_row(vec![1.0.into(), 3.9998.into()]);
        let mut results = Results::default();
        results.tables.insert("kernel_attention/s1".into(), table);
        results
    }

    fn query(sigma: f64) -> EvidenceQuery {
        serde_yaml::from_str(&format!(
            "{{ label: S1, table: kernel_attention/s1, where: {{ sigma: {sigma} }}, column: s1 }}"
        ))
        .unwrap()
    }

    #[test]
    fn evidence_is_the_value_of_its_row() {
        let text = evaluate_evidence("s1", &query(1.0), &results()).unwrap();
        assert!(
            text.contains(r"\num[round-mode=figures,round-precision=4]{3.9998e0}"),
            "{text}"
        );
    }

    #[test]
    fn a_claim_whose_evidence_row_is_missing_fails_the_build() {
        let err = evaluate_evidence("s1-value", &query(2.0), &results()).unwrap_err();
        let message = err.to_string();
        assert!(
            message.contains("claim `s1-value`") && message.contains("no row matches"),
            "{message}"
        );
        let missing = EvidenceQuery {
            table: "kernel_attention/none".into(),
            ..query(1.0)
        };
        assert!(evaluate_evidence("s1-value", &missing, &results()).is_err());
    }
}
