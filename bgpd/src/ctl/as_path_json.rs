//! The JSON form of an AS_PATH: an array whose numbers are the ASes of the
//! AS_SEQUENCE segments, and whose objects are the other segments,
//! `{"set": [1, 2]}`, `{"confed_sequence": [..]}`, `{"confed_set": [..]}`.
//! `"65000 65100 {1 2}"` (the text rbgpctl prints) is `[65000, 65100,
//! {"set": [1, 2]}]` in JSON. The Rust side keeps the text; these are the
//! `#[serde(with)]` functions that convert at the edge.

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// One element of the JSON array.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
enum Elem {
    /// An AS of an AS_SEQUENCE.
    As(u32),
    /// Another kind of segment.
    Segment(Segment),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Segment {
    Set(Vec<u32>),
    ConfedSequence(Vec<u32>),
    ConfedSet(Vec<u32>),
}

/// The elements of the text form; `None` when it is not one.
fn parse(text: &str) -> Option<Vec<Elem>> {
    let mut out = Vec::new();
    let mut open: Option<(char, Vec<u32>)> = None;
    for tok in text.split_whitespace() {
        let mut t = tok;
        if let Some(c) = t.chars().next().filter(|c| "{([".contains(*c)) {
            if open.is_some() {
                return None;
            }
            open = Some((c, Vec::new()));
            t = &t[1..];
        }
        let close = t.chars().last().filter(|c| "})]".contains(*c));
        if close.is_some() {
            t = &t[..t.len() - 1];
        }
        if !t.is_empty() {
            let asn: u32 = t.parse().ok()?;
            match &mut open {
                Some((_, v)) => v.push(asn),
                None => out.push(Elem::As(asn)),
            }
        }
        if let Some(c) = close {
            let (o, v) = open.take()?;
            out.push(Elem::Segment(match (o, c) {
                ('{', '}') => Segment::Set(v),
                ('(', ')') => Segment::ConfedSequence(v),
                ('[', ']') => Segment::ConfedSet(v),
                _ => return None,
            }));
        }
    }
    open.is_none().then_some(out)
}

fn text(elems: &[Elem]) -> String {
    let list = |v: &[u32]| v.iter().map(u32::to_string).collect::<Vec<_>>().join(" ");
    elems
        .iter()
        .map(|e| match e {
            Elem::As(a) => a.to_string(),
            Elem::Segment(Segment::Set(v)) => format!("{{{}}}", list(v)),
            Elem::Segment(Segment::ConfedSequence(v)) => format!("({})", list(v)),
            Elem::Segment(Segment::ConfedSet(v)) => format!("[{}]", list(v)),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Serializes the text form as the array.
pub fn serialize<S: Serializer>(path: &str, s: S) -> Result<S::Ok, S::Error> {
    match parse(path) {
        Some(elems) => elems.serialize(s),
        None => Err(serde::ser::Error::custom(format!(
            "not an AS_PATH: {path:?}"
        ))),
    }
}

/// Reads the array back into the text form.
pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let elems = Vec::<Elem>::deserialize(d).map_err(D::Error::custom)?;
    Ok(text(&elems))
}

/// The same for an optional AS_PATH (`null` when absent).
pub mod option {
    use super::*;

    /// Serializes `Some` as the array, `None` as `null`.
    pub fn serialize<S: Serializer>(path: &Option<String>, s: S) -> Result<S::Ok, S::Error> {
        match path {
            Some(p) => super::serialize(p, s),
            None => s.serialize_none(),
        }
    }

    /// Reads `null` or an array.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        let elems = Option::<Vec<Elem>>::deserialize(d)?;
        Ok(elems.map(|e| text(&e)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_array_round_trip() {
        for (t, json) in [
            ("", "[]"),
            ("65000 65100", "[65000,65100]"),
            (
                "65000 {1 2} (3) [4 5]",
                r#"[65000,{"set":[1,2]},{"confed_sequence":[3]},{"confed_set":[4,5]}]"#,
            ),
        ] {
            let elems = parse(t).unwrap();
            assert_eq!(serde_json::to_string(&elems).unwrap(), json);
            let back: Vec<Elem> = serde_json::from_str(json).unwrap();
            assert_eq!(text(&back), t);
        }
        for bad in ["65000 x", "{1 2", "1 }", "{1 (2)}", "{1 2)"] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }
}
