//! Turning the RIB's export batches into UPDATE messages for one session,
//! and sharing them between sessions within an export round.

use bgp_proto::msg::{Message, RouteRefresh, RouteRefreshSubtype, SessionContext};
use bgp_proto::wire::update::UpdatePacker;
use bgp_proto::{Family, MpNextHop};
use bytes::Bytes;
use hashbrown::{DefaultHashBuilder, HashTable};
use rib::ExportBatch;
use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::Arc;

/// Packs `batches` into as few UPDATE messages as the session allows;
/// `too_big` counts the announcements sent as withdrawals instead (see
/// [`encode_batch`]).
pub(super) fn encode_batches(
    ctx: &SessionContext,
    batches: &[ExportBatch],
    too_big: &mut usize,
) -> Vec<Bytes> {
    let mut out = Vec::new();
    for b in batches {
        let (msgs, withdrawn) = encode_batch(ctx, b);
        out.extend(msgs);
        *too_big += usize::from(withdrawn);
    }
    out
}

/// The UPDATE messages of one batch, and whether an announcement had to
/// go out as a withdrawal. An announcement whose attributes fit no
/// message of the session (too large without Extended Message) withdraws
/// its prefixes instead, as RFC 8654 section 4 says: the peer must not
/// keep an older route for them.
pub(super) fn encode_batch(ctx: &SessionContext, batch: &ExportBatch) -> (Vec<Bytes>, bool) {
    let packer = UpdatePacker::new(ctx);
    match batch {
        ExportBatch::Withdraw { family, nlri } => {
            (packer.withdraw(*family, nlri).unwrap_or_default(), false)
        }
        ExportBatch::Announce {
            family,
            route,
            nlri,
        } => {
            let nh = MpNextHop {
                global: route.next_hop,
                link_local: None,
            };
            match packer.announce(&route.attrs, Some(nh), *family, nlri) {
                Ok(msgs) => (msgs, false),
                Err(_) => (packer.withdraw(*family, nlri).unwrap_or_default(), true),
            }
        }
    }
}

/// What the encoding of a batch depends on besides the batch: the session
/// options the packer reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Format {
    four_octet_as: bool,
    extended_message: bool,
    add_path: bool,
}

impl Format {
    fn of(ctx: &SessionContext, family: Family) -> Self {
        Format {
            four_octet_as: ctx.four_octet_as,
            extended_message: ctx.extended_message,
            add_path: ctx.add_path_tx(family),
        }
    }
}

/// An encoded batch of this round.
struct Encoded {
    hash: u64,
    format: Format,
    batch: ExportBatch,
    msgs: Vec<Bytes>,
    /// An announcement sent as a withdrawal (too large for the format).
    withdrawn: bool,
}

/// Batches of more prefixes than this are encoded for each session and not
/// kept: sharing pays for many small UPDATEs to many peers, and keeping a
/// full table's batches would hold their prefixes until the round ends.
const SHARE_MAX_NLRI: usize = 256;

/// Batches kept per round at most (a few MB); later ones are still matched
/// against those but encoded alone. A thousand sessions' round keeps a few
/// thousand; a full table sent to one new session would keep all of its.
const SHARE_MAX_BATCHES: usize = 16 * 1024;

/// The UPDATEs of one export round, shared between sessions. Peers of one
/// export class get equal batches (the same prefixes with the same
/// outgoing attributes, usually the same `Arc` from the RIB's export
/// memo), so a route new to a thousand neighbors is encoded once and its
/// messages are shared, as FRR's and GoBGP's update groups do, instead of
/// encoded a thousand times.
#[derive(Default)]
pub(super) struct RoundEncoder {
    done: HashTable<Encoded>,
    hasher: DefaultHashBuilder,
}

impl RoundEncoder {
    /// The messages of `batches` for a session with `ctx`: those encoded
    /// earlier in the round for an equal batch and format are reused.
    pub fn encode(
        &mut self,
        ctx: &SessionContext,
        batches: Vec<ExportBatch>,
        too_big: &mut usize,
    ) -> Vec<Bytes> {
        let mut out = Vec::new();
        for batch in batches {
            if batch.nlri().len() > SHARE_MAX_NLRI {
                let (msgs, withdrawn) = encode_batch(ctx, &batch);
                out.extend(msgs);
                *too_big += usize::from(withdrawn);
                continue;
            }
            let format = Format::of(ctx, batch.family());
            let hash = self.hash(format, &batch);
            let found = self
                .done
                .find(hash, |e| e.format == format && same_batch(&e.batch, &batch));
            if let Some(e) = found {
                out.extend(e.msgs.iter().cloned());
                *too_big += usize::from(e.withdrawn);
                continue;
            }
            let (msgs, withdrawn) = encode_batch(ctx, &batch);
            *too_big += usize::from(withdrawn);
            if self.done.len() >= SHARE_MAX_BATCHES {
                out.extend(msgs);
                continue;
            }
            out.extend(msgs.iter().cloned());
            self.done.insert_unique(
                hash,
                Encoded {
                    hash,
                    format,
                    batch,
                    msgs,
                    withdrawn,
                },
                |e| e.hash,
            );
        }
        out
    }

    /// Hashes the format and the batch by content: batches computed before
    /// and after a change of the RIB hold equal attributes in different
    /// `Arc`s.
    fn hash(&self, format: Format, batch: &ExportBatch) -> u64 {
        let mut h = self.hasher.build_hasher();
        format.hash(&mut h);
        batch.family().hash(&mut h);
        if let ExportBatch::Announce { route, .. } = batch {
            route.hash(&mut h);
        }
        batch.nlri().hash(&mut h);
        h.finish()
    }
}

/// Whether two batches are equal (attributes compared by pointer first).
fn same_batch(a: &ExportBatch, b: &ExportBatch) -> bool {
    match (a, b) {
        (
            ExportBatch::Announce {
                family: fa,
                route: ra,
                nlri: na,
            },
            ExportBatch::Announce {
                family: fb,
                route: rb,
                nlri: nb,
            },
        ) => fa == fb && na == nb && (Arc::ptr_eq(ra, rb) || ra == rb),
        (
            ExportBatch::Withdraw {
                family: fa,
                nlri: na,
            },
            ExportBatch::Withdraw {
                family: fb,
                nlri: nb,
            },
        ) => fa == fb && na == nb,
        _ => false,
    }
}

/// End-of-RIB markers for every family of the session.
pub(super) fn end_of_ribs(ctx: &SessionContext, families: &[Family]) -> Vec<Bytes> {
    let packer = UpdatePacker::new(ctx);
    families
        .iter()
        .filter_map(|f| packer.end_of_rib(*f).ok())
        .collect()
}

/// An RFC 7313 Beginning- or End-of-Route-Refresh marker.
pub(super) fn route_refresh_marker(
    ctx: &SessionContext,
    family: Family,
    begin: bool,
) -> Option<Bytes> {
    let subtype = if begin {
        RouteRefreshSubtype::Begin
    } else {
        RouteRefreshSubtype::End
    };
    let msg = Message::RouteRefresh(RouteRefresh { family, subtype });
    bgp_proto::wire::encode_to_bytes(&msg, ctx).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use bgp_proto::msg::attributes::{AsPath, Origin, PathAttributes};
    use bgp_proto::types::{Nlri, Prefix};
    use rib::RouteAttrs;

    fn route(asn: u32) -> Arc<RouteAttrs> {
        Arc::new(RouteAttrs {
            attrs: PathAttributes {
                origin: Some(Origin::Igp),
                as_path: AsPath::from_sequence(vec![65000, asn]),
                ..PathAttributes::default()
            },
            next_hop: "192.0.2.1".parse().unwrap(),
        })
    }

    fn nlri(prefixes: &[&str]) -> Vec<Nlri> {
        prefixes
            .iter()
            .map(|p| {
                let (a, l) = p.split_once('/').unwrap();
                Nlri::new(Prefix::new(a.parse().unwrap(), l.parse().unwrap()).unwrap())
            })
            .collect()
    }

    fn announce(route: &Arc<RouteAttrs>, prefixes: &[&str]) -> ExportBatch {
        ExportBatch::Announce {
            family: Family::IPV4_UNICAST,
            route: route.clone(),
            nlri: nlri(prefixes),
        }
    }

    fn four_octet() -> SessionContext {
        SessionContext {
            four_octet_as: true,
            ..SessionContext::default()
        }
    }

    #[test]
    fn equal_batches_share_their_messages_within_a_round() {
        let mut too_big = 0;
        let (a, b) = (route(65001), route(65002));
        let first = vec![
            announce(&a, &["10.1.0.0/24"]),
            announce(&b, &["10.2.0.0/24", "10.2.1.0/24"]),
        ];
        let second = vec![
            announce(&b, &["10.2.0.0/24", "10.2.1.0/24"]),
            announce(&a, &["10.1.0.0/24", "10.1.1.0/24"]),
            ExportBatch::Withdraw {
                family: Family::IPV4_UNICAST,
                nlri: nlri(&["10.9.0.0/16"]),
            },
        ];
        let ctx = four_octet();
        let mut round = RoundEncoder::default();
        let one = round.encode(&ctx, first.clone(), &mut too_big);
        let two = round.encode(&ctx, second.clone(), &mut too_big);
        // The same bytes as encoding each session on its own.
        assert_eq!(one, encode_batches(&ctx, &first, &mut 0));
        assert_eq!(two, encode_batches(&ctx, &second, &mut 0));
        assert_eq!(two.len(), 3);
        // b's batch is the very same buffer; a's differs (another prefix).
        assert_eq!(one[1].as_ptr(), two[0].as_ptr());
        assert_ne!(one[0], two[1]);
        // A session with 2-octet AS numbers gets its own encoding.
        let two_octet = SessionContext::default();
        let three = round.encode(&two_octet, first.clone(), &mut too_big);
        assert_eq!(three, encode_batches(&two_octet, &first, &mut 0));
        assert_ne!(three[1].as_ptr(), one[1].as_ptr());
        assert_ne!(three[1], one[1]);
    }

    #[test]
    fn equal_attributes_in_another_allocation_share_too() {
        let mut too_big = 0;
        let ctx = four_octet();
        let mut round = RoundEncoder::default();
        let one = round.encode(
            &ctx,
            vec![announce(&route(65001), &["10.1.0.0/24"])],
            &mut too_big,
        );
        let two = round.encode(
            &ctx,
            vec![announce(&route(65001), &["10.1.0.0/24"])],
            &mut too_big,
        );
        assert_eq!(one[0].as_ptr(), two[0].as_ptr());
        // Other attributes, other messages.
        let three = round.encode(
            &ctx,
            vec![announce(&route(65002), &["10.1.0.0/24"])],
            &mut too_big,
        );
        assert_ne!(three, one);
        assert_eq!(
            three,
            encode_batches(
                &ctx,
                &[announce(&route(65002), &["10.1.0.0/24"])],
                &mut too_big
            )
        );
    }

    #[test]
    fn a_round_keeps_a_bounded_number_of_batches() {
        let mut too_big = 0;
        let ctx = four_octet();
        let a = route(65001);
        let batches: Vec<ExportBatch> = (0..SHARE_MAX_BATCHES + 2)
            .map(|i| announce(&a, &[&format!("10.{}.{}.0/24", i / 256 % 256, i % 256)]))
            .collect();
        let mut round = RoundEncoder::default();
        let one = round.encode(&ctx, batches.clone(), &mut too_big);
        assert_eq!(round.done.len(), SHARE_MAX_BATCHES);
        let two = round.encode(&ctx, batches.clone(), &mut too_big);
        assert_eq!(one, two);
        assert_eq!(one, encode_batches(&ctx, &batches, &mut 0));
        // Kept ones are shared, the rest encoded again.
        assert_eq!(one[0].as_ptr(), two[0].as_ptr());
        let last = SHARE_MAX_BATCHES + 1;
        assert_ne!(one[last].as_ptr(), two[last].as_ptr());
    }

    #[test]
    fn large_batches_are_encoded_for_each_session() {
        let mut too_big = 0;
        let ctx = four_octet();
        let prefixes: Vec<String> = (0..=SHARE_MAX_NLRI)
            .map(|i| format!("10.{}.{}.0/24", i / 256, i % 256))
            .collect();
        let prefixes: Vec<&str> = prefixes.iter().map(String::as_str).collect();
        let batch = announce(&route(65001), &prefixes);
        let mut round = RoundEncoder::default();
        let one = round.encode(&ctx, vec![batch.clone()], &mut too_big);
        let two = round.encode(&ctx, vec![batch.clone()], &mut too_big);
        assert_eq!(one, two);
        assert_eq!(one, encode_batches(&ctx, &[batch], &mut 0));
        assert_ne!(one[0].as_ptr(), two[0].as_ptr());
    }
}
