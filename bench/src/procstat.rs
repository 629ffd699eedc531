//! Peak memory and CPU time of a process, from /proc.

use std::fs;

/// What /proc says about one process.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ProcStat {
    /// Peak resident set size (VmHWM), KiB.
    pub peak_rss_kib: u64,
    /// Resident set size now (VmRSS), KiB.
    pub rss_kib: u64,
    /// User plus system CPU time of all its threads, seconds.
    pub cpu_secs: f64,
}

impl ProcStat {
    /// Reads `/proc/PID/status` and `/proc/PID/stat`; `None` when the
    /// process is gone or the files do not parse.
    pub fn read(pid: u32) -> Option<ProcStat> {
        let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        Some(ProcStat {
            peak_rss_kib: parse_kib(&status, "VmHWM:")?,
            rss_kib: parse_kib(&status, "VmRSS:")?,
            cpu_secs: parse_cpu(&stat, clock_ticks())?,
        })
    }

    /// Sums over several processes (FRR's bgpd and zebra); `None` for no
    /// process or when one is gone.
    pub fn sum(pids: &[u32]) -> Option<ProcStat> {
        if pids.is_empty() {
            return None;
        }
        let mut total = ProcStat::default();
        for &p in pids {
            let s = ProcStat::read(p)?;
            total.peak_rss_kib += s.peak_rss_kib;
            total.rss_kib += s.rss_kib;
            total.cpu_secs += s.cpu_secs;
        }
        Some(total)
    }
}

fn clock_ticks() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as f64
    } else {
        100.0
    }
}

/// A line of /proc/PID/status in KiB ("VmHWM:", "VmRSS:").
fn parse_kib(status: &str, key: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

/// utime + stime (fields 14 and 15) of /proc/PID/stat, in seconds. The
/// command name (field 2) may hold spaces, so fields are counted after
/// its closing parenthesis.
fn parse_cpu(stat: &str, hz: f64) -> Option<f64> {
    let rest = stat.get(stat.rfind(')')? + 1..)?;
    let f: Vec<&str> = rest.split_whitespace().collect();
    // rest starts at field 3 (state): utime is field 14 -> index 11.
    let utime: u64 = f.get(11)?.parse().ok()?;
    let stime: u64 = f.get(12)?.parse().ok()?;
    Some((utime + stime) as f64 / hz)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_status_and_stat() {
        let status = "Name:\tbird\nVmPeak:\t  9000 kB\nVmHWM:\t    4321 kB\nVmRSS:\t 1 kB\n";
        assert_eq!(parse_kib(status, "VmHWM:"), Some(4321));
        assert_eq!(parse_kib(status, "VmRSS:"), Some(1));
        let stat = "42 (my (odd) name) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 1 0";
        assert_eq!(parse_cpu(stat, 100.0), Some(3.0));
    }

    #[test]
    fn reads_own_process() {
        let s = ProcStat::read(std::process::id()).unwrap();
        assert!(s.peak_rss_kib > 0);
        assert!(s.cpu_secs >= 0.0);
    }
}
