//! The endpoint on a fake clock, two of them wired back to back.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use super::*;

const A: &str = "10.0.0.1";
const B: &str = "10.0.0.2";

fn watch(peer: PeerId, remote: &str) -> BfdCommand {
    BfdCommand::Watch {
        peer,
        remote: SocketAddr::new(remote.parse().unwrap(), 0),
        local: "10.0.0.9".parse().unwrap(),
        timers: BfdTimers {
            interval_ms: 100,
            multiplier: 3,
        },
        multihop: false,
    }
}

/// Moves every packet `from` has for `to`, as if sent by `from_addr`.
fn carry(from: &mut BfdEndpoint, from_addr: &str, to: &mut BfdEndpoint, now: Instant) -> usize {
    let mut n = 0;
    while let Some(t) = from.poll_transmit(now) {
        let src = SocketAddr::new(from_addr.parse().unwrap(), 49152);
        to.datagram_in(now, src, Some(255), false, &t.packet);
        n += 1;
    }
    n
}

/// Runs A (at address A) and B (at B) back to back from `now` until
/// `until`, every packet delivered at once; returns the time reached.
fn exchange(a: &mut BfdEndpoint, b: &mut BfdEndpoint, mut now: Instant, until: Instant) -> Instant {
    while now < until {
        now = [a.poll_timeout(), b.poll_timeout()]
            .into_iter()
            .flatten()
            .min()
            .unwrap()
            .max(now);
        a.handle_timeout(now);
        b.handle_timeout(now);
        carry(a, A, b, now);
        carry(b, B, a, now);
        carry(a, A, b, now);
    }
    now
}

fn reports(e: &mut BfdEndpoint) -> Vec<(PeerId, bool)> {
    std::iter::from_fn(|| e.poll_report().map(|r| (r.peer, r.up))).collect()
}

#[test]
fn two_endpoints_come_up_then_one_going_silent_is_reported_down() {
    let t0 = Instant::now();
    let (mut a, mut b) = (BfdEndpoint::new(1), BfdEndpoint::new(2));
    a.command(t0, watch(7, B));
    b.command(t0, watch(9, A));
    let mut now = t0;
    for _ in 0..50 {
        a.handle_timeout(now);
        b.handle_timeout(now);
        carry(&mut a, A, &mut b, now);
        carry(&mut b, B, &mut a, now);
        carry(&mut a, A, &mut b, now);
        if a.state_of(7) == Some(State::Up) && b.state_of(9) == Some(State::Up) {
            break;
        }
        now += Duration::from_millis(100);
    }
    assert_eq!(a.state_of(7), Some(State::Up));
    // Reports come out with the packets (as the task drains both).
    while a.poll_transmit(now).is_some() {}
    while b.poll_transmit(now).is_some() {}
    assert!(reports(&mut a).contains(&(7, true)));
    assert!(reports(&mut b).contains(&(9, true)));
    // Two more seconds of exchange: the poll sequences that leave the
    // 1 s rate of a session not yet Up are over, both send every 100 ms.
    now = exchange(&mut a, &mut b, now, now + Duration::from_secs(2));
    assert_eq!(reports(&mut a), []);
    // B goes silent: A declares it down within 3 × 100 ms (plus a tick).
    let silent = now;
    while a.state_of(7) == Some(State::Up) {
        now = a.poll_timeout().unwrap().max(now);
        a.handle_timeout(now);
        while a.poll_transmit(now).is_some() {}
        assert!(
            now - silent <= Duration::from_millis(400),
            "still up after {:?}",
            now - silent
        );
    }
    assert!(
        now - silent >= Duration::from_millis(200),
        "down after {:?}",
        now - silent
    );
    assert_eq!(reports(&mut a), [(7, false)]);
}

#[test]
fn strangers_forwarded_and_malformed_packets_are_counted_not_kept() {
    let t0 = Instant::now();
    let (mut a, mut b) = (BfdEndpoint::new(1), BfdEndpoint::new(2));
    a.command(t0, watch(7, B));
    b.command(t0, watch(9, A));
    let p = b.poll_transmit(t0).unwrap().packet;
    let from_b = SocketAddr::new(B.parse().unwrap(), 49152);
    a.datagram_in(t0, from_b, Some(254), false, &p);
    a.datagram_in(t0, from_b, Some(255), false, &p[..10]);
    a.datagram_in(
        t0,
        SocketAddr::new("10.0.0.3".parse().unwrap(), 49152),
        Some(255),
        false,
        &p,
    );
    assert_eq!((a.drops.ttl, a.drops.malformed, a.drops.unknown), (1, 1, 1));
    // A hundred thousand packets from strangers: counted, nothing grows.
    for i in 0..100_000u32 {
        let from = SocketAddr::new(IpAddr::from(i.to_be_bytes()), 49152);
        a.datagram_in(t0, from, Some(255), false, &p);
    }
    assert_eq!(a.drops.unknown, 100_001);
    assert_eq!(a.len(), 1);
    assert!(reports(&mut a).is_empty());
}

#[test]
fn unwatch_and_rewatch_replace_the_session() {
    let t0 = Instant::now();
    let mut a = BfdEndpoint::new(1);
    a.command(t0, watch(7, B));
    a.command(t0, watch(7, B));
    assert_eq!(a.len(), 1);
    // Another neighbor at the same address takes it over.
    a.command(t0, watch(8, B));
    assert_eq!((a.len(), a.state_of(7).is_none()), (1, true));
    a.command(t0, BfdCommand::Unwatch { peer: 8 });
    assert!(a.is_empty() && a.poll_timeout().is_none());
}

fn multihop(cmd: BfdCommand) -> BfdCommand {
    match cmd {
        BfdCommand::Watch {
            peer,
            remote,
            local,
            timers,
            ..
        } => BfdCommand::Watch {
            peer,
            remote,
            local,
            timers,
            multihop: true,
        },
        other => other,
    }
}

#[test]
fn multihop_sessions_use_their_port_and_source_and_take_any_ttl() {
    let t0 = Instant::now();
    let (mut a, mut b) = (BfdEndpoint::new(1), BfdEndpoint::new(2));
    a.command(t0, multihop(watch(7, B)));
    b.command(t0, watch(9, A));
    let t = a.poll_transmit(t0).unwrap();
    assert_eq!(t.to, SocketAddr::new(B.parse().unwrap(), 4784));
    assert_eq!(t.from, Some("10.0.0.9".parse().unwrap()));
    let single = b.poll_transmit(t0).unwrap();
    assert_eq!((single.to.port(), single.from), (3784, None));
    // B's packet forwarded by two routers (TTL 253) on the multihop port:
    // taken; the same on the single-hop port: not this session's.
    let from_b = SocketAddr::new(B.parse().unwrap(), 49152);
    a.datagram_in(t0, from_b, Some(253), false, &single.packet);
    assert_eq!(a.drops.ttl, 1);
    a.datagram_in(t0, from_b, Some(255), false, &single.packet);
    assert_eq!(a.drops.unknown, 1);
    a.datagram_in(t0, from_b, Some(253), true, &single.packet);
    assert_eq!((a.drops.unknown, a.drops.refused), (1, 0));
    let t = next_packet(&mut a, t0);
    let p = ::bfd::ControlPacket::decode(&t.packet).unwrap();
    assert_eq!(
        (p.state, p.your_discriminator),
        (State::Init, single_discr(&single))
    );
    // A single-hop session does not take packets on the multihop port.
    b.datagram_in(
        t0,
        SocketAddr::new(A.parse().unwrap(), 49152),
        Some(255),
        true,
        &t.packet,
    );
    assert_eq!(b.drops.unknown, 1);
}

/// The endpoint's next packet, the clock moved on to when it is due.
fn next_packet(e: &mut BfdEndpoint, mut now: Instant) -> Transmit {
    loop {
        if let Some(t) = e.poll_transmit(now) {
            return t;
        }
        now = e.poll_timeout().unwrap().max(now);
        e.handle_timeout(now);
    }
}

fn single_discr(t: &Transmit) -> u32 {
    ::bfd::ControlPacket::decode(&t.packet)
        .unwrap()
        .my_discriminator
}

#[test]
fn new_timers_for_a_running_session_keep_its_discriminator() {
    let t0 = Instant::now();
    let mut a = BfdEndpoint::new(1);
    a.command(t0, watch(7, B));
    let first = a.poll_transmit(t0).unwrap();
    let slower = || BfdCommand::Watch {
        peer: 7,
        remote: SocketAddr::new(B.parse().unwrap(), 0),
        local: "10.0.0.9".parse().unwrap(),
        timers: BfdTimers {
            interval_ms: 200,
            multiplier: 3,
        },
        multihop: false,
    };
    a.command(t0, slower());
    assert_eq!(a.len(), 1);
    let next = next_packet(&mut a, t0);
    // The same session (discriminator), now announcing 200 ms.
    assert_eq!(single_discr(&next), single_discr(&first));
    let p = ::bfd::ControlPacket::decode(&next.packet).unwrap();
    assert_eq!(p.required_min_rx, 200_000);
    // The same timers again change nothing.
    let before = a.poll_timeout();
    a.command(t0, slower());
    assert_eq!((a.len(), a.poll_timeout()), (1, before));
}

#[test]
fn new_timers_while_up_go_through_a_poll_sequence() {
    let t0 = Instant::now();
    let (mut a, mut b) = (BfdEndpoint::new(1), BfdEndpoint::new(2));
    a.command(t0, watch(7, B));
    b.command(t0, watch(9, A));
    // Up, and three seconds on: the poll sequences of coming up are over.
    let now = exchange(&mut a, &mut b, t0, t0 + Duration::from_secs(3));
    assert_eq!(
        (a.state_of(7), b.state_of(9)),
        (Some(State::Up), Some(State::Up))
    );
    let mut slower = watch(7, B);
    if let BfdCommand::Watch { timers, .. } = &mut slower {
        timers.interval_ms = 300;
    }
    a.command(now, slower);
    let t = next_packet(&mut a, now);
    let p = ::bfd::ControlPacket::decode(&t.packet).unwrap();
    assert!(p.poll && p.required_min_rx == 300_000, "{p:?}");
    // B answers with Final; A's poll ends and the session stays Up.
    b.datagram_in(
        now,
        SocketAddr::new(A.parse().unwrap(), 49152),
        Some(255),
        false,
        &t.packet,
    );
    let f = next_packet(&mut b, now);
    assert!(::bfd::ControlPacket::decode(&f.packet).unwrap().final_);
    a.datagram_in(
        now,
        SocketAddr::new(B.parse().unwrap(), 49152),
        Some(255),
        false,
        &f.packet,
    );
    let after = next_packet(&mut a, now);
    assert!(!::bfd::ControlPacket::decode(&after.packet).unwrap().poll);
    assert_eq!(a.state_of(7), Some(State::Up));
}
