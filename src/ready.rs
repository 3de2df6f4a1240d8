//! Readiness of a long-running command (a sidecar): the probes that decide when
//! baton writes `--ready-file`, so that other containers can wait for a
//! sidecar that really serves rather than one that merely started.
//!
//! A probe is `tcp:HOST:PORT` (a connection is accepted), `http://HOST:PORT/PATH`
//! (an HTTP/1.1 GET answered 2xx or 3xx; no TLS), `exec:COMMAND ARG…` (exits 0)
//! or `file:PATH` (exists). HOST is an IP address or `localhost`: there are no
//! DNS lookups in a static binary that must not touch NSS.

use std::ffi::OsString;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use nix::sys::signal::Signal;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::child;
use crate::exit_code::ChildExit;
use crate::output::Pipes;
use crate::reap::Reaper;

/// The longest a single probe may take, unless the interval is longer.
const MIN_PROBE_TIMEOUT: Duration = Duration::from_secs(1);

/// One readiness probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Probe {
    Tcp(SocketAddr),
    Http {
        addr: SocketAddr,
        host: String,
        path: String,
    },
    Exec(Vec<OsString>),
    File(PathBuf),
}

impl fmt::Display for Probe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Tcp(addr) => write!(f, "tcp:{addr}"),
            Self::Http { host, path, .. } => write!(f, "http://{host}{path}"),
            Self::Exec(argv) => {
                let words: Vec<_> = argv.iter().map(|w| w.to_string_lossy()).collect();
                write!(f, "exec:{}", words.join(" "))
            }
            Self::File(path) => write!(f, "file:{}", path.display()),
        }
    }
}

/// Parses a probe spec (`--ready-probe`).
pub fn parse_probe(spec: &str) -> Result<Probe, String> {
    let fail = |why: &str| {
        format!(
            "invalid probe {spec:?}: {why} (expected tcp:HOST:PORT, http://HOST:PORT/PATH, \
             exec:COMMAND ARG..., exec-json:[\"COMMAND\",\"ARG\"...], or file:PATH)"
        )
    };
    if let Some(rest) = spec.strip_prefix("tcp:") {
        return parse_addr(rest).map(Probe::Tcp).map_err(|why| fail(&why));
    }
    if let Some(rest) = spec.strip_prefix("http://") {
        let (authority, path) = match rest.find('/') {
            Some(i) => rest.split_at(i),
            None => (rest, "/"),
        };
        let addr = parse_addr(authority).map_err(|why| fail(&why))?;
        return Ok(Probe::Http {
            addr,
            host: authority.to_owned(),
            path: path.to_owned(),
        });
    }
    if spec.starts_with("https://") {
        return Err(fail("TLS is not supported"));
    }
    if let Some(rest) = spec.strip_prefix("exec-json:") {
        // The exact argv, as a Kubernetes exec probe gives it: words with
        // spaces in them pass as they are.
        let argv: Vec<String> = serde_json::from_str(rest)
            .map_err(|err| fail(&format!("not a JSON array of strings: {err}")))?;
        if argv.is_empty() {
            return Err(fail("no command"));
        }
        return Ok(Probe::Exec(argv.into_iter().map(OsString::from).collect()));
    }
    if let Some(rest) = spec.strip_prefix("exec:") {
        let argv: Vec<OsString> = rest.split_whitespace().map(OsString::from).collect();
        if argv.is_empty() {
            return Err(fail("no command"));
        }
        return Ok(Probe::Exec(argv));
    }
    if let Some(rest) = spec.strip_prefix("file:") {
        if rest.is_empty() {
            return Err(fail("no path"));
        }
        return Ok(Probe::File(PathBuf::from(rest)));
    }
    Err(fail("unknown kind"))
}

/// `HOST:PORT` where HOST is an IP address (IPv6 in brackets) or `localhost`.
fn parse_addr(text: &str) -> Result<SocketAddr, String> {
    let (host, port) = text
        .rsplit_once(':')
        .ok_or_else(|| format!("{text:?} has no :PORT"))?;
    let port: u16 = port
        .parse()
        .map_err(|_| format!("{port:?} is not a port number"))?;
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    let ip: IpAddr = if host == "localhost" {
        IpAddr::V4(Ipv4Addr::LOCALHOST)
    } else {
        host.parse()
            .map_err(|_| format!("{host:?} is not an IP address or localhost (no DNS lookups)"))?
    };
    Ok(SocketAddr::new(ip, port))
}

/// Probes every `interval` until every probe passes in the same round.
pub async fn until_ready(probes: &[Probe], interval: Duration, reaper: &Reaper) {
    let timeout = interval.max(MIN_PROBE_TIMEOUT);
    loop {
        let mut all = true;
        for probe in probes {
            let passed = tokio::time::timeout(timeout, check(probe, reaper))
                .await
                .unwrap_or(false);
            tracing::debug!(%probe, passed, "probe");
            if !passed {
                all = false;
                break;
            }
        }
        if all {
            return;
        }
        tokio::time::sleep(interval).await;
    }
}

async fn check(probe: &Probe, reaper: &Reaper) -> bool {
    match probe {
        Probe::Tcp(addr) => TcpStream::connect(addr).await.is_ok(),
        Probe::Http { addr, host, path } => http_ok(*addr, host, path).await.unwrap_or(false),
        Probe::Exec(argv) => exec_ok(argv, reaper).await,
        Probe::File(path) => path.exists(),
    }
}

async fn http_ok(addr: SocketAddr, host: &str, path: &str) -> std::io::Result<bool> {
    let mut stream = TcpStream::connect(addr).await?;
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: baton\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await?;
    // The status line is all that matters: "HTTP/1.x NNN ...".
    let mut head = Vec::with_capacity(64);
    let mut buf = [0u8; 256];
    while !head.contains(&b'\n') && head.len() < 4096 {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let line = String::from_utf8_lossy(&head);
    let status = line
        .strip_prefix("HTTP/1.")
        .and_then(|rest| rest.get(2..5))
        .and_then(|code| code.parse::<u16>().ok());
    Ok(matches!(status, Some(200..=399)))
}

async fn exec_ok(argv: &[OsString], reaper: &Reaper) -> bool {
    let pid = match child::spawn(argv, &[], Pipes::default(), None) {
        Ok(pid) => pid,
        Err(failure) => {
            tracing::warn!("exec probe: {failure}");
            return false;
        }
    };
    reaper.follow(pid);
    // Killed if the probe is abandoned (timeout, or the step ending).
    let _guard = Abandon { pid, reaper };
    reaper.exited(pid).await == ChildExit::Exited(0)
}

/// Ends a probe whose future is dropped: unless the reaper already has its
/// status (its pid may then be reused), its process group is killed; either
/// way the reaper stops following it.
struct Abandon<'a> {
    pid: nix::unistd::Pid,
    reaper: &'a Reaper,
}

impl Drop for Abandon<'_> {
    fn drop(&mut self) {
        if self.reaper.unfollow(self.pid) {
            child::signal_group(self.pid, Signal::SIGKILL);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{parse_probe, Probe};

    #[test]
    fn specs() {
        assert_eq!(
            parse_probe("tcp:127.0.0.1:8080"),
            Ok(Probe::Tcp("127.0.0.1:8080".parse().unwrap()))
        );
        assert_eq!(
            parse_probe("tcp:localhost:80"),
            Ok(Probe::Tcp("127.0.0.1:80".parse().unwrap()))
        );
        assert_eq!(
            parse_probe("tcp:[::1]:9"),
            Ok(Probe::Tcp("[::1]:9".parse().unwrap()))
        );
        assert_eq!(
            parse_probe("http://localhost:8080/healthz?x=1"),
            Ok(Probe::Http {
                addr: "127.0.0.1:8080".parse().unwrap(),
                host: "localhost:8080".into(),
                path: "/healthz?x=1".into()
            })
        );
        assert_eq!(
            parse_probe("exec:test -s /etc/conf"),
            Ok(Probe::Exec(vec![
                "test".into(),
                "-s".into(),
                "/etc/conf".into()
            ]))
        );
        assert_eq!(parse_probe("file:/x"), Ok(Probe::File("/x".into())));
        assert_eq!(
            parse_probe(r#"exec-json:["sh","-c","test -f /x"]"#),
            Ok(Probe::Exec(vec![
                "sh".into(),
                "-c".into(),
                "test -f /x".into()
            ]))
        );
        assert!(parse_probe("exec-json:[]").is_err());
        assert!(parse_probe("exec-json:sh -c x")
            .unwrap_err()
            .contains("JSON array"));
    }

    #[test]
    fn bad_specs_name_themselves() {
        for bad in [
            "tcp:example.com:80",
            "tcp:1.2.3.4",
            "http://h:x/",
            "https://1.2.3.4:1/",
            "exec:",
            "udp:1:2",
            "file:",
        ] {
            let err = parse_probe(bad).unwrap_err();
            assert!(err.contains(bad), "{err}");
        }
    }
}
