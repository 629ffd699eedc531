//! Least privilege: rbgpd uses three capabilities ([`USED`]) and drops
//! every other one at start, whoever runs it (root, a systemd unit with
//! `AmbientCapabilities=`, a container whose binary carries file
//! capabilities). A used capability the process lacks is not fatal: the
//! part of rbgpd that needs it is switched off or fails with a message that
//! says what to grant ([`Shortfall`]), and BGP goes on.
//!
//! Capabilities belong to a thread and are inherited by the threads it
//! starts, so [`keep_only_used`] runs on the main thread before the runtime
//! (or anything else) starts a thread.

use caps::{CapSet, Capability, CapsHashSet};

use crate::config::Config;

/// The capabilities rbgpd uses, and what for.
pub const USED: [(Capability, &str); 3] = [
    (
        Capability::CAP_NET_ADMIN,
        "write routes into the kernel (the FIB)",
    ),
    (
        Capability::CAP_NET_BIND_SERVICE,
        "listen on a port below 1024 (BGP's 179)",
    ),
    (
        Capability::CAP_NET_RAW,
        "open raw ICMPv6 sockets (router advertisements for unnumbered \
         neighbors, waking IPv6 neighbors before their routes are written)",
    ),
];

/// What [`keep_only_used`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Privileges {
    /// The used capabilities the process had, kept (effective, permitted).
    pub kept: Vec<Capability>,
    /// How many other capabilities were dropped from the permitted set.
    pub dropped: usize,
    /// The used capabilities the process does not have.
    pub missing: Vec<Capability>,
}

/// Keeps only [`USED`] capabilities the calling thread has (made
/// effective: a binary whose file capabilities are permitted but not
/// effective gets them here), drops every other one from the permitted,
/// effective and inheritable sets, clears the ambient set (rbgpd starts no
/// program), and narrows the bounding set when it may.
pub fn keep_only_used() -> Result<Privileges, caps::errors::CapsError> {
    let permitted = caps::read(None, CapSet::Permitted)?;
    let used: CapsHashSet = USED.iter().map(|(c, _)| *c).collect();
    let keep: CapsHashSet = permitted.intersection(&used).copied().collect();
    // The bounding set first: narrowing it needs CAP_SETPCAP, which goes
    // with the rest below.
    if permitted.contains(&Capability::CAP_SETPCAP) {
        caps::raise(None, CapSet::Effective, Capability::CAP_SETPCAP)?;
        for cap in caps::read(None, CapSet::Bounding)? {
            if !keep.contains(&cap) {
                caps::drop(None, CapSet::Bounding, cap)?;
            }
        }
    }
    caps::clear(None, CapSet::Ambient)?;
    caps::clear(None, CapSet::Inheritable)?;
    caps::set(None, CapSet::Effective, &keep)?;
    caps::set(None, CapSet::Permitted, &keep)?;
    let mut kept: Vec<Capability> = keep.iter().copied().collect();
    kept.sort_by_key(|c| c.index());
    Ok(Privileges {
        dropped: permitted.len() - keep.len(),
        missing: USED
            .iter()
            .map(|(c, _)| *c)
            .filter(|c| !keep.contains(c))
            .collect(),
        kept,
    })
}

/// A used capability the process lacks that `config` needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shortfall {
    /// The capability.
    pub cap: Capability,
    /// What does not work without it, and what to grant.
    pub message: String,
    /// The FIB cannot run: [`Config::fib`] is switched off for this run.
    pub fib_off: bool,
}

/// Logs what [`keep_only_used`] did and what `config` cannot do without
/// the missing capabilities; returns why the FIB must be off, if it must.
pub fn report(
    config: &Config,
    privileges: Result<Privileges, caps::errors::CapsError>,
) -> Option<String> {
    let p = match privileges {
        Ok(p) => p,
        Err(e) => {
            tracing::warn!(error = %e, "cannot drop capabilities; running with those given");
            return None;
        }
    };
    let kept: Vec<String> = p.kept.iter().map(ToString::to_string).collect();
    tracing::info!(
        kept = %if kept.is_empty() { "none".to_string() } else { kept.join(",") },
        dropped = p.dropped,
        "capabilities: kept only those rbgpd uses"
    );
    let mut fib_off = None;
    for s in shortfalls(config, &p.missing) {
        if s.fib_off {
            tracing::error!("{}", s.message);
            fib_off = Some(s.message);
        } else {
            tracing::warn!("{}", s.message);
        }
    }
    fib_off
}

/// How to grant `cap` under systemd, Docker and on the binary.
fn how_to_grant(cap: Capability) -> String {
    let name = cap.to_string();
    let short = name.trim_start_matches("CAP_");
    format!(
        "grant it (systemd: AmbientCapabilities={name}; docker: --cap-add={short}; \
         on the binary: setcap {}+p) or run rbgpd as root",
        name.to_lowercase()
    )
}

/// The lowest port an unprivileged process may bind (the kernel's
/// `net.ipv4.ip_unprivileged_port_start`, 1024 when it cannot be read).
fn unprivileged_port_start() -> u16 {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_unprivileged_port_start")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(1024)
}

/// What `config` cannot do without the `missing` capabilities.
pub fn shortfalls(config: &Config, missing: &[Capability]) -> Vec<Shortfall> {
    shortfalls_with(config, missing, unprivileged_port_start())
}

fn shortfalls_with(config: &Config, missing: &[Capability], port_start: u16) -> Vec<Shortfall> {
    let mut out = Vec::new();
    for &cap in missing {
        let (what, fib_off) = match cap {
            Capability::CAP_NET_ADMIN if config.fib.enabled => (
                "the FIB is off (routes are learned and advertised, not written into \
                 the kernel)"
                    .to_string(),
                true,
            ),
            Capability::CAP_NET_BIND_SERVICE => {
                let low: Vec<String> = config
                    .router
                    .listen
                    .iter()
                    .filter(|a| a.port() != 0 && a.port() < port_start)
                    .map(ToString::to_string)
                    .collect();
                if low.is_empty() {
                    continue;
                }
                (format!("cannot listen on {}", low.join(", ")), false)
            }
            Capability::CAP_NET_RAW if config.neighbors.iter().any(|n| n.interface.is_some()) => (
                "unnumbered neighbors (`interface`) get no router advertisements".to_string(),
                false,
            ),
            _ => continue,
        };
        out.push(Shortfall {
            cap,
            message: format!("no {cap}, so {what}: {}", how_to_grant(cap)),
            fib_off,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> Config {
        crate::config::parse(text, "test.toml").unwrap_or_else(|e| panic!("{e}"))
    }

    const BASE: &str = "[router]\nasn = 65000\nrouter_id = \"10.0.0.1\"\n";

    #[test]
    fn without_net_admin_the_fib_is_off_and_the_message_says_what_to_grant() {
        let cfg = config(BASE);
        let s = shortfalls_with(&cfg, &[Capability::CAP_NET_ADMIN], 1024);
        assert_eq!(s.len(), 1);
        assert!(s[0].fib_off);
        assert!(
            s[0].message
                .starts_with("no CAP_NET_ADMIN, so the FIB is off"),
            "{}",
            s[0].message
        );
        assert!(s[0].message.contains("AmbientCapabilities=CAP_NET_ADMIN"));
        assert!(s[0].message.contains("--cap-add=NET_ADMIN"));
        assert!(s[0].message.contains("setcap cap_net_admin+p"));
    }

    #[test]
    fn a_missing_capability_the_config_does_not_need_is_no_shortfall() {
        let cfg = config(&format!(
            "{BASE}listen = [\"127.0.0.1:1179\"]\n[fib]\nenabled = false\n"
        ));
        let all: Vec<Capability> = USED.iter().map(|(c, _)| *c).collect();
        assert_eq!(shortfalls_with(&cfg, &all, 1024), []);
    }

    #[test]
    fn a_low_port_without_net_bind_service_is_named() {
        let cfg = config(&format!(
            "{BASE}listen = [\"0.0.0.0:179\", \"127.0.0.1:1179\"]\n"
        ));
        let s = shortfalls_with(&cfg, &[Capability::CAP_NET_BIND_SERVICE], 1024);
        assert_eq!(s.len(), 1);
        assert!(!s[0].fib_off);
        assert!(
            s[0].message
                .starts_with("no CAP_NET_BIND_SERVICE, so cannot listen on 0.0.0.0:179: grant"),
            "{}",
            s[0].message
        );
        // A kernel that lets anyone bind low ports needs no capability.
        assert_eq!(
            shortfalls_with(&cfg, &[Capability::CAP_NET_BIND_SERVICE], 0),
            []
        );
    }

    #[test]
    fn unnumbered_neighbors_need_net_raw() {
        let cfg = config(&format!(
            "{BASE}[[neighbor]]\ninterface = \"eth1\"\nremote_as = \"external\"\n"
        ));
        let s = shortfalls_with(&cfg, &[Capability::CAP_NET_RAW], 1024);
        assert_eq!(s.len(), 1);
        assert!(s[0].message.contains("router advertisements"));
    }

    /// Run as root (with every capability), a thread keeps exactly the
    /// three; capabilities are per thread, so the test runner's other
    /// threads keep theirs.
    #[test]
    fn root_keeps_exactly_the_used_three() {
        let r = std::thread::spawn(|| {
            let before = caps::read(None, CapSet::Permitted).ok()?;
            if !before.contains(&Capability::CAP_SYS_ADMIN) {
                return None;
            }
            let p = keep_only_used().ok()?;
            let after = |set| caps::read(None, set).ok();
            Some((
                p,
                after(CapSet::Permitted)?,
                after(CapSet::Effective)?,
                after(CapSet::Bounding)?,
            ))
        })
        .join()
        .unwrap_or(None);
        let Some((p, permitted, effective, bounding)) = r else {
            testbed::skip("not running with CAP_SYS_ADMIN (not root)");
            return;
        };
        let used: CapsHashSet = USED.iter().map(|(c, _)| *c).collect();
        assert_eq!(permitted, used);
        assert_eq!(effective, used);
        assert_eq!(bounding, used);
        assert_eq!(p.missing, []);
        assert_eq!(p.kept.len(), 3);
        assert!(p.dropped > 10, "{p:?}");
    }
}
