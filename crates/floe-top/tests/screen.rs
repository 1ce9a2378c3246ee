//! The screen drawn on ratatui's test backend at 80x24 and 200x60, from a
//! live view fed with known flows; keys switch tabs, sort and filter.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use floe_flow::Flow;
use floe_live::{LiveView, Request, ViewConfig};
use floe_top::{draw, Action, App, Tab};
use ratatui::backend::TestBackend;
use ratatui::Terminal;

const T0: i64 = 1_795_305_600_000;

fn view() -> LiveView {
    let mut v = LiveView::new(ViewConfig::default());
    for s in 0..20i64 {
        let t = T0 + s * 1000;
        let mk = |src: &str, dst: &str, proto: u8, port: u16, p: u64, o: u64, flags: u16| Flow {
            start_ms: t - 3000,
            end_ms: t - 1000,
            exporter: "192.0.2.250".parse().unwrap(),
            src_addr: src.parse().unwrap(),
            dst_addr: dst.parse().unwrap(),
            protocol: proto,
            dst_port: port,
            src_port: 50000,
            packets: p,
            octets: o,
            tcp_flags: flags,
            src_as: 64500,
            ..Flow::default()
        };
        v.record(
            &[
                mk("10.0.0.1", "192.0.2.1", 6, 443, 100, 150_000, 0x18),
                mk("10.0.0.2", "192.0.2.2", 17, 53, 1, 80, 0),
                mk("203.0.113.9", "192.0.2.3", 6, 22, 1, 60, 0x02),
            ],
            t,
        );
    }
    v
}

fn key(c: char) -> KeyEvent {
    KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)
}

fn screen(app: &mut App, w: u16, h: u16) -> String {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| draw(f, app)).unwrap();
    let buf = t.backend().buffer().clone();
    let mut out = String::new();
    for y in 0..h {
        for x in 0..w {
            out.push_str(buf[(x, y)].symbol());
        }
        out.push('\n');
    }
    out
}

fn app_with(v: &mut LiveView, req: Request) -> App {
    let mut app = App::new("/tmp/test.sock".into());
    app.answer(v.answer(&req, T0 + 19_500));
    app
}

#[test]
fn every_tab_fits_80x24_and_200x60() {
    let mut v = view();
    let mut app = app_with(
        &mut v,
        Request {
            window: Some(60),
            ..Request::default()
        },
    );
    for (w, h) in [(80, 24), (200, 60)] {
        let s = screen(&mut app, w, h);
        assert!(s.contains("floe top"), "{s}");
        assert!(s.contains("Top talkers: Source"), "{s}");
        assert!(s.contains("10.0.0.1"), "{s}");
        assert!(s.contains("1 Talkers") && s.contains("6 Exporters"), "{s}");
        assert!(s.contains(" q quit"), "{s}");
        // The heaviest first: 10.0.0.1 above 203.0.113.9.
        assert!(s.find("10.0.0.1").unwrap() < s.find("203.0.113.9").unwrap());
    }
    app.key(key('2'));
    assert_eq!(app.tab, Tab::Ports);
    let s = screen(&mut app, 200, 60);
    assert!(s.contains("TCP/443 (https)"), "{s}");
    assert!(s.contains("UDP/53 (domain)"), "{s}");
    app.key(key('n'));
    let s = screen(&mut app, 200, 60);
    assert!(s.contains("6/443"), "numbers when names are off: {s}");
    app.key(key('n'));
    app.key(key('5'));
    let s = screen(&mut app, 80, 24);
    assert!(s.contains("SYN, no ACK"), "{s}");
    app.key(key('6'));
    let s = screen(&mut app, 200, 60);
    assert!(s.contains("192.0.2.250 /0"), "{s}");
    assert!(s.contains("1.0/1.0 s"), "export delay: {s}");
    app.key(key('a'));
    let s = screen(&mut app, 200, 60);
    assert!(s.contains("AS64500"), "{s}");
}

#[test]
fn sorting_and_scanners() {
    let mut v = view();
    let mut app = app_with(
        &mut v,
        Request {
            window: Some(60),
            ..Request::default()
        },
    );
    app.key(key('S'));
    let s = screen(&mut app, 200, 60);
    assert!(s.contains("Source (by flows)"), "{s}");
    app.key(key('s'));
    app.key(key('f'));
    let s = screen(&mut app, 200, 60);
    assert!(s.contains("Flows ▼"), "{s}");
}

#[test]
fn a_bad_filter_is_said_in_place_and_a_good_one_asked_for() {
    let mut app = App::new("/tmp/test.sock".into());
    app.key(key('/'));
    for c in "proto tcp and".chars() {
        app.key(key(c));
    }
    let a = app.key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
    assert_eq!(a, Action::Refresh);
    assert!(app.editing.is_some(), "still editing after an error");
    let s = screen(&mut app, 120, 24);
    assert!(s.contains("filter>") && s.contains("column"), "{s}");
    for _ in 0.."and".len() {
        app.key(KeyEvent::new(KeyCode::Backspace, KeyModifiers::NONE));
    }
    app.key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
    assert_eq!(app.filter.as_deref(), Some("proto tcp"));
    assert_eq!(app.request().filter.as_deref(), Some("proto tcp"));
    assert_eq!(app.key(key('w')), Action::Refresh);
    assert_eq!(app.key(key('q')), Action::Quit);
}

#[test]
fn tiny_and_odd_terminals_never_panic() {
    let mut v = view();
    let mut app = app_with(
        &mut v,
        Request {
            window: Some(60),
            ..Request::default()
        },
    );
    let mut empty = App::new("/tmp/test.sock".into());
    empty.status = Some("floed is not answering; trying again every second".into());
    for (w, h) in [
        (1, 1),
        (1, 2),
        (2, 1),
        (3, 3),
        (10, 4),
        (20, 8),
        (40, 2),
        (1, 60),
        (200, 1),
        (79, 23),
    ] {
        for c in ['1', '2', '3', '4', '5', '6', 'p', 'a', 'e'] {
            app.key(key(c));
            screen(&mut app, w, h);
            screen(&mut empty, w, h);
        }
        // Editing a filter, with its error.
        app.key(key('/'));
        for c in "proto tcp and".chars() {
            app.key(key(c));
        }
        app.key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
        screen(&mut app, w, h);
        app.key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE));
        assert!(app.rows < 200);
    }
    // The request asks for at least one row even when none fit.
    let r = app.request();
    assert!(r.n.unwrap() >= 1);
}
