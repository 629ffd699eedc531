//! A tmux server of its own (its own socket, never the user's) running one
//! session, for driving terminal programs in tests: keys in, the screen
//! out. The server is killed on drop.

use std::process::Command;
use std::time::Duration;

/// A tmux server with one session, named `session`.
#[derive(Debug)]
pub struct Tmux {
    socket: String,
    session: String,
}

impl Tmux {
    /// A server on socket `socket` (`tmux -L`); its session is started by
    /// `run(&["new-session", "-d", "-s", session, ...])`.
    pub fn new(socket: &str, session: &str) -> Tmux {
        Tmux {
            socket: socket.into(),
            session: session.into(),
        }
    }

    /// Runs `tmux -L SOCKET args`; its standard output.
    pub fn run(&self, args: &[&str]) -> String {
        match Command::new("tmux")
            .args(["-L", &self.socket])
            .args(args)
            .output()
        {
            Ok(out) => String::from_utf8_lossy(&out.stdout).into_owned(),
            Err(_) => String::new(),
        }
    }

    /// The session's screen as text.
    pub fn screen(&self) -> String {
        self.run(&["capture-pane", "-p", "-t", &self.session])
    }

    /// Waits up to 15 s for the screen to show `want`; the screen, or a
    /// panic with the last screen.
    pub fn wait(&self, want: &str) -> String {
        self.wait_until(want, |s| s.contains(want))
    }

    /// Waits up to 15 s for a screen `holds`; the screen, or a panic
    /// naming `what` with the last screen.
    pub fn wait_until(&self, what: &str, holds: impl Fn(&str) -> bool) -> String {
        let r = testbed::wait::poll(
            what,
            Duration::from_secs(15),
            Duration::from_millis(200),
            || {
                let s = self.screen();
                if holds(&s) {
                    Ok(Some(s))
                } else {
                    Err(format!("screen:\n{s}"))
                }
            },
        );
        r.unwrap_or_else(|e| panic!("{e}"))
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        self.run(&["kill-server"]);
    }
}
