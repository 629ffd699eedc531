//! The constants and filters of a BIRD file: each filter read
//! ([`super::filter`]) and decided ([`super::policy`]) once, however many
//! channels use it, with a note where it is not translated.

use super::bird::Item;
use super::filter::{self, Define};
use super::policy::{decide, Decision, Effect, Term};
use super::to_toml::Note;
use std::collections::HashMap;

/// What a channel's `import` or `export` comes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// `all`, or a filter that accepts everything unchanged.
    All,
    /// `none`, a filter that rejects everything, or one not translated.
    None,
    /// A translated filter, by its index in [`Filters`].
    Filter(usize),
}

/// A translated filter.
#[derive(Debug, Clone)]
pub struct Decided {
    /// Its terms.
    pub terms: Vec<Term>,
    /// The policy's name when a neighbor uses it alone.
    pub name: String,
    /// What it was in the BIRD file, for the policy's comment.
    pub source: String,
    /// Where.
    pub line: usize,
}

#[derive(Debug)]
struct NamedFilter {
    line: usize,
    items: Vec<Item>,
    /// Read yet, and its index if translated.
    read: Option<Option<usize>>,
}

/// The constants and filters of a BIRD file, each read once.
#[derive(Debug, Default)]
pub struct Filters {
    defines: HashMap<String, (Define, usize)>,
    named: HashMap<String, NamedFilter>,
    /// Inline filters by their line and text (a template's are met once
    /// per protocol that uses it).
    inline: HashMap<(usize, String), Option<usize>>,
    decided: Vec<Decided>,
}

impl Filters {
    /// `define NAME = VALUE;` at `line`.
    pub fn define(&mut self, words: &[String], line: usize, notes: &mut Vec<Note>) {
        match filter::read_define(words) {
            Some((name, d)) => {
                if let Define::Other(why) = &d {
                    notes.push(Note {
                        line,
                        message: format!(
                            "`define {name}` is not read ({why}): filters using it are not \
                             translated"
                        ),
                        untranslated: false,
                    });
                }
                self.defines.insert(name, (d, line));
            }
            None => notes.push(Note {
                line,
                message: format!("`{}` is not translated", words.join(" ")),
                untranslated: true,
            }),
        }
    }

    /// `filter NAME { items }` at `line`.
    pub fn add(&mut self, name: &str, line: usize, items: &[Item]) {
        self.named.insert(
            name.to_string(),
            NamedFilter {
                line,
                items: items.to_vec(),
                read: None,
            },
        );
    }

    /// A translated filter.
    pub fn get(&self, id: usize) -> Option<&Decided> {
        self.decided.get(id)
    }

    /// `import filter NAME` (`dir` "import" or "export") at `line`.
    pub fn use_named(
        &mut self,
        name: &str,
        dir: &str,
        line: usize,
        notes: &mut Vec<Note>,
    ) -> Verdict {
        let refused = |notes: &mut Vec<Note>, why: String| {
            notes.push(Note {
                line,
                message: format!("`{dir} filter {name}`: {why}: {dir} = \"none\""),
                untranslated: true,
            });
            Verdict::None
        };
        let Some(f) = self.named.get(name) else {
            return refused(notes, format!("filter {name} is not defined"));
        };
        let (fline, read) = (f.line, f.read);
        let id = match read {
            Some(id) => id,
            None => {
                let items = f.items.clone();
                let id = match self.read(&items, fline) {
                    Ok(d) => Some(self.push(d, name.to_string(), format!("filter {name}"), fline)),
                    Err((l, why)) => {
                        notes.push(Note {
                            line: l,
                            message: format!(
                                "filter {name}: {why}; the channels that use it get \"none\""
                            ),
                            untranslated: true,
                        });
                        None
                    }
                };
                if let Some(f) = self.named.get_mut(name) {
                    f.read = Some(id);
                }
                id
            }
        };
        match id {
            Some(id) => self.verdict(id),
            None => refused(
                notes,
                format!("filter {name} (line {fline}) is not translated"),
            ),
        }
    }

    /// An inline filter at `line` of the protocol or template `origin`:
    /// `where EXPR` (`words` after `where`) or `filter { items }`.
    pub fn use_inline(
        &mut self,
        body: Inline<'_>,
        origin: &str,
        dir: &str,
        line: usize,
        notes: &mut Vec<Note>,
    ) -> Verdict {
        // By line and text: a line may hold a channel's import and export.
        let key = match body {
            Inline::Where(words) => (line, format!("{dir} where {words:?}")),
            Inline::Body(items) => (line, format!("{dir} filter {items:?}")),
        };
        if let Some(id) = self.inline.get(&key) {
            return id.map_or(Verdict::None, |id| self.verdict(id));
        }
        let (stmts, source) = match body {
            Inline::Where(words) => (
                filter::read_where(words, line, &self.defines).map_err(|r| (r.line, r.why)),
                format!("{dir} where {}", super::expr::pretty(words)),
            ),
            Inline::Body(items) => (
                filter::read_body(items, &self.defines).map_err(|r| (r.line, r.why)),
                format!("{dir} filter {{ ... }}"),
            ),
        };
        let decided = stmts.and_then(|s| decide(&s).map_err(|why| (line, why)));
        let id = match decided {
            Ok(d) => Some(self.push(d, format!("{origin}-{dir}"), source, line)),
            Err((l, why)) => {
                notes.push(Note {
                    line: l,
                    message: format!("`{source}`: {why}: {dir} = \"none\""),
                    untranslated: true,
                });
                None
            }
        };
        self.inline.insert(key, id);
        id.map_or(Verdict::None, |id| self.verdict(id))
    }

    /// Notes for the filters no channel uses.
    pub fn unused(&self, notes: &mut Vec<Note>) {
        for (name, f) in &self.named {
            if f.read.is_none() {
                notes.push(Note {
                    line: f.line,
                    message: format!("filter {name} is used by no channel: left out"),
                    untranslated: false,
                });
            }
        }
    }

    fn read(&self, items: &[Item], line: usize) -> Result<Decision, (usize, String)> {
        let stmts = filter::read_body(items, &self.defines).map_err(|r| (r.line, r.why))?;
        decide(&stmts).map_err(|why| (line, why))
    }

    /// Keeps a translated filter as its terms: one that accepts everything
    /// unchanged is one bare term, one that rejects everything none.
    fn push(&mut self, d: Decision, name: String, source: String, line: usize) -> usize {
        let terms = match d {
            Decision::Terms(t) => t,
            Decision::All => vec![Term {
                set: None,
                accept: Some(Effect::default()),
            }],
            Decision::None => Vec::new(),
        };
        self.decided.push(Decided {
            terms,
            name,
            source,
            line,
        });
        self.decided.len() - 1
    }

    fn verdict(&self, id: usize) -> Verdict {
        match self.decided.get(id).map(|d| d.terms.as_slice()) {
            None | Some([]) => Verdict::None,
            Some(
                [Term {
                    set: None,
                    accept: Some(e),
                }],
            ) if *e == Effect::default() => Verdict::All,
            Some(_) => Verdict::Filter(id),
        }
    }
}

/// The text of an inline filter.
#[derive(Debug, Clone, Copy)]
pub enum Inline<'a> {
    /// The words after `where`.
    Where(&'a [String]),
    /// The items of `filter { ... }`.
    Body(&'a [Item]),
}
