//! Record and replay, on a session driven by hand.

use super::*;
use crate::core::record::{replay, Recorder, ReplayError};
use std::io::Write;
use std::sync::Mutex;

/// A `Write` whose bytes the test reads afterwards.
#[derive(Clone, Default)]
struct Shared(Arc<Mutex<Vec<u8>>>);

impl Write for Shared {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A driver in miniature: every input and every poll recorded.
struct Recorded {
    h: H,
    rec: Recorder,
    buf: Shared,
}

impl Recorded {
    fn new() -> Recorded {
        let h = H::starting(super::LAB);
        let buf = Shared::default();
        let rec = Recorder::new(Box::new(buf.clone()), &h.core, h.t0).unwrap();
        let mut r = Recorded { h, rec, buf };
        r.feed(Input::Fib(crate::core::FibReport::Summary(
            crate::fib::FibSummary {
                startup_complete: true,
                ..crate::fib::FibSummary::default()
            },
        )));
        r
    }

    fn feed(&mut self, input: Input) {
        self.rec.input(self.h.now, &input);
        self.h.core.handle(self.h.now, input);
    }

    fn drain(&mut self) -> usize {
        let mut n = 0;
        loop {
            let out = self.h.core.poll_output();
            self.rec.output(out.as_ref(), false);
            if out.is_none() {
                return n;
            }
            n += 1;
        }
    }

    fn text(&self) -> String {
        String::from_utf8(self.buf.0.lock().unwrap().clone()).unwrap()
    }
}

/// A short life: two sessions, routes, a GR restart timer expiring.
fn session() -> Recorded {
    let mut r = Recorded::new();
    let (a, b) = (Peer::node(2).gr(30), Peer::node2(3));
    for p in [&a, &b] {
        r.feed(Input::Peer(PeerEvent::State {
            peer: p.id,
            addr: p.addr,
            state: State::Established,
        }));
        r.feed(Input::Peer(PeerEvent::Established {
            peer: p.id,
            info: Box::new(r.h.session_info(p)),
        }));
    }
    r.drain();
    let msg = announcement(&a, &["10.241.0.0/24", "fd00:10:241::/64"], &[65100]);
    let ctx = a.ctx();
    let mut body = bytes::BytesMut::new();
    encode_body(&msg, &ctx, &mut body).unwrap();
    let u = Update::decode(body.freeze(), &ctx).unwrap();
    r.feed(Input::Peer(PeerEvent::Update {
        peer: a.id,
        updates: UpdateBurst::new(Arc::new(ctx), vec![u]),
    }));
    r.drain();
    r.feed(Input::Peer(PeerEvent::Down {
        peer: a.id,
        reason: "hold timer expired".into(),
        notification: None,
        graceful: true,
    }));
    r.drain();
    r.h.advance(Duration::from_secs(31));
    r.feed(Input::Tick);
    r.drain();
    r
}

#[test]
fn a_recorded_session_replays_to_the_same_outputs() {
    let r = session();
    let stats = replay(r.text().as_bytes()).unwrap();
    assert_eq!(stats.inputs, 8);
    // Initial tables and End-of-RIBs, the route out to the other cluster
    // and the FIB, the stale sweep at the timer: every one compared.
    assert!(stats.outputs >= 6, "{stats:?}");
}

#[test]
fn a_replay_that_differs_names_the_line() {
    let r = session();
    let text = r.text();
    // The recorded UPDATE said 10.241.0.0/24; make it 10.242.0.0/24: the
    // replayed core then exports and installs another prefix.
    let first = text.lines().find(|l| l.contains("180af100")).unwrap();
    assert!(first.starts_with("{\"in\""), "{first}");
    let changed = text.replacen("180af100", "180af200", 1);
    match replay(changed.as_bytes()) {
        Err(ReplayError::Mismatch { line, got, want }) => {
            assert!(line > 1);
            assert_ne!(got, want);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_recording_must_start_with_the_config() {
    let r = session();
    let without_start: String = r.text().lines().skip(1).map(|l| format!("{l}\n")).collect();
    assert!(matches!(
        replay(without_start.as_bytes()),
        Err(ReplayError::Read { line: 1, .. })
    ));
}
