//! What `floe top` shows and how keys change it.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use floe_live::{Request, Response};

use crate::names::{Dns, Names};

/// The screens, as iptraf has them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tab {
    /// The heavy hitters.
    Talkers,
    /// Flows per protocol and port.
    Ports,
    /// Flows per IP protocol.
    Protocols,
    /// Flows per packet size bracket.
    Sizes,
    /// Flows per TCP flag kind.
    Flags,
    /// Flows and export delay per exporter.
    Exporters,
}

impl Tab {
    /// Every tab, in the order the tab bar shows them.
    pub const ALL: [Tab; 6] = [
        Tab::Talkers,
        Tab::Ports,
        Tab::Protocols,
        Tab::Sizes,
        Tab::Flags,
        Tab::Exporters,
    ];

    /// The tab's name in the tab bar.
    pub fn title(self) -> &'static str {
        match self {
            Tab::Talkers => "Talkers",
            Tab::Ports => "Ports",
            Tab::Protocols => "Protocols",
            Tab::Sizes => "Packet sizes",
            Tab::Flags => "TCP flags",
            Tab::Exporters => "Exporters",
        }
    }
}

/// Which talkers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TalkerKey {
    /// Sources by bytes.
    Src,
    /// Destinations by bytes.
    Dst,
    /// Source and destination pairs by bytes.
    Pair,
    /// Source ASes by bytes.
    SrcAs,
    /// Destination ASes by bytes.
    DstAs,
    /// Sources by flows: scanners.
    SrcByFlows,
    /// Destinations by flows: what is scanned.
    DstByFlows,
}

impl TalkerKey {
    /// The heading of the list.
    pub fn title(self) -> &'static str {
        match self {
            TalkerKey::Src => "Source",
            TalkerKey::Dst => "Destination",
            TalkerKey::Pair => "Source  >  Destination",
            TalkerKey::SrcAs => "Source AS",
            TalkerKey::DstAs => "Destination AS",
            TalkerKey::SrcByFlows => "Source (by flows)",
            TalkerKey::DstByFlows => "Destination (by flows)",
        }
    }
}

/// The column lists are sorted by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sort {
    /// Largest byte count first.
    Bytes,
    /// Largest packet count first.
    Packets,
    /// Largest flow count first.
    Flows,
}

impl Sort {
    /// The word shown in the status line.
    pub fn title(self) -> &'static str {
        match self {
            Sort::Bytes => "bytes",
            Sort::Packets => "packets",
            Sort::Flows => "flows",
        }
    }
}

/// What a key asks the caller to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Nothing to do.
    None,
    /// Ask the live view again now (the request changed).
    Refresh,
    /// Leave `floe top`.
    Quit,
}

/// The state of the screen.
pub struct App {
    /// The screen shown.
    pub tab: Tab,
    /// The list the talkers screen shows.
    pub talkers: TalkerKey,
    /// The column lists are sorted by.
    pub sort: Sort,
    /// Seconds shown.
    pub window: u32,
    /// Seconds the server keeps.
    pub server_window: u32,
    /// Counts scaled by the sampling intervals.
    pub scale: bool,
    /// Totals and protocols spread over the flows' own time.
    pub spread: bool,
    /// The filter in force.
    pub filter: Option<String>,
    /// The filter being typed, when editing.
    pub editing: Option<String>,
    /// Why the last filter typed was refused.
    pub filter_error: Option<String>,
    /// How protocols, ports, ASes and addresses are shown.
    pub names: Names,
    /// The last answer from the live view, drawn until the next one.
    pub last: Option<Response>,
    /// Where the socket is, for the title.
    pub socket: String,
    /// A message for the status line (an error talking to floed).
    pub status: Option<String>,
    /// Rows shown.
    pub rows: usize,
}

/// Windows `w` cycles through.
const WINDOWS: [u32; 5] = [10, 60, 300, 900, 3600];

impl App {
    /// The first screen: talkers by bytes over a minute; `socket` is the path shown
    /// in the title.
    pub fn new(socket: String) -> App {
        App {
            tab: Tab::Talkers,
            talkers: TalkerKey::Src,
            sort: Sort::Bytes,
            window: 60,
            server_window: 300,
            scale: false,
            spread: false,
            filter: None,
            editing: None,
            filter_error: None,
            names: Names::new(),
            last: None,
            socket,
            status: None,
            rows: 20,
        }
    }

    /// The request for the screen as it is.
    pub fn request(&self) -> Request {
        Request {
            window: Some(self.window.min(self.server_window)),
            n: Some(self.rows.clamp(10, 200)),
            filter: self.filter.clone(),
            scale: self.scale,
            spread: self.spread,
            ..Request::default()
        }
    }

    /// Takes the live view's answer.
    pub fn answer(&mut self, r: Response) {
        self.server_window = r.window_secs.max(1);
        if !r.ok {
            let why = r.error.clone().unwrap_or_default();
            if self.filter.is_some() && (why.starts_with("filter") || why.contains("@include")) {
                // The server refused the filter: back to none, said in place.
                self.filter_error = Some(why);
                self.filter = None;
            } else {
                self.status = Some(why);
            }
            return;
        }
        self.status = None;
        self.last = Some(r);
    }

    /// Handles a key.
    pub fn key(&mut self, k: KeyEvent) -> Action {
        if let Some(text) = &mut self.editing {
            match k.code {
                KeyCode::Enter => {
                    let t = text.trim().to_string();
                    self.editing = None;
                    if t.is_empty() {
                        self.filter = None;
                        self.filter_error = None;
                        return Action::Refresh;
                    }
                    // Checked here first: the error shows at once, in place.
                    match floe_live::client_filter(&t) {
                        Ok(_) => {
                            self.filter = Some(t);
                            self.filter_error = None;
                        }
                        Err(e) => {
                            self.filter_error = Some(e);
                            self.editing = Some(t);
                        }
                    }
                    return Action::Refresh;
                }
                KeyCode::Esc => {
                    self.editing = None;
                    self.filter_error = None;
                }
                KeyCode::Backspace => {
                    text.pop();
                }
                KeyCode::Char('u') if k.modifiers.contains(KeyModifiers::CONTROL) => text.clear(),
                KeyCode::Char(c) if text.len() < 1000 => text.push(c),
                _ => {}
            }
            return Action::None;
        }
        if k.modifiers.contains(KeyModifiers::CONTROL) && k.code == KeyCode::Char('c') {
            return Action::Quit;
        }
        match k.code {
            KeyCode::Char('q') | KeyCode::Esc => return Action::Quit,
            KeyCode::Char(c @ '1'..='6') => {
                self.tab = Tab::ALL[(c as u8 - b'1') as usize];
            }
            KeyCode::Tab | KeyCode::Right => {
                let i = Tab::ALL.iter().position(|t| *t == self.tab).unwrap_or(0);
                self.tab = Tab::ALL[(i + 1) % Tab::ALL.len()];
            }
            KeyCode::BackTab | KeyCode::Left => {
                let i = Tab::ALL.iter().position(|t| *t == self.tab).unwrap_or(0);
                self.tab = Tab::ALL[(i + Tab::ALL.len() - 1) % Tab::ALL.len()];
            }
            KeyCode::Char('s') => self.show_talkers(TalkerKey::Src),
            KeyCode::Char('d') => self.show_talkers(TalkerKey::Dst),
            KeyCode::Char('p') => self.show_talkers(TalkerKey::Pair),
            KeyCode::Char('a') => self.show_talkers(TalkerKey::SrcAs),
            KeyCode::Char('A') => self.show_talkers(TalkerKey::DstAs),
            KeyCode::Char('S') => self.show_talkers(TalkerKey::SrcByFlows),
            KeyCode::Char('D') => self.show_talkers(TalkerKey::DstByFlows),
            KeyCode::Char('b') => self.sort = Sort::Bytes,
            KeyCode::Char('k') => self.sort = Sort::Packets,
            KeyCode::Char('f') => self.sort = Sort::Flows,
            KeyCode::Char('w') => {
                let next = WINDOWS
                    .iter()
                    .copied()
                    .find(|w| *w > self.window && *w <= self.server_window)
                    .unwrap_or(WINDOWS[0]);
                self.window = next;
                return Action::Refresh;
            }
            KeyCode::Char('/') => {
                self.editing = Some(self.filter.clone().unwrap_or_default());
            }
            KeyCode::Char('n') => self.names.names = !self.names.names,
            KeyCode::Char('r') => {
                self.names.dns = match self.names.dns {
                    Some(_) => None,
                    None => Some(Dns::start()),
                };
            }
            KeyCode::Char('x') => {
                self.scale = !self.scale;
                return Action::Refresh;
            }
            KeyCode::Char('e') => {
                self.spread = !self.spread;
                return Action::Refresh;
            }
            _ => return Action::None,
        }
        Action::None
    }

    fn show_talkers(&mut self, k: TalkerKey) {
        self.tab = Tab::Talkers;
        self.talkers = k;
    }
}
