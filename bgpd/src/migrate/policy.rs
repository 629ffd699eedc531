//! From BIRD filter programs ([`super::filter`]) to rbgpd `[[policy]]`
//! terms and `[[prefix_list]]`s.
//!
//! A program is run symbolically: each `if` splits the routes in two, the
//! attribute changes gather along each path, and each path ends in
//! `accept` (with its changes) or `reject` (also when the filter ends
//! undecided: BIRD logs "did not return accept nor reject" and drops the
//! route, `f_run` returning `F_ERROR`). The result is a tree over prefix
//! sets, written as terms that each decide (`result` always set), so
//! rbgpd's first matching term gives the tree's answer:
//!
//! - a leaf under the sets `S1 ∩ S2 ∩ ...` of its `then` branches is one
//!   term matching that intersection;
//! - a branch's `then` terms come before its `else` terms, so a route in
//!   the set is decided before the `else` terms (which need no complement
//!   of the set, that rbgpd cannot express) see it.
//!
//! Invariant: the terms give every route the answer BIRD's filter gives
//! it; what cannot be written so is refused, never approximated.

use super::filter::{Cond, NamedSet, Op, Stmt};

/// Most paths through a filter: past this the terms would be unreadable
/// (each `if` without `accept`/`reject` doubles the paths after it).
const MAX_PATHS: usize = 256;

/// Most steps of the symbolic run: equal branches are merged only once
/// both are built, so a long chain of `if`s could take 2^n steps for a
/// small tree.
const MAX_STEPS: usize = 1 << 16;

/// The attribute changes of an accepted route.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Effect {
    /// `bgp_local_pref = N`.
    pub local_pref: Option<u32>,
    /// `bgp_med = N`.
    pub med: Option<u32>,
    /// Communities added ("A:B", "A:B:C").
    pub add: Vec<String>,
    /// Communities deleted; never one of `add`.
    pub remove: Vec<String>,
}

impl Effect {
    fn apply(&mut self, op: &Op) {
        match op {
            Op::LocalPref(n) => self.local_pref = Some(*n),
            Op::Med(n) => self.med = Some(*n),
            // The last of an add and a delete of one community wins, so
            // the two lists never share one and their order is moot.
            Op::Add(c) => {
                self.remove.retain(|x| x != c);
                if !self.add.contains(c) {
                    self.add.push(c.clone());
                }
            }
            Op::Delete(c) => {
                self.add.retain(|x| x != c);
                if !self.remove.contains(c) {
                    self.remove.push(c.clone());
                }
            }
        }
    }
}

/// One term: routes in `set` (every route when `None`) are accepted with
/// the changes, or rejected (`accept: None`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Term {
    /// The prefixes matched.
    pub set: Option<NamedSet>,
    /// Accepted with these changes, or rejected.
    pub accept: Option<Effect>,
}

/// What a filter comes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Every route passes unchanged: `"all"`.
    All,
    /// No route passes: `"none"`.
    None,
    /// These terms, then reject.
    Terms(Vec<Term>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tree {
    Leaf(Option<Effect>),
    Branch(NamedSet, Box<Tree>, Box<Tree>),
}

impl Tree {
    fn paths(&self) -> usize {
        match self {
            Tree::Leaf(_) => 1,
            Tree::Branch(_, t, e) => t.paths() + e.paths(),
        }
    }
}

/// What the filter `stmts` comes to; the error says why it has too many
/// paths to write out.
pub fn decide(stmts: &[Stmt]) -> Result<Decision, String> {
    let prog: Vec<&Stmt> = stmts.iter().collect();
    let mut steps = MAX_STEPS;
    let tree = run(&prog, Effect::default(), &mut steps)?;
    let mut terms = Vec::new();
    emit(&tree, None, &mut terms);
    // Terms after one that matches every route are never reached; rejects
    // at the end are the policy's default.
    if let Some(k) = terms.iter().position(|t| t.set.is_none()) {
        terms.truncate(k + 1);
    }
    while terms.last().is_some_and(|t| t.accept.is_none()) {
        terms.pop();
    }
    Ok(match terms.as_slice() {
        [] => Decision::None,
        [Term {
            set: None,
            accept: Some(e),
        }] if *e == Effect::default() => Decision::All,
        _ => Decision::Terms(merge_neighbours(terms)),
    })
}

fn run(prog: &[&Stmt], mut effect: Effect, steps: &mut usize) -> Result<Tree, String> {
    *steps = steps.checked_sub(1).ok_or_else(|| {
        format!("more than {MAX_STEPS} steps to follow every path through the filter")
    })?;
    for (k, s) in prog.iter().enumerate() {
        match s {
            Stmt::Accept => return Ok(Tree::Leaf(Some(effect))),
            Stmt::Reject => return Ok(Tree::Leaf(None)),
            Stmt::Op(op) => effect.apply(op),
            Stmt::If { cond, then, els } => {
                let rest = &prog[k + 1..];
                let t: Vec<&Stmt> = then.iter().chain(rest.iter().copied()).collect();
                let e: Vec<&Stmt> = els.iter().chain(rest.iter().copied()).collect();
                let t = run(&t, effect.clone(), steps)?;
                let e = run(&e, effect, steps)?;
                return branch(cond, t, e);
            }
        }
    }
    Ok(Tree::Leaf(None))
}

fn branch(cond: &Cond, t: Tree, e: Tree) -> Result<Tree, String> {
    let tree = match cond {
        Cond::In(_) if t == e => t,
        Cond::In(s) => Tree::Branch(s.clone(), Box::new(t), Box::new(e)),
        Cond::Not(c) => branch(c, e, t)?,
        Cond::And(a, b) => {
            let inner = branch(b, t, e.clone())?;
            branch(a, inner, e)?
        }
        Cond::Or(a, b) => {
            let inner = branch(b, t.clone(), e)?;
            branch(a, t, inner)?
        }
    };
    if tree.paths() > MAX_PATHS {
        return Err(format!(
            "more than {MAX_PATHS} paths through the filter (each `if` without accept or \
             reject doubles what follows it)"
        ));
    }
    Ok(tree)
}

/// The terms of `tree` for the routes in `ctx` (every route when `None`).
fn emit(tree: &Tree, ctx: Option<&NamedSet>, out: &mut Vec<Term>) {
    match tree {
        Tree::Leaf(accept) => out.push(Term {
            set: ctx.cloned(),
            accept: accept.clone(),
        }),
        Tree::Branch(s, t, e) => {
            let inner = match ctx {
                None => s.clone(),
                Some(c) => meet(c, s),
            };
            if !inner.set.is_empty() {
                emit(t, Some(&inner), out);
            }
            emit(e, ctx, out);
        }
    }
}

/// The intersection, named after whichever side it equals.
fn meet(a: &NamedSet, b: &NamedSet) -> NamedSet {
    let set = a.set.intersect(&b.set);
    let name = if set == a.set {
        a.name.clone()
    } else if set == b.set {
        b.name.clone()
    } else {
        None
    };
    NamedSet { set, name }
}

/// Neighbouring terms with the same outcome become one on the union of
/// their sets (first match: nothing between them to see the difference);
/// sets named after a `define` are kept as they are.
fn merge_neighbours(terms: Vec<Term>) -> Vec<Term> {
    let mut out: Vec<Term> = Vec::with_capacity(terms.len());
    for t in terms {
        if let Some(last) = out.last_mut() {
            if let (Some(a), Some(b)) = (&mut last.set, &t.set) {
                if last.accept == t.accept && a.name.is_none() && b.name.is_none() {
                    a.set = a.set.union(&b.set);
                    continue;
                }
            }
        }
        out.push(t);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::migrate::bird::{self, Item};
    use crate::migrate::filter::{read_body, read_define, Define};
    use bgp_proto::msg::attributes::{Community, LargeCommunity, PathAttributes};
    use bgp_proto::types::Prefix;
    use rib::policy_eval::{CompiledPolicies, Outcome, RouteCtx};
    use std::collections::HashMap;
    use std::net::IpAddr;

    /// BIRD's semantics route by route, the oracle: statements in order,
    /// `if` on the route's prefix, the first `accept`/`reject` decides,
    /// the end rejects.
    fn bird_run(stmts: &[Stmt], p: (IpAddr, u8), effect: &mut Effect) -> Option<Option<Effect>> {
        fn holds(c: &Cond, p: (IpAddr, u8)) -> bool {
            match c {
                Cond::In(s) => s.set.matches(p.0, p.1),
                Cond::Not(c) => !holds(c, p),
                Cond::And(a, b) => holds(a, p) && holds(b, p),
                Cond::Or(a, b) => holds(a, p) || holds(b, p),
            }
        }
        for s in stmts {
            match s {
                Stmt::Accept => return Some(Some(effect.clone())),
                Stmt::Reject => return Some(None),
                Stmt::Op(op) => effect.apply(op),
                Stmt::If { cond, then, els } => {
                    let branch = if holds(cond, p) { then } else { els };
                    if let Some(d) = bird_run(branch, p, effect) {
                        return Some(d);
                    }
                }
            }
        }
        None
    }

    fn community(s: &str, attrs: &mut PathAttributes, add: bool) {
        let n: Vec<u32> = s.split(':').map(|x| x.parse().unwrap()).collect();
        if let [a, b] = n[..] {
            let c = Community((a << 16) | b);
            attrs.communities.retain(|x| *x != c);
            if add {
                attrs.communities.push(c);
            }
        } else {
            let c = LargeCommunity {
                global: n[0],
                local1: n[1],
                local2: n[2],
            };
            attrs.large_communities.retain(|x| *x != c);
            if add {
                attrs.large_communities.push(c);
            }
        }
    }

    fn sorted(mut a: PathAttributes) -> PathAttributes {
        a.communities.sort();
        a.large_communities.sort();
        a
    }

    /// Translates `defines` and `filter f { body }` used by a neighbor,
    /// and checks rbgpd's answer for every prefix of `grid` against BIRD's.
    fn agrees(defines: &str, body: &str, grid: &[(&str, u8)]) {
        let text = format!(
            "router id 10.0.0.1;\n{defines}\nfilter f {{\n{body}\n}}\nprotocol bgp n {{\n  local as \
             65000;\n  neighbor 10.0.0.2 as 65100;\n  ipv4 {{ import filter f; export none; }};\n}}\n"
        );
        let m = crate::migrate::migrate(&text, "t.conf").unwrap();
        assert!(!m.incomplete(), "{:?}\n{}", m.notes, m.toml);
        let cfg = crate::config::parse(&m.toml, "t.toml")
            .unwrap_or_else(|e| panic!("{}\n{}", e.render(), m.toml));
        let compiled = CompiledPolicies::new(&cfg.policies, &cfg.prefix_lists).unwrap();
        let id = compiled.resolve(&cfg.neighbors[0].import).unwrap();
        // The oracle reads the same statements.
        let items = bird::parse(&text).unwrap();
        let mut defs = HashMap::new();
        let mut stmts = Vec::new();
        for item in &items {
            match item {
                Item::Stmt { words, line } if words[0] == "define" => {
                    let (name, d): (String, Define) = read_define(words).unwrap();
                    defs.insert(name, (d, *line));
                }
                Item::Block { head, items, .. } if head[0] == "filter" => {
                    stmts = read_body(items, &defs).unwrap();
                }
                _ => {}
            }
        }
        let mut base = PathAttributes::default();
        community("65000:7", &mut base, true);
        let mut checked = 0;
        for (addr, step) in grid {
            let addr: IpAddr = addr.parse().unwrap();
            let max = crate::migrate::prefix_set::max_len(addr);
            for len in (0..=max).step_by(usize::from(*step)) {
                let net = crate::migrate::prefix_set::masked(addr, len);
                let want = bird_run(&stmts, (net, len), &mut Effect::default())
                    .flatten()
                    .map(|e| {
                        let mut a = base.clone();
                        a.local_pref = e.local_pref.or(a.local_pref);
                        a.med = e.med.or(a.med);
                        e.add.iter().for_each(|c| community(c, &mut a, true));
                        e.remove.iter().for_each(|c| community(c, &mut a, false));
                        sorted(a)
                    });
                let prefix: Prefix = format!("{net}/{len}").parse().unwrap();
                let route = RouteCtx {
                    prefix: &prefix,
                    next_hop: "10.0.0.2".parse().unwrap(),
                    peer_as: 65100,
                };
                let got = match compiled.evaluate(id, route, &base, 65100) {
                    Outcome::Reject => None,
                    Outcome::Accept => Some(sorted(base.clone())),
                    Outcome::Modified(a) => Some(sorted(a)),
                };
                assert_eq!(got, want, "{prefix} through\n{body}\n{}", m.toml);
                checked += 1;
            }
        }
        assert!(checked > 100);
    }

    const V4: [(&str, u8); 9] = [
        ("10.1.2.3", 1),
        ("10.0.0.0", 1),
        ("10.200.0.0", 1),
        ("192.168.7.1", 1),
        ("192.169.0.0", 1),
        ("1.2.3.4", 1),
        ("11.2.3.4", 1),
        ("0.0.0.0", 1),
        ("128.0.0.0", 1),
    ];

    #[test]
    fn rbgpd_answers_as_bird_does() {
        agrees(
            "",
            "if net ~ [ 10.0.0.0/8+, 192.168.0.0/16{24,32}, 10.1.0.0/16-, 1.2.3.0/24 ] then \
             accept;\nreject;",
            &V4,
        );
        agrees(
            "",
            "if !(net ~ [ 10.0.0.0/8{8,24} ]) then reject;\nbgp_local_pref = 200;\naccept;",
            &V4,
        );
        agrees(
            "define BOGONS = [ 0.0.0.0/8+, 192.168.0.0/16+ ];\ndefine LB = [ 10.0.0.0/8{24,32} ];",
            "if net ~ BOGONS then reject;\nif net ~ LB then { bgp_community.add((65000,100)); \
             bgp_local_pref = 300; accept; }\nbgp_med = 7;\naccept;",
            &V4,
        );
        // BIRD reads `a && !b || c` as `(a && !b) || c`.
        agrees(
            "",
            "if net ~ [10.0.0.0/8+] && !(net ~ [10.1.0.0/16+]) || net ~ [192.168.0.0/16{16,24}] \
             then { bgp_community.delete((65000,7)); bgp_large_community.add((65000,1,2)); \
             accept; } else reject;",
            &V4,
        );
        // Changes carried past ifs without accept; the end rejects.
        agrees(
            "",
            "bgp_community.add((65000,1));\nif net ~ [10.0.0.0/8{8,16}] then bgp_local_pref = \
             50;\nif net ~ [10.0.0.0/16+] then { bgp_community.delete((65000,1)); accept; }\nif \
             net !~ [11.0.0.0/8+] then reject; else accept;",
            &V4,
        );
        agrees(
            "",
            "if net ~ [ 2001:db8::/32{48,64}, fd00::/8+, 2001:db8:1::/48- ] then accept;\nreject;",
            &[
                ("2001:db8:1::", 1),
                ("fd12::", 1),
                ("2001:db9::", 1),
                ("::", 1),
            ],
        );
    }

    #[test]
    fn shapes() {
        let t = |body: &str| {
            let items = bird::parse(&format!("filter f {{ {body} }}")).unwrap();
            let Item::Block { items, .. } = &items[0] else {
                panic!()
            };
            decide(&read_body(items, &HashMap::new()).unwrap()).unwrap()
        };
        assert_eq!(t("accept;"), Decision::All);
        assert_eq!(t("reject;"), Decision::None);
        assert_eq!(t(""), Decision::None, "the end rejects");
        let Decision::Terms(terms) = t("if net ~ [1.0.0.0/8] then reject; accept;") else {
            panic!()
        };
        assert_eq!((terms.len(), terms[1].set.is_none()), (2, true));
        // `where` and `if ... then accept; reject;` and the negated form
        // are one term each.
        let one = t("if net ~ [10.0.0.0/8+] then accept; reject;");
        assert_eq!(t("if !(net ~ [10.0.0.0/8+]) then reject; accept;"), one);
        assert_eq!(t("if net !~ [10.0.0.0/8+] then reject; else accept;"), one);
        assert!(matches!(&one, Decision::Terms(v) if v.len() == 1));
        // `a || b` with one outcome: one term on the union.
        assert!(matches!(
            t("if net ~ [1.0.0.0/8] || net ~ [2.0.0.0/8] then accept;"),
            Decision::Terms(v) if v.len() == 1 && v[0].set.as_ref().unwrap().set.ranges().len() == 2
        ));
        // Twelve ifs without accept, each adding its community: 4096
        // paths, refused.
        let many: String = (1..=12)
            .map(|k| format!("if net ~ [{k}.0.0.0/8+] then bgp_community.add((65000,{k})); "))
            .collect();
        let items = bird::parse(&format!("filter f {{ {many} accept; }}")).unwrap();
        let Item::Block { items, .. } = &items[0] else {
            panic!()
        };
        let stmts = read_body(items, &HashMap::new()).unwrap();
        assert!(decide(&stmts).unwrap_err().contains("paths"));
        // Forty ifs with one effect: a one-path tree, but 2^40 steps to
        // see it; refused at once.
        let same = "if net ~ [1.0.0.0/8] then bgp_med = 1; ".repeat(40);
        let items = bird::parse(&format!("filter f {{ {same} accept; }}")).unwrap();
        let Item::Block { items, .. } = &items[0] else {
            panic!()
        };
        let stmts = read_body(items, &HashMap::new()).unwrap();
        assert!(decide(&stmts).unwrap_err().contains("steps"));
    }
}
