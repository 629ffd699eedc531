//! systemd's service notifications (`Type=notify`): `READY=1` once the
//! control socket and the BGP listeners are bound, `RELOADING=1` and
//! `READY=1` around a reload, `STOPPING=1` at shutdown, and `WATCHDOG=1`
//! from the main loop at half the unit's `WatchdogSec=`, so a loop that
//! stops turning gets the daemon restarted. Without `NOTIFY_SOCKET` (not
//! started by systemd) every call does nothing.

use std::time::Duration;

use sd_notify::NotifyState;
use tracing::warn;

/// Sends notifications when systemd asked for them.
#[derive(Debug)]
pub struct Notifier {
    on: bool,
    watchdog: Option<Duration>,
    failed: bool,
}

impl Notifier {
    /// A notifier for this process: on when `NOTIFY_SOCKET` is set.
    pub fn from_env() -> Notifier {
        Notifier {
            on: std::env::var_os("NOTIFY_SOCKET").is_some(),
            watchdog: sd_notify::watchdog_enabled(),
            failed: false,
        }
    }

    /// How often [`Notifier::watchdog`] must be called: half the unit's
    /// `WatchdogSec=`, as sd_watchdog_enabled(3) advises; `None` without
    /// a watchdog.
    pub fn watchdog_period(&self) -> Option<Duration> {
        self.watchdog.filter(|_| self.on).map(|d| d / 2)
    }

    fn send(&mut self, state: &[NotifyState<'_>]) {
        if !self.on {
            return;
        }
        if let Err(e) = sd_notify::notify(state) {
            // Once: a socket that refuses one message refuses the next.
            if !self.failed {
                warn!(error = %e, "cannot notify systemd (NOTIFY_SOCKET)");
                self.failed = true;
            }
        }
    }

    /// The daemon is up; `status` is shown by `systemctl status`.
    pub fn ready(&mut self, status: &str) {
        self.send(&[NotifyState::Ready, NotifyState::Status(status)]);
    }

    /// A reload starts.
    pub fn reloading(&mut self) {
        let mut state = vec![NotifyState::Reloading];
        // systemd 253 and later want the time with RELOADING=1.
        if let Ok(now) = NotifyState::monotonic_usec_now() {
            state.push(now);
        }
        self.send(&state);
    }

    /// The daemon stops.
    pub fn stopping(&mut self) {
        self.send(&[NotifyState::Stopping]);
    }

    /// The main loop is alive.
    pub fn watchdog(&mut self) {
        self.send(&[NotifyState::Watchdog]);
    }
}
