//! MCP over stdio with every line answered. rmcp drops a line it cannot parse, so a client
//! that sent an id would wait forever; this front reads stdin line by line, answers what is
//! not a JSON-RPC message itself (-32700 parse error, -32600 invalid request, -32602 for a
//! `tools/call` whose arguments are not an object) with `id: null` where none can be read, caps
//! a line at [`MAX_LINE`] and nesting at [`MAX_DEPTH`], and passes the rest to rmcp. Every
//! line written to stdout is whole: rmcp's and ours go through one writer.

use serde_json::{Value, json};
use tokio::{
    io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader, DuplexStream},
    sync::mpsc,
};

use crate::arguments::clip;

/// The longest line accepted (as HTTP's body limit).
pub const MAX_LINE: usize = 1 << 20;
/// The deepest nesting of arrays and objects accepted.
pub const MAX_DEPTH: usize = 64;

fn error(id: Value, code: i64, message: String) -> String {
    json!({ "jsonrpc": "2.0", "id": id, "error": { "code": code, "message": message } }).to_string()
}

/// The deepest nesting of `[`/`{` outside strings.
fn depth(line: &[u8]) -> usize {
    let (mut d, mut max, mut in_str, mut esc) = (0usize, 0usize, false, false);
    for &b in line {
        if in_str {
            match (esc, b) {
                (true, _) => esc = false,
                (false, b'\\') => esc = true,
                (false, b'"') => in_str = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_str = true,
            b'[' | b'{' => {
                d += 1;
                max = max.max(d);
            }
            b']' | b'}' => d = d.saturating_sub(1),
            _ => {}
        }
    }
    max
}

/// What to do with one line: pass it to rmcp, or answer it here.
pub fn screen(line: &[u8]) -> Result<(), String> {
    if line.len() > MAX_LINE {
        return Err(error(
            Value::Null,
            -32600,
            format!("Invalid Request: a message is limited to {MAX_LINE} bytes; this one has {}", line.len()),
        ));
    }
    let Ok(text) = std::str::from_utf8(line) else {
        return Err(error(Value::Null, -32700, "Parse error: the line is not UTF-8".into()));
    };
    if depth(line) > MAX_DEPTH {
        return Err(error(Value::Null, -32600, format!("Invalid Request: JSON nested deeper than {MAX_DEPTH} levels")));
    }
    let v: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => return Err(error(Value::Null, -32700, format!("Parse error: {}", clip(&e.to_string(), 200)))),
    };
    let Value::Object(m) = &v else {
        return Err(error(
            Value::Null,
            -32600,
            "Invalid Request: a message is one JSON object (batches are not part of MCP)".into(),
        ));
    };
    let id = m.get("id").cloned().unwrap_or(Value::Null);
    if !matches!(id, Value::Null | Value::String(_) | Value::Number(_)) || m.get("jsonrpc") != Some(&json!("2.0")) {
        let id = if matches!(id, Value::String(_) | Value::Number(_)) { id } else { Value::Null };
        return Err(error(id, -32600, "Invalid Request: needs \"jsonrpc\": \"2.0\" and a string or number id".into()));
    }
    if m.get("method").is_some_and(|x| !x.is_string()) {
        return Err(error(id, -32600, "Invalid Request: method must be a string".into()));
    }
    if m.get("method") == Some(&json!("tools/call"))
        && let Some(args) = m.get("params").and_then(|p| p.get("arguments"))
        && !args.is_object()
        && !args.is_null()
    {
        return Err(error(
            id,
            -32602,
            format!(
                "Invalid params: tools/call arguments must be an object of named parameters, not {}",
                clip(&args.to_string(), 40)
            ),
        ));
    }
    Ok(())
}

/// Reads `input` line by line, screening each; accepted lines go to `to_rmcp`, answers to `out`.
async fn front<R: AsyncRead + Unpin>(input: R, mut to_rmcp: DuplexStream, out: mpsc::Sender<String>) {
    let mut reader = BufReader::with_capacity(64 * 1024, input);
    let mut line = Vec::with_capacity(4096);
    loop {
        line.clear();
        // Read one line without holding more than MAX_LINE (+1 to know it was longer).
        let mut too_long = 0usize;
        loop {
            let buf = match reader.fill_buf().await {
                Ok(b) => b,
                Err(_) => return,
            };
            if buf.is_empty() {
                if line.is_empty() && too_long == 0 {
                    return;
                }
                break;
            }
            let (chunk, done) = match buf.iter().position(|b| *b == b'\n') {
                Some(i) => (&buf[..i], Some(i + 1)),
                None => (buf, None),
            };
            if line.len() + chunk.len() <= MAX_LINE {
                line.extend_from_slice(chunk);
            } else {
                too_long += chunk.len();
            }
            let used = done.unwrap_or(buf.len());
            reader.consume(used);
            if done.is_some() {
                break;
            }
        }
        let body: &[u8] = if line.last() == Some(&b'\r') { &line[..line.len() - 1] } else { &line };
        if body.iter().all(u8::is_ascii_whitespace) && too_long == 0 {
            continue;
        }
        let verdict = if too_long > 0 {
            Err(error(
                Value::Null,
                -32600,
                format!(
                    "Invalid Request: a message is limited to {MAX_LINE} bytes; this one has {}",
                    line.len() + too_long
                ),
            ))
        } else {
            screen(body)
        };
        match verdict {
            Ok(()) => {
                if to_rmcp.write_all(body).await.is_err() || to_rmcp.write_all(b"\n").await.is_err() {
                    return;
                }
            }
            Err(answer) => {
                if out.send(answer).await.is_err() {
                    return;
                }
            }
        }
    }
}

/// Copies rmcp's output lines to the shared writer.
async fn rmcp_lines(from_rmcp: DuplexStream, out: mpsc::Sender<String>) {
    let mut lines = BufReader::new(from_rmcp).lines();
    while let Ok(Some(l)) = lines.next_line().await {
        if out.send(l).await.is_err() {
            return;
        }
    }
}

/// Writes whole lines to `output` and flushes each.
async fn writer<W: AsyncWrite + Unpin>(mut output: W, mut lines: mpsc::Receiver<String>) {
    while let Some(l) = lines.recv().await {
        if output.write_all(l.as_bytes()).await.is_err()
            || output.write_all(b"\n").await.is_err()
            || output.flush().await.is_err()
        {
            return;
        }
    }
}

/// The (reader, writer) pair rmcp serves on, fronted by the screen over `input`/`output`.
pub fn fronted<R, W>(input: R, output: W) -> (DuplexStream, DuplexStream)
where
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let (to_rmcp, rmcp_in) = tokio::io::duplex(MAX_LINE + 1024);
    let (rmcp_out, from_rmcp) = tokio::io::duplex(1 << 16);
    let (tx, rx) = mpsc::channel(64);
    tokio::spawn(front(input, to_rmcp, tx.clone()));
    tokio::spawn(rmcp_lines(from_rmcp, tx));
    tokio::spawn(writer(output, rx));
    (rmcp_in, rmcp_out)
}

#[cfg(test)]
#[path = "stdio_tests.rs"]
mod tests;
