//! Container probes executed for real against a process runtime's process: `httpGet` (HTTP/1.1,
//! success for a status in 200..400 as the kubelet counts it), `tcpSocket` (a connect) and
//! `exec` (the command run on this machine with the container's environment, success on exit
//! 0), each bounded by `timeoutSeconds`, spaced by `periodSeconds` after
//! `initialDelaySeconds`, and turned into a verdict by [`ProbeTracker`] with the kubelet's
//! `successThreshold` / `failureThreshold` rules.
//!
//! Parsing ([`Probe::from_spec`]) and the thresholds are pure; [`run_probe`] does the I/O.
//! `grpc` and `https` probes are not executed: they count as failures and the reason is logged
//! (docs/kubesim.md "Process runtimes").

use std::net::IpAddr;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// What a probe does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProbeAction {
    HttpGet {
        /// `host` of the probe, or the pod address when empty.
        host: Option<String>,
        port: u16,
        path: String,
        https: bool,
    },
    Tcp {
        host: Option<String>,
        port: u16,
    },
    Exec {
        command: Vec<String>,
    },
    /// A handler kubesim does not execute (`grpc`, or none at all).
    Unsupported {
        handler: String,
    },
}

/// A probe with the kubelet's defaults filled in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Probe {
    pub action: ProbeAction,
    pub initial_delay: Duration,
    pub period: Duration,
    pub timeout: Duration,
    pub success_threshold: u32,
    pub failure_threshold: u32,
}

/// Why a probe's port cannot be found.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProbeSpecError {
    #[error(
        "container {container:?}: probe port {port} is neither a number in 1..65535 nor the name \
         of one of the container's ports"
    )]
    Port { container: String, port: String },
}

fn seconds(spec: &Value, field: &str, default: u64, minimum: u64) -> Duration {
    let value = spec
        .get(field)
        .and_then(Value::as_u64)
        .unwrap_or(default)
        .max(minimum);
    Duration::from_secs(value)
}

fn count(spec: &Value, field: &str, default: u32) -> u32 {
    spec.get(field)
        .and_then(Value::as_u64)
        .and_then(|v| u32::try_from(v).ok())
        .unwrap_or(default)
        .max(1)
}

/// A number, or the name of one of the container's ports.
fn port(container: &Value, handler: &Value) -> Result<u16, ProbeSpecError> {
    let raw = handler.get("port").cloned().unwrap_or(Value::Null);
    let error = || ProbeSpecError::Port {
        container: container
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        port: match &raw {
            Value::String(s) => format!("{s:?}"),
            other => other.to_string(),
        },
    };
    match &raw {
        Value::Number(n) => n
            .as_u64()
            .and_then(|n| u16::try_from(n).ok())
            .filter(|n| *n > 0)
            .ok_or_else(error),
        Value::String(name) => container
            .get("ports")
            .and_then(Value::as_array)
            .and_then(|ports| {
                ports
                    .iter()
                    .find(|p| p.get("name").and_then(Value::as_str) == Some(name))
            })
            .and_then(|p| p.get("containerPort").and_then(Value::as_u64))
            .and_then(|n| u16::try_from(n).ok())
            .ok_or_else(error),
        _ => Err(error()),
    }
}

fn host(handler: &Value) -> Option<String> {
    handler
        .get("host")
        .and_then(Value::as_str)
        .filter(|h| !h.is_empty())
        .map(str::to_string)
}

impl Probe {
    /// The probe at `container[field]` (`readinessProbe`, `livenessProbe`, `startupProbe`);
    /// `None` when the container has none. `path_map` adapts HTTP paths for the runtime.
    pub fn from_spec(
        container: &Value,
        field: &str,
        path_map: &dyn Fn(&str) -> String,
    ) -> Result<Option<Probe>, ProbeSpecError> {
        let Some(spec) = container.get(field).filter(|p| p.is_object()) else {
            return Ok(None);
        };
        let action = if let Some(http) = spec.get("httpGet") {
            let path = http.get("path").and_then(Value::as_str).unwrap_or("/");
            ProbeAction::HttpGet {
                host: host(http),
                port: port(container, http)?,
                path: path_map(path),
                https: http.get("scheme").and_then(Value::as_str) == Some("HTTPS"),
            }
        } else if let Some(tcp) = spec.get("tcpSocket") {
            ProbeAction::Tcp {
                host: host(tcp),
                port: port(container, tcp)?,
            }
        } else if let Some(exec) = spec.get("exec") {
            ProbeAction::Exec {
                command: exec
                    .get("command")
                    .and_then(Value::as_array)
                    .map(|c| {
                        c.iter()
                            .map(|w| w.as_str().unwrap_or_default().to_string())
                            .collect()
                    })
                    .unwrap_or_default(),
            }
        } else {
            ProbeAction::Unsupported {
                handler: spec
                    .as_object()
                    .and_then(|o| o.keys().find(|k| *k == "grpc").cloned())
                    .unwrap_or_else(|| "none".into()),
            }
        };
        Ok(Some(Probe {
            action,
            initial_delay: seconds(spec, "initialDelaySeconds", 0, 0),
            period: seconds(spec, "periodSeconds", 10, 1),
            timeout: seconds(spec, "timeoutSeconds", 1, 1),
            success_threshold: count(spec, "successThreshold", 1),
            failure_threshold: count(spec, "failureThreshold", 3),
        }))
    }
}

/// The verdict of a probe over its results: it flips to success after `success_threshold`
/// consecutive successes and to failure after `failure_threshold` consecutive failures.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProbeTracker {
    success_threshold: u32,
    failure_threshold: u32,
    verdict: bool,
    streak: u32,
}

impl ProbeTracker {
    /// `initial`: the verdict before any result (readiness and startup start failed, liveness
    /// starts succeeded, as in the kubelet).
    pub fn new(probe: &Probe, initial: bool) -> ProbeTracker {
        ProbeTracker {
            success_threshold: probe.success_threshold,
            failure_threshold: probe.failure_threshold,
            verdict: initial,
            streak: 0,
        }
    }

    pub fn verdict(&self) -> bool {
        self.verdict
    }

    /// Records one result; returns the new verdict when it changed.
    pub fn record(&mut self, success: bool) -> Option<bool> {
        if success == self.verdict {
            self.streak = 0;
            return None;
        }
        self.streak += 1;
        let threshold = if success {
            self.success_threshold
        } else {
            self.failure_threshold
        };
        if self.streak >= threshold {
            self.verdict = success;
            self.streak = 0;
            Some(success)
        } else {
            None
        }
    }
}

/// `GET path` over HTTP/1.1; the status code.
async fn http_get(host: &str, address: (IpAddr, u16), path: &str) -> std::io::Result<u16> {
    let mut stream = TcpStream::connect(address).await?;
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}:{}\r\nUser-Agent: kube-probe/1.33\r\n\
         Accept: */*\r\nConnection: close\r\n\r\n",
        address.1
    );
    stream.write_all(request.as_bytes()).await?;
    let mut head = Vec::with_capacity(64);
    let mut buffer = [0u8; 256];
    while !head.windows(2).any(|w| w == b"\r\n") {
        let read = stream.read(&mut buffer).await?;
        if read == 0 {
            break;
        }
        head.extend_from_slice(&buffer[..read]);
    }
    let line = String::from_utf8_lossy(&head);
    line.split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("not an HTTP status line: {line:?}"),
            )
        })
}

/// Runs the probe once against the pod at `pod_ip`; `Ok(())` on success, the reason otherwise.
pub async fn run_probe(
    probe: &Probe,
    pod_ip: IpAddr,
    env: &[(String, String)],
) -> Result<(), String> {
    let target = |host: &Option<String>| -> Result<IpAddr, String> {
        match host {
            None => Ok(pod_ip),
            Some(h) => h
                .parse()
                .map_err(|_| format!("probe host {h:?} is not an address")),
        }
    };
    let attempt = async {
        match &probe.action {
            ProbeAction::HttpGet { https: true, .. } => {
                Err("kubesim does not execute HTTPS probes".to_string())
            }
            ProbeAction::HttpGet {
                host, port, path, ..
            } => {
                let ip = target(host)?;
                let code = http_get(&ip.to_string(), (ip, *port), path)
                    .await
                    .map_err(|e| format!("GET http://{ip}:{port}{path}: {e}"))?;
                if (200..400).contains(&code) {
                    Ok(())
                } else {
                    Err(format!("HTTP probe failed with statuscode: {code}"))
                }
            }
            ProbeAction::Tcp { host, port } => {
                let ip = target(host)?;
                TcpStream::connect((ip, *port))
                    .await
                    .map(drop)
                    .map_err(|e| format!("dial tcp {ip}:{port}: {e}"))
            }
            ProbeAction::Exec { command } => {
                let (program, args) = command
                    .split_first()
                    .ok_or_else(|| "exec probe has no command".to_string())?;
                let status = tokio::process::Command::new(program)
                    .args(args)
                    .env_clear()
                    .envs(env.iter().map(|(n, v)| (n, v)))
                    .env("PATH", "/usr/local/bin:/usr/bin:/bin")
                    .stdin(std::process::Stdio::null())
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::null())
                    .kill_on_drop(true)
                    .status()
                    .await
                    .map_err(|e| format!("exec {program}: {e}"))?;
                if status.success() {
                    Ok(())
                } else {
                    Err(format!("command {command:?} exited with {status}"))
                }
            }
            ProbeAction::Unsupported { handler } => {
                Err(format!("kubesim does not execute {handler} probes"))
            }
        }
    };
    match tokio::time::timeout(probe.timeout, attempt).await {
        Ok(result) => result,
        Err(_) => Err(format!(
            "probe timed out after {}s",
            probe.timeout.as_secs()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    fn etcd_container() -> Value {
        json!({"name": "etcd",
               "ports": [{"name": "client", "containerPort": 2379},
                         {"name": "metrics", "containerPort": 2381}],
               "readinessProbe": {"httpGet": {"path": "/readyz", "port": 2381},
                                  "periodSeconds": 5},
               "startupProbe": {"httpGet": {"path": "/readyz", "port": "metrics"},
                                "periodSeconds": 5, "failureThreshold": 30},
               "livenessProbe": {"tcpSocket": {"port": "nope"}}})
    }

    fn to_health(path: &str) -> String {
        if path == "/readyz" {
            "/health".into()
        } else {
            path.into()
        }
    }

    #[test]
    fn probes_parse_with_the_kubelet_defaults_and_named_ports() {
        let container = etcd_container();
        let readiness = Probe::from_spec(&container, "readinessProbe", &to_health)
            .expect("valid")
            .expect("present");
        assert_eq!(
            readiness,
            Probe {
                action: ProbeAction::HttpGet {
                    host: None,
                    port: 2381,
                    path: "/health".into(),
                    https: false
                },
                initial_delay: Duration::ZERO,
                period: Duration::from_secs(5),
                timeout: Duration::from_secs(1),
                success_threshold: 1,
                failure_threshold: 3,
            }
        );
        let startup = Probe::from_spec(&container, "startupProbe", &to_health)
            .expect("valid")
            .expect("present");
        assert_eq!(startup.failure_threshold, 30);
        assert_eq!(
            startup.action,
            ProbeAction::HttpGet {
                host: None,
                port: 2381,
                path: "/health".into(),
                https: false
            }
        );
        assert_eq!(
            Probe::from_spec(&container, "livenessProbe", &to_health),
            Err(ProbeSpecError::Port {
                container: "etcd".into(),
                port: "\"nope\"".into()
            })
        );
        assert_eq!(
            Probe::from_spec(&container, "absentProbe", &to_health),
            Ok(None)
        );
    }

    #[test]
    fn the_verdict_flips_only_after_the_thresholds() {
        let probe = Probe {
            action: ProbeAction::Tcp {
                host: None,
                port: 1,
            },
            initial_delay: Duration::ZERO,
            period: Duration::from_secs(1),
            timeout: Duration::from_secs(1),
            success_threshold: 2,
            failure_threshold: 3,
        };
        let mut tracker = ProbeTracker::new(&probe, false);
        assert_eq!(tracker.record(true), None);
        assert_eq!(tracker.record(false), None);
        assert_eq!(tracker.record(true), None);
        assert_eq!(tracker.record(true), Some(true));
        assert_eq!(tracker.record(false), None);
        assert_eq!(tracker.record(false), None);
        assert_eq!(tracker.record(true), None);
        assert_eq!(
            [false, false, false].map(|r| tracker.record(r)),
            [None, None, Some(false)]
        );
        assert!(!tracker.verdict());
    }

    #[tokio::test]
    async fn http_tcp_and_exec_probes_run_for_real() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port");
        let port = listener.local_addr().expect("bound").port();
        let server = tokio::spawn(async move {
            for code in ["200 OK", "503 Service Unavailable"] {
                let (mut socket, _) = listener.accept().await.expect("accept");
                let mut request = [0u8; 512];
                let _ = socket.read(&mut request).await;
                let reply = format!("HTTP/1.1 {code}\r\nContent-Length: 0\r\n\r\n");
                socket.write_all(reply.as_bytes()).await.expect("reply");
            }
        });
        let ip: IpAddr = [127, 0, 0, 1].into();
        let mut probe = Probe {
            action: ProbeAction::HttpGet {
                host: None,
                port,
                path: "/health".into(),
                https: false,
            },
            initial_delay: Duration::ZERO,
            period: Duration::from_secs(1),
            timeout: Duration::from_secs(5),
            success_threshold: 1,
            failure_threshold: 1,
        };
        assert_eq!(run_probe(&probe, ip, &[]).await, Ok(()));
        assert_eq!(
            run_probe(&probe, ip, &[]).await,
            Err("HTTP probe failed with statuscode: 503".to_string())
        );
        server.await.expect("server task");
        probe.action = ProbeAction::Tcp { host: None, port };
        assert!(run_probe(&probe, ip, &[]).await.is_err(), "listener closed");
        let env = vec![("WANTED".to_string(), "yes".to_string())];
        probe.action = ProbeAction::Exec {
            command: vec!["sh".into(), "-c".into(), "test \"$WANTED\" = yes".into()],
        };
        assert_eq!(run_probe(&probe, ip, &env).await, Ok(()));
        probe.action = ProbeAction::Exec {
            command: vec!["sh".into(), "-c".into(), "exit 3".into()],
        };
        assert_eq!(
            run_probe(&probe, ip, &env).await,
            Err("command [\"sh\", \"-c\", \"exit 3\"] exited with exit status: 3".to_string())
        );
    }
}
