//! Unit tests of each transition, timer rule and bound, on a fake clock
//! with hand-made peer packets.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;

const LOCAL: u32 = 0x1111_1111;
const PEER: u32 = 0x2222_2222;

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

/// A packet from the peer: 100 ms both ways, multiplier 3.
fn peer(state: State, your: u32) -> ControlPacket {
    ControlPacket {
        version: 1,
        diag: Diag::NoDiagnostic,
        state,
        poll: false,
        final_: false,
        control_plane_independent: false,
        authentication_present: false,
        demand: false,
        multipoint: false,
        detect_mult: 3,
        length: 24,
        my_discriminator: PEER,
        your_discriminator: your,
        desired_min_tx: 100_000,
        required_min_rx: 100_000,
        required_min_echo_rx: 0,
    }
}

/// An Up packet with F whose 10 s Desired Min TX keeps the detection
/// time (30 s) out of the way of tests that run our own timers only.
fn final_slow() -> ControlPacket {
    let mut p = peer(State::Up, LOCAL);
    p.final_ = true;
    p.desired_min_tx = 10_000_000;
    p
}

fn drain(s: &mut Session, now: Instant) -> Vec<ControlPacket> {
    std::iter::from_fn(|| s.poll_transmit(now))
        .take(10)
        .collect()
}

fn events(s: &mut Session) -> Vec<SessionEvent> {
    std::iter::from_fn(|| s.poll_event()).collect()
}

fn changed(from: State, to: State, diag: Diag) -> SessionEvent {
    SessionEvent::StateChanged { from, to, diag }
}

/// A session brought Up by the peer at `t0`, its outputs drained.
fn up_session(t0: Instant, config: SessionConfig) -> Session {
    let mut s = Session::new(LOCAL, config, t0).unwrap();
    drain(&mut s, t0);
    s.handle_packet(t0, &peer(State::Down, 0)).unwrap();
    s.handle_packet(t0, &peer(State::Up, LOCAL)).unwrap();
    assert_eq!(s.state(), State::Up);
    drain(&mut s, t0);
    events(&mut s);
    s
}

/// Runs the session's own timers from `from` to `to`, collecting what it
/// sends with the instant.
fn run(s: &mut Session, from: Instant, to: Instant) -> Vec<(Instant, ControlPacket)> {
    let mut out = Vec::new();
    let mut now = from;
    while let Some(t) = s.poll_timeout().filter(|t| *t <= to) {
        now = now.max(t);
        s.handle_timeout(now);
        while let Some(p) = s.poll_transmit(now) {
            out.push((now, p));
        }
    }
    out
}

#[test]
fn new_rejects_bad_configuration() {
    let t0 = Instant::now();
    let bad = |c: SessionConfig| Session::new(LOCAL, c, t0).unwrap_err();
    assert_eq!(
        Session::new(0, SessionConfig::default(), t0).unwrap_err(),
        SessionError::ZeroLocalDiscriminator
    );
    assert_eq!(bad(cfg(100, 100, 0)), SessionError::ZeroDetectMult);
    assert!(matches!(
        bad(cfg(0, 100, 3)),
        SessionError::IntervalOutOfRange {
            field: "desired_min_tx",
            ..
        }
    ));
    let mut c = cfg(100, 100, 3);
    c.required_min_rx = Duration::from_micros(999);
    assert!(matches!(bad(c), SessionError::IntervalOutOfRange { .. }));
    c.required_min_rx = Duration::from_micros(u64::from(u32::MAX) + 1);
    assert!(matches!(bad(c), SessionError::IntervalOutOfRange { .. }));
    c.required_min_rx = Duration::from_micros(u64::from(u32::MAX));
    assert!(Session::new(LOCAL, c, t0).is_ok());
}

#[test]
fn active_session_sends_down_at_once_then_once_a_second() {
    let t0 = Instant::now();
    let mut s = Session::new(LOCAL, cfg(100, 50, 3), t0).unwrap();
    assert_eq!(s.poll_timeout(), Some(t0));
    let first = drain(&mut s, t0);
    assert_eq!(first.len(), 1);
    let p = first[0];
    assert_eq!((p.state, p.diag), (State::Down, Diag::NoDiagnostic));
    assert_eq!((p.my_discriminator, p.your_discriminator), (LOCAL, 0));
    // RFC 5880 6.8.3: at least one second while not Up, whatever we want.
    assert_eq!(p.desired_min_tx, 1_000_000);
    assert_eq!(p.required_min_rx, 50_000);
    assert!(!p.poll && !p.final_ && !p.demand && !p.authentication_present);
    assert_eq!(ControlPacket::decode(&p.encode()), Ok(p));
    assert_eq!(s.tx_interval(), SLOW_TX_INTERVAL);
    let sent = run(&mut s, t0, t0 + Duration::from_secs(60));
    assert!(sent.len() >= 60, "{}", sent.len());
    let mut last = t0;
    for (t, _) in sent {
        let gap = t - last;
        assert!(gap >= ms(750) && gap <= ms(1000), "{gap:?}");
        last = t;
    }
}

#[test]
fn passive_session_waits_for_the_peer() {
    let t0 = Instant::now();
    let mut c = cfg(100, 100, 3);
    c.passive = true;
    let mut s = Session::new(LOCAL, c, t0).unwrap();
    assert_eq!(s.poll_timeout(), None);
    assert!(run(&mut s, t0, t0 + Duration::from_secs(10)).is_empty());
    let t1 = t0 + Duration::from_secs(10);
    s.handle_packet(t1, &peer(State::Down, 0)).unwrap();
    let out = drain(&mut s, t1);
    assert_eq!(out.len(), 1);
    assert_eq!(
        (out[0].state, out[0].your_discriminator),
        (State::Init, PEER)
    );
}

#[test]
fn three_way_handshake_brings_the_session_up() {
    let t0 = Instant::now();
    let mut s = Session::new(LOCAL, cfg(100, 100, 3), t0).unwrap();
    drain(&mut s, t0);
    s.handle_packet(t0, &peer(State::Down, 0)).unwrap();
    assert_eq!(s.state(), State::Init);
    assert_eq!(s.remote_discriminator(), PEER);
    s.handle_packet(t0 + ms(1), &peer(State::Up, LOCAL))
        .unwrap();
    assert_eq!(s.state(), State::Up);
    assert_eq!(s.up_since(), Some(t0 + ms(1)));
    assert_eq!(
        events(&mut s),
        vec![
            changed(State::Down, State::Init, Diag::NoDiagnostic),
            changed(State::Init, State::Up, Diag::NoDiagnostic),
        ]
    );
    // The change into Up is announced at once.
    let out = drain(&mut s, t0 + ms(1));
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].state, State::Up);

    // Down + remote Init goes straight to Up.
    let mut s = Session::new(LOCAL, cfg(100, 100, 3), t0).unwrap();
    s.handle_packet(t0, &peer(State::Init, LOCAL)).unwrap();
    assert_eq!(s.state(), State::Up);
    // Down + remote Up stays Down.
    let mut s = Session::new(LOCAL, cfg(100, 100, 3), t0).unwrap();
    s.handle_packet(t0, &peer(State::Up, LOCAL)).unwrap();
    assert_eq!(s.state(), State::Down);
    assert_eq!(s.counters().state_changes, 0);
}

#[test]
fn peer_down_takes_an_up_session_down_with_diag_3() {
    let t0 = Instant::now();
    let mut s = up_session(t0, cfg(100, 100, 3));
    let t1 = t0 + ms(50);
    s.handle_packet(t1, &peer(State::Down, LOCAL)).unwrap();
    assert_eq!(s.state(), State::Down);
    assert_eq!(s.last_diag(), Diag::NeighborSignaledSessionDown);
    assert_eq!(s.up_since(), None);
    assert_eq!(
        events(&mut s),
        vec![changed(
            State::Up,
            State::Down,
            Diag::NeighborSignaledSessionDown
        )]
    );
    let sent = run(&mut s, t1, t1 + Duration::from_secs(2));
    let (_, p) = sent.first().copied().unwrap();
    assert_eq!(
        (p.state, p.diag),
        (State::Down, Diag::NeighborSignaledSessionDown)
    );
    assert_eq!(p.desired_min_tx, 1_000_000);
}

#[test]
fn peer_admin_down_takes_us_down_with_diag_7_and_keeps_us_down() {
    let t0 = Instant::now();
    let mut s = up_session(t0, cfg(100, 100, 3));
    let mut p = peer(State::AdminDown, LOCAL);
    p.diag = Diag::AdministrativelyDown;
    s.handle_packet(t0, &p).unwrap();
    assert_eq!(s.state(), State::Down);
    assert_eq!(s.last_diag(), Diag::AdministrativelyDown);
    assert_eq!(s.remote_state(), State::AdminDown);
    assert_eq!(s.remote_diag(), Diag::AdministrativelyDown);
    assert_eq!(
        events(&mut s),
        vec![changed(State::Up, State::Down, Diag::AdministrativelyDown)]
    );
    // While the peer stays AdminDown we stay Down.
    for i in 1..10 {
        s.handle_packet(t0 + ms(100 * i), &p).unwrap();
    }
    assert_eq!(s.state(), State::Down);
    assert!(events(&mut s).is_empty());
    // From Init too.
    let mut s = Session::new(LOCAL, cfg(100, 100, 3), t0).unwrap();
    s.handle_packet(t0, &peer(State::Down, 0)).unwrap();
    s.handle_packet(t0, &peer(State::AdminDown, 0)).unwrap();
    assert_eq!(
        (s.state(), s.last_diag()),
        (State::Down, Diag::AdministrativelyDown)
    );
}

#[test]
fn discarded_packets_change_nothing_and_are_counted_by_reason() {
    let t0 = Instant::now();
    let mut s = up_session(t0, cfg(100, 100, 3));
    let before = s.counters();
    assert_eq!(
        s.handle_packet(t0, &peer(State::Down, 0x3333)),
        Err(SessionError::WrongDiscriminator {
            ours: LOCAL,
            got: 0x3333
        })
    );
    // A restarted peer (or a blind spoof) cannot take an Up session down.
    assert_eq!(
        s.handle_packet(t0, &peer(State::Down, 0)),
        Err(SessionError::Unbound(State::Up))
    );
    let mut bad = peer(State::Down, LOCAL);
    bad.detect_mult = 0;
    assert_eq!(
        s.handle_packet(t0, &bad),
        Err(SessionError::Malformed(DecodeError::ZeroDetectMult))
    );
    assert_eq!(s.state(), State::Up);
    assert_eq!(s.counters().packets_discarded, before.packets_discarded + 3);
    assert_eq!(s.counters().packets_in, before.packets_in);
    s.set_admin_down(t0, true);
    assert_eq!(
        s.handle_packet(t0, &peer(State::Up, LOCAL)),
        Err(SessionError::AdminDown)
    );
}

#[test]
fn a_poll_is_answered_at_once_with_final_and_only_once() {
    let t0 = Instant::now();
    for mut s in [
        up_session(t0, cfg(100, 100, 3)),
        Session::new(LOCAL, cfg(100, 100, 3), t0).unwrap(),
    ] {
        drain(&mut s, t0);
        let mut p = peer(s.state(), LOCAL);
        p.poll = true;
        let t1 = t0 + ms(3);
        s.handle_packet(t1, &p).unwrap();
        assert_eq!(s.poll_timeout(), Some(t1));
        let out = drain(&mut s, t1);
        let finals: Vec<_> = out.iter().filter(|p| p.final_).collect();
        assert_eq!(finals.len(), 1, "{out:?}");
        assert!(!finals[0].poll);
        assert!(s.poll_timeout().unwrap() > t1);
    }
    // Even when the peer wants no periodic packets.
    let mut s = up_session(t0, cfg(100, 100, 3));
    let mut p = peer(State::Up, LOCAL);
    p.required_min_rx = 0;
    s.handle_packet(t0, &p).unwrap();
    assert!(run(&mut s, t0, t0 + ms(250)).is_empty());
    p.poll = true;
    s.handle_packet(t0 + ms(250), &p).unwrap();
    let out = drain(&mut s, t0 + ms(250));
    assert_eq!(out.len(), 1);
    assert!(out[0].final_);
}

#[test]
fn going_up_polls_for_the_faster_rate_and_uses_it_at_once() {
    let t0 = Instant::now();
    let mut s = Session::new(LOCAL, cfg(100, 100, 3), t0).unwrap();
    drain(&mut s, t0);
    s.handle_packet(t0, &peer(State::Init, LOCAL)).unwrap();
    assert!(s.poll_in_progress());
    assert_eq!(s.tx_interval(), ms(100));
    let out = drain(&mut s, t0);
    assert!(out[0].poll && out[0].desired_min_tx == 100_000, "{out:?}");
    let mut f = peer(State::Up, LOCAL);
    f.final_ = true;
    s.handle_packet(t0 + ms(1), &f).unwrap();
    assert!(!s.poll_in_progress());
}

#[test]
fn larger_tx_waits_for_the_final() {
    let t0 = Instant::now();
    let mut s = up_session(t0, cfg(100, 100, 3));
    let f = final_slow();
    s.handle_packet(t0, &f).unwrap(); // ends the poll of going Up
    s.set_config(t0, cfg(500, 100, 3)).unwrap();
    assert!(s.poll_in_progress());
    // RFC 5880 6.5: the poll rides on periodic packets, none extra.
    assert!(drain(&mut s, t0).is_empty());
    assert_eq!(s.tx_interval(), ms(100));
    let sent = run(&mut s, t0, t0 + ms(1000));
    assert!(sent.len() >= 10, "{}", sent.len());
    assert!(sent
        .iter()
        .all(|(_, p)| p.poll && p.desired_min_tx == 500_000));
    let t1 = t0 + ms(1000);
    s.handle_packet(t1, &f).unwrap();
    assert!(!s.poll_in_progress());
    assert_eq!(s.tx_interval(), ms(500));
    let sent = run(&mut s, t1, t1 + ms(3000));
    assert!(sent.iter().all(|(_, p)| !p.poll));
    for w in sent.windows(2) {
        let gap = w[1].0 - w[0].0;
        assert!(gap >= ms(375) && gap <= ms(500), "{gap:?}");
    }
}

#[test]
fn smaller_rx_waits_for_the_final_larger_rx_does_not() {
    let t0 = Instant::now();
    let mut s = up_session(t0, cfg(100, 300, 3));
    let mut f = peer(State::Up, LOCAL);
    f.final_ = true;
    s.handle_packet(t0, &f).unwrap();
    assert_eq!(s.detection_time(), Some(ms(900)));
    s.set_config(t0, cfg(100, 50, 3)).unwrap();
    assert_eq!(s.detection_time(), Some(ms(900)));
    let t1 = t0 + ms(10);
    s.handle_packet(t1, &f).unwrap();
    // 3 × max(50 ms ours, 100 ms the peer's tx).
    assert_eq!(s.detection_time(), Some(ms(300)));
    assert_eq!(s.poll_timeout().map(|t| t <= t1 + ms(300)), Some(true));
    s.set_config(t1, cfg(100, 1000, 3)).unwrap();
    assert_eq!(s.detection_time(), Some(ms(3000)));
}

#[test]
fn a_change_during_a_poll_runs_a_second_poll() {
    let t0 = Instant::now();
    let mut s = up_session(t0, cfg(100, 100, 3));
    let mut f = peer(State::Up, LOCAL);
    f.final_ = true;
    s.handle_packet(t0, &f).unwrap();
    s.set_config(t0, cfg(200, 100, 3)).unwrap();
    s.set_config(t0, cfg(400, 100, 3)).unwrap();
    s.handle_packet(t0 + ms(5), &f).unwrap();
    // The Final may answer a packet that carried 200 ms: use that.
    assert_eq!(s.tx_interval(), ms(200));
    assert!(s.poll_in_progress());
    s.handle_packet(t0 + ms(10), &f).unwrap();
    assert_eq!(s.tx_interval(), ms(400));
    assert!(!s.poll_in_progress());
    // A Final with no poll running is ignored.
    s.handle_packet(t0 + ms(15), &f).unwrap();
    assert_eq!(s.tx_interval(), ms(400));
}

#[test]
fn the_peer_lowering_its_rx_is_honoured_at_once() {
    let t0 = Instant::now();
    let mut s = up_session(t0, cfg(100, 100, 3));
    let mut p = final_slow();
    p.required_min_rx = 2_000_000;
    s.handle_packet(t0, &p).unwrap();
    assert_eq!(s.tx_interval(), Duration::from_secs(2));
    let sent = run(&mut s, t0, t0 + Duration::from_secs(5));
    let last = sent.last().unwrap().0;
    p.required_min_rx = 100_000;
    s.handle_packet(last + ms(10), &p).unwrap();
    assert_eq!(s.tx_interval(), ms(100));
    assert!(s.poll_timeout().unwrap() <= last + ms(100));
}

#[test]
fn detection_timeout_takes_the_session_down_with_diag_1() {
    let t0 = Instant::now();
    let mut s = up_session(t0, cfg(100, 100, 3));
    let d = s.detection_time().unwrap();
    assert_eq!(d, ms(300));
    s.handle_timeout(t0 + d - Duration::from_micros(1));
    assert_eq!(s.state(), State::Up);
    s.handle_timeout(t0 + d);
    assert_eq!(s.state(), State::Down);
    assert_eq!(s.last_diag(), Diag::ControlDetectionTimeExpired);
    assert_eq!(s.remote_discriminator(), 0);
    assert_eq!(s.detection_time(), None);
    assert_eq!(
        events(&mut s),
        vec![changed(
            State::Up,
            State::Down,
            Diag::ControlDetectionTimeExpired
        )]
    );
}

#[test]
fn detection_timeout_while_down_only_forgets_the_peer() {
    let t0 = Instant::now();
    let mut c = cfg(100, 100, 3);
    c.passive = true;
    let mut s = Session::new(LOCAL, c, t0).unwrap();
    s.handle_packet(t0, &peer(State::Up, LOCAL)).unwrap();
    assert_eq!((s.state(), s.remote_discriminator()), (State::Down, PEER));
    assert!(!drain(&mut s, t0).is_empty());
    run(&mut s, t0, t0 + Duration::from_secs(2));
    assert_eq!((s.state(), s.remote_discriminator()), (State::Down, 0));
    assert!(events(&mut s).is_empty());
    // Passive again: silent.
    assert_eq!(s.poll_timeout(), None);
}

#[test]
fn remote_demand_mode_stops_periodic_packets_while_both_are_up() {
    let t0 = Instant::now();
    let mut s = up_session(t0, cfg(100, 100, 3));
    let mut f = peer(State::Up, LOCAL);
    f.final_ = true;
    f.demand = true;
    s.handle_packet(t0, &f).unwrap();
    assert!(run(&mut s, t0, t0 + ms(250)).is_empty());
    // Our own poll sequence still goes out.
    s.set_config(t0 + ms(250), cfg(200, 100, 3)).unwrap();
    let sent = run(&mut s, t0 + ms(250), t0 + ms(300));
    assert!(!sent.is_empty() && sent.iter().all(|(_, p)| p.poll));
}

#[test]
fn detect_mult_1_jitters_between_75_and_90_percent() {
    let t0 = Instant::now();
    let mut s = up_session(t0, cfg(100, 100, 1));
    s.handle_packet(t0, &final_slow()).unwrap();
    let sent = run(&mut s, t0, t0 + Duration::from_secs(10));
    assert!(sent.len() > 100);
    for w in sent.windows(2) {
        let gap = w[1].0 - w[0].0;
        assert!(gap >= ms(75) && gap <= ms(90), "{gap:?}");
    }
}

#[test]
fn changes_while_not_up_do_not_speed_up_sending() {
    let t0 = Instant::now();
    let mut s = Session::new(LOCAL, cfg(100, 100, 3), t0).unwrap();
    drain(&mut s, t0);
    let mut p = peer(State::Down, 0);
    p.desired_min_tx = 1_000_000;
    s.handle_packet(t0 + ms(10), &p).unwrap();
    assert_eq!(s.state(), State::Init);
    assert!(drain(&mut s, t0 + ms(10)).is_empty());
    // The Init goes out with the next periodic packet, 0.75–1 s after the
    // first one.
    let sent = run(&mut s, t0, t0 + ms(1000));
    assert_eq!(sent.len(), 1);
    assert!(sent[0].0 >= t0 + ms(750));
    assert_eq!(sent[0].1.state, State::Init);
}

#[test]
fn admin_down_is_sent_at_once_and_admin_up_returns_to_down() {
    let t0 = Instant::now();
    let mut s = up_session(t0, cfg(100, 100, 3));
    s.set_admin_down(t0, true);
    assert_eq!(
        (s.state(), s.last_diag()),
        (State::AdminDown, Diag::AdministrativelyDown)
    );
    let out = drain(&mut s, t0);
    assert_eq!(out.len(), 1);
    assert_eq!(
        (out[0].state, out[0].diag),
        (State::AdminDown, Diag::AdministrativelyDown)
    );
    assert_eq!(out[0].your_discriminator, PEER);
    assert!(!out[0].poll);
    // No detection while AdminDown: it stays AdminDown for good.
    let sent = run(&mut s, t0, t0 + Duration::from_secs(10));
    assert!(sent.iter().all(|(_, p)| p.state == State::AdminDown));
    assert_eq!(s.state(), State::AdminDown);
    let t1 = t0 + Duration::from_secs(10);
    s.set_admin_down(t1, false);
    assert_eq!(s.state(), State::Down);
    let out = drain(&mut s, t1);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].state, State::Down);
    assert_eq!(
        events(&mut s),
        vec![
            changed(State::Up, State::AdminDown, Diag::AdministrativelyDown),
            changed(State::AdminDown, State::Down, Diag::NoDiagnostic),
        ]
    );
}

#[test]
fn the_event_queue_is_bounded_and_keeps_the_latest_state() {
    let t0 = Instant::now();
    let mut s = Session::new(LOCAL, cfg(100, 100, 3), t0).unwrap();
    for i in 0..1000 {
        let t = t0 + ms(i);
        s.handle_packet(t, &peer(State::Init, LOCAL)).unwrap();
        s.handle_packet(t, &peer(State::Down, LOCAL)).unwrap();
        let _ = drain(&mut s, t);
    }
    s.handle_packet(t0 + ms(1000), &peer(State::Init, LOCAL))
        .unwrap();
    assert_eq!(s.counters().state_changes, 2001);
    let evs = events(&mut s);
    assert_eq!(evs.len(), EVENT_QUEUE_LEN);
    assert_eq!(evs[0], changed(State::Down, State::Up, Diag::NoDiagnostic));
    assert!(matches!(
        evs.last(),
        Some(SessionEvent::StateChanged { to: State::Up, .. })
    ));
    assert_eq!(s.counters().events_coalesced, 2001 - EVENT_QUEUE_LEN as u64);
}

#[test]
fn a_flapping_peer_gets_at_most_one_packet_per_packet_it_sends() {
    let t0 = Instant::now();
    let mut s = Session::new(LOCAL, cfg(100, 100, 3), t0).unwrap();
    let mut sent = drain(&mut s, t0).len();
    for i in 0..1000u32 {
        let t = t0 + Duration::from_micros(u64::from(i) * 100);
        let state = if i % 2 == 0 { State::Init } else { State::Down };
        let mut p = peer(state, LOCAL);
        p.poll = true;
        s.handle_packet(t, &p).unwrap();
        sent += drain(&mut s, t).len();
    }
    // 1000 polls answered, plus one packet per change into Up (500).
    assert!(sent <= 1 + 1000 + 500, "{sent}");
}

#[test]
fn set_config_errors_change_nothing() {
    let t0 = Instant::now();
    let mut s = up_session(t0, cfg(100, 100, 3));
    let before = *s.config();
    assert_eq!(
        s.set_config(t0, cfg(100, 100, 0)),
        Err(SessionError::ZeroDetectMult)
    );
    assert_eq!(*s.config(), before);
    let mut c = cfg(100, 100, 5);
    c.control_plane_independent = true;
    s.set_config(t0, c).unwrap();
    let mut f = peer(State::Up, LOCAL);
    f.final_ = true;
    s.handle_packet(t0, &f).unwrap();
    let (_, p) = run(&mut s, t0, t0 + ms(100))[0];
    assert!(p.control_plane_independent);
    assert_eq!(p.detect_mult, 5);
}
