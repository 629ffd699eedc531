//! Decodes arbitrary octets as BFD control packets and feeds those that
//! decode to a session, between time passing, administrative toggles and
//! configuration changes read from the same input; after each step the
//! session is driven as an edge would (handle_timeout when due, then
//! poll_transmit and poll_event until empty).
//! Invariants: no panic; every packet the session sends decodes to itself
//! (it never sends what a peer must discard); at most one packet per step
//! and instant; the event queue stays within its bound; an Up session knows
//! its peer; while not Up the advertised Desired Min TX is at least 1 s;
//! after driving, the next deadline is in the future.
#![no_main]

use bfd::session::{EVENT_QUEUE_LEN, MIN_INTERVAL};
use bfd::{ControlPacket, Session, SessionConfig, State, PACKET_LEN};
use libfuzzer_sys::fuzz_target;
use std::time::{Duration, Instant};

const LOCAL: u32 = 0x0102_0304;

fn config(a: u8, b: u8, c: u8) -> SessionConfig {
    SessionConfig {
        desired_min_tx: Duration::from_millis(u64::from(a) * 10),
        required_min_rx: Duration::from_millis(u64::from(b) * 10),
        detect_mult: c % 6,
        control_plane_independent: c & 0x40 != 0,
        passive: c & 0x80 != 0,
    }
}

/// Drives the session at `now` as the edge does and checks what comes out.
fn drive(s: &mut Session, now: Instant) {
    if s.poll_timeout().is_some_and(|t| t <= now) {
        s.handle_timeout(now);
    }
    let mut sent = 0;
    while let Some(p) = s.poll_transmit(now) {
        sent += 1;
        assert!(sent <= 1, "two packets at one instant");
        assert_eq!(ControlPacket::decode(&p.encode()), Ok(p), "we sent {p:?}");
        assert_eq!(p.my_discriminator, LOCAL);
        assert!(!(p.poll && p.final_));
        if p.state != State::Up {
            assert!(p.desired_min_tx >= 1_000_000, "{p:?}");
        }
    }
    let mut events = 0;
    while s.poll_event().is_some() {
        events += 1;
    }
    assert!(events <= EVENT_QUEUE_LEN);
    assert!(
        s.poll_timeout().is_none_or(|t| t > now),
        "deadline not moved"
    );
    if s.state() == State::Up {
        assert_ne!(s.remote_discriminator(), 0);
        assert!(s.up_since().is_some());
        assert!(s.detection_time().is_some());
    }
    assert!(s.tx_interval() >= MIN_INTERVAL);
}

/// The input, read an octet at a time (zeros past its end).
struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn byte(&mut self) -> u8 {
        let (first, rest) = self.0.split_first().map_or((0, &[][..]), |(f, r)| (*f, r));
        self.0 = rest;
        first
    }
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input(data);
    let mut next = || input.byte();
    let t0 = Instant::now();
    let mut now = t0;
    let cfg = config(next(), next(), next());
    let Ok(mut s) = Session::new(LOCAL, cfg, now)
        .or_else(|_| Session::new(LOCAL, SessionConfig::default(), now))
    else {
        return;
    };
    drive(&mut s, now);
    for _ in 0..400 {
        if input.0.is_empty() {
            break;
        }
        let mut next = || input.byte();
        let op = next();
        match op % 8 {
            // Raw octets, as received.
            0 | 1 => {
                let n = usize::from(next() % 48);
                let buf: Vec<u8> = (0..n).map(|_| next()).collect();
                if let Ok(p) = ControlPacket::decode(&buf) {
                    let _ = s.handle_packet(now, &p);
                }
            }
            // A packet aimed at this session: version 1, Length 24, no A or
            // M bit, Your Discriminator ours (or 0 for op 3), the rest
            // from the input.
            2 | 3 => {
                let mut b = [0u8; PACKET_LEN];
                b.iter_mut().for_each(|x| *x = next());
                b[0] = 0x20 | (b[0] & 0x1f);
                b[1] &= !0x05;
                b[2] = b[2].max(1);
                b[3] = PACKET_LEN as u8;
                b[4] |= 1;
                let your = if op % 8 == 2 { LOCAL } else { 0 };
                b[8..12].copy_from_slice(&your.to_be_bytes());
                if let Ok(p) = ControlPacket::decode(&b) {
                    let _ = s.handle_packet(now, &p);
                }
            }
            // Time passes: up to about 3.3 s.
            4 => {
                let us = u64::from(u16::from_be_bytes([next(), next()])) * 50;
                now += Duration::from_micros(us);
            }
            // Straight to the session's next deadline.
            5 => {
                if let Some(t) = s.poll_timeout() {
                    now = now.max(t);
                }
            }
            6 => s.set_admin_down(now, next() & 1 == 1),
            _ => {
                let before = *s.config();
                if s.set_config(now, config(next(), next(), next())).is_err() {
                    assert_eq!(*s.config(), before);
                }
            }
        }
        drive(&mut s, now);
    }
});
