//! Answers to rbgpctl requests, built from the RIB and what the driver
//! read from the neighbor tasks and the FIB task ([`CtlContext`]).

use super::session::ctl_state;
use super::{Core, CtlContext, FibView};
use crate::ctl::proto::{
    FamilyCounters, FibEntry, MessageCounts, PeerActionResult, PeerDetail, PeerSummary, Request,
    Response, RouteEntry, RoutePath, RouteQuery, RouteTarget, Summary,
};
use crate::peer::{PeerCommand, PeerStatus};
use bgp_proto::msg::notification::cease_subcode;
use bgp_proto::{Capability, Family, Notification};
use rib::RouteView;
use std::net::IpAddr;

impl Core {
    /// Answers one control request.
    pub(super) fn answer(&mut self, req: Request, ctx: &CtlContext) -> Response {
        match req {
            Request::ShowPeers => {
                let mut peers: Vec<PeerSummary> =
                    ctx.peers.iter().map(|p| self.peer_summary(p)).collect();
                peers.sort_by_key(|p| p.address);
                Response::Peers { peers }
            }
            Request::ShowPeer { address } => match find_peer(ctx, address) {
                Some(p) => Response::Peer {
                    peer: Box::new(self.peer_detail(p)),
                },
                None => error(format!("no neighbor {address}")),
            },
            Request::ShowRoutes(q) => self.show_routes(&q),
            Request::ShowFib => self.show_fib(ctx),
            Request::ShowBfd => {
                let mut sessions = ctx.bfd.clone();
                sessions.sort_by_key(|b| b.address);
                Response::Bfd { sessions }
            }
            Request::ShowSummary => self.summary(ctx),
            Request::Reload => error("reload is read by the driver (Input::Reload)".into()),
            Request::PeerReset { address, message } => {
                let n = message.map(|m| {
                    Notification::cease_with_message(cease_subcode::ADMINISTRATIVE_RESET, &m)
                });
                // A reset with a message is a shutdown with that text, then
                // enable.
                match n {
                    Some(n) => self.peer_actions(
                        ctx,
                        address,
                        "reset",
                        [PeerCommand::Shutdown(Some(n)), PeerCommand::Enable],
                    ),
                    None => self.peer_actions(ctx, address, "reset", [PeerCommand::Reset]),
                }
            }
            Request::PeerShutdown { address, message } => {
                let n = Notification::cease_with_message(
                    cease_subcode::ADMINISTRATIVE_SHUTDOWN,
                    message.as_deref().unwrap_or(""),
                );
                let n = match find_peer(ctx, address) {
                    Some(p) => {
                        self.admin_down.insert(p.id);
                        self.hard_reset_for(p.id, n)
                    }
                    None => n,
                };
                let cmd = PeerCommand::Shutdown(Some(n));
                self.peer_actions(ctx, address, "shutdown", [cmd])
            }
            Request::PeerEnable { address } => {
                if let Some(p) = find_peer(ctx, address) {
                    self.admin_down.remove(&p.id);
                }
                self.peer_actions(ctx, address, "enable", [PeerCommand::Enable])
            }
            Request::Watch => error("watch is served by the control socket itself".into()),
            Request::Explain { target } => self.explain(&target, ctx),
            Request::ShowClusters => self.show_clusters(ctx),
        }
    }

    /// The config entry of a neighbor: its own, its range's, or that of
    /// the `interface` its link matches.
    fn neighbor_config(
        &self,
        addr: IpAddr,
        link: Option<&str>,
    ) -> Option<&crate::config::NeighborConfig> {
        let ns = &self.config.neighbors;
        if let Some(link) = link {
            return ns.iter().find(|n| n.matches_link(link));
        }
        ns.iter().find(|n| n.address == Some(addr)).or_else(|| {
            ns.iter()
                .find(|n| n.range.is_some_and(|r| r.contains(addr)))
        })
    }

    fn peer_actions<const N: usize>(
        &mut self,
        ctx: &CtlContext,
        address: IpAddr,
        action: &str,
        cmds: [PeerCommand; N],
    ) -> Response {
        let Some(p) = find_peer(ctx, address) else {
            return error(format!("no neighbor {address}"));
        };
        for cmd in cmds {
            self.send(p.id, cmd);
        }
        Response::PeerAction {
            result: PeerActionResult {
                address,
                action: action.into(),
                message: None,
            },
        }
    }

    fn family_counters(&self, p: &PeerStatus) -> Vec<FamilyCounters> {
        self.peer_counts(p.addr)
            .into_iter()
            .map(|(f, c)| FamilyCounters {
                family: f.to_string(),
                received: c.received as u64,
                accepted: c.accepted as u64,
                advertised: c.advertised as u64,
                next_hop: p
                    .negotiated
                    .as_ref()
                    .filter(|n| n.context.ipv6_next_hop_for(f))
                    .map(|_| "ipv6".to_string()),
            })
            .collect()
    }

    fn peer_summary(&self, p: &PeerStatus) -> PeerSummary {
        let state = ctl_state(p.state);
        let down_secs = match (p.uptime, self.tracks.get(&p.id)) {
            (None, Some(t)) => Some(self.now.saturating_duration_since(t.since).as_secs()),
            _ => None,
        };
        PeerSummary {
            address: p.addr,
            description: p.description.clone(),
            remote_as: p.remote_as,
            local_as: self.config.router.asn,
            state,
            admin_down: self.max_prefix_restarts.contains_key(&p.id)
                || self.admin_down.contains(&p.id),
            uptime_secs: p.uptime.map(|u| u.as_secs()),
            down_secs,
            families: self.family_counters(p),
            dynamic: p.dynamic,
            interface: p.interface.clone(),
            bfd: self
                .bfd
                .get(&p.id)
                .map(|w| if w.up { "up" } else { "down" }.to_string()),
            updates_received: p.counters.updates_in,
            updates_sent: p.counters.updates_out,
        }
    }

    fn peer_detail(&self, p: &PeerStatus) -> PeerDetail {
        let neg = p.negotiated.as_ref();
        let c = &p.counters;
        PeerDetail {
            summary: self.peer_summary(p),
            remote_router_id: neg.map(|n| n.peer_id),
            local_addr: p.local,
            remote_addr: p.remote,
            configured_hold_time: self
                .neighbor_config(p.addr, p.interface.as_deref())
                .map(|n| n.hold_time)
                .unwrap_or(0),
            hold_time: neg.map(|n| n.hold_time),
            keepalive: neg.map(|n| n.keepalive),
            capabilities: neg.map(capabilities).unwrap_or_default(),
            messages_sent: MessageCounts {
                open: c.opens_out,
                update: c.updates_out,
                notification: c.notifications_out,
                keepalive: c.keepalives_out,
                route_refresh: c.route_refresh_out,
            },
            messages_received: MessageCounts {
                open: c.opens_in,
                update: c.updates_in,
                notification: c.notifications_in,
                keepalive: c.keepalives_in,
                route_refresh: c.route_refresh_in,
            },
            established_count: c.established,
            last_error: p.last_error.clone(),
            last_notification_sent: p.last_notification.clone(),
            last_notification_received: None,
        }
    }

    fn show_routes(&self, q: &RouteQuery) -> Response {
        let family = match q.family.as_deref() {
            None => None,
            Some("ipv4" | "ipv4-unicast") => Some(Family::IPV4_UNICAST),
            Some("ipv6" | "ipv6-unicast") => Some(Family::IPV6_UNICAST),
            Some(f) => return error(format!("unknown family {f:?}: expected ipv4 or ipv6")),
        };
        let views: Vec<RouteView> = match q.target() {
            Err(e) => return error(e),
            Ok(None) => self.rib.routes(family),
            Ok(Some(RouteTarget::Prefix(p))) => self.rib.route(p).into_iter().collect(),
            Ok(Some(RouteTarget::LongestMatch(ip))) => self.rib.lookup(ip).into_iter().collect(),
        };
        let now = self.now.saturating_duration_since(self.started).as_secs();
        // A route's table is that of its best path's neighbor.
        let table_of = |v: &RouteView| {
            v.paths.iter().find(|p| p.best).map(|p| match p.fib_table {
                0 => self.fib_table,
                t => t,
            })
        };
        let routes = views
            .into_iter()
            .filter(|v| family.is_none_or(|f| v.prefix.family() == f))
            .filter(|v| q.table.is_none() || table_of(v) == q.table)
            .filter_map(|v| {
                let paths: Vec<RoutePath> = v
                    .paths
                    .iter()
                    .filter(|p| {
                        q.peer
                            .is_none_or(|a| a == p.peer_addr && p.peer != rib::LOCAL_PEER)
                    })
                    .filter(|p| !q.best_only || p.best || p.multipath)
                    .map(|p| {
                        let mut r = route_path(p.peer, p.peer_addr, &p.route, now, p.since);
                        (r.best, r.multipath, r.stale) = (p.best, p.multipath, p.stale);
                        r
                    })
                    .collect();
                (!paths.is_empty()).then(|| RouteEntry {
                    prefix: v.prefix.to_string(),
                    paths,
                })
            })
            .collect();
        Response::Routes { routes }
    }

    fn show_fib(&self, ctx: &CtlContext) -> Response {
        if !self.fib {
            return error(match &self.fib_off {
                Some(reason) => reason.clone(),
                None => "the FIB is disabled in the config ([fib] enabled = false)".into(),
            });
        }
        match &ctx.fib {
            Some(FibView::Status(s)) => Response::Fib {
                routes: s
                    .routes
                    .iter()
                    .map(|r| FibEntry {
                        table: r.table.unwrap_or(self.fib_table),
                        prefix: r.prefix.to_string(),
                        next_hops: if r.installed.is_empty() {
                            r.desired.iter().map(ToString::to_string).collect()
                        } else {
                            r.installed.iter().map(|n| n.gateway.to_string()).collect()
                        },
                        installed: !r.installed.is_empty(),
                        matches_kernel: r.in_sync,
                        note: match r.state {
                            crate::fib::FibRouteState::Installed if r.found.is_empty() => None,
                            crate::fib::FibRouteState::Installed => Some(r.found.join("; ")),
                            crate::fib::FibRouteState::Pending => Some(format!(
                                "pending: {}",
                                r.error
                                    .as_deref()
                                    .unwrap_or("no next hop on a connected network")
                            )),
                            crate::fib::FibRouteState::Error => {
                                Some(format!("error: {}", r.error.as_deref().unwrap_or("")))
                            }
                            crate::fib::FibRouteState::Stale => {
                                Some("stale: from a previous run, kept until startup ends".into())
                            }
                        },
                    })
                    .collect(),
            },
            Some(FibView::Unavailable(e)) => error(format!("FIB: {e}")),
            Some(FibView::Summary(_) | FibView::Routes(_)) | None => {
                error("FIB: no status read".into())
            }
        }
    }

    fn summary(&self, ctx: &CtlContext) -> Response {
        let stats = self.rib.stats();
        let peers = &ctx.peers;
        let (fib_routes, fib_queued, fib_writes) = match &ctx.fib {
            Some(FibView::Summary(s)) => (s.installed as u64, s.queued as u64, s.written),
            Some(FibView::Status(s)) => (s.installed as u64, 0, 0),
            _ => (0, 0, 0),
        };
        Response::Summary {
            summary: Summary {
                version: env!("CARGO_PKG_VERSION").into(),
                router_id: Some(self.config.router.router_id),
                asn: self.config.router.asn,
                uptime_secs: self.now.saturating_duration_since(self.started).as_secs(),
                peers_established: peers
                    .iter()
                    .filter(|p| p.state == bgp_proto::fsm::State::Established)
                    .count() as u64,
                peers_total: peers.len() as u64,
                rib_prefixes_v4: stats.prefixes_v4 as u64,
                rib_prefixes_v6: stats.prefixes_v6 as u64,
                rib_paths: stats.paths as u64,
                fib_routes,
                fib_off: self.fib_off.clone(),
                memory_rss_bytes: ctx.rss_bytes,
                fib_queued,
                fib_writes,
                core_inputs: self.inputs,
            },
        }
    }
}

fn error(message: String) -> Response {
    Response::Error { message }
}

fn find_peer(ctx: &CtlContext, address: IpAddr) -> Option<&PeerStatus> {
    ctx.peers.iter().find(|p| p.addr == address)
}

fn capabilities(n: &bgp_proto::fsm::Negotiated) -> Vec<String> {
    let mut caps: Vec<String> = n
        .families
        .iter()
        .map(|f| format!("multiprotocol {f}"))
        .collect();
    if n.four_octet_as {
        caps.push("4-octet AS".into());
    }
    if n.route_refresh {
        caps.push("route refresh".into());
    }
    if n.enhanced_rr {
        caps.push("enhanced route refresh".into());
    }
    if n.extended_message {
        caps.push("extended message".into());
    }
    if let Some(gr) = &n.peer_gr {
        caps.push(format!(
            "graceful restart (peer restart time {} s{})",
            gr.restart_time,
            if n.gr_notification {
                ", notification"
            } else {
                ""
            }
        ));
    }
    for f in &n.context.add_path_receive {
        caps.push(format!("add-path receive {f}"));
    }
    for f in &n.context.add_path_send {
        caps.push(format!("add-path send {f}"));
    }
    // RFC 8950: the (NLRI family, next hop AFI) pairs both sides announced.
    for e in &n.context.extended_next_hop {
        let afi = match bgp_proto::Afi::from(e.next_hop_afi) {
            bgp_proto::Afi::Ipv6 => "IPv6".to_string(),
            a => format!("AFI {}", a.code()),
        };
        caps.push(format!("extended next hop {} ({afi} next hops)", e.family));
    }
    for c in &n.peer_open.capabilities {
        if let Capability::Fqdn { hostname, domain } = c {
            caps.push(format!(
                "peer fqdn {hostname}{}{domain}",
                if domain.is_empty() { "" } else { "." }
            ));
        }
    }
    caps
}

/// The attributes of a path as rbgpctl shows them (flags unset). An
/// originated route without a next hop of its own goes out via us: `self`.
pub(super) fn route_path(
    peer: u32,
    peer_addr: IpAddr,
    route: &rib::RouteAttrs,
    now: u64,
    since: u32,
) -> RoutePath {
    let a = &route.attrs;
    let local = peer == rib::LOCAL_PEER;
    RoutePath {
        peer: (!local).then_some(peer_addr),
        next_hop: if local && route.next_hop.is_unspecified() {
            "self".into()
        } else {
            route.next_hop.to_string()
        },
        as_path: a.as_path.to_string(),
        origin: a
            .origin
            .map(|o| o.to_string())
            .unwrap_or_else(|| "?".into()),
        med: a.med,
        local_pref: a.local_pref,
        communities: a.communities.iter().map(ToString::to_string).collect(),
        large_communities: a
            .large_communities
            .iter()
            .map(ToString::to_string)
            .collect(),
        age_secs: now.saturating_sub(u64::from(since)),
        ..RoutePath::default()
    }
}
