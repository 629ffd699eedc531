//! [`UpdateBurst`]: the UPDATEs one read of a session brought, zero-copy,
//! with the codec context they were decoded with.
//!
//! The context travels with them so that a burst serialises on its own (as
//! the context and the raw bodies) and decodes again to the same views:
//! this is what makes a recorded session replayable.

use bgp_proto::msg::SessionContext;
use bgp_proto::wire::update::Update;
use bytes::Bytes;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::ops::Deref;
use std::sync::Arc;

/// UPDATEs received on one Established session, in order.
#[derive(Debug, Clone)]
pub struct UpdateBurst {
    ctx: Arc<SessionContext>,
    updates: Vec<Update>,
}

impl UpdateBurst {
    /// UPDATEs decoded with `ctx`.
    pub fn new(ctx: Arc<SessionContext>, updates: Vec<Update>) -> Self {
        UpdateBurst { ctx, updates }
    }

    /// The context the UPDATEs were decoded with.
    pub fn context(&self) -> &SessionContext {
        &self.ctx
    }
}

impl Deref for UpdateBurst {
    type Target = [Update];

    fn deref(&self) -> &[Update] {
        &self.updates
    }
}

impl<'a> IntoIterator for &'a UpdateBurst {
    type Item = &'a Update;
    type IntoIter = std::slice::Iter<'a, Update>;

    fn into_iter(self) -> Self::IntoIter {
        self.updates.iter()
    }
}

impl PartialEq for UpdateBurst {
    /// Equal contexts and equal bodies (equal bodies decode alike).
    fn eq(&self, other: &Self) -> bool {
        self.ctx == other.ctx
            && self.updates.len() == other.updates.len()
            && self
                .updates
                .iter()
                .zip(&other.updates)
                .all(|(a, b)| a.body() == b.body())
    }
}

/// The serialised form: the context and each body in hex.
#[derive(Serialize, Deserialize)]
struct Repr {
    ctx: SessionContext,
    bodies: Vec<String>,
}

impl Serialize for UpdateBurst {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        Repr {
            ctx: (*self.ctx).clone(),
            bodies: self.updates.iter().map(|u| hex(u.body())).collect(),
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for UpdateBurst {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let repr = Repr::deserialize(d)?;
        let updates = repr
            .bodies
            .iter()
            .map(|h| {
                let body = unhex(h).ok_or_else(|| D::Error::custom("UPDATE body: bad hex"))?;
                Update::decode(Bytes::from(body), &repr.ctx)
                    .map_err(|e| D::Error::custom(format!("UPDATE body: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(UpdateBurst::new(Arc::new(repr.ctx), updates))
    }
}

fn hex(b: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(b.len() * 2);
    for x in b {
        let _ = write!(s, "{x:02x}");
    }
    s
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_serialises_and_decodes_to_the_same_views() {
        let ctx = SessionContext {
            four_octet_as: true,
            ..SessionContext::default()
        };
        let body: &[u8] = &[
            0, 0, 0, 20, 0x40, 1, 1, 0, 0x40, 2, 6, 2, 1, 0, 0, 0xfd, 0xe8, 0x40, 3, 4, 172, 18, 0,
            2, 24, 10, 241, 0,
        ];
        let u = Update::decode(Bytes::from_static(body), &ctx).unwrap();
        let burst = UpdateBurst::new(Arc::new(ctx), vec![u]);
        let json = serde_json::to_string(&burst).unwrap();
        let back: UpdateBurst = serde_json::from_str(&json).unwrap();
        assert_eq!(back, burst);
        assert_eq!(back.len(), 1);
        assert_eq!(back[0].nlri().count(), 1);
        assert_eq!(back[0].attributes(), burst[0].attributes());
    }

    #[test]
    fn a_bad_body_is_an_error_not_a_panic() {
        let json = r#"{"ctx":{"four_octet_as":true,"extended_message":false,"add_path_receive":[],"add_path_send":[],"extended_next_hop":[]},"bodies":["0000ff"]}"#;
        assert!(serde_json::from_str::<UpdateBurst>(json).is_err());
        let odd = json.replace("0000ff", "000");
        assert!(serde_json::from_str::<UpdateBurst>(&odd).is_err());
    }
}
