//! Reading BIRD 2 filters (`filter NAME { ... }`, a channel's `filter {
//! ... }` and `where EXPR`, and `define NAME = ...;` constants) into a
//! small program of [`Stmt`]s that [`super::policy`] can turn into rbgpd
//! terms; the expressions in them are [`super::expr`]'s.
//!
//! Invariant: a program read here means what the BIRD text means, or the
//! reader refuses it with the line and the reason ([`Refusal`]). Only the
//! shapes with an exact rbgpd counterpart are read: `accept`, `reject`,
//! `if ... then ... else ...` on `net ~ SET` / `net !~ SET` joined with
//! `!( )`, `&&`, `||`, the assignments of LOCAL_PREF, MED and (large)
//! communities, and `print` (dropped: it changes no route).

use super::bird::Item;
use super::expr::{lex, text_of, Cur, Tok};
pub use super::expr::{Cond, Define, NamedSet, Refusal};
use std::collections::HashMap;

/// A change to the route's attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// `bgp_local_pref = N`.
    LocalPref(u32),
    /// `bgp_med = N`.
    Med(u32),
    /// `bgp_community.add((A,B))`, `bgp_large_community.add((A,B,C))`:
    /// rbgpd's spelling, "A:B" or "A:B:C".
    Add(String),
    /// `bgp_community.delete((A,B))` and the large form.
    Delete(String),
}

/// A statement of a filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stmt {
    /// `accept`: the route passes with the changes made so far.
    Accept,
    /// `reject`.
    Reject,
    /// An attribute change.
    Op(Op),
    /// `if COND then ... else ...`.
    If {
        /// The condition.
        cond: Cond,
        /// When it holds.
        then: Vec<Stmt>,
        /// When it does not (empty without `else`).
        els: Vec<Stmt>,
    },
}

/// Reads `define NAME = VALUE` (the words of the statement); `None` when
/// the words are not a definition at all.
pub fn read_define(words: &[String]) -> Option<(String, Define)> {
    let [_, name, eq, rest @ ..] = words else {
        return None;
    };
    if eq != "=" {
        return None;
    }
    let toks = match lex(&rest.join(" ")) {
        Ok(t) => t,
        Err(e) => return Some((name.clone(), Define::Other(e))),
    };
    let defines = HashMap::new();
    let mut c = Cur::new(&toks, 0, &defines);
    let value = match toks.first() {
        Some(Tok::Num(n)) if toks.len() == 1 => Define::Int(*n),
        Some(Tok::P("[")) => match c.set_literal() {
            Ok(s) if c.end() => Define::Set(s),
            Ok(_) => Define::Other("more follows the prefix set".into()),
            Err(r) => Define::Other(r.why),
        },
        _ => Define::Other("only prefix sets and numbers are read".into()),
    };
    Some((name.clone(), value))
}

/// Reads the statements of a filter body (`filter NAME { items }`, a
/// channel's `filter { items }`).
pub fn read_body(
    items: &[Item],
    defines: &HashMap<String, (Define, usize)>,
) -> Result<Vec<Stmt>, Refusal> {
    Reader { defines }.seq(items)
}

/// Reads `where EXPR` (the words after `where`) as BIRD does: `if EXPR
/// then accept; else reject;`.
pub fn read_where(
    words: &[String],
    line: usize,
    defines: &HashMap<String, (Define, usize)>,
) -> Result<Vec<Stmt>, Refusal> {
    let toks = lex(&words.join(" ")).map_err(|why| Refusal { line, why })?;
    let mut c = Cur::new(&toks, line, defines);
    let cond = c.cond()?;
    if !c.end() {
        return Err(c.refuse(format!("`{}` after the condition", c.rest_text())));
    }
    Ok(vec![Stmt::If {
        cond,
        then: vec![Stmt::Accept],
        els: vec![Stmt::Reject],
    }])
}

/// Reads statements from the item tree of [`super::bird`].
struct Reader<'a> {
    defines: &'a HashMap<String, (Define, usize)>,
}

impl Reader<'_> {
    fn seq(&self, items: &[Item]) -> Result<Vec<Stmt>, Refusal> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < items.len() {
            let item = &items[i];
            i += 1;
            match item {
                // Their words are printed, never read: any text will do.
                Item::Stmt { words, .. } if matches!(&words[0][..], "print" | "printn") => {}
                Item::Stmt { words, .. } if matches!(&words[0][..], "accept" | "reject") => {
                    out.push(if words[0] == "accept" {
                        Stmt::Accept
                    } else {
                        Stmt::Reject
                    });
                }
                Item::Stmt { words, line } => {
                    let toks = lex(&words.join(" ")).map_err(|why| Refusal { line: *line, why })?;
                    if let Some(s) = self.stmt(&toks, *line, items, &mut i)? {
                        out.push(s);
                    }
                }
                Item::Block {
                    head,
                    items: inner,
                    line,
                } => {
                    let toks = lex(&head.join(" ")).map_err(|why| Refusal { line: *line, why })?;
                    if toks.is_empty() {
                        // A `{ ... }` block: its statements in place.
                        out.extend(self.seq(inner)?);
                    } else if toks.first() == Some(&Tok::Word("if".into()))
                        && toks.last() == Some(&Tok::Word("then".into()))
                    {
                        let cond = self.cond_of(&toks[1..toks.len() - 1], *line)?;
                        let then = self.seq(inner)?;
                        let els = self.els(items, &mut i)?;
                        out.push(Stmt::If { cond, then, els });
                    } else {
                        return Err(Refusal {
                            line: *line,
                            why: format!("`{} {{ ... }}` is not translated", text_of(&toks)),
                        });
                    }
                }
            }
        }
        Ok(out)
    }

    fn cond_of(&self, toks: &[Tok], line: usize) -> Result<Cond, Refusal> {
        let mut c = Cur::new(toks, line, self.defines);
        let cond = c.cond()?;
        if !c.end() {
            return Err(c.refuse(format!(
                "the condition `{}` is not translated",
                text_of(toks)
            )));
        }
        Ok(cond)
    }

    /// One statement's tokens; `items[*i..]` follow it (for `else`).
    /// `None` for a statement without effect on routes (`print`).
    fn stmt(
        &self,
        toks: &[Tok],
        line: usize,
        items: &[Item],
        i: &mut usize,
    ) -> Result<Option<Stmt>, Refusal> {
        let word = |k: usize| match toks.get(k) {
            Some(Tok::Word(w)) => w.as_str(),
            _ => "",
        };
        match word(0) {
            "if" => {
                let Some(then_at) = toks.iter().position(|t| *t == Tok::Word("then".into())) else {
                    return Err(Refusal {
                        line,
                        why: format!("`{}`: `then` expected", text_of(toks)),
                    });
                };
                let cond = self.cond_of(&toks[1..then_at], line)?;
                // The inner statement first: a dangling `else` is the
                // innermost `if`'s, as in BIRD's grammar.
                let then = self.stmt(&toks[then_at + 1..], line, items, i)?;
                let els = self.els(items, i)?;
                Ok(Some(Stmt::If {
                    cond,
                    then: then.into_iter().collect(),
                    els,
                }))
            }
            "else" => Err(Refusal {
                line,
                why: "`else` without `if`".into(),
            }),
            // `accept "why"` prints its words; they change nothing.
            "accept" => Ok(Some(Stmt::Accept)),
            "reject" => Ok(Some(Stmt::Reject)),
            "print" | "printn" => Ok(None),
            _ if toks.is_empty() => Err(Refusal {
                line,
                why: "`then` with no statement".into(),
            }),
            _ => self.assignment(toks, line).map(|op| Some(Stmt::Op(op))),
        }
    }

    /// The `else` branch that follows at `items[*i]`, if any.
    fn els(&self, items: &[Item], i: &mut usize) -> Result<Vec<Stmt>, Refusal> {
        let Some(item) = items.get(*i) else {
            return Ok(Vec::new());
        };
        let (words, line) = match item {
            Item::Stmt { words, line }
            | Item::Block {
                head: words, line, ..
            } => (words, *line),
        };
        if words.first().map(String::as_str) != Some("else") {
            return Ok(Vec::new());
        }
        *i += 1;
        let toks = lex(&words[1..].join(" ")).map_err(|why| Refusal { line, why })?;
        match item {
            Item::Stmt { .. } => Ok(self.stmt(&toks, line, items, i)?.into_iter().collect()),
            Item::Block { items: inner, .. } if toks.is_empty() => self.seq(inner),
            Item::Block { items: inner, .. }
                if toks.first() == Some(&Tok::Word("if".into()))
                    && toks.last() == Some(&Tok::Word("then".into())) =>
            {
                let cond = self.cond_of(&toks[1..toks.len() - 1], line)?;
                let then = self.seq(inner)?;
                let els = self.els(items, i)?;
                Ok(vec![Stmt::If { cond, then, els }])
            }
            Item::Block { .. } => Err(Refusal {
                line,
                why: format!("`else {} {{ ... }}` is not translated", text_of(&toks)),
            }),
        }
    }

    /// `bgp_local_pref = N`, `bgp_med = N`, `bgp_community.add((A,B))` and
    /// the other community forms.
    fn assignment(&self, toks: &[Tok], line: usize) -> Result<Op, Refusal> {
        let mut c = Cur::new(toks, line, self.defines);
        let not_translated = || Refusal {
            line,
            why: format!(
                "`{}` is not translated (rbgpd's policies set LOCAL_PREF, MED and communities, \
                 and match prefixes)",
                text_of(toks)
            ),
        };
        let Some(Tok::Word(attr)) = c.next() else {
            return Err(not_translated());
        };
        let large = match attr.as_str() {
            "bgp_local_pref" | "bgp_med" => {
                if !c.eat("=") {
                    return Err(not_translated());
                }
                let n = c.int(u64::from(u32::MAX))? as u32;
                if !c.end() {
                    return Err(not_translated());
                }
                return Ok(if attr == "bgp_med" {
                    Op::Med(n)
                } else {
                    Op::LocalPref(n)
                });
            }
            "bgp_community" => false,
            "bgp_large_community" => true,
            _ => return Err(not_translated()),
        };
        // `bgp_community.add(X)` or the older `bgp_community = add(bgp_community, X)`.
        let method = if c.eat(".") {
            let Some(Tok::Word(m)) = c.next() else {
                return Err(not_translated());
            };
            c.expect("(")?;
            m
        } else if c.eat("=") {
            let Some(Tok::Word(m)) = c.next() else {
                return Err(not_translated());
            };
            c.expect("(")?;
            if c.next() != Some(&Tok::Word(attr.clone())) {
                return Err(not_translated());
            }
            c.expect(",")?;
            m
        } else {
            return Err(not_translated());
        };
        if !matches!(method.as_str(), "add" | "delete") {
            return Err(not_translated());
        }
        if !matches!(c.peek(), Some(Tok::P("("))) {
            return Err(Refusal {
                line,
                why: format!(
                    "`{}`: only one community written out, `(A,B)`, is translated",
                    text_of(toks)
                ),
            });
        }
        let community = c.community(large)?;
        c.expect(")")?;
        if !c.end() {
            return Err(not_translated());
        }
        Ok(if method == "add" {
            Op::Add(community)
        } else {
            Op::Delete(community)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(text: &str) -> Result<Vec<Stmt>, Refusal> {
        let items = super::super::bird::parse(text).unwrap();
        let mut defines = HashMap::new();
        let mut filter = None;
        for item in &items {
            match item {
                Item::Stmt { words, line } => {
                    let (name, d) = read_define(words).unwrap();
                    defines.insert(name, (d, *line));
                }
                Item::Block { items, .. } => filter = Some(items.clone()),
            }
        }
        read_body(&filter.unwrap(), &defines)
    }

    fn set(text: &str) -> NamedSet {
        let toks = lex(text).unwrap();
        let defines = HashMap::new();
        NamedSet {
            set: Cur::new(&toks, 1, &defines).set_literal().unwrap(),
            name: None,
        }
    }

    #[test]
    fn the_common_shapes() {
        let s = body(
            "define LB = [ 10.11.0.0/16+ ];\nfilter f {\n  if net ~ LB then { bgp_local_pref = 200; \
             bgp_community.add((65000,100)); accept; }\n  if !(net ~ [ 10.0.0.0/8+ ]) then reject;\n  \
             else accept;\n}\n",
        )
        .unwrap();
        let lb = NamedSet {
            set: set("[ 10.11.0.0/16+ ]").set,
            name: Some("LB".into()),
        };
        assert_eq!(
            s,
            vec![
                Stmt::If {
                    cond: Cond::In(lb),
                    then: vec![
                        Stmt::Op(Op::LocalPref(200)),
                        Stmt::Op(Op::Add("65000:100".into())),
                        Stmt::Accept
                    ],
                    els: vec![],
                },
                Stmt::If {
                    cond: Cond::Not(Box::new(Cond::In(set("[ 10.0.0.0/8+ ]")))),
                    then: vec![Stmt::Reject],
                    els: vec![Stmt::Accept],
                },
            ]
        );
        let defines = HashMap::new();
        let w: Vec<String> = ["net", "!~", "[", "1.2.3.0/24", "]"]
            .map(String::from)
            .to_vec();
        assert_eq!(
            read_where(&w, 7, &defines).unwrap()[0],
            Stmt::If {
                cond: Cond::Not(Box::new(Cond::In(set("[1.2.3.0/24]")))),
                then: vec![Stmt::Accept],
                els: vec![Stmt::Reject],
            }
        );
    }

    #[test]
    fn else_chains_and_dangling_else() {
        let s = body(
            "filter f {\n if net ~ [1.0.0.0/8] then reject;\n else if net ~ [2.0.0.0/8] then \
             { accept; }\n else { bgp_large_community.add((65000, 1, 2)); accept; }\n}\n",
        )
        .unwrap();
        let Stmt::If { els, .. } = &s[0] else {
            panic!("{s:?}")
        };
        let Stmt::If { els: inner, .. } = &els[0] else {
            panic!("{els:?}")
        };
        assert_eq!(inner[0], Stmt::Op(Op::Add("65000:1:2".into())));
        // `if a then if b then X; else Y;`: the else is the inner if's.
        let s = body("filter f { if net ~ [1.0.0.0/8] then if net ~ [1.0.0.0/16] then accept; else reject; }").unwrap();
        let Stmt::If { then, els, .. } = &s[0] else {
            panic!()
        };
        assert!(els.is_empty());
        assert!(matches!(&then[0], Stmt::If { els, .. } if els == &vec![Stmt::Reject]));
    }

    #[test]
    fn refusals_say_what_and_where() {
        for (text, line, says) in [
            (
                "filter f {\n  bgp_path.prepend(65000);\n  accept;\n}",
                2,
                "bgp_path",
            ),
            (
                "filter f {\n  if bgp_path.len > 3 then reject;\n accept; }",
                2,
                "condition",
            ),
            ("filter f {\n case net.len { 24: accept; } }", 2, "case"),
            ("filter f { if ! net ~ [1.0.0.0/8] then reject; }", 1, "`!`"),
            (
                "filter f { if net ~ [1.0.0.1/8] then accept; }",
                1,
                "host bits",
            ),
            (
                "filter f { if net ~ [1.0.0.0/8, ::/0] then accept; }",
                1,
                "mixes",
            ),
            ("filter f { if net ~ NOPE then accept; }", 1, "NOPE"),
            (
                "filter f { bgp_community.delete([(65000,*)]); accept; }",
                1,
                "one community",
            ),
            (
                "filter f { bgp_community.add((65536,1)); accept; }",
                1,
                "above",
            ),
            ("filter f { my_function(); accept; }", 1, "my_function"),
        ] {
            let r = body(text).unwrap_err();
            assert_eq!(r.line, line, "{text}: {r:?}");
            assert!(r.why.contains(says), "{text}: {}", r.why);
        }
    }

    #[test]
    fn defines() {
        let d = |s: &str| {
            let items = super::super::bird::parse(s).unwrap();
            let Item::Stmt { words, .. } = &items[0] else {
                panic!()
            };
            read_define(words).unwrap().1
        };
        assert_eq!(d("define AS = 65000;"), Define::Int(65000));
        assert!(
            matches!(d("define S = [ 10.0.0.0/8{16,24} ];"), Define::Set(s) if s.ranges().len() == 1)
        );
        assert!(matches!(
            d("define C = [(65000, 1..10)];"),
            Define::Other(_)
        ));
    }
}
