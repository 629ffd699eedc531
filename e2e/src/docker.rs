//! Docker networks and the router container, for the lab as the
//! write-up built it: the router container on the Docker networks `kind`
//! (172.18.0.0/16) and `kind2` (172.19.0.0/16), the node namespaces
//! plugged into those networks' Linux bridges (`br-<id>`).
//!
//! Invariants:
//! - a network this module creates carries the label [`LABEL`]; only such
//!   a network is ever removed (stale ones from an earlier run, and ours
//!   on drop, checked by name and id). A network of the same name without
//!   the label belongs to someone else (a real kind cluster): it is left
//!   alone and [`unavailable_reason`] reports it;
//! - containers are addressed by name; callers use `rb-*` names.

use crate::{Error, Result};
use std::net::Ipv4Addr;
use std::process::Command;
use std::time::{Duration, Instant};
use testbed::run;

/// Label key=value on every network the harness creates.
pub const LABEL: &str = "org.rbgpd.e2e=lab";
/// The label key and value of [`LABEL`] (for `docker inspect`).
const LABEL_KEY: &str = "org.rbgpd.e2e";
const LABEL_VALUE: &str = "lab";

/// The two lab networks: name and subnet, as in shared/LAB.md.
pub const LAB_NETWORKS: [(&str, &str); 2] = [("kind", "172.18.0.0/16"), ("kind2", "172.19.0.0/16")];

/// Runs `docker args`; fails on a non-zero exit. Returns stdout.
pub fn docker(args: &[&str]) -> Result<String> {
    Ok(run(Command::new("docker").args(args))?)
}

/// Whether `docker args` exits 0 (output ignored).
fn docker_ok(args: &[&str]) -> bool {
    Command::new("docker")
        .args(args)
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Who owns network `name`: `None` if there is no such network,
/// `Some(true)` if it carries [`LABEL`], `Some(false)` otherwise.
pub fn network_is_ours(name: &str) -> Option<bool> {
    let fmt = format!("{{{{index .Labels \"{LABEL_KEY}\"}}}}");
    let out = docker(&["network", "inspect", name, "-f", &fmt]).ok()?;
    Some(out.trim() == LABEL_VALUE)
}

/// Why the Docker-networks lab cannot run here, if it cannot: docker
/// missing or unreachable, `image` not built, or a network named `kind` /
/// `kind2` (or one holding their subnets) that is not ours.
pub fn unavailable_reason(image: &str) -> Option<String> {
    if testbed::which("docker").is_none() {
        return Some("docker not installed".into());
    }
    if !docker_ok(&["info"]) {
        return Some("docker daemon not reachable".into());
    }
    if !docker_ok(&["image", "inspect", image]) {
        return Some(format!("image {image} not built (docker/build.sh)"));
    }
    for (name, _) in LAB_NETWORKS {
        if network_is_ours(name) == Some(false) {
            return Some(format!(
                "a Docker network named {name} exists and is not ours (no label {LABEL}); \
                 not touching it"
            ));
        }
    }
    // Another network holding one of the subnets would make ours fail.
    let ids = docker(&["network", "ls", "-q"]).unwrap_or_default();
    for id in ids.split_whitespace() {
        let fmt = "{{.Name}} {{range .IPAM.Config}}{{.Subnet}} {{end}}";
        let Ok(line) = docker(&["network", "inspect", id, "-f", fmt]) else {
            continue;
        };
        let mut words = line.split_whitespace();
        let name = words.next().unwrap_or_default();
        if LAB_NETWORKS.iter().any(|(n, _)| *n == name) {
            continue;
        }
        if let Some(s) = words.find(|s| LAB_NETWORKS.iter().any(|(_, sub)| s == sub)) {
            return Some(format!(
                "Docker network {name} already uses {s}; not touching it"
            ));
        }
    }
    None
}

/// A Docker bridge network the harness created (labelled [`LABEL`]),
/// removed on drop unless [`DockerNetwork::keep`] was called.
#[derive(Debug)]
pub struct DockerNetwork {
    name: String,
    id: String,
    keep: bool,
}

impl DockerNetwork {
    /// `docker network create --subnet SUBNET NAME` (with our label). A
    /// stale network of ours with that name is removed first; one that is
    /// not ours is an error (and left alone).
    pub fn create(name: &str, subnet: &str) -> Result<DockerNetwork> {
        match network_is_ours(name) {
            Some(false) => {
                return Err(Error::Missing(format!(
                    "Docker network {name} exists and is not ours; refusing to touch it"
                )))
            }
            Some(true) => {
                docker(&["network", "rm", name])?;
            }
            None => {}
        }
        let id = docker(&[
            "network", "create", "--driver", "bridge", "--subnet", subnet, "--label", LABEL, name,
        ])?
        .trim()
        .to_string();
        if id.len() < 12 {
            return Err(Error::Parse {
                what: "docker network create".into(),
                detail: format!("network id {id:?}"),
            });
        }
        Ok(DockerNetwork {
            name: name.into(),
            id,
            keep: false,
        })
    }

    /// The network's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The Linux bridge Docker made for it on the host: `br-` and the
    /// first 12 characters of the network id.
    pub fn bridge(&self) -> String {
        format!("br-{}", self.id.get(..12).unwrap_or(&self.id))
    }

    /// Leaves the network in place when dropped (lab-up).
    pub fn keep(&mut self) {
        self.keep = true;
    }
}

impl Drop for DockerNetwork {
    fn drop(&mut self) {
        if self.keep {
            return;
        }
        // Name check: only the network we created (same id, our label).
        let id = docker(&["network", "inspect", &self.name, "-f", "{{.Id}}"]).unwrap_or_default();
        if id.trim() == self.id && network_is_ours(&self.name) == Some(true) {
            let _ = docker(&["network", "rm", &self.id]);
        }
    }
}

/// Plugs host interface `port` into bridge `br` and brings it up.
pub fn enslave(port: &str, br: &str) -> Result<()> {
    run(Command::new("ip").args(["link", "set", port, "master", br]))?;
    run(Command::new("ip").args(["link", "set", port, "up"]))?;
    Ok(())
}

/// `docker inspect -f FORMAT container`, trimmed.
pub fn inspect(container: &str, format: &str) -> Result<String> {
    Ok(docker(&["inspect", "-f", format, container])?
        .trim()
        .to_string())
}

/// The PID of the container's first process (its namespaces' holder).
pub fn pid(container: &str) -> Result<i32> {
    let out = inspect(container, "{{.State.Pid}}")?;
    match out.parse() {
        Ok(p) if p > 0 => Ok(p),
        _ => Err(Error::Parse {
            what: "docker inspect pid".into(),
            detail: out,
        }),
    }
}

/// `docker network connect --ip IP NETWORK CONTAINER`: a new interface
/// appears in the running container.
pub fn connect(network: &str, container: &str, ip: Ipv4Addr) -> Result<()> {
    docker(&[
        "network",
        "connect",
        "--ip",
        &ip.to_string(),
        network,
        container,
    ])
    .map(|_| ())
}

/// How `docker stop` went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stopped {
    /// The container's exit code.
    pub exit_code: i32,
    /// How long `docker stop` took (10 s or more means it had to SIGKILL).
    pub took: Duration,
    /// Whether Docker reports it was OOM-killed (never expected).
    pub oom_killed: bool,
}

/// `docker stop -t GRACE container` (SIGTERM, SIGKILL after `grace`).
pub fn stop(container: &str, grace: Duration) -> Result<Stopped> {
    let start = Instant::now();
    docker(&["stop", "-t", &grace.as_secs().to_string(), container])?;
    let took = start.elapsed();
    let out = inspect(container, "{{.State.ExitCode}} {{.State.OOMKilled}}")?;
    let mut w = out.split_whitespace();
    let exit_code = w
        .next()
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| Error::Parse {
            what: "docker inspect exit code".into(),
            detail: out.clone(),
        })?;
    Ok(Stopped {
        exit_code,
        took,
        oom_killed: w.next() == Some("true"),
    })
}

/// `docker rm -f container`, errors ignored (cleanup).
pub fn remove(container: &str) {
    let _ = Command::new("docker")
        .args(["rm", "-f", container])
        .output();
}

/// Removes the lab networks that are ours (labelled [`LABEL`]) and the
/// router container holding them (lab-down). Returns the networks removed.
pub fn remove_lab_networks(container: &str) -> Vec<String> {
    remove(container);
    LAB_NETWORKS
        .iter()
        .filter(|(name, _)| network_is_ours(name) == Some(true))
        .filter(|(name, _)| docker(&["network", "rm", name]).is_ok())
        .map(|(name, _)| name.to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bridge_is_br_and_twelve_chars_of_the_id() {
        let n = DockerNetwork {
            name: "kind".into(),
            id: "23e3478b20eac356f3a7a89a79908a2e8f25919a84cb60fb27289acf2c2ee2fe".into(),
            keep: true,
        };
        assert_eq!(n.bridge(), "br-23e3478b20ea");
        assert_eq!(n.name(), "kind");
    }

    #[test]
    fn lab_networks_are_the_write_ups() {
        assert_eq!(LAB_NETWORKS[0], ("kind", "172.18.0.0/16"));
        assert_eq!(LAB_NETWORKS[1], ("kind2", "172.19.0.0/16"));
        assert_eq!(LABEL, format!("{LABEL_KEY}={LABEL_VALUE}"));
    }
}
