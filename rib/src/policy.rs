//! Import and export policy: `all`, `none`, or a named policy of ordered
//! terms. These are plain data (deserialised straight from the TOML config);
//! evaluation is in [`crate::policy_eval`].
//!
//! ```toml
//! [[policy]]
//! name = "from-cluster1"
//! [[policy.term]]
//! match = { prefix_list = "pods", family = "ipv4-unicast" }
//! action = { set_local_pref = 200, add_communities = ["65000:100"], result = "accept" }
//! ```

use serde::{Deserialize, Serialize};

/// A named policy: ordered terms, then the default result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Name, referred to by `import` / `export`.
    pub name: String,
    /// Terms, evaluated in order; the first whose match holds and whose
    /// action has a `result` decides.
    #[serde(default, rename = "term")]
    pub terms: Vec<Term>,
    /// Result when no term decided (`reject` unless set).
    #[serde(default)]
    pub default: Verdict,
}

/// One term: a match and an action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Term {
    /// All given conditions must hold (an empty match always holds).
    #[serde(default, rename = "match")]
    pub matches: Match,
    /// What to do when it holds.
    #[serde(default)]
    pub action: Action,
}

/// Conditions of a term; each given one must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Match {
    /// Name of a prefix list the prefix must match.
    pub prefix_list: Option<String>,
    /// The AS_PATH's origin AS must be one of these.
    pub origin_as: Option<Vec<u32>>,
    /// The AS_PATH must contain this AS.
    pub as_path_contains: Option<u32>,
    /// The route must carry every one of these communities
    /// ("65000:1" standard, "65000:1:2" large).
    pub communities: Option<Vec<String>>,
    /// The next hop must fall in one of these prefixes.
    pub next_hop: Option<Vec<String>>,
    /// "ipv4-unicast" or "ipv6-unicast".
    pub family: Option<String>,
    /// The AS of the session the policy runs on must be one of these: the
    /// sender's on import, the receiver's on export (for neighbors and
    /// ranges whose `remote_as` allows several).
    pub peer_as: Option<Vec<u32>>,
}

/// Modifications and result of a term.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Action {
    /// Set LOCAL_PREF.
    pub set_local_pref: Option<u32>,
    /// Set MULTI_EXIT_DISC.
    pub set_med: Option<u32>,
    /// Add communities ("a:b" standard, "a:b:c" large).
    pub add_communities: Option<Vec<String>>,
    /// Remove communities ("a:b" standard, "a:b:c" large).
    pub remove_communities: Option<Vec<String>>,
    /// Prepend the local AS this many times (export) / the peer AS (import).
    pub prepend: Option<u8>,
    /// Accept or reject; without it evaluation goes on with the next term.
    pub result: Option<Verdict>,
}

/// Accept or reject.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Accept the route.
    Accept,
    /// Reject the route.
    #[default]
    Reject,
}

/// A named prefix list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrefixList {
    /// Name.
    pub name: String,
    /// Entries; a prefix matches the list when it matches any entry.
    #[serde(rename = "entry")]
    pub entries: Vec<PrefixListEntry>,
}

/// One prefix list entry: a prefix with optional ge/le length bounds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrefixListEntry {
    /// Prefix, e.g. "10.241.0.0/16".
    pub prefix: String,
    /// Minimum length (defaults to the prefix's length).
    pub ge: Option<u8>,
    /// Maximum length (defaults to 32 / 128 when `ge` is given, as FRR and
    /// Cisco read `ge`, else to the prefix's length: an exact match).
    pub le: Option<u8>,
}

/// What a neighbor's `import` or `export` names.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum PolicyRef {
    /// Everything passes unchanged.
    #[default]
    All,
    /// Nothing passes.
    None,
    /// A policy by name.
    Named(String),
}

impl From<String> for PolicyRef {
    fn from(s: String) -> Self {
        match s.as_str() {
            "all" => PolicyRef::All,
            "none" => PolicyRef::None,
            _ => PolicyRef::Named(s),
        }
    }
}

impl From<PolicyRef> for String {
    fn from(p: PolicyRef) -> Self {
        match p {
            PolicyRef::All => "all".into(),
            PolicyRef::None => "none".into(),
            PolicyRef::Named(n) => n,
        }
    }
}
