//! Publishing the metrics: the endpoint, and the periodic job that copies
//! the core's, the neighbor tasks' and the FIB's figures into it.

use crate::core::Core;
use crate::fib::FibSummary;
use crate::metrics::{MessageType, Metrics};
use crate::peer::{Counters, PeerManager};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use tracing::{error, info};

/// Message counters last published, per neighbor.
pub(super) type LastCounts = HashMap<IpAddr, Counters>;

/// Binds the metrics endpoint and serves it from a task of its own.
pub(super) async fn serve(listen: SocketAddr) -> std::io::Result<Metrics> {
    let listener = crate::metrics::bind_metrics(listen).await?;
    let metrics = Metrics::new();
    let served = metrics.clone();
    tokio::spawn(async move {
        if let Err(e) = crate::metrics::serve_metrics_on(listener, served).await {
            error!(error = %e, "metrics endpoint stopped");
        }
    });
    info!(%listen, "metrics endpoint ready");
    Ok(metrics)
}

/// Copies the current figures into the metrics.
pub(super) fn publish(
    m: &Metrics,
    core: &Core,
    peers: &PeerManager,
    fib: Option<&FibSummary>,
    last: &mut LastCounts,
) {
    let stats = core.rib_stats();
    m.set_rib_prefixes("ipv4-unicast", stats.prefixes_v4 as u64);
    m.set_rib_prefixes("ipv6-unicast", stats.prefixes_v6 as u64);
    m.set_rib_paths(stats.paths as u64);
    let statuses = peers.peers();
    for p in &statuses {
        let before = last.insert(p.addr, p.counters).unwrap_or_default();
        publish_message_counts(m, p.addr, &before, &p.counters);
        for (f, c) in core.peer_counts(p.addr) {
            m.set_prefixes(
                p.addr,
                &f.to_string(),
                c.received as u64,
                c.accepted as u64,
                c.advertised as u64,
            );
        }
    }
    if let Some(s) = fib {
        m.set_fib_routes(s.installed as u64);
    }
    let clusters: Vec<(String, u64, u64)> = core
        .clusters(&statuses, None, 0)
        .into_iter()
        .map(|c| (c.name, c.established as u64, c.known as u64))
        .collect();
    m.set_clusters(&clusters);
    m.set_services(&core.service_widths());
}

/// Adds to the message counters what `now` has beyond `last` (a neighbor
/// whose counters went back, a new session of a dynamic neighbor, counts
/// from zero).
fn publish_message_counts(m: &Metrics, addr: IpAddr, last: &Counters, now: &Counters) {
    let pairs = [
        (
            MessageType::Open,
            (last.opens_in, now.opens_in),
            (last.opens_out, now.opens_out),
        ),
        (
            MessageType::Update,
            (last.updates_in, now.updates_in),
            (last.updates_out, now.updates_out),
        ),
        (
            MessageType::Keepalive,
            (last.keepalives_in, now.keepalives_in),
            (last.keepalives_out, now.keepalives_out),
        ),
        (
            MessageType::Notification,
            (last.notifications_in, now.notifications_in),
            (last.notifications_out, now.notifications_out),
        ),
        (
            MessageType::RouteRefresh,
            (last.route_refresh_in, now.route_refresh_in),
            (last.route_refresh_out, now.route_refresh_out),
        ),
    ];
    let delta = |(a, b): (u64, u64)| if b >= a { b - a } else { b };
    for (t, received, sent) in pairs {
        let (i, o) = (delta(received), delta(sent));
        if i > 0 {
            m.add_messages_received(addr, t, i);
        }
        if o > 0 {
            m.add_messages_sent(addr, t, o);
        }
    }
}
