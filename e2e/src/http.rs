//! The data plane: an HTTP server per node on port 80, and HTTP GETs
//! from any namespace (curl when installed, else Python's http.client).

use crate::{Error, Result};
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::time::Duration;
use testbed::which;
use testbed::{output, Netns, Proc};

/// Starts `python3 -m http.server 80 --bind ::` in `ns` (IPv4 and IPv6),
/// serving a page that names the node, from `dir/<ns>-www`.
pub fn serve(ns: &Netns, dir: &Path) -> Result<Proc> {
    let www = dir.join(format!("{}-www", ns.name()));
    std::fs::create_dir_all(&www).map_err(|source| Error::Io {
        path: www.clone(),
        source,
    })?;
    let index = www.join("index.html");
    std::fs::write(&index, format!("hello from {}\n", ns.name())).map_err(|source| Error::Io {
        path: index,
        source,
    })?;
    let py = python()?;
    let www_s = www.to_string_lossy().into_owned();
    let log = dir.join(format!("{}-http.log", ns.name()));
    Ok(Proc::spawn_in(
        ns,
        &format!("http server in {}", ns.name()),
        &py,
        &[
            "-m",
            "http.server",
            "80",
            // Both families (http.server's socket on `::` takes IPv4 too).
            "--bind",
            "::",
            "--directory",
            &www_s,
        ],
        &log,
    )?)
}

fn python() -> Result<String> {
    if Path::new("/usr/bin/python3").is_file() {
        return Ok("/usr/bin/python3".into());
    }
    which("python3")
        .map(|p| p.to_string_lossy().into_owned())
        .ok_or_else(|| Error::Missing("python3".into()))
}

/// GET `http://host/` from inside `ns`, optionally from `source`.
/// Returns the status code, or 0 when nothing answered within `timeout`.
pub fn get(ns: &Netns, host: Ipv4Addr, source: Option<Ipv4Addr>, timeout: Duration) -> Result<u16> {
    get_in(ns.name(), host, source, timeout)
}

/// [`get`] by namespace name (for pollers running in their own thread).
pub fn get_in(
    ns: &str,
    host: Ipv4Addr,
    source: Option<Ipv4Addr>,
    timeout: Duration,
) -> Result<u16> {
    get_any(ns, host.into(), source.map(IpAddr::from), timeout)
}

/// [`get_in`] for either family: `http://[fd00:11::248]/` for IPv6.
pub fn get_any(ns: &str, host: IpAddr, source: Option<IpAddr>, timeout: Duration) -> Result<u16> {
    let exec = |program: &str| {
        let mut c = std::process::Command::new("ip");
        c.args(["netns", "exec", ns, program]);
        c
    };
    let secs = format!("{:.1}", timeout.as_secs_f64());
    let url = match host {
        IpAddr::V4(h) => format!("http://{h}/"),
        IpAddr::V6(h) => format!("http://[{h}]/"),
    };
    if which("curl").is_some() {
        let mut cmd = exec("curl");
        cmd.args([
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "--max-time",
            &secs,
        ]);
        if let Some(src) = source {
            cmd.args(["--interface", &src.to_string()]);
        }
        cmd.arg(&url);
        let out = output(&mut cmd)?;
        let text = String::from_utf8_lossy(&out.stdout);
        return Ok(text.trim().parse().unwrap_or(0));
    }
    let src = source
        .map(|s| format!("('{s}', 0)"))
        .unwrap_or_else(|| "None".into());
    let script = format!(
        "import http.client,sys\n\
         try:\n c=http.client.HTTPConnection('{host}',80,timeout={secs},source_address={src})\n \
         c.request('GET','/')\n print(c.getresponse().status)\n\
         except Exception:\n print(0)\n"
    );
    let out = output(exec(&python()?).args(["-c", &script]))?;
    Ok(String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or(0))
}
