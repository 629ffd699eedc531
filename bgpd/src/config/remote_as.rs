//! `remote_as`: the peer's AS (`65100`), or which ASes a neighbor or range
//! takes: `"external"` (any but ours, BIRD's `external`, FRR's
//! `remote-as external`), `"internal"` (ours) or a list (`[65100,
//! 65200]`), for AS-per-node and AS-per-rack designs behind one range.

use bgp_proto::fsm::PeerAs;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A neighbor's `remote_as`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RemoteAs {
    /// This AS.
    Asn(u32),
    /// Any AS but ours.
    External,
    /// Ours.
    Internal,
    /// One of these.
    List(Vec<u32>),
}

impl RemoteAs {
    /// What the FSM accepts in the peer's OPEN.
    pub fn peer_as(&self) -> PeerAs {
        match self {
            RemoteAs::Asn(a) => PeerAs::Exact(*a),
            RemoteAs::External => PeerAs::External,
            RemoteAs::Internal => PeerAs::Internal,
            RemoteAs::List(l) => PeerAs::OneOf(l.clone()),
        }
    }

    /// Whether sessions are external for a router in `local` (a list
    /// without our AS is; validation refuses lists that mix).
    pub fn is_external(&self, local: u32) -> bool {
        match self {
            RemoteAs::Asn(a) => *a != local,
            RemoteAs::External => true,
            RemoteAs::Internal => false,
            RemoteAs::List(l) => !l.contains(&local),
        }
    }

    /// The one AS a session can have, if only one.
    pub fn exact(&self, local: u32) -> Option<u32> {
        self.peer_as().exact(local)
    }

    /// The AS numbers written out (to check each one).
    pub fn numbers(&self) -> &[u32] {
        match self {
            RemoteAs::Asn(a) => std::slice::from_ref(a),
            RemoteAs::List(l) => l,
            RemoteAs::External | RemoteAs::Internal => &[],
        }
    }

    /// What is wrong with it for a router in `local`, if anything.
    pub fn problem(&self, local: u32) -> Option<String> {
        match self {
            RemoteAs::List(l) if l.is_empty() => {
                Some("remote_as list is empty, expected at least one AS number".into())
            }
            RemoteAs::List(l) if l.contains(&local) && l.iter().any(|a| *a != local) => {
                Some(format!(
                    "remote_as list mixes our AS {local} with others, expected external ASes \
                     only (use a separate entry for iBGP)"
                ))
            }
            _ => None,
        }
    }
}

impl fmt::Display for RemoteAs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RemoteAs::Asn(a) => write!(f, "{a}"),
            RemoteAs::External => f.write_str("external"),
            RemoteAs::Internal => f.write_str("internal"),
            RemoteAs::List(l) => {
                let l: Vec<String> = l.iter().map(u32::to_string).collect();
                write!(f, "[{}]", l.join(", "))
            }
        }
    }
}

impl Serialize for RemoteAs {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            RemoteAs::Asn(a) => s.serialize_u32(*a),
            RemoteAs::External => s.serialize_str("external"),
            RemoteAs::Internal => s.serialize_str("internal"),
            RemoteAs::List(l) => l.serialize(s),
        }
    }
}

const EXPECTED: &str =
    "an AS number (1 to 4294967295), \"external\", \"internal\" or a list of AS numbers";

fn asn<E: serde::de::Error>(v: i128) -> Result<u32, E> {
    u32::try_from(v).map_err(|_| {
        E::custom(format!(
            "AS number {v} is out of range, expected 1 to 4294967295"
        ))
    })
}

impl<'de> Deserialize<'de> for RemoteAs {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = RemoteAs;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(EXPECTED)
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<RemoteAs, E> {
                asn(i128::from(v)).map(RemoteAs::Asn)
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<RemoteAs, E> {
                asn(i128::from(v)).map(RemoteAs::Asn)
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<RemoteAs, E> {
                match v {
                    "external" => Ok(RemoteAs::External),
                    "internal" => Ok(RemoteAs::Internal),
                    other => Err(E::custom(format!(
                        "remote_as \"{other}\" is not known, expected {EXPECTED}"
                    ))),
                }
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<RemoteAs, A::Error> {
                let mut list = Vec::new();
                while let Some(v) = seq.next_element::<i64>()? {
                    list.push(asn(i128::from(v))?);
                }
                Ok(RemoteAs::List(list))
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
        remote_as: RemoteAs,
    }

    fn parse(v: &str) -> Result<RemoteAs, String> {
        toml::from_str::<T>(&format!("remote_as = {v}"))
            .map(|t| t.remote_as)
            .map_err(|e| e.message().to_string())
    }

    #[test]
    fn every_form_reads_and_writes_back() {
        for (text, want) in [
            ("65100", RemoteAs::Asn(65100)),
            ("\"external\"", RemoteAs::External),
            ("\"internal\"", RemoteAs::Internal),
            ("[65100, 65200]", RemoteAs::List(vec![65100, 65200])),
        ] {
            let got = parse(text).unwrap();
            assert_eq!(got, want);
            let back = toml::to_string(&T { remote_as: got }).unwrap();
            assert_eq!(back.trim(), format!("remote_as = {text}"));
        }
        assert!(parse("\"extern\"")
            .unwrap_err()
            .contains("\"extern\" is not known"));
        assert!(parse("-1").unwrap_err().contains("out of range"));
        assert!(parse("[1, 4294967296]")
            .unwrap_err()
            .contains("out of range"));
        assert!(parse("1.5").unwrap_err().contains("expected an AS number"));
    }

    #[test]
    fn external_means_any_as_but_ours() {
        let local = 65000;
        assert!(RemoteAs::External.is_external(local));
        assert!(!RemoteAs::Internal.is_external(local));
        assert!(RemoteAs::List(vec![65100, 65200]).is_external(local));
        assert_eq!(RemoteAs::Internal.exact(local), Some(65000));
        assert!(RemoteAs::List(vec![]).problem(local).is_some());
        assert!(RemoteAs::List(vec![65000, 65100]).problem(local).is_some());
        assert!(RemoteAs::List(vec![65100]).problem(local).is_none());
    }
}
