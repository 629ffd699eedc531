//! How rbgpctl prints responses: pure functions from [`super::proto`] types
//! to text, so golden tests fix the output. Tables are aligned columns
//! separated by two spaces, without trailing blanks, in the style of
//! `cilium bgp peers` and `gobgp global rib`.

use super::proto::{
    BfdSession, Event, EventKind, FibEntry, MessageCounts, PeerActionResult, PeerDetail,
    PeerSummary, ReloadResult, Response, RouteEntry, RoutePath, Summary,
};
use std::fmt::Write as _;

/// Renders any response as rbgpctl prints it.
pub fn response(r: &Response) -> String {
    match r {
        Response::Peers { peers } => peers_table(peers),
        Response::Peer { peer } => peer_detail(peer),
        Response::Routes { routes } => routes_table(routes),
        Response::Fib { routes } => fib_table(routes),
        Response::Bfd { sessions } => bfd_table(sessions),
        Response::Summary { summary: s } => summary(s),
        Response::Reload { result } => reload(result),
        Response::PeerAction { result } => peer_action(result),
        Response::Event { event } => event_line(event),
        Response::Explain { explain } => super::explain::text(explain),
        Response::Clusters { clusters } => super::clusters::text(clusters),
        Response::Error { message } => format!("error: {message}\n"),
    }
}

/// Aligns rows under headers; every row must have as many cells as there
/// are headers (missing cells print empty).
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let header: Vec<String> = headers.iter().map(|h| h.to_string()).collect();
    for row in std::iter::once(&header).chain(rows) {
        let mut line = String::new();
        for (i, w) in widths.iter().enumerate() {
            let cell = row.get(i).map_or("", String::as_str);
            if i > 0 {
                line.push_str("  ");
            }
            let _ = write!(line, "{cell:<w$}");
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// Bytes as mebibytes, one decimal: `12.0 MiB`.
pub fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / 1048576.0)
}

/// A duration as two units at most: `42s`, `5m3s`, `2h7m`, `3d4h`.
pub fn duration(secs: u64) -> String {
    let (d, h, m, s) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    if secs < 60 {
        format!("{s}s")
    } else if secs < 3600 {
        format!("{m}m{s}s")
    } else if secs < 86_400 {
        format!("{h}h{m}m")
    } else {
        format!("{d}d{h}h")
    }
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map_or_else(|| "-".to_string(), |v| v.to_string())
}

fn state_text(p: &PeerSummary) -> String {
    let mut s = p.state.to_string();
    if p.admin_down {
        s += " (admin down)";
    }
    if let Some(bfd) = &p.bfd {
        s += &format!(" (bfd {bfd})");
    }
    s
}

fn up_down(p: &PeerSummary) -> String {
    opt(p.uptime_secs.or(p.down_secs).map(duration))
}

/// `show bfd`: one row per session, as FRR's `show bfd peers brief`.
pub fn bfd_table(sessions: &[BfdSession]) -> String {
    if sessions.is_empty() {
        return "No BFD sessions.\n".into();
    }
    let headers = [
        "Peer", "State", "Up", "Local", "Remote", "TX", "Detect", "Diag", "In", "Out",
    ];
    let rows: Vec<Vec<String>> = sessions
        .iter()
        .map(|b| {
            vec![
                b.address.to_string(),
                b.state.clone(),
                opt(b.uptime_secs.map(duration)),
                b.local_discriminator.to_string(),
                b.remote_discriminator.to_string(),
                format!("{} ms", b.tx_interval_ms),
                opt(b.detection_ms.map(|d| format!("{d} ms"))),
                b.last_diag.clone(),
                b.packets_in.to_string(),
                b.packets_out.to_string(),
            ]
        })
        .collect();
    table(&headers, &rows)
}

/// `show peers`: one row per peer and family, as `cilium bgp peers`.
pub fn peers_table(peers: &[PeerSummary]) -> String {
    if peers.is_empty() {
        return "No peers.\n".into();
    }
    let with_desc = peers.iter().any(|p| p.description.is_some());
    let mut headers = vec!["Peer"];
    if with_desc {
        headers.push("Description");
    }
    headers.extend([
        "Remote AS",
        "State",
        "Up/Down",
        "Family",
        "Received",
        "Accepted",
        "Advertised",
    ]);
    let mut rows = Vec::new();
    for p in peers {
        let mut first = vec![if p.dynamic {
            format!("{} (dynamic)", p.shown_address())
        } else {
            p.shown_address()
        }];
        if with_desc {
            first.push(p.description.clone().unwrap_or_default());
        }
        first.extend([as_text(p.remote_as), state_text(p), up_down(p)]);
        let blank = vec![String::new(); first.len()];
        if p.families.is_empty() {
            rows.push(first);
            continue;
        }
        for (i, f) in p.families.iter().enumerate() {
            let mut row = if i == 0 { first.clone() } else { blank.clone() };
            row.extend([
                family_text(f),
                f.received.to_string(),
                f.accepted.to_string(),
                f.advertised.to_string(),
            ]);
            rows.push(row);
        }
    }
    table(&headers, &rows)
}

/// `  Key:   value` with the value at column `width + 2`; an empty key
/// continues the previous line's list.
fn kv_w(out: &mut String, width: usize, key: &str, value: &str) {
    let key = if key.is_empty() {
        String::new()
    } else {
        format!("{key}:")
    };
    let _ = writeln!(out, "  {key:<width$}{value}");
}

fn kv(out: &mut String, key: &str, value: &str) {
    kv_w(out, 29, key, value);
}

/// A peer's AS; 0 is not known yet (an `external` or list neighbor
/// before its first session).
fn as_text(asn: u32) -> String {
    match asn {
        0 => "?".into(),
        a => a.to_string(),
    }
}

/// `show peer ADDR`.
pub fn peer_detail(d: &PeerDetail) -> String {
    let p = &d.summary;
    let mut out = format!(
        "Peer {}, remote AS {}, local AS {}{}\n",
        p.shown_address(),
        as_text(p.remote_as),
        p.local_as,
        if p.dynamic { ", dynamic" } else { "" }
    );
    if let Some(desc) = &p.description {
        kv(&mut out, "Description", desc);
    }
    let since = match (p.uptime_secs, p.down_secs) {
        (Some(u), _) => format!(", up for {}", duration(u)),
        (None, Some(dn)) => format!(", down for {}", duration(dn)),
        _ => String::new(),
    };
    kv(&mut out, "State", &format!("{}{since}", state_text(p)));
    kv(&mut out, "Remote router ID", &opt(d.remote_router_id));
    if let (Some(l), Some(r)) = (d.local_addr, d.remote_addr) {
        kv(&mut out, "Connection", &format!("{l} -> {r}"));
    }
    let timers = match (d.hold_time, d.keepalive) {
        (Some(h), Some(k)) => format!(
            "hold {h} s, keepalive {k} s (configured hold {} s)",
            d.configured_hold_time
        ),
        _ => format!("configured hold {} s", d.configured_hold_time),
    };
    kv(&mut out, "Timers", &timers);
    if d.capabilities.is_empty() {
        kv(&mut out, "Capabilities", "-");
    }
    for (i, c) in d.capabilities.iter().enumerate() {
        kv(&mut out, if i == 0 { "Capabilities" } else { "" }, c);
    }
    kv(
        &mut out,
        "Established",
        &format!("{} times", d.established_count),
    );
    kv(&mut out, "Last error", &opt(d.last_error.as_deref()));
    kv(
        &mut out,
        "Last notification sent",
        &opt(d.last_notification_sent.as_deref()),
    );
    kv(
        &mut out,
        "Last notification received",
        &opt(d.last_notification_received.as_deref()),
    );
    out.push('\n');
    let fam: Vec<Vec<String>> = p
        .families
        .iter()
        .map(|f| {
            vec![
                family_text(f),
                f.received.to_string(),
                f.accepted.to_string(),
                f.advertised.to_string(),
            ]
        })
        .collect();
    out.push_str(&indent(&table(
        &["Family", "Received", "Accepted", "Advertised"],
        &fam,
    )));
    out.push('\n');
    let (s, r) = (&d.messages_sent, &d.messages_received);
    let row = |name: &str, f: fn(&MessageCounts) -> u64| {
        vec![name.to_string(), f(s).to_string(), f(r).to_string()]
    };
    let msgs = vec![
        row("Open", |c| c.open),
        row("Update", |c| c.update),
        row("Notification", |c| c.notification),
        row("Keepalive", |c| c.keepalive),
        row("Route refresh", |c| c.route_refresh),
        row("Total", MessageCounts::total),
    ];
    out.push_str(&indent(&table(&["Messages", "Sent", "Received"], &msgs)));
    out
}

fn indent(s: &str) -> String {
    s.lines().map(|l| format!("  {l}\n")).collect()
}

fn origin_code(o: &str) -> &str {
    match o {
        "igp" => "i",
        "egp" => "e",
        "incomplete" => "?",
        other => other,
    }
}

fn marker(p: &RoutePath) -> String {
    let mut m = String::new();
    if p.stale {
        m.push('s');
    }
    m.push('*');
    if p.best {
        m.push('>');
    } else if p.multipath {
        m.push('=');
    }
    m
}

/// `show routes`: one row per path, best marked `*>`, other multipath
/// members `*=`, stale (graceful restart) paths prefixed `s`.
pub fn routes_table(routes: &[RouteEntry]) -> String {
    if routes.is_empty() {
        return "No routes.\n".into();
    }
    let mut rows = Vec::new();
    for e in routes {
        for p in &e.paths {
            let comms: Vec<&str> = p
                .communities
                .iter()
                .chain(&p.large_communities)
                .map(String::as_str)
                .collect();
            rows.push(vec![
                marker(p),
                e.prefix.clone(),
                p.next_hop.clone(),
                p.peer
                    .map_or_else(|| "local".to_string(), |a| a.to_string()),
                if p.as_path.is_empty() {
                    "-".into()
                } else {
                    p.as_path.clone()
                },
                origin_code(&p.origin).to_string(),
                opt(p.med),
                opt(p.local_pref),
                duration(p.age_secs),
                if comms.is_empty() {
                    String::new()
                } else {
                    comms.join(" ")
                },
            ]);
        }
    }
    let mut out = "Status codes: * valid, > best, = multipath, s stale\n\n".to_string();
    out.push_str(&table(
        &[
            "",
            "Prefix",
            "Next Hop",
            "Peer",
            "AS Path",
            "Origin",
            "MED",
            "LocPref",
            "Age",
            "Communities",
        ],
        &rows,
    ));
    out
}

/// `show fib`.
pub fn fib_table(routes: &[FibEntry]) -> String {
    if routes.is_empty() {
        return "No FIB routes.\n".into();
    }
    // The table column only when there is more than one table.
    let first = routes.first().map(|f| f.table);
    let tables = routes.iter().any(|f| Some(f.table) != first);
    let rows: Vec<Vec<String>> = routes
        .iter()
        .map(|f| {
            vec![
                if tables {
                    format!("{} table {}", f.prefix, f.table)
                } else {
                    f.prefix.clone()
                },
                f.next_hops.join(","),
                if f.installed { "yes" } else { "no" }.to_string(),
                match (f.installed, f.matches_kernel) {
                    (false, _) => "-",
                    (true, true) => "ok",
                    (true, false) => "differs",
                }
                .to_string(),
                f.note.clone().unwrap_or_default(),
            ]
        })
        .collect();
    table(
        &["Prefix", "Next Hops", "Installed", "Kernel", "Note"],
        &rows,
    )
}

/// `show summary`.
pub fn summary(s: &Summary) -> String {
    let mut out = String::new();
    let version = if s.version.is_empty() {
        String::new()
    } else {
        format!(" {}", s.version)
    };
    let _ = writeln!(
        out,
        "rbgpd{version}, router id {}, local AS {}, up {}",
        opt(s.router_id),
        s.asn,
        duration(s.uptime_secs)
    );
    kv_w(
        &mut out,
        9,
        "Peers",
        &format!(
            "{} established, {} total",
            s.peers_established, s.peers_total
        ),
    );
    kv_w(
        &mut out,
        9,
        "RIB",
        &format!(
            "{} IPv4 prefixes, {} IPv6 prefixes, {} paths",
            s.rib_prefixes_v4, s.rib_prefixes_v6, s.rib_paths
        ),
    );
    kv_w(
        &mut out,
        9,
        "FIB",
        &match &s.fib_off {
            Some(reason) => format!("OFF: {reason}"),
            None => format!("{} routes installed", s.fib_routes),
        },
    );
    let mem = s.memory_rss_bytes.map(|b| format!("{} resident", mib(b)));
    kv_w(&mut out, 9, "Memory", &opt(mem));
    out
}

/// `reload`.
pub fn reload(r: &ReloadResult) -> String {
    let mut out = String::new();
    if !r.applied {
        out.push_str("Configuration NOT reloaded; the running configuration stays:\n");
        for e in &r.errors {
            let _ = writeln!(out, "  {e}");
        }
        return out;
    }
    out.push_str("Configuration reloaded.\n");
    if r.added.is_empty() && r.removed.is_empty() && r.changed.is_empty() {
        out.push_str("  No neighbor changes.\n");
    }
    for (what, list) in [
        ("Added", &r.added),
        ("Removed", &r.removed),
        ("Changed", &r.changed),
    ] {
        if !list.is_empty() {
            kv_w(&mut out, 9, what, &list.join(", "));
        }
    }
    out
}

/// `peer reset|shutdown|enable`.
pub fn peer_action(r: &PeerActionResult) -> String {
    let done = match r.action.as_str() {
        "reset" => "reset",
        "shutdown" => "shut down",
        "enable" => "enabled",
        other => other,
    };
    let mut out = format!("Peer {} {done}.\n", r.address);
    if let Some(m) = &r.message {
        let _ = writeln!(out, "  {m}");
    }
    out
}

/// `HH:MM:SS.mmm` (UTC) of a Unix time in milliseconds.
pub fn clock(unix_ms: u64) -> String {
    let s = unix_ms / 1000;
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        s / 3600 % 24,
        s / 60 % 60,
        s % 60,
        unix_ms % 1000
    )
}

/// One `watch` line.
pub fn event_line(e: &Event) -> String {
    let what = match &e.kind {
        EventKind::PeerState {
            peer,
            from,
            to,
            reason,
        } => format!(
            "peer {peer} {from} -> {to}{}",
            reason.as_ref().map_or(String::new(), |r| format!(" ({r})"))
        ),
        EventKind::Route {
            peer,
            prefix,
            withdrawn: true,
            ..
        } => {
            format!("route {prefix} withdrawn by {peer}")
        }
        EventKind::Route {
            peer,
            prefix,
            next_hop,
            as_path,
            ..
        } => format!(
            "route {prefix} from {peer} via {} path {}",
            opt(next_hop.as_deref()),
            as_path.as_deref().filter(|p| !p.is_empty()).unwrap_or("-")
        ),
        EventKind::Best { prefix, next_hops } if next_hops.is_empty() => {
            format!("best {prefix} unreachable")
        }
        EventKind::Best { prefix, next_hops } => {
            format!("best {prefix} via {}", next_hops.join(","))
        }
        EventKind::Fib { prefix, op, error } => format!(
            "fib {op} {prefix}{}",
            error
                .as_ref()
                .map_or(String::new(), |e| format!(" failed: {e}"))
        ),
        EventKind::Reload { applied, message } => {
            format!(
                "reload {}: {message}",
                if *applied { "applied" } else { "failed" }
            )
        }
        EventKind::Lagged { missed } => format!("watch fell behind, {missed} events missed"),
    };
    format!("{} {what}\n", clock(e.unix_ms))
}

/// A family as `show peers` lists it: `ipv4-unicast (nh ipv6)` when RFC
/// 8950 lets its routes carry IPv6 next hops.
fn family_text(f: &super::proto::FamilyCounters) -> String {
    match &f.next_hop {
        Some(nh) => format!("{} (nh {nh})", f.family),
        None => f.family.clone(),
    }
}
