//! Semantic checks on a deserialised [`Config`], and the rewording of
//! serde/toml errors. Each check names the key path it is about, so the
//! message carries the line of the offending value.

use super::diag::{closest, Diagnostic, KeyPath, Locator};
use super::{Config, NeighborConfig, FAMILY_NAMES};
use ipnetwork::IpNetwork;
use rib::policy::{Action, Match, PolicyRef};
use std::collections::HashMap;
use std::net::IpAddr;

/// AS 23456, the 2-byte stand-in for 4-byte ASes (RFC 6793).
const AS_TRANS: u32 = 23456;

pub(super) struct Checker<'a, 'l> {
    pub(super) loc: &'l Locator<'a>,
    out: Vec<Diagnostic>,
}

impl Checker<'_, '_> {
    pub(super) fn err(&mut self, path: &KeyPath, message: String) {
        self.out.push(self.loc.at_path(path, message));
    }
}

/// Every semantic mistake in `cfg`, located in the text `loc` was made from.
pub(super) fn validate(cfg: &Config, loc: &Locator<'_>) -> Vec<Diagnostic> {
    let mut c = Checker {
        loc,
        out: Vec::new(),
    };
    let root = KeyPath::default();
    check_router(&mut c, cfg, &root.key("router"));
    let policy_names = check_policies(&mut c, cfg);
    check_prefix_lists(&mut c, cfg);
    check_neighbors(&mut c, cfg, &policy_names);
    super::origination::check_origination(&mut c, cfg, &policy_names);
    check_fib_log(&mut c, cfg);
    c.out
}

fn check_asn(c: &mut Checker<'_, '_>, path: &KeyPath, asn: u32) {
    if asn == 0 {
        c.err(
            path,
            "AS 0 is reserved (RFC 7607), expected 1 to 4294967295".into(),
        );
    } else if asn == AS_TRANS {
        c.err(
            path,
            "AS 23456 is AS_TRANS (RFC 6793), reserved as the 2-byte stand-in, \
             expected a real AS number"
                .into(),
        );
    }
}

fn check_router(c: &mut Checker<'_, '_>, cfg: &Config, p: &KeyPath) {
    let r = &cfg.router;
    check_asn(c, &p.key("asn"), r.asn);
    if r.router_id.is_unspecified() {
        c.err(
            &p.key("router_id"),
            "router id 0.0.0.0 is invalid, expected a non-zero IPv4 address (RFC 6286), \
             usually one of the router's addresses"
                .into(),
        );
    }
    if r.max_paths == 0 {
        c.err(
            &p.key("max_paths"),
            "max_paths 0 is invalid, expected 1 or more (1 turns multipath off)".into(),
        );
    }
    if r.restart_time > 4095 {
        c.err(
            &p.key("restart_time"),
            format!(
                "restart_time {} is too large, expected 0 to 4095 seconds \
                 (12 bits in the graceful restart capability, RFC 4724)",
                r.restart_time
            ),
        );
    }
    if matches!(r.min_hold_time, 1 | 2) {
        c.err(
            &p.key("min_hold_time"),
            format!(
                "min_hold_time {} is invalid, expected 0 (also accept a peer's 0) or 3 \
                 to 65535 seconds (RFC 4271 section 4.2)",
                r.min_hold_time
            ),
        );
    }
    if r.max_restart_time == 0 || r.max_restart_time > 4095 {
        c.err(
            &p.key("max_restart_time"),
            format!(
                "max_restart_time {} is out of range, expected 1 to 4095 seconds",
                r.max_restart_time
            ),
        );
    }
    for (i, a) in r.listen.iter().enumerate() {
        if let Some(j) = r.listen.iter().take(i).position(|b| b == a) {
            let first = c.loc.line_of(&p.key("listen").index(j));
            c.err(
                &p.key("listen").index(i),
                format!("listen address {a} is given twice (first at line {first})"),
            );
        }
    }
}

fn check_neighbors(c: &mut Checker<'_, '_>, cfg: &Config, policies: &[String]) {
    let mut seen_addr: HashMap<IpAddr, usize> = HashMap::new();
    let mut seen_range: HashMap<IpNetwork, usize> = HashMap::new();
    let mut seen_link: HashMap<String, usize> = HashMap::new();
    for (i, n) in cfg.neighbors.iter().enumerate() {
        let p = KeyPath::default().key("neighbor").index(i);
        let given = [
            n.address.is_some(),
            n.range.is_some(),
            n.interface.is_some(),
        ];
        if given.iter().filter(|g| **g).count() > 1 {
            let key = if n.interface.is_some() {
                "interface"
            } else {
                "range"
            };
            c.err(
                &p.key(key),
                "neighbor has more than one of address, range and interface, expected \
                 exactly one: address for one peer, range for dynamic neighbors, \
                 interface for unnumbered peering"
                    .into(),
            );
            continue;
        }
        if let Some(pattern) = &n.interface {
            check_interface(c, &p, n, (pattern, i), &mut seen_link);
            if !cfg.router.listen.iter().any(|l| l.is_ipv6()) {
                c.err(
                    &p.key("interface"),
                    "interface neighbors connect over IPv6 link-local, but router.listen has \
                     no IPv6 address, expected one such as \"[::]:179\" in router.listen"
                        .into(),
                );
            }
        }
        match (n.address, n.range) {
            (Some(_), Some(_)) => {}
            (None, None) if n.interface.is_some() => {}
            (None, None) => c.err(
                &p,
                "neighbor has no address, range or interface, expected one: \
                 address = \"ADDRESS\" for one peer, range = \"PREFIX\" for dynamic \
                 neighbors or interface = \"NAME\" for unnumbered peering"
                    .into(),
            ),
            (Some(a), None) => {
                if let Some(&j) = seen_addr.get(&a) {
                    let first = c.loc.line_of(&KeyPath::default().key("neighbor").index(j));
                    c.err(
                        &p.key("address"),
                        format!("duplicate neighbor {a}, first defined at line {first}"),
                    );
                } else {
                    seen_addr.insert(a, i);
                }
                check_local_address(c, &p, n, a);
            }
            (None, Some(r)) => {
                if r.ip() != r.network() {
                    c.err(
                        &p.key("range"),
                        format!(
                            "range {r} has host bits set, expected {}/{}",
                            r.network(),
                            r.prefix()
                        ),
                    );
                }
                if let Some(&j) = seen_range.get(&r) {
                    let first = c.loc.line_of(&KeyPath::default().key("neighbor").index(j));
                    c.err(
                        &p.key("range"),
                        format!("duplicate neighbor range {r}, first defined at line {first}"),
                    );
                } else {
                    seen_range.insert(r, i);
                }
                if n.limit == 0 {
                    c.err(
                        &p.key("limit"),
                        "limit 0 is invalid, expected 1 or more sessions".into(),
                    );
                }
            }
        }
        check_neighbor_values(c, &p, n);
        if let Some(problem) = n.remote_as.problem(cfg.router.asn) {
            c.err(&p.key("remote_as"), problem);
        }
        check_policy_ref(c, &p.key("import"), &n.import, policies);
        check_policy_ref(c, &p.key("export"), &n.export, policies);
    }
}

/// An `interface` neighbor: a name or `*` pattern the kernel could have
/// (at most 15 octets, no `/`, whitespace or `%`), given once, and none of
/// the settings that need a fixed address.
fn check_interface(
    c: &mut Checker<'_, '_>,
    p: &KeyPath,
    n: &NeighborConfig,
    (pattern, index): (&str, usize),
    seen: &mut HashMap<String, usize>,
) {
    let bad = |ch: char| ch == '/' || ch == '%' || ch == ':' || ch.is_whitespace();
    if pattern.is_empty() || pattern.len() > 15 || pattern.chars().any(bad) {
        c.err(
            &p.key("interface"),
            format!(
                "interface {pattern:?} is not an interface name, expected up to 15 \
                 characters without '/', ':', '%' or spaces, '*' matching any run \
                 (\"eth1\", \"veth*\")"
            ),
        );
    }
    if let Some(&j) = seen.get(pattern) {
        let first = c.loc.line_of(&KeyPath::default().key("neighbor").index(j));
        c.err(
            &p.key("interface"),
            format!("duplicate neighbor interface {pattern:?}, first defined at line {first}"),
        );
    } else {
        seen.insert(pattern.to_string(), index);
    }
    for (key, set) in [
        ("password", n.password.is_some()),
        ("local_address", n.local_address.is_some()),
    ] {
        if set {
            c.err(
                &p.key(key),
                format!(
                    "{key} is not supported with interface (the peer's link-local address \
                     is learned), expected it left out"
                ),
            );
        }
    }
    if n.limit == 0 {
        c.err(
            &p.key("limit"),
            "limit 0 is invalid, expected 1 or more sessions".into(),
        );
    }
}

fn check_local_address(c: &mut Checker<'_, '_>, p: &KeyPath, n: &NeighborConfig, a: IpAddr) {
    if let Some(l) = n.local_address {
        if l.is_ipv4() != a.is_ipv4() {
            c.err(
                &p.key("local_address"),
                format!(
                    "local_address {l} and neighbor address {a} are of different families, \
                     expected an {} address",
                    if a.is_ipv4() { "IPv4" } else { "IPv6" }
                ),
            );
        }
    }
}

fn check_neighbor_values(c: &mut Checker<'_, '_>, p: &KeyPath, n: &NeighborConfig) {
    for asn in n.remote_as.numbers() {
        check_asn(c, &p.key("remote_as"), *asn);
    }

    // RFC 4271 section 4.2: "Hold Time: ... MUST be either zero or at least
    // three seconds."
    if n.hold_time == 1 || n.hold_time == 2 {
        c.err(
            &p.key("hold_time"),
            format!(
                "hold time {} is invalid, expected 0 (no keepalives) or 3 to 65535 seconds \
                 (RFC 4271 section 4.2)",
                n.hold_time
            ),
        );
    } else if let Some(k) = n.keepalive {
        if n.hold_time != 0 && (k == 0 || k >= n.hold_time) {
            c.err(
                &p.key("keepalive"),
                format!(
                    "keepalive {k} is invalid with hold_time {h}, expected 1 to {m} seconds \
                     (usually a third of the hold time)",
                    h = n.hold_time,
                    m = n.hold_time - 1
                ),
            );
        }
    }
    if n.port == 0 {
        c.err(
            &p.key("port"),
            "port 0 is invalid, expected 1 to 65535".into(),
        );
    }
    if n.connect_retry == 0 {
        c.err(
            &p.key("connect_retry"),
            "connect_retry 0 is invalid, expected 1 or more seconds".into(),
        );
    }
    // The kernel's TCP_MD5SIG_MAXKEYLEN: a longer key cannot be installed,
    // and the session would never come up.
    if let Some(len) = n
        .password
        .as_ref()
        .map(String::len)
        .filter(|l| *l > 80 || *l == 0)
    {
        c.err(
            &p.key("password"),
            format!("password of {len} bytes is invalid, expected 1 to 80 bytes (TCP-MD5 key)"),
        );
    }
    if n.multihop == Some(0) {
        c.err(
            &p.key("multihop"),
            "multihop 0 is invalid, expected a TTL from 1 to 255".into(),
        );
    }
    match n.ttl_security {
        Some(0) | Some(255) => c.err(
            &p.key("ttl_security"),
            format!(
                "ttl_security {} is invalid, expected 1 to 254 hops",
                n.ttl_security.unwrap_or(0)
            ),
        ),
        Some(_) if n.multihop.is_some() => c.err(
            &p.key("ttl_security"),
            "ttl_security and multihop cannot both be set, expected one of them \
             (GTSM always sends TTL 255)"
                .into(),
        ),
        _ => {}
    }
    if n.families.is_empty() {
        c.err(
            &p.key("families"),
            format!(
                "families is empty, expected at least one of {}",
                quoted(&FAMILY_NAMES)
            ),
        );
    }
    for (j, f) in n.families.iter().enumerate() {
        let fp = p.key("families").index(j);
        if !FAMILY_NAMES.contains(&f.as_str()) {
            c.err(&fp, unknown_family(f));
        } else if n.families.iter().take(j).any(|g| g == f) {
            c.err(&fp, format!("family \"{f}\" is given twice"));
        }
    }
    // RFC 8950: the capability we offer is for IPv4 unicast NLRI only, and
    // the session would never use it without that family.
    if n.extended_next_hop == Some(true) && !n.families.iter().any(|f| f == "ipv4-unicast") {
        c.err(
            &p.key("extended_next_hop"),
            "extended_next_hop = true needs family \"ipv4-unicast\", expected it in families \
             (the capability carries IPv4 unicast routes with IPv6 next hops, RFC 8950)"
                .into(),
        );
    }
    if let Some(t) = n.bfd() {
        // FRR's bfdd takes 10 ms to 60 s and a multiplier of 2 to 255; a
        // multiplier of 1 would take the session down on one lost packet.
        if !(10..=60_000).contains(&t.interval_ms) {
            c.err(
                &p.key("bfd").key("interval_ms"),
                format!(
                    "bfd interval_ms {} is out of range, expected 10 to 60000",
                    t.interval_ms
                ),
            );
        }
        if t.multiplier < 2 {
            c.err(
                &p.key("bfd").key("multiplier"),
                format!(
                    "bfd multiplier {} is out of range, expected 2 to 255",
                    t.multiplier
                ),
            );
        }
    }
    if let Some(m) = &n.max_prefixes {
        if m.limit == 0 {
            c.err(
                &p.key("max_prefixes").key("limit"),
                "max_prefixes limit 0 is invalid, expected 1 or more".into(),
            );
        }
    }
}

fn unknown_family(f: &str) -> String {
    let hint =
        closest(f, &FAMILY_NAMES).map_or(String::new(), |s| format!(" (did you mean \"{s}\"?)"));
    format!(
        "unknown family \"{f}\", expected one of {}{hint}",
        quoted(&FAMILY_NAMES)
    )
}

fn quoted(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("\"{n}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

pub(super) fn check_policy_ref(
    c: &mut Checker<'_, '_>,
    p: &KeyPath,
    r: &PolicyRef,
    policies: &[String],
) {
    let PolicyRef::Named(name) = r else { return };
    if policies.contains(name) {
        return;
    }
    let names: Vec<&str> = policies.iter().map(String::as_str).collect();
    let known = if names.is_empty() {
        "no [[policy]] is defined".to_string()
    } else {
        format!("or a [[policy]] name: {}", quoted(&names))
    };
    let hint = closest(name, &names).map_or(String::new(), |s| format!(" (did you mean \"{s}\"?)"));
    let sep = if names.is_empty() { "; " } else { " " };
    c.err(
        p,
        format!("policy \"{name}\" is not defined, expected \"all\", \"none\"{sep}{known}{hint}"),
    );
}

/// Checks `[[policy]]` entries; returns the policy names.
fn check_policies(c: &mut Checker<'_, '_>, cfg: &Config) -> Vec<String> {
    let lists: Vec<&str> = cfg.prefix_lists.iter().map(|l| l.name.as_str()).collect();
    let mut names: Vec<String> = Vec::new();
    for (i, pol) in cfg.policies.iter().enumerate() {
        let p = KeyPath::default().key("policy").index(i);
        check_name(c, &p, "policy", &pol.name, &names);
        names.push(pol.name.clone());
        for (t, term) in pol.terms.iter().enumerate() {
            let tp = p.key("term").index(t);
            check_match(c, &tp.key("match"), &term.matches, &lists);
            check_action(c, &tp.key("action"), &term.action);
        }
    }
    names
}

fn check_name(c: &mut Checker<'_, '_>, p: &KeyPath, what: &str, name: &str, seen: &[String]) {
    let np = p.key("name");
    if name.is_empty() {
        c.err(&np, format!("{what} name is empty, expected a name"));
    } else if what == "policy" && (name == "all" || name == "none") {
        c.err(
            &np,
            format!("policy name \"{name}\" is reserved (import/export \"{name}\" is built in), expected another name"),
        );
    } else if let Some(j) = seen.iter().position(|s| s == name) {
        let first = c
            .loc
            .line_of(&KeyPath::default().key(p_root(p)).index(j).key("name"));
        c.err(
            &np,
            format!("duplicate {what} \"{name}\", first defined at line {first}"),
        );
    }
}

fn p_root(p: &KeyPath) -> &str {
    match p.0.first() {
        Some(super::diag::Seg::Key(k)) => k,
        _ => "",
    }
}

fn check_match(c: &mut Checker<'_, '_>, p: &KeyPath, m: &Match, lists: &[&str]) {
    if let Some(name) = &m.prefix_list {
        if !lists.contains(&name.as_str()) {
            let known = if lists.is_empty() {
                "no [[prefix_list]] is defined".to_string()
            } else {
                format!("expected one of {}", quoted(lists))
            };
            let hint =
                closest(name, lists).map_or(String::new(), |s| format!(" (did you mean \"{s}\"?)"));
            c.err(
                &p.key("prefix_list"),
                format!("prefix list \"{name}\" is not defined, {known}{hint}"),
            );
        }
    }
    if let Some(f) = &m.family {
        // The policy engine also takes the short names.
        if !FAMILY_NAMES.contains(&f.as_str()) && f != "ipv4" && f != "ipv6" {
            c.err(&p.key("family"), unknown_family(f));
        }
    }
    check_communities(c, &p.key("communities"), m.communities.as_deref());
    for (i, nh) in m.next_hop.iter().flatten().enumerate() {
        if let Err(msg) = parse_prefix(nh) {
            c.err(&p.key("next_hop").index(i), msg);
        }
    }
}

fn check_action(c: &mut Checker<'_, '_>, p: &KeyPath, a: &Action) {
    check_communities(c, &p.key("add_communities"), a.add_communities.as_deref());
    check_communities(
        c,
        &p.key("remove_communities"),
        a.remove_communities.as_deref(),
    );
}

pub(super) fn check_communities(c: &mut Checker<'_, '_>, p: &KeyPath, list: Option<&[String]>) {
    for (i, s) in list.into_iter().flatten().enumerate() {
        let t = s.trim().to_ascii_lowercase().replace('_', "-");
        let parts: Vec<&str> = t.split(':').collect();
        let ok = match parts.as_slice() {
            [w] => matches!(
                *w,
                "no-export" | "no-advertise" | "no-export-subconfed" | "blackhole"
            ),
            [a, b] => a.parse::<u16>().is_ok() && b.parse::<u16>().is_ok(),
            [a, b, d] => {
                a.parse::<u32>().is_ok() && b.parse::<u32>().is_ok() && d.parse::<u32>().is_ok()
            }
            _ => false,
        };
        if !ok {
            c.err(
                &p.index(i),
                format!(
                    "community \"{s}\" is invalid, expected \"A:B\" (standard, each 0 to 65535), \
                     \"A:B:C\" (large, each 0 to 4294967295) or a well-known name \
                     (no-export, no-advertise, no-export-subconfed, blackhole)"
                ),
            );
        }
    }
}

/// Parses a prefix strictly: a length is required and host bits must be
/// zero.
pub(super) fn parse_prefix(s: &str) -> Result<IpNetwork, String> {
    let (addr, len) = match s.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (s, None),
    };
    let Ok(ip) = addr.parse::<IpAddr>() else {
        return Err(format!(
            "bad prefix \"{s}\": \"{addr}\" is not an IP address, expected ADDRESS/LENGTH, \
             e.g. \"10.241.0.0/16\""
        ));
    };
    let max: u8 = if ip.is_ipv4() { 32 } else { 128 };
    let Some(len) = len else {
        return Err(format!(
            "bad prefix \"{s}\": no length, expected ADDRESS/LENGTH, e.g. \"{s}/{max}\""
        ));
    };
    let net = len
        .parse::<u8>()
        .ok()
        .and_then(|l| IpNetwork::new(ip, l).ok())
        .ok_or_else(|| {
            format!("bad prefix \"{s}\": length {len} is invalid, expected 0 to {max}")
        })?;
    if net.ip() != net.network() {
        return Err(format!(
            "bad prefix \"{s}\": host bits set, expected \"{}/{}\"",
            net.network(),
            net.prefix()
        ));
    }
    Ok(net)
}

fn check_prefix_lists(c: &mut Checker<'_, '_>, cfg: &Config) {
    let mut names: Vec<String> = Vec::new();
    for (i, l) in cfg.prefix_lists.iter().enumerate() {
        let p = KeyPath::default().key("prefix_list").index(i);
        check_name(c, &p, "prefix list", &l.name, &names);
        names.push(l.name.clone());
        for (j, e) in l.entries.iter().enumerate() {
            let ep = p.key("entry").index(j);
            let net = match parse_prefix(&e.prefix) {
                Ok(n) => n,
                Err(msg) => {
                    c.err(&ep.key("prefix"), msg);
                    continue;
                }
            };
            let len = net.prefix();
            let max: u8 = if net.is_ipv4() { 32 } else { 128 };
            if let Some(ge) = e.ge {
                if ge < len || ge > max {
                    c.err(
                        &ep.key("ge"),
                        format!(
                            "ge {ge} is out of range for {}, expected {len} to {max}",
                            e.prefix
                        ),
                    );
                }
            }
            if let Some(le) = e.le {
                let lo = e.ge.unwrap_or(len).max(len);
                if le < lo || le > max {
                    c.err(
                        &ep.key("le"),
                        format!(
                            "le {le} is out of range for {}{}, expected {lo} to {max}",
                            e.prefix,
                            e.ge.map_or(String::new(), |g| format!(" with ge {g}"))
                        ),
                    );
                }
            }
        }
    }
}

fn check_fib_log(c: &mut Checker<'_, '_>, cfg: &Config) {
    let f = KeyPath::default().key("fib");
    if cfg.fib.max_paths == 0 {
        c.err(
            &f.key("max_paths"),
            "max_paths 0 is invalid, expected 1 or more (1 turns ECMP off)".into(),
        );
    }
    if cfg.fib.table == 0 {
        c.err(
            &f.key("table"),
            "table 0 is invalid, expected 1 to 4294967295 (254 is main)".into(),
        );
    }
    if let Err(e) = tracing_subscriber::EnvFilter::try_new(&cfg.log.level) {
        c.err(
            &KeyPath::default().key("log").key("level"),
            format!(
                "level \"{}\" is not a valid filter ({e}), expected e.g. \"info\" or \"info,bgpd=debug\"",
                cfg.log.level
            ),
        );
    }
    if cfg.control.socket.as_os_str().is_empty() {
        c.err(
            &KeyPath::default().key("control").key("socket"),
            "socket is empty, expected a path".into(),
        );
    }
}

/// A serde/toml error as a diagnostic, reworded where the raw text is
/// unhelpful.
pub(super) fn serde_error(loc: &Locator<'_>, e: &toml::de::Error) -> Diagnostic {
    let span = e.span().unwrap_or(0..0);
    // No span (toml gives 0..0 for a missing top-level table), or one over
    // the whole document: the error belongs to no key.
    let whole = span == (0..0) || (span.start == 0 && span.end >= loc.text.trim_end().len());
    let path = if whole {
        KeyPath::default()
    } else {
        loc.path_at(span.start)
    };
    let raw = loc.text.get(span.clone()).unwrap_or("").trim();
    let message = if whole && e.message() == "missing field `router`" {
        "missing table [router], expected one with at least asn and router_id, e.g. \
         [router] asn = 65000 router_id = \"172.18.0.5\""
            .to_string()
    } else if e.message() == "duplicate key" {
        format!("duplicate key `{raw}`, expected each key and [table] once")
    } else {
        reword(e.message(), &path, raw)
    };
    loc.at_offset(
        if whole { 0 } else { span.start },
        path.to_string(),
        message,
    )
}

fn reword(msg: &str, path: &KeyPath, raw: &str) -> String {
    let key = path.last_key().unwrap_or("");
    // "unknown field `hold_tme`, expected one of `a`, `b`": add a hint.
    if let Some(rest) = msg.strip_prefix("unknown field `") {
        if let Some((field, expected)) = rest.split_once('`') {
            let valid: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
            let hint =
                closest(field, &valid).map_or(String::new(), |s| format!(" (did you mean `{s}`?)"));
            return format!("unknown key `{field}`{expected}{hint}");
        }
    }
    if let Some(rest) = msg.strip_prefix("missing field `") {
        return format!("missing key `{rest}");
    }
    let bad_int = msg.starts_with("invalid value: integer");
    let wrong_type = msg.starts_with("invalid type");
    match key {
        "asn" if bad_int => {
            return format!("AS number {raw} is out of range, expected 1 to 4294967295");
        }
        "asn" if wrong_type => {
            return format!("AS number {raw} is not an integer, expected 1 to 4294967295");
        }
        "router_id" => {
            return format!(
                "router id {raw} is invalid, expected an IPv4 address like \"172.18.0.5\""
            );
        }
        "address" | "local_address" if !wrong_type => {
            return format!(
                "{raw} is not an IP address, expected e.g. \"172.18.0.2\" or \"fd00::2\""
            );
        }
        "range" if !wrong_type => {
            return format!("bad prefix {raw}, expected ADDRESS/LENGTH, e.g. \"172.18.0.0/16\"");
        }
        "listen" if !wrong_type => {
            return format!(
                "{raw} is not a socket address, expected ADDRESS:PORT, e.g. \"0.0.0.0:179\" or \"[::]:179\""
            );
        }
        _ => {}
    }
    let (what, ty) = msg.rsplit_once(", expected ").unwrap_or((msg, ""));
    if let Some(range) = int_range(ty) {
        return if bad_int {
            format!("{raw} is out of range, expected an integer from {range}")
        } else {
            format!("{}, expected an integer from {range}", what)
        };
    }
    if ty.starts_with("struct ") {
        return format!("{what}, expected a table");
    }
    msg.replace("expected a sequence", "expected an array")
        .replace("expected a map", "expected a table")
}

fn int_range(ty: &str) -> Option<&'static str> {
    Some(match ty {
        "u8" => "0 to 255",
        "u16" => "0 to 65535",
        "u32" => "0 to 4294967295",
        "usize" | "u64" => "0 to 18446744073709551615",
        _ => return None,
    })
}
