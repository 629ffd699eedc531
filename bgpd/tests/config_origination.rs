//! Config of what the router originates and reflects: `[[route]]`,
//! `redistribute`, `default_originate`, `route_reflector_client` and
//! `cluster_id`, with every mistake reported at once.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use bgpd::config;

const ROUTER: &str = "[router]\nasn = 65000\nrouter_id = \"172.18.0.5\"\n";

fn err(text: &str) -> String {
    match config::parse(text, "rbgpd.toml") {
        Ok(c) => panic!("accepted: {c:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn routes_redistribution_and_reflection_parse() {
    let text = format!(
        "{ROUTER}cluster_id = \"10.255.0.1\"\nredistribute = [\"connected\"]\n\
         redistribute_policy = \"all\"\n\n\
         [[neighbor]]\nrange = \"172.18.0.0/16\"\nremote_as = \"internal\"\n\
         route_reflector_client = true\ndefault_originate = true\n\n\
         [[route]]\nprefix = \"0.0.0.0/0\"\n\n\
         [[route]]\nprefix = \"10.0.0.0/8\"\nnext_hop = \"172.18.0.1\"\n\
         communities = [\"65000:1\", \"no-export\"]\nlocal_pref = 200\nmed = 5\n\n\
         [[route]]\nprefix = \"fd00::/48\"\nblackhole = true\n"
    );
    let c = config::parse(&text, "rbgpd.toml").unwrap_or_else(|e| panic!("{}", e.render()));
    assert_eq!(c.router.cluster_id, Some("10.255.0.1".parse().unwrap()));
    assert!(c.router.redistributes_connected());
    assert!(c.neighbors[0].route_reflector_client && c.neighbors[0].default_originate);
    assert_eq!(c.routes.len(), 3);
    assert_eq!(c.routes[1].next_hop, Some("172.18.0.1".parse().unwrap()));
    assert!(c.routes[2].blackhole);
}

#[test]
fn every_origination_mistake_is_reported_in_one_run() {
    let text = format!(
        "{ROUTER}redistribute = [\"static\"]\nredistribute_policy = \"nope\"\n\
         cluster_id = \"0.0.0.0\"\n\n\
         [[neighbor]]\naddress = \"172.18.0.2\"\nremote_as = 65100\n\
         route_reflector_client = true\n\n\
         [[route]]\nprefix = \"10.0.0.1/8\"\n\n\
         [[route]]\nprefix = \"10.1.0.0/16\"\nnext_hop = \"fd00::1\"\n\n\
         [[route]]\nprefix = \"10.2.0.0/16\"\nnext_hop = \"10.2.0.1\"\nblackhole = true\n\n\
         [[route]]\nprefix = \"10.1.0.0/16\"\ncommunities = [\"65536:1\"]\n"
    );
    let e = err(&text);
    let want = [
        "rbgpd.toml:4:17: router.redistribute[0]: cannot redistribute \"static\", expected \"connected\"",
        "rbgpd.toml:5:23: router.redistribute_policy: policy \"nope\" is not defined",
        "rbgpd.toml:6:14: router.cluster_id: cluster_id 0.0.0.0 is invalid",
        "rbgpd.toml:11:26: neighbor[0].route_reflector_client: route_reflector_client needs an iBGP neighbor",
        "rbgpd.toml:14:10: route[0].prefix: bad prefix \"10.0.0.1/8\": host bits set",
        "rbgpd.toml:18:12: route[1].next_hop: next hop fd00::1 is not of the prefix's family, expected an IPv4 address",
        "rbgpd.toml:23:13: route[2].blackhole: a blackhole route is announced via us",
        "rbgpd.toml:26:10: route[3].prefix: route 10.1.0.0/16 is given twice (first at line 16)",
        "rbgpd.toml:27:16: route[3].communities[0]: community \"65536:1\" is invalid",
    ];
    let lines: Vec<&str> = e.lines().collect();
    assert_eq!(lines.len(), want.len(), "{e}");
    for (line, w) in lines.iter().zip(want) {
        assert!(line.starts_with(w), "{line}\n  wanted: {w}");
    }
}

#[test]
fn a_route_key_of_the_wrong_type_is_named() {
    let e = err(&format!(
        "{ROUTER}\n[[route]]\nprefix = \"10.0.0.0/8\"\nmed = \"low\"\n"
    ));
    assert!(e.contains("route[0].med"), "{e}");
    let e = err(&format!("{ROUTER}\n[[route]]\nprefx = \"10.0.0.0/8\"\n"));
    assert!(e.contains("unknown key `prefx`"), "{e}");
}

#[test]
fn add_path_send_takes_a_number_of_paths_or_all() {
    let n = "\n[[neighbor]]\nrange = \"172.18.0.0/16\"\nremote_as = 65100\n";
    let parse = |rest: &str| config::parse(&format!("{ROUTER}{n}{rest}"), "rbgpd.toml").unwrap();
    assert_eq!(
        parse("add_path_send = \"all\"\n").neighbors[0].add_path_send,
        Some(config::AddPathSend::All)
    );
    assert_eq!(
        parse("add_path_send = 4\n").neighbors[0].add_path_send,
        Some(config::AddPathSend::Paths(4))
    );
    let e = err(&format!("{ROUTER}{n}add_path_send = 1\n"));
    assert!(
        e.starts_with("rbgpd.toml:8:17: neighbor[0].add_path_send: add_path_send 1 is out of range, expected 2 to 64 or \"all\""),
        "{e}"
    );
}

#[test]
fn vrf_names_a_device_and_excludes_table() {
    let ok = format!(
        "{ROUTER}\n[[neighbor]]\nrange = \"172.18.0.0/16\"\nremote_as = 65100\nvrf = \"cluster1\"\n"
    );
    let c = config::parse(&ok, "rbgpd.toml").unwrap_or_else(|e| panic!("{}", e.render()));
    assert_eq!(c.neighbors[0].vrf.as_deref(), Some("cluster1"));
    assert_eq!(c.neighbors[0].table, None, "read from the kernel at start");
    let e = err(&format!(
        "{ROUTER}\n[[neighbor]]\nrange = \"172.18.0.0/16\"\nremote_as = 65100\n\
         vrf = \"cluster1\"\ntable = 100\n\n\
         [[neighbor]]\nrange = \"172.19.0.0/16\"\nremote_as = 65200\n\
         vrf = \"a-name-far-too-long\"\n"
    ));
    let lines: Vec<&str> = e.lines().collect();
    assert_eq!(lines.len(), 2, "{e}");
    assert!(
        lines[0].contains("neighbor[0].vrf: vrf and table both set"),
        "{e}"
    );
    assert!(
        lines[1].contains("neighbor[1].vrf: vrf \"a-name-far-too-long\" is not a link name"),
        "{e}"
    );
}
