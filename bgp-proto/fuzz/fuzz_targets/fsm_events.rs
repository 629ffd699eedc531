//! Drives the session FSM with a sequence of events read from the input:
//! starts and stops, connects and closes, OPENs (decoded from arbitrary
//! octets, or well-formed with varied hold times, AS and capabilities),
//! KEEPALIVEs, NOTIFICATIONs, UPDATEs, decode errors and time passing.
//! Invariants: no panic; Established only after an OPEN was received;
//! a session that is Established has a negotiated hold time of 0 or at
//! least 3 s; the FSM always knows when it next wants time.
#![no_main]

use bgp_proto::fsm::{Event, Fsm, FsmConfig, Incoming, State, Timer};
use bgp_proto::wire::{decode_message, Decoded};
use bgp_proto::{Capability, Family, Notification, OpenMessage, SessionContext};
use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

fn open(hold: u16, asn: u32, caps: u8) -> OpenMessage {
    let mut capabilities = vec![Capability::FourOctetAs(asn)];
    if caps & 1 != 0 {
        capabilities.push(Capability::Multiprotocol(Family::IPV4_UNICAST));
    }
    if caps & 2 != 0 {
        capabilities.push(Capability::Multiprotocol(Family::IPV6_UNICAST));
    }
    if caps & 4 != 0 {
        capabilities.push(Capability::RouteRefresh);
    }
    OpenMessage {
        version: 4,
        my_as: u16::try_from(asn).unwrap_or(23456),
        hold_time: hold,
        bgp_id: Ipv4Addr::new(10, 0, 0, 2),
        capabilities,
        other_params: Vec::new(),
        extended_params: false,
    }
}

fuzz_target!(|data: &[u8]| {
    let t0 = Instant::now();
    let mut now = t0;
    let mut cfg = FsmConfig::new(65000, Ipv4Addr::new(10, 0, 0, 1), 65100);
    cfg.min_hold_time = u16::from(data.first().copied().unwrap_or(3) % 8);
    let mut fsm = Fsm::new(cfg);
    let mut saw_open = false;
    let mut it = data.iter().skip(1).copied();
    let mut next = move || it.next();
    let mut steps = 0;
    while let Some(op) = next() {
        steps += 1;
        if steps > 300 {
            break;
        }
        let arg = next().unwrap_or(0);
        let ev = match op % 13 {
            0 => Event::ManualStart,
            1 => Event::ManualStop(None),
            2 => Event::TcpConnected,
            3 => Event::TcpFailed,
            4 => Event::TcpClosed,
            5 => {
                let asn = if arg & 8 != 0 {
                    65100
                } else {
                    65000 + u32::from(arg)
                };
                let hold = u16::from(next().unwrap_or(0)) % 12;
                Event::Received(Incoming::Open(open(hold, asn, arg)))
            }
            6 => {
                // An OPEN from octets: a header in front of `arg` of them.
                let body: Vec<u8> = (0..arg).map(|_| next().unwrap_or(0)).collect();
                let Ok(len) = u16::try_from(19 + body.len()) else {
                    continue;
                };
                let mut frame = BytesMut::from(&[0xffu8; 16][..]);
                frame.extend_from_slice(&len.to_be_bytes());
                frame.extend_from_slice(&[1]);
                frame.extend_from_slice(&body);
                match decode_message(frame.freeze(), &SessionContext::default()) {
                    Ok(Decoded::Open(o)) => Event::Received(Incoming::Open(o)),
                    Ok(_) => continue,
                    Err(e) => Event::DecodeError(e.notification()),
                }
            }
            7 => Event::Received(Incoming::Keepalive),
            8 => Event::Received(Incoming::Update),
            9 => Event::Received(Incoming::Notification(Notification::new(6, arg % 12, []))),
            10 => Event::TimerExpired(match arg % 4 {
                0 => Timer::ConnectRetry,
                1 => Timer::Hold,
                2 => Timer::Keepalive,
                _ => Timer::IdleHold,
            }),
            11 => Event::SendHoldTimerExpired,
            _ => {
                now += Duration::from_secs(u64::from(arg));
                let _ = fsm.handle_timeout(now);
                continue;
            }
        };
        if matches!(ev, Event::Received(Incoming::Open(_))) {
            saw_open = true;
        }
        let _ = fsm.handle(now, ev);
        if fsm.state() == State::Established {
            assert!(saw_open, "Established without an OPEN");
            let n = fsm
                .negotiated()
                .expect("an Established session has negotiated");
            assert!(n.hold_time == 0 || n.hold_time >= 3, "hold {}", n.hold_time);
            if n.hold_time > 0 {
                assert!(fsm.poll_timeout().is_some(), "no hold timer");
            }
        }
    }
});
