//! The data model of `data/literature.yaml`.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::{LiteratureError, parse_yaml, read, validate};

/// The whole literature file.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Literature {
    /// The themes, in the order of the paper.
    pub themes: Vec<Theme>,
    /// The entries.
    pub entries: Vec<Entry>,
    /// The works the seed conversation cited, with their verdicts.
    pub seed_citations: Vec<SeedCitation>,
}

/// A theme of the related work.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Theme {
    /// Identifier used by entries.
    pub id: String,
    /// Heading in the paper.
    pub title: String,
    /// One sentence on what the theme covers.
    pub scope: String,
}

/// What kind of work an entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A peer-reviewed article or proceedings paper.
    Paper,
    /// A preprint (an arXiv id is required).
    Preprint,
    /// A book.
    Book,
    /// A blog post (a URL is required).
    Blog,
    /// Software (a URL is required).
    Software,
    /// A work known only from an index's record of its title and abstract: its authors, year
    /// and identifier were not seen, so a URL to the record is required and the rest may be
    /// absent.
    Listing,
}

impl Kind {
    /// The name in tables.
    pub fn name(self) -> &'static str {
        match self {
            Self::Paper => "paper",
            Self::Preprint => "preprint",
            Self::Book => "book",
            Self::Blog => "blog",
            Self::Software => "software",
            Self::Listing => "listing",
        }
    }
}

/// One work of the related work.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// Citation key (letters, digits, `_`, `-`, `:`).
    pub key: String,
    /// Kind of work.
    #[serde(rename = "type")]
    pub kind: Kind,
    /// Authors as written in the work, comma-separated (absent only for a listing whose
    /// authors were not seen).
    #[serde(default)]
    pub authors: Option<String>,
    /// Title.
    pub title: String,
    /// Year (required except for software and blogs).
    #[serde(default)]
    pub year: Option<u16>,
    /// Journal, proceedings, publisher or platform.
    #[serde(default)]
    pub venue: Option<String>,
    /// arXiv identifier (`2106.01234` or `math.NA/0601001`).
    #[serde(default)]
    pub arxiv: Option<String>,
    /// DOI (`10.NNNN/…`).
    #[serde(default)]
    pub doi: Option<String>,
    /// A stable URL.
    #[serde(default)]
    pub url: Option<String>,
    /// ISBN-10 or ISBN-13 of a book (hyphens allowed, checksum checked).
    #[serde(default)]
    pub isbn: Option<String>,
    /// The theme's id.
    pub theme: String,
    /// Which of the paper's three questions it informs (1, 2, 3).
    pub questions: Vec<u8>,
    /// What it shows, in one or two factual sentences.
    pub shows: String,
    /// How it relates to this paper; `@ref(label)` becomes a cross-reference.
    pub relation: String,
}

/// The verdict on a work the seed conversation cited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Found as cited.
    Exists,
    /// Found under a different title.
    DifferentTitle,
    /// Not found anywhere.
    NotFound,
    /// The source of the conversation itself.
    Origin,
}

impl Verdict {
    /// The verdict in words.
    pub fn name(self) -> &'static str {
        match self {
            Self::Exists => "exists",
            Self::DifferentTitle => "exists under a different title",
            Self::NotFound => "not found",
            Self::Origin => "source of the conversation",
        }
    }
}

/// A work cited by the seed conversation.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SeedCitation {
    /// Its label in the conversation's order.
    pub id: String,
    /// The title as the conversation gave it.
    pub cited_as: String,
    /// The verdict.
    pub verdict: Verdict,
    /// The entry it was found as (absent exactly when not found).
    #[serde(default)]
    pub entry: Option<String>,
    /// How the verdict was reached.
    pub note: String,
    /// The searches made for it: required for a `not_found` verdict (at least
    /// [`validate::NOT_FOUND_STRATEGIES`] different strategies, the exact title among them).
    #[serde(default)]
    pub searched: Vec<Search>,
}

/// How a cited work was looked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// The title exactly as cited.
    ExactTitle,
    /// A distinctive phrase of what the conversation says the work contains.
    ClaimedContent,
    /// Authors: those cited, or those of a follow-up or related work.
    Authors,
    /// The venue or site the conversation linked (journal, publisher, index).
    Venue,
    /// A follow-up, a citing work or the nearest related work.
    Related,
}

impl Strategy {
    /// The strategy in words.
    pub fn name(self) -> &'static str {
        match self {
            Self::ExactTitle => "exact title",
            Self::ClaimedContent => "claimed content",
            Self::Authors => "authors",
            Self::Venue => "venue",
            Self::Related => "related work",
        }
    }
}

/// One search made for a cited work.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Search {
    /// What kind of search it was.
    pub strategy: Strategy,
    /// The query as typed.
    pub query: String,
    /// Where it was run (index or corpus), e.g. `web pages, documentation, code, issues`.
    pub corpora: String,
    /// What it found.
    pub result: String,
}

impl Literature {
    /// Parse and validate `path`; `cited` are the keys the paper cites (each must exist).
    ///
    /// # Errors
    /// The file cannot be read, does not parse ([`LiteratureError::Syntax`] with line and
    /// column), or breaks a rule ([`LiteratureError::Invalid`] listing every problem with its
    /// line and field).
    pub fn load(path: &Path, cited: &[String]) -> Result<Self, LiteratureError> {
        Self::parse(path, &read(path)?, cited)
    }

    /// Parse and validate `text` as the contents of `path`.
    ///
    /// # Errors
    /// As [`Literature::load`].
    pub fn parse(path: &Path, text: &str, cited: &[String]) -> Result<Self, LiteratureError> {
        let literature: Self = parse_yaml(path, text)?;
        let problems = validate::literature(&literature, text, cited);
        if problems.is_empty() {
            Ok(literature)
        } else {
            Err(LiteratureError::Invalid {
                path: path.to_owned(),
                problems,
            })
        }
    }

    /// The entry with `key`.
    pub fn entry(&self, key: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.key == key)
    }

    /// The entries of a theme, in file order.
    pub fn entries_of<'a>(&'a self, theme: &'a str) -> impl Iterator<Item = &'a Entry> + 'a {
        self.entries.iter().filter(move |e| e.theme == theme)
    }
}
