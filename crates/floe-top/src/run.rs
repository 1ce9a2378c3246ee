//! The interactive loop: the terminal in raw mode on the alternate
//! screen, the live view asked once a second (and at once when a key
//! changes the question), the screen redrawn, keys handled; the terminal
//! given back as it was however the loop ends.

use std::io::Stdout;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crossterm::event::{self, Event, KeyEventKind};
use crossterm::terminal::{
    disable_raw_mode, enable_raw_mode, EnterAlternateScreen, LeaveAlternateScreen,
};
use crossterm::ExecutableCommand;
use floe_live::{Client, ClientError};
use ratatui::backend::CrosstermBackend;
use ratatui::Terminal;

use crate::app::{Action, App};
use crate::render::draw;

/// Why `floe top` stopped.
#[derive(Debug, thiserror::Error)]
pub enum TopError {
    /// Talking to the live view failed.
    #[error(transparent)]
    Live(#[from] ClientError),
    /// Drawing on or reading from the terminal failed.
    #[error("the terminal: {0}")]
    Terminal(#[from] std::io::Error),
}

/// What the interactive screen starts with.
#[derive(Clone, Debug)]
pub struct Options {
    /// The live view's socket.
    pub socket: PathBuf,
    /// Seconds shown at first.
    pub window: u32,
    /// The filter to start with.
    pub filter: Option<String>,
    /// How often the live view is asked.
    pub every: Duration,
}

/// Puts the terminal back when dropped (also when a panic unwinds).
struct Screen {
    terminal: Terminal<CrosstermBackend<Stdout>>,
}

impl Screen {
    fn open() -> std::io::Result<Screen> {
        enable_raw_mode()?;
        let mut out = std::io::stdout();
        if let Err(e) = out.execute(EnterAlternateScreen) {
            let _ = disable_raw_mode();
            return Err(e);
        }
        let terminal = Terminal::new(CrosstermBackend::new(out))?;
        Ok(Screen { terminal })
    }
}

impl Drop for Screen {
    fn drop(&mut self) {
        let _ = disable_raw_mode();
        let _ = self.terminal.backend_mut().execute(LeaveAlternateScreen);
        let _ = self.terminal.show_cursor();
    }
}

/// Runs the screen until the user quits.
pub fn run(opts: &Options) -> Result<(), TopError> {
    // Said before the screen takes the terminal: no floed, no socket, no
    // permission.
    let mut client = Some(Client::connect(&opts.socket)?);
    let mut app = App::new(opts.socket.display().to_string());
    app.window = opts.window;
    app.filter = opts.filter.clone();
    let mut screen = Screen::open()?;
    let mut due = Instant::now();
    loop {
        if Instant::now() >= due {
            due = Instant::now() + opts.every;
            ask(&mut client, &opts.socket, &mut app);
        }
        screen.terminal.draw(|f| draw(f, &mut app))?;
        let wait = due.saturating_duration_since(Instant::now());
        if event::poll(wait)? {
            if let Event::Key(k) = event::read()? {
                if k.kind == KeyEventKind::Release {
                    continue;
                }
                match app.key(k) {
                    Action::Quit => return Ok(()),
                    Action::Refresh => due = Instant::now(),
                    Action::None => {}
                }
            }
        }
    }
}

/// Asks the live view, reconnecting when floed went away.
fn ask(client: &mut Option<Client>, path: &Path, app: &mut App) {
    if client.is_none() {
        *client = Client::connect(path).ok();
    }
    let Some(c) = client else {
        app.status = Some("floed is not answering; trying again every second".into());
        return;
    };
    match c.ask(&app.request()) {
        Ok(r) => app.answer(r),
        Err(e) => {
            app.status = Some(format!("{e}; reconnecting"));
            *client = None;
        }
    }
}
