//! Holding our OPEN until the link is known live (BFD strict mode, as
//! FRR's `bfd strict` and draft-ietf-idr-bgp-bfd-strict-mode): a
//! connection made while the gate is shut waits in Connect or Active with
//! the OPEN hold timer running, the peer's OPEN kept; when the gate opens
//! our OPEN goes out and the kept OPEN is answered, as RFC 4271's
//! DelayOpen does when its timer ends. The gate shutting on a connection
//! past its OPEN (BFD went down before the session was up) ends that
//! connection with Cease / BFD Down (RFC 9384); an Established session is
//! the core's to end.

use super::{Action, Fsm, Incoming, Message, State, Timer};
use crate::msg::notification::{cease_subcode, code};
use crate::msg::{Notification, OpenMessage};
use std::time::Instant;

/// The gate's state.
#[derive(Debug, Clone)]
pub(super) struct OpenGate {
    allowed: bool,
    /// A connection is up and waiting for the gate.
    holding: bool,
    /// The peer's OPEN, received while holding (boxed: rarely there).
    kept: Option<Box<OpenMessage>>,
}

impl OpenGate {
    /// Shut until [`Fsm::open_allowed`] opens it, if `shut`.
    pub(super) fn new(shut: bool) -> Self {
        OpenGate {
            allowed: !shut,
            holding: false,
            kept: None,
        }
    }

    /// A connection came up: true if it must wait.
    pub(super) fn hold(&mut self) -> bool {
        self.kept = None;
        self.holding = !self.allowed;
        self.holding
    }

    /// The waiting connection is gone.
    pub(super) fn release(&mut self) {
        self.holding = false;
        self.kept = None;
    }

    /// A connection is waiting.
    pub(super) fn is_holding(&self) -> bool {
        self.holding
    }
}

impl Fsm {
    /// Whether a connection's OPEN waits for [`super::Event::OpenAllowed`].
    pub fn is_holding_open(&self) -> bool {
        self.gate.is_holding()
    }

    pub(super) fn open_allowed(&mut self, now: Instant, allowed: bool, out: &mut Vec<Action>) {
        self.gate.allowed = allowed;
        if !allowed && matches!(self.state, State::OpenSent | State::OpenConfirm) {
            let n = Notification::new(code::CEASE, cease_subcode::BFD_DOWN, []);
            self.fail_sending(now, n, out);
            return;
        }
        if !allowed || !self.gate.holding {
            return;
        }
        let kept = self.gate.kept.take();
        self.gate.release();
        self.timers.arm(Timer::Hold, now + self.cfg.open_hold_time);
        self.send_open(out);
        if let Some(open) = kept {
            self.open_received(now, *open, out);
        }
    }

    /// RFC 4271 8.2.2, Connect and Active, TCP connection up: send our
    /// OPEN and wait for the peer's (the hold timer is armed by then).
    pub(super) fn send_open(&mut self, out: &mut Vec<Action>) {
        out.push(Action::Send(Message::Open(OpenMessage::clone(
            &self.local_open,
        ))));
        self.goto(State::OpenSent, out);
    }

    /// A message on a waiting connection: its OPEN is kept for later;
    /// anything else before the OPENs are exchanged drops the connection
    /// (RFC 4271 8.2.2, Connect and Active, "any other event").
    pub(super) fn received_while_held(
        &mut self,
        now: Instant,
        msg: Incoming,
        out: &mut Vec<Action>,
    ) {
        if !self.gate.holding {
            return;
        }
        match msg {
            Incoming::Open(open) if self.gate.kept.is_none() => {
                self.gate.kept = Some(Box::new(open));
            }
            _ => self.drop_held(now, out),
        }
    }

    /// The waiting connection ends (the OPEN hold time passed, the peer
    /// closed it, gave up with a NOTIFICATION or sent what it should not
    /// have): closed, and the next one comes as after a failed dial (RFC
    /// 4271 8.2.2, Connect, Event 18).
    pub(super) fn drop_held(&mut self, now: Instant, out: &mut Vec<Action>) {
        if !self.gate.holding {
            return;
        }
        self.gate.release();
        self.timers.disarm(Timer::Hold);
        out.push(Action::Close(None));
        if !self.cfg.passive {
            let retry = self.jitter.apply(self.cfg.connect_retry);
            self.timers.arm(Timer::ConnectRetry, now + retry);
        }
        self.goto(State::Active, out);
    }
}
