//! Answers to rbgpctl.

use super::*;
use crate::core::{CtlContext, FibView};
use crate::ctl::proto::{PeerState as CtlPeerState, Request, Response, RouteQuery};
use crate::fib::{FibStatus, FibSummary};
use crate::peer::{Counters, PeerStatus};
use bgp_proto::msg::notification::cease_subcode;

/// What the neighbor task of `p` reports, in `state`.
pub(super) fn status(p: &Peer, state: State) -> PeerStatus {
    PeerStatus {
        id: p.id,
        addr: p.addr,
        remote_as: p.asn,
        description: None,
        dynamic: true,
        interface: None,
        state,
        uptime: None,
        established_at: None,
        counters: Counters::default(),
        last_error: None,
        last_notification: None,
        remote: None,
        local: None,
        negotiated: None,
    }
}

/// Every route `show routes` lists.
pub(super) fn show_routes(h: &mut H) -> Vec<crate::ctl::proto::RouteEntry> {
    let (r, _) = ask(
        h,
        Request::ShowRoutes(RouteQuery::default()),
        CtlContext::default(),
    );
    let Response::Routes { routes } = r else {
        panic!("{r:?}")
    };
    routes
}

/// Asks `request` with `context`: the answer, and every output.
pub(super) fn ask(h: &mut H, request: Request, context: CtlContext) -> (Response, Vec<Output>) {
    h.feed(Input::Ctl {
        call: 7,
        request,
        context,
    });
    let outs = h.drain();
    let response = outs
        .iter()
        .find_map(|o| match o {
            Output::Answer { call: 7, response } => Some(response.clone()),
            _ => None,
        })
        .expect("an answer");
    (response, outs)
}

fn peers(ps: &[(&Peer, State)]) -> CtlContext {
    CtlContext {
        peers: ps.iter().map(|(p, s)| status(p, *s)).collect(),
        ..CtlContext::default()
    }
}

#[test]
fn show_peers_lists_the_neighbors_with_their_route_counts() {
    let mut h = H::new();
    let a = Peer::node(2);
    h.up(&a);
    h.announce(&a, &["10.241.0.0/24"], &[65100]);
    h.drain();
    let idle = Peer::node(9);
    let ctx = peers(&[(&idle, State::Idle), (&a, State::Established)]);
    let (r, _) = ask(&mut h, Request::ShowPeers, ctx);
    let Response::Peers { peers } = r else {
        panic!("{r:?}")
    };
    assert_eq!(peers.len(), 2);
    assert_eq!(peers[0].address, a.addr, "sorted by address");
    assert_eq!(peers[0].state, CtlPeerState::Established);
    assert_eq!(peers[0].families[0].family, "ipv4-unicast");
    assert_eq!(peers[0].families[0].accepted, 1);
    assert!(peers[1].families.is_empty());
}

#[test]
fn a_neighbor_down_for_a_while_shows_for_how_long() {
    let mut h = H::new();
    let a = Peer::node(2);
    h.peer_event(PeerEvent::State {
        peer: 2,
        addr: a.addr,
        state: State::Active,
    });
    h.advance(Duration::from_secs(42));
    let (r, _) = ask(&mut h, Request::ShowPeers, peers(&[(&a, State::Active)]));
    let Response::Peers { peers } = r else {
        panic!("{r:?}")
    };
    assert_eq!(peers[0].down_secs, Some(42));
}

#[test]
fn shutdown_holds_the_neighbor_down_and_enable_lets_it_go() {
    let mut h = H::new();
    let a = Peer::node(2);
    let ctx = peers(&[(&a, State::Established)]);
    let (r, outs) = ask(
        &mut h,
        Request::PeerShutdown {
            address: a.addr,
            message: Some("maintenance".into()),
        },
        ctx.clone(),
    );
    assert!(matches!(r, Response::PeerAction { .. }));
    let n = shutdown_of(&outs, 2).unwrap().unwrap();
    assert_eq!(n.subcode, cease_subcode::ADMINISTRATIVE_SHUTDOWN);
    let (r, _) = ask(&mut h, Request::ShowPeers, ctx.clone());
    let Response::Peers { peers } = r else {
        panic!("{r:?}")
    };
    assert!(peers[0].admin_down);
    let (_, outs) = ask(&mut h, Request::PeerEnable { address: a.addr }, ctx.clone());
    assert_eq!(commands_to(&outs, 2), vec![PeerCommand::Enable]);
    let (r, _) = ask(&mut h, Request::ShowPeers, ctx);
    let Response::Peers { peers } = r else {
        panic!("{r:?}")
    };
    assert!(!peers[0].admin_down);
}

#[test]
fn reset_with_a_message_is_a_shutdown_then_enable() {
    let mut h = H::new();
    let a = Peer::node(2);
    let (_, outs) = ask(
        &mut h,
        Request::PeerReset {
            address: a.addr,
            message: Some("new config".into()),
        },
        peers(&[(&a, State::Established)]),
    );
    let cmds = commands_to(&outs, 2);
    assert_eq!(cmds.len(), 2);
    assert!(
        matches!(&cmds[0], PeerCommand::Shutdown(Some(n)) if n.subcode == cease_subcode::ADMINISTRATIVE_RESET)
    );
    assert_eq!(cmds[1], PeerCommand::Enable);
    let (_, outs) = ask(
        &mut h,
        Request::PeerReset {
            address: a.addr,
            message: None,
        },
        peers(&[(&a, State::Established)]),
    );
    assert_eq!(commands_to(&outs, 2), vec![PeerCommand::Reset]);
}

#[test]
fn an_action_on_an_unknown_neighbor_is_an_error_and_sends_nothing() {
    let mut h = H::new();
    let (r, outs) = ask(
        &mut h,
        Request::PeerEnable {
            address: ip("192.0.2.1"),
        },
        CtlContext::default(),
    );
    assert_eq!(
        r,
        Response::Error {
            message: "no neighbor 192.0.2.1".into()
        }
    );
    assert!(!outs.iter().any(|o| matches!(o, Output::Peer { .. })));
}

#[test]
fn show_routes_answers_by_prefix_by_address_and_best_only() {
    let mut h = H::new();
    let (a, b) = (Peer::node(2), Peer::node(3));
    h.up(&a);
    h.up(&b);
    h.announce(&a, &["10.241.0.0/16"], &[65100]);
    h.announce(&b, &["10.241.0.0/16"], &[65100, 65100]);
    h.drain();
    let q = |prefix: &str, best_only| {
        Request::ShowRoutes(RouteQuery {
            prefix: Some(prefix.into()),
            best_only,
            ..RouteQuery::default()
        })
    };
    let (r, _) = ask(&mut h, q("10.241.0.0/16", false), CtlContext::default());
    let Response::Routes { routes } = r else {
        panic!("{r:?}")
    };
    assert_eq!(routes[0].paths.len(), 2);
    let (r, _) = ask(&mut h, q("10.241.7.7", true), CtlContext::default());
    let Response::Routes { routes } = r else {
        panic!("{r:?}")
    };
    assert_eq!(routes[0].prefix, "10.241.0.0/16");
    assert_eq!(routes[0].paths.len(), 1);
    assert_eq!(routes[0].paths[0].peer, Some(a.addr), "the shorter path");
}

#[test]
fn route_ages_follow_the_clock_given() {
    let mut h = H::new();
    let a = Peer::node(2);
    h.up(&a);
    h.announce(&a, &["10.241.0.0/24"], &[65100]);
    h.drain();
    h.advance(Duration::from_secs(30));
    let (r, _) = ask(
        &mut h,
        Request::ShowRoutes(RouteQuery::default()),
        CtlContext::default(),
    );
    let Response::Routes { routes } = r else {
        panic!("{r:?}")
    };
    assert_eq!(routes[0].paths[0].age_secs, 30);
}

#[test]
fn show_routes_refuses_an_unknown_family() {
    let mut h = H::new();
    let (r, _) = ask(
        &mut h,
        Request::ShowRoutes(RouteQuery {
            family: Some("ipx".into()),
            ..RouteQuery::default()
        }),
        CtlContext::default(),
    );
    assert!(matches!(r, Response::Error { message } if message.contains("unknown family")));
}

#[test]
fn show_fib_reads_the_status_the_driver_gave() {
    let mut h = H::new();
    let ctx = CtlContext {
        fib: Some(FibView::Status(FibStatus::default())),
        ..CtlContext::default()
    };
    let (r, _) = ask(&mut h, Request::ShowFib, ctx);
    assert_eq!(r, Response::Fib { routes: Vec::new() });
    let ctx = CtlContext {
        fib: Some(FibView::Unavailable("FIB task stopped".into())),
        ..CtlContext::default()
    };
    let (r, _) = ask(&mut h, Request::ShowFib, ctx);
    assert!(matches!(r, Response::Error { message } if message.contains("FIB task stopped")));
}

#[test]
fn show_fib_without_a_fib_says_so() {
    let mut h = H::with(
        "[router]\nasn = 65000\nrouter_id = \"172.18.0.5\"\nlisten = []\n[fib]\nenabled = false\n",
    );
    let (r, _) = ask(&mut h, Request::ShowFib, CtlContext::default());
    assert!(matches!(r, Response::Error { message } if message.contains("disabled")));
}

#[test]
fn show_summary_counts_from_the_core_and_the_context() {
    let mut h = H::new();
    let a = Peer::node(2);
    h.up(&a);
    h.announce(&a, &["10.241.0.0/24", "fd00:10:241::/64"], &[65100]);
    h.drain();
    h.advance(Duration::from_secs(9));
    let ctx = CtlContext {
        peers: vec![
            status(&a, State::Established),
            status(&Peer::node(3), State::Idle),
        ],
        fib: Some(FibView::Summary(FibSummary {
            installed: 2,
            ..FibSummary::default()
        })),
        bfd: Vec::new(),
        rss_bytes: Some(1234),
    };
    let (r, _) = ask(&mut h, Request::ShowSummary, ctx);
    let Response::Summary { summary } = r else {
        panic!("{r:?}")
    };
    assert_eq!(summary.asn, 65000);
    assert_eq!(summary.uptime_secs, 9);
    assert_eq!((summary.peers_established, summary.peers_total), (1, 2));
    assert_eq!((summary.rib_prefixes_v4, summary.rib_prefixes_v6), (1, 1));
    assert_eq!(summary.fib_routes, 2);
    assert_eq!(summary.memory_rss_bytes, Some(1234));
}

#[test]
fn the_driver_is_told_what_to_read_for_a_request() {
    use crate::core::{ctl_needs, FibQuery};
    assert_eq!(ctl_needs(&Request::ShowFib), FibQuery::Status);
    assert_eq!(ctl_needs(&Request::ShowSummary), FibQuery::Summary);
    assert_eq!(ctl_needs(&Request::ShowPeers), FibQuery::None);
}

#[test]
fn shutdown_of_a_session_with_the_n_bit_is_a_hard_reset() {
    let mut h = H::new();
    let a = Peer {
        gr_notification: true,
        ..Peer::node(2).gr(120)
    };
    h.up(&a);
    let (_, outs) = ask(
        &mut h,
        Request::PeerShutdown {
            address: a.addr,
            message: None,
        },
        peers(&[(&a, State::Established)]),
    );
    let n = shutdown_of(&outs, 2).unwrap().unwrap();
    assert_eq!(n.subcode, cease_subcode::HARD_RESET);
    assert_eq!(
        n.data.first(),
        Some(&cease_subcode::ADMINISTRATIVE_SHUTDOWN)
    );
}

#[test]
fn show_peer_lists_extended_next_hop_when_negotiated() {
    let mut h = H::new();
    let with = Peer {
        extended_next_hop: true,
        ..Peer::node(2)
    };
    let without = Peer::node(3);
    for p in [&with, &without] {
        h.up(p);
        let mut st = status(p, State::Established);
        st.negotiated = Some(h.session_info(p).negotiated);
        let ctx = CtlContext {
            peers: vec![st],
            ..CtlContext::default()
        };
        let (r, _) = ask(&mut h, Request::ShowPeer { address: p.addr }, ctx);
        let Response::Peer { peer } = r else {
            panic!("{r:?}")
        };
        let listed = peer
            .capabilities
            .iter()
            .any(|c| c == "extended next hop ipv4-unicast (IPv6 next hops)");
        assert_eq!(listed, p.extended_next_hop, "{:?}", peer.capabilities);
    }
}
