//! The registry's bookkeeping on a fake clock: no tasks run; a test plays
//! the tasks' part (a connection admitted, its task ended) by hand.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use super::*;
use crate::config::Config;
use std::net::Ipv4Addr;

fn config(range: &str, extra: &str) -> Config {
    toml::from_str(&format!(
        r#"
        [router]
        asn = 65000
        router_id = "10.0.0.1"
        listen = []
        [[neighbor]]
        range = "{range}"
        remote_as = 65100
        {extra}
        "#
    ))
    .unwrap()
}

fn registry(range: &str, extra: &str) -> Registry {
    let cfg = config(range, extra);
    let mut reg = Registry::new(LocalSettings::from_config(&cfg));
    let n = &cfg.neighbors[0];
    reg.ranges
        .push(RangeEntry::new(RangeKey::Net(n.range.unwrap()), n.clone()));
    reg
}

fn from(a: u32) -> SocketAddr {
    SocketAddr::new(IpAddr::V4(Ipv4Addr::from(a)), 40000)
}

/// A connection from `a`: the started neighbor's id and task generation.
fn connect(reg: &mut Registry, a: u32, now: Instant) -> (PeerId, u64) {
    match reg.admit(from(a), now) {
        Admit::Start(s) => (s.id, s.gen),
        Admit::Handover(_) => panic!("{a}: handed to a running task"),
        Admit::Refused => panic!("{a}: refused"),
    }
}

/// [`connect`], keeping the task's mailbox open (so commands reach it).
fn connect_open(reg: &mut Registry, a: u32, now: Instant) -> Box<Started> {
    match reg.admit(from(a), now) {
        Admit::Start(s) => s,
        _ => panic!("{a}: not started"),
    }
}

fn refused(reg: &mut Registry, a: u32, now: Instant) -> bool {
    matches!(reg.admit(from(a), now), Admit::Refused)
}

const BASE: u32 = 0x7f01_0000; // 127.1.0.0

#[test]
fn a_node_that_goes_down_is_remembered_and_gets_its_id_back() {
    let t0 = Instant::now();
    let mut reg = registry("127.1.0.0/16", "");
    let (id, gen) = connect(&mut reg, BASE + 1, t0);
    reg.peers[&id].status.lock().unwrap().counters.established = 3;
    reg.task_ended(id, gen, t0);
    assert_eq!(
        reg.counts(),
        Counts {
            live: 0,
            remembered: 1,
            shut_down: 0
        }
    );
    assert!(reg.take_gone().is_empty());
    // Back within remember_time: same id, same history.
    let (again, gen2) = connect(&mut reg, BASE + 1, t0 + Duration::from_secs(299));
    assert_eq!(again, id);
    assert_ne!(gen2, gen);
    assert_eq!(
        reg.peers[&id].status.lock().unwrap().counters.established,
        3
    );
    // A second connection goes to the running task.
    assert!(matches!(reg.admit(from(BASE + 1), t0), Admit::Handover(_)));
    // The old task's late exit changes nothing.
    reg.task_ended(id, gen, t0);
    assert_eq!(reg.counts().live, 1);
}

#[test]
fn a_remembered_node_is_forgotten_after_remember_time() {
    let t0 = Instant::now();
    let mut reg = registry("127.1.0.0/16", "remember_time = 60");
    let (a, ga) = connect(&mut reg, BASE + 1, t0);
    let (b, gb) = connect(&mut reg, BASE + 2, t0);
    reg.task_ended(a, ga, t0);
    reg.task_ended(b, gb, t0 + Duration::from_secs(30));
    reg.expire(t0 + Duration::from_secs(59));
    assert_eq!(reg.counts().remembered, 2);
    reg.expire(t0 + Duration::from_secs(60));
    assert_eq!(reg.take_gone(), vec![a]);
    assert_eq!(reg.counts().remembered, 1);
    reg.expire(t0 + Duration::from_secs(90));
    assert_eq!(reg.take_gone(), vec![b]);
    assert!(reg.peers.is_empty() && reg.by_addr.is_empty());
    // Back after that: a new id.
    let (c, _) = connect(&mut reg, BASE + 1, t0 + Duration::from_secs(91));
    assert!(c > b);
}

#[test]
fn remember_time_0_forgets_at_once() {
    let t0 = Instant::now();
    let mut reg = registry("127.1.0.0/16", "remember_time = 0");
    let (a, ga) = connect(&mut reg, BASE + 1, t0);
    reg.task_ended(a, ga, t0);
    assert_eq!(reg.take_gone(), vec![a]);
    assert!(reg.peers.is_empty());
}

#[test]
fn a_full_table_forgets_the_oldest_first() {
    let t0 = Instant::now();
    let mut reg = registry("127.1.0.0/16", "limit = 3");
    let mut ids = Vec::new();
    for i in 0..5 {
        let t = t0 + Duration::from_secs(i);
        let (id, gen) = connect(&mut reg, BASE + 1 + i as u32, t);
        reg.task_ended(id, gen, t);
        ids.push(id);
    }
    assert_eq!(reg.counts().remembered, 3);
    assert_eq!(reg.take_gone(), ids[..2].to_vec());
    let left: Vec<PeerId> = reg.peers.keys().copied().collect();
    assert_eq!(left, ids[2..].to_vec());
}

#[test]
fn a_shut_down_node_stays_listed_and_is_refused_until_enabled() {
    let t0 = Instant::now();
    let mut reg = registry("127.1.0.0/16", "limit = 2\nremember_time = 10");
    let task = connect_open(&mut reg, BASE + 1, t0);
    let (id, gen) = (task.id, task.gen);
    // Shut down while connected: the task is told, and when it ends the
    // entry stays, shut down.
    assert!(reg.command(id, PeerCommand::Shutdown(None), t0));
    drop(task);
    reg.task_ended(id, gen, t0);
    assert_eq!(reg.counts().shut_down, 1);
    assert!(reg.is_admin_down(id));
    for s in 0..100 {
        assert!(refused(&mut reg, BASE + 1, t0 + Duration::from_secs(s)));
    }
    // Time does not forget it.
    reg.expire(t0 + Duration::from_secs(3600));
    assert!(reg.take_gone().is_empty());
    // It holds one of the range's two slots.
    let (other, other_gen) = connect(&mut reg, BASE + 2, t0);
    assert!(refused(&mut reg, BASE + 3, t0));
    // Enabled: remembered again, and it may come back (under its id) once
    // a slot is free.
    let t1 = t0 + Duration::from_secs(3600);
    assert!(reg.command(id, PeerCommand::Enable, t1));
    assert!(!reg.is_admin_down(id));
    assert_eq!(reg.counts().remembered, 1);
    let (back, _) = connect(&mut reg, BASE + 1, t1);
    assert_eq!(back, id);
    assert_eq!(reg.counts().live, 2);
    assert!(reg.peers.contains_key(&other));
    // A reset of a neighbor without a task (remembered): accepted, nothing
    // to do, its entry stays.
    reg.task_ended(other, other_gen, t1);
    assert!(reg.command(other, PeerCommand::Reset, t1));
    assert_eq!(reg.counts().remembered, 1);
}

#[test]
fn a_remembered_node_can_be_shut_down_and_enabled() {
    let t0 = Instant::now();
    let mut reg = registry("127.1.0.0/16", "remember_time = 10");
    let (id, gen) = connect(&mut reg, BASE + 1, t0);
    reg.task_ended(id, gen, t0);
    assert!(reg.command(id, PeerCommand::Shutdown(None), t0));
    assert_eq!(reg.counts().shut_down, 1);
    reg.expire(t0 + Duration::from_secs(100));
    assert!(reg.take_gone().is_empty());
    assert!(refused(&mut reg, BASE + 1, t0));
    // Enabled, it has a full remember_time again.
    let t1 = t0 + Duration::from_secs(100);
    assert!(reg.command(id, PeerCommand::Enable, t1));
    reg.expire(t1 + Duration::from_secs(9));
    assert_eq!(reg.counts().remembered, 1);
    reg.expire(t1 + Duration::from_secs(10));
    assert_eq!(reg.take_gone(), vec![id]);
    assert!(!reg.command(id, PeerCommand::Enable, t1));
}

#[test]
fn an_explicit_neighbor_taking_an_address_over_frees_its_range_slot() {
    let t0 = Instant::now();
    let mut reg = registry("127.1.0.0/16", "limit = 2");
    let (live, gl) = connect(&mut reg, BASE + 1, t0);
    let (down, gd) = connect(&mut reg, BASE + 2, t0);
    reg.command(down, PeerCommand::Shutdown(None), t0);
    reg.task_ended(down, gd, t0);
    assert!(refused(&mut reg, BASE + 3, t0), "the range is full");
    // Both addresses become explicit neighbors: their slots are free at
    // once, whether the entry runs a task or is shut down without one.
    reg.take_over(live);
    reg.take_over(down);
    assert_eq!(reg.take_gone(), vec![down]);
    connect(&mut reg, BASE + 3, t0);
    connect(&mut reg, BASE + 4, t0);
    assert!(refused(&mut reg, BASE + 5, t0));
    // The running one is forgotten when its task ends, counting nothing.
    reg.task_ended(live, gl, t0);
    assert_eq!(reg.take_gone(), vec![live]);
    assert!(refused(&mut reg, BASE + 5, t0));
}

#[test]
fn a_reload_that_drops_the_range_forgets_its_nodes() {
    let t0 = Instant::now();
    let mut reg = registry("127.1.0.0/16", "");
    let (a, ga) = connect(&mut reg, BASE + 1, t0);
    let (b, gb) = connect(&mut reg, BASE + 2, t0);
    let (c, _) = connect(&mut reg, BASE + 3, t0);
    reg.task_ended(a, ga, t0);
    reg.command(b, PeerCommand::Shutdown(None), t0);
    reg.task_ended(b, gb, t0);
    for id in [a, b, c] {
        reg.doom(id);
    }
    reg.set_ranges(Vec::new(), true);
    let mut gone = reg.take_gone();
    gone.sort_unstable();
    assert_eq!(gone, vec![a, b]);
    // The live one goes when its task ends.
    let gc = reg.peers[&c].task.as_ref().unwrap().gen;
    reg.task_ended(c, gc, t0);
    assert_eq!(reg.take_gone(), vec![c]);
    assert!(reg.peers.is_empty());
}

/// Churn: 100,000 distinct addresses connect and go, a few at a time, over
/// a day of fake time. The registry never holds more than the bound (here
/// 2 x limit), and no connection is refused while there is room.
#[test]
fn churn_of_many_addresses_stays_bounded() {
    let t0 = Instant::now();
    let limit = 64;
    let mut reg = registry(
        "127.0.0.0/8",
        &format!("limit = {limit}\nremember_time = 300"),
    );
    let mut live: Vec<(PeerId, u64)> = Vec::new();
    let mut forgotten = 0usize;
    let mut most = 0usize;
    for i in 0..100_000u32 {
        let now = t0 + Duration::from_millis(u64::from(i) * 900);
        reg.expire(now);
        let (id, gen) = connect(&mut reg, BASE + i, now);
        live.push((id, gen));
        if live.len() >= 8 {
            for (id, gen) in live.drain(..) {
                reg.task_ended(id, gen, now);
            }
        }
        // A shut-down node now and then: the operator's doing.
        if i % 10_000 == 0 {
            reg.command(id, PeerCommand::Shutdown(None), now);
        }
        forgotten += reg.take_gone().len();
        most = most.max(reg.peers.len());
        assert!(reg.by_addr.len() == reg.peers.len());
    }
    assert!(most <= 2 * limit, "{most} entries");
    assert!(forgotten > 99_000, "{forgotten}");
    let r = &reg.ranges[0];
    assert!(r.down.len() <= limit && r.active <= limit);
}

/// A registry with one `interface` entry for `pattern`, and the links
/// (index, name) present.
fn links_registry(pattern: &str, links: &[(u32, &str)]) -> Registry {
    let cfg: Config = toml::from_str(&format!(
        "[router]\nasn = 65000\nrouter_id = \"10.0.0.1\"\nlisten = []\n\
         [[neighbor]]\ninterface = \"{pattern}\"\nremote_as = 65100\n"
    ))
    .unwrap();
    let mut reg = Registry::new(LocalSettings::from_config(&cfg));
    let n = &cfg.neighbors[0];
    reg.ranges
        .push(RangeEntry::new(RangeKey::of(n).unwrap(), n.clone()));
    reg.set_links(
        links.iter().map(|(i, n)| (*i, n.to_string())).collect(),
        Instant::now(),
    );
    reg
}

fn ll(last: u16) -> std::net::Ipv6Addr {
    std::net::Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, last)
}

#[test]
fn the_router_on_a_link_becomes_its_neighbor_and_a_new_one_replaces_it() {
    let t0 = Instant::now();
    let mut reg = links_registry("veth*", &[(7, "veth7"), (8, "veth8"), (9, "eth0")]);
    // An advert on a matching link starts a neighbor that dials the
    // link-local with the link as scope.
    let Admit::Start(mut a) = reg.link_neighbor(7, ll(1), LinkSource::Advert, t0) else {
        panic!("not started");
    };
    assert_eq!(a.spec.remote().to_string(), "[fe80::1%7]:179");
    assert!(!a.spec.fsm_config(1).passive);
    assert_eq!(a.status.lock().unwrap().interface.as_deref(), Some("veth7"));
    // The same router again: nothing new; its connection goes to its task.
    assert!(matches!(
        reg.link_neighbor(7, ll(1), LinkSource::Advert, t0),
        Admit::Refused
    ));
    assert!(matches!(
        reg.link_neighbor(7, ll(1), LinkSource::Connection, t0),
        Admit::Handover(_)
    ));
    // Not a matching link, an unknown one, or an address another link's
    // neighbor has: refused.
    for (link, addr) in [(9, ll(2)), (5, ll(2)), (8, ll(1))] {
        assert!(matches!(
            reg.link_neighbor(link, addr, LinkSource::Advert, t0),
            Admit::Refused
        ));
    }
    // The node comes back with another address (new MAC): the old
    // neighbor is told to go (Cease) and leaves the range; the new one
    // starts.
    let Admit::Start(b) = reg.link_neighbor(7, ll(3), LinkSource::Advert, t0) else {
        panic!("replacement not started");
    };
    assert_ne!(b.id, a.id);
    assert!(matches!(a.rx.try_recv(), Some(TaskMsg::Remove(Some(_)))));
    assert_eq!(reg.ranges[0].active, 1);
    reg.task_ended(a.id, a.gen, t0);
    assert_eq!(reg.take_gone(), vec![a.id]);
    // While the link's neighbor has a session, a connection from another
    // address on the link is refused (an advert would replace it).
    reg.peers[&b.id].status.lock().unwrap().state = bgp_proto::fsm::State::Established;
    assert!(matches!(
        reg.link_neighbor(7, ll(4), LinkSource::Connection, t0),
        Admit::Refused
    ));
    // The link goes away: so does its neighbor.
    reg.set_links([(8, "veth8".to_string())].into_iter().collect(), t0);
    reg.task_ended(b.id, b.gen, t0);
    assert_eq!(reg.take_gone(), vec![b.id]);
    assert!(reg.peers.is_empty() && reg.by_addr.is_empty());
    assert_eq!(reg.ranges[0].active, 0);
}

#[test]
fn unnumbered_neighbors_are_bounded_by_the_limit() {
    let t0 = Instant::now();
    let links: Vec<(u32, String)> = (1..=4).map(|i| (i, format!("veth{i}"))).collect();
    let names: Vec<(u32, &str)> = links.iter().map(|(i, n)| (*i, n.as_str())).collect();
    let mut reg = links_registry("veth*", &names);
    reg.ranges[0].config.limit = 2;
    let mut started = 0;
    for i in 1..=4u16 {
        if let Admit::Start(_) = reg.link_neighbor(u32::from(i), ll(i), LinkSource::Advert, t0) {
            started += 1;
        }
    }
    assert_eq!(started, 2);
    assert_eq!(reg.counts().live, 2);
}
