//! Originated routes through the core: `[[route]]`, `default_originate`,
//! `redistribute = ["connected"]` with its policy, and reloads.

use super::*;

/// The lab's router with two originated routes, the connected networks
/// redistributed through a policy that keeps 192.168.0.0/16 out, and a
/// default route for the nodes of cluster 1.
const ORIGINATING: &str = r#"
[router]
asn = 65000
router_id = "172.18.0.5"
listen = []
redistribute = ["connected"]
redistribute_policy = "not-mgmt"

[control]
socket = "/nonexistent/rbgpd-core-test.sock"

[[neighbor]]
range = "172.18.0.0/16"
remote_as = 65100
default_originate = true

[[neighbor]]
range = "172.19.0.0/16"
remote_as = 65200

[[route]]
prefix = "10.0.0.0/8"
communities = ["65000:10"]

[[route]]
prefix = "fd00:dc::/48"
blackhole = true

[[prefix_list]]
name = "mgmt"
entry = [{ prefix = "192.168.0.0/16", le = 32 }]

[[policy]]
name = "not-mgmt"
default = "accept"
[[policy.term]]
match = { prefix_list = "mgmt" }
action = { result = "reject" }
"#;

fn connected(h: &mut H, nets: &[&str]) -> Vec<Output> {
    h.feed(Input::Connected(nets.iter().map(|s| pfx(s)).collect()));
    h.drain()
}

#[test]
fn a_node_gets_the_static_routes_and_its_default_and_the_kernel_gets_neither() {
    let mut h = H::with(ORIGINATING);
    let a = Peer::node(2);
    let b = Peer::node2(3);
    let outs_a = h.up(&a);
    let outs_b = h.up(&b);
    let mut to_a = announced_to(&outs_a, a.id);
    to_a.sort();
    assert_eq!(to_a, ["0.0.0.0/0", "10.0.0.0/8", "::/0", "fd00:dc::/48"]);
    let mut to_b = announced_to(&outs_b, b.id);
    to_b.sort();
    assert_eq!(to_b, ["10.0.0.0/8", "fd00:dc::/48"], "no default_originate");
    let sent = sent_to(&outs_b, b.id);
    let ten = sent
        .iter()
        .find(|s| s.announced.contains(&"10.0.0.0/8".to_string()))
        .unwrap();
    assert_eq!(ten.as_path, "65000");
    assert!(fib_changes(&outs_a).is_empty() && fib_changes(&outs_b).is_empty());
}

#[test]
fn connected_networks_follow_the_kernel_through_the_policy() {
    let mut h = H::with(ORIGINATING);
    let b = Peer::node2(3);
    h.up(&b);
    let outs = connected(
        &mut h,
        &[
            "172.30.0.0/24",
            "192.168.7.0/24",
            "127.0.0.0/8",
            "fe80::/64",
            "fd00:30::/64",
        ],
    );
    let mut got = announced_to(&outs, b.id);
    got.sort();
    assert_eq!(got, ["172.30.0.0/24", "fd00:30::/64"]);
    assert!(fib_changes(&outs).is_empty());
    // The same set again changes nothing; a network gone is withdrawn.
    assert!(connected(&mut h, &["fd00:30::/64", "172.30.0.0/24"]).is_empty());
    let outs = connected(&mut h, &["fd00:30::/64"]);
    assert_eq!(withdrawn_from(&outs, b.id), ["172.30.0.0/24"]);
}

#[test]
fn a_reload_adds_and_removes_originated_routes_and_turns_redistribution_off() {
    let mut h = H::with(ORIGINATING);
    let b = Peer::node2(3);
    h.up(&b);
    connected(&mut h, &["172.30.0.0/24"]);
    let new = ORIGINATING
        .replace("redistribute = [\"connected\"]\n", "")
        .replace("prefix = \"10.0.0.0/8\"", "prefix = \"10.1.0.0/16\"");
    h.feed(Input::Reload {
        call: None,
        config: Ok(Box::new(lab_config(&new))),
    });
    let outs = h.drain();
    assert_eq!(announced_to(&outs, b.id), ["10.1.0.0/16"]);
    let mut gone = withdrawn_from(&outs, b.id);
    gone.sort();
    assert_eq!(gone, ["10.0.0.0/8", "172.30.0.0/24"]);
}

#[test]
fn show_routes_lists_originated_routes_as_local_via_self() {
    let mut h = H::with(ORIGINATING);
    let routes = super::ctl::show_routes(&mut h);
    let ten = routes.iter().find(|r| r.prefix == "10.0.0.0/8").unwrap();
    assert_eq!(ten.paths[0].peer, None);
    assert_eq!(ten.paths[0].next_hop, "self");
    assert_eq!(ten.paths[0].communities, ["65000:10"]);
    let dc = routes.iter().find(|r| r.prefix == "fd00:dc::/48").unwrap();
    assert_eq!(dc.paths[0].communities, ["65535:666"]);
}
