//! A quinn-style `Pair`: two FSMs wired to each other in memory through
//! the real codec, on a simulated clock. Every message crosses
//! `encode_message` / `split_frame` / `decode_message`.

use super::*;
use crate::wire::{decode_message, encode_message, split_frame, Decoded};
use bytes::BytesMut;

struct Endpoint {
    fsm: Fsm,
    /// Bytes in flight towards this endpoint.
    inbox: BytesMut,
    connected: bool,
    established: Option<Negotiated>,
    downs: Vec<(DownReason, bool)>,
    keepalives_in: usize,
    /// Drop everything this endpoint sends (a stuck peer).
    mute: bool,
}

struct Pair {
    now: Instant,
    a: Endpoint,
    b: Endpoint,
}

impl Endpoint {
    fn new(cfg: FsmConfig) -> Self {
        Endpoint {
            fsm: Fsm::new(cfg),
            inbox: BytesMut::new(),
            connected: false,
            established: None,
            downs: Vec::new(),
            keepalives_in: 0,
            mute: false,
        }
    }
}

impl Pair {
    fn new() -> Self {
        let a = FsmConfig::new(65000, Ipv4Addr::new(172, 18, 0, 5), 65100);
        let mut b = FsmConfig::new(65100, Ipv4Addr::new(172, 18, 0, 2), 65000);
        b.passive = true;
        b.hold_time = 30;
        b.seed = 99;
        Pair {
            now: Instant::now(),
            a: Endpoint::new(a),
            b: Endpoint::new(b),
        }
    }

    /// Applies actions of one side: bytes go into the other's inbox.
    fn apply(&mut self, from_a: bool, actions: Vec<Action>) {
        for act in actions {
            let (me, peer) = if from_a {
                (&mut self.a, &mut self.b)
            } else {
                (&mut self.b, &mut self.a)
            };
            match act {
                Action::Connect => {}
                Action::Send(msg) => {
                    if !me.mute {
                        encode_message(&msg, &me.fsm.context(), &mut peer.inbox).unwrap();
                    }
                }
                Action::Close(n) => {
                    if let (Some(n), false) = (n, me.mute) {
                        let m = Message::Notification(n);
                        encode_message(&m, &me.fsm.context(), &mut peer.inbox).unwrap();
                    }
                    me.connected = false;
                }
                Action::Established(n) => me.established = Some(*n),
                Action::Down {
                    reason,
                    established,
                } => me.downs.push((reason, established)),
                Action::StateChange { .. } => {}
            }
        }
    }

    /// Delivers everything in flight, until nothing moves.
    fn deliver(&mut self) {
        loop {
            let mut moved = false;
            for to_a in [true, false] {
                let ep = if to_a { &mut self.a } else { &mut self.b };
                let ctx = ep.fsm.context();
                let Some(frame) = split_frame(&mut ep.inbox, &ctx).unwrap() else {
                    continue;
                };
                moved = true;
                let incoming = match decode_message(frame, &ctx).unwrap() {
                    Decoded::Open(o) => Incoming::Open(o),
                    Decoded::Keepalive => {
                        ep.keepalives_in += 1;
                        Incoming::Keepalive
                    }
                    Decoded::Notification(n) => Incoming::Notification(n),
                    Decoded::Update(_) => Incoming::Update,
                    Decoded::RouteRefresh(r) => Incoming::RouteRefresh(r),
                };
                let acts = ep.fsm.handle(self.now, Event::Received(incoming));
                self.apply(to_a, acts);
            }
            if !moved {
                break;
            }
        }
    }

    fn connect(&mut self) {
        let acts = self.a.fsm.handle(self.now, Event::ManualStart);
        assert!(acts.contains(&Action::Connect));
        self.apply(true, acts);
        let acts = self.b.fsm.handle(self.now, Event::ManualStart);
        self.apply(false, acts);
        self.a.connected = true;
        self.b.connected = true;
        let acts = self.a.fsm.handle(self.now, Event::TcpConnected);
        self.apply(true, acts);
        let acts = self.b.fsm.handle(self.now, Event::TcpConnected);
        self.apply(false, acts);
        self.deliver();
    }

    /// Advances the clock to the next timer of either side and fires it.
    fn step(&mut self) {
        let next = [self.a.fsm.poll_timeout(), self.b.fsm.poll_timeout()]
            .into_iter()
            .flatten()
            .min()
            .unwrap();
        self.now = self.now.max(next);
        let acts = self.a.fsm.handle_timeout(self.now);
        self.apply(true, acts);
        let acts = self.b.fsm.handle_timeout(self.now);
        self.apply(false, acts);
        self.deliver();
    }
}

#[test]
fn pair_reaches_established_through_the_codec() {
    let mut p = Pair::new();
    p.connect();
    assert_eq!(p.a.fsm.state(), State::Established);
    assert_eq!(p.b.fsm.state(), State::Established);
    let na = p.a.established.clone().unwrap();
    let nb = p.b.established.clone().unwrap();
    assert_eq!((na.hold_time, nb.hold_time), (30, 30));
    assert_eq!((na.keepalive, nb.keepalive), (10, 10));
    assert_eq!(na.peer_asn, 65100);
    assert_eq!(nb.peer_asn, 65000);
    assert_eq!(
        na.families,
        vec![crate::Family::IPV4_UNICAST, crate::Family::IPV6_UNICAST]
    );
    assert!(na.four_octet_as && nb.four_octet_as && na.route_refresh);
    assert_eq!(*na.peer_open, *p.b.fsm.local_open());
}

#[test]
fn pair_keeps_the_session_up_with_keepalives() {
    let mut p = Pair::new();
    p.connect();
    let start = p.now;
    while p.now < start + Duration::from_secs(600) {
        p.step();
    }
    assert_eq!(p.a.fsm.state(), State::Established);
    assert_eq!(p.b.fsm.state(), State::Established);
    // A keepalive at most every 10 s (jittered down to 7.5 s) each way.
    assert!(
        p.a.keepalives_in >= 60 && p.a.keepalives_in <= 82,
        "{}",
        p.a.keepalives_in
    );
    assert!(
        p.b.keepalives_in >= 60 && p.b.keepalives_in <= 82,
        "{}",
        p.b.keepalives_in
    );
    assert!(p.a.downs.is_empty() && p.b.downs.is_empty());
}

#[test]
fn pair_hold_timer_expires_when_the_peer_goes_silent() {
    let mut p = Pair::new();
    p.connect();
    let t = p.now;
    p.b.mute = true;
    while p.a.fsm.state() == State::Established {
        p.step();
    }
    // A gave up after the 30 s hold time, and told B so.
    assert_eq!(p.now, t + Duration::from_secs(30));
    let hold = Notification::new(code::HOLD_TIMER_EXPIRED, 0, []);
    assert_eq!(
        p.a.downs,
        vec![(DownReason::NotificationSent(hold.clone()), true)]
    );
    assert_eq!(
        p.b.downs,
        vec![(DownReason::NotificationReceived(hold), true)]
    );
    assert_eq!(p.b.fsm.state(), State::Idle);
}
