//! The FROM-scratch image of docker/build.sh: it starts with the config
//! baked in at /etc/rbgpd/rbgpd.toml, its HEALTHCHECK (`rbgpctl show
//! summary`) turns healthy, and rbgpctl inside answers.
//!
//! Skips (printing why) when docker or the image is missing; build the
//! image first with `docker/build.sh` (tag `rbgpd:latest`, or set
//! `RBGPD_IMAGE`). The container runs with `--network none`: nothing
//! leaves it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;
use std::time::Duration;

const NAME: &str = "rb-docker-test";

/// The test's container, removed (by name) on drop.
struct Container;

impl Drop for Container {
    fn drop(&mut self) {
        let _ = Command::new("docker").args(["rm", "-f", NAME]).output();
    }
}

fn docker(args: &[&str]) -> (bool, String) {
    let out = Command::new("docker").args(args).output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn docker_image_starts_healthy() {
    let image = std::env::var("RBGPD_IMAGE").unwrap_or_else(|_| "rbgpd:latest".into());
    if testbed::which("docker").is_none() {
        testbed::skip("docker not installed");
        return;
    }
    if !docker(&["info"]).0 {
        testbed::skip("docker daemon not reachable");
        return;
    }
    if !docker(&["image", "inspect", &image]).0 {
        testbed::skip(format!("image {image} not built (run docker/build.sh)"));
        return;
    }
    let _ = docker(&["rm", "-f", NAME]);
    let (ok, out) = docker(&[
        "run",
        "-d",
        "--network",
        "none",
        "--cap-add",
        "NET_ADMIN",
        "--name",
        NAME,
        &image,
    ]);
    assert!(ok, "docker run: {out}");
    let _guard = Container;
    let health = e2e::wait_for(
        "container healthy",
        Duration::from_secs(90),
        Duration::from_secs(1),
        || {
            let (_, s) = docker(&["inspect", NAME, "--format", "{{.State.Health.Status}}"]);
            match s.trim() {
                "healthy" => Ok(Some(())),
                "unhealthy" => Err(e2e::Error::Missing(format!("unhealthy: {s}"))),
                _ => Ok(None),
            }
        },
    );
    if let Err(e) = health {
        let (_, logs) = docker(&["logs", NAME]);
        panic!("{e}\n{logs}");
    }
    let (ok, summary) = docker(&["exec", NAME, "/usr/local/bin/rbgpctl", "show", "summary"]);
    assert!(ok, "rbgpctl in the container: {summary}");
    assert!(
        summary.contains("65000"),
        "summary does not show AS 65000: {summary}"
    );
    println!("{summary}");
}
