//! The expressions of BIRD 2 filters that [`super::filter`] reads:
//! tokens, conditions on `net`, prefix sets (literal or `define`d),
//! numbers and communities.
//!
//! Invariant: what is read means what BIRD reads; anything else is a
//! [`Refusal`] with its line. The words come from [`super::bird`], which
//! drops string quotes; they are joined again and cut into filter tokens
//! here.

use super::prefix_set::PrefixSet;
use std::collections::HashMap;
use std::net::IpAddr;

/// Why a filter is not translated, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// 1-based line in the BIRD file.
    pub line: usize,
    /// What it has that rbgpd cannot express.
    pub why: String,
}

/// A prefix set, with the `define` it came from when it is one.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NamedSet {
    /// The prefixes.
    pub set: PrefixSet,
    /// The constant's name (`define NAME = [...]`), kept for the prefix
    /// list's name.
    pub name: Option<String>,
}

/// A condition on the route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cond {
    /// `net ~ SET`.
    In(NamedSet),
    /// `!( ... )`, and `net !~ SET`.
    Not(Box<Cond>),
    /// `a && b`.
    And(Box<Cond>, Box<Cond>),
    /// `a || b`.
    Or(Box<Cond>, Box<Cond>),
}

/// A `define`d constant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Define {
    /// `define NAME = [ prefixes ];`
    Set(PrefixSet),
    /// `define NAME = 65000;`
    Int(u64),
    /// Anything else: why it is not read.
    Other(String),
}

/// A filter token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Tok {
    /// A name (`net`, `bgp_local_pref`, a constant); the parts of a dotted
    /// name are words with `.` between them.
    Word(String),
    /// A decimal number.
    Num(u64),
    /// `ADDRESS/LENGTH`.
    Net(IpAddr, u8),
    /// An address alone.
    Ip(IpAddr),
    /// Punctuation and operators.
    P(&'static str),
}

const PUNCT2: [&str; 7] = ["!~", "!=", "&&", "||", "<=", ">=", ".."];
const PUNCT1: [&str; 20] = [
    "(", ")", "[", "]", "{", "}", ",", "~", "!", "=", "<", ">", "+", "-", "*", "/", "%", "&", "|",
    "?",
];

/// Cuts filter text into tokens; the error names what cannot be read.
pub(super) fn lex(text: &str) -> Result<Vec<Tok>, String> {
    let mut out = Vec::new();
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        // Filter syntax is ASCII; stopping at the first other byte also
        // keeps `i` on a character boundary for the slices below.
        if !b[i].is_ascii() {
            return Err(format!("`{}` cannot be read", &text[i..]));
        }
        let c = char::from(b[i]);
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if c.is_ascii_alphanumeric() || c == '_' || c == ':' {
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b"_.:".contains(&b[i])) {
                i += 1;
            }
            let run = &text[start..i];
            // `ADDRESS/LENGTH` is one token, whatever the family.
            if b.get(i) == Some(&b'/') && b.get(i + 1).is_some_and(u8::is_ascii_digit) {
                let ls = i + 1;
                i = ls;
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
                let addr = run
                    .parse()
                    .map_err(|_| format!("`{run}` is not an address"))?;
                let len = text[ls..i]
                    .parse()
                    .map_err(|_| format!("bad length in `{run}`"))?;
                out.push(Tok::Net(addr, len));
            } else if run.bytes().all(|c| c.is_ascii_digit()) {
                out.push(Tok::Num(
                    run.parse().map_err(|_| format!("`{run}` is too large"))?,
                ));
            } else if let Ok(ip) = run.parse::<IpAddr>() {
                out.push(Tok::Ip(ip));
            } else {
                for (k, part) in run.split('.').enumerate() {
                    let ident = part.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                        && part.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_');
                    if !ident {
                        return Err(format!("`{run}` cannot be read"));
                    }
                    if k > 0 {
                        out.push(Tok::P("."));
                    }
                    out.push(Tok::Word(part.to_string()));
                }
            }
            continue;
        }
        if let Some(p) = PUNCT2.iter().find(|p| text[i..].starts_with(**p)) {
            out.push(Tok::P(p));
            i += 2;
        } else if let Some(p) = PUNCT1.iter().find(|p| text[i..].starts_with(**p)) {
            out.push(Tok::P(p));
            i += 1;
        } else {
            return Err(format!("`{}` cannot be read", &text[i..]));
        }
    }
    Ok(out)
}

/// Tokens as BIRD text again, for the notes.
pub(super) fn text_of(toks: &[Tok]) -> String {
    let mut s = String::new();
    for t in toks {
        let part = match t {
            Tok::Word(w) => w.clone(),
            Tok::Num(n) => n.to_string(),
            Tok::Net(a, l) => format!("{a}/{l}"),
            Tok::Ip(a) => a.to_string(),
            Tok::P(p) => p.to_string(),
        };
        let glue = matches!(t, Tok::P("." | "(" | ")" | "," | "+" | "-" | "}"))
            || (*t == Tok::P("]") && s.ends_with(')'))
            || (*t == Tok::P("{") && s.ends_with(|c: char| c.is_ascii_digit()))
            || s.ends_with(['.', '(', '{']);
        if !s.is_empty() && !glue {
            s.push(' ');
        }
        s.push_str(&part);
    }
    s
}

/// The words of a statement as BIRD text, spaced as people write it.
pub(super) fn pretty(words: &[String]) -> String {
    lex(&words.join(" ")).map_or_else(|_| words.join(" "), |t| text_of(&t))
}

/// A cursor over one statement's tokens.
pub(super) struct Cur<'a> {
    toks: &'a [Tok],
    at: usize,
    line: usize,
    defines: &'a HashMap<String, (Define, usize)>,
}

impl<'a> Cur<'a> {
    /// A cursor at the start of `toks`, the statement at `line`.
    pub(super) fn new(
        toks: &'a [Tok],
        line: usize,
        defines: &'a HashMap<String, (Define, usize)>,
    ) -> Self {
        Cur {
            toks,
            at: 0,
            line,
            defines,
        }
    }
    /// The token at the cursor.
    pub(super) fn peek(&self) -> Option<&'a Tok> {
        self.toks.get(self.at)
    }
    /// The token at the cursor, and the cursor past it.
    pub(super) fn next(&mut self) -> Option<&'a Tok> {
        let t = self.toks.get(self.at);
        self.at += 1;
        t
    }
    /// Steps past `p` when it is next.
    pub(super) fn eat(&mut self, p: &str) -> bool {
        if matches!(self.peek(), Some(Tok::P(q)) if *q == p) {
            self.at += 1;
            true
        } else {
            false
        }
    }
    /// Whether every token is read.
    pub(super) fn end(&self) -> bool {
        self.at >= self.toks.len()
    }
    /// The tokens not read yet, as text.
    pub(super) fn rest_text(&self) -> String {
        text_of(&self.toks[self.at.min(self.toks.len())..])
    }
    /// A refusal at this statement's line.
    pub(super) fn refuse(&self, why: String) -> Refusal {
        Refusal {
            line: self.line,
            why,
        }
    }
    /// Steps past `p`, or refuses.
    pub(super) fn expect(&mut self, p: &str) -> Result<(), Refusal> {
        if self.eat(p) {
            Ok(())
        } else {
            Err(self.refuse(format!("`{p}` expected before `{}`", self.rest_text())))
        }
    }

    /// BIRD's precedence (conf/confbase.Y): `&&` and `||` are one level,
    /// left-associative, below `~`; `!` binds tightest.
    pub(super) fn cond(&mut self) -> Result<Cond, Refusal> {
        let mut c = self.unary()?;
        loop {
            if self.eat("&&") {
                c = Cond::And(Box::new(c), Box::new(self.unary()?));
            } else if self.eat("||") {
                c = Cond::Or(Box::new(c), Box::new(self.unary()?));
            } else {
                return Ok(c);
            }
        }
    }

    fn unary(&mut self) -> Result<Cond, Refusal> {
        if self.eat("!") {
            if !self.eat("(") {
                // `! net ~ S` is `(! net) ~ S` to BIRD: not a negation.
                return Err(self.refuse(format!(
                    "`! {}`: BIRD applies `!` to the next term only, write `!( ... )`",
                    self.rest_text()
                )));
            }
            let c = self.cond()?;
            self.expect(")")?;
            return Ok(Cond::Not(Box::new(c)));
        }
        if self.eat("(") {
            let c = self.cond()?;
            self.expect(")")?;
            return Ok(c);
        }
        let start = self.at;
        if matches!(self.peek(), Some(Tok::Word(w)) if w == "net") {
            self.at += 1;
            let negated = if self.eat("~") {
                false
            } else if self.eat("!~") {
                true
            } else {
                self.at = start;
                return Err(self.unsupported_cond());
            };
            let set = self.set()?;
            let c = Cond::In(set);
            return Ok(if negated { Cond::Not(Box::new(c)) } else { c });
        }
        Err(self.unsupported_cond())
    }

    fn unsupported_cond(&self) -> Refusal {
        self.refuse(format!(
            "the condition `{}` is not translated (only `net ~ [ prefixes ]` and `net ~ \
             CONSTANT`, with `!( )`, `&&` and `||`, are)",
            self.rest_text()
        ))
    }

    /// `[ patterns ]` or the name of a `define`d prefix set.
    fn set(&mut self) -> Result<NamedSet, Refusal> {
        match self.peek() {
            Some(Tok::P("[")) => Ok(NamedSet {
                set: self.set_literal()?,
                name: None,
            }),
            Some(Tok::Word(w)) => {
                self.at += 1;
                match self.defines.get(w) {
                    Some((Define::Set(s), _)) => Ok(NamedSet {
                        set: s.clone(),
                        name: Some(w.clone()),
                    }),
                    Some((Define::Int(_), line)) => {
                        Err(self
                            .refuse(format!("`{w}` (line {line}) is a number, not a prefix set")))
                    }
                    Some((Define::Other(why), line)) => Err(self.refuse(format!(
                        "the constant `{w}` (line {line}) is not read: {why}"
                    ))),
                    None => Err(self.refuse(format!(
                        "`{w}` is not a prefix set defined before (`define {w} = [ ... ];`)"
                    ))),
                }
            }
            _ => Err(self.unsupported_cond()),
        }
    }

    /// `[ patterns ]`: a prefix set literal.
    pub(super) fn set_literal(&mut self) -> Result<PrefixSet, Refusal> {
        self.expect("[")?;
        let mut set = PrefixSet::default();
        loop {
            let Some(Tok::Net(addr, len)) = self.next() else {
                self.at -= 1;
                return Err(self.refuse(format!(
                    "`[ {}`: only sets of prefixes are translated",
                    self.rest_text()
                )));
            };
            let (addr, len) = (*addr, *len);
            let max = super::prefix_set::max_len(addr);
            let (lo, hi) = if self.eat("+") {
                (len, max)
            } else if self.eat("-") {
                (0, len)
            } else if self.eat("{") {
                let lo = self.small_num()?;
                self.expect(",")?;
                let hi = self.small_num()?;
                self.expect("}")?;
                (lo, hi)
            } else {
                (len, len)
            };
            let p = PrefixSet::pattern(addr, len, lo, hi).map_err(|why| self.refuse(why))?;
            set = set.union(&p);
            if self.eat("]") {
                break;
            }
            self.expect(",")?;
        }
        if set.mixed() {
            return Err(
                self.refuse("a prefix set mixes IPv4 and IPv6 (BIRD refuses it too)".into())
            );
        }
        Ok(set)
    }

    fn small_num(&mut self) -> Result<u8, Refusal> {
        match self.next() {
            Some(Tok::Num(n)) if *n <= 128 => Ok(*n as u8),
            _ => Err(self.refuse("a prefix length range wants numbers, `{lo,hi}`".into())),
        }
    }

    /// A number, or a `define`d one.
    pub(super) fn int(&mut self, max: u64) -> Result<u64, Refusal> {
        let n = match self.next() {
            Some(Tok::Num(n)) => *n,
            Some(Tok::Word(w)) => match self.defines.get(w) {
                Some((Define::Int(n), _)) => *n,
                _ => return Err(self.refuse(format!("`{w}` is not a number defined before"))),
            },
            _ => {
                self.at -= 1;
                return Err(self.refuse(format!(
                    "`{}`: only numbers and numeric constants are translated here",
                    self.rest_text()
                )));
            }
        };
        if n > max {
            return Err(self.refuse(format!("{n} is above {max}")));
        }
        Ok(n)
    }

    /// `(A,B)` (standard, 16-bit parts) or `(A,B,C)` (large, 32-bit).
    pub(super) fn community(&mut self, large: bool) -> Result<String, Refusal> {
        self.expect("(")?;
        let max = if large { u64::from(u32::MAX) } else { 65535 };
        let mut parts = vec![self.int(max)?.to_string()];
        for _ in 0..if large { 2 } else { 1 } {
            self.expect(",")?;
            parts.push(self.int(max)?.to_string());
        }
        self.expect(")")?;
        Ok(parts.join(":"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens() {
        assert_eq!(
            lex("net ~ [ fd00::/8+, 10.0.0.0/16{24 , 32} ] && bgp_community.add((65000,1))")
                .unwrap()
                .len(),
            24
        );
        assert_eq!(
            lex("2001:db8::/32").unwrap(),
            vec![Tok::Net("2001:db8::".parse().unwrap(), 32)]
        );
        assert!(
            lex("1..10").is_ok_and(|t| t == vec![Tok::Num(1), Tok::P(".."), Tok::Num(10)])
                || lex("1..10").is_err()
        );
        assert!(lex("bgp_path.len > 3 $").is_err());
        assert!(lex("net ~ [ 10.0.0.0/8\u{85}+ ]").is_err());
        assert!(lex("x \u{e9}t\u{e9} \u{2028}").is_err());
    }
}
