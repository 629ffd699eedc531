//! From BIRD 2 statements to rbgpd's TOML: the protocols a BIRD in this
//! role runs (`bgp` with its templates and channels, `kernel`, `static`,
//! `direct`, `device`, `bfd`), the global `router id`, and the filters and
//! constants the channels use (read once each by [`super::catalog`],
//! written as policies by [`super::render`]). What has no rbgpd counterpart
//! becomes a [`Note`] with its line; a neighbor whose filter is not
//! translated imports or exports nothing until a policy is written for it,
//! never everything.

use super::bfd;
use super::bird::Item;
use super::catalog::{Filters, Inline, Verdict};
use super::render::Policies;
use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;

/// What happened to one construct of the BIRD file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// 1-based line in the BIRD file.
    pub line: usize,
    /// What was done, or why nothing could be.
    pub message: String,
    /// Not translated: the TOML lacks something the BIRD file had.
    pub untranslated: bool,
}

#[derive(Debug, Default)]
struct Neighbor {
    protocol: String,
    line: usize,
    address: Option<String>,
    range: Option<String>,
    remote_as: Option<String>,
    local_address: Option<String>,
    description: Option<String>,
    passive: bool,
    hold_time: Option<String>,
    keepalive: Option<String>,
    connect_retry: Option<String>,
    password: Option<String>,
    multihop: Option<String>,
    ttl_security: bool,
    families: Vec<&'static str>,
    /// What each family's channel says.
    import: Vec<(&'static str, Verdict)>,
    export: Vec<(&'static str, Verdict)>,
    extended_next_hop: bool,
    /// The line of its `bfd on`.
    bfd: Option<usize>,
    add_path_receive: bool,
    add_path_send: bool,
}

#[derive(Debug, Default)]
struct Out {
    router_id: Option<(String, usize)>,
    asn: Option<(String, usize)>,
    graceful_restart: bool,
    restart_time: Option<String>,
    connected: bool,
    kernel: Option<bool>,
    persist: bool,
    neighbors: Vec<Neighbor>,
    routes: Vec<(String, Option<String>, bool, usize)>,
    filters: Filters,
    /// `protocol bfd`'s timers.
    bfd: Option<bfd::Timers>,
    notes: Vec<Note>,
}

impl Out {
    fn done(&mut self, line: usize, message: String) {
        self.notes.push(Note {
            line,
            message,
            untranslated: false,
        });
    }
    fn skip(&mut self, line: usize, message: String) {
        self.notes.push(Note {
            line,
            message,
            untranslated: true,
        });
    }
    fn set_router_id(&mut self, id: &str, line: usize) {
        match &self.router_id {
            None => self.router_id = Some((id.to_string(), line)),
            Some((first, l)) if first != id => {
                let msg = format!(
                    "router id {id}: rbgpd has one router id for every session, {first} (line {l})"
                );
                self.done(line, msg);
            }
            Some(_) => {}
        }
    }
}

fn on(words: &[String], at: usize) -> bool {
    !matches!(
        words.get(at).map(String::as_str),
        Some("off" | "no" | "false")
    )
}

fn text_of(words: &[String]) -> String {
    words.join(" ")
}

fn set_verdict(n: &mut Neighbor, dir: &str, family: &'static str, v: Verdict) {
    let list = if dir == "import" {
        &mut n.import
    } else {
        &mut n.export
    };
    list.retain(|(f, _)| *f != family);
    list.push((family, v));
}

/// One channel block or statement (`ipv4 { ... }`) of a BGP protocol
/// written in `origin` (the protocol, or the template it comes from).
fn channel(out: &mut Out, n: &mut Neighbor, family: &'static str, origin: &str, items: &[Item]) {
    if !n.families.contains(&family) {
        n.families.push(family);
    }
    for item in items {
        let Item::Stmt { words, line } = item else {
            // `import filter { ... };`: an inline filter body.
            if let Item::Block { head, items, line } = item {
                let h: Vec<&str> = head.iter().map(String::as_str).collect();
                if let [dir @ ("import" | "export"), "filter"] = h[..] {
                    let notes = &mut out.notes;
                    let v = out
                        .filters
                        .use_inline(Inline::Body(items), origin, dir, *line, notes);
                    set_verdict(n, dir, family, v);
                    continue;
                }
            }
            out.skip(
                item_line(item),
                "a block in a channel is not translated".into(),
            );
            continue;
        };
        let w: Vec<&str> = words.iter().map(String::as_str).collect();
        match w.as_slice() {
            // Options of the channel's tables, not filters: the verdict
            // stays what the filter statement says.
            ["import" | "export", "limit" | "keep" | "table", ..] => {
                out.skip(*line, format!("`{}` is not translated", text_of(words)));
            }
            [dir @ ("import" | "export"), how, rest @ ..] => {
                let v = match (*how, rest) {
                    ("all", []) => Verdict::All,
                    ("none", []) => Verdict::None,
                    ("filter", [name]) => out.filters.use_named(name, dir, *line, &mut out.notes),
                    ("where", [_, ..]) => out.filters.use_inline(
                        Inline::Where(&words[2..]),
                        origin,
                        dir,
                        *line,
                        &mut out.notes,
                    ),
                    _ => {
                        out.skip(
                            *line,
                            format!(
                                "`{}` is not translated: the neighbor gets {dir} = \"none\" \
                                 until a [[policy]] is written for it",
                                text_of(words)
                            ),
                        );
                        Verdict::None
                    }
                };
                set_verdict(n, dir, family, v);
            }
            ["extended", "next", "hop", ..] => n.extended_next_hop = on(words, 3),
            ["add", "paths", rest @ ..] => {
                let how = rest.first().copied().unwrap_or("on");
                n.add_path_receive = matches!(how, "on" | "rx" | "yes");
                n.add_path_send = matches!(how, "on" | "tx" | "yes");
                if n.add_path_send {
                    out.done(*line, "add paths tx: add_path_send = \"all\"".into());
                }
            }
            ["next", "hop", "self", ..] => {
                out.done(*line, "next hop self: rbgpd's default towards eBGP".into());
            }
            ["next", "hop", "keep", ..] => {
                out.done(*line, "next hop keep: next_hop_unchanged = true is not set (kept as rbgpd's default: self)".into());
            }
            _ => out.skip(*line, format!("`{}` is not translated", text_of(words))),
        }
    }
}

fn item_line(item: &Item) -> usize {
    match item {
        Item::Stmt { line, .. } | Item::Block { line, .. } => *line,
    }
}

/// A `protocol bgp` (with its template's items first), each item with
/// the protocol or template it is written in.
fn bgp(out: &mut Out, name: &str, line: usize, items: &[(&str, &Item)]) {
    let mut n = Neighbor {
        protocol: name.to_string(),
        line,
        ..Neighbor::default()
    };
    for &(origin, item) in items {
        match item {
            Item::Block { head, items, line } => match head.first().map(String::as_str) {
                Some("ipv4") => channel(out, &mut n, "ipv4-unicast", origin, items),
                Some("ipv6") => channel(out, &mut n, "ipv6-unicast", origin, items),
                _ => out.skip(
                    *line,
                    format!("`{} {{ }}` is not translated", text_of(head)),
                ),
            },
            Item::Stmt { words, line } => {
                let w: Vec<&str> = words.iter().map(String::as_str).collect();
                match w.as_slice() {
                    ["ipv4" | "ipv6", ..] => {
                        let f = if w[0] == "ipv4" {
                            "ipv4-unicast"
                        } else {
                            "ipv6-unicast"
                        };
                        channel(out, &mut n, f, origin, &[]);
                    }
                    ["local", rest @ ..] => {
                        let (addr, asn) = match rest {
                            ["as", asn] => (None, Some(*asn)),
                            [addr, "as", asn] => (Some(*addr), Some(*asn)),
                            [addr] => (Some(*addr), None),
                            _ => (None, None),
                        };
                        n.local_address = addr.map(str::to_string);
                        if let Some(a) = asn {
                            match &out.asn {
                                None => out.asn = Some((a.to_string(), *line)),
                                Some((first, _)) if first != a => out.skip(
                                    *line,
                                    format!("local as {a} differs from {first}: rbgpd has one AS, {first} is kept"),
                                ),
                                Some(_) => {}
                            }
                        }
                    }
                    ["neighbor", "range", p, rest @ ..] => {
                        n.range = Some(p.to_string());
                        n.remote_as = remote_as(rest);
                    }
                    ["neighbor", addr, rest @ ..] => {
                        n.address = Some(addr.split('%').next().unwrap_or(addr).to_string());
                        let rest: Vec<&str> = match rest {
                            ["port", _, tail @ ..] => tail.to_vec(),
                            r => r.to_vec(),
                        };
                        n.remote_as = remote_as(&rest);
                    }
                    ["router", "id", id] => out.set_router_id(id, *line),
                    ["description", ..] => n.description = Some(words[1..].join(" ")),
                    ["passive", ..] => n.passive = on(words, 1),
                    ["hold", "time", t] => n.hold_time = Some(t.to_string()),
                    ["keepalive", "time", t] => n.keepalive = Some(t.to_string()),
                    ["connect", "retry", "time", t] => n.connect_retry = Some(t.to_string()),
                    ["password", p] => n.password = Some(p.to_string()),
                    ["multihop", rest @ ..] => {
                        n.multihop = Some(rest.first().map_or("64".to_string(), |h| h.to_string()));
                    }
                    ["direct"] => {}
                    ["ttl", "security", ..] => n.ttl_security = on(words, 2),
                    ["bfd", "graceful"] => out.skip(
                        *line,
                        "bfd graceful: rbgpd takes BFD down as a forwarding failure (routes \
                         withdrawn at once, never kept for a graceful restart)"
                            .into(),
                    ),
                    ["bfd"] | ["bfd", "on" | "yes" | "true" | "off" | "no" | "false"] => {
                        n.bfd = on(words, 1).then_some(*line);
                    }
                    ["graceful", "restart", "time", t] => out.restart_time = Some(t.to_string()),
                    ["graceful", "restart", ..] => {
                        if on(words, 2) && words.get(2).map(String::as_str) != Some("aware") {
                            out.graceful_restart = true;
                        }
                    }
                    ["enable", "route", "refresh", ..] | ["interpret", "communities", ..] => {
                        out.done(*line, format!("`{}`: rbgpd always does", text_of(words)));
                    }
                    _ => out.skip(*line, format!("`{}` is not translated", text_of(words))),
                }
            }
        }
    }
    if n.address.is_none() && n.range.is_none() {
        out.skip(
            line,
            format!("protocol bgp {name} has no neighbor: left out"),
        );
        return;
    }
    if n.remote_as.is_none() {
        out.skip(
            line,
            format!(
                "protocol bgp {name}: the neighbor's AS is not given: remote_as = \"external\""
            ),
        );
        n.remote_as = Some("\"external\"".into());
    }
    out.neighbors.push(n);
}

fn remote_as(rest: &[&str]) -> Option<String> {
    match rest {
        ["as", asn, ..] => Some(asn.to_string()),
        ["external", ..] => Some("\"external\"".into()),
        ["internal", ..] => Some("\"internal\"".into()),
        _ => None,
    }
}

fn kernel(out: &mut Out, items: &[Item]) {
    let mut exported = None;
    for item in items {
        match item {
            Item::Block { head, items, .. }
                if matches!(head.first().map(String::as_str), Some("ipv4" | "ipv6")) =>
            {
                for i in items {
                    if let Item::Stmt { words, line } = i {
                        match words
                            .iter()
                            .map(String::as_str)
                            .collect::<Vec<_>>()
                            .as_slice()
                        {
                            ["export", "none"] => exported = Some(exported.unwrap_or(false)),
                            ["export", "all"] => exported = Some(true),
                            ["export", ..] => {
                                exported = Some(true);
                                out.skip(
                                    *line,
                                    format!(
                                        "`{}`: rbgpd writes every best route to the kernel",
                                        text_of(words)
                                    ),
                                );
                            }
                            ["import", ..] => out.done(
                                *line,
                                "kernel import: rbgpd never imports kernel routes".into(),
                            ),
                            _ => out.skip(*line, format!("`{}` is not translated", text_of(words))),
                        }
                    }
                }
            }
            Item::Stmt { words, line } => match words
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>()
                .as_slice()
            {
                ["persist", ..] => out.persist = on(words, 1),
                ["learn", ..] => out.done(
                    *line,
                    "learn: ignored (rbgpd does not import kernel routes)".into(),
                ),
                ["scan", "time", ..] => out.done(
                    *line,
                    "scan time: rbgpd follows kernel changes as they happen".into(),
                ),
                ["merge", "paths", ..] => out.done(
                    *line,
                    "merge paths: rbgpd installs ECMP routes ([fib] max_paths)".into(),
                ),
                _ => out.skip(*line, format!("`{}` is not translated", text_of(words))),
            },
            Item::Block { line, head, .. } => out.skip(
                *line,
                format!("`{} {{ }}` is not translated", text_of(head)),
            ),
        }
    }
    out.kernel = Some(exported.unwrap_or(false));
}

fn static_routes(out: &mut Out, items: &[Item]) {
    for item in items {
        let Item::Stmt { words, line } = item else {
            continue;
        };
        match words
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .as_slice()
        {
            ["ipv4" | "ipv6"] => {}
            ["route", p, "via", nh, ..] => {
                out.routes
                    .push((p.to_string(), Some(nh.to_string()), false, *line))
            }
            ["route", p, "blackhole" | "unreachable" | "prohibit", ..] => {
                out.routes.push((p.to_string(), None, true, *line));
            }
            _ => out.skip(*line, format!("`{}` is not translated", text_of(words))),
        }
    }
}

fn quote(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// Written for a missing `local as` (a private AS, RFC 6996).
const PLACEHOLDER_ASN: u32 = 64512;
/// Written for a missing `router id` (a documentation address, RFC 5737).
const PLACEHOLDER_ROUTER_ID: &str = "192.0.2.1";

/// Whether a protocol's block says `disabled;` (or `disabled yes|on`).
fn disabled(items: &[Item]) -> bool {
    items.iter().any(|i| match i {
        Item::Stmt { words, .. } => {
            let w: Vec<&str> = words.iter().map(String::as_str).collect();
            matches!(
                w.as_slice(),
                ["disabled"] | ["disabled", "yes" | "on" | "true"]
            )
        }
        Item::Block { .. } => false,
    })
}

fn emit(out: &Out, file: &str) -> String {
    let mut policies = Policies::default();
    let mut t = format!("# Translated from {file} by `rbgpd migrate`.\n\n[router]\n");
    // A placeholder keeps the file valid; the note (exit status 3) says to
    // set it.
    match &out.asn {
        Some((asn, _)) => _ = writeln!(t, "asn = {asn}"),
        None => _ = writeln!(t, "asn = {PLACEHOLDER_ASN}   # placeholder: set your AS"),
    }
    match &out.router_id {
        Some((id, _)) => _ = writeln!(t, "router_id = {}", quote(id)),
        None => {
            _ = writeln!(
                t,
                "router_id = \"{PLACEHOLDER_ROUTER_ID}\"   # placeholder: set your router id"
            )
        }
    }
    if out.graceful_restart {
        t.push_str("graceful_restart = true\n");
    }
    if let Some(rt) = &out.restart_time {
        let _ = writeln!(t, "restart_time = {rt}");
    }
    if out.connected {
        t.push_str("redistribute = [\"connected\"]\n");
    }
    for n in &out.neighbors {
        let _ = writeln!(
            t,
            "\n# protocol bgp {} ({file}:{})\n[[neighbor]]",
            n.protocol, n.line
        );
        if let Some(a) = &n.address {
            let _ = writeln!(t, "address = {}", quote(a));
        }
        if let Some(r) = &n.range {
            let _ = writeln!(t, "range = {}", quote(r));
        }
        if let Some(r) = &n.remote_as {
            let _ = writeln!(t, "remote_as = {r}");
        }
        let opt = |t: &mut String, k: &str, v: &Option<String>, q: bool| {
            if let Some(v) = v {
                let v = if q { quote(v) } else { v.clone() };
                let _ = writeln!(t, "{k} = {v}");
            }
        };
        opt(&mut t, "description", &n.description, true);
        opt(&mut t, "local_address", &n.local_address, true);
        opt(&mut t, "hold_time", &n.hold_time, false);
        opt(&mut t, "keepalive", &n.keepalive, false);
        opt(&mut t, "connect_retry", &n.connect_retry, false);
        opt(&mut t, "password", &n.password, true);
        opt(&mut t, "multihop", &n.multihop, false);
        if n.passive {
            t.push_str("passive = true\n");
        }
        if n.ttl_security {
            t.push_str("ttl_security = 1\n");
        }
        if n.bfd.is_some() {
            let b = out.bfd.unwrap_or(bfd::BIRD_DEFAULTS);
            let _ = writeln!(t, "bfd = {}", b.toml());
        }
        if !n.families.is_empty() {
            let fams: Vec<String> = n.families.iter().map(|f| quote(f)).collect();
            let _ = writeln!(t, "families = [{}]", fams.join(", "));
        }
        for (dir, list) in [("import", &n.import), ("export", &n.export)] {
            let value = policies.name_for(
                &out.filters,
                (&n.protocol, n.line),
                dir,
                policy_of(n, list),
                file,
            );
            let _ = writeln!(t, "{dir} = {}", quote(&value));
        }
        if n.extended_next_hop {
            t.push_str("extended_next_hop = true\n");
        }
        if n.add_path_receive {
            t.push_str("add_path_receive = true\n");
        }
        if n.add_path_send {
            t.push_str("add_path_send = \"all\"\n");
        }
    }
    let _ = write!(t, "\n[fib]\nenabled = {}\n", out.kernel.unwrap_or(false));
    emit_routes(&mut t, out, file);
    policies.render(&mut t);
    t
}

/// One neighbor's policy in a direction: `Ok(verdict)` when every
/// family's channel says the same (a channel without the statement says
/// "none", RFC 8212, as BIRD does for eBGP), else `Err` with each
/// family's.
fn policy_of(
    n: &Neighbor,
    list: &[(&'static str, Verdict)],
) -> Result<Verdict, Vec<(&'static str, Verdict)>> {
    let families: &[&'static str] = if n.families.is_empty() {
        &["ipv4-unicast", "ipv6-unicast"]
    } else {
        &n.families
    };
    let verdict = |f: &str| {
        list.iter()
            .find(|(x, _)| *x == f)
            .map_or(Verdict::None, |(_, v)| *v)
    };
    let first = families.first().map_or(Verdict::None, |f| verdict(f));
    if families.iter().all(|f| verdict(f) == first) {
        return Ok(first);
    }
    Err(families.iter().map(|f| (*f, verdict(f))).collect())
}

fn emit_routes(t: &mut String, out: &Out, file: &str) {
    if out.persist {
        t.push_str("persist = true\n");
    }
    for (p, nh, blackhole, line) in &out.routes {
        let _ = writeln!(
            t,
            "\n# protocol static ({file}:{line})\n[[route]]\nprefix = {}",
            quote(p)
        );
        if let Some(nh) = nh {
            let _ = writeln!(t, "next_hop = {}", quote(nh));
        }
        if *blackhole {
            t.push_str("blackhole = true\n");
        }
    }
}

/// Translates the statements of a BIRD file (`file`: its name, for the
/// comments) into rbgpd's TOML, with a note for everything not carried
/// over as it was.
pub fn translate(items: &[Item], file: &str) -> (String, Vec<Note>) {
    let mut out = Out::default();
    let mut templates: HashMap<String, Vec<Item>> = HashMap::new();
    // Constants and filters first: channels name them.
    for item in items {
        match item {
            Item::Stmt { words, line } if words[0] == "define" => {
                out.filters.define(words, *line, &mut out.notes);
            }
            Item::Block { head, items, line } if head.len() == 2 && head[0] == "filter" => {
                out.filters.add(&head[1], *line, items);
            }
            _ => {}
        }
    }
    for item in items {
        match item {
            Item::Stmt { words, .. } if words[0] == "define" => {}
            Item::Block { head, .. } if head.len() == 2 && head[0] == "filter" => {}
            Item::Stmt { words, line } => match words
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>()
                .as_slice()
            {
                ["router", "id", id] => out.set_router_id(id, *line),
                ["log", ..] | ["debug", ..] | ["timeformat", ..] | ["watchdog", ..] => {
                    out.done(
                        *line,
                        format!("`{}`: rbgpd logs through [log]", text_of(words)),
                    );
                }
                _ => out.skip(*line, format!("`{}` is not translated", text_of(words))),
            },
            Item::Block { head, items, line } => {
                let h: Vec<&str> = head.iter().map(String::as_str).collect();
                if h.first() == Some(&"protocol") && disabled(items) {
                    out.done(
                        *line,
                        format!("`{} {{ }}` is disabled: left out", text_of(head)),
                    );
                    continue;
                }
                match h.as_slice() {
                    ["template", "bgp", name, ..] => {
                        templates.insert(name.to_string(), items.clone());
                    }
                    ["protocol", "bgp", rest @ ..] => {
                        let name = rest.first().copied().unwrap_or("bgp");
                        let parent = match rest {
                            [_, "from", t] | ["from", t] => templates.get(*t).cloned(),
                            _ => None,
                        };
                        if let ([_, "from", t] | ["from", t], None) = (rest, &parent) {
                            out.skip(*line, format!("template {t} is not defined before its use"));
                        }
                        let from = match rest {
                            [_, "from", t] | ["from", t] => *t,
                            _ => name,
                        };
                        let all: Vec<(&str, &Item)> = parent
                            .iter()
                            .flatten()
                            .map(|i| (from, i))
                            .chain(items.iter().map(|i| (name, i)))
                            .collect();
                        bgp(&mut out, name, *line, &all);
                    }
                    ["protocol", "kernel", ..] => kernel(&mut out, items),
                    ["protocol", "static", ..] => static_routes(&mut out, items),
                    ["protocol", "direct", ..] => {
                        out.connected = true;
                        out.done(
                            *line,
                            "protocol direct: redistribute = [\"connected\"] (its interface patterns \
                             are not kept: every interface with a carrier counts)"
                                .into(),
                        );
                    }
                    ["protocol", "device", ..] => {
                        out.done(
                            *line,
                            "protocol device: rbgpd follows the links itself".into(),
                        );
                    }
                    ["protocol", "bfd", ..] => {
                        out.bfd = Some(bfd::protocol(*line, items, &mut out.notes));
                    }
                    _ => out.skip(
                        *line,
                        format!("`{} {{ }}` is not translated", text_of(head)),
                    ),
                }
            }
        }
    }
    if out.router_id.is_none() {
        out.skip(
            1,
            format!(
                "no router id: BIRD takes an interface address, rbgpd needs router_id: \
                 {PLACEHOLDER_ROUTER_ID} is written in its place, set yours"
            ),
        );
    }
    if out.asn.is_none() {
        out.skip(
            1,
            format!(
                "no local as: rbgpd needs [router] asn: {PLACEHOLDER_ASN} is written in its \
                 place, set yours"
            ),
        );
    }
    if out.kernel.is_none() {
        out.done(1, "no protocol kernel: [fib] enabled = false".into());
    }
    let b = out.bfd.unwrap_or(bfd::BIRD_DEFAULTS);
    let bfd_lines: Vec<usize> = out.neighbors.iter().filter_map(|n| n.bfd).collect();
    for line in bfd_lines {
        out.done(line, b.note());
    }
    out.filters.unused(&mut out.notes);
    // A template's lines are met once per protocol: one note each.
    let mut seen = HashSet::new();
    out.notes
        .retain(|n| seen.insert((n.line, n.message.clone(), n.untranslated)));
    out.notes.sort_by_key(|n| n.line);
    (emit(&out, file), out.notes)
}
