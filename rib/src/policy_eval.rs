//! Policy evaluation: the config's [`Policy`] and [`PrefixList`] data,
//! checked once at [`crate::Rib::new`] and compiled into a form that cannot
//! fail at run time.
//!
//! Invariant: a [`CompiledPolicies`] only exists when every prefix, length
//! bound, community, family and prefix-list name in the config parsed;
//! evaluation never fails and never panics.
//!
//! Semantics (see [`Policy`]): terms run in order; a term whose match holds
//! applies its modifications, and when it has a `result` that result
//! decides. When no term decides, the policy's `default` does.

use crate::policy::{Action, Match, Policy, PolicyRef, PrefixList, Verdict};
use bgp_proto::msg::attributes::{Community, LargeCommunity, PathAttributes};
use bgp_proto::types::{Family, Prefix};
use std::collections::HashMap;
use std::net::IpAddr;

/// Why the policy part of the config is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// Two prefix lists or two policies share a name.
    #[error("duplicate {kind} name {name:?}")]
    DuplicateName {
        /// "policy" or "prefix list".
        kind: &'static str,
        /// The name.
        name: String,
    },
    /// A prefix string did not parse.
    #[error("{context}: invalid prefix {prefix:?} (expected e.g. 10.0.0.0/24 or 2001:db8::/32)")]
    BadPrefix {
        /// Where it was found.
        context: String,
        /// The text.
        prefix: String,
    },
    /// ge/le bounds outside `prefix length <= ge <= le <= 32|128`.
    #[error(
        "prefix list {list:?}: entry {prefix}: bounds ge={ge} le={le} must satisfy \
         {len} <= ge <= le <= {max}"
    )]
    BadLengthRange {
        /// The list.
        list: String,
        /// The entry's prefix.
        prefix: String,
        /// The prefix length.
        len: u8,
        /// Effective ge.
        ge: u8,
        /// Effective le.
        le: u8,
        /// 32 or 128.
        max: u8,
    },
    /// A policy term names a prefix list that does not exist.
    #[error("policy {policy:?}: unknown prefix list {list:?}")]
    UnknownPrefixList {
        /// The policy.
        policy: String,
        /// The missing list.
        list: String,
    },
    /// A community string did not parse.
    #[error(
        "policy {policy:?}: invalid community {community:?} (expected ASN:VALUE with 16-bit \
         parts, GLOBAL:LOCAL1:LOCAL2 with 32-bit parts, or no-export / no-advertise / \
         no-export-subconfed)"
    )]
    BadCommunity {
        /// The policy.
        policy: String,
        /// The text.
        community: String,
    },
    /// A family string other than ipv4-unicast / ipv6-unicast.
    #[error(
        "policy {policy:?}: unknown family {family:?} (expected ipv4-unicast or ipv6-unicast)"
    )]
    BadFamily {
        /// The policy.
        policy: String,
        /// The text.
        family: String,
    },
    /// A neighbor refers to a policy that does not exist.
    #[error("unknown policy {0:?}")]
    UnknownPolicy(String),
}

/// One compiled prefix-list entry.
#[derive(Debug, Clone)]
struct PrefixRange {
    prefix: Prefix,
    ge: u8,
    le: u8,
}

impl PrefixRange {
    fn matches(&self, p: &Prefix) -> bool {
        p.len() >= self.ge && p.len() <= self.le && self.prefix.contains(p.addr())
    }
}

/// A community condition or modification, standard or large.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AnyCommunity {
    Standard(Community),
    Large(LargeCommunity),
}

impl AnyCommunity {
    fn present(&self, a: &PathAttributes) -> bool {
        match self {
            AnyCommunity::Standard(c) => a.communities.contains(c),
            AnyCommunity::Large(c) => a.large_communities.contains(c),
        }
    }
}

/// Parses "a:b" (standard), "a:b:c" (large) or a well-known name.
fn parse_community(s: &str) -> Option<AnyCommunity> {
    match s.trim().to_ascii_lowercase().as_str() {
        "no-export" | "no_export" => return Some(AnyCommunity::Standard(Community::NO_EXPORT)),
        "no-advertise" | "no_advertise" => {
            return Some(AnyCommunity::Standard(Community::NO_ADVERTISE))
        }
        "no-export-subconfed" | "no_export_subconfed" => {
            return Some(AnyCommunity::Standard(Community::NO_EXPORT_SUBCONFED))
        }
        "blackhole" => return Some(AnyCommunity::Standard(Community::BLACKHOLE)),
        _ => {}
    }
    let parts: Vec<&str> = s.trim().split(':').collect();
    match parts.as_slice() {
        [a, b] => {
            let a: u16 = a.parse().ok()?;
            let b: u16 = b.parse().ok()?;
            Some(AnyCommunity::Standard(Community(
                (u32::from(a) << 16) | u32::from(b),
            )))
        }
        [g, l1, l2] => Some(AnyCommunity::Large(LargeCommunity {
            global: g.parse().ok()?,
            local1: l1.parse().ok()?,
            local2: l2.parse().ok()?,
        })),
        _ => None,
    }
}

/// Adds the community `s` ("a:b", "a:b:c" large, or a well-known name) to
/// `attrs` unless it is there; false when `s` is malformed.
pub fn add_community(attrs: &mut PathAttributes, s: &str) -> bool {
    match parse_community(s) {
        Some(AnyCommunity::Standard(c)) => {
            if !attrs.communities.contains(&c) {
                attrs.communities.push(c);
            }
            true
        }
        Some(AnyCommunity::Large(c)) => {
            if !attrs.large_communities.contains(&c) {
                attrs.large_communities.push(c);
            }
            true
        }
        None => false,
    }
}

fn parse_family(s: &str) -> Option<Family> {
    match s {
        "ipv4-unicast" | "ipv4" => Some(Family::IPV4_UNICAST),
        "ipv6-unicast" | "ipv6" => Some(Family::IPV6_UNICAST),
        _ => None,
    }
}

#[derive(Debug, Clone, Default)]
struct CompiledMatch {
    prefix_list: Option<usize>,
    origin_as: Option<Vec<u32>>,
    as_path_contains: Option<u32>,
    communities: Vec<AnyCommunity>,
    next_hop: Option<Vec<Prefix>>,
    family: Option<Family>,
    peer_as: Option<Vec<u32>>,
}

#[derive(Debug, Clone, Default)]
struct CompiledAction {
    set_local_pref: Option<u32>,
    set_med: Option<u32>,
    add: Vec<AnyCommunity>,
    remove: Vec<AnyCommunity>,
    prepend: u8,
    result: Option<Verdict>,
}

#[derive(Debug, Clone)]
struct CompiledTerm {
    matches: CompiledMatch,
    action: CompiledAction,
}

#[derive(Debug, Clone)]
struct CompiledPolicy {
    terms: Vec<CompiledTerm>,
    default: Verdict,
    /// Whether any term looks at the prefix (prefix list); when not, one
    /// evaluation per attribute set and family serves every prefix.
    prefix_dependent: bool,
    /// Whether any term looks at the session's AS (`peer_as`): on export,
    /// peers of different ASes may then get different routes.
    peer_as_dependent: bool,
}

/// A [`PolicyRef`] resolved against the compiled policies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PolicyId {
    /// Everything passes unchanged.
    All,
    /// Nothing passes.
    None,
    /// Index of a named policy.
    Named(usize),
}

/// The route a policy looks at.
#[derive(Debug, Clone, Copy)]
pub struct RouteCtx<'a> {
    /// The prefix.
    pub prefix: &'a Prefix,
    /// The route's next hop.
    pub next_hop: IpAddr,
    /// The AS of the session: the sender's on import, the receiver's on
    /// export.
    pub peer_as: u32,
}

/// The outcome of evaluating a policy on a route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Rejected.
    Reject,
    /// Accepted, attributes unchanged.
    Accept,
    /// Accepted with modified attributes.
    Modified(PathAttributes),
}

/// What gave a policy's outcome, for `rbgpctl explain`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DecidedBy {
    /// The policy `all`.
    All,
    /// The policy `none`.
    None,
    /// The term with this index (from 0) of the named policy.
    Term(usize),
    /// The named policy's `default`: no term decided.
    Default,
}

/// All policies and prefix lists of the config, validated.
#[derive(Debug, Clone, Default)]
pub struct CompiledPolicies {
    lists: Vec<Vec<PrefixRange>>,
    policies: Vec<CompiledPolicy>,
    names: HashMap<String, usize>,
}

impl CompiledPolicies {
    /// Validates and compiles the config's policies and prefix lists.
    pub fn new(policies: &[Policy], prefix_lists: &[PrefixList]) -> Result<Self, PolicyError> {
        let mut list_names: HashMap<&str, usize> = HashMap::new();
        let mut lists = Vec::with_capacity(prefix_lists.len());
        for pl in prefix_lists {
            if list_names.insert(pl.name.as_str(), lists.len()).is_some() {
                return Err(PolicyError::DuplicateName {
                    kind: "prefix list",
                    name: pl.name.clone(),
                });
            }
            let mut ranges = Vec::with_capacity(pl.entries.len());
            for e in &pl.entries {
                let prefix: Prefix = e.prefix.parse().map_err(|_| PolicyError::BadPrefix {
                    context: format!("prefix list {:?}", pl.name),
                    prefix: e.prefix.clone(),
                })?;
                let max = if matches!(prefix, Prefix::V4(_)) {
                    32
                } else {
                    128
                };
                let ge = e.ge.unwrap_or(prefix.len());
                // With only `ge` given the range runs to the longest prefix
                // (as FRR and Cisco read `ge`); without either it is exact.
                let le =
                    e.le.unwrap_or(if e.ge.is_some() { max } else { prefix.len() });
                if ge < prefix.len() || le < ge || le > max {
                    return Err(PolicyError::BadLengthRange {
                        list: pl.name.clone(),
                        prefix: e.prefix.clone(),
                        len: prefix.len(),
                        ge,
                        le,
                        max,
                    });
                }
                ranges.push(PrefixRange { prefix, ge, le });
            }
            lists.push(ranges);
        }
        let mut names = HashMap::new();
        let mut compiled = Vec::with_capacity(policies.len());
        for p in policies {
            if names.insert(p.name.clone(), compiled.len()).is_some() {
                return Err(PolicyError::DuplicateName {
                    kind: "policy",
                    name: p.name.clone(),
                });
            }
            let mut terms = Vec::with_capacity(p.terms.len());
            for t in &p.terms {
                terms.push(CompiledTerm {
                    matches: compile_match(&p.name, &t.matches, &list_names)?,
                    action: compile_action(&p.name, &t.action)?,
                });
            }
            let prefix_dependent = terms.iter().any(|t| t.matches.prefix_list.is_some());
            let peer_as_dependent = terms.iter().any(|t| t.matches.peer_as.is_some());
            compiled.push(CompiledPolicy {
                terms,
                default: p.default,
                prefix_dependent,
                peer_as_dependent,
            });
        }
        Ok(CompiledPolicies {
            lists,
            policies: compiled,
            names,
        })
    }

    /// Resolves a neighbor's policy reference.
    pub fn resolve(&self, r: &PolicyRef) -> Result<PolicyId, PolicyError> {
        match r {
            PolicyRef::All => Ok(PolicyId::All),
            PolicyRef::None => Ok(PolicyId::None),
            PolicyRef::Named(n) => self
                .names
                .get(n)
                .map(|&i| PolicyId::Named(i))
                .ok_or_else(|| PolicyError::UnknownPolicy(n.clone())),
        }
    }

    /// Whether the outcome of `id` can differ between prefixes of one family
    /// carrying the same attributes and next hop.
    pub fn prefix_dependent(&self, id: PolicyId) -> bool {
        match id {
            PolicyId::Named(i) => self.policies.get(i).is_some_and(|p| p.prefix_dependent),
            _ => false,
        }
    }

    /// Whether the outcome of `id` can differ between sessions of
    /// different ASes (a term matches `peer_as`).
    pub fn peer_as_dependent(&self, id: PolicyId) -> bool {
        match id {
            PolicyId::Named(i) => self.policies.get(i).is_some_and(|p| p.peer_as_dependent),
            _ => false,
        }
    }

    /// Evaluates policy `id` on a route. `prepend_as` is the AS a `prepend`
    /// action pushes (the peer's AS on import, the local AS on export).
    pub fn evaluate(
        &self,
        id: PolicyId,
        route: RouteCtx<'_>,
        attrs: &PathAttributes,
        prepend_as: u32,
    ) -> Outcome {
        self.evaluate_traced(id, route, attrs, prepend_as).0
    }

    /// [`CompiledPolicies::evaluate`], and what decided.
    pub fn evaluate_traced(
        &self,
        id: PolicyId,
        route: RouteCtx<'_>,
        attrs: &PathAttributes,
        prepend_as: u32,
    ) -> (Outcome, DecidedBy) {
        let policy = match id {
            PolicyId::All => return (Outcome::Accept, DecidedBy::All),
            PolicyId::None => return (Outcome::Reject, DecidedBy::None),
            PolicyId::Named(i) => match self.policies.get(i) {
                Some(p) => p,
                None => return (Outcome::Reject, DecidedBy::None),
            },
        };
        let mut modified: Option<PathAttributes> = None;
        for (t, term) in policy.terms.iter().enumerate() {
            let current = modified.as_ref().unwrap_or(attrs);
            if !self.term_matches(&term.matches, route, current) {
                continue;
            }
            let a = &term.action;
            if a.has_modifications() {
                let m = modified.get_or_insert_with(|| attrs.clone());
                a.apply(m, prepend_as);
            }
            match a.result {
                Some(Verdict::Reject) => return (Outcome::Reject, DecidedBy::Term(t)),
                Some(Verdict::Accept) => return (finish(modified, attrs), DecidedBy::Term(t)),
                None => {}
            }
        }
        let outcome = match policy.default {
            Verdict::Reject => Outcome::Reject,
            Verdict::Accept => finish(modified, attrs),
        };
        (outcome, DecidedBy::Default)
    }

    /// The name of policy `id` as the config gives it (`all`, `none` or
    /// a policy's name).
    pub fn name(&self, id: PolicyId) -> String {
        match id {
            PolicyId::All => "all".into(),
            PolicyId::None => "none".into(),
            PolicyId::Named(i) => self
                .names
                .iter()
                .find(|(_, &j)| j == i)
                .map_or_else(|| format!("#{i}"), |(n, _)| n.clone()),
        }
    }

    fn term_matches(&self, m: &CompiledMatch, route: RouteCtx<'_>, a: &PathAttributes) -> bool {
        if let Some(f) = m.family {
            if route.prefix.family() != f {
                return false;
            }
        }
        if m.peer_as
            .as_ref()
            .is_some_and(|l| !l.contains(&route.peer_as))
        {
            return false;
        }
        if let Some(l) = m.prefix_list {
            let hit = self
                .lists
                .get(l)
                .is_some_and(|l| l.iter().any(|r| r.matches(route.prefix)));
            if !hit {
                return false;
            }
        }
        if let Some(origins) = &m.origin_as {
            match a.as_path.origin_as() {
                Some(o) if origins.contains(&o) => {}
                _ => return false,
            }
        }
        if let Some(asn) = m.as_path_contains {
            if !a.as_path.contains(asn) {
                return false;
            }
        }
        if !m.communities.iter().all(|c| c.present(a)) {
            return false;
        }
        if let Some(nhs) = &m.next_hop {
            // An IPv4-mapped next hop matches IPv4 prefixes too (IPv6 routes over
            // IPv4 sessions).
            let nh = route.next_hop.to_canonical();
            if !nhs.iter().any(|p| p.contains(nh)) {
                return false;
            }
        }
        true
    }
}

fn finish(modified: Option<PathAttributes>, original: &PathAttributes) -> Outcome {
    match modified {
        Some(m) if &m != original => Outcome::Modified(m),
        _ => Outcome::Accept,
    }
}

impl CompiledAction {
    fn has_modifications(&self) -> bool {
        self.set_local_pref.is_some()
            || self.set_med.is_some()
            || !self.add.is_empty()
            || !self.remove.is_empty()
            || self.prepend > 0
    }

    fn apply(&self, a: &mut PathAttributes, prepend_as: u32) {
        if let Some(lp) = self.set_local_pref {
            a.local_pref = Some(lp);
        }
        if let Some(med) = self.set_med {
            a.med = Some(med);
        }
        for c in &self.remove {
            match c {
                AnyCommunity::Standard(c) => a.communities.retain(|x| x != c),
                AnyCommunity::Large(c) => a.large_communities.retain(|x| x != c),
            }
        }
        for c in &self.add {
            match *c {
                AnyCommunity::Standard(c) if !a.communities.contains(&c) => a.communities.push(c),
                AnyCommunity::Large(c) if !a.large_communities.contains(&c) => {
                    a.large_communities.push(c)
                }
                _ => {}
            }
        }
        if self.prepend > 0 {
            a.as_path.prepend(prepend_as, usize::from(self.prepend));
        }
    }
}

fn compile_communities(
    policy: &str,
    list: Option<&Vec<String>>,
) -> Result<Vec<AnyCommunity>, PolicyError> {
    list.map(|v| v.as_slice())
        .unwrap_or_default()
        .iter()
        .map(|s| {
            parse_community(s).ok_or_else(|| PolicyError::BadCommunity {
                policy: policy.to_string(),
                community: s.clone(),
            })
        })
        .collect()
}

fn compile_match(
    policy: &str,
    m: &Match,
    lists: &HashMap<&str, usize>,
) -> Result<CompiledMatch, PolicyError> {
    let prefix_list = match &m.prefix_list {
        Some(name) => {
            Some(
                *lists
                    .get(name.as_str())
                    .ok_or_else(|| PolicyError::UnknownPrefixList {
                        policy: policy.to_string(),
                        list: name.clone(),
                    })?,
            )
        }
        None => None,
    };
    let next_hop = match &m.next_hop {
        Some(v) => Some(
            v.iter()
                .map(|s| {
                    s.parse::<Prefix>().map_err(|_| PolicyError::BadPrefix {
                        context: format!("policy {policy:?} next_hop"),
                        prefix: s.clone(),
                    })
                })
                .collect::<Result<Vec<_>, _>>()?,
        ),
        None => None,
    };
    let family = match &m.family {
        Some(f) => Some(parse_family(f).ok_or_else(|| PolicyError::BadFamily {
            policy: policy.to_string(),
            family: f.clone(),
        })?),
        None => None,
    };
    Ok(CompiledMatch {
        prefix_list,
        origin_as: m.origin_as.clone(),
        as_path_contains: m.as_path_contains,
        communities: compile_communities(policy, m.communities.as_ref())?,
        next_hop,
        family,
        peer_as: m.peer_as.clone(),
    })
}

fn compile_action(policy: &str, a: &Action) -> Result<CompiledAction, PolicyError> {
    Ok(CompiledAction {
        set_local_pref: a.set_local_pref,
        set_med: a.set_med,
        add: compile_communities(policy, a.add_communities.as_ref())?,
        remove: compile_communities(policy, a.remove_communities.as_ref())?,
        prepend: a.prepend.unwrap_or(0),
        result: a.result,
    })
}
