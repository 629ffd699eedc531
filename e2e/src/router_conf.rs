//! The lab router's config files: BIRD's (the write-up's bird.conf
//! adapted), rbgpd's own, and rbgpd's made from BIRD's by `rbgpd migrate`.

use crate::router::RouterSetup;
use crate::{Error, Result};
use std::fmt::Write as _;
use std::path::Path;

/// The write-up's bird.conf adapted: one `protocol bgp` per node, device,
/// direct, and kernel (`learn; persist;`, export all). With graceful
/// restart the sessions also carry an ipv6 channel, because a GoBGP
/// speaker with GR waits for End-of-RIB on every family it is configured
/// for (shared/LAB.md, "Traps").
pub fn bird_conf(setup: &RouterSetup) -> String {
    let mut s = String::new();
    let log = setup.dir.join("bird.log");
    let _ = writeln!(s, "log \"{}\" all;", log.display());
    let _ = writeln!(s, "router id {};\n", setup.router_id);
    let _ = writeln!(s, "protocol device {{\n    scan time 10;\n}}\n");
    for p in &setup.peers {
        let _ = writeln!(s, "protocol bgp {} {{", p.name);
        let _ = writeln!(s, "    local as {};", setup.asn);
        let _ = writeln!(s, "    neighbor {} as {};", p.address, p.asn);
        let _ = writeln!(
            s,
            "    ipv4 {{\n        import all;\n        export all;\n    }};"
        );
        if setup.graceful_restart {
            let _ = writeln!(
                s,
                "    ipv6 {{\n        import none;\n        export none;\n    }};"
            );
            let _ = writeln!(s, "    graceful restart on;");
            let _ = writeln!(s, "    graceful restart time 120;");
        }
        let _ = writeln!(s, "}}\n");
    }
    let _ = writeln!(
        s,
        "protocol direct {{\n    interface \"eth*\", \"lo\";\n}}\n"
    );
    let _ = writeln!(s, "protocol kernel {{");
    let _ = writeln!(s, "    learn;\n    persist;\n    scan time 20;");
    if setup.merge_paths {
        let _ = writeln!(s, "    merge paths on;");
    }
    let _ = writeln!(
        s,
        "    ipv4 {{\n        export all;\n        import none;\n    }};\n}}"
    );
    s
}

/// The port of rbgpd's metrics endpoint on the router's loopback.
pub const METRICS_PORT: u16 = 9179;

/// rbgpd's config, in config.example.toml's shape: neighbor ranges (so a
/// new node needs no config change), FIB on with ECMP and persist, the
/// control socket in the lab directory. Graceful restart is left at
/// rbgpd's default (announced, helper on): whether it is negotiated is the
/// speakers' choice, as in the real lab.
pub fn rbgpd_conf(setup: &RouterSetup, socket: &Path) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "[router]");
    let _ = writeln!(s, "asn = {}", setup.asn);
    let _ = writeln!(s, "router_id = \"{}\"", setup.router_id);
    let _ = writeln!(s, "listen = [\"0.0.0.0:179\"]");
    for r in &setup.ranges {
        let _ = writeln!(s, "\n[[neighbor]]");
        let _ = writeln!(s, "range = \"{}\"", r.range);
        let _ = writeln!(s, "remote_as = {}", r.asn);
        let _ = writeln!(s, "description = \"{}\"", r.description);
        let _ = writeln!(s, "import = \"all\"\nexport = \"all\"");
        if r.bfd {
            let _ = writeln!(s, "bfd = true");
        }
    }
    let _ = writeln!(s, "\n[fib]\nenabled = true\nmax_paths = 8\npersist = true");
    let _ = writeln!(s, "\n[control]\nsocket = \"{}\"", socket.display());
    let _ = writeln!(s, "\n[metrics]\nlisten = \"127.0.0.1:{METRICS_PORT}\"");
    let _ = writeln!(s, "\n[log]\nlevel = \"info\"");
    s
}

/// rbgpd's config made from the lab's bird.conf by `rbgpd migrate` (the
/// binary `rbgpd`), with the lab's control socket and metrics endpoint:
/// what a BIRD user migrating would run. The migration must be complete
/// (exit status 0).
pub fn migrated_conf(setup: &RouterSetup, rbgpd: &Path, socket: &Path) -> Result<String> {
    let bird = setup.dir.join("bird-to-migrate.conf");
    std::fs::write(&bird, bird_conf(setup)).map_err(|source| Error::Io {
        path: bird.clone(),
        source,
    })?;
    let out = std::process::Command::new(rbgpd)
        .arg("migrate")
        .arg(&bird)
        .output()
        .map_err(|source| Error::Io {
            path: rbgpd.to_path_buf(),
            source,
        })?;
    if !out.status.success() {
        return Err(Error::Parse {
            what: format!("rbgpd migrate {} ({})", bird.display(), out.status),
            detail: String::from_utf8_lossy(&out.stderr).into_owned(),
        });
    }
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    let _ = writeln!(text, "\n[control]\nsocket = \"{}\"", socket.display());
    let _ = writeln!(text, "\n[metrics]\nlisten = \"127.0.0.1:{METRICS_PORT}\"");
    Ok(text)
}
