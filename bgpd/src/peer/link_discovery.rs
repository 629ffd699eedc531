//! Neighbor discovery for unnumbered (interface) neighbors, sans-IO: which
//! Router Advertisements to send on which link, and which router sits on
//! each link, learned from the Router Advertisements it sends.
//!
//! FRR learns an interface peer's link-local address only from the RAs
//! its zebra receives (zebra/rtadv.c `rtadv_process_advert`), so we send
//! RAs on every matching link; and we learn the peer's address the same
//! way. The socket side is [`super::router_advert`].
//!
//! Invariants: no sockets and no clock reads (time comes in as
//! [`Instant`]); at most one pending advert and one pending neighbor
//! report per link, and one pending [`LinkAction::LinkGone`] per vanished
//! link, however many packets arrive; solicited answers cost at most one
//! advert per link per [`MIN_ANSWER_GAP`].

// Not all of it is driven yet: the driver task comes next.

use std::collections::{BTreeMap, VecDeque};
use std::net::Ipv6Addr;
use std::time::{Duration, Instant};

/// Adverts sent quickly after a link appears (RFC 4861 §6.2.4
/// MAX_INITIAL_RTR_ADVERTISEMENTS).
pub const INITIAL_ADVERTS: u32 = 3;
/// Gap between those first adverts (FRR's fast retransmits are 1 s apart).
pub const INITIAL_GAP: Duration = Duration::from_secs(1);
/// Least gap between two answers to solicitations on a link (RFC 4861
/// §10 MIN_DELAY_BETWEEN_RAS).
pub const MIN_ANSWER_GAP: Duration = Duration::from_secs(3);
/// Least time between two reports of a new router on one link: a host
/// advertising from ever new addresses replaces the link's neighbor at
/// most this often.
pub const NEIGHBOR_HOLD: Duration = Duration::from_secs(1);
/// Advert interval once the first ones went out (FRR's
/// `BGP_UNNUM_DEFAULT_RA_INTERVAL`).
pub const DEFAULT_ADVERT_INTERVAL: Duration = Duration::from_secs(10);

/// One interface that matches an interface neighbor's pattern, as read now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkInfo {
    /// Interface index.
    pub ifindex: u32,
    /// Interface name.
    pub name: String,
    /// Our (non-tentative) link-local address on it: adverts need one.
    pub link_local: Option<Ipv6Addr>,
    /// Our MAC address on it, for the source link-layer address option.
    pub mac: Option<[u8; 6]>,
}

/// What the driver must do, from [`LinkDiscovery::poll_action`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkAction {
    /// Send a Router Advertisement on this link from `source` (our
    /// link-local), with `mac` in the source link-layer option if known.
    SendAdvert {
        /// Interface index.
        ifindex: u32,
        /// Our link-local address on the link.
        source: Ipv6Addr,
        /// Our MAC address on the link.
        mac: Option<[u8; 6]>,
    },
    /// The router on this link is `addr` (new, or changed from an earlier
    /// address).
    Neighbor {
        /// Interface index.
        ifindex: u32,
        /// Interface name.
        name: String,
        /// The router's link-local address.
        addr: Ipv6Addr,
    },
    /// The link is gone (no longer listed): its neighbor goes too.
    LinkGone {
        /// Interface index.
        ifindex: u32,
    },
}

/// What is queued for a link; the action itself is built when polled, so
/// it always carries the latest addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pending {
    Advert(u32),
    Neighbor(u32),
    Gone(u32),
}

#[derive(Debug)]
struct Link {
    name: String,
    link_local: Option<Ipv6Addr>,
    mac: Option<[u8; 6]>,
    /// The router on the link (the source of the latest advert).
    neighbor: Option<Ipv6Addr>,
    /// When its latest advert arrived.
    heard: Option<Instant>,
    /// Fast adverts still to send.
    initial_left: u32,
    /// Next advert; `None` while we have no link-local address.
    next_advert: Option<Instant>,
    /// When the latest advert was queued (for the solicit rate limit).
    last_advert: Option<Instant>,
    advert_pending: bool,
    neighbor_pending: bool,
    /// When the neighbor was last reported.
    reported: Option<Instant>,
    /// A change heard within [`NEIGHBOR_HOLD`] of the last report: reported
    /// then (the latest address).
    neighbor_due: Option<Instant>,
}

impl Link {
    fn new(now: Instant, info: LinkInfo) -> Self {
        let mut link = Link {
            name: info.name,
            link_local: None,
            mac: info.mac,
            neighbor: None,
            heard: None,
            initial_left: 0,
            next_advert: None,
            last_advert: None,
            advert_pending: false,
            neighbor_pending: false,
            reported: None,
            neighbor_due: None,
        };
        link.set_link_local(now, info.link_local);
        link
    }

    /// A new or changed address of ours restarts the fast adverts: the
    /// router on the link must learn it soon.
    fn set_link_local(&mut self, now: Instant, addr: Option<Ipv6Addr>) {
        if addr == self.link_local {
            return;
        }
        self.link_local = addr;
        if addr.is_some() {
            self.initial_left = INITIAL_ADVERTS;
            self.next_advert = Some(now);
        } else {
            self.initial_left = 0;
            self.next_advert = None;
        }
    }
}

/// Router Advertisement state of every link that matches an interface
/// neighbor: call the inputs (`set_links`, `advert_received`,
/// `solicit_received`), then `poll_action` until `None`, then wait until
/// `poll_timeout` or the next input.
#[derive(Debug)]
pub struct LinkDiscovery {
    advert_interval: Duration,
    links: BTreeMap<u32, Link>,
    queue: VecDeque<Pending>,
}

impl LinkDiscovery {
    /// No links yet; once their first adverts went out, links advertise
    /// every `advert_interval` (at least [`INITIAL_GAP`]).
    pub fn new(advert_interval: Duration) -> Self {
        LinkDiscovery {
            advert_interval: advert_interval.max(INITIAL_GAP),
            links: BTreeMap::new(),
            queue: VecDeque::new(),
        }
    }

    /// Replaces the set of links with `links`, the full current set: new
    /// ones advertise at once (if they have a link-local address), missing
    /// ones are reported gone. A later entry for the same index wins.
    pub fn set_links(&mut self, now: Instant, links: Vec<LinkInfo>) {
        let mut fresh: BTreeMap<u32, LinkInfo> = BTreeMap::new();
        for info in links {
            fresh.insert(info.ifindex, info);
        }
        let gone: Vec<u32> = self
            .links
            .keys()
            .filter(|i| !fresh.contains_key(i))
            .copied()
            .collect();
        for ifindex in gone {
            self.remove(ifindex);
        }
        for (ifindex, info) in fresh {
            match self.links.get_mut(&ifindex) {
                Some(link) => {
                    link.name = info.name;
                    link.mac = info.mac;
                    link.set_link_local(now, info.link_local);
                    if link.link_local.is_none() && link.advert_pending {
                        link.advert_pending = false;
                        self.queue.retain(|p| *p != Pending::Advert(ifindex));
                    }
                }
                None => {
                    self.links.insert(ifindex, Link::new(now, info));
                }
            }
        }
    }

    /// A Router Advertisement from `from` arrived on link `ifindex` (the
    /// socket checked hop limit 255 and the message). Only a link-local
    /// source on a known link counts, and not one of our own addresses; a
    /// source other than the current neighbor replaces it.
    pub fn advert_received(&mut self, now: Instant, ifindex: u32, from: Ipv6Addr) {
        if !from.is_unicast_link_local() {
            return;
        }
        let Some(link) = self.links.get_mut(&ifindex) else {
            return;
        };
        // Two of our own interfaces on one link hear each other.
        if link.link_local == Some(from) {
            return;
        }
        link.heard = Some(now);
        if link.neighbor == Some(from) {
            return;
        }
        link.neighbor = Some(from);
        if link.neighbor_pending || link.neighbor_due.is_some() {
            return; // the report to come carries the latest address
        }
        match link.reported {
            Some(last) if now < last + NEIGHBOR_HOLD => {
                link.neighbor_due = Some(last + NEIGHBOR_HOLD)
            }
            _ => {
                link.neighbor_pending = true;
                self.queue.push_back(Pending::Neighbor(ifindex));
            }
        }
    }

    /// A Router Solicitation arrived on link `ifindex`: answer with an
    /// advert now, or, within [`MIN_ANSWER_GAP`] of the previous advert,
    /// once that gap has passed (RFC 4861 §6.2.6). A flood of solicits
    /// thus costs at most one advert per gap.
    pub fn solicit_received(&mut self, now: Instant, ifindex: u32) {
        let Some(link) = self.links.get_mut(&ifindex) else {
            return;
        };
        let Some(next) = link.next_advert else {
            return; // no address of ours to answer from
        };
        let answer_at = match link.last_advert {
            Some(last) => now.max(last + MIN_ANSWER_GAP),
            None => now,
        };
        link.next_advert = Some(next.min(answer_at));
    }

    /// The router on link `ifindex`, if one advertised.
    pub fn neighbor(&self, ifindex: u32) -> Option<Ipv6Addr> {
        self.links.get(&ifindex).and_then(|l| l.neighbor)
    }

    /// When the router on link `ifindex` last advertised.
    #[cfg(test)]
    pub fn last_heard(&self, ifindex: u32) -> Option<Instant> {
        self.links.get(&ifindex).and_then(|l| l.heard)
    }

    /// The next thing to do, if any, after the adverts due at `now` were
    /// queued.
    pub fn poll_action(&mut self, now: Instant) -> Option<LinkAction> {
        self.fire_timers(now);
        while let Some(p) = self.queue.pop_front() {
            if let Some(action) = self.build(p, now) {
                return Some(action);
            }
        }
        None
    }

    /// When `poll_action` next has something to do if no input comes
    /// first; `None` when no link can advertise.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.links
            .values()
            .flat_map(|l| [l.next_advert, l.neighbor_due])
            .flatten()
            .min()
    }

    /// Actions queued (bounded by three per link).
    #[cfg(test)]
    pub fn pending(&self) -> usize {
        self.queue.len()
    }

    fn fire_timers(&mut self, now: Instant) {
        for (&ifindex, link) in &mut self.links {
            if link.neighbor_due.is_some_and(|due| due <= now) {
                link.neighbor_due = None;
                if !link.neighbor_pending {
                    link.neighbor_pending = true;
                    self.queue.push_back(Pending::Neighbor(ifindex));
                }
            }
            let Some(due) = link.next_advert else {
                continue;
            };
            if due > now {
                continue;
            }
            link.initial_left = link.initial_left.saturating_sub(1);
            let gap = if link.initial_left > 0 {
                INITIAL_GAP
            } else {
                self.advert_interval
            };
            link.next_advert = Some(now + gap);
            link.last_advert = Some(now);
            if !link.advert_pending {
                link.advert_pending = true;
                self.queue.push_back(Pending::Advert(ifindex));
            }
        }
    }

    fn build(&mut self, p: Pending, now: Instant) -> Option<LinkAction> {
        match p {
            Pending::Gone(ifindex) => Some(LinkAction::LinkGone { ifindex }),
            Pending::Advert(ifindex) => {
                let link = self.links.get_mut(&ifindex)?;
                link.advert_pending = false;
                Some(LinkAction::SendAdvert {
                    ifindex,
                    source: link.link_local?,
                    mac: link.mac,
                })
            }
            Pending::Neighbor(ifindex) => {
                let link = self.links.get_mut(&ifindex)?;
                link.neighbor_pending = false;
                link.reported = Some(now);
                Some(LinkAction::Neighbor {
                    ifindex,
                    name: link.name.clone(),
                    addr: link.neighbor?,
                })
            }
        }
    }

    fn remove(&mut self, ifindex: u32) {
        if self.links.remove(&ifindex).is_none() {
            return;
        }
        self.queue.retain(|p| match p {
            Pending::Advert(i) | Pending::Neighbor(i) => *i != ifindex,
            Pending::Gone(_) => true,
        });
        if !self.queue.contains(&Pending::Gone(ifindex)) {
            self.queue.push_back(Pending::Gone(ifindex));
        }
    }
}

impl Default for LinkDiscovery {
    fn default() -> Self {
        LinkDiscovery::new(DEFAULT_ADVERT_INTERVAL)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OURS: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1);
    const PEER: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 2);
    const PEER2: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 3);
    const MAC: [u8; 6] = [2, 0, 0, 0, 0, 1];

    fn link(ifindex: u32, link_local: Option<Ipv6Addr>) -> LinkInfo {
        LinkInfo {
            ifindex,
            name: format!("eth{ifindex}"),
            link_local,
            mac: Some(MAC),
        }
    }

    fn drain(d: &mut LinkDiscovery, now: Instant) -> Vec<LinkAction> {
        std::iter::from_fn(|| d.poll_action(now)).collect()
    }

    fn advert(ifindex: u32) -> LinkAction {
        LinkAction::SendAdvert {
            ifindex,
            source: OURS,
            mac: Some(MAC),
        }
    }

    /// Runs the discovery from `t0` to `t0 + secs`, calling `each` at
    /// every 10 ms step; returns the times (ms since `t0`) of adverts.
    fn simulate(
        d: &mut LinkDiscovery,
        t0: Instant,
        secs: u64,
        mut each: impl FnMut(&mut LinkDiscovery, Instant),
    ) -> Vec<u64> {
        let mut sent = Vec::new();
        for step in 0..=secs * 100 {
            let now = t0 + Duration::from_millis(step * 10);
            each(d, now);
            for a in drain(d, now) {
                if matches!(a, LinkAction::SendAdvert { .. }) {
                    sent.push(step * 10);
                }
            }
        }
        sent
    }

    #[test]
    fn first_adverts_fast_then_interval() {
        let t0 = Instant::now();
        let mut d = LinkDiscovery::new(Duration::from_secs(10));
        d.set_links(t0, vec![link(7, Some(OURS))]);
        assert_eq!(d.poll_timeout(), Some(t0));
        assert_eq!(d.poll_action(t0), Some(advert(7)));
        assert_eq!(d.poll_action(t0), None);
        assert_eq!(d.poll_timeout(), Some(t0 + INITIAL_GAP));
        let sent = simulate(&mut d, t0 + Duration::from_millis(10), 40, |_, _| {});
        // t0 + 1 s, + 2 s, then every 10 s (offsets from t0 + 10 ms).
        assert_eq!(sent, vec![990, 1990, 11990, 21990, 31990]);
    }

    #[test]
    fn no_adverts_without_link_local() {
        let t0 = Instant::now();
        let mut d = LinkDiscovery::default();
        d.set_links(t0, vec![link(7, None)]);
        assert_eq!(d.poll_timeout(), None);
        assert_eq!(drain(&mut d, t0 + Duration::from_secs(60)), vec![]);
        d.solicit_received(t0, 7);
        assert_eq!(drain(&mut d, t0 + Duration::from_secs(61)), vec![]);
        // The address appears: adverts start at once.
        let t1 = t0 + Duration::from_secs(62);
        d.set_links(t1, vec![link(7, Some(OURS))]);
        assert_eq!(drain(&mut d, t1), vec![advert(7)]);
    }

    #[test]
    fn losing_link_local_drops_pending_advert() {
        let t0 = Instant::now();
        let mut d = LinkDiscovery::default();
        d.set_links(t0, vec![link(7, Some(OURS))]);
        d.fire_timers(t0);
        assert_eq!(d.pending(), 1);
        d.set_links(t0, vec![link(7, None)]);
        assert_eq!(d.pending(), 0);
        assert_eq!(drain(&mut d, t0 + Duration::from_secs(30)), vec![]);
    }

    #[test]
    fn changed_link_local_restarts_fast_adverts() {
        let t0 = Instant::now();
        let mut d = LinkDiscovery::default();
        d.set_links(t0, vec![link(7, Some(OURS))]);
        simulate(&mut d, t0, 20, |_, _| {});
        let t1 = t0 + Duration::from_secs(21);
        let other = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 9);
        d.set_links(t1, vec![link(7, Some(other))]);
        let got = drain(&mut d, t1);
        assert_eq!(
            got,
            vec![LinkAction::SendAdvert {
                ifindex: 7,
                source: other,
                mac: Some(MAC)
            }]
        );
        assert_eq!(d.poll_timeout(), Some(t1 + INITIAL_GAP));
    }

    #[test]
    fn solicit_answered_at_once_when_quiet() {
        let t0 = Instant::now();
        let mut d = LinkDiscovery::default();
        d.set_links(t0, vec![link(7, Some(OURS))]);
        simulate(&mut d, t0, 5, |_, _| {});
        // Last advert at t0 + 2 s; the next is due at t0 + 12 s.
        let t1 = t0 + Duration::from_secs(6);
        d.solicit_received(t1, 7);
        assert_eq!(drain(&mut d, t1), vec![advert(7)]);
        assert_eq!(d.poll_timeout(), Some(t1 + DEFAULT_ADVERT_INTERVAL));
    }

    #[test]
    fn solicit_soon_after_advert_waits_for_gap() {
        let t0 = Instant::now();
        let mut d = LinkDiscovery::default();
        d.set_links(t0, vec![link(7, Some(OURS))]);
        // Last advert at t0 + 2 s: answer at t0 + 5 s, not before.
        let t1 = t0 + Duration::from_millis(2500);
        let sent = simulate(&mut d, t0, 8, |d, now| {
            if now == t1 {
                d.solicit_received(now, 7);
            }
        });
        assert_eq!(sent, vec![0, 1000, 2000, 5000]);
    }

    #[test]
    fn solicit_flood_is_rate_limited() {
        let t0 = Instant::now();
        let mut d = LinkDiscovery::new(Duration::from_secs(10));
        d.set_links(t0, vec![link(7, Some(OURS))]);
        // A solicit every 10 ms for 60 s.
        let sent = simulate(&mut d, t0, 60, |d, now| {
            for _ in 0..100 {
                d.solicit_received(now, 7);
            }
            assert!(d.pending() <= 1);
        });
        // Initial burst (3), then one per MIN_ANSWER_GAP.
        assert!(sent.len() <= 3 + 60 / 3 + 1, "{} adverts", sent.len());
        for w in sent.windows(2).skip(2) {
            assert!(w[1] - w[0] >= 3000, "adverts at {w:?}");
        }
    }

    #[test]
    fn solicit_on_unknown_link_ignored() {
        let t0 = Instant::now();
        let mut d = LinkDiscovery::default();
        d.solicit_received(t0, 9);
        assert_eq!(d.poll_action(t0), None);
        assert_eq!(d.poll_timeout(), None);
    }

    #[test]
    fn neighbor_learned_and_changed() {
        let t0 = Instant::now();
        let mut d = LinkDiscovery::default();
        d.set_links(t0, vec![link(7, Some(OURS))]);
        drain(&mut d, t0);
        d.advert_received(t0, 7, PEER);
        let expect = |addr| LinkAction::Neighbor {
            ifindex: 7,
            name: "eth7".into(),
            addr,
        };
        assert_eq!(drain(&mut d, t0), vec![expect(PEER)]);
        assert_eq!(d.neighbor(7), Some(PEER));
        assert_eq!(d.last_heard(7), Some(t0));
        // The same source again: nothing new.
        let t1 = t0 + Duration::from_millis(500);
        d.advert_received(t1, 7, PEER);
        assert_eq!(drain(&mut d, t1), vec![]);
        assert_eq!(d.last_heard(7), Some(t1));
        // Another router on the link replaces it, reported once the hold
        // since the last report has passed.
        d.advert_received(t1, 7, PEER2);
        assert_eq!(drain(&mut d, t1), vec![]);
        let t2 = t0 + NEIGHBOR_HOLD;
        let got = drain(&mut d, t2);
        assert_eq!(got.first(), Some(&expect(PEER2)), "{got:?}");
        assert_eq!(d.neighbor(7), Some(PEER2));
    }

    #[test]
    fn neighbor_changes_coalesce_latest_wins() {
        let t0 = Instant::now();
        let mut d = LinkDiscovery::default();
        d.set_links(t0, vec![link(7, None)]);
        for i in 0..1000u16 {
            d.advert_received(t0, 7, Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 1, i));
        }
        assert_eq!(d.pending(), 1);
        assert_eq!(
            drain(&mut d, t0),
            vec![LinkAction::Neighbor {
                ifindex: 7,
                name: "eth7".into(),
                addr: Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 1, 999),
            }]
        );
    }

    #[test]
    fn neighbor_ignored_unless_link_local_on_known_link() {
        let t0 = Instant::now();
        let mut d = LinkDiscovery::default();
        d.set_links(t0, vec![link(7, Some(OURS))]);
        drain(&mut d, t0);
        let global = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2);
        d.advert_received(t0, 7, global);
        d.advert_received(t0, 7, Ipv6Addr::UNSPECIFIED);
        d.advert_received(t0, 7, Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1));
        d.advert_received(t0, 8, PEER); // unknown link
        d.advert_received(t0, 7, OURS); // our own advert
        assert_eq!(drain(&mut d, t0), vec![]);
        assert_eq!(d.neighbor(7), None);
        assert_eq!(d.neighbor(8), None);
    }

    #[test]
    fn link_gone_reported_once_and_forgotten() {
        let t0 = Instant::now();
        let mut d = LinkDiscovery::default();
        d.set_links(t0, vec![link(7, Some(OURS)), link(8, Some(OURS))]);
        d.advert_received(t0, 7, PEER);
        d.set_links(t0, vec![link(8, Some(OURS))]);
        d.set_links(t0, vec![link(8, Some(OURS))]);
        // Link 7's pending advert and neighbor went with it.
        assert_eq!(
            drain(&mut d, t0),
            vec![LinkAction::LinkGone { ifindex: 7 }, advert(8)]
        );
        assert_eq!(d.neighbor(7), None);
        d.advert_received(t0, 7, PEER);
        assert_eq!(drain(&mut d, t0), vec![]);
    }

    #[test]
    fn link_back_after_gone_starts_afresh() {
        let t0 = Instant::now();
        let mut d = LinkDiscovery::default();
        d.set_links(t0, vec![link(7, Some(OURS))]);
        d.advert_received(t0, 7, PEER);
        drain(&mut d, t0);
        d.set_links(t0, vec![]);
        d.set_links(t0, vec![link(7, Some(OURS))]);
        assert_eq!(
            drain(&mut d, t0),
            vec![LinkAction::LinkGone { ifindex: 7 }, advert(7)]
        );
        assert_eq!(d.neighbor(7), None);
    }

    #[test]
    fn queue_bounded_under_load() {
        let t0 = Instant::now();
        let mut d = LinkDiscovery::new(Duration::from_secs(1));
        let links: Vec<_> = (1..=50).map(|i| link(i, Some(OURS))).collect();
        d.set_links(t0, links.clone());
        // Nobody polls for a minute while everything happens at once.
        for s in 0..60 {
            let now = t0 + Duration::from_secs(s);
            d.set_links(now, links.clone());
            for i in 1..=60 {
                for k in 0..20u16 {
                    d.advert_received(now, i, Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 2, k));
                    d.solicit_received(now, i);
                }
            }
            d.fire_timers(now);
            assert!(d.pending() <= 2 * 50, "{} pending", d.pending());
        }
        // Half the links vanish: one LinkGone each, on top.
        d.set_links(t0, links[..25].to_vec());
        d.set_links(t0, links[..25].to_vec());
        assert!(d.pending() <= 2 * 25 + 25, "{} pending", d.pending());
        let gone = drain(&mut d, t0)
            .into_iter()
            .filter(|a| matches!(a, LinkAction::LinkGone { .. }))
            .count();
        assert_eq!(gone, 25);
    }

    #[test]
    fn duplicate_ifindex_in_set_links_later_wins() {
        let t0 = Instant::now();
        let mut d = LinkDiscovery::default();
        let mut second = link(7, Some(OURS));
        second.name = "veth7".into();
        d.set_links(t0, vec![link(7, None), second]);
        assert_eq!(drain(&mut d, t0), vec![advert(7)]);
        d.advert_received(t0, 7, PEER);
        assert!(matches!(
            d.poll_action(t0),
            Some(LinkAction::Neighbor { name, .. }) if name == "veth7"
        ));
    }

    #[test]
    fn a_host_advertising_from_ever_new_addresses_is_reported_once_per_hold() {
        let t0 = Instant::now();
        let mut d = LinkDiscovery::default();
        d.set_links(t0, vec![link(7, Some(OURS))]);
        while d.poll_action(t0).is_some() {}
        let addr = |i: u16| Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0x100 + i);
        let mut reports = Vec::new();
        // A thousand addresses within 0.9 s.
        for i in 0..1000u16 {
            let t = t0 + Duration::from_micros(900 * u64::from(i));
            d.advert_received(t, 7, addr(i));
            while let Some(a) = d.poll_action(t) {
                if let LinkAction::Neighbor { addr, .. } = a {
                    reports.push(addr);
                }
            }
        }
        assert_eq!(reports, [addr(0)]);
        // The latest is reported once the hold has passed.
        let due = d.poll_timeout().unwrap();
        assert_eq!(due, t0 + NEIGHBOR_HOLD);
        let later: Vec<LinkAction> = std::iter::from_fn(|| d.poll_action(due)).collect();
        assert!(later
            .iter()
            .any(|a| matches!(a, LinkAction::Neighbor { addr: a, .. } if *a == addr(999))));
    }
}
