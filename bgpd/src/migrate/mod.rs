//! `rbgpd migrate bird.conf > rbgpd.toml`: a BIRD 2 configuration of a
//! router in this role (BGP sessions to nodes, the kernel, static routes,
//! the filters on the sessions) translated into rbgpd's TOML, with every
//! construct that could not be carried over named with its line.
//!
//! - [`bird`] reads the file's shape: statements and blocks;
//! - [`to_toml`] translates the protocols, [`bfd`] their BFD;
//! - filters: [`expr`] and [`filter`] read them into statements,
//!   [`policy`] turns those into rbgpd terms (over [`prefix_set`]s),
//!   [`catalog`] reads each filter once, [`render`] writes the policies
//!   and prefix lists.

pub mod bfd;
pub mod bird;
pub mod catalog;
pub mod expr;
pub mod filter;
pub mod policy;
pub mod prefix_set;
pub mod render;
pub mod to_toml;

pub use bird::SyntaxError;
pub use to_toml::Note;

/// A translated configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migration {
    /// rbgpd's TOML.
    pub toml: String,
    /// What was done to each construct that did not map one to one, and
    /// what was not translated, by line.
    pub notes: Vec<Note>,
}

impl Migration {
    /// Whether something of the BIRD file is not in the TOML.
    pub fn incomplete(&self) -> bool {
        self.notes.iter().any(|n| n.untranslated)
    }
}

/// Translates the BIRD configuration `text` (read from `file`).
pub fn migrate(text: &str, file: &str) -> Result<Migration, SyntaxError> {
    let items = bird::parse(text)?;
    let (toml, notes) = to_toml::translate(&items, file);
    Ok(Migration { toml, notes })
}
