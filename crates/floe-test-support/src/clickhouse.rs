//! A real ClickHouse server for a test: Debian's `clickhouse-server`
//! started as a plain process on 127.0.0.1, with a configuration and a
//! data directory of its own in a temporary directory (no system service,
//! nothing shared with another test), stopped and removed when dropped.
//!
//! ```no_run
//! let Some(mut ch) = floe_test_support::clickhouse::Server::start() else {
//!     return; // said why with skip()
//! };
//! let url = ch.url(); // http://127.0.0.1:PORT
//! ch.restart();       // stop (SIGTERM) and start again on the same data
//! ```

use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Where Debian puts the server (`/usr/sbin` is not on a user's `PATH`).
pub fn server_binary() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default();
    on_path
        .into_iter()
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/usr/bin")])
        .map(|d| d.join("clickhouse-server"))
        .find(|p| p.is_file())
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port on 127.0.0.1")
}

/// A running server.
pub struct Server {
    dir: tempfile::TempDir,
    binary: PathBuf,
    http_port: u16,
    child: Option<Child>,
}

impl Server {
    /// Starts a server, or records a skip (via [`crate::skip`]) and returns
    /// `None` when `clickhouse-server` is not installed.
    #[track_caller]
    pub fn start() -> Option<Server> {
        let Some(binary) = server_binary() else {
            crate::skip("clickhouse-server is not installed (tests/prerequisites.md: apt clickhouse-server)");
            return None;
        };
        let dir = tempfile::Builder::new()
            .prefix("floe-clickhouse-")
            .tempdir()
            .expect("a temporary directory");
        let http_port = free_port();
        let (tcp, inter) = (free_port(), free_port());
        let root = dir.path();
        for d in ["data", "tmp", "log", "user_files", "format_schemas"] {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        let p = |s: &str| root.join(s).display().to_string();
        std::fs::write(
            root.join("config.xml"),
            format!(
                r#"<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>{log}</log><errorlog>{err}</errorlog><size>10M</size><count>1</count><console>0</console></logger>
  <http_port>{http_port}</http_port>
  <tcp_port>{tcp}</tcp_port>
  <interserver_http_port>{inter}</interserver_http_port>
  <listen_host>127.0.0.1</listen_host>
  <path>{data}/</path>
  <tmp_path>{tmp}/</tmp_path>
  <user_files_path>{uf}/</user_files_path>
  <format_schema_path>{fs}/</format_schema_path>
  <users_config>{users}</users_config>
  <mark_cache_size>67108864</mark_cache_size>
  <uncompressed_cache_size>67108864</uncompressed_cache_size>
  <max_concurrent_queries>50</max_concurrent_queries>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <shutdown_wait_unfinished>0</shutdown_wait_unfinished>
</yandex>
"#,
                log = p("log/server.log"),
                err = p("log/error.log"),
                data = p("data"),
                tmp = p("tmp"),
                uf = p("user_files"),
                fs = p("format_schemas"),
                users = p("users.xml"),
            ),
        )
        .unwrap();
        std::fs::write(
            root.join("users.xml"),
            r#"<?xml version="1.0"?>
<yandex>
  <profiles><default><max_memory_usage>2000000000</max_memory_usage></default></profiles>
  <users>
    <default><password></password><networks><ip>127.0.0.1</ip><ip>::1</ip></networks><profile>default</profile><quota>default</quota></default>
    <floe><password>s3cr3t'"\pw</password><networks><ip>127.0.0.1</ip></networks><profile>default</profile><quota>default</quota></floe>
  </users>
  <quotas><default></default></quotas>
</yandex>
"#,
        )
        .unwrap();
        let mut s = Server {
            dir,
            binary,
            http_port,
            child: None,
        };
        s.spawn();
        Some(s)
    }

    fn spawn(&mut self) {
        let log = std::fs::File::create(self.dir.path().join("log/stdout.log")).unwrap();
        let child = Command::new(&self.binary)
            .arg(format!(
                "--config-file={}",
                self.dir.path().join("config.xml").display()
            ))
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", self.binary.display()));
        self.child = Some(child);
        let started = Instant::now();
        while !self.ping() {
            if let Some(Ok(Some(st))) = self.child.as_mut().map(|c| c.try_wait()) {
                panic!("clickhouse-server exited ({st}): {}", self.logs());
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "clickhouse-server did not answer within 60 s: {}",
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The server's log files, for a failing test's message.
    pub fn logs(&self) -> String {
        let mut out = String::new();
        for f in ["log/stdout.log", "log/error.log"] {
            let _ = std::fs::File::open(self.dir.path().join(f))
                .and_then(|mut x| x.read_to_string(&mut out));
        }
        out.chars()
            .rev()
            .take(4000)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect()
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.http_port)
    }

    /// The server's HTTP port.
    pub fn http_port(&self) -> u16 {
        self.http_port
    }

    /// The server's directory (configuration, data, logs).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The user `floe` has this password (quotes and a backslash in it).
    pub const PASSWORD: &'static str = "s3cr3t'\"\\pw";

    fn ping(&self) -> bool {
        let Ok(mut s) = TcpStream::connect(("127.0.0.1", self.http_port)) else {
            return false;
        };
        let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
        use std::io::Write;
        if s.write_all(b"GET /ping HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
            .is_err()
        {
            return false;
        }
        let mut a = String::new();
        let _ = s.read_to_string(&mut a);
        a.ends_with("Ok.\n")
    }

    /// Runs a query (POSTed) and returns the answer; panics on an error.
    pub fn query(&self, sql: &str) -> String {
        let mut s = TcpStream::connect(("127.0.0.1", self.http_port)).expect("connect");
        let _ = s.set_read_timeout(Some(Duration::from_secs(60)));
        use std::io::Write;
        write!(
            s,
            "POST / HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\n\r\n{sql}",
            sql.len()
        )
        .unwrap();
        let mut a = String::new();
        s.read_to_string(&mut a).unwrap();
        let (head, body) = a.split_once("\r\n\r\n").unwrap_or((&a, ""));
        assert!(
            head.starts_with("HTTP/1.0 200") || head.starts_with("HTTP/1.1 200"),
            "{sql}: {head}\n{body}"
        );
        body.to_string()
    }

    /// Stops the server with SIGTERM and waits for it.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(c.id().to_string())
                .status();
            let started = Instant::now();
            loop {
                if let Ok(Some(_)) = c.try_wait() {
                    break;
                }
                if started.elapsed() > Duration::from_secs(30) {
                    let _ = c.kill();
                    let _ = c.wait();
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }

    /// Stalls the server (SIGSTOP): the kernel still takes connections
    /// and requests, nothing answers them, until [`Server::resume`].
    pub fn pause(&self) {
        self.signal("-STOP");
    }

    /// Lets a paused server go on (SIGCONT).
    pub fn resume(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, which: &str) {
        if let Some(c) = &self.child {
            let _ = Command::new("kill")
                .arg(which)
                .arg(c.id().to_string())
                .status();
        }
    }

    /// Kills the server (SIGKILL).
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts it again on the same data and ports.
    pub fn start_again(&mut self) {
        assert!(self.child.is_none(), "the server is running");
        self.spawn();
    }

    /// Stops and starts it.
    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
        // A server's data is tens of thousands of small files (a part per
        // insert and table): removing them can take longer than the test,
        // so it is left to an rm of its own that outlives the test.
        let dir = std::mem::replace(
            &mut self.dir,
            tempfile::Builder::new()
                .prefix("floe-clickhouse-")
                .tempdir()
                .expect("a temporary directory"),
        );
        let path = dir.keep();
        let _ = Command::new("rm")
            .arg("-rf")
            .arg(&path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
    }
}

/// ClickHouse 26 in process (PyPI `chdb-core`) behind the part of the HTTP
/// interface floe uses (`chdb_http.py`): the current engine, for the
/// modern schema and the SQL of `floe report --clickhouse`.
pub struct Chdb {
    dir: tempfile::TempDir,
    port: u16,
    child: Child,
}

impl Chdb {
    /// Starts it, or records a skip and returns `None` when the tests'
    /// Python has no `chdb` module.
    #[track_caller]
    pub fn start() -> Option<Chdb> {
        let py = crate::python3();
        let has = Command::new(&py)
            .args(["-c", "import chdb"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !has {
            crate::skip(format!(
                "{} has no chdb module (tests/prerequisites.md: pip chdb-core)",
                py.display()
            ));
            return None;
        }
        let dir = tempfile::Builder::new()
            .prefix("floe-chdb-")
            .tempdir()
            .expect("a temporary directory");
        let script = dir.path().join("chdb_http.py");
        std::fs::write(&script, include_str!("chdb_http.py")).unwrap();
        let data = dir.path().join("data");
        std::fs::create_dir_all(&data).unwrap();
        let port_file = dir.path().join("port");
        let log = std::fs::File::create(dir.path().join("log")).unwrap();
        let child = Command::new(&py)
            .arg(&script)
            .arg(&data)
            .arg(&port_file)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start the chdb shim");
        let mut c = Chdb {
            dir,
            port: 0,
            child,
        };
        let started = Instant::now();
        loop {
            if let Ok(p) = std::fs::read_to_string(&port_file) {
                c.port = p.trim().parse().unwrap();
                break;
            }
            if let Ok(Some(st)) = c.child.try_wait() {
                panic!(
                    "the chdb shim exited ({st}): {}",
                    std::fs::read_to_string(c.dir.path().join("log")).unwrap_or_default()
                );
            }
            assert!(
                started.elapsed() < Duration::from_secs(120),
                "the chdb shim did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(c)
    }

    /// `http://127.0.0.1:PORT` of the shim's HTTP endpoint.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Runs a query and returns the answer; panics on an error.
    pub fn query(&self, sql: &str) -> String {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).expect("connect");
        let _ = s.set_read_timeout(Some(Duration::from_secs(120)));
        use std::io::Write;
        write!(
            s,
            "POST / HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{sql}",
            sql.len()
        )
        .unwrap();
        let mut a = String::new();
        s.read_to_string(&mut a).unwrap();
        let (head, body) = a.split_once("\r\n\r\n").unwrap_or((&a, ""));
        assert!(head.contains(" 200 "), "{sql}: {head}\n{body}");
        body.to_string()
    }
}

impl Drop for Chdb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
