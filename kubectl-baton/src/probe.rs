//! A sidecar's readiness, from its own Kubernetes probe: the `startupProbe`,
//! or else the `readinessProbe`, turned into baton's `--ready-probe` spec,
//! which baton checks from inside the pod (the kubelet's probes stay as they
//! are):
//!
//! - `tcpSocket` → `tcp:HOST:PORT`;
//! - `httpGet` → `http://HOST:PORT/PATH` (HTTP only: an `HTTPS` probe is
//!   checked as `tcp:` on its port, with a note);
//! - `grpc` → `tcp:` on its port, with a note (baton speaks no gRPC);
//! - `exec` → `exec:COMMAND ARG…`, or, when a word holds white space or is
//!   empty (`sh -c "…"`), `exec-json:[…]`, which baton passes exactly
//!   (`exec:` splits its words on white space).
//!
//! HOST is `127.0.0.1` (the pod's containers share its network), or the
//! probe's `host` when that is an IP address; a host name is an error (baton
//! does no DNS). A named port is resolved against the container's `ports`.

use std::net::IpAddr;

use crate::value::Value;

/// A probe turned into baton's spec, with what the turning lost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ready {
    /// The `--ready-probe` spec; none when the container has no probe
    /// (ready once started).
    pub spec: Option<String>,
    /// What a user should know (a fallback to tcp, headers not sent).
    pub notes: Vec<String>,
}

/// The readiness of `container` (a sidecar named `name`).
pub fn ready(name: &str, container: &Value) -> Result<Ready, String> {
    let (field, probe) = match (
        container.get("startupProbe"),
        container.get("readinessProbe"),
    ) {
        (Some(p), _) if p != &Value::Null => ("startupProbe", p),
        (_, Some(p)) if p != &Value::Null => ("readinessProbe", p),
        _ => {
            return Ok(Ready {
                spec: None,
                notes: Vec::new(),
            })
        }
    };
    let what = format!("sidecar {name:?}: its {field}");
    let mut notes = Vec::new();
    let port_of = |probe: &Value| -> Result<u16, String> {
        let port = probe
            .get("port")
            .ok_or_else(|| format!("{what} has no port"))?;
        resolve_port(container, port).map_err(|why| format!("{what}: {why}"))
    };
    let host_of = |probe: &Value| -> Result<String, String> {
        match probe.str_at("host").filter(|h| !h.is_empty()) {
            None => Ok("127.0.0.1".to_owned()),
            Some(host) => match host.parse::<IpAddr>() {
                Ok(IpAddr::V4(ip)) => Ok(ip.to_string()),
                Ok(IpAddr::V6(ip)) => Ok(format!("[{ip}]")),
                Err(_) => Err(format!(
                    "{what} names the host {host:?}, and baton probes IP addresses only (no DNS)"
                )),
            },
        }
    };
    let spec = if let Some(tcp) = probe.get("tcpSocket") {
        format!("tcp:{}:{}", host_of(tcp)?, port_of(tcp)?)
    } else if let Some(http) = probe.get("httpGet") {
        let (host, port) = (host_of(http)?, port_of(http)?);
        let scheme = http.str_at("scheme").unwrap_or("HTTP");
        if scheme.eq_ignore_ascii_case("HTTPS") {
            notes.push(format!(
                "{what} is HTTPS, which baton's probe does not speak: checked as tcp:{host}:{port}"
            ));
            format!("tcp:{host}:{port}")
        } else {
            if http
                .get("httpHeaders")
                .and_then(Value::as_seq)
                .is_some_and(|h| !h.is_empty())
            {
                notes.push(format!(
                    "{what} sends HTTP headers, which baton's probe does not send"
                ));
            }
            let path = http.str_at("path").unwrap_or("/");
            if path.chars().any(char::is_whitespace) {
                return Err(format!("{what}: the path {path:?} holds white space"));
            }
            let slash = if path.starts_with('/') { "" } else { "/" };
            format!("http://{host}:{port}{slash}{path}")
        }
    } else if let Some(grpc) = probe.get("grpc") {
        let port = port_of(grpc)?;
        notes.push(format!(
            "{what} is gRPC, which baton's probe does not speak: checked as tcp:127.0.0.1:{port}"
        ));
        format!("tcp:127.0.0.1:{port}")
    } else if let Some(exec) = probe.get("exec") {
        let words = exec
            .get("command")
            .and_then(Value::as_seq)
            .filter(|w| !w.is_empty())
            .ok_or_else(|| format!("{what} has no exec command"))?;
        let mut out = Vec::new();
        for word in words {
            let word = word
                .as_str()
                .ok_or_else(|| format!("{what}: its exec command is not a list of strings"))?;
            out.push(word);
        }
        // `exec:` splits on white space; words that hold some (or none at
        // all) pass exactly as `exec-json:`.
        if out
            .iter()
            .any(|w| w.is_empty() || w.chars().any(char::is_whitespace))
        {
            let words = serde_json::to_string(&out).expect("strings are JSON");
            format!("exec-json:{words}")
        } else {
            format!("exec:{}", out.join(" "))
        }
    } else {
        return Err(format!(
            "{what} has none of tcpSocket, httpGet, grpc or exec"
        ));
    };
    Ok(Ready {
        spec: Some(spec),
        notes,
    })
}

/// A probe's port: a number, or the name of one of the container's ports.
fn resolve_port(container: &Value, port: &Value) -> Result<u16, String> {
    match port {
        Value::Int(n) => u16::try_from(*n)
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| format!("{n} is no port number")),
        Value::String(name) => {
            let ports = container.get("ports").and_then(Value::as_seq);
            ports
                .into_iter()
                .flatten()
                .find(|p| p.str_at("name") == Some(name))
                .and_then(|p| match p.get("containerPort") {
                    Some(Value::Int(n)) => u16::try_from(*n).ok(),
                    _ => None,
                })
                .ok_or_else(|| format!("the named port {name:?} is none of the container's ports"))
        }
        _ => Err("its port is neither a number nor a name".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::ready;
    use crate::value::Value;

    fn container(yaml: &str) -> Value {
        serde_saphyr::from_str(yaml).unwrap()
    }

    fn spec(yaml: &str) -> Option<String> {
        ready("s", &container(yaml)).unwrap().spec
    }

    #[test]
    fn each_kind_of_probe() {
        assert_eq!(spec("name: s\n"), None);
        assert_eq!(
            spec("readinessProbe: {tcpSocket: {port: 5432}}"),
            Some("tcp:127.0.0.1:5432".into())
        );
        assert_eq!(
            spec("ports: [{name: web, containerPort: 8080}]\nreadinessProbe: {httpGet: {path: /healthz, port: web}}"),
            Some("http://127.0.0.1:8080/healthz".into())
        );
        assert_eq!(
            spec("startupProbe: {exec: {command: [cat, /tmp/ready]}}\nreadinessProbe: {tcpSocket: {port: 1}}"),
            Some("exec:cat /tmp/ready".into())
        );
        assert_eq!(
            spec("readinessProbe: {tcpSocket: {port: 9, host: '::1'}}"),
            Some("tcp:[::1]:9".into())
        );
    }

    #[test]
    fn https_and_grpc_fall_back_to_tcp_with_a_note() {
        let r = ready(
            "s",
            &container("readinessProbe: {httpGet: {port: 8443, scheme: HTTPS}}"),
        )
        .unwrap();
        assert_eq!(r.spec, Some("tcp:127.0.0.1:8443".into()));
        assert!(r.notes[0].contains("HTTPS"), "{:?}", r.notes);
        let r = ready("s", &container("readinessProbe: {grpc: {port: 9090}}")).unwrap();
        assert_eq!(r.spec, Some("tcp:127.0.0.1:9090".into()));
        assert!(r.notes[0].contains("gRPC"), "{:?}", r.notes);
    }

    /// Words with white space in them pass exactly, as `exec-json:`, and the
    /// in-pod baton reads them back as they were.
    #[test]
    fn exec_words_with_spaces_pass_as_exec_json() {
        let probe = ready(
            "s",
            &container("readinessProbe: {exec: {command: [sh, -c, 'test -f /x']}}"),
        )
        .unwrap();
        let spec = probe.spec.unwrap();
        assert_eq!(spec, r#"exec-json:["sh","-c","test -f /x"]"#);
        assert_eq!(
            baton::ready::parse_probe(&spec).unwrap(),
            baton::ready::Probe::Exec(vec!["sh".into(), "-c".into(), "test -f /x".into()])
        );
    }

    #[test]
    fn what_cannot_be_passed_exactly_is_an_error() {
        for yaml in [
            "readinessProbe: {tcpSocket: {port: 1, host: db.example}}",
            "readinessProbe: {tcpSocket: {port: web}}",
        ] {
            let err = ready("s", &container(yaml)).unwrap_err();
            assert!(
                err.starts_with("sidecar \"s\": its readinessProbe"),
                "{err}"
            );
        }
    }
}
