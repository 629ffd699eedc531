//! Max-prefix: warn, stop, restart after a while.

use super::*;
use bgp_proto::msg::notification::{cease_subcode, code};

fn with_limit(action: &str, restart_after: u32) -> H {
    H::with(&format!(
        r#"
[router]
asn = 65000
router_id = "172.18.0.5"
listen = []

[[neighbor]]
range = "172.18.0.0/16"
remote_as = 65100
max_prefixes = {{ limit = 2, action = "{action}", restart_after = {restart_after} }}

[[neighbor]]
range = "172.19.0.0/16"
remote_as = 65200
"#
    ))
}

#[test]
fn stop_closes_the_session_with_cease_max_prefixes_and_the_limit() {
    let mut h = with_limit("stop", 0);
    let a = Peer::node(2);
    h.up(&a);
    h.announce(&a, &["10.0.1.0/24", "10.0.2.0/24"], &[65100]);
    assert_eq!(shutdown_of(&h.drain(), 2), None, "at the limit is fine");
    h.announce(&a, &["10.0.3.0/24"], &[65100]);
    let n = shutdown_of(&h.drain(), 2).unwrap().unwrap();
    assert_eq!(
        (n.code, n.subcode),
        (code::CEASE, cease_subcode::MAX_PREFIXES)
    );
    // RFC 4486: AFI 1, SAFI 1, the limit as 4 octets.
    assert_eq!(n.data, vec![0, 1, 1, 0, 0, 0, 2]);
}

#[test]
fn stop_closes_the_session_once() {
    let mut h = with_limit("stop", 0);
    let a = Peer::node(2);
    h.up(&a);
    h.announce(&a, &["10.0.1.0/24", "10.0.2.0/24", "10.0.3.0/24"], &[65100]);
    h.drain();
    h.announce(&a, &["10.0.4.0/24"], &[65100]);
    assert_eq!(shutdown_of(&h.drain(), 2), None);
}

#[test]
fn stop_without_restart_time_never_enables_the_neighbor_again() {
    let mut h = with_limit("stop", 0);
    let a = Peer::node(2);
    h.up(&a);
    h.announce(&a, &["10.0.1.0/24", "10.0.2.0/24", "10.0.3.0/24"], &[65100]);
    h.drain();
    assert_eq!(h.core.poll_timeout(), None);
}

#[test]
fn stop_with_restart_time_enables_the_neighbor_when_it_is_due() {
    let mut h = with_limit("stop", 60);
    let a = Peer::node(2);
    h.up(&a);
    h.announce(&a, &["10.0.1.0/24", "10.0.2.0/24", "10.0.3.0/24"], &[65100]);
    h.drain();
    assert_eq!(h.core.poll_timeout(), Some(h.now + Duration::from_secs(60)));
    h.advance(Duration::from_secs(59));
    h.feed(Input::Tick);
    assert!(commands_to(&h.drain(), 2).is_empty());
    h.advance(Duration::from_secs(1));
    h.feed(Input::Tick);
    assert_eq!(commands_to(&h.drain(), 2), vec![PeerCommand::Enable]);
    assert_eq!(h.core.poll_timeout(), None);
}

#[test]
fn warn_only_logs() {
    let mut h = with_limit("warn", 0);
    let a = Peer::node(2);
    h.up(&a);
    h.announce(&a, &["10.0.1.0/24", "10.0.2.0/24", "10.0.3.0/24"], &[65100]);
    let outs = h.drain();
    assert_eq!(shutdown_of(&outs, 2), None);
    assert_eq!(fib_changes(&outs).len(), 3);
}

#[test]
fn a_removed_neighbor_is_not_enabled_again() {
    let mut h = with_limit("stop", 60);
    let a = Peer::node(2);
    h.up(&a);
    h.announce(&a, &["10.0.1.0/24", "10.0.2.0/24", "10.0.3.0/24"], &[65100]);
    h.drain();
    h.down(&a, false);
    h.peer_event(PeerEvent::Removed { peer: 2 });
    h.drain();
    assert_eq!(h.core.poll_timeout(), None);
}

#[test]
fn the_limit_counts_rejected_routes_too() {
    let mut h = with_limit("stop", 0);
    let a = Peer::node(2);
    h.up(&a);
    // AS-path loops are kept (rejected) and still count as received.
    h.announce(
        &a,
        &["10.0.1.0/24", "10.0.2.0/24", "10.0.3.0/24"],
        &[65100, 65000],
    );
    let outs = h.drain();
    assert!(fib_changes(&outs).is_empty());
    assert!(shutdown_of(&outs, 2).is_some());
}

#[test]
fn stop_is_a_hard_reset_when_the_n_bit_was_negotiated() {
    let mut h = with_limit("stop", 0);
    let a = Peer {
        gr_notification: true,
        ..Peer::node(2).gr(120)
    };
    h.up(&a);
    h.announce(&a, &["10.0.1.0/24", "10.0.2.0/24", "10.0.3.0/24"], &[65100]);
    let n = shutdown_of(&h.drain(), 2).unwrap().unwrap();
    assert_eq!(
        (n.code, n.subcode),
        (code::CEASE, cease_subcode::HARD_RESET)
    );
    // RFC 8538: the inner subcode, then its data.
    assert_eq!(
        n.data,
        vec![cease_subcode::MAX_PREFIXES, 0, 1, 1, 0, 0, 0, 2]
    );
}
