//! BFD tied to BGP: a neighbor with `bfd` gets a BFD session when it
//! connects (or, at the latest, once up) and hears when it is Up; a BFD
//! session that was up going down takes the BGP session down at once,
//! routes withdrawn in the same batch, graceful restart or not.

use super::*;
use crate::bfd::{BfdCommand, BfdReport};
use bgp_proto::msg::notification::{cease_subcode, code};

/// The lab's config with BFD on cluster 1's range.
fn lab_bfd() -> String {
    LAB.replace(
        "remote_as = 65100\n",
        "remote_as = 65100\nbfd = { interval_ms = 100, multiplier = 3 }\n",
    )
}

fn bfd_commands(outs: &[Output]) -> Vec<BfdCommand> {
    outs.iter()
        .filter_map(|o| match o {
            Output::Bfd(c) => Some(c.clone()),
            _ => None,
        })
        .collect()
}

fn report(h: &mut H, peer: PeerId, up: bool) -> Vec<Output> {
    h.feed(Input::Bfd(BfdReport {
        peer,
        up,
        diag: if up {
            "no diagnostic"
        } else {
            "control detection time expired"
        }
        .into(),
    }));
    h.drain()
}

#[test]
fn a_bfd_down_takes_the_session_and_its_routes_at_once_even_with_gr() {
    let mut h = H::with(&lab_bfd());
    let (a, b) = (Peer::node(2).gr(120), Peer::node2(3));
    let outs = h.up(&a);
    let watch = bfd_commands(&outs);
    assert_eq!(watch.len(), 1, "{outs:?}");
    let BfdCommand::Watch {
        peer,
        remote,
        timers,
        multihop,
        ..
    } = &watch[0]
    else {
        panic!("{watch:?}");
    };
    assert_eq!(
        (*peer, remote.ip(), timers.interval_ms, *multihop),
        (2, a.addr, 100, false)
    );
    // The neighbor without `bfd` gets none.
    assert!(bfd_commands(&h.up(&b)).is_empty());
    h.announce(&a, &["10.241.0.0/24"], &[65100]);
    h.drain();

    // Down before it was ever up: nothing happens to BGP.
    assert!(commands_to(&report(&mut h, 2, false), 2).is_empty());
    // Up, then down: withdrawn from the kernel and from node b in this
    // batch, and the session is reset with Cease / BFD Down.
    assert_eq!(
        commands_to(&report(&mut h, 2, true), 2),
        vec![PeerCommand::Bfd { up: true }]
    );
    let outs = report(&mut h, 2, false);
    assert_eq!(fib_changes(&outs), vec![fib("10.241.0.0/24", &[])]);
    assert_eq!(withdrawn_from(&outs, 3), vec!["10.241.0.0/24"]);
    let n = Notification::new(code::CEASE, cease_subcode::BFD_DOWN, []);
    assert_eq!(
        commands_to(&outs, 2),
        vec![PeerCommand::Bfd { up: false }, PeerCommand::ResetWith(n)]
    );
    // GR would have kept them; BFD says the forwarding path is gone.
    assert_eq!(h.core.poll_timeout(), None);
    // The task's own Down event that follows changes nothing more.
    assert!(fib_changes(&h.down(&a, true)).is_empty());
}

#[test]
fn the_bfd_session_outlives_bgp_restarts_and_ends_with_the_neighbor() {
    let mut h = H::with(&lab_bfd());
    let a = Peer::node(2);
    assert_eq!(bfd_commands(&h.up(&a)).len(), 1);
    h.down(&a, false);
    // Back at the same address: the running BFD session is kept.
    assert!(bfd_commands(&h.up(&a)).is_empty());
    h.down(&a, false);
    h.peer_event(PeerEvent::Removed { peer: 2 });
    assert_eq!(
        bfd_commands(&h.drain()),
        vec![BfdCommand::Unwatch { peer: 2 }]
    );
}

fn connected(h: &mut H, peer: &Peer) -> Vec<Output> {
    h.peer_event(PeerEvent::Connected {
        peer: peer.id,
        remote: SocketAddr::new(peer.addr, 40_000),
        local: SocketAddr::new(IpAddr::V4(Ipv4Addr::new(172, 18, 0, 5)), 179),
        bfd: crate::config::BfdTimers {
            interval_ms: 100,
            multiplier: 3,
        },
        multihop: false,
    });
    h.drain()
}

#[test]
fn bfd_starts_on_connect_and_a_waiting_task_hears_it_is_up() {
    let mut h = H::with(&lab_bfd());
    let a = Peer::node(2);
    // The connection, before any OPEN: the BFD session starts.
    let outs = connected(&mut h, &a);
    assert!(
        matches!(&bfd_commands(&outs)[..], [BfdCommand::Watch { peer: 2, remote, .. }] if remote.ip() == a.addr),
        "{outs:?}"
    );
    assert!(commands_to(&outs, 2).is_empty(), "not up yet: {outs:?}");
    assert_eq!(
        commands_to(&report(&mut h, 2, true), 2),
        vec![PeerCommand::Bfd { up: true }]
    );
    // The session comes up on that connection: no second BFD session.
    assert!(bfd_commands(&h.up(&a)).is_empty());
    // A new connection (the session restarting) is told at once that
    // BFD is up, so its OPEN need not wait.
    h.down(&a, false);
    let outs = connected(&mut h, &a);
    assert!(bfd_commands(&outs).is_empty(), "{outs:?}");
    assert_eq!(commands_to(&outs, 2), vec![PeerCommand::Bfd { up: true }]);
    // New timers (a reload): the running session gets them, no new one.
    h.peer_event(PeerEvent::Connected {
        peer: 2,
        remote: SocketAddr::new(a.addr, 40_000),
        local: SocketAddr::new(IpAddr::V4(Ipv4Addr::new(172, 18, 0, 5)), 179),
        bfd: crate::config::BfdTimers {
            interval_ms: 600,
            multiplier: 3,
        },
        multihop: false,
    });
    let outs = h.drain();
    assert!(
        matches!(&bfd_commands(&outs)[..], [BfdCommand::Watch { peer: 2, timers, .. }] if timers.interval_ms == 600),
        "{outs:?}"
    );
    // The neighbor at a new address: the old BFD session no longer
    // vouches for it.
    let moved = Peer {
        addr: IpAddr::V4(Ipv4Addr::new(172, 18, 0, 77)),
        ..Peer::node(2)
    };
    let outs = connected(&mut h, &moved);
    assert_eq!(commands_to(&outs, 2), vec![PeerCommand::Bfd { up: false }]);
    assert!(
        matches!(&bfd_commands(&outs)[..], [BfdCommand::Watch { remote, .. }] if remote.ip() == moved.addr),
        "{outs:?}"
    );
}

#[test]
fn a_restart_with_bfd_up_keeps_stale_routes_until_bfd_goes_down() {
    let mut h = H::with(&lab_bfd());
    let a = Peer::node(2).gr(120);
    h.up(&a);
    h.announce(&a, &["10.241.0.0/24"], &[65100]);
    h.drain();
    report(&mut h, 2, true);
    // The control plane restarts, BFD stays up (the peer's C bit): the
    // graceful restart helper keeps the routes, BFD keeps running.
    let outs = h.down(&a, true);
    assert!(fib_changes(&outs).is_empty(), "{outs:?}");
    assert!(bfd_commands(&outs).is_empty(), "{outs:?}");
    // Then BFD goes down: forwarding failed as well, the stale routes go
    // now rather than at the end of the restart time.
    let outs = report(&mut h, 2, false);
    assert_eq!(fib_changes(&outs), vec![fib("10.241.0.0/24", &[])]);
    assert_eq!(commands_to(&outs, 2), vec![PeerCommand::Bfd { up: false }]);
}

#[test]
fn a_strict_session_up_while_its_bfd_is_down_is_reset_not_taken_in() {
    let mut h = H::with(&lab_bfd());
    let a = Peer::node(2);
    connected(&mut h, &a);
    report(&mut h, 2, true);
    // BFD goes down as the session comes up (the two crossing).
    report(&mut h, 2, false);
    let outs = h.up(&a);
    let n = Notification::new(code::CEASE, cease_subcode::BFD_DOWN, []);
    assert_eq!(commands_to(&outs, 2), vec![PeerCommand::ResetWith(n)]);
    h.announce(&a, &["10.241.0.0/24"], &[65100]);
    assert!(fib_changes(&h.drain()).is_empty());
}
