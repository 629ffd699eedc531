//! Unit tests of the core through its API: inputs in, outputs out, time
//! passed by hand. No sockets, no sleeping.
//!
//! The harness [`H`] is a core on the lab's config (AS 65000, one range of
//! nodes in AS 65100 and one in AS 65200), with helpers that bring sessions
//! up, feed UPDATEs built with the real encoder, and read the outputs back
//! (UPDATEs sent decoded with the real decoder).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

/// The `[router]` and `[control]` tables of every test config, as a
/// literal for `concat!`.
macro_rules! router_head {
    () => {
        r#"
[router]
asn = 65000
router_id = "172.18.0.5"
listen = []

[control]
socket = "/nonexistent/rbgpd-core-test.sock"
"#
    };
}

mod bfd;
mod clusters;
mod ctl;
mod explain;
mod ext_next_hop;
mod fib;
mod flow;
mod forget;
mod gr;
mod max_prefix;
mod originate;
mod reload;
mod replay;
mod sessions;
mod updates;

use super::{Core, Input, Output};
use crate::config::{self, Config};
use crate::peer::{PeerCommand, PeerEvent, PeerId, SessionInfo, UpdateBurst};
use bgp_proto::fsm::{Negotiated, State};
use bgp_proto::msg::attributes::{AsPath, MpNextHop, MpReach, MpUnreach, Origin, PathAttributes};
use bgp_proto::msg::open::{GracefulRestart, GracefulRestartFamily};
use bgp_proto::msg::{OpenMessage, SessionContext, UpdateMessage};
use bgp_proto::types::{Family, Nlri, Prefix};
use bgp_proto::wire::update::{encode_body, Update};
use bgp_proto::wire::{decode_message, Decoded};
use bgp_proto::Notification;
use rib::FibChange;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The lab's router config, with the FIB on and nothing listening.
pub(super) const LAB: &str = concat!(
    router_head!(),
    r#"
[[neighbor]]
range = "172.18.0.0/16"
remote_as = 65100

[[neighbor]]
range = "172.19.0.0/16"
remote_as = 65200
"#
);

/// A session to bring up: defaults are a Cilium node of cluster 1.
#[derive(Debug, Clone)]
pub(super) struct Peer {
    pub id: PeerId,
    pub addr: IpAddr,
    pub asn: u32,
    pub families: Vec<Family>,
    /// The peer's GR restart time, if it announced GR.
    pub gr: Option<u16>,
    /// The families of its GR capability.
    pub gr_families: Vec<Family>,
    pub route_refresh: bool,
    pub enhanced_rr: bool,
    /// Both sides announced Extended Message (RFC 8654).
    pub extended_message: bool,
    /// Both sides set the N bit of graceful restart (RFC 8538).
    pub gr_notification: bool,
    /// Both sides announced extended next hop for IPv4 unicast (RFC 8950).
    pub extended_next_hop: bool,
}

impl Peer {
    /// Node `id` of cluster 1 (172.18.0.`id`, AS 65100).
    pub fn node(id: PeerId) -> Peer {
        Peer {
            id,
            addr: IpAddr::V4(Ipv4Addr::new(172, 18, 0, u8::try_from(id).unwrap())),
            asn: 65100,
            families: vec![Family::IPV4_UNICAST, Family::IPV6_UNICAST],
            gr: None,
            gr_families: vec![Family::IPV4_UNICAST, Family::IPV6_UNICAST],
            route_refresh: true,
            enhanced_rr: false,
            extended_message: false,
            gr_notification: false,
            extended_next_hop: false,
        }
    }

    /// Node `id` of cluster 2 (172.19.0.`id`, AS 65200).
    pub fn node2(id: PeerId) -> Peer {
        Peer {
            addr: IpAddr::V4(Ipv4Addr::new(172, 19, 0, u8::try_from(id).unwrap())),
            asn: 65200,
            ..Peer::node(id)
        }
    }

    pub fn gr(mut self, restart_time: u16) -> Peer {
        self.gr = Some(restart_time);
        self
    }

    pub fn ctx(&self) -> SessionContext {
        SessionContext {
            four_octet_as: true,
            extended_message: self.extended_message,
            extended_next_hop: if self.extended_next_hop {
                ext_next_hop_v4()
            } else {
                Vec::new()
            },
            ..SessionContext::default()
        }
    }
}

/// A core and its clock.
pub(super) struct H {
    pub core: Core,
    pub t0: Instant,
    pub now: Instant,
}

impl H {
    pub fn new() -> H {
        H::with(LAB)
    }

    /// A core on `toml` whose FIB has ended its start-up phase (so that
    /// only the timers a test sets are pending).
    pub fn with(toml: &str) -> H {
        let mut h = H::starting(toml);
        h.feed(Input::Fib(super::FibReport::Summary(
            crate::fib::FibSummary {
                startup_complete: true,
                ..crate::fib::FibSummary::default()
            },
        )));
        assert!(h.drain().is_empty());
        h
    }

    /// The lab's core with a node of each cluster up: node 2 of cluster 1
    /// (`a`) and node 3 of cluster 2 (`b`).
    pub fn two_nodes() -> (H, Peer, Peer) {
        let mut h = H::new();
        let (a, b) = (Peer::node(2), Peer::node2(3));
        h.up(&a);
        h.up(&b);
        (h, a, b)
    }

    /// A core on `toml` just started.
    pub fn starting(toml: &str) -> H {
        let t0 = Instant::now();
        let core = Core::new(lab_config(toml), t0).unwrap();
        H { core, t0, now: t0 }
    }

    pub fn advance(&mut self, d: Duration) {
        self.now += d;
    }

    pub fn feed(&mut self, input: Input) {
        self.core.handle(self.now, input);
    }

    pub fn peer_event(&mut self, ev: PeerEvent) {
        self.feed(Input::Peer(ev));
    }

    /// Every output until the core has nothing more to say.
    pub fn drain(&mut self) -> Vec<Output> {
        std::iter::from_fn(|| self.core.poll_output()).collect()
    }

    /// Brings a session up (Established state and session event) and
    /// returns the outputs.
    pub fn up(&mut self, p: &Peer) -> Vec<Output> {
        self.peer_event(PeerEvent::State {
            peer: p.id,
            addr: p.addr,
            state: State::Established,
        });
        let info = self.session_info(p);
        self.peer_event(PeerEvent::Established {
            peer: p.id,
            info: Box::new(info),
        });
        self.drain()
    }

    pub fn session_info(&self, p: &Peer) -> SessionInfo {
        let config = self
            .core
            .config()
            .neighbors
            .iter()
            .find(|n| n.address == Some(p.addr) || n.range.is_some_and(|r| r.contains(p.addr)))
            .cloned()
            .expect("a config entry for the peer");
        let open = |asn: u32, id: Ipv4Addr| OpenMessage {
            version: 4,
            my_as: u16::try_from(asn).unwrap_or(23456),
            hold_time: 90,
            bgp_id: id,
            capabilities: Vec::new(),
            other_params: Vec::new(),
            extended_params: false,
        };
        let peer_id = match p.addr {
            IpAddr::V4(a) => a,
            IpAddr::V6(_) => Ipv4Addr::new(10, 0, 0, 1),
        };
        let negotiated = Negotiated {
            context: p.ctx(),
            families: p.families.clone(),
            peer_asn: p.asn,
            peer_id,
            hold_time: 90,
            keepalive: 30,
            four_octet_as: true,
            route_refresh: p.route_refresh,
            enhanced_rr: p.enhanced_rr,
            extended_message: p.extended_message,
            peer_gr: p.gr.map(|t| GracefulRestart {
                restart_state: false,
                notification: false,
                restart_time: t,
                families: p
                    .gr_families
                    .iter()
                    .map(|f| GracefulRestartFamily {
                        family: *f,
                        forwarding_preserved: true,
                    })
                    .collect(),
            }),
            gr_notification: p.gr_notification,
            peer_open: std::sync::Arc::new(open(p.asn, peer_id)),
            local_open: std::sync::Arc::new(open(65000, Ipv4Addr::new(172, 18, 0, 5))),
        };
        let local: IpAddr = if p.addr.is_ipv6() {
            "2001:db8::5".parse().unwrap()
        } else if p.addr.to_string().starts_with("172.19.") {
            "172.19.0.5".parse().unwrap()
        } else {
            "172.18.0.5".parse().unwrap()
        };
        SessionInfo {
            addr: p.addr,
            remote: SocketAddr::new(p.addr, 40000),
            local: SocketAddr::new(local, 179),
            remote_as: p.asn,
            local_as: 65000,
            ebgp: p.asn != 65000,
            negotiated,
            description: None,
            dynamic: true,
            config,
        }
    }

    /// Feeds one UPDATE from `p`.
    pub fn update(&mut self, p: &Peer, msg: &UpdateMessage) {
        let ctx = p.ctx();
        let mut body = bytes::BytesMut::new();
        encode_body(msg, &ctx, &mut body).unwrap();
        let u = Update::decode(body.freeze(), &ctx).unwrap();
        self.raw_update(p, u);
    }

    /// Feeds one decoded UPDATE from `p` (for malformed ones).
    pub fn raw_update(&mut self, p: &Peer, u: Update) {
        self.peer_event(PeerEvent::Update {
            peer: p.id,
            updates: UpdateBurst::new(Arc::new(p.ctx()), vec![u]),
        });
    }

    /// `p` announces `prefixes` (IPv4 in the body, IPv6 in MP_REACH with
    /// the peer's IPv4-mapped address as next hop, as Cilium sends) with
    /// AS_PATH `path`.
    pub fn announce(&mut self, p: &Peer, prefixes: &[&str], path: &[u32]) {
        self.update(p, &announcement(p, prefixes, path));
    }

    /// `p` withdraws `prefixes`.
    pub fn withdraw(&mut self, p: &Peer, prefixes: &[&str]) {
        let (v4, v6) = split(prefixes);
        let msg = UpdateMessage {
            withdrawn: v4,
            mp_unreach: (!v6.is_empty()).then_some(MpUnreach {
                family: Family::IPV6_UNICAST,
                withdrawn: v6,
            }),
            ..UpdateMessage::default()
        };
        self.update(p, &msg);
    }

    /// `p` sends End-of-RIB for every family of its session.
    pub fn end_of_rib(&mut self, p: &Peer) {
        for f in p.families.clone() {
            self.update(p, &UpdateMessage::end_of_rib(f));
        }
    }

    /// `p`'s session goes down.
    pub fn down(&mut self, p: &Peer, graceful: bool) -> Vec<Output> {
        self.peer_event(PeerEvent::Down {
            peer: p.id,
            reason: "test".into(),
            notification: None,
            graceful,
        });
        self.drain()
    }
}

pub(super) fn lab_config(toml: &str) -> Config {
    config::parse(toml, "test.toml").unwrap()
}

pub(super) fn announcement(p: &Peer, prefixes: &[&str], path: &[u32]) -> UpdateMessage {
    let (v4, v6) = split(prefixes);
    let nh = match p.addr {
        IpAddr::V4(a) => a,
        IpAddr::V6(_) => Ipv4Addr::new(172, 18, 0, 99),
    };
    UpdateMessage {
        attributes: PathAttributes {
            origin: Some(Origin::Igp),
            as_path: AsPath::from_sequence(path.to_vec()),
            next_hop: (!v4.is_empty()).then_some(nh),
            ..PathAttributes::default()
        },
        nlri: v4,
        mp_reach: (!v6.is_empty()).then(|| MpReach {
            family: Family::IPV6_UNICAST,
            next_hop: MpNextHop {
                global: IpAddr::V6(nh.to_ipv6_mapped()),
                link_local: None,
            },
            nlri: v6,
        }),
        ..UpdateMessage::default()
    }
}

fn split(prefixes: &[&str]) -> (Vec<Nlri>, Vec<Nlri>) {
    let all: Vec<Nlri> = prefixes.iter().map(|s| Nlri::new(pfx(s))).collect();
    all.into_iter()
        .partition(|n| n.prefix.family() == Family::IPV4_UNICAST)
}

pub(super) fn pfx(s: &str) -> Prefix {
    s.parse().unwrap()
}

pub(super) fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// One UPDATE sent to a neighbor, read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Sent {
    pub announced: Vec<String>,
    pub withdrawn: Vec<String>,
    pub end_of_rib: Option<Family>,
    pub as_path: String,
    pub next_hop: Option<IpAddr>,
}

/// The extended next hop capability for IPv4 unicast with IPv6 next hops.
pub(super) fn ext_next_hop_v4() -> Vec<bgp_proto::ExtendedNextHop> {
    vec![bgp_proto::ExtendedNextHop {
        family: Family::IPV4_UNICAST,
        next_hop_afi: 2,
    }]
}

/// The UPDATEs sent to `peer` in `outs`, decoded (IPv6 next hops for IPv4
/// accepted: whether they may be sent is for the tests to check).
pub(super) fn sent_to(outs: &[Output], peer: PeerId) -> Vec<Sent> {
    let ctx = SessionContext {
        four_octet_as: true,
        extended_next_hop: ext_next_hop_v4(),
        ..SessionContext::default()
    };
    commands_to(outs, peer)
        .into_iter()
        .filter_map(|c| match c {
            PeerCommand::Send(msgs) => Some(msgs),
            _ => None,
        })
        .flatten()
        .flat_map(|b| crate::peer::messages(&b).collect::<Vec<_>>())
        .filter_map(|m| match decode_message(m, &ctx).unwrap() {
            Decoded::Update(u) => Some(u),
            _ => None,
        })
        .map(|u| {
            let attrs = u.attributes();
            let next_hop = attrs
                .next_hop
                .map(IpAddr::V4)
                .or_else(|| u.mp_reach().map(|r| r.next_hop().global));
            Sent {
                announced: u
                    .announcements()
                    .map(|(_, n)| n.prefix.to_string())
                    .collect(),
                withdrawn: u.withdrawals().map(|(_, n)| n.prefix.to_string()).collect(),
                end_of_rib: u.end_of_rib(),
                as_path: attrs.as_path.to_string(),
                next_hop,
            }
        })
        .collect()
}

/// Every prefix announced to `peer` in `outs`.
pub(super) fn announced_to(outs: &[Output], peer: PeerId) -> Vec<String> {
    let mut v: Vec<String> = sent_to(outs, peer)
        .into_iter()
        .flat_map(|s| s.announced)
        .collect();
    v.sort();
    v
}

/// Every prefix withdrawn from `peer` in `outs`.
pub(super) fn withdrawn_from(outs: &[Output], peer: PeerId) -> Vec<String> {
    let mut v: Vec<String> = sent_to(outs, peer)
        .into_iter()
        .flat_map(|s| s.withdrawn)
        .collect();
    v.sort();
    v
}

/// The commands for `peer` in `outs`, in order.
pub(super) fn commands_to(outs: &[Output], peer: PeerId) -> Vec<PeerCommand> {
    outs.iter()
        .filter_map(|o| match o {
            Output::Peer { peer: p, command } if *p == peer => Some(command.clone()),
            _ => None,
        })
        .collect()
}

/// The FIB changes in `outs`, in order.
pub(super) fn fib_changes(outs: &[Output]) -> Vec<FibChange> {
    outs.iter()
        .filter_map(|o| match o {
            Output::Fib(super::FibCommand::Update(c)) => Some(c.clone()),
            _ => None,
        })
        .flatten()
        .collect()
}

/// A FIB change as `prefix -> next hops`.
pub(super) fn fib(prefix: &str, next_hops: &[&str]) -> FibChange {
    FibChange {
        prefix: pfx(prefix),
        next_hops: next_hops.iter().map(|s| ip(s)).collect(),
        table: 0,
    }
}

/// The NOTIFICATION of the first Shutdown command for `peer`.
pub(super) fn shutdown_of(outs: &[Output], peer: PeerId) -> Option<Option<Notification>> {
    commands_to(outs, peer).into_iter().find_map(|c| match c {
        PeerCommand::Shutdown(n) => Some(n),
        _ => None,
    })
}
