//! Turning the RIB's export batches into UPDATE messages for one session.

use bgp_proto::msg::{Message, RouteRefresh, RouteRefreshSubtype, SessionContext};
use bgp_proto::wire::update::UpdatePacker;
use bgp_proto::{Family, MpNextHop};
use bytes::Bytes;
use rib::ExportBatch;
use std::net::IpAddr;
use tracing::error;

/// Packs `batches` into as few UPDATE messages as the session allows.
pub(super) fn encode_batches(
    ctx: &SessionContext,
    batches: &[ExportBatch],
    peer: IpAddr,
) -> Vec<Bytes> {
    let packer = UpdatePacker::new(ctx);
    let mut out = Vec::new();
    for b in batches {
        let r = match b {
            ExportBatch::Withdraw { family, nlri } => packer.withdraw(*family, nlri),
            ExportBatch::Announce {
                family,
                route,
                nlri,
            } => {
                let nh = MpNextHop {
                    global: route.next_hop,
                    link_local: None,
                };
                packer.announce(&route.attrs, Some(nh), *family, nlri)
            }
        };
        match r {
            Ok(msgs) => out.extend(msgs),
            Err(e) => error!(%peer, family = %b.family(), error = %e, "cannot encode an export"),
        }
    }
    out
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
