//! Every structural mistake of a file in one run. serde stops at the first
//! unknown key or wrong type; to find the next, the line of each mistake
//! is blanked (spaces, so every position stays where it was) and the text
//! parsed again, up to [`MAX_MISTAKES`] times. Once the text parses, the
//! semantic checks run on it too; what they say about a table that lost a
//! line is left out, as it may only follow from the blanking (a required
//! key blanked, a default standing in).

use super::diag::{Diagnostic, Locator};
use super::{validate, Config};

/// Most mistakes reported (and parses tried) for one file.
const MAX_MISTAKES: usize = 64;

/// The table path (without the last key) of a diagnostic's key path text:
/// `neighbor[1].hold_time` -> `neighbor[1]`.
fn table_of(key: &str) -> &str {
    match key.rfind('.') {
        Some(i) => &key[..i],
        None => "",
    }
}

/// Blanks the lines `span` touches, keeping newlines; a span on a table
/// header (`[bgp]`, `[[peer]]`) blanks the whole table, up to the next
/// header, or its keys would land in the table before it.
fn blank_lines(text: &mut [u8], span: std::ops::Range<usize>) {
    let start = text
        .get(..span.start.min(text.len()))
        .and_then(|b| b.iter().rposition(|&c| c == b'\n'))
        .map_or(0, |i| i + 1);
    let header = text
        .get(start..)
        .and_then(|b| b.iter().find(|c| !c.is_ascii_whitespace()))
        == Some(&b'[');
    let mut end_from = span.end.max(span.start + 1).min(text.len());
    if header {
        // The next line that opens a table, else the end.
        let mut at = end_from;
        end_from = text.len();
        while let Some(nl) = text
            .get(at..)
            .and_then(|b| b.iter().position(|&c| c == b'\n'))
        {
            let line = at + nl + 1;
            let opens = text
                .get(line..)
                .and_then(|b| b.iter().find(|c| **c != b' ' && **c != b'\t'))
                == Some(&b'[');
            if opens {
                end_from = line.saturating_sub(1);
                break;
            }
            at = line;
        }
    }
    let end = text
        .get(end_from..)
        .and_then(|b| b.iter().position(|&c| c == b'\n'))
        .map_or(text.len(), |i| end_from + i);
    if let Some(bytes) = text.get_mut(start..end) {
        for c in bytes.iter_mut().filter(|c| **c != b'\n') {
            *c = b' ';
        }
    }
}

/// Parses `text`, or says every mistake found, in file order.
pub(super) fn parse(text: &str, loc: &Locator<'_>) -> Result<Config, Vec<Diagnostic>> {
    let mut work = text.as_bytes().to_vec();
    let mut found: Vec<Diagnostic> = Vec::new();
    // Tables that lost a line to blanking.
    let mut touched: Vec<String> = Vec::new();
    for _ in 0..MAX_MISTAKES {
        let Ok(current) = std::str::from_utf8(&work) else {
            break;
        };
        let e = match toml::from_str::<Config>(current) {
            Ok(cfg) => {
                if found.is_empty() {
                    let d = validate::validate(&cfg, loc);
                    return if d.is_empty() { Ok(cfg) } else { Err(d) };
                }
                found.extend(
                    validate::validate(&cfg, loc)
                        .into_iter()
                        .filter(|d| !touched.iter().any(|t| d.key.starts_with(t.as_str()))),
                );
                break;
            }
            Err(e) => e,
        };
        let d = validate::serde_error(loc, &e);
        let missing = e.message().starts_with("missing field");
        // A required key we blanked, or no progress: stop here.
        let follows = missing && touched.iter().any(|t| t == &d.key || t == table_of(&d.key));
        let repeated = found
            .iter()
            .any(|f| f.line == d.line && f.message == d.message);
        if follows || repeated {
            break;
        }
        let Some(span) = e.span().filter(|s| *s != (0..0)) else {
            found.push(d);
            break;
        };
        let table = table_of(&d.key);
        touched.push(if table.is_empty() {
            d.key.clone()
        } else {
            table.to_string()
        });
        found.push(d);
        if missing {
            break;
        }
        blank_lines(&mut work, span);
    }
    if found.is_empty() {
        // Nothing could be said (not seen in practice): the first error.
        if let Err(e) = toml::from_str::<Config>(text) {
            found.push(validate::serde_error(loc, &e));
        }
    }
    Err(found)
}
