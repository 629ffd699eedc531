//! `rbgpctl top`'s screen state without a terminal: rates from two
//! samples, sorting, filtering, the routes view and its explain action,
//! and frames of any size (a resize) rendered as text.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use bgpd::ctl::proto::{FamilyCounters, PeerState, PeerSummary, RouteEntry, RoutePath, Summary};
use bgpd::ctl::top::{frame_text, Action, Key, Top, View};
use std::time::Duration;

fn peer(addr: &str, state: PeerState, accepted: u64, updates: u64) -> PeerSummary {
    PeerSummary {
        address: addr.parse().unwrap(),
        description: Some(
            if addr.starts_with("172.18") {
                "c1"
            } else {
                "c2"
            }
            .into(),
        ),
        remote_as: 65100,
        local_as: 65000,
        state,
        admin_down: false,
        uptime_secs: (state == PeerState::Established).then_some(75),
        down_secs: (state != PeerState::Established).then_some(5),
        families: vec![FamilyCounters {
            family: "ipv4-unicast".into(),
            received: accepted,
            accepted,
            advertised: 4,
            next_hop: None,
        }],
        dynamic: true,
        interface: None,
        bfd: None,
        updates_received: updates,
        updates_sent: updates / 2,
    }
}

fn summary(writes: u64, inputs: u64) -> Summary {
    Summary {
        version: "0.1.0".into(),
        router_id: Some("172.18.0.5".parse().unwrap()),
        asn: 65000,
        uptime_secs: 90,
        peers_established: 2,
        peers_total: 3,
        rib_prefixes_v4: 8,
        rib_prefixes_v6: 0,
        rib_paths: 14,
        fib_routes: 8,
        fib_off: None,
        memory_rss_bytes: Some(12 * 1024 * 1024),
        fib_queued: 1,
        fib_writes: writes,
        core_inputs: inputs,
    }
}

fn top() -> Top {
    let mut t = Top::default();
    t.sample(
        summary(10, 100),
        vec![
            peer("172.18.0.2", PeerState::Established, 2, 10),
            peer("172.18.0.3", PeerState::Active, 0, 0),
            peer("172.19.0.2", PeerState::Established, 5, 20),
        ],
        Duration::ZERO,
    );
    t.sample(
        summary(30, 400),
        vec![
            peer("172.18.0.2", PeerState::Established, 2, 30),
            peer("172.18.0.3", PeerState::Active, 0, 0),
            peer("172.19.0.2", PeerState::Established, 5, 21),
        ],
        Duration::from_secs(2),
    );
    t
}

fn addrs(t: &Top) -> Vec<String> {
    t.shown_peers()
        .iter()
        .map(|p| p.address.to_string())
        .collect()
}

#[test]
fn rates_sorting_and_filtering() {
    let mut t = top();
    let frame = frame_text(&t, 120, 30);
    assert!(frame.contains("sessions 2 of 3 Established"), "{frame}");
    assert!(
        frame.contains("FIB 8 routes, 1 queued, 10/s writes   core 150/s events"),
        "{frame}"
    );
    // 20 UPDATEs in, 10 out, over 2 s.
    assert!(frame.contains("10/5"), "{frame}");
    assert_eq!(addrs(&t), ["172.18.0.2", "172.18.0.3", "172.19.0.2"]);
    t.key(Key::Char('s'));
    assert_eq!(addrs(&t)[0], "172.18.0.3", "not Established first");
    t.key(Key::Char('s'));
    assert_eq!(addrs(&t)[0], "172.19.0.2", "most prefixes first");
    t.key(Key::Char('s'));
    assert_eq!(addrs(&t)[0], "172.18.0.2", "highest UPDATE rate first");
    assert!(frame_text(&t, 120, 30).contains("sorted by update rate"));
    t.key(Key::Char('/'));
    for c in "c2".chars() {
        t.key(Key::Char(c));
    }
    assert!(frame_text(&t, 120, 30).contains("filter: c2_"));
    t.key(Key::Enter);
    assert_eq!(addrs(&t), ["172.19.0.2"]);
    t.key(Key::Esc);
    assert_eq!(addrs(&t).len(), 3, "Esc clears the filter");
    assert_eq!(t.key(Key::Char('q')), Action::Quit);
}

#[test]
fn routes_view_explains_the_selected_route() {
    let mut t = top();
    assert_eq!(t.key(Key::Tab), Action::FetchRoutes);
    let route = |p: &str, hops: &[&str]| RouteEntry {
        prefix: p.into(),
        paths: hops
            .iter()
            .map(|h| RoutePath {
                next_hop: (*h).into(),
                as_path: "65100".into(),
                best: true,
                ..RoutePath::default()
            })
            .collect(),
    };
    t.set_routes(vec![
        route("10.11.0.0/24", &["172.18.0.2"]),
        route(
            "10.11.192.248/32",
            &["172.18.0.2", "172.18.0.3", "172.18.0.4"],
        ),
    ]);
    let frame = frame_text(&t, 120, 30);
    assert!(
        frame.contains("routes (2 shown; Enter: explain)"),
        "{frame}"
    );
    assert!(
        frame.contains("172.18.0.2 172.18.0.3 172.18.0.4"),
        "{frame}"
    );
    t.key(Key::Down);
    assert_eq!(
        t.key(Key::Enter),
        Action::Explain("10.11.192.248/32".into())
    );
    t.set_explain("10.11.192.248/32\n\nPaths: 3 received".into());
    assert!(frame_text(&t, 120, 30).contains("Paths: 3 received"));
    t.key(Key::Esc);
    assert_eq!(*t.view(), View::Routes);
    t.key(Key::Tab);
    assert_eq!(*t.view(), View::Peers);
}

#[test]
fn any_size_renders() {
    let t = top();
    for (w, h) in [(40, 12), (80, 24), (200, 60), (1, 1)] {
        let frame = frame_text(&t, w, h);
        assert_eq!(frame.lines().count(), usize::from(h), "{w}x{h}");
    }
    let narrow = frame_text(&t, 80, 24);
    assert!(narrow.contains("172.18.0.2"), "{narrow}");
}
