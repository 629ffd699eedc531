//! `add_path_send`: how many paths of each prefix a neighbor is sent with
//! ADD-PATH (RFC 7911): a number (2 to 64) or `"all"` (the whole multipath
//! group), as FRR's `addpath-tx-all-paths` and BIRD's `add paths tx`.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Most paths a number may ask for.
pub const ADD_PATH_MAX: u32 = 64;

/// A neighbor's `add_path_send`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddPathSend {
    /// At most this many paths per prefix.
    Paths(u32),
    /// The best path and every other member of its multipath group.
    All,
}

impl AddPathSend {
    /// Paths per prefix at most.
    pub fn max_paths(self) -> usize {
        match self {
            AddPathSend::Paths(n) => usize::try_from(n).unwrap_or(usize::MAX),
            AddPathSend::All => usize::MAX,
        }
    }
}

impl fmt::Display for AddPathSend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AddPathSend::Paths(n) => write!(f, "{n}"),
            AddPathSend::All => f.write_str("all"),
        }
    }
}

impl Serialize for AddPathSend {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            AddPathSend::Paths(n) => s.serialize_u32(*n),
            AddPathSend::All => s.serialize_str("all"),
        }
    }
}

fn paths<E: serde::de::Error>(v: i128) -> Result<AddPathSend, E> {
    u32::try_from(v)
        .ok()
        .filter(|n| (2..=ADD_PATH_MAX).contains(n))
        .map(AddPathSend::Paths)
        .ok_or_else(|| {
            E::custom(format!(
                "add_path_send {v} is out of range, expected 2 to {ADD_PATH_MAX} or \"all\""
            ))
        })
}

impl<'de> Deserialize<'de> for AddPathSend {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = AddPathSend;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "a number of paths (2 to {ADD_PATH_MAX}) or \"all\"")
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<AddPathSend, E> {
                paths(i128::from(v))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<AddPathSend, E> {
                paths(i128::from(v))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<AddPathSend, E> {
                match v {
                    "all" => Ok(AddPathSend::All),
                    other => Err(E::custom(format!(
                        "add_path_send \"{other}\" is not known, expected a number of paths \
                         (2 to {ADD_PATH_MAX}) or \"all\""
                    ))),
                }
            }
        }
        d.deserialize_any(Visitor)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[derive(Deserialize, Serialize)]
    struct T {
        add_path_send: AddPathSend,
    }

    fn parse(v: &str) -> Result<AddPathSend, String> {
        toml::from_str::<T>(&format!("add_path_send = {v}"))
            .map(|t| t.add_path_send)
            .map_err(|e| e.message().to_string())
    }

    #[test]
    fn numbers_and_all_read_and_write_back() {
        for (text, want) in [("4", AddPathSend::Paths(4)), ("\"all\"", AddPathSend::All)] {
            let got = parse(text).unwrap();
            assert_eq!(got, want);
            let back = toml::to_string(&T { add_path_send: got }).unwrap();
            assert_eq!(back.trim(), format!("add_path_send = {text}"));
        }
        assert_eq!(AddPathSend::All.max_paths(), usize::MAX);
        for bad in ["1", "65", "-3"] {
            assert!(parse(bad).unwrap_err().contains("out of range"), "{bad}");
        }
        assert!(parse("\"any\"").unwrap_err().contains("not known"));
    }
}
