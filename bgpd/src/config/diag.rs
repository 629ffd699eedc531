//! Config diagnostics: where in the file a mistake is (line, column, key
//! path) and how it reads.
//!
//! Positions come from toml's span-aware document (`toml::de::DeTable`):
//! a serde error carries a byte span, which we map back to the key path
//! that holds it; a semantic check names a key path, which we map to the
//! span of its value (or of the nearest enclosing table when the key was
//! left out and defaulted).

use std::fmt;
use std::ops::Range;
use std::path::PathBuf;
use toml::de::{DeTable, DeValue};
use toml::Spanned;

/// One mistake in a config file, with its position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// File name as given to [`super::parse`].
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column (in characters).
    pub column: usize,
    /// Key path, e.g. `neighbor[1].hold_time` (array indices 0-based);
    /// empty for plain TOML syntax errors.
    pub key: String,
    /// What is wrong and what was expected.
    pub message: String,
    /// The source line the position is on (for [`Diagnostic::render`]).
    pub source_line: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: ", self.file, self.line, self.column)?;
        if !self.key.is_empty() {
            write!(f, "{}: ", self.key)?;
        }
        f.write_str(&self.message)
    }
}

impl Diagnostic {
    /// Multi-line form with the source line and a caret, as rustc prints:
    ///
    /// ```text
    /// error: neighbor[0].hold_time: hold time 2 is invalid, ...
    ///   --> rbgpd.toml:7:13
    ///    |
    ///  7 | hold_time = 2
    ///    |             ^
    /// ```
    pub fn render(&self) -> String {
        let num = self.line.to_string();
        let pad = " ".repeat(num.len());
        let key = if self.key.is_empty() {
            String::new()
        } else {
            format!("{}: ", self.key)
        };
        let caret_pad: String = self
            .source_line
            .chars()
            .take(self.column.saturating_sub(1))
            .map(|c| if c == '\t' { '\t' } else { ' ' })
            .collect();
        format!(
            "error: {key}{msg}\n{pad}--> {file}:{line}:{col}\n{pad} |\n{num} | {src}\n{pad} | {caret_pad}^\n",
            msg = self.message,
            file = self.file,
            line = self.line,
            col = self.column,
            src = self.source_line,
        )
    }
}

/// Why a config could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {}: {source}", path.display())]
    Io {
        /// The path given.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The file has mistakes: syntax, types, unknown keys, or values that
    /// fail validation. Display prints one line per mistake.
    #[error("{}", join(diagnostics))]
    Invalid {
        /// File name.
        file: String,
        /// Every mistake found, in file order (at least one).
        diagnostics: Vec<Diagnostic>,
    },
}

impl ConfigError {
    /// The mistakes found (empty for [`ConfigError::Io`]).
    pub fn diagnostics(&self) -> &[Diagnostic] {
        match self {
            ConfigError::Io { .. } => &[],
            ConfigError::Invalid { diagnostics, .. } => diagnostics,
        }
    }

    /// Multi-line form with source snippets (for `rbgpd --check-config`).
    pub fn render(&self) -> String {
        match self {
            ConfigError::Io { .. } => format!("error: {self}\n"),
            ConfigError::Invalid { diagnostics, .. } => diagnostics
                .iter()
                .map(Diagnostic::render)
                .collect::<Vec<_>>()
                .join("\n"),
        }
    }
}

fn join(d: &[Diagnostic]) -> String {
    d.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

/// One step of a key path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Seg {
    Key(String),
    Index(usize),
}

/// A path to a key: `neighbor[1].hold_time`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct KeyPath(pub(super) Vec<Seg>);

impl KeyPath {
    pub(super) fn key(&self, k: &str) -> KeyPath {
        let mut p = self.clone();
        p.0.push(Seg::Key(k.to_string()));
        p
    }
    pub(super) fn index(&self, i: usize) -> KeyPath {
        let mut p = self.clone();
        p.0.push(Seg::Index(i));
        p
    }
    /// The last key name, if any.
    pub(super) fn last_key(&self) -> Option<&str> {
        self.0.iter().rev().find_map(|s| match s {
            Seg::Key(k) => Some(k.as_str()),
            Seg::Index(_) => None,
        })
    }
}

impl fmt::Display for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, s) in self.0.iter().enumerate() {
            match s {
                Seg::Key(k) if i == 0 => f.write_str(k)?,
                Seg::Key(k) => write!(f, ".{k}")?,
                Seg::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

/// Maps key paths to positions and back, over one parsed document.
pub(super) struct Locator<'a> {
    pub(super) text: &'a str,
    pub(super) file: &'a str,
    doc: Option<Spanned<DeTable<'a>>>,
}

impl<'a> Locator<'a> {
    pub(super) fn new(text: &'a str, file: &'a str) -> Self {
        Locator {
            text,
            file,
            doc: DeTable::parse(text).ok(),
        }
    }

    /// Span of the value at `path`; when a step is missing (a defaulted
    /// key), the span of the deepest value that exists.
    pub(super) fn span(&self, path: &KeyPath) -> Range<usize> {
        let Some(doc) = &self.doc else { return 0..0 };
        let mut span = 0..0;
        let mut table: Option<&DeTable<'_>> = Some(doc.get_ref());
        let mut array: Option<&[Spanned<DeValue<'_>>]> = None;
        for seg in &path.0 {
            let next = match (seg, table, array) {
                (Seg::Key(k), Some(t), _) => t.get(k.as_str()),
                (Seg::Index(i), _, Some(a)) => a.get(*i),
                _ => None,
            };
            let Some(v) = next else { break };
            span = v.span();
            table = v.get_ref().as_table();
            array = v.get_ref().as_array().map(|a| &a[..]);
        }
        span
    }

    /// The key path whose key or value holds byte `offset` (deepest first).
    pub(super) fn path_at(&self, offset: usize) -> KeyPath {
        let mut path = KeyPath::default();
        if let Some(doc) = &self.doc {
            find_in_table(doc.get_ref(), offset, &mut path);
        }
        path
    }

    /// 1-based line of a path's value.
    pub(super) fn line_of(&self, path: &KeyPath) -> usize {
        self.position(self.span(path).start).0
    }

    /// (line, column, source line) of a byte offset, all 1-based.
    pub(super) fn position(&self, offset: usize) -> (usize, usize, String) {
        let offset = offset.min(self.text.len());
        let before = self.text.get(..offset).unwrap_or("");
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let line = before.matches('\n').count() + 1;
        let column = before.get(line_start..).unwrap_or("").chars().count() + 1;
        let rest = self.text.get(line_start..).unwrap_or("");
        let source_line = rest.lines().next().unwrap_or("").to_string();
        (line, column, source_line)
    }

    /// A diagnostic at `path`.
    pub(super) fn at_path(&self, path: &KeyPath, message: String) -> Diagnostic {
        self.at_offset(self.span(path).start, path.to_string(), message)
    }

    /// A diagnostic at a byte offset.
    pub(super) fn at_offset(&self, offset: usize, key: String, message: String) -> Diagnostic {
        let (line, column, source_line) = self.position(offset);
        Diagnostic {
            file: self.file.to_string(),
            line,
            column,
            key,
            message,
            source_line,
        }
    }
}

fn contains(span: &Range<usize>, offset: usize) -> bool {
    span.start <= offset && offset < span.end.max(span.start + 1)
}

fn find_in_table(t: &DeTable<'_>, offset: usize, path: &mut KeyPath) -> bool {
    for (k, v) in t.iter() {
        path.0.push(Seg::Key(k.get_ref().to_string()));
        if find_in_value(v, offset, path) || contains(&k.span(), offset) {
            return true;
        }
        path.0.pop();
    }
    false
}

fn find_in_value(v: &Spanned<DeValue<'_>>, offset: usize, path: &mut KeyPath) -> bool {
    match v.get_ref() {
        DeValue::Table(t) if find_in_table(t, offset, path) => return true,
        DeValue::Array(a) => {
            for (i, item) in a.iter().enumerate() {
                path.0.push(Seg::Index(i));
                if find_in_value(item, offset, path) {
                    return true;
                }
                path.0.pop();
            }
        }
        _ => {}
    }
    contains(&v.span(), offset)
}

/// Levenshtein distance, for "did you mean" hints.
pub(super) fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev.get(j).copied().unwrap_or(0) + usize::from(ca != *cb);
            let del = prev.get(j + 1).copied().unwrap_or(0) + 1;
            let ins = cur.get(j).copied().unwrap_or(0) + 1;
            cur.push(sub.min(del).min(ins));
        }
        prev = cur;
    }
    prev.last().copied().unwrap_or(0)
}

/// The candidate closest to `word`, if close enough to be a likely typo.
pub(super) fn closest<'c>(word: &str, candidates: &[&'c str]) -> Option<&'c str> {
    candidates
        .iter()
        .map(|c| (distance(word, c), *c))
        .filter(|(d, c)| *d <= (c.len() / 3).max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}
