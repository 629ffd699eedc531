//! A tmux server of its own (its own socket, never the user's) running one
//! session, for driving terminal programs in tests: keys in, the screen
//! out. The server is killed on drop.

use std::process::Command;
use std::time::{Duration, Instant};

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
        let t0 = Instant::now();
        loop {
            let s = self.screen();
            if s.contains(want) {
                return s;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(15),
                "never showed {want:?}:\n{s}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        self.run(&["kill-server"]);
    }
}
