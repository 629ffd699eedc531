//! Reading a BIRD 2 configuration: tokens (words, strings, `{ } ; ,`),
//! comments (`#` to the end of the line, `/* */`) dropped, then a tree of
//! statements (`words ;`) and blocks (`words { ... }`), each with its line.
//! Only the shape is read here; what the statements mean is `to_toml.rs`'s
//! and `filter.rs`'s. Inside `[ ]` (a filter's set) `{` and `}` are words,
//! not blocks: BIRD's prefix patterns write length ranges with them
//! (`10.0.0.0/8{16,24}`).

/// A statement or a block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// `words ;`
    Stmt {
        /// The words (strings without their quotes, `,` kept as a word).
        words: Vec<String>,
        /// 1-based line of the first word.
        line: usize,
    },
    /// `words { items }`
    Block {
        /// The words before `{`.
        head: Vec<String>,
        /// What is inside.
        items: Vec<Item>,
        /// 1-based line of the first word.
        line: usize,
    },
}

/// A syntax error: the line and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    /// 1-based line.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Word(String),
    Open,
    Close,
    Semi,
}

/// Most nested blocks read (BIRD's own configs nest three or four deep).
const MAX_DEPTH: usize = 32;

fn tokens(text: &str) -> Result<Vec<(Tok, usize)>, SyntaxError> {
    let mut out = Vec::new();
    let mut line = 1;
    let mut chars = text.chars().peekable();
    let mut word = String::new();
    // Open `[`s, and the line of the outermost one.
    let mut square = (0usize, 0usize);
    let flush = |word: &mut String, out: &mut Vec<(Tok, usize)>, line: usize| {
        if !word.is_empty() {
            out.push((Tok::Word(std::mem::take(word)), line));
        }
    };
    while let Some(c) = chars.next() {
        match c {
            '\n' => {
                flush(&mut word, &mut out, line);
                line += 1;
            }
            '#' => {
                flush(&mut word, &mut out, line);
                for c in chars.by_ref() {
                    if c == '\n' {
                        line += 1;
                        break;
                    }
                }
            }
            '/' if chars.peek() == Some(&'*') => {
                flush(&mut word, &mut out, line);
                chars.next();
                let start = line;
                let mut prev = ' ';
                let mut closed = false;
                for c in chars.by_ref() {
                    if c == '\n' {
                        line += 1;
                    }
                    if prev == '*' && c == '/' {
                        closed = true;
                        break;
                    }
                    prev = c;
                }
                if !closed {
                    return Err(SyntaxError {
                        line: start,
                        message: "comment not closed (`*/` missing)".into(),
                    });
                }
            }
            '"' => {
                flush(&mut word, &mut out, line);
                let start = line;
                let mut s = String::new();
                let mut closed = false;
                for c in chars.by_ref() {
                    match c {
                        '"' => {
                            closed = true;
                            break;
                        }
                        '\n' => {
                            line += 1;
                            s.push(c);
                        }
                        _ => s.push(c),
                    }
                }
                if !closed {
                    return Err(SyntaxError {
                        line: start,
                        message: "string not closed".into(),
                    });
                }
                out.push((Tok::Word(s), start));
            }
            '[' | ']' => {
                if c == '[' {
                    if square.0 == 0 {
                        square.1 = line;
                    }
                    square.0 += 1;
                } else {
                    square.0 = square.0.saturating_sub(1);
                }
                word.push(c);
            }
            '{' | '}' if square.0 > 0 => {
                flush(&mut word, &mut out, line);
                out.push((Tok::Word(c.to_string()), line));
            }
            '{' | '}' | ';' | ',' => {
                flush(&mut word, &mut out, line);
                out.push((
                    match c {
                        '{' => Tok::Open,
                        '}' => Tok::Close,
                        ';' => Tok::Semi,
                        _ => Tok::Word(",".into()),
                    },
                    line,
                ));
            }
            c if c.is_whitespace() => flush(&mut word, &mut out, line),
            c => word.push(c),
        }
    }
    flush(&mut word, &mut out, line);
    if square.0 > 0 {
        return Err(SyntaxError {
            line: square.1,
            message: "`[` not closed (`]` missing)".into(),
        });
    }
    Ok(out)
}

fn items(toks: &[(Tok, usize)], at: &mut usize, depth: usize) -> Result<Vec<Item>, SyntaxError> {
    let mut out = Vec::new();
    let mut words: Vec<String> = Vec::new();
    let mut first_line = 0;
    while let Some((tok, line)) = toks.get(*at) {
        *at += 1;
        match tok {
            Tok::Word(w) => {
                if words.is_empty() {
                    first_line = *line;
                }
                words.push(w.clone());
            }
            Tok::Semi => {
                if !words.is_empty() {
                    out.push(Item::Stmt {
                        words: std::mem::take(&mut words),
                        line: first_line,
                    });
                }
            }
            Tok::Open => {
                if depth >= MAX_DEPTH {
                    return Err(SyntaxError {
                        line: *line,
                        message: format!("blocks nested more than {MAX_DEPTH} deep"),
                    });
                }
                let line = if words.is_empty() { *line } else { first_line };
                let inner = items(toks, at, depth + 1)?;
                out.push(Item::Block {
                    head: std::mem::take(&mut words),
                    items: inner,
                    line,
                });
            }
            Tok::Close => {
                if depth == 0 {
                    return Err(SyntaxError {
                        line: *line,
                        message: "`}` without a `{`".into(),
                    });
                }
                if !words.is_empty() {
                    // BIRD allows the last statement of a block without `;`.
                    out.push(Item::Stmt {
                        words: std::mem::take(&mut words),
                        line: first_line,
                    });
                }
                return Ok(out);
            }
        }
    }
    if depth > 0 {
        return Err(SyntaxError {
            line: toks.last().map_or(1, |(_, l)| *l),
            message: "`{` not closed".into(),
        });
    }
    if !words.is_empty() {
        return Err(SyntaxError {
            line: first_line,
            message: format!("`{}` ends without `;`", words.join(" ")),
        });
    }
    Ok(out)
}

/// Reads a configuration's statements and blocks.
pub fn parse(text: &str) -> Result<Vec<Item>, SyntaxError> {
    let toks = tokens(text)?;
    let mut at = 0;
    items(&toks, &mut at, 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_blocks_comments_and_strings() {
        let text = "log \"bird.log\" all; # a comment\n/* a\nblock */\n\
                    protocol bgp a {\n  ipv4 { import all; export none; };\n  neighbor 10.0.0.2 as 65100\n}\n";
        let items = parse(text).unwrap();
        assert_eq!(
            items[0],
            Item::Stmt {
                words: vec!["log".into(), "bird.log".into(), "all".into()],
                line: 1
            }
        );
        let Item::Block { head, items, line } = &items[1] else {
            panic!("{items:?}")
        };
        assert_eq!((head.join(" ").as_str(), *line), ("protocol bgp a", 4));
        assert!(matches!(&items[0], Item::Block { head, .. } if head == &["ipv4"]));
        assert!(
            matches!(&items[1], Item::Stmt { words, line: 6 } if words.join(" ") == "neighbor 10.0.0.2 as 65100")
        );
    }

    #[test]
    fn broken_files_say_where() {
        for (text, line, says) in [
            ("protocol bgp a {\n", 1, "not closed"),
            ("}\n", 1, "without"),
            ("router id 1.2.3.4\n", 1, "without `;`"),
            ("log \"x;\n", 1, "string"),
            ("/* x\n\n", 1, "comment"),
            (
                "filter f {\n  if net ~ [ 10.0.0.0/8{16,24} then accept;\n}\n",
                2,
                "`[`",
            ),
        ] {
            let e = parse(text).unwrap_err();
            assert_eq!(e.line, line, "{text:?}");
            assert!(e.message.contains(says), "{text:?}: {}", e.message);
        }
        // Braces inside a set are words: no block opens.
        let items = parse("filter f { if net ~ [ 10.0.0.0/8{16,24} ] then accept; }").unwrap();
        let Item::Block { items, .. } = &items[0] else {
            panic!("{items:?}")
        };
        assert!(
            matches!(&items[0], Item::Stmt { words, .. } if words.join(" ") == "if net ~ [ 10.0.0.0/8 { 16 , 24 } ] then accept")
        );
        let deep = "a {".repeat(40) + &"}".repeat(40);
        assert!(parse(&deep).unwrap_err().message.contains("nested"));
    }
}
