//! The terminal side of `rbgpctl top`: samples `show summary` and `show
//! peers` every interval over one connection, follows the `watch` stream
//! over another (a thread feeding a channel), reads keys, and redraws
//! [`Top`]. `once` renders a single frame as text for scripts.

use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use ratatui::crossterm::event::{self, Event as TermEvent, KeyCode, KeyEventKind};

use super::client::Client;
use super::explain;
use super::proto::{Event, PeerSummary, Request, Response, RouteQuery, Summary};
use super::top::{frame_text, Action, Key, Top};

/// How often the screen is redrawn when nothing happens, and how long a
/// key is waited for.
const TICK: Duration = Duration::from_millis(200);

fn sample(client: &mut Client) -> anyhow::Result<(Summary, Vec<PeerSummary>)> {
    let summary = match client.request(&Request::ShowSummary)? {
        Response::Summary { summary } => summary,
        Response::Error { message } => bail!("rbgpd: {message}"),
        other => bail!("unexpected answer to show summary: {other:?}"),
    };
    let peers = match client.request(&Request::ShowPeers)? {
        Response::Peers { peers } => peers,
        Response::Error { message } => bail!("rbgpd: {message}"),
        other => bail!("unexpected answer to show peers: {other:?}"),
    };
    Ok((summary, peers))
}

/// One frame of the sessions view, `width` × `height`, as text.
pub fn once(socket: &Path, width: u16, height: u16) -> anyhow::Result<String> {
    let mut client = Client::connect(socket)?;
    let (summary, peers) = sample(&mut client)?;
    let mut top = Top::default();
    top.sample(summary, peers, Duration::ZERO);
    Ok(frame_text(&top, width, height))
}

/// Follows the `watch` stream in a thread; the channel closes when the
/// stream ends.
fn watch(socket: &Path) -> anyhow::Result<mpsc::Receiver<Event>> {
    let mut client = Client::connect(socket)?;
    client.send(&Request::Watch)?;
    // Bounded: a screen that cannot keep up drops events, not memory.
    let (tx, rx) = mpsc::sync_channel(1024);
    std::thread::spawn(move || {
        while let Ok(Some(Response::Event { event })) = client.next_response() {
            if let Err(mpsc::TrySendError::Disconnected(_)) = tx.try_send(event) {
                return;
            }
        }
    });
    Ok(rx)
}

fn key_of(code: KeyCode) -> Option<Key> {
    Some(match code {
        KeyCode::Char(c) => Key::Char(c),
        KeyCode::Up => Key::Up,
        KeyCode::Down => Key::Down,
        KeyCode::Enter => Key::Enter,
        KeyCode::Esc => Key::Esc,
        KeyCode::Tab => Key::Tab,
        KeyCode::Backspace => Key::Backspace,
        _ => return None,
    })
}

/// Runs the live view until `q` (or Ctrl-C as `q`).
pub fn run(socket: &Path, interval: Duration) -> anyhow::Result<()> {
    let mut client = Client::connect(socket)?;
    let events = watch(socket)?;
    let mut top = Top::default();
    let mut last = Instant::now();
    let (summary, peers) = sample(&mut client)?;
    top.sample(summary, peers, Duration::ZERO);
    let mut terminal = ratatui::try_init().context("setting up the terminal")?;
    let result = (|| -> anyhow::Result<()> {
        loop {
            while let Ok(e) = events.try_recv() {
                top.event(&e);
            }
            if last.elapsed() >= interval {
                let elapsed = last.elapsed();
                last = Instant::now();
                match sample(&mut client) {
                    Ok((s, p)) => top.sample(s, p, elapsed),
                    Err(e) => top.error(e.to_string()),
                }
            }
            terminal.draw(|f| top.render(f))?;
            if !event::poll(TICK)? {
                continue;
            }
            let TermEvent::Key(k) = event::read()? else {
                // A resize: the next draw takes the new size.
                continue;
            };
            if k.kind != KeyEventKind::Press {
                continue;
            }
            let ctrl_c =
                k.code == KeyCode::Char('c') && k.modifiers.contains(event::KeyModifiers::CONTROL);
            let Some(key) = (if ctrl_c {
                Some(Key::Char('q'))
            } else {
                key_of(k.code)
            }) else {
                continue;
            };
            match top.key(key) {
                Action::Quit => return Ok(()),
                Action::None => {}
                Action::FetchRoutes => {
                    let q = RouteQuery {
                        best_only: true,
                        ..RouteQuery::default()
                    };
                    match client.request(&Request::ShowRoutes(q)) {
                        Ok(Response::Routes { routes }) => top.set_routes(routes),
                        Ok(other) => top.error(format!("unexpected answer: {other:?}")),
                        Err(e) => top.error(e.to_string()),
                    }
                }
                Action::Explain(target) => match client.request(&Request::Explain { target }) {
                    Ok(Response::Explain { explain: e }) => top.set_explain(explain::text(&e)),
                    Ok(Response::Error { message }) => top.set_explain(message),
                    Ok(other) => top.error(format!("unexpected answer: {other:?}")),
                    Err(e) => top.error(e.to_string()),
                },
            }
        }
    })();
    ratatui::restore();
    result
}
