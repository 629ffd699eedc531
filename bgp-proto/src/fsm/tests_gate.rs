//! The OPEN gate (BFD strict mode) and peer AS sets, on a fake clock.

use super::*;

/// An FSM whose OPEN waits for the gate, connected at `t0`.
fn held(passive: bool, t0: Instant) -> Fsm {
    let mut c = cfg();
    c.hold_open = true;
    c.passive = passive;
    let mut f = Fsm::new(c);
    f.handle(t0, Event::ManualStart);
    let a = f.handle(t0, Event::TcpConnected);
    assert!(
        a.is_empty(),
        "nothing goes out while the gate is shut: {a:?}"
    );
    assert!(f.is_holding_open());
    f
}

#[test]
fn held_open_goes_out_when_the_gate_opens_and_answers_the_kept_open() {
    let t0 = Instant::now();
    let mut f = held(true, t0);
    assert_eq!(f.state(), State::Active);
    let a = f.handle(t0 + secs(1), Event::Received(Incoming::Open(peer_open())));
    assert!(a.is_empty());
    assert_eq!(f.state(), State::Active);
    let a = f.handle(t0 + secs(2), Event::OpenAllowed(true));
    let sent: Vec<_> = a
        .iter()
        .filter_map(|a| match a {
            Action::Send(m) => Some(m.clone()),
            _ => None,
        })
        .collect();
    assert!(matches!(sent[..], [Message::Open(_), Message::Keepalive]));
    assert_eq!(f.state(), State::OpenConfirm);
    assert!(!f.is_holding_open());
    let a = f.handle(t0 + secs(2), Event::Received(Incoming::Keepalive));
    assert!(a.iter().any(|a| matches!(a, Action::Established(_))));
}

#[test]
fn an_open_gate_sends_open_at_once_and_a_shut_one_holds_the_next_connection() {
    let t0 = Instant::now();
    let mut f = held(false, t0);
    f.handle(t0, Event::OpenAllowed(true));
    assert_eq!(f.state(), State::OpenSent);
    f.handle(t0, Event::ManualStop(None));
    f.handle(t0, Event::ManualStart);
    let a = f.handle(t0, Event::TcpConnected);
    assert!(matches!(a[0], Action::Send(Message::Open(_))), "{a:?}");
    f.handle(t0, Event::OpenAllowed(false));
    f.handle(t0, Event::ManualStop(None));
    f.handle(t0, Event::ManualStart);
    assert!(f.handle(t0, Event::TcpConnected).is_empty());
    assert_eq!(f.state(), State::Connect);
}

#[test]
fn a_connection_held_past_the_open_hold_time_is_closed_and_redialled() {
    let t0 = Instant::now();
    let mut f = held(false, t0);
    assert!(f.handle_timeout(t0 + secs(239)).is_empty());
    let a = f.handle_timeout(t0 + secs(240));
    assert!(a.contains(&Action::Close(None)), "{a:?}");
    assert_eq!(f.state(), State::Active);
    assert!(!f.is_holding_open());
    // The gate opening now has no connection to release.
    assert!(f
        .handle(t0 + secs(241), Event::OpenAllowed(true))
        .is_empty());
    let a = f.handle_timeout(t0 + secs(250));
    assert!(a.contains(&Action::Connect), "{a:?}");
    assert_eq!(f.state(), State::Connect);
}

#[test]
fn a_held_connection_closed_or_refused_by_the_peer_is_let_go() {
    let t0 = Instant::now();
    // Closed by the peer: closed here too, and dialled again on the
    // connect-retry timer.
    let mut f = held(false, t0);
    let a = f.handle(t0, Event::TcpClosed);
    assert!(a.contains(&Action::Close(None)), "{a:?}");
    assert!(!f.is_holding_open());
    assert_eq!(f.state(), State::Active);
    assert!(f.handle_timeout(t0 + secs(5)).contains(&Action::Connect));
    // A KEEPALIVE (or a second OPEN) before ours went out: dropped.
    let mut f = held(true, t0);
    f.handle(t0, Event::Received(Incoming::Keepalive));
    assert!(!f.is_holding_open());
    let mut f = held(true, t0);
    f.handle(t0, Event::TcpClosed);
    assert!(!f.is_holding_open());
    assert!(f.handle(t0, Event::OpenAllowed(true)).is_empty());
    f.handle(t0, Event::OpenAllowed(false));
    f.handle(t0, Event::TcpConnected);
    let n = Notification::new(code::CEASE, 0, []);
    let a = f.handle(t0, Event::Received(Incoming::Notification(n)));
    assert!(a.contains(&Action::Close(None)), "{a:?}");
    assert!(!f.is_holding_open());
    assert_eq!(f.state(), State::Active);
}

#[test]
fn the_gate_shutting_before_established_ends_the_connection_with_bfd_down() {
    let t0 = Instant::now();
    let mut f = held(true, t0);
    f.handle(t0, Event::Received(Incoming::Open(peer_open())));
    f.handle(t0, Event::OpenAllowed(true));
    assert_eq!(f.state(), State::OpenConfirm);
    let a = f.handle(t0, Event::OpenAllowed(false));
    let n = sent_notification(&a).unwrap();
    assert_eq!((n.code, n.subcode), (code::CEASE, cease_subcode::BFD_DOWN));
    assert_eq!(f.state(), State::Idle);
    // Established sessions are left to the core.
    let mut f = established(t0);
    assert!(f.handle(t0, Event::OpenAllowed(false)).is_empty());
    assert_eq!(f.state(), State::Established);
}

fn open_from(asn: u32) -> OpenMessage {
    let mut o = peer_open();
    o.my_as = OpenMessage::my_as_for(asn);
    for c in &mut o.capabilities {
        if let Capability::FourOctetAs(a) = c {
            *a = asn;
        }
    }
    o
}

#[test]
fn peer_as_sets_accept_what_they_name_and_refuse_the_rest() {
    let t0 = Instant::now();
    let accepts = |peer_as: PeerAs, asn: u32| {
        let mut c = cfg();
        c.peer_as = peer_as;
        let mut f = open_sent(c, t0);
        f.handle(t0, Event::Received(Incoming::Open(open_from(asn))));
        f.state() == State::OpenConfirm
    };
    assert!(accepts(PeerAs::External, 65100) && accepts(PeerAs::External, 4_200_000_000));
    assert!(!accepts(PeerAs::External, 65000));
    assert!(accepts(PeerAs::Internal, 65000) && !accepts(PeerAs::Internal, 65100));
    let list = PeerAs::OneOf(vec![65100, 65200]);
    assert!(accepts(list.clone(), 65200) && !accepts(list, 65300));
    let mut c = cfg();
    c.peer_as = PeerAs::External;
    let n = open_error_with(c, open_from(65000));
    assert_eq!(
        (n.code, n.subcode),
        (code::OPEN_MESSAGE, open_subcode::BAD_PEER_AS)
    );
    assert_eq!(PeerAs::Internal.exact(65000), Some(65000));
    assert_eq!(PeerAs::External.exact(65000), None);
}
