//! `rbgpd migrate`: BIRD 2 configurations in, rbgpd's TOML out. Golden
//! files (`tests/data/migrate/NAME.conf` -> `NAME.toml` and `NAME.notes`;
//! regenerate with `UPDATE_GOLDEN=1 cargo test -p bgpd --test migrate`)
//! for the write-up's bird.conf, for every construct translated, for the
//! filter shapes translated into policies, and for the refusals; every
//! output passes the config checks; the BIRD configs the project's own
//! tests generate translate cleanly; exit statuses. (Whether a translated
//! policy answers as the BIRD filter for every prefix is checked in
//! `src/migrate/policy.rs`.)

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/migrate")
        .join(name)
}

fn golden(path: &Path, got: &str) {
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(path, got).unwrap();
    }
    let want = std::fs::read_to_string(path).unwrap_or_default();
    assert_eq!(
        got,
        want,
        "{} differs (UPDATE_GOLDEN=1 to rewrite)",
        path.display()
    );
}

/// Translates `NAME.conf`, checks the TOML against the config checks and
/// the goldens; whether anything was left untranslated.
fn translate(name: &str) -> bool {
    let text = std::fs::read_to_string(data(&format!("{name}.conf"))).unwrap();
    let m = bgpd::migrate::migrate(&text, &format!("{name}.conf")).unwrap();
    if let Err(e) = bgpd::config::parse(&m.toml, "migrated.toml") {
        panic!(
            "the translation of {name}.conf does not pass the checks:\n{}\n{}",
            e.render(),
            m.toml
        );
    }
    golden(&data(&format!("{name}.toml")), &m.toml);
    let notes: String = m
        .notes
        .iter()
        .map(|n| {
            let what = if n.untranslated {
                "not translated: "
            } else {
                ""
            };
            format!("{}: {what}{}\n", n.line, n.message)
        })
        .collect();
    golden(&data(&format!("{name}.notes")), &notes);
    m.incomplete()
}

#[test]
fn the_write_ups_bird_conf() {
    assert!(
        !translate("writeup"),
        "everything of the write-up is translated"
    );
    let toml = std::fs::read_to_string(data("writeup.toml")).unwrap();
    let c = bgpd::config::parse(&toml, "writeup.toml").unwrap();
    assert_eq!(c.neighbors.len(), 6);
    assert_eq!(
        (c.router.asn, c.router.router_id.to_string().as_str()),
        (65000, "172.18.0.5")
    );
    assert!(c.fib.enabled && c.fib.persist);
}

#[test]
fn every_construct() {
    assert!(!translate("constructs"));
    let toml = std::fs::read_to_string(data("constructs.toml")).unwrap();
    let c = bgpd::config::parse(&toml, "constructs.toml").unwrap();
    let cluster = &c.neighbors[0];
    assert_eq!(
        cluster.range.map(|r| r.to_string()).as_deref(),
        Some("10.1.0.0/16")
    );
    assert!(cluster.passive && cluster.add_path_receive);
    assert_eq!(
        (cluster.hold_time, cluster.keepalive, cluster.connect_retry),
        (30, Some(10), 5)
    );
    assert_eq!(cluster.export, rib::policy::PolicyRef::All);
    assert!(c.router.graceful_restart);
    assert_eq!(c.neighbors[1].password.as_deref(), Some("s3cret"));
    assert_eq!(c.neighbors[1].multihop, Some(2));
    assert_eq!(c.neighbors[2].ttl_security, Some(1));
    assert_eq!(c.routes.len(), 2);
    assert!(c.routes[1].blackhole);
    // Channels that differ: a policy that rejects the family exported none.
    let split = &c.neighbors[3];
    assert_eq!(split.import, rib::policy::PolicyRef::All);
    assert_eq!(
        split.export,
        rib::policy::PolicyRef::Named("split-export".into())
    );
    let p = c
        .policies
        .iter()
        .find(|p| p.name == "split-export")
        .unwrap();
    assert_eq!(p.terms[0].matches.family.as_deref(), Some("ipv6-unicast"));
    assert_eq!(c.router.restart_time, 90);
    // `bfd on`, with protocol bfd's timers (the larger of tx 100 ms and
    // rx 50 ms), not holding BGP back as BIRD does not.
    let fast = &c.neighbors[4];
    assert_eq!(
        fast.bfd,
        Some(bgpd::config::BfdSetting::Table(bgpd::config::BfdTable {
            interval_ms: 100,
            multiplier: 3,
            strict: false,
        }))
    );
}

#[test]
fn filters_become_policies() {
    assert!(
        !translate("filters"),
        "every filter of filters.conf is translated"
    );
    let toml = std::fs::read_to_string(data("filters.toml")).unwrap();
    let c = bgpd::config::parse(&toml, "filters.toml").unwrap();
    let named = |n: &str| rib::policy::PolicyRef::Named(n.into());
    // A named filter is one policy, whoever uses it; an inline filter in
    // a template is named after the template.
    assert_eq!(c.neighbors[0].import, named("lb_prefer"));
    assert_eq!(c.neighbors[1].import, named("lb_prefer"));
    assert_eq!(c.neighbors[1].export, named("nodes-export"));
    assert_eq!(c.neighbors[2].import, named("pods_in"));
    assert_eq!(c.neighbors[3].export, named("upstream-export"));
    assert_eq!(c.neighbors[4].import, named("dual-import"));
    let lb = c.policies.iter().find(|p| p.name == "lb_prefer").unwrap();
    assert_eq!(lb.terms[0].matches.prefix_list.as_deref(), Some("LB_POOL"));
    assert_eq!(lb.terms[0].action.set_local_pref, Some(200));
    assert_eq!(
        lb.terms[0].action.add_communities.as_deref(),
        Some(&["65000:100".to_string()][..])
    );
    assert_eq!(lb.default, rib::policy::Verdict::Reject);
    // Policies that no channel uses are not written.
    assert!(!c
        .policies
        .iter()
        .any(|p| p.name == "unused_one" || p.name == "tag_all"));
    let notes = std::fs::read_to_string(data("filters.notes")).unwrap();
    assert!(notes.contains("unused_one is used by no channel"));
}

#[test]
fn refusals_are_named_with_their_lines() {
    assert!(translate("refusals"));
    let notes = std::fs::read_to_string(data("refusals.notes")).unwrap();
    // Each filter shape refused at its line, and each channel using one.
    for line in [
        "5:", "10:", "14:", "19:", "24:", "30:", "35:", "43:", "44:", "45:", "47:", "53:", "54:",
        "60:", "63:", "68:", "72:",
    ] {
        assert!(
            notes
                .lines()
                .any(|l| l.starts_with(line) && l.contains("not translated")),
            "no refusal at line {line}:\n{notes}"
        );
    }
    // Every neighbor whose filter is refused keeps the safe refusal.
    let toml = std::fs::read_to_string(data("refusals.toml")).unwrap();
    let c = bgpd::config::parse(&toml, "refusals.toml").unwrap();
    for n in &c.neighbors {
        assert_eq!(n.import, rib::policy::PolicyRef::None);
        assert_eq!(n.export, rib::policy::PolicyRef::None);
        assert_eq!(n.bfd, None, "bfd graceful is not translated");
    }
    assert!(c.policies.is_empty() && c.prefix_lists.is_empty());
}

#[test]
fn the_projects_bird_configs_translate() {
    // The interop tests' BIRD speakers and the lab's BIRD router, as the
    // tests write them.
    for text in [
        "router id 10.0.0.2;\nprotocol device {}\nprotocol bgp r {\n  local 10.0.0.2 as 65100;\n  \
         neighbor 10.0.0.1 as 65000;\n  hold time 9;\n  ipv4 { import all; export all; };\n}\n",
        "router id 172.18.0.5;\nprotocol kernel { merge paths on; persist; ipv4 { export all; }; }\n\
         protocol bgp n1 { local as 65000; neighbor range 172.18.0.0/16 as 65100; passive; \
         ipv4 { import all; export all; }; ipv6 { import all; export all; extended next hop; }; }\n",
    ] {
        let m = bgpd::migrate::migrate(text, "bird.conf").unwrap();
        assert!(!m.incomplete(), "{:?}", m.notes);
        bgpd::config::parse(&m.toml, "m.toml").unwrap_or_else(|e| panic!("{}\n{}", e.render(), m.toml));
    }
}

/// BIRD's own example configuration (Debian's bird2 ships it): no router
/// id, no BGP, a disabled `direct`. What it lacks is named, placeholders
/// keep the output valid, and the exit status says it is incomplete.
#[test]
fn birds_own_example_config() {
    let path = Path::new("/usr/share/bird2/bird.conf");
    let Ok(text) = std::fs::read_to_string(path) else {
        testbed::skip("no /usr/share/bird2/bird.conf (Debian's bird2 package)");
        return;
    };
    let m = bgpd::migrate::migrate(&text, "bird.conf").unwrap();
    let cfg = bgpd::config::parse(&m.toml, "m.toml")
        .unwrap_or_else(|e| panic!("{}\n{}", e.render(), m.toml));
    assert!(m.incomplete());
    let untranslated: Vec<&str> = m
        .notes
        .iter()
        .filter(|n| n.untranslated)
        .map(|n| n.message.as_str())
        .collect();
    assert!(
        untranslated.iter().any(|n| n.starts_with("no router id"))
            && untranslated.iter().any(|n| n.starts_with("no local as")),
        "{untranslated:?}"
    );
    assert_eq!(cfg.router.asn, 64512, "the placeholder AS");
    assert!(cfg.neighbors.is_empty());
    // Its `protocol direct` says `disabled;`: no redistribution.
    if text.contains("protocol direct {\n\tdisabled;") {
        assert!(cfg.router.redistribute.is_empty(), "{}", m.toml);
    }
}

#[test]
fn exit_statuses() {
    let run = |file: &Path| {
        std::process::Command::new(env!("CARGO_BIN_EXE_rbgpd"))
            .arg("migrate")
            .arg(file)
            .output()
            .unwrap()
    };
    assert_eq!(run(&data("writeup.conf")).status.code(), Some(0));
    let o = run(&data("refusals.conf"));
    assert_eq!(o.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&o.stderr).contains("refusals.conf:72: not translated"));
    assert_eq!(run(&data("filters.conf")).status.code(), Some(0));
    let dir = std::env::temp_dir().join(format!("rbgpd-migrate-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let broken = dir.join("broken.conf");
    std::fs::write(&broken, "protocol bgp x {\n  neighbor 10.0.0.2 as 65100;\n").unwrap();
    let o = run(&broken);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("broken.conf:"),
        "{o:?}"
    );
    assert_eq!(run(&dir.join("absent.conf")).status.code(), Some(1));
    let _ = std::fs::remove_dir_all(&dir);
}
