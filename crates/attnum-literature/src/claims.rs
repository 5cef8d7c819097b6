//! The data model of `data/claims.yaml`: every checkable claim of the seed conversation with a
//! verdict and the evidence for it.
//!
//! Evidence is a citation of a literature entry, a verdict of the seed-citation audit, or a named
//! query over a results table (the shape of the paper's `numbers.yaml`); the paper crate evaluates the queries and
//! fails the build when one matches no row, so no verdict stands without its evidence. A claim
//! whose evidence needs a sweep that does not exist yet is `pending` and has no evidence.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::model::Literature;
use crate::{LiteratureError, Problem, line_of, parse_yaml, read};

/// The claims file.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Claims {
    /// The claims, in the order of the conversation.
    pub claims: Vec<Claim>,
}

/// The verdict on a claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ClaimVerdict {
    /// The evidence confirms it.
    Confirmed,
    /// The evidence confirms part of it.
    Partly,
    /// The evidence refutes it.
    Refuted,
    /// Its evidence comes from a sweep that does not exist yet.
    Pending,
}

impl ClaimVerdict {
    /// The verdict in words.
    pub fn name(self) -> &'static str {
        match self {
            Self::Confirmed => "confirmed",
            Self::Partly => "partly true",
            Self::Refuted => "refuted",
            Self::Pending => "pending",
        }
    }
}

/// One claim.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Claim {
    /// Identifier (unique).
    pub id: String,
    /// Where the conversation makes it (`S1`…`S8`, or a citation label).
    pub source: String,
    /// The claim, quoted or closely paraphrased.
    pub claim: String,
    /// The verdict.
    pub verdict: ClaimVerdict,
    /// The evidence (none exactly when pending).
    #[serde(default)]
    pub evidence: Vec<Evidence>,
    /// What the evidence shows, in one or two sentences.
    pub explanation: String,
}

/// One piece of evidence.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Evidence {
    /// A literature key.
    #[serde(default)]
    pub cite: Option<String>,
    /// A named query over a results table.
    #[serde(default)]
    pub query: Option<EvidenceQuery>,
    /// The id of a work in the seed-citation audit (for claims about cited works).
    #[serde(default)]
    pub seed: Option<String>,
}

/// A query over a results table: the row(s) of `table` matching `where`, reduced to one value
/// of `column` (see the paper's `numbers.yaml`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EvidenceQuery {
    /// What the value is, in words (e.g. "S1 rerun").
    pub label: String,
    /// `SWEEP/STEM`.
    pub table: String,
    /// Equality conditions on columns.
    #[serde(default, rename = "where")]
    pub conditions: BTreeMap<String, serde_yaml::Value>,
    /// The column quoted.
    pub column: String,
    /// `one` (default), `min`, `max`, `median` or `count`.
    #[serde(default)]
    pub reduce: Option<String>,
    /// Significant digits shown (default 4).
    #[serde(default)]
    pub digits: Option<usize>,
}

impl Claims {
    /// Parse and check `path` against the literature (every cited key must exist).
    ///
    /// # Errors
    /// Unreadable file, syntax error with its position, or the problems found.
    pub fn load(path: &Path, literature: &Literature) -> Result<Self, LiteratureError> {
        Self::parse(path, &read(path)?, literature)
    }

    /// Parse and check `text` as the contents of `path`.
    ///
    /// # Errors
    /// As [`Claims::load`].
    pub fn parse(
        path: &Path,
        text: &str,
        literature: &Literature,
    ) -> Result<Self, LiteratureError> {
        let claims: Self = parse_yaml(path, text)?;
        let mut problems = Vec::new();
        let mut ids = BTreeMap::new();
        for (i, c) in claims.claims.iter().enumerate() {
            let line = line_of(text, "id", &c.id);
            let mut problem = |field: &str, message: String| {
                problems.push(Problem {
                    line,
                    field: format!("claims[{i}] ({}).{field}", c.id),
                    message,
                });
            };
            if let Some(first) = ids.insert(c.id.clone(), i) {
                problem("id", format!("duplicate id: also claims[{first}]"));
            }
            if c.claim.trim().is_empty() || c.explanation.trim().is_empty() {
                problem("claim", "claim and explanation must not be empty".into());
            }
            match (c.verdict, c.evidence.is_empty()) {
                (ClaimVerdict::Pending, false) => {
                    problem("evidence", "a pending claim has no evidence yet".into())
                }
                (v, true) if v != ClaimVerdict::Pending => problem(
                    "evidence",
                    format!("a `{}` verdict needs evidence", v.name()),
                ),
                _ => {}
            }
            for (j, ev) in c.evidence.iter().enumerate() {
                let given = [ev.cite.is_some(), ev.query.is_some(), ev.seed.is_some()];
                if given.iter().filter(|&&g| g).count() != 1 {
                    problem(
                        &format!("evidence[{j}]"),
                        "give exactly one of `cite`, `query` and `seed`".into(),
                    );
                }
                if let Some(key) = &ev.cite
                    && literature.entry(key).is_none()
                {
                    problem(
                        &format!("evidence[{j}].cite"),
                        format!("no literature entry `{key}`"),
                    );
                }
                if let Some(id) = &ev.seed
                    && !literature.seed_citations.iter().any(|s| &s.id == id)
                {
                    problem(
                        &format!("evidence[{j}].seed"),
                        format!("no seed citation `{id}`"),
                    );
                }
            }
        }
        if problems.is_empty() {
            Ok(claims)
        } else {
            Err(LiteratureError::Invalid {
                path: path.to_owned(),
                problems,
            })
        }
    }
}
