//! Writing the policies the neighbors use as rbgpd's `[[prefix_list]]`
//! and `[[policy]]` tables: one policy per translated filter, shared by
//! every channel that uses it alone, and one per neighbor whose families'
//! channels differ, with each family's terms limited to it.

use super::catalog::{Filters, Verdict};
use super::filter::NamedSet;
use super::policy::{Effect, Term};
use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;

/// A `[[policy]]` to write.
#[derive(Debug, Clone)]
struct PolicyOut {
    /// Its name.
    name: String,
    /// The comment line above it.
    comment: String,
    /// `default = "accept"` (else "reject").
    default_accept: bool,
    /// Its terms, each with the family it is limited to.
    terms: Vec<(Option<&'static str>, Term)>,
}

fn quote(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

fn list(items: &[String]) -> String {
    let q: Vec<String> = items.iter().map(|s| quote(s)).collect();
    format!("[{}]", q.join(", "))
}

/// Writes the prefix lists the policies use, then the policies.
fn render(t: &mut String, policies: &[PolicyOut]) {
    // Each set once: a `define`d one under its name for every policy that
    // uses it whole, the others under their policy's name (`P-1`, ...),
    // so that a list is read next to the one policy that uses it.
    let mut lists: Vec<(String, &NamedSet, Option<&str>)> = Vec::new();
    let mut names: Vec<Vec<Option<usize>>> = Vec::new();
    for p in policies {
        let mut k = 0;
        let mut of_terms = Vec::new();
        for (_, term) in &p.terms {
            let Some(set) = &term.set else {
                of_terms.push(None);
                continue;
            };
            let owner = if set.name.is_some() {
                None
            } else {
                Some(p.name.as_str())
            };
            if let Some(i) = lists
                .iter()
                .position(|(_, s, o)| s.set == set.set && *o == owner)
            {
                of_terms.push(Some(i));
                continue;
            }
            let taken = |n: &str| lists.iter().any(|(m, _, _)| m == n);
            let name = match &set.name {
                Some(n) if !taken(n) => n.clone(),
                _ => loop {
                    k += 1;
                    let n = format!("{}-{k}", p.name);
                    if !taken(&n) {
                        break n;
                    }
                },
            };
            lists.push((name, set, owner));
            of_terms.push(Some(lists.len() - 1));
        }
        names.push(of_terms);
    }
    for (name, set, _) in &lists {
        let _ = writeln!(t, "\n[[prefix_list]]\nname = {}\nentry = [", quote(name));
        for r in set.set.ranges() {
            let _ = writeln!(t, "  {},", r.to_toml());
        }
        t.push_str("]\n");
    }
    for (p, of_terms) in policies.iter().zip(&names) {
        let default = if p.default_accept { "accept" } else { "reject" };
        let _ = write!(
            t,
            "\n# {}\n[[policy]]\nname = {}\ndefault = \"{default}\"\n",
            p.comment,
            quote(&p.name)
        );
        for ((family, term), list_at) in p.terms.iter().zip(of_terms) {
            t.push_str("[[policy.term]]\n");
            let mut m = Vec::new();
            if let Some((name, _, _)) = list_at.and_then(|i| lists.get(i)) {
                m.push(format!("prefix_list = {}", quote(name)));
            }
            if let Some(f) = family {
                m.push(format!("family = {}", quote(f)));
            }
            if !m.is_empty() {
                let _ = writeln!(t, "match = {{ {} }}", m.join(", "));
            }
            let mut a = Vec::new();
            match &term.accept {
                Some(e) => {
                    if let Some(n) = e.local_pref {
                        a.push(format!("set_local_pref = {n}"));
                    }
                    if let Some(n) = e.med {
                        a.push(format!("set_med = {n}"));
                    }
                    if !e.add.is_empty() {
                        a.push(format!("add_communities = {}", list(&e.add)));
                    }
                    if !e.remove.is_empty() {
                        a.push(format!("remove_communities = {}", list(&e.remove)));
                    }
                    a.push("result = \"accept\"".into());
                }
                None => a.push("result = \"reject\"".into()),
            }
            let _ = writeln!(t, "action = {{ {} }}", a.join(", "));
        }
    }
}

/// The policies the neighbors refer to, each written once.
#[derive(Debug, Default)]
pub struct Policies {
    out: Vec<PolicyOut>,
    /// A translated filter's policy name, by its index.
    of_filter: HashMap<usize, String>,
    names: HashSet<String>,
}

impl Policies {
    fn unique(&mut self, base: &str) -> String {
        let mut name = base.to_string();
        let mut k = 1;
        while self.names.contains(&name) {
            k += 1;
            name = format!("{base}-{k}");
        }
        self.names.insert(name.clone());
        name
    }

    fn filter(&mut self, filters: &Filters, id: usize, file: &str) -> String {
        if let Some(name) = self.of_filter.get(&id) {
            return name.clone();
        }
        let Some(d) = filters.get(id) else {
            return "none".into();
        };
        let name = self.unique(&d.name);
        self.of_filter.insert(id, name.clone());
        self.out.push(PolicyOut {
            name: name.clone(),
            comment: format!("{} ({file}:{})", d.source, d.line),
            default_accept: false,
            terms: d.terms.iter().map(|t| (None, t.clone())).collect(),
        });
        name
    }

    /// The name `protocol bgp NAME` (at `line`) gives for `dir` ("import"
    /// or "export"): `verdict` is the one of every family's channel, or
    /// each family's when they differ.
    pub fn name_for(
        &mut self,
        filters: &Filters,
        (protocol, line): (&str, usize),
        dir: &str,
        verdict: Result<Verdict, Vec<(&'static str, Verdict)>>,
        file: &str,
    ) -> String {
        let per_family = match verdict {
            Ok(Verdict::All) => return "all".into(),
            Ok(Verdict::None) => return "none".into(),
            Ok(Verdict::Filter(id)) => return self.filter(filters, id, file),
            Err(per_family) => per_family,
        };
        let name = self.unique(&format!("{protocol}-{dir}"));
        let filtered = per_family
            .iter()
            .any(|(_, v)| matches!(v, Verdict::Filter(_)));
        let policy = if filtered {
            // Each family's terms, limited to it; the rest rejected.
            let mut terms = Vec::new();
            for (f, v) in &per_family {
                match v {
                    Verdict::All => terms.push((
                        Some(*f),
                        Term {
                            set: None,
                            accept: Some(Effect::default()),
                        },
                    )),
                    Verdict::None => {}
                    Verdict::Filter(id) => {
                        for t in filters.get(*id).map_or(&[][..], |d| &d.terms) {
                            terms.push((Some(*f), t.clone()));
                        }
                    }
                }
            }
            let each: Vec<String> = per_family
                .iter()
                .map(|(f, v)| match v {
                    Verdict::All => format!("{f}: all"),
                    Verdict::None => format!("{f}: none"),
                    Verdict::Filter(id) => {
                        let d = filters.get(*id);
                        format!("{f}: {}", d.map_or("?", |d| d.source.as_str()))
                    }
                })
                .collect();
            PolicyOut {
                name: name.clone(),
                comment: format!(
                    "protocol bgp {protocol} ({file}:{line}), {dir} by family: {}",
                    each.join("; ")
                ),
                default_accept: false,
                terms,
            }
        } else {
            PolicyOut {
                name: name.clone(),
                comment: "the channels' policies differ by family".into(),
                default_accept: true,
                terms: per_family
                    .iter()
                    .filter(|(_, v)| *v == Verdict::None)
                    .map(|(f, _)| {
                        (
                            Some(*f),
                            Term {
                                set: None,
                                accept: None,
                            },
                        )
                    })
                    .collect(),
            }
        };
        self.out.push(policy);
        name
    }

    /// Writes the prefix lists and the policies.
    pub fn render(&self, t: &mut String) {
        render(t, &self.out);
    }
}
