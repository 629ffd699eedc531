//! A node's BGP speaker: `gobgpd` configured the way Cilium 1.14
//! configures its embedded GoBGP v3 (`CiliumBGPPeeringPolicy` with
//! `localASN`, one neighbor = the router, `exportPodCIDR: true`).
//!
//! What Cilium sets, and this config file mirrors:
//! - global: `as` = localASN, `router-id` = node IP, `port` = 179
//!   (`cilium.io/bgp-virtual-router.651x0="local-port=179"`);
//! - neighbor: address = router, `peer-as` 65000, families ipv4-unicast and
//!   ipv6-unicast, hold 90 s, keepalive 30 s, connect-retry 120 s;
//! - graceful restart when `gracefulRestart.enabled`: restart-time 120 s,
//!   notification (RFC 8538) on, MP graceful restart per family.
//!
//! Routes are announced through the gRPC API (`gobgp global rib add`), as
//! Cilium does; the API listens on 127.0.0.1:50051 inside the node's own
//! namespace, so every node uses the same port without clashing.

use crate::{wait_for, Error, Result};
use std::fmt::Write as _;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::time::Duration;
use testbed::{Netns, Proc};

/// Graceful restart as Cilium's `gracefulRestart` block sets it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GracefulRestart {
    /// `restartTimeSeconds` (Cilium default 120).
    pub restart_time: u16,
    /// RFC 8538 notification support (Cilium always sets it).
    pub notification: bool,
}

impl Default for GracefulRestart {
    fn default() -> Self {
        GracefulRestart {
            restart_time: 120,
            notification: true,
        }
    }
}

/// Configuration of one node's speaker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpeakerConfig {
    /// Node AS (`localASN`).
    pub asn: u32,
    /// Router id = node IP.
    pub router_id: Ipv4Addr,
    /// BGP listen port (179, from the local-port annotation).
    pub listen_port: u16,
    /// The router's address (`peerAddress`).
    pub neighbor: Ipv4Addr,
    /// The router's AS (`peerASN`).
    pub peer_as: u32,
    /// Hold time, seconds.
    pub hold_time: u16,
    /// Keepalive interval, seconds.
    pub keepalive: u16,
    /// Connect retry, seconds.
    pub connect_retry: u16,
    /// Graceful restart, if enabled.
    pub graceful_restart: Option<GracefulRestart>,
    /// Families offered, GoBGP names.
    pub families: Vec<String>,
    /// Start with the session administratively down (enabled later with
    /// `gobgp neighbor ADDR enable`).
    pub admin_down: bool,
}

impl SpeakerConfig {
    /// Cilium's defaults for a node `router_id` in AS `asn` peering with
    /// `neighbor` in AS 65000.
    pub fn cilium(asn: u32, router_id: Ipv4Addr, neighbor: Ipv4Addr) -> SpeakerConfig {
        SpeakerConfig {
            asn,
            router_id,
            listen_port: 179,
            neighbor,
            peer_as: 65000,
            hold_time: 90,
            keepalive: 30,
            connect_retry: 120,
            graceful_restart: None,
            families: vec!["ipv4-unicast".into(), "ipv6-unicast".into()],
            admin_down: false,
        }
    }

    /// The gobgpd TOML configuration file.
    pub fn to_toml(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "[global.config]");
        let _ = writeln!(s, "  as = {}", self.asn);
        let _ = writeln!(s, "  router-id = \"{}\"", self.router_id);
        let _ = writeln!(s, "  port = {}", self.listen_port);
        let _ = writeln!(s, "  local-address-list = [\"0.0.0.0\"]");
        let _ = writeln!(s);
        let _ = writeln!(s, "[[neighbors]]");
        let _ = writeln!(s, "  [neighbors.config]");
        let _ = writeln!(s, "    neighbor-address = \"{}\"", self.neighbor);
        let _ = writeln!(s, "    peer-as = {}", self.peer_as);
        if self.admin_down {
            let _ = writeln!(s, "    admin-down = true");
        }
        let _ = writeln!(s, "  [neighbors.timers.config]");
        let _ = writeln!(s, "    connect-retry = {}", self.connect_retry);
        let _ = writeln!(s, "    hold-time = {}", self.hold_time);
        let _ = writeln!(s, "    keepalive-interval = {}", self.keepalive);
        let _ = writeln!(s, "  [neighbors.transport.config]");
        let _ = writeln!(s, "    remote-port = 179");
        let _ = writeln!(s, "  [neighbors.ebgp-multihop.config]");
        let _ = writeln!(s, "    enabled = false");
        if let Some(gr) = self.graceful_restart {
            let _ = writeln!(s, "  [neighbors.graceful-restart.config]");
            let _ = writeln!(s, "    enabled = true");
            let _ = writeln!(s, "    restart-time = {}", gr.restart_time);
            let _ = writeln!(s, "    notification-enabled = {}", gr.notification);
        }
        for fam in &self.families {
            let _ = writeln!(s, "  [[neighbors.afi-safis]]");
            let _ = writeln!(s, "    [neighbors.afi-safis.config]");
            let _ = writeln!(s, "      afi-safi-name = \"{fam}\"");
            if self.graceful_restart.is_some() {
                let _ = writeln!(s, "    [neighbors.afi-safis.mp-graceful-restart.config]");
                let _ = writeln!(s, "      enabled = true");
            }
        }
        s
    }
}

/// How to stop a speaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopMode {
    /// SIGTERM: gobgpd sends a Cease NOTIFICATION and closes.
    Graceful,
    /// SIGKILL: TCP closes with no NOTIFICATION (a crashed Cilium agent).
    Kill,
}

/// A running gobgpd in a node namespace, with the routes it announces.
#[derive(Debug)]
pub struct Speaker {
    proc: Proc,
    config: SpeakerConfig,
    /// Prefixes announced and their next hop (none: IPv6, see
    /// [`Speaker::announce6`]).
    announced: Vec<(String, Option<Ipv4Addr>)>,
}

impl Speaker {
    /// Writes the config into `dir` and starts gobgpd in `ns`; waits for its
    /// API to answer.
    pub fn start(ns: &Netns, config: &SpeakerConfig, dir: &Path) -> Result<Speaker> {
        let conf = dir.join(format!("{}-gobgpd.toml", ns.name()));
        std::fs::write(&conf, config.to_toml()).map_err(|source| Error::Io {
            path: conf.clone(),
            source,
        })?;
        let log = log_path(ns, dir);
        let conf_s = conf.to_string_lossy().into_owned();
        let args = [
            "-f",
            conf_s.as_str(),
            "-t",
            "toml",
            "-p",
            "-l",
            "info",
            "--api-hosts",
            "127.0.0.1:50051",
            "--pprof-disable",
        ];
        let mut proc = Proc::spawn_in(
            ns,
            &format!("gobgpd in {}", ns.name()),
            "gobgpd",
            &args,
            &log,
        )?;
        wait_for(
            "gobgpd API",
            Duration::from_secs(15),
            Duration::from_millis(100),
            || {
                proc.check_running()?;
                Ok(ns.exec("gobgp", &["global"]).ok().map(|_| ()))
            },
        )?;
        Ok(Speaker {
            proc,
            config: config.clone(),
            announced: Vec::new(),
        })
    }

    /// Announces `prefix` (e.g. "10.241.0.0/24") with `next_hop`.
    pub fn announce(&mut self, ns: &Netns, prefix: &str, next_hop: Ipv4Addr) -> Result<()> {
        let nh = next_hop.to_string();
        // Cilium announces with ORIGIN IGP.
        let args = [
            "global", "rib", "add", "-a", "ipv4", prefix, "nexthop", &nh, "origin", "igp",
        ];
        ns.exec("gobgp", &args)?;
        self.announced.push((prefix.to_string(), Some(next_hop)));
        Ok(())
    }

    /// Announces the IPv6 `prefix` with no next hop of its own, as Cilium
    /// does over an IPv4 session: GoBGP sends its IPv4 address, mapped
    /// (`::ffff:172.18.0.2`).
    pub fn announce6(&mut self, ns: &Netns, prefix: &str) -> Result<()> {
        let args = [
            "global", "rib", "add", "-a", "ipv6", prefix, "origin", "igp",
        ];
        ns.exec("gobgp", &args)?;
        self.announced.push((prefix.to_string(), None));
        Ok(())
    }

    /// Withdraws `prefix`.
    pub fn withdraw(&mut self, ns: &Netns, prefix: &str) -> Result<()> {
        let family = if prefix.contains(':') { "ipv6" } else { "ipv4" };
        ns.exec("gobgp", &["global", "rib", "del", "-a", family, prefix])?;
        self.announced.retain(|(p, _)| p != prefix);
        Ok(())
    }

    /// Stops the speaker.
    pub fn stop(&mut self, mode: StopMode) {
        match mode {
            StopMode::Graceful => self.proc.stop(Duration::from_secs(5)),
            StopMode::Kill => self.proc.kill(),
        }
    }

    /// Starts gobgpd again with the same config and re-announces the same
    /// routes (what a restarted Cilium agent does).
    pub fn restart(&mut self, ns: &Netns, dir: &Path) -> Result<()> {
        self.proc.stop(Duration::from_secs(5));
        let announced = std::mem::take(&mut self.announced);
        // The session waits until the routes are back in gobgpd's RIB, as
        // a restarting speaker's should (RFC 4724 4.1: its End-of-RIB
        // follows its routes). Started at once, gobgpd could send
        // End-of-RIB before the routes were added through its API, and the
        // router would rightly flush them for a moment.
        let mut held = self.config.clone();
        held.admin_down = true;
        let mut fresh = Speaker::start(ns, &held, dir)?;
        for (p, nh) in &announced {
            match nh {
                Some(nh) => fresh.announce(ns, p, *nh)?,
                None => fresh.announce6(ns, p)?,
            }
        }
        let neighbor = self.config.neighbor.to_string();
        ns.exec("gobgp", &["neighbor", &neighbor, "enable"])?;
        fresh.config = self.config.clone();
        // Replace in place; the old (stopped) Proc is dropped harmlessly.
        *self = fresh;
        Ok(())
    }

    /// Whether gobgpd is running.
    pub fn is_running(&mut self) -> bool {
        self.proc.is_running()
    }

    /// The session state GoBGP reports for the router ("established", ...).
    pub fn session_state(&self, ns: &Netns) -> Result<String> {
        let out = ns.exec("gobgp", &["-j", "neighbor"])?;
        parse_neighbor_state(&out)
    }

    /// How many OPENs gobgpd has received from the router: grows by one
    /// each time the session comes up again, so a flap shows.
    pub fn opens_received(&self, ns: &Netns) -> Result<u64> {
        let out = ns.exec("gobgp", &["-j", "neighbor"])?;
        let v: serde_json::Value = serde_json::from_str(&out).map_err(|e| Error::Parse {
            what: "gobgp -j neighbor".into(),
            detail: e.to_string(),
        })?;
        Ok(v.pointer("/0/state/messages/received/open")
            .and_then(|x| x.as_u64())
            .unwrap_or(0))
    }

    /// The process (log path, PID).
    pub fn proc(&self) -> &Proc {
        &self.proc
    }

    /// Leaves gobgpd running when dropped.
    pub fn keep(&mut self) {
        self.proc.keep();
    }

    /// The configuration.
    pub fn config(&self) -> &SpeakerConfig {
        &self.config
    }
}

fn log_path(ns: &Netns, dir: &Path) -> PathBuf {
    dir.join(format!("{}-gobgpd.log", ns.name()))
}

/// Parses `gobgp -j neighbor` (a JSON array of peers) and returns the first
/// peer's session state, lower case.
pub fn parse_neighbor_state(json: &str) -> Result<String> {
    let err = |d: &str| Error::Parse {
        what: "gobgp -j neighbor".into(),
        detail: d.into(),
    };
    let v: serde_json::Value = serde_json::from_str(json).map_err(|e| err(&e.to_string()))?;
    let state = v
        .as_array()
        .and_then(|a| a.first())
        .and_then(|p| p.get("state"))
        .and_then(|s| s.get("session_state"))
        .ok_or_else(|| err("no [0].state.session_state"))?;
    // GoBGP prints the enum as a number (6 = established) or as a name.
    Ok(match state {
        serde_json::Value::Number(n) => match n.as_u64() {
            Some(1) => "idle".into(),
            Some(2) => "connect".into(),
            Some(3) => "active".into(),
            Some(4) => "opensent".into(),
            Some(5) => "openconfirm".into(),
            Some(6) => "established".into(),
            _ => format!("unknown({n})"),
        },
        serde_json::Value::String(s) => s.to_lowercase(),
        other => other.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_has_cilium_settings() {
        let mut c = SpeakerConfig::cilium(65100, [172, 18, 0, 2].into(), [172, 18, 0, 5].into());
        c.graceful_restart = Some(GracefulRestart::default());
        let t = c.to_toml();
        for needle in [
            "as = 65100",
            "router-id = \"172.18.0.2\"",
            "port = 179",
            "neighbor-address = \"172.18.0.5\"",
            "peer-as = 65000",
            "hold-time = 90",
            "keepalive-interval = 30",
            "afi-safi-name = \"ipv4-unicast\"",
            "afi-safi-name = \"ipv6-unicast\"",
            "restart-time = 120",
            "notification-enabled = true",
        ] {
            assert!(t.contains(needle), "missing {needle} in\n{t}");
        }
    }

    #[test]
    fn neighbor_state_number_and_name() {
        assert_eq!(
            parse_neighbor_state(r#"[{"state":{"session_state":6}}]"#).unwrap(),
            "established"
        );
        assert_eq!(
            parse_neighbor_state(r#"[{"state":{"session_state":"ACTIVE"}}]"#).unwrap(),
            "active"
        );
        assert!(parse_neighbor_state("[]").is_err());
    }
}
