//! The speakers' BFD sessions as one sans-IO table (scenario D with
//! `--bfd`): one `bfd::Session` per feeder address, all towards the daemon
//! under test, behind a single receiving socket. Datagrams and time go in,
//! datagrams (with the feeder address to send them from) come out; the
//! I/O is [`crate::bfd_speaker`]'s.
//!
//! Demultiplexing (RFC 5880 6.8.6, as the daemon's edge does it): a packet
//! naming one of our discriminators goes to that session, which must own
//! the address the packet was sent to; a packet with Your Discriminator 0
//! goes to the session of the address it was sent to. Our discriminators
//! are [`DISCR_BASE`] + the feeder's index, so the lookup is arithmetic.
//!
//! Invariant: the table holds a fixed set of sessions, made at the start;
//! nothing a packet says makes it grow. It counts every Up and every
//! departure from Up (a false Down while the daemon is alive), and how
//! late it ran a deadline (a Down the harness itself caused shows there).

use bfd::{ControlPacket, Session, SessionConfig, SessionError, SessionEvent, State};
use bfd::{PACKET_LEN, SINGLE_HOP_TTL};
use std::collections::{BTreeSet, HashMap};
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

/// Our discriminator for feeder `i` is this plus `i`.
pub const DISCR_BASE: u32 = 0x6262_0001;

/// Received packets dropped, by reason.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Drops {
    /// Not from the daemon's address.
    pub stranger: u64,
    /// A TTL other than 255 (RFC 5881 5).
    pub ttl: u64,
    /// Not a valid control packet.
    pub malformed: u64,
    /// No session of ours for its discriminator or destination.
    pub unknown: u64,
    /// Refused by its session.
    pub refused: u64,
}

/// What the table has seen so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    /// Sessions in the table.
    pub sessions: usize,
    /// Sessions Up now.
    pub up: usize,
    /// Times a session came Up.
    pub ups: u64,
    /// Times a session left Up (to Down, Init or AdminDown).
    pub downs: u64,
    /// When every session was first Up at once.
    pub all_up_at: Option<Instant>,
    /// The latest the table ran a deadline (how far behind its driver is).
    pub max_late: Duration,
    /// Packets sent.
    pub packets_out: u64,
    /// Packets the sending socket refused (counted by the I/O, lost).
    pub send_errors: u64,
    /// Packets taken by a session.
    pub packets_in: u64,
    /// Received packets dropped.
    pub drops: Drops,
}

struct Entry {
    local: Ipv4Addr,
    session: Session,
    deadline: Option<Instant>,
    up: bool,
}

/// The sessions of every feeder address with one remote system.
pub struct Table {
    remote: Ipv4Addr,
    entries: Vec<Entry>,
    by_addr: HashMap<Ipv4Addr, usize>,
    deadlines: BTreeSet<(Instant, usize)>,
    /// Sessions that took an input since their output was last drained.
    touched: BTreeSet<usize>,
    tally: Tally,
}

impl Table {
    /// One active session per address of `locals` towards `remote`, all
    /// Down and with their first packet due at `now`.
    pub fn new(
        remote: Ipv4Addr,
        locals: &[Ipv4Addr],
        config: SessionConfig,
        now: Instant,
    ) -> Result<Table, SessionError> {
        let mut t = Table {
            remote,
            entries: Vec::with_capacity(locals.len()),
            by_addr: HashMap::with_capacity(locals.len()),
            deadlines: BTreeSet::new(),
            touched: BTreeSet::new(),
            tally: Tally {
                sessions: locals.len(),
                ..Tally::default()
            },
        };
        for (i, &local) in locals.iter().enumerate() {
            let session = Session::new(discriminator(i), config, now)?;
            t.entries.push(Entry {
                local,
                session,
                deadline: None,
                up: false,
            });
            t.by_addr.insert(local, i);
            t.touched.insert(i);
        }
        Ok(t)
    }

    /// A datagram from `from` to our address `to` arrived with `ttl`.
    pub fn datagram_in(
        &mut self,
        now: Instant,
        from: Ipv4Addr,
        to: Ipv4Addr,
        ttl: Option<u8>,
        bytes: &[u8],
    ) {
        let drops = &mut self.tally.drops;
        if from != self.remote {
            drops.stranger += 1;
            return;
        }
        if ttl != Some(SINGLE_HOP_TTL) {
            drops.ttl += 1;
            return;
        }
        let Ok(pkt) = ControlPacket::decode(bytes) else {
            drops.malformed += 1;
            return;
        };
        let Some(i) = self.session_for(&pkt, to) else {
            self.tally.drops.unknown += 1;
            return;
        };
        let Some(e) = self.entries.get_mut(i) else {
            return;
        };
        match e.session.handle_packet(now, &pkt) {
            Ok(()) => self.tally.packets_in += 1,
            Err(_) => self.tally.drops.refused += 1,
        }
        self.touched.insert(i);
    }

    /// The index of the session a packet sent to `to` belongs to.
    fn session_for(&self, pkt: &ControlPacket, to: Ipv4Addr) -> Option<usize> {
        match pkt.your_discriminator {
            0 => self.by_addr.get(&to).copied(),
            d => {
                let i = usize::try_from(d.wrapping_sub(DISCR_BASE)).ok()?;
                let e = self.entries.get(i)?;
                (e.local == to).then_some(i)
            }
        }
    }

    /// Runs the sessions whose deadline has passed at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(&(at, i)) = self.deadlines.first() {
            if at > now {
                break;
            }
            self.deadlines.pop_first();
            self.tally.max_late = self.tally.max_late.max(now - at);
            if let Some(e) = self.entries.get_mut(i) {
                e.deadline = None;
                e.session.handle_timeout(now);
            }
            self.touched.insert(i);
        }
    }

    /// The next packet to send at `now`: the feeder address to send it
    /// from, and its octets (to the remote's port 3784).
    pub fn poll_transmit(&mut self, now: Instant) -> Option<(Ipv4Addr, [u8; PACKET_LEN])> {
        while let Some(&i) = self.touched.first() {
            let Some(e) = self.entries.get_mut(i) else {
                self.touched.remove(&i);
                continue;
            };
            if let Some(p) = e.session.poll_transmit(now) {
                self.tally.packets_out += 1;
                return Some((e.local, p.encode()));
            }
            while let Some(SessionEvent::StateChanged { from, to, .. }) = e.session.poll_event() {
                // A coalesced event with from == to left the state and
                // came back: for Up, a Down and an Up.
                if e.up && (to != State::Up || from == to) {
                    e.up = false;
                    self.tally.up -= 1;
                    self.tally.downs += 1;
                }
                if to == State::Up && !e.up {
                    e.up = true;
                    self.tally.up += 1;
                    self.tally.ups += 1;
                }
            }
            if self.tally.up == self.tally.sessions && self.tally.all_up_at.is_none() {
                self.tally.all_up_at = Some(now);
            }
            self.touched.remove(&i);
            self.refresh(i);
        }
        None
    }

    /// When [`Table::handle_timeout`] is next due.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.deadlines.first().map(|&(at, _)| at)
    }

    /// The packet last returned by [`Table::poll_transmit`] could not be
    /// sent.
    pub fn count_send_error(&mut self) {
        self.tally.send_errors += 1;
    }

    /// The counts so far.
    pub fn tally(&self) -> Tally {
        self.tally
    }

    fn refresh(&mut self, i: usize) {
        let Some(e) = self.entries.get_mut(i) else {
            return;
        };
        if let Some(old) = e.deadline.take() {
            self.deadlines.remove(&(old, i));
        }
        if let Some(at) = e.session.poll_timeout() {
            e.deadline = Some(at);
            self.deadlines.insert((at, i));
        }
    }
}

/// Our discriminator for feeder `i`.
pub fn discriminator(i: usize) -> u32 {
    DISCR_BASE.wrapping_add(u32::try_from(i).unwrap_or(u32::MAX - DISCR_BASE))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAEMON: Ipv4Addr = Ipv4Addr::new(10, 99, 0, 1);
    const A: Ipv4Addr = Ipv4Addr::new(10, 99, 1, 1);
    const B: Ipv4Addr = Ipv4Addr::new(10, 99, 1, 2);

    /// The daemon's side: a plain session per feeder address.
    struct Daemon {
        sessions: Vec<(Ipv4Addr, Session)>,
    }

    impl Daemon {
        fn new(now: Instant) -> Daemon {
            let cfg = SessionConfig::default();
            Daemon {
                sessions: vec![
                    (A, Session::new(0xd000_0001, cfg, now).unwrap()),
                    (B, Session::new(0xd000_0002, cfg, now).unwrap()),
                ],
            }
        }
    }

    /// Runs both sides on a simulated clock, 1 ms steps, delivering at
    /// once; `mute` silences the daemon's session for that address.
    fn run(t: &mut Table, d: &mut Daemon, now: &mut Instant, ms: u64, mute: Option<Ipv4Addr>) {
        for _ in 0..ms {
            *now += Duration::from_millis(1);
            t.handle_timeout(*now);
            while let Some((from, bytes)) = t.poll_transmit(*now) {
                let pkt = ControlPacket::decode(&bytes).unwrap();
                if let Some((_, s)) = d.sessions.iter_mut().find(|(a, _)| *a == from) {
                    let _ = s.handle_packet(*now, &pkt);
                }
            }
            for (addr, s) in &mut d.sessions {
                if s.poll_timeout().is_some_and(|at| at <= *now) {
                    s.handle_timeout(*now);
                }
                while let Some(p) = s.poll_transmit(*now) {
                    if mute != Some(*addr) {
                        t.datagram_in(*now, DAEMON, *addr, Some(255), &p.encode());
                    }
                }
                while s.poll_event().is_some() {}
            }
        }
    }

    #[test]
    fn every_session_comes_up_and_a_silent_peer_is_one_down() {
        let mut now = Instant::now();
        let t0 = now;
        let mut t = Table::new(DAEMON, &[A, B], SessionConfig::default(), now).unwrap();
        let mut d = Daemon::new(now);
        run(&mut t, &mut d, &mut now, 3_000, None);
        let tally = t.tally();
        assert_eq!(
            (tally.sessions, tally.up, tally.ups, tally.downs),
            (2, 2, 2, 0)
        );
        assert!(tally.all_up_at.is_some_and(|at| at > t0));
        assert!(d.sessions.iter().all(|(_, s)| s.state() == State::Up));
        assert_eq!(tally.drops, Drops::default());
        // B's peer falls silent: B goes down once, A stays up.
        run(&mut t, &mut d, &mut now, 1_500, Some(B));
        let tally = t.tally();
        assert_eq!((tally.up, tally.downs), (1, 1));
    }

    #[test]
    fn packets_go_to_the_session_they_name_or_are_addressed_to() {
        let now = Instant::now();
        let t = Table::new(DAEMON, &[A, B], SessionConfig::default(), now).unwrap();
        let mut p = ControlPacket::decode(
            &Session::new(7, SessionConfig::default(), now)
                .unwrap()
                .poll_transmit(now)
                .unwrap()
                .encode(),
        )
        .unwrap();
        // Your Discriminator 0: by destination address.
        assert_eq!(t.session_for(&p, B), Some(1));
        assert_eq!(t.session_for(&p, Ipv4Addr::new(10, 99, 9, 9)), None);
        // Named: the session must own the destination too.
        p.your_discriminator = discriminator(1);
        assert_eq!(t.session_for(&p, B), Some(1));
        assert_eq!(t.session_for(&p, A), None);
        p.your_discriminator = discriminator(2);
        assert_eq!(t.session_for(&p, B), None);
        p.your_discriminator = 1;
        assert_eq!(t.session_for(&p, A), None);
    }

    #[test]
    fn strangers_low_ttls_and_garbage_are_counted_not_taken() {
        let now = Instant::now();
        let mut t = Table::new(DAEMON, &[A], SessionConfig::default(), now).unwrap();
        let good = Session::new(9, SessionConfig::default(), now)
            .unwrap()
            .poll_transmit(now)
            .unwrap()
            .encode();
        t.datagram_in(now, Ipv4Addr::new(10, 99, 0, 7), A, Some(255), &good);
        t.datagram_in(now, DAEMON, A, Some(254), &good);
        t.datagram_in(now, DAEMON, A, None, &good);
        t.datagram_in(now, DAEMON, A, Some(255), &[0u8; 3]);
        t.datagram_in(now, DAEMON, B, Some(255), &good);
        let d = t.tally().drops;
        assert_eq!((d.stranger, d.ttl, d.malformed, d.unknown), (1, 2, 1, 1));
        assert_eq!(t.tally().packets_in, 0);
        t.datagram_in(now, DAEMON, A, Some(255), &good);
        assert_eq!(t.tally().packets_in, 1);
    }
}
