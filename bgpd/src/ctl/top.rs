//! `rbgpctl top`: a live view of the router. [`Top`] holds what the
//! screen shows and is fed samples (`show summary` and `show peers`, each
//! second), events (the `watch` stream) and keys; [`Top::render`] draws it
//! with ratatui. No I/O here: the terminal loop is in `top_run.rs`, and a
//! frame renders into any backend (a test's, or `--once`'s text).

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::time::Duration;

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Block, Cell, Paragraph, Row, Table, TableState, Wrap};
use ratatui::Frame;

use super::format::{duration, event_line, mib};
use super::proto::{Event, PeerState, PeerSummary, RouteEntry, Summary};

/// Events kept for the events pane.
const EVENTS_KEPT: usize = 200;

/// The session table's sort order (`s` cycles through them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    /// By address.
    Address,
    /// Established last, then by address.
    State,
    /// Most accepted prefixes first.
    Prefixes,
    /// Most UPDATEs per second (in and out) first.
    Rate,
}

impl SortKey {
    fn next(self) -> Self {
        match self {
            SortKey::Address => SortKey::State,
            SortKey::State => SortKey::Prefixes,
            SortKey::Prefixes => SortKey::Rate,
            SortKey::Rate => SortKey::Address,
        }
    }
    fn name(self) -> &'static str {
        match self {
            SortKey::Address => "address",
            SortKey::State => "state",
            SortKey::Prefixes => "prefixes",
            SortKey::Rate => "update rate",
        }
    }
}

/// What the screen shows below the header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum View {
    /// The sessions.
    Peers,
    /// The routes (best paths), to pick one to explain.
    Routes,
    /// An `explain` answer, as text.
    Explain(String),
}

/// A key, as [`Top::key`] takes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    /// A character.
    Char(char),
    /// Up arrow.
    Up,
    /// Down arrow.
    Down,
    /// Enter.
    Enter,
    /// Escape.
    Esc,
    /// Tab.
    Tab,
    /// Backspace.
    Backspace,
}

/// What the driver should do after a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Nothing but redraw.
    None,
    /// Leave.
    Quit,
    /// Read the routes (`show routes --best`) into [`Top::set_routes`].
    FetchRoutes,
    /// Ask `explain PREFIX` and show it with [`Top::set_explain`].
    Explain(String),
}

/// The state of the screen.
#[derive(Debug)]
pub struct Top {
    summary: Option<Summary>,
    peers: Vec<PeerSummary>,
    /// UPDATEs in and out per second, per peer, from the last two samples.
    rates: HashMap<IpAddr, (f64, f64)>,
    last_counts: HashMap<IpAddr, (u64, u64)>,
    /// FIB writes and core inputs per second.
    fib_rate: Option<f64>,
    input_rate: Option<f64>,
    last_totals: Option<(u64, u64)>,
    events: VecDeque<String>,
    routes: Vec<RouteEntry>,
    sort: SortKey,
    filter: String,
    typing: bool,
    selected: usize,
    view: View,
    /// The last error talking to rbgpd, shown in the status line.
    status: Option<String>,
}

impl Default for Top {
    fn default() -> Self {
        Top {
            summary: None,
            peers: Vec::new(),
            rates: HashMap::new(),
            last_counts: HashMap::new(),
            fib_rate: None,
            input_rate: None,
            last_totals: None,
            events: VecDeque::new(),
            routes: Vec::new(),
            sort: SortKey::Address,
            filter: String::new(),
            typing: false,
            selected: 0,
            view: View::Peers,
            status: None,
        }
    }
}

fn per_sec(now: u64, before: u64, elapsed: Duration) -> f64 {
    let secs = elapsed.as_secs_f64();
    if secs <= 0.0 {
        return 0.0;
    }
    now.saturating_sub(before) as f64 / secs
}

fn rate(r: Option<f64>) -> String {
    r.map_or_else(|| "-".into(), |r| format!("{r:.0}/s"))
}

fn accepted(p: &PeerSummary) -> u64 {
    p.families.iter().map(|f| f.accepted).sum()
}

impl Top {
    /// A new sample, `elapsed` after the previous one: rates are the
    /// counters' growth over it.
    pub fn sample(&mut self, summary: Summary, peers: Vec<PeerSummary>, elapsed: Duration) {
        let first = self.last_totals.is_none();
        let totals = (summary.fib_writes, summary.core_inputs);
        if let Some((fib, inputs)) = self.last_totals {
            self.fib_rate = Some(per_sec(totals.0, fib, elapsed));
            self.input_rate = Some(per_sec(totals.1, inputs, elapsed));
        }
        self.last_totals = Some(totals);
        let mut counts = HashMap::new();
        for p in &peers {
            let now = (p.updates_received, p.updates_sent);
            if let (false, Some(before)) = (first, self.last_counts.get(&p.address)) {
                self.rates.insert(
                    p.address,
                    (
                        per_sec(now.0, before.0, elapsed),
                        per_sec(now.1, before.1, elapsed),
                    ),
                );
            }
            counts.insert(p.address, now);
        }
        self.rates.retain(|a, _| counts.contains_key(a));
        self.last_counts = counts;
        self.summary = Some(summary);
        self.peers = peers;
        self.status = None;
    }

    /// One event of the `watch` stream.
    pub fn event(&mut self, e: &Event) {
        if self.events.len() == EVENTS_KEPT {
            self.events.pop_front();
        }
        self.events.push_back(event_line(e).trim_end().to_string());
    }

    /// Something went wrong talking to rbgpd.
    pub fn error(&mut self, message: String) {
        self.status = Some(message);
    }

    /// The routes for the routes view.
    pub fn set_routes(&mut self, routes: Vec<RouteEntry>) {
        self.routes = routes;
        self.selected = self.selected.min(self.routes.len().saturating_sub(1));
    }

    /// An `explain` answer to show.
    pub fn set_explain(&mut self, text: String) {
        self.view = View::Explain(text);
    }

    /// The view shown.
    pub fn view(&self) -> &View {
        &self.view
    }

    /// The sessions shown, filtered and sorted.
    pub fn shown_peers(&self) -> Vec<&PeerSummary> {
        let f = self.filter.to_lowercase();
        let mut v: Vec<&PeerSummary> = self
            .peers
            .iter()
            .filter(|p| {
                f.is_empty()
                    || p.shown_address().contains(&f)
                    || p.description
                        .as_deref()
                        .is_some_and(|d| d.to_lowercase().contains(&f))
            })
            .collect();
        let rate = |p: &PeerSummary| self.rates.get(&p.address).map_or(0.0, |(i, o)| i + o);
        match self.sort {
            SortKey::Address => v.sort_by_key(|p| p.address),
            SortKey::State => {
                v.sort_by_key(|p| (p.state == PeerState::Established, p.address));
            }
            SortKey::Prefixes => v.sort_by_key(|p| (std::cmp::Reverse(accepted(p)), p.address)),
            SortKey::Rate => v.sort_by(|a, b| rate(b).total_cmp(&rate(a))),
        }
        v
    }

    fn shown_routes(&self) -> Vec<&RouteEntry> {
        let f = self.filter.to_lowercase();
        self.routes
            .iter()
            .filter(|r| f.is_empty() || r.prefix.contains(&f))
            .collect()
    }

    /// Handles a key.
    pub fn key(&mut self, key: Key) -> Action {
        if self.typing {
            match key {
                Key::Enter | Key::Esc => self.typing = false,
                Key::Backspace => {
                    self.filter.pop();
                }
                Key::Char(c) if !c.is_control() && self.filter.len() < 64 => self.filter.push(c),
                _ => {}
            }
            self.selected = 0;
            return Action::None;
        }
        let len = match self.view {
            View::Peers => self.shown_peers().len(),
            View::Routes => self.shown_routes().len(),
            View::Explain(_) => 0,
        };
        match key {
            Key::Char('q') => return Action::Quit,
            Key::Esc if matches!(self.view, View::Explain(_)) => self.view = View::Routes,
            Key::Esc => {
                self.filter.clear();
                self.view = View::Peers;
            }
            Key::Char('s') => self.sort = self.sort.next(),
            Key::Char('/') => {
                self.typing = true;
                self.filter.clear();
            }
            Key::Up | Key::Char('k') => self.selected = self.selected.saturating_sub(1),
            Key::Down | Key::Char('j') => {
                self.selected = (self.selected + 1).min(len.saturating_sub(1));
            }
            Key::Tab | Key::Char('r') => {
                self.selected = 0;
                self.filter.clear();
                if self.view == View::Peers {
                    self.view = View::Routes;
                    return Action::FetchRoutes;
                }
                self.view = View::Peers;
            }
            Key::Enter | Key::Char('e') if self.view == View::Routes => {
                if let Some(r) = self.shown_routes().get(self.selected) {
                    return Action::Explain(r.prefix.clone());
                }
            }
            _ => {}
        }
        Action::None
    }

    /// Draws the screen.
    pub fn render(&self, f: &mut Frame<'_>) {
        let [head, body, events, foot] = Layout::vertical([
            Constraint::Length(3),
            Constraint::Min(5),
            Constraint::Length(6),
            Constraint::Length(1),
        ])
        .areas(f.area());
        f.render_widget(Paragraph::new(self.header()), head);
        match &self.view {
            View::Peers => self.render_peers(f, body),
            View::Routes => self.render_routes(f, body),
            View::Explain(text) => {
                let p = Paragraph::new(text.as_str())
                    .block(Block::bordered().title(" explain (Esc: back) "))
                    .wrap(Wrap { trim: false });
                f.render_widget(p, body);
            }
        }
        let lines: Vec<Line<'_>> = self
            .events
            .iter()
            .rev()
            .take(usize::from(events.height.saturating_sub(2)))
            .map(|e| Line::from(e.as_str()))
            .collect();
        f.render_widget(
            Paragraph::new(lines).block(Block::bordered().title(" events ")),
            events,
        );
        f.render_widget(Paragraph::new(self.footer()), foot);
    }

    fn header(&self) -> Vec<Line<'_>> {
        let Some(s) = &self.summary else {
            return vec![Line::from("rbgpd: waiting for the first answer")];
        };
        let id = s.router_id.map_or_else(|| "-".into(), |i| i.to_string());
        vec![
            Line::from(format!(
                "rbgpd {}  AS {}  router id {id}  up {}  memory {}",
                s.version,
                s.asn,
                duration(s.uptime_secs),
                s.memory_rss_bytes.map_or_else(|| "-".into(), mib)
            )),
            Line::from(format!(
                "sessions {} of {} Established   RIB {} IPv4, {} IPv6 prefixes, {} paths",
                s.peers_established,
                s.peers_total,
                s.rib_prefixes_v4,
                s.rib_prefixes_v6,
                s.rib_paths
            )),
            Line::from(format!(
                "FIB {} routes, {} queued, {} writes   core {} events",
                s.fib_routes,
                s.fib_queued,
                rate(self.fib_rate),
                rate(self.input_rate)
            )),
        ]
    }

    fn render_peers(&self, f: &mut Frame<'_>, area: Rect) {
        let shown = self.shown_peers();
        let rows: Vec<Row<'_>> = shown
            .iter()
            .map(|p| {
                let (i, o) = self.rates.get(&p.address).copied().unwrap_or_default();
                let up = match (p.uptime_secs, p.down_secs) {
                    (Some(u), _) => duration(u),
                    (None, Some(d)) => format!("down {}", duration(d)),
                    _ => "-".into(),
                };
                let fam = |name: &str| {
                    p.families.iter().find(|x| x.family == name).map_or_else(
                        || "-".into(),
                        |x| format!("{}/{}", x.accepted, x.advertised),
                    )
                };
                Row::new(vec![
                    Cell::from(p.shown_address()),
                    Cell::from(p.description.clone().unwrap_or_default()),
                    Cell::from(p.remote_as.to_string()),
                    Cell::from(format!("{:?}", p.state).to_lowercase()),
                    Cell::from(up),
                    Cell::from(fam("ipv4-unicast")),
                    Cell::from(fam("ipv6-unicast")),
                    Cell::from(format!("{i:.0}/{o:.0}")),
                ])
            })
            .collect();
        // The address column as wide as the widest address shown; the
        // description takes what is left.
        let addr = shown
            .iter()
            .map(|p| p.shown_address().len())
            .max()
            .unwrap_or(4)
            .clamp(4, 40);
        let widths = [
            Constraint::Length(u16::try_from(addr).unwrap_or(40)),
            Constraint::Fill(1),
            Constraint::Length(10),
            Constraint::Length(11),
            Constraint::Length(8),
            Constraint::Length(10),
            Constraint::Length(10),
            Constraint::Length(9),
        ];
        let title = format!(
            " sessions ({} shown, sorted by {}) ",
            shown.len(),
            self.sort.name()
        );
        let table = Table::new(rows, widths)
            .header(
                Row::new(vec![
                    "Peer",
                    "Description",
                    "AS",
                    "State",
                    "Up",
                    "v4 acc/adv",
                    "v6 acc/adv",
                    "UPD/s i/o",
                ])
                .style(Style::new().add_modifier(Modifier::BOLD)),
            )
            .row_highlight_style(Style::new().add_modifier(Modifier::REVERSED))
            .block(Block::bordered().title(title));
        let mut state = TableState::default().with_selected(Some(self.selected));
        f.render_stateful_widget(table, area, &mut state);
    }

    fn render_routes(&self, f: &mut Frame<'_>, area: Rect) {
        let shown = self.shown_routes();
        let rows: Vec<Row<'_>> = shown
            .iter()
            .map(|r| {
                let hops: Vec<&str> = r.paths.iter().map(|p| p.next_hop.as_str()).collect();
                let path = r.paths.first().map_or("", |p| p.as_path.as_str());
                Row::new(vec![
                    Cell::from(r.prefix.clone()),
                    Cell::from(hops.len().to_string()),
                    Cell::from(hops.join(" ")),
                    Cell::from(path.to_string()),
                ])
            })
            .collect();
        let widths = [
            Constraint::Length(24),
            Constraint::Length(5),
            Constraint::Fill(2),
            Constraint::Fill(1),
        ];
        let table = Table::new(rows, widths)
            .header(
                Row::new(vec!["Prefix", "ECMP", "Next hops", "AS path"])
                    .style(Style::new().add_modifier(Modifier::BOLD)),
            )
            .row_highlight_style(Style::new().add_modifier(Modifier::REVERSED))
            .block(
                Block::bordered()
                    .title(format!(" routes ({} shown; Enter: explain) ", shown.len())),
            );
        let mut state = TableState::default().with_selected(Some(self.selected));
        f.render_stateful_widget(table, area, &mut state);
    }

    fn footer(&self) -> String {
        if let Some(e) = &self.status {
            return format!("error: {e}");
        }
        if self.typing {
            return format!("filter: {}_  (Enter: done, Esc: done)", self.filter);
        }
        let filter = if self.filter.is_empty() {
            String::new()
        } else {
            format!("  [filter {}]", self.filter)
        };
        format!("q quit  s sort  / filter  Tab routes/sessions  Enter explain  Esc back{filter}")
    }
}

/// The frame as text, `width` × `height` cells (for `--once` and tests).
pub fn frame_text(top: &Top, width: u16, height: u16) -> String {
    let backend = ratatui::backend::TestBackend::new(width, height);
    let Ok(mut terminal) = ratatui::Terminal::new(backend);
    let Ok(_) = terminal.draw(|f| top.render(f));
    let buf = terminal.backend().buffer();
    let mut out = String::new();
    for y in 0..buf.area.height {
        let mut line = String::new();
        for x in 0..buf.area.width {
            line.push_str(buf[(x, y)].symbol());
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}
