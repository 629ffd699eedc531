//! A quinn-style pair: two `Session`s wired together in memory on a
//! simulated clock. Every packet crosses `encode` / `decode` and a link
//! with 1 ms of latency; either direction can be muted, and one side's
//! Final answers can be dropped.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use bfd::{ControlPacket, Diag, Session, SessionConfig, SessionEvent, State, PACKET_LEN};
use std::collections::VecDeque;
use std::time::{Duration, Instant};

const LATENCY: Duration = Duration::from_millis(1);
/// The simulated clock jumps from deadline to deadline, so events land
/// exactly on time; one tick of slack covers the link latency.
const TICK: Duration = Duration::from_millis(1);

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn cfg(tx_ms: u64, rx_ms: u64, mult: u8) -> SessionConfig {
    SessionConfig {
        desired_min_tx: ms(tx_ms),
        required_min_rx: ms(rx_ms),
        detect_mult: mult,
        ..SessionConfig::default()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    A,
    B,
}

struct End {
    s: Session,
    /// Packets in flight towards this side, with their arrival time.
    inbox: VecDeque<(Instant, [u8; PACKET_LEN])>,
    /// Drop everything this side sends.
    mute: bool,
    /// Drop this side's packets that carry F.
    drop_finals: bool,
    events: Vec<(Instant, SessionEvent)>,
    /// When a packet was last delivered to this side.
    last_delivered: Option<Instant>,
}

impl End {
    fn new(discr: u32, config: SessionConfig, now: Instant) -> Self {
        End {
            s: Session::new(discr, config, now).unwrap(),
            inbox: VecDeque::new(),
            mute: false,
            drop_finals: false,
            events: Vec::new(),
            last_delivered: None,
        }
    }
}

struct Pair {
    t0: Instant,
    now: Instant,
    a: End,
    b: End,
    /// Every packet sent (delivered or not): when, by whom.
    log: Vec<(Instant, Side, ControlPacket)>,
}

impl Pair {
    fn new(ca: SessionConfig, cb: SessionConfig) -> Self {
        let t0 = Instant::now();
        Pair {
            t0,
            now: t0,
            a: End::new(0xaaaa_0001, ca, t0),
            b: End::new(0xbbbb_0002, cb, t0),
            log: Vec::new(),
        }
    }

    fn ends(&mut self, side: Side) -> (&mut End, &mut End) {
        match side {
            Side::A => (&mut self.a, &mut self.b),
            Side::B => (&mut self.b, &mut self.a),
        }
    }

    /// Runs everything due at `now` until nothing moves.
    fn settle(&mut self) {
        let now = self.now;
        for _ in 0..100 {
            let mut busy = false;
            for side in [Side::A, Side::B] {
                let mut sent = Vec::new();
                let (me, other) = self.ends(side);
                while let Some(&(t, bytes)) = me.inbox.front() {
                    if t > now {
                        break;
                    }
                    me.inbox.pop_front();
                    let pkt = ControlPacket::decode(&bytes).unwrap();
                    let _ = me.s.handle_packet(now, &pkt);
                    me.last_delivered = Some(now);
                    busy = true;
                }
                if me.s.poll_timeout().is_some_and(|t| t <= now) {
                    me.s.handle_timeout(now);
                }
                while let Some(p) = me.s.poll_transmit(now) {
                    let dropped = me.mute || (me.drop_finals && p.final_);
                    if !dropped {
                        other.inbox.push_back((now + LATENCY, p.encode()));
                    }
                    sent.push((now, side, p));
                    busy = true;
                }
                while let Some(e) = me.s.poll_event() {
                    me.events.push((now, e));
                }
                self.log.extend(sent);
            }
            if !busy {
                return;
            }
        }
        panic!("no quiet point at {:?}", now - self.t0);
    }

    fn next_deadline(&self) -> Option<Instant> {
        [
            self.a.s.poll_timeout(),
            self.b.s.poll_timeout(),
            self.a.inbox.front().map(|x| x.0),
            self.b.inbox.front().map(|x| x.0),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Runs until `stop` holds (true) or `limit` has passed (false).
    fn run_until(&mut self, limit: Duration, stop: impl Fn(&Pair) -> bool) -> bool {
        let until = self.now + limit;
        loop {
            self.settle();
            if stop(self) {
                return true;
            }
            match self.next_deadline() {
                Some(t) if t <= until => self.now = self.now.max(t),
                _ => {
                    self.now = until;
                    self.settle();
                    return stop(self);
                }
            }
        }
    }

    fn run_for(&mut self, d: Duration) {
        self.run_until(d, |_| false);
    }

    fn both_up(&self) -> bool {
        self.a.s.state() == State::Up && self.b.s.state() == State::Up
    }

    /// Brings the pair Up and lets the polls of going Up finish.
    fn up(ca: SessionConfig, cb: SessionConfig) -> Self {
        let mut p = Pair::new(ca, cb);
        assert!(p.run_until(ms(5000), Pair::both_up));
        assert!(p.run_until(ms(5000), |p| {
            !p.a.s.poll_in_progress() && !p.b.s.poll_in_progress()
        }));
        p
    }

    /// Packets sent by `side` at or after `since`.
    fn sent_by(&self, side: Side, since: Instant) -> Vec<(Instant, ControlPacket)> {
        self.log
            .iter()
            .filter(|(t, s, _)| *s == side && *t >= since)
            .map(|(t, _, p)| (*t, *p))
            .collect()
    }
}

fn gaps(sent: &[(Instant, ControlPacket)]) -> Vec<Duration> {
    sent.windows(2).map(|w| w[1].0 - w[0].0).collect()
}

fn changed(from: State, to: State, diag: Diag) -> SessionEvent {
    SessionEvent::StateChanged { from, to, diag }
}

#[test]
fn sessions_come_up_within_a_few_packets() {
    let mut p = Pair::new(SessionConfig::default(), SessionConfig::default());
    assert!(p.run_until(ms(5000), Pair::both_up));
    let took = p.now - p.t0;
    assert!(took <= ms(1000) + 3 * LATENCY, "{took:?}");
    assert!(p.log.len() <= 6, "{} packets: {:#?}", p.log.len(), p.log);
    assert_eq!(p.a.s.remote_discriminator(), p.b.s.local_discriminator());
    assert_eq!(p.b.s.remote_discriminator(), p.a.s.local_discriminator());
    for end in [&p.a, &p.b] {
        let to: Vec<State> = end
            .events
            .iter()
            .map(|(_, SessionEvent::StateChanged { to, .. })| *to)
            .collect();
        assert_eq!(to.last(), Some(&State::Up));
        assert!(end.s.up_since().is_some());
    }
    // And it stays up, with no more events.
    let events = (p.a.events.len(), p.b.events.len());
    p.run_for(ms(30_000));
    assert!(p.both_up());
    assert_eq!((p.a.events.len(), p.b.events.len()), events);
    assert_eq!(p.a.s.counters().packets_discarded, 0);
    assert_eq!(p.b.s.counters().packets_discarded, 0);
}

#[test]
fn intervals_negotiate_to_the_slower_side() {
    let mut p = Pair::up(cfg(100, 300, 3), cfg(200, 50, 4));
    // tx = max(own desired tx, remote required rx).
    assert_eq!(p.a.s.tx_interval(), ms(100));
    assert_eq!(p.b.s.tx_interval(), ms(300));
    // detection = remote mult × max(own required rx, remote desired tx).
    assert_eq!(p.a.s.detection_time(), Some(4 * ms(300)));
    assert_eq!(p.b.s.detection_time(), Some(3 * ms(100)));
    let since = p.now;
    p.run_for(ms(10_000));
    let a = p.sent_by(Side::A, since);
    let b = p.sent_by(Side::B, since);
    assert!(a.len() >= 100 && b.len() >= 33, "{} {}", a.len(), b.len());
    assert!(a.iter().chain(&b).all(|(_, x)| !x.poll && !x.final_));
    for g in gaps(&a) {
        assert!(g >= ms(75) && g <= ms(100), "A {g:?}");
    }
    for g in gaps(&b) {
        assert!(g >= ms(225) && g <= ms(300), "B {g:?}");
    }
    assert!(p.both_up());
}

#[test]
fn a_silent_peer_is_detected_after_the_detection_time() {
    let mut p = Pair::up(SessionConfig::default(), SessionConfig::default());
    p.run_for(ms(2000));
    let detect = p.a.s.detection_time().unwrap();
    assert_eq!(detect, ms(900));
    // B stops sending right after one of its packets reached A.
    let before = p.a.last_delivered;
    assert!(p.run_until(ms(1000), |p| p.a.last_delivered != before));
    p.b.mute = true;
    let (muted, last_rx) = (p.now, p.a.last_delivered.unwrap());
    assert!(p.run_until(ms(5000), |p| p.a.s.state() != State::Up));
    let down = p.now;
    assert_eq!(down - last_rx, detect);
    let since_mute = down - muted;
    assert!(
        since_mute >= detect * 3 / 4 && since_mute <= detect + TICK,
        "{since_mute:?}"
    );
    assert_eq!(p.a.s.last_diag(), Diag::ControlDetectionTimeExpired);
    assert_eq!(p.a.s.remote_discriminator(), 0);
    assert_eq!(
        p.a.events.last().map(|e| e.1),
        Some(changed(
            State::Up,
            State::Down,
            Diag::ControlDetectionTimeExpired
        ))
    );
    // A has forgotten B (RFC 5880 6.8.1), so its Down packets carry Your
    // Discriminator 0, which an Up session refuses (as FRR does, so a blind
    // spoof cannot take it down): B finds out by its own detection time.
    let b_detect = p.b.s.detection_time().unwrap();
    assert!(p.run_until(ms(2000), |p| p.b.s.state() == State::Down));
    assert_eq!(p.b.s.last_diag(), Diag::ControlDetectionTimeExpired);
    assert!(p.now - down <= b_detect, "{:?}", p.now - down);
    assert!(p.b.s.counters().packets_discarded > 0);
    // Then B, Down, takes A's packets again: it hears A (Init), A cannot
    // hear B.
    assert!(p.run_until(ms(2000), |p| p.b.s.state() == State::Init));
    assert_eq!(p.b.s.remote_discriminator(), p.a.s.local_discriminator());
    assert_eq!(p.a.s.state(), State::Down);
}

#[test]
fn detection_counts_from_the_last_packet_wherever_the_silence_starts() {
    for offset_ms in (0..300).step_by(7) {
        let mut p = Pair::up(SessionConfig::default(), SessionConfig::default());
        p.run_for(ms(2000 + offset_ms));
        let detect = p.a.s.detection_time().unwrap();
        let b_interval = p.b.s.tx_interval();
        p.b.mute = true;
        let muted = p.now;
        assert!(p.run_until(ms(5000), |p| p.a.s.state() != State::Up));
        let last_rx = p.a.last_delivered.unwrap();
        assert_eq!(p.now - last_rx, detect, "offset {offset_ms} ms");
        // B's last packet left at most one interval before the silence
        // began, and was in flight for one tick.
        let since_mute = p.now - muted;
        assert!(
            since_mute + b_interval >= detect && since_mute <= detect + TICK,
            "offset {offset_ms} ms: {since_mute:?}"
        );
    }
}

#[test]
fn a_config_change_is_polled_and_applies_after_the_final() {
    let mut p = Pair::up(cfg(100, 100, 3), cfg(100, 100, 3));
    p.b.drop_finals = true;
    let since = p.now;
    p.a.s.set_config(p.now, cfg(400, 100, 3)).unwrap();
    assert!(p.a.s.poll_in_progress());
    p.run_for(ms(1000));
    // Without the Final, A keeps polling at the old rate, and B already
    // allows for the new one.
    let polled = p.sent_by(Side::A, since);
    assert!(polled.len() >= 10, "{}", polled.len());
    assert!(polled
        .iter()
        .all(|(_, x)| x.poll && x.desired_min_tx == 400_000));
    assert!(gaps(&polled).iter().all(|g| *g <= ms(100)));
    assert_eq!(p.a.s.tx_interval(), ms(100));
    assert_eq!(p.b.s.detection_time(), Some(3 * ms(400)));
    // The Final gets through: the new interval applies.
    p.b.drop_finals = false;
    assert!(p.run_until(ms(1000), |p| !p.a.s.poll_in_progress()));
    assert_eq!(p.a.s.tx_interval(), ms(400));
    let since = p.now;
    p.run_for(ms(5000));
    let after = p.sent_by(Side::A, since);
    assert!(after.iter().all(|(_, x)| !x.poll));
    for g in gaps(&after) {
        assert!(g >= ms(300) && g <= ms(400), "{g:?}");
    }
    assert!(p.both_up());
}

#[test]
fn admin_down_takes_the_peer_down_with_diag_7() {
    let mut p = Pair::up(SessionConfig::default(), SessionConfig::default());
    let since = p.now;
    p.a.s.set_admin_down(p.now, true);
    assert!(p.run_until(ms(100), |p| p.b.s.state() == State::Down));
    assert!(p.now - since <= LATENCY, "{:?}", p.now - since);
    let (_, first) = p.sent_by(Side::A, since)[0];
    assert_eq!(
        (first.state, first.diag),
        (State::AdminDown, Diag::AdministrativelyDown)
    );
    assert_eq!(p.b.s.last_diag(), Diag::AdministrativelyDown);
    assert_eq!(p.b.s.remote_state(), State::AdminDown);
    assert_eq!(
        p.b.events.last().map(|e| e.1),
        Some(changed(State::Up, State::Down, Diag::AdministrativelyDown))
    );
    // It stays so.
    p.run_for(ms(10_000));
    assert_eq!(
        (p.a.s.state(), p.b.s.state()),
        (State::AdminDown, State::Down)
    );
    // And comes back.
    p.a.s.set_admin_down(p.now, false);
    assert!(p.run_until(ms(3000), Pair::both_up));
}

#[test]
fn the_passive_side_waits_for_the_first_packet() {
    let passive = SessionConfig {
        passive: true,
        ..SessionConfig::default()
    };
    let mut p = Pair::new(SessionConfig::default(), passive);
    p.a.mute = true;
    p.run_for(ms(5000));
    assert!(p.sent_by(Side::B, p.t0).is_empty());
    assert!(p.sent_by(Side::A, p.t0).len() >= 5);
    p.a.mute = false;
    let since = p.now;
    assert!(p.run_until(ms(3000), Pair::both_up));
    // B answered A's first packet as soon as it arrived.
    let first_a = p.sent_by(Side::A, since)[0].0;
    let first_b = p.sent_by(Side::B, since)[0].0;
    assert_eq!(first_b, first_a + LATENCY);

    // Two passive sides never speak.
    let mut p = Pair::new(passive, passive);
    p.run_for(ms(10_000));
    assert!(p.log.is_empty());
}

#[test]
fn sessions_recover_after_a_blackout() {
    let mut p = Pair::up(SessionConfig::default(), SessionConfig::default());
    p.a.mute = true;
    p.b.mute = true;
    p.run_for(ms(5000));
    for end in [&p.a, &p.b] {
        assert_eq!(end.s.state(), State::Down);
        assert_eq!(end.s.last_diag(), Diag::ControlDetectionTimeExpired);
        assert_eq!(end.s.remote_discriminator(), 0);
    }
    // While down and alone, each sends once every 0.75–1 s.
    let quiet = p.sent_by(Side::A, p.now - ms(3000));
    assert!(gaps(&quiet).iter().all(|g| *g >= ms(750) && *g <= ms(1000)));
    p.a.mute = false;
    p.b.mute = false;
    assert!(p.run_until(ms(3000), Pair::both_up));
}
