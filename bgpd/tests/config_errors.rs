//! Config loading: every kind of mistake gives one exact message naming
//! the file, line, column, key and what was expected.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use bgpd::config::{self, ConfigError, LogFormat, MaxPrefixAction, RemoteAs};
use rib::policy::PolicyRef;
use std::path::Path;

const ROUTER: &str = "[router]\nasn = 65000\nrouter_id = \"172.18.0.5\"\n";

/// The whole error text for `text` (which must fail).
fn err(text: &str) -> String {
    match config::parse(text, "rbgpd.toml") {
        Ok(c) => panic!("accepted: {c:?}"),
        Err(e) => e.to_string(),
    }
}

/// Error text for the router table plus `rest`.
fn err_with(rest: &str) -> String {
    err(&format!("{ROUTER}{rest}"))
}

#[test]
fn minimal_config_gets_defaults() {
    let c = config::parse(ROUTER, "rbgpd.toml").unwrap();
    assert_eq!(c.router.asn, 65000);
    assert_eq!(c.router.listen.len(), 2);
    assert_eq!(c.router.max_paths, 8);
    assert!(c.router.graceful_restart);
    assert_eq!(c.router.restart_time, 120);
    assert!(c.neighbors.is_empty());
    assert!(c.fib.enabled && c.fib.persist);
    assert_eq!((c.fib.table, c.fib.metric), (254, 32));
    assert_eq!(c.control.socket, Path::new("/run/rbgpd/rbgpd.sock"));
    assert_eq!(c.log.level, "info");
    assert_eq!(c.log.format, LogFormat::Text);
    assert!(c.metrics.is_none());
}

#[test]
fn example_config_is_valid() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config.example.toml");
    let c = config::load(&path).unwrap_or_else(|e| panic!("{}", e.render()));
    assert_eq!(c.router.asn, 65000);
    assert_eq!(c.neighbors.len(), 2);
    assert_eq!(c.neighbors[0].range, Some("172.18.0.0/16".parse().unwrap()));
    assert_eq!(c.neighbors[0].remote_as, RemoteAs::Asn(65100));
    assert_eq!(c.neighbors[1].remote_as, RemoteAs::Asn(65200));
    assert_eq!(c.neighbors[0].families, ["ipv4-unicast", "ipv6-unicast"]);
    assert_eq!(c.neighbors[0].hold_time, 90);
}

#[test]
fn full_config_parses() {
    let text = format!(
        "{ROUTER}listen = [\"0.0.0.0:179\", \"[::]:1179\"]\nmax_paths = 4\n\n\
         [[neighbor]]\naddress = \"172.18.0.2\"\nremote_as = 65100\nhold_time = 0\n\
         import = \"from-nodes\"\nexport = \"none\"\nmax_prefixes = {{ limit = 100, action = \"warn\" }}\n\
         families = [\"ipv4-unicast\"]\nttl_security = 1\npassword = \"s3cret\"\n\n\
         [[neighbor]]\nrange = \"fd00::/64\"\nremote_as = 65200\nlimit = 3\nkeepalive = 10\n\n\
         [[policy]]\nname = \"from-nodes\"\ndefault = \"accept\"\n\
         [[policy.term]]\nmatch = {{ prefix_list = \"pods\", family = \"ipv4\", communities = [\"no-export\"] }}\n\
         action = {{ set_local_pref = 200, add_communities = [\"65000:1\", \"65000:1:2\"], result = \"accept\" }}\n\n\
         [[prefix_list]]\nname = \"pods\"\nentry = [{{ prefix = \"10.241.0.0/16\", ge = 24, le = 24 }}, \
         {{ prefix = \"fd00::/8\", ge = 64 }}]\n\n\
         [metrics]\nlisten = \"127.0.0.1:9179\"\n\n[log]\nlevel = \"info,bgpd=debug\"\nformat = \"json\"\n"
    );
    let c = config::parse(&text, "full.toml").unwrap_or_else(|e| panic!("{}", e.render()));
    assert_eq!(c.neighbors[0].import, PolicyRef::Named("from-nodes".into()));
    assert_eq!(c.neighbors[0].export, PolicyRef::None);
    assert_eq!(
        c.neighbors[0].max_prefixes.as_ref().unwrap().action,
        MaxPrefixAction::Warn
    );
    assert_eq!(c.neighbors[1].limit, 3);
    assert_eq!(c.prefix_lists[0].entries.len(), 2);
    assert_eq!(c.metrics.unwrap().listen, "127.0.0.1:9179".parse().unwrap());
    assert_eq!(
        config::parse_family("ipv6-unicast"),
        Some(bgp_proto::types::Family::IPV6_UNICAST)
    );
    assert_eq!(config::parse_family("ipv6"), None);
}

#[test]
fn missing_file() {
    let e = config::load(Path::new("/nonexistent/rbgpd.toml")).unwrap_err();
    assert!(matches!(e, ConfigError::Io { .. }));
    assert_eq!(
        e.to_string(),
        "cannot read config file /nonexistent/rbgpd.toml: No such file or directory (os error 2)"
    );
}

#[test]
fn syntax_error() {
    assert_eq!(
        err("[router\nasn = 1\n"),
        "rbgpd.toml:1:8: unclosed table, expected `]`"
    );
}

#[test]
fn unknown_key_names_valid_keys_and_guesses() {
    assert_eq!(
        err("[router]\nasn = 65000\nrouter_id = \"172.18.0.5\"\nrouterid = 1\n"),
        "rbgpd.toml:4:1: router.routerid: unknown key `routerid`, expected one of `asn`, \
         `router_id`, `listen`, `max_paths`, `multipath_relax`, `always_compare_med`, \
         `graceful_restart`, `restart_time`, `min_hold_time`, `max_restart_time`, `cluster_id`, `redistribute`, \
         `redistribute_policy` (did you mean `router_id`?)"
    );
    let e =
        err_with("\n[[neighbor]]\naddress = \"172.18.0.2\"\nremote_as = 65100\nhold_tme = 30\n");
    assert!(
        e.starts_with("rbgpd.toml:8:1: neighbor[0].hold_tme: unknown key `hold_tme`, expected one of `address`, `range`,"),
        "{e}"
    );
    assert!(
        e.ends_with("`default_originate`, `table`, `vrf`, `sender_as_path_loop_detection`, `cluster` (did you mean `hold_time`?)"),
        "{e}"
    );
    assert_eq!(
        err_with("[bgp]\nx = 1\n"),
        "rbgpd.toml:4:2: bgp: unknown key `bgp`, expected one of `router`, `neighbor`, `fib`, \
         `control`, `log`, `metrics`, `policy`, `prefix_list`, `route`"
    );
}

#[test]
fn missing_key() {
    assert_eq!(
        err("[router]\nasn = 65000\n"),
        "rbgpd.toml:1:1: router: missing key `router_id`"
    );
    assert_eq!(
        err_with("[[neighbor]]\naddress = \"172.18.0.2\"\n"),
        "rbgpd.toml:4:1: neighbor[0]: missing key `remote_as`"
    );
}

#[test]
fn missing_router_and_duplicate_table() {
    let want = "rbgpd.toml:1:1: missing table [router], expected one with at least asn and \
                router_id, e.g. [router] asn = 65000 router_id = \"172.18.0.5\"";
    assert_eq!(err(""), want);
    assert_eq!(err("# nothing yet\n"), want);
    assert_eq!(
        err("[[neighbor]]\naddress = \"172.18.0.2\"\nremote_as = 65100\n"),
        want
    );
    assert_eq!(
        err_with("[router]\nasn = 2\n"),
        "rbgpd.toml:4:2: duplicate key `router`, expected each key and [table] once"
    );
}

#[test]
fn wrong_type() {
    assert_eq!(
        err_with("[fib]\nenabled = \"yes\"\n"),
        "rbgpd.toml:5:11: fib.enabled: invalid type: string \"yes\", expected a boolean"
    );
    assert_eq!(
        err("[router]\nasn = \"65000\"\nrouter_id = \"172.18.0.5\"\n"),
        "rbgpd.toml:2:7: router.asn: AS number \"65000\" is not an integer, expected 1 to 4294967295"
    );
    assert_eq!(
        err_with("listen = \"0.0.0.0:179\"\n"),
        "rbgpd.toml:4:10: router.listen: invalid type: string \"0.0.0.0:179\", expected an array"
    );
    assert_eq!(
        err_with("max_paths = 1.5\n"),
        "rbgpd.toml:4:13: router.max_paths: invalid type: floating point `1.5`, expected an \
         integer from 0 to 18446744073709551615"
    );
    assert_eq!(
        err_with("[[neighbor]]\naddress = \"172.18.0.2\"\nremote_as = 65100\nmax_prefixes = 5\n"),
        "rbgpd.toml:7:16: neighbor[0].max_prefixes: invalid type: integer `5`, expected a table"
    );
    assert_eq!(
        err_with("[log]\nformat = \"xml\"\n"),
        "rbgpd.toml:5:10: log.format: unknown variant `xml`, expected `text` or `json`"
    );
}

#[test]
fn as_number_range() {
    assert_eq!(
        err("[router]\nasn = 4294967296\nrouter_id = \"172.18.0.5\"\n"),
        "rbgpd.toml:2:7: router.asn: AS number 4294967296 is out of range, expected 1 to 4294967295"
    );
    assert_eq!(
        err("[router]\nasn = -5\nrouter_id = \"172.18.0.5\"\n"),
        "rbgpd.toml:2:7: router.asn: AS number -5 is out of range, expected 1 to 4294967295"
    );
    assert_eq!(
        err("[router]\nasn = 0\nrouter_id = \"172.18.0.5\"\n"),
        "rbgpd.toml:2:7: router.asn: AS 0 is reserved (RFC 7607), expected 1 to 4294967295"
    );
    assert_eq!(
        err("[router]\nasn = 23456\nrouter_id = \"172.18.0.5\"\n"),
        "rbgpd.toml:2:7: router.asn: AS 23456 is AS_TRANS (RFC 6793), reserved as the 2-byte \
         stand-in, expected a real AS number"
    );
    assert_eq!(
        err_with("[[neighbor]]\naddress = \"172.18.0.2\"\nremote_as = 0\n"),
        "rbgpd.toml:6:13: neighbor[0].remote_as: AS 0 is reserved (RFC 7607), expected 1 to 4294967295"
    );
}

#[test]
fn bad_router_id() {
    assert_eq!(
        err("[router]\nasn = 65000\nrouter_id = \"172.18.0.300\"\n"),
        "rbgpd.toml:3:13: router.router_id: router id \"172.18.0.300\" is invalid, expected an \
         IPv4 address like \"172.18.0.5\""
    );
    assert_eq!(
        err("[router]\nasn = 65000\nrouter_id = \"fd00::1\"\n"),
        "rbgpd.toml:3:13: router.router_id: router id \"fd00::1\" is invalid, expected an \
         IPv4 address like \"172.18.0.5\""
    );
    assert_eq!(
        err("[router]\nasn = 65000\nrouter_id = \"0.0.0.0\"\n"),
        "rbgpd.toml:3:13: router.router_id: router id 0.0.0.0 is invalid, expected a non-zero \
         IPv4 address (RFC 6286), usually one of the router's addresses"
    );
}

#[test]
fn bad_addresses_and_prefixes() {
    assert_eq!(
        err_with("[[neighbor]]\naddress = \"172.18.0\"\nremote_as = 65100\n"),
        "rbgpd.toml:5:11: neighbor[0].address: \"172.18.0\" is not an IP address, expected e.g. \
         \"172.18.0.2\" or \"fd00::2\""
    );
    assert_eq!(
        err_with("[[neighbor]]\nrange = \"172.18.0.0/33\"\nremote_as = 65100\n"),
        "rbgpd.toml:5:9: neighbor[0].range: bad prefix \"172.18.0.0/33\", expected \
         ADDRESS/LENGTH, e.g. \"172.18.0.0/16\""
    );
    assert_eq!(
        err_with("[[neighbor]]\nrange = \"172.18.0.1/16\"\nremote_as = 65100\n"),
        "rbgpd.toml:5:9: neighbor[0].range: range 172.18.0.1/16 has host bits set, expected 172.18.0.0/16"
    );
    assert_eq!(
        err_with("listen = [\"0.0.0.0\"]\n"),
        "rbgpd.toml:4:11: router.listen[0]: \"0.0.0.0\" is not a socket address, expected \
         ADDRESS:PORT, e.g. \"0.0.0.0:179\" or \"[::]:179\""
    );
}

#[test]
fn duplicate_neighbors() {
    let n = "[[neighbor]]\naddress = \"172.18.0.2\"\nremote_as = 65100\n";
    assert_eq!(
        err_with(&format!("{n}{n}")),
        "rbgpd.toml:8:11: neighbor[1].address: duplicate neighbor 172.18.0.2, first defined at line 4"
    );
    let r = "\n[[neighbor]]\nrange = \"172.18.0.0/16\"\nremote_as = 65100\n";
    assert_eq!(
        err_with(&format!("{r}{r}")),
        "rbgpd.toml:10:9: neighbor[1].range: duplicate neighbor range 172.18.0.0/16, first defined at line 5"
    );
}

#[test]
fn address_and_range() {
    assert_eq!(
        err_with(
            "[[neighbor]]\naddress = \"172.18.0.2\"\nrange = \"172.18.0.0/16\"\nremote_as = 1\n"
        ),
        "rbgpd.toml:6:9: neighbor[0].range: neighbor has more than one of address, range and \
         interface, expected exactly one: address for one peer, range for dynamic neighbors, \
         interface for unnumbered peering"
    );
    assert_eq!(
        err_with("\n[[neighbor]]\nremote_as = 65100\n"),
        "rbgpd.toml:5:1: neighbor[0]: neighbor has no address, range or interface, expected \
         one: address = \"ADDRESS\" for one peer, range = \"PREFIX\" for dynamic neighbors or \
         interface = \"NAME\" for unnumbered peering"
    );
}

#[test]
fn interface_neighbors() {
    let parse = |rest: &str| config::parse(&format!("{ROUTER}{rest}"), "rbgpd.toml").unwrap();
    let one = "[[neighbor]]\ninterface = \"eth1\"\nremote_as = 65100\n";
    let c = parse(one);
    let n = &c.neighbors[0];
    assert!(
        n.extended_next_hop(),
        "unnumbered sessions carry IPv4 over IPv6"
    );
    assert!(n.matches_link("eth1") && !n.matches_link("eth10") && !n.matches_link("eth"));
    let many = parse("[[neighbor]]\ninterface = \"veth*\"\nremote_as = 65100\n");
    let n = &many.neighbors[0];
    assert!(n.matches_link("veth0") && n.matches_link("veth") && !n.matches_link("eth0"));
    assert_eq!(
        err_with("[[neighbor]]\ninterface = \"eth 1\"\nremote_as = 65100\n"),
        "rbgpd.toml:5:13: neighbor[0].interface: interface \"eth 1\" is not an interface name, \
         expected up to 15 characters without '/', ':', '%' or spaces, '*' matching any run \
         (\"eth1\", \"veth*\")"
    );
    assert_eq!(
        err_with(&format!("{one}\n{one}")),
        "rbgpd.toml:9:13: neighbor[1].interface: duplicate neighbor interface \"eth1\", first \
         defined at line 4"
    );
    assert_eq!(
        err_with(&format!("{one}password = \"x\"\n")),
        "rbgpd.toml:7:12: neighbor[0].password: password is not supported with interface (the \
         peer's link-local address is learned), expected it left out"
    );
    assert_eq!(
        err(&format!(
            "[router]\nasn = 65000\nrouter_id = \"172.18.0.5\"\nlisten = [\"0.0.0.0:179\"]\n{one}"
        )),
        "rbgpd.toml:6:13: neighbor[0].interface: interface neighbors connect over IPv6 \
         link-local, but router.listen has no IPv6 address, expected one such as \"[::]:179\" \
         in router.listen"
    );
    assert_eq!(
        err_with("[[neighbor]]\ninterface = \"eth1\"\naddress = \"fe80::1\"\nremote_as = 1\n"),
        "rbgpd.toml:5:13: neighbor[0].interface: neighbor has more than one of address, range \
         and interface, expected exactly one: address for one peer, range for dynamic \
         neighbors, interface for unnumbered peering"
    );
}

#[test]
fn hold_time_and_timers() {
    let n = "[[neighbor]]\naddress = \"172.18.0.2\"\nremote_as = 65100\n";
    for h in [1, 2] {
        assert_eq!(
            err_with(&format!("{n}hold_time = {h}\n")),
            format!(
                "rbgpd.toml:7:13: neighbor[0].hold_time: hold time {h} is invalid, expected 0 \
                 (no keepalives) or 3 to 65535 seconds (RFC 4271 section 4.2)"
            )
        );
    }
    assert_eq!(
        err_with(&format!("{n}hold_time = 70000\n")),
        "rbgpd.toml:7:13: neighbor[0].hold_time: 70000 is out of range, expected an integer from 0 to 65535"
    );
    assert_eq!(
        err_with(&format!("{n}hold_time = 9\nkeepalive = 9\n")),
        "rbgpd.toml:8:13: neighbor[0].keepalive: keepalive 9 is invalid with hold_time 9, \
         expected 1 to 8 seconds (usually a third of the hold time)"
    );
    assert_eq!(
        err_with(&format!("{n}connect_retry = 0\nport = 0\n")),
        "rbgpd.toml:7:17: neighbor[0].connect_retry: connect_retry 0 is invalid, expected 1 or more seconds\n\
         rbgpd.toml:8:8: neighbor[0].port: port 0 is invalid, expected 1 to 65535"
    );
    assert_eq!(
        err_with(&format!("{n}multihop = 2\nttl_security = 1\n")),
        "rbgpd.toml:8:16: neighbor[0].ttl_security: ttl_security and multihop cannot both be set, \
         expected one of them (GTSM always sends TTL 255)"
    );
    assert_eq!(
        err_with(&format!("{n}local_address = \"fd00::5\"\n")),
        "rbgpd.toml:7:17: neighbor[0].local_address: local_address fd00::5 and neighbor address \
         172.18.0.2 are of different families, expected an IPv4 address"
    );
}

#[test]
fn unknown_family() {
    let n = "[[neighbor]]\naddress = \"172.18.0.2\"\nremote_as = 65100\n";
    assert_eq!(
        err_with(&format!(
            "{n}families = [\"ipv4-unicast\", \"ipv6-unicats\"]\n"
        )),
        "rbgpd.toml:7:29: neighbor[0].families[1]: unknown family \"ipv6-unicats\", expected one \
         of \"ipv4-unicast\", \"ipv6-unicast\" (did you mean \"ipv6-unicast\"?)"
    );
    assert_eq!(
        err_with(&format!("{n}families = []\n")),
        "rbgpd.toml:7:12: neighbor[0].families: families is empty, expected at least one of \
         \"ipv4-unicast\", \"ipv6-unicast\""
    );
}

#[test]
fn extended_next_hop_defaults_and_needs_ipv4_unicast() {
    let n6 = "[[neighbor]]\naddress = \"2001:db8::2\"\nremote_as = 65100\n";
    let n4 = "[[neighbor]]\naddress = \"172.18.0.2\"\nremote_as = 65100\n";
    let parse = |rest: &str| config::parse(&format!("{ROUTER}{rest}"), "rbgpd.toml").unwrap();
    assert!(parse(n6).neighbors[0].extended_next_hop());
    assert!(!parse(n4).neighbors[0].extended_next_hop());
    let r6 = "[[neighbor]]\nrange = \"2001:db8::/64\"\nremote_as = 65100\n";
    assert!(parse(r6).neighbors[0].extended_next_hop());
    let off = parse(&format!("{n6}extended_next_hop = false\n"));
    assert!(!off.neighbors[0].extended_next_hop());
    let on = parse(&format!("{n4}extended_next_hop = true\n"));
    assert!(on.neighbors[0].extended_next_hop());
    // IPv6 only: the default is simply not offered; asking for it is a mistake.
    parse(&format!("{n6}families = [\"ipv6-unicast\"]\n"));
    assert_eq!(
        err_with(&format!(
            "{n6}families = [\"ipv6-unicast\"]\nextended_next_hop = true\n"
        )),
        "rbgpd.toml:8:21: neighbor[0].extended_next_hop: extended_next_hop = true needs family \
         \"ipv4-unicast\", expected it in families (the capability carries IPv4 unicast routes \
         with IPv6 next hops, RFC 8950)"
    );
}

#[test]
fn policy_not_defined() {
    let n = "[[neighbor]]\naddress = \"172.18.0.2\"\nremote_as = 65100\n";
    assert_eq!(
        err_with(&format!("{n}import = \"from-nodes\"\n")),
        "rbgpd.toml:7:10: neighbor[0].import: policy \"from-nodes\" is not defined, expected \
         \"all\", \"none\"; no [[policy]] is defined"
    );
    assert_eq!(
        err_with(&format!(
            "{n}export = \"to-node\"\n[[policy]]\nname = \"to-nodes\"\n"
        )),
        "rbgpd.toml:7:10: neighbor[0].export: policy \"to-node\" is not defined, expected \
         \"all\", \"none\" or a [[policy]] name: \"to-nodes\" (did you mean \"to-nodes\"?)"
    );
    assert_eq!(
        err_with("[[policy]]\nname = \"all\"\n"),
        "rbgpd.toml:5:8: policy[0].name: policy name \"all\" is reserved (import/export \"all\" \
         is built in), expected another name"
    );
    assert_eq!(
        err_with("[[policy]]\nname = \"p\"\n[[policy]]\nname = \"p\"\n"),
        "rbgpd.toml:7:8: policy[1].name: duplicate policy \"p\", first defined at line 5"
    );
}

#[test]
fn prefix_list_not_defined() {
    assert_eq!(
        err_with(
            "[[policy]]\nname = \"p\"\n[[policy.term]]\nmatch = { prefix_list = \"pod\" }\n\
             [[prefix_list]]\nname = \"pods\"\nentry = []\n"
        ),
        "rbgpd.toml:7:25: policy[0].term[0].match.prefix_list: prefix list \"pod\" is not \
         defined, expected one of \"pods\" (did you mean \"pods\"?)"
    );
    assert_eq!(
        err_with("[[policy]]\nname = \"p\"\n[[policy.term]]\nmatch = { prefix_list = \"x\" }\n"),
        "rbgpd.toml:7:25: policy[0].term[0].match.prefix_list: prefix list \"x\" is not defined, \
         no [[prefix_list]] is defined"
    );
}

#[test]
fn bad_policy_values() {
    assert_eq!(
        err_with(
            "[[policy]]\nname = \"p\"\n[[policy.term]]\n\
             match = { family = \"ipv4-flowspec\", next_hop = [\"172.18.0.0/33\"] }\n\
             action = { add_communities = [\"65536:1\"] }\n"
        ),
        "rbgpd.toml:7:20: policy[0].term[0].match.family: unknown family \"ipv4-flowspec\", \
         expected one of \"ipv4-unicast\", \"ipv6-unicast\"\n\
         rbgpd.toml:7:49: policy[0].term[0].match.next_hop[0]: bad prefix \"172.18.0.0/33\": \
         length 33 is invalid, expected 0 to 32\n\
         rbgpd.toml:8:31: policy[0].term[0].action.add_communities[0]: community \"65536:1\" is \
         invalid, expected \"A:B\" (standard, each 0 to 65535), \"A:B:C\" (large, each 0 to \
         4294967295) or a well-known name (no-export, no-advertise, no-export-subconfed, blackhole)"
    );
}

#[test]
fn bad_prefix_list_entries() {
    let list = |entry: &str| {
        err_with(&format!(
            "[[prefix_list]]\nname = \"pods\"\nentry = [{{ {entry} }}]\n"
        ))
    };
    assert_eq!(
        list("prefix = \"10.241.0.0/40\""),
        "rbgpd.toml:6:21: prefix_list[0].entry[0].prefix: bad prefix \"10.241.0.0/40\": length 40 \
         is invalid, expected 0 to 32"
    );
    assert_eq!(
        list("prefix = \"10.241.0.1/16\""),
        "rbgpd.toml:6:21: prefix_list[0].entry[0].prefix: bad prefix \"10.241.0.1/16\": host \
         bits set, expected \"10.241.0.0/16\""
    );
    assert_eq!(
        list("prefix = \"10.241.0.0\""),
        "rbgpd.toml:6:21: prefix_list[0].entry[0].prefix: bad prefix \"10.241.0.0\": no length, \
         expected ADDRESS/LENGTH, e.g. \"10.241.0.0/32\""
    );
    assert_eq!(
        list("prefix = \"10.241.0.0/16\", ge = 8"),
        "rbgpd.toml:6:43: prefix_list[0].entry[0].ge: ge 8 is out of range for 10.241.0.0/16, \
         expected 16 to 32"
    );
    assert_eq!(
        list("prefix = \"10.241.0.0/16\", ge = 24, le = 20"),
        "rbgpd.toml:6:52: prefix_list[0].entry[0].le: le 20 is out of range for 10.241.0.0/16 \
         with ge 24, expected 24 to 32"
    );
    assert_eq!(
        list("prefix = \"fd00:x::/8\""),
        "rbgpd.toml:6:21: prefix_list[0].entry[0].prefix: bad prefix \"fd00:x::/8\": \"fd00:x::\" \
         is not an IP address, expected ADDRESS/LENGTH, e.g. \"10.241.0.0/16\""
    );
    assert_eq!(
        list("prefix = \"fd00::/8\", le = 129"),
        "rbgpd.toml:6:38: prefix_list[0].entry[0].le: le 129 is out of range for fd00::/8, \
         expected 8 to 128"
    );
    assert_eq!(
        err_with("[[prefix_list]]\nname = \"a\"\nentry = []\n[[prefix_list]]\nname = \"a\"\nentry = []\n"),
        "rbgpd.toml:8:8: prefix_list[1].name: duplicate prefix list \"a\", first defined at line 5"
    );
}

#[test]
fn max_paths_and_other_ranges() {
    assert_eq!(
        err_with("max_paths = 0\n"),
        "rbgpd.toml:4:13: router.max_paths: max_paths 0 is invalid, expected 1 or more (1 turns multipath off)"
    );
    assert_eq!(
        err_with("[fib]\nmax_paths = 0\ntable = 0\n"),
        "rbgpd.toml:5:13: fib.max_paths: max_paths 0 is invalid, expected 1 or more (1 turns ECMP off)\n\
         rbgpd.toml:6:9: fib.table: table 0 is invalid, expected 1 to 4294967295 (254 is main)"
    );
    assert_eq!(
        err_with("restart_time = 5000\n"),
        "rbgpd.toml:4:16: router.restart_time: restart_time 5000 is too large, expected 0 to 4095 \
         seconds (12 bits in the graceful restart capability, RFC 4724)"
    );
    assert_eq!(
        err_with("[[neighbor]]\nrange = \"172.18.0.0/16\"\nremote_as = 65100\nlimit = 0\nmax_prefixes = { limit = 0 }\n"),
        "rbgpd.toml:7:9: neighbor[0].limit: limit 0 is invalid, expected 1 or more sessions\n\
         rbgpd.toml:8:26: neighbor[0].max_prefixes.limit: max_prefixes limit 0 is invalid, expected 1 or more"
    );
    let e = err_with("[log]\nlevel = \"bgpd=loud\"\n");
    assert!(
        e.starts_with("rbgpd.toml:5:9: log.level: level \"bgpd=loud\" is not a valid filter ("),
        "{e}"
    );
    assert!(
        e.ends_with("), expected e.g. \"info\" or \"info,bgpd=debug\""),
        "{e}"
    );
}

#[test]
fn several_mistakes_are_all_reported_in_file_order() {
    let e = config::parse(
        "[router]\nasn = 0\nrouter_id = \"0.0.0.0\"\n[[neighbor]]\naddress = \"172.18.0.2\"\n\
         remote_as = 23456\nhold_time = 1\n",
        "lab.toml",
    )
    .unwrap_err();
    let lines: Vec<String> = e
        .diagnostics()
        .iter()
        .map(|d| format!("{}:{} {}", d.line, d.column, d.key))
        .collect();
    assert_eq!(
        lines,
        [
            "2:7 router.asn",
            "3:13 router.router_id",
            "6:13 neighbor[0].remote_as",
            "7:13 neighbor[0].hold_time"
        ]
    );
}

#[test]
fn render_shows_the_source_line() {
    let e = config::parse(
        "[router]\nasn = 65000\nrouter_id = \"172.18.0.5\"\n\n[[neighbor]]\naddress = \"172.18.0.2\"\nremote_as = 65100\nhold_time = 2\n",
        "/etc/rbgpd/rbgpd.toml",
    )
    .unwrap_err();
    assert_eq!(
        e.render(),
        "error: neighbor[0].hold_time: hold time 2 is invalid, expected 0 (no keepalives) or 3 to \
         65535 seconds (RFC 4271 section 4.2)\n \
         --> /etc/rbgpd/rbgpd.toml:8:13\n  \
         |\n\
         8 | hold_time = 2\n  \
         |             ^\n"
    );
}

#[test]
fn a_tcp_md5_key_longer_than_the_kernel_takes_is_refused() {
    let long = "k".repeat(81);
    let e = err_with(&format!(
        "\n[[neighbor]]\naddress = \"172.18.0.2\"\nremote_as = 65100\npassword = \"{long}\"\n"
    ));
    assert!(
        e.contains("neighbor[0].password: password of 81 bytes is invalid, expected 1 to 80 bytes"),
        "{e}"
    );
    let ok = format!(
        "{ROUTER}\n[[neighbor]]\naddress = \"172.18.0.2\"\nremote_as = 65100\npassword = \"{}\"\n",
        "k".repeat(80)
    );
    assert!(config::parse(&ok, "rbgpd.toml").is_ok());
}

#[test]
fn router_hold_and_restart_bounds_are_checked() {
    let e = err(&ROUTER.replace(
        "[router]\n",
        "[router]\nmin_hold_time = 2\nmax_restart_time = 0\n",
    ));
    assert!(
        e.contains("router.min_hold_time: min_hold_time 2 is invalid"),
        "{e}"
    );
    assert!(
        e.contains("router.max_restart_time: max_restart_time 0 is out of range"),
        "{e}"
    );
}

#[test]
fn bfd_switch_or_timers() {
    let n = "[[neighbor]]\naddress = \"172.18.0.2\"\nremote_as = 65100\n";
    let parse = |rest: &str| config::parse(&format!("{ROUTER}{n}{rest}"), "rbgpd.toml").unwrap();
    assert_eq!(parse("").neighbors[0].bfd(), None);
    assert_eq!(parse("bfd = false\n").neighbors[0].bfd(), None);
    let on = parse("bfd = true\n").neighbors[0].bfd().unwrap();
    assert_eq!((on.interval_ms, on.multiplier), (300, 3));
    let t = parse("bfd = { interval_ms = 100 }\n").neighbors[0]
        .bfd()
        .unwrap();
    assert_eq!((t.interval_ms, t.multiplier), (100, 3));
    // Strict unless turned off.
    let strict = |rest: &str| parse(rest).neighbors[0].bfd_strict();
    assert!(strict("bfd = true\n") && strict("bfd = { interval_ms = 100 }\n"));
    assert!(!strict("") && !strict("bfd = { strict = false }\n"));
    // A change of BFD settings alone applies to the running session;
    // turning BFD on or off, or any other change, restarts it.
    let entry = |rest: &str| parse(rest).neighbors[0].clone();
    let on = entry("bfd = true\n");
    assert!(on.same_but_bfd(&entry("bfd = { interval_ms = 600, strict = false }\n")));
    assert!(!on.same_but_bfd(&entry("")));
    assert!(!on.same_but_bfd(&entry("bfd = true\nhold_time = 30\n")));
    assert_eq!(
        err_with(&format!("{n}bfd = {{ interval_ms = 5, multiplier = 1 }}\n")),
        "rbgpd.toml:7:23: neighbor[0].bfd.interval_ms: bfd interval_ms 5 is out of range, \
         expected 10 to 60000\n\
         rbgpd.toml:7:39: neighbor[0].bfd.multiplier: bfd multiplier 1 is out of range, \
         expected 2 to 255"
    );
    assert_eq!(
        err_with(&format!("{n}bfd = {{ interval = 300 }}\n")),
        "rbgpd.toml:7:9: neighbor[0].bfd.interval: unknown key `interval`, expected \
         one of `interval_ms`, `multiplier`, `strict` (did you mean `interval_ms`?)"
    );
    let e = err_with(&format!("{n}bfd = \"yes\"\n"));
    assert!(e.contains("true, false or a table"), "{e}");
}

#[test]
fn remote_as_forms_and_their_mistakes() {
    let n = "[[neighbor]]\nrange = \"172.18.0.0/16\"\n";
    let parse = |rest: &str| config::parse(&format!("{ROUTER}{n}{rest}"), "rbgpd.toml").unwrap();
    assert_eq!(
        parse("remote_as = \"external\"\n").neighbors[0].remote_as,
        RemoteAs::External
    );
    assert_eq!(
        parse("remote_as = [65100, 65101]\n").neighbors[0].remote_as,
        RemoteAs::List(vec![65100, 65101])
    );
    let e = err_with(&format!("{n}remote_as = \"ext\"\n"));
    assert!(
        e.contains("remote_as \"ext\" is not known, expected an AS number"),
        "{e}"
    );
    let e = err_with(&format!("{n}remote_as = [65000, 65100]\n"));
    assert!(
        e.contains("remote_as list mixes our AS 65000 with others"),
        "{e}"
    );
    let e = err_with(&format!("{n}remote_as = [0]\n"));
    assert!(e.contains("AS 0 is reserved"), "{e}");
    let e = err_with(&format!("{n}remote_as = []\n"));
    assert!(e.contains("remote_as list is empty"), "{e}");
}
