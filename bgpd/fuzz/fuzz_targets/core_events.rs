//! Drives the routing core with a sequence of events read from the input:
//! sessions up and down (graceful or not), UPDATEs of arbitrary octets
//! and well-formed ones, route refreshes, write queues filling and
//! draining, time passing, rbgpctl requests (`explain` among them).
//! Invariants after every event: no panic, and every UPDATE the core sends
//! decodes cleanly with the receiving session's context (we never send a
//! malformed message, whatever we were sent).
#![no_main]

use bgp_proto::fsm::{Negotiated, State};
use bgp_proto::msg::attributes::{AsPath, Origin, PathAttributes};
use bgp_proto::msg::open::{GracefulRestart, GracefulRestartFamily};
use bgp_proto::msg::{OpenMessage, SessionContext, UpdateMessage};
use bgp_proto::types::{Family, Ipv4Prefix, Nlri, Prefix};
use bgp_proto::wire::update::{encode_body, Update};
use bgp_proto::wire::{decode_message, Decoded};
use bgpd::config;
use bgpd::core::{Core, CtlContext, Input, Output};
use bgpd::ctl::proto::{Request, RouteQuery};
use bgpd::peer::{PeerCommand, PeerEvent, SessionInfo, UpdateBurst};
use libfuzzer_sys::fuzz_target;
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

const CONFIG: &str = "[router]\nasn = 65000\nrouter_id = \"172.18.0.5\"\nlisten = []\n\
                      redistribute = [\"connected\"]\n\
                      [[neighbor]]\nrange = \"172.18.0.0/16\"\nremote_as = 65100\n\
                      max_prefixes = { limit = 50, action = \"stop\", restart_after = 30 }\n\
                      bfd = true\ndefault_originate = true\n\
                      [[route]]\nprefix = \"10.0.0.0/8\"\n";

/// The input, read an octet at a time (zeros once it runs out).
struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn u8(&mut self) -> u8 {
        match self.0.split_first() {
            Some((b, rest)) => {
                self.0 = rest;
                *b
            }
            None => 0,
        }
    }
    fn take(&mut self, n: usize) -> &[u8] {
        let n = n.min(self.0.len());
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        a
    }
}

fn ctx_of(flags: u8) -> SessionContext {
    SessionContext {
        four_octet_as: flags & 1 == 0,
        extended_message: flags & 2 != 0,
        add_path_receive: if flags & 4 != 0 {
            vec![Family::IPV4_UNICAST]
        } else {
            Vec::new()
        },
        // RFC 8950: IPv6 next hops for IPv4 unicast, in and out.
        extended_next_hop: if flags & 128 != 0 {
            vec![bgp_proto::ExtendedNextHop {
                family: Family::IPV4_UNICAST,
                next_hop_afi: 2,
            }]
        } else {
            Vec::new()
        },
        ..SessionContext::default()
    }
}

fn session(core: &Core, peer: u32, flags: u8) -> SessionInfo {
    let addr = IpAddr::V4(Ipv4Addr::new(172, 18, 0, 2 + (peer as u8)));
    let config = core.config().neighbors[0].clone();
    let open = OpenMessage {
        version: 4,
        my_as: 65100,
        hold_time: 90,
        bgp_id: Ipv4Addr::new(10, 0, 0, 2 + peer as u8),
        capabilities: Vec::new(),
        other_params: Vec::new(),
        extended_params: false,
    };
    let families = vec![Family::IPV4_UNICAST, Family::IPV6_UNICAST];
    SessionInfo {
        addr,
        remote: SocketAddr::new(addr, 40000),
        local: SocketAddr::new("172.18.0.5".parse().expect("an address"), 179),
        remote_as: 65100,
        local_as: 65000,
        ebgp: true,
        negotiated: Negotiated {
            context: ctx_of(flags),
            families: families.clone(),
            peer_asn: 65100,
            peer_id: open.bgp_id,
            hold_time: 90,
            keepalive: 30,
            four_octet_as: flags & 1 == 0,
            route_refresh: true,
            enhanced_rr: flags & 8 != 0,
            extended_message: flags & 2 != 0,
            peer_gr: (flags & 16 != 0).then(|| GracefulRestart {
                restart_state: false,
                notification: flags & 32 != 0,
                restart_time: 120,
                families: families
                    .iter()
                    .take(if flags & 64 != 0 { 1 } else { 2 })
                    .map(|f| GracefulRestartFamily {
                        family: *f,
                        forwarding_preserved: true,
                    })
                    .collect(),
            }),
            gr_notification: flags & 32 != 0,
            peer_open: std::sync::Arc::new(open.clone()),
            local_open: std::sync::Arc::new(open),
        },
        description: None,
        dynamic: true,
        config,
    }
}

fn structured(b: &mut Bytes<'_>, peer: u32, ctx: &SessionContext) -> Option<Update> {
    let n = usize::from(b.u8() % 8) + 1;
    let nlri: Vec<Nlri> = (0..n)
        .filter_map(|_| {
            let a = Ipv4Addr::new(10, b.u8() % 4, b.u8(), 0);
            Ipv4Prefix::new(a, 24).map(|p| Nlri::new(Prefix::V4(p)))
        })
        .collect();
    let withdraw = b.u8() % 3 == 0;
    let mut path = vec![65100];
    path.extend((0..b.u8() % 4).map(|_| 64512 + u32::from(b.u8())));
    let msg = if withdraw {
        UpdateMessage {
            withdrawn: nlri,
            ..UpdateMessage::default()
        }
    } else {
        UpdateMessage {
            attributes: PathAttributes {
                origin: Some(Origin::Igp),
                as_path: AsPath::from_sequence(path),
                next_hop: Some(Ipv4Addr::new(172, 18, 0, 2 + peer as u8)),
                med: (b.u8() % 2 == 0).then_some(u32::from(b.u8())),
                ..PathAttributes::default()
            },
            nlri,
            ..UpdateMessage::default()
        }
    };
    let mut body = bytes::BytesMut::new();
    encode_body(&msg, ctx, &mut body).ok()?;
    Update::decode(body.freeze(), ctx).ok()
}

/// Every UPDATE sent must decode cleanly with the receiver's context.
fn check(outs: &[Output], ctxs: &HashMap<u32, SessionContext>) {
    for o in outs {
        let Output::Peer {
            peer,
            command: PeerCommand::Send(msgs),
        } = o
        else {
            continue;
        };
        let Some(ours) = ctxs.get(peer) else { continue };
        // As the peer reads them: path ids where we send them.
        let ctx = SessionContext {
            add_path_receive: ours.add_path_send.clone(),
            add_path_send: ours.add_path_receive.clone(),
            ..ours.clone()
        };
        for m in msgs {
            match decode_message(m.clone(), &ctx) {
                Ok(Decoded::Update(u)) => {
                    assert!(
                        u.issues().is_empty(),
                        "we sent a malformed UPDATE: {:?} {:02x?} ctx {:?}",
                        u.issues(),
                        m.as_ref(),
                        ctx
                    );
                }
                Ok(Decoded::RouteRefresh(_)) => {}
                other => panic!("we sent {other:?}"),
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let t0 = Instant::now();
    let mut now = t0;
    // Parsed once: the TOML parse costs more than a short input's run.
    static CFG: std::sync::OnceLock<config::Config> = std::sync::OnceLock::new();
    let cfg = CFG
        .get_or_init(|| config::parse(CONFIG, "fuzz.toml").expect("the fuzz config parses"))
        .clone();
    let mut core = Core::new(cfg, t0).expect("a core");
    let mut ctxs: HashMap<u32, SessionContext> = HashMap::new();
    let mut b = Bytes(data);
    let mut steps: u64 = 0;
    while !b.0.is_empty() && steps < 200 {
        steps += 1;
        let op = b.u8();
        let peer = u32::from(op >> 4) % 4;
        // A second Established for a session that is up is refused by the
        // core (a reset, or a Cease when BFD holds it back): the first
        // session and its context stay until a Down.
        let duplicate = op % 8 == 0 && ctxs.contains_key(&peer);
        let input = match op % 8 {
            0 => {
                let flags = b.u8();
                let info = session(&core, peer, flags);
                ctxs.entry(peer)
                    .or_insert_with(|| info.negotiated.context.clone());
                core.handle(
                    now,
                    Input::Peer(PeerEvent::State {
                        peer,
                        addr: info.addr,
                        state: State::Established,
                    }),
                );
                Input::Peer(PeerEvent::Established {
                    peer,
                    info: Box::new(info),
                })
            }
            1 => Input::Peer(PeerEvent::Down {
                peer,
                reason: "fuzz".into(),
                notification: None,
                graceful: b.u8() & 1 == 0,
            }),
            2 | 3 => {
                let ctx = ctxs.get(&peer).cloned().unwrap_or_default();
                let u = if op % 8 == 2 {
                    let len = usize::from(b.u8()) * 2;
                    let body = bytes::Bytes::copy_from_slice(b.take(len));
                    Update::decode(body, &ctx).ok()
                } else {
                    structured(&mut b, peer, &ctx)
                };
                let Some(u) = u else { continue };
                Input::Peer(PeerEvent::Update {
                    peer,
                    updates: UpdateBurst::new(Arc::new(ctx), vec![u]),
                })
            }
            4 => Input::Peer(PeerEvent::RouteRefresh {
                peer,
                family: if b.u8() & 1 == 0 {
                    Family::IPV4_UNICAST
                } else {
                    Family::IPV6_UNICAST
                },
            }),
            5 => {
                now += Duration::from_secs(u64::from(b.u8()));
                Input::Tick
            }
            6 => {
                let request = match b.u8() % 5 {
                    0 => Request::ShowPeers,
                    4 => Request::Explain {
                        target: format!("10.{}.{}.{}", b.u8() % 4, b.u8(), b.u8()),
                    },
                    1 => Request::ShowRoutes(RouteQuery::default()),
                    2 => Request::PeerShutdown {
                        address: IpAddr::V4(Ipv4Addr::new(172, 18, 0, 2 + peer as u8)),
                        message: None,
                    },
                    _ => Request::ShowSummary,
                };
                Input::Ctl {
                    call: steps,
                    request,
                    context: CtlContext::default(),
                }
            }
            _ => {
                // The write queue filling and draining, or a watcher.
                // Or a BFD session's state (the config's ranges may ask
                // for BFD).
                let x = b.u8();
                match x % 4 {
                    0 if x & 8 != 0 => Input::Connected(
                        // A few networks, some of them what peers announce.
                        (0..x >> 5)
                            .filter_map(|i| {
                                let a = Ipv4Addr::new(10, b.u8() & 3, i, 0);
                                bgp_proto::Prefix::new(IpAddr::V4(a), 8 + (b.u8() % 17))
                            })
                            .collect(),
                    ),
                    0 => Input::Watching(x & 4 == 0),
                    3 => Input::Bfd(bgpd::bfd::BfdReport {
                        peer,
                        up: x & 4 == 0,
                        diag: "fuzz".into(),
                    }),
                    c => Input::Peer(PeerEvent::Congested {
                        peer,
                        congested: c == 1,
                    }),
                }
            }
        };
        if let Input::Peer(PeerEvent::Down { peer, .. }) = &input {
            ctxs.remove(peer);
        }
        core.handle(now, input);
        let outs: Vec<Output> = std::iter::from_fn(|| core.poll_output()).collect();
        check(&outs, &ctxs);
        // A BFD Down ended the session in the core (the task's own Down
        // comes later): the next Established may negotiate anew.
        for o in &outs {
            if let Output::Peer {
                peer,
                command: PeerCommand::ResetWith(_),
            } = o
            {
                if !duplicate {
                    ctxs.remove(peer);
                }
            }
        }
        if let Some(t) = core.poll_timeout() {
            if t <= now {
                core.handle(now, Input::Tick);
                let outs: Vec<Output> = std::iter::from_fn(|| core.poll_output()).collect();
                check(&outs, &ctxs);
            }
        }
    }
});
