//! A small MCP client over a child process's stdio, used by the demo, the end-to-end tests
//! and the benchmark: they all drive the real `ibkr-mcp` binary the way an agent would.

use std::{path::Path, process::Stdio};

use rmcp::{
    RoleClient, ServiceExt,
    model::{CallToolRequestParams, Tool},
    service::RunningService,
    transport::{ConfigureCommandExt, TokioChildProcess},
};
use serde_json::Value;

/// The answer of one tool call: the envelope's `isError` and its structured content.
#[derive(Debug, Clone)]
pub struct ToolAnswer {
    pub is_error: bool,
    pub body: Value,
}

impl ToolAnswer {
    /// `data` of a success envelope (null on failure).
    pub fn data(&self) -> &Value {
        &self.body["data"]
    }
    /// `error` of a failure envelope (null on success).
    pub fn error(&self) -> &Value {
        &self.body["error"]
    }
}

/// A running server and the client session talking to it.
pub struct McpChild {
    service: RunningService<RoleClient, ()>,
    pid: Option<u32>,
}

impl std::fmt::Debug for McpChild {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("McpChild")
    }
}

impl McpChild {
    /// Spawns `bin` with exactly `env` on top of a minimal environment and completes the
    /// MCP handshake. The child's stderr (its logs) goes to `stderr`.
    pub async fn spawn(bin: &Path, env: &[(&str, &str)], stderr: Stdio) -> anyhow::Result<McpChild> {
        let cmd = tokio::process::Command::new(bin).configure(|c| {
            c.env_clear();
            for k in ["PATH", "HOME"] {
                if let Ok(v) = std::env::var(k) {
                    c.env(k, v);
                }
            }
            c.envs(env.iter().copied());
        });
        let (transport, _) = TokioChildProcess::builder(cmd).stderr(stderr).spawn()?;
        let pid = transport.id();
        let service = ().serve(transport).await?;
        Ok(McpChild { service, pid })
    }

    /// The server's process id.
    pub fn pid(&self) -> Option<u32> {
        self.pid
    }

    pub async fn list_tools(&self) -> anyhow::Result<Vec<Tool>> {
        Ok(self.service.list_all_tools().await?)
    }

    /// Calls a tool with JSON object arguments.
    pub async fn call(&self, name: &str, args: Value) -> anyhow::Result<ToolAnswer> {
        let mut p = CallToolRequestParams::new(name.to_string());
        if let Value::Object(m) = args {
            p = p.with_arguments(m);
        }
        let r = self.service.call_tool(p).await?;
        let body = match r.structured_content {
            Some(v) => v,
            None => {
                let text = r.content.iter().filter_map(|c| c.as_text().map(|t| t.text.clone())).collect::<String>();
                serde_json::from_str(&text).unwrap_or(Value::String(text))
            }
        };
        Ok(ToolAnswer { is_error: r.is_error.unwrap_or(false), body })
    }

    /// Ends the session and waits for the child to exit.
    pub async fn shutdown(self) -> anyhow::Result<()> {
        self.service.cancel().await?;
        Ok(())
    }
}

/// What the benchmarks measure with: timed tool calls, a percentile line, a process's RSS.
pub mod measure {
    use std::time::{Duration, Instant};

    use serde_json::Value;

    use super::McpChild;

    /// `warmup` untimed calls, then `n` timed sequential calls; any error envelope fails.
    pub async fn time_calls(
        c: &McpChild,
        tool: &str,
        args: Value,
        warmup: usize,
        n: usize,
    ) -> anyhow::Result<Vec<Duration>> {
        let mut out = Vec::with_capacity(n);
        for i in 0..warmup + n {
            let t = Instant::now();
            let a = c.call(tool, args.clone()).await?;
            let took = t.elapsed();
            anyhow::ensure!(!a.is_error, "{tool}: {}", a.body);
            if i >= warmup {
                out.push(took);
            }
        }
        Ok(out)
    }

    /// Prints `name`, the count, median, p99 and max in microseconds.
    pub fn summary(name: &str, mut v: Vec<Duration>) {
        if v.is_empty() {
            println!("{name:<48} no samples");
            return;
        }
        v.sort();
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, clippy::cast_precision_loss)]
        let pct = |p: f64| v[((v.len() as f64 - 1.0) * p).round() as usize];
        println!(
            "{name:<48} n={:<5} median {:>8.1} µs   p99 {:>8.1} µs   max {:>8.1} µs",
            v.len(),
            pct(0.5).as_secs_f64() * 1e6,
            pct(0.99).as_secs_f64() * 1e6,
            v[v.len() - 1].as_secs_f64() * 1e6
        );
    }

    /// The resident set size of process `pid` in KiB (Linux).
    pub fn rss_kib(pid: u32) -> Option<u64> {
        let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        s.lines().find(|l| l.starts_with("VmRSS:"))?.split_whitespace().nth(1)?.parse().ok()
    }
}

/// A server started with `--transport http`; killed when dropped.
#[derive(Debug)]
pub struct HttpChild {
    child: std::process::Child,
    /// The MCP endpoint the server logged, e.g. `http://127.0.0.1:40123/mcp`.
    pub url: String,
}

impl HttpChild {
    /// Starts `cmd` (its arguments and environment already set) with stderr piped, waits for
    /// its "listening on" log line, and keeps draining stderr so it never blocks on the pipe.
    pub fn spawn(mut cmd: std::process::Command) -> anyhow::Result<HttpChild> {
        use std::io::BufRead;
        let mut child = cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped()).spawn()?;
        let stderr = child.stderr.take().ok_or_else(|| anyhow::anyhow!("no stderr pipe"))?;
        let mut lines = std::io::BufReader::new(stderr).lines();
        let url = loop {
            match lines.next() {
                Some(line) => {
                    if let Some(u) = line?.split("listening on ").nth(1) {
                        break u.trim().to_string();
                    }
                }
                None => {
                    let _ = child.wait();
                    anyhow::bail!("the server exited before listening");
                }
            }
        };
        std::thread::spawn(move || for _ in lines {});
        Ok(HttpChild { child, url })
    }
}

impl Drop for HttpChild {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
