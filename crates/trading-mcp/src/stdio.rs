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

/// One line of input: its bytes (at most [`MAX_LINE`]), or the length of a longer one.
enum Line {
    Whole(Vec<u8>),
    TooLong(usize),
}

/// Screens one line: accepted lines go to `to_rmcp`, answers to `out`. False once either side
/// is gone.
async fn deliver(line: Line, to_rmcp: &mut DuplexStream, out: &mpsc::Sender<String>) -> bool {
    let verdict = match &line {
        Line::TooLong(n) => Err(error(
            Value::Null,
            -32600,
            format!("Invalid Request: a message is limited to {MAX_LINE} bytes; this one has {n}"),
        )),
        Line::Whole(l) => {
            let body: &[u8] = if l.last() == Some(&b'\r') { &l[..l.len() - 1] } else { l };
            if body.iter().all(u8::is_ascii_whitespace) {
                return true;
            }
            match screen(body) {
                Ok(()) => return to_rmcp.write_all(body).await.is_ok() && to_rmcp.write_all(b"\n").await.is_ok(),
                Err(answer) => Err(answer),
            }
        }
    };
    match verdict {
        Ok(()) => true,
        Err(answer) => out.send(answer).await.is_ok(),
    }
}

/// Takes what `buf` holds of the current line into `line` (keeping at most [`MAX_LINE`] bytes
/// and counting the rest in `too_long`); returns how many bytes to consume and whether the
/// line ended.
fn take(buf: &[u8], line: &mut Vec<u8>, too_long: &mut usize) -> (usize, bool) {
    let (chunk, end) = match buf.iter().position(|b| *b == b'\n') {
        Some(i) => (&buf[..i], Some(i + 1)),
        None => (buf, None),
    };
    if line.len() + chunk.len() <= MAX_LINE {
        line.extend_from_slice(chunk);
    } else {
        *too_long += chunk.len();
    }
    (end.unwrap_or(buf.len()), end.is_some())
}

/// Reads one line from `reader` without holding more than [`MAX_LINE`] bytes of it; `None` at
/// the end of input.
async fn read_line<R: AsyncRead + Unpin>(reader: &mut BufReader<R>) -> Option<Line> {
    let (mut line, mut too_long) = (Vec::with_capacity(4096), 0usize);
    loop {
        let buf = reader.fill_buf().await.ok()?;
        if buf.is_empty() {
            return if line.is_empty() && too_long == 0 { None } else { Some(finish(line, too_long)) };
        }
        let (used, ended) = take(buf, &mut line, &mut too_long);
        reader.consume(used);
        if ended {
            return Some(finish(line, too_long));
        }
    }
}

fn finish(line: Vec<u8>, too_long: usize) -> Line {
    if too_long > 0 { Line::TooLong(line.len() + too_long) } else { Line::Whole(line) }
}

/// Reads `input` line by line, screening each.
async fn front<R: AsyncRead + Unpin>(input: R, mut to_rmcp: DuplexStream, out: mpsc::Sender<String>) {
    let mut reader = BufReader::with_capacity(64 * 1024, input);
    while let Some(line) = read_line(&mut reader).await {
        if !deliver(line, &mut to_rmcp, &out).await {
            return;
        }
    }
}

/// The same over lines a reader thread sends.
async fn front_lines(mut lines: mpsc::Receiver<Line>, mut to_rmcp: DuplexStream, out: mpsc::Sender<String>) {
    while let Some(line) = lines.recv().await {
        if !deliver(line, &mut to_rmcp, &out).await {
            return;
        }
    }
}

/// Reads the process's stdin on a thread of its own (blocking reads, one hand-off a line),
/// capping a line at [`MAX_LINE`] as [`read_line`] does.
fn stdin_lines() -> mpsc::Receiver<Line> {
    use std::io::BufRead;
    let (tx, rx) = mpsc::channel(64);
    std::thread::spawn(move || {
        let stdin = std::io::stdin();
        let mut reader = stdin.lock();
        loop {
            let (mut line, mut too_long) = (Vec::with_capacity(4096), 0usize);
            let at_end = loop {
                let buf = match reader.fill_buf() {
                    Ok(b) if !b.is_empty() => b,
                    _ => break true,
                };
                let (used, ended) = take(buf, &mut line, &mut too_long);
                reader.consume(used);
                if ended {
                    break false;
                }
            };
            if (!line.is_empty() || too_long > 0) && tx.blocking_send(finish(line, too_long)).is_err() {
                return;
            }
            if at_end {
                return;
            }
        }
    });
    rx
}

/// Writes the process's stdout on a thread of its own: whole lines, each flushed.
fn stdout_writer(mut lines: mpsc::Receiver<String>) {
    use std::io::Write;
    std::thread::spawn(move || {
        let stdout = std::io::stdout();
        while let Some(mut l) = lines.blocking_recv() {
            l.push('\n');
            let mut out = stdout.lock();
            if out.write_all(l.as_bytes()).is_err() || out.flush().is_err() {
                return;
            }
        }
    });
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

/// Writes whole lines to `output` and flushes each. One write per line: tokio's stdout hands
/// every write to a blocking thread, so a line and its newline written apart cost two trips.
async fn writer<W: AsyncWrite + Unpin>(mut output: W, mut lines: mpsc::Receiver<String>) {
    while let Some(mut l) = lines.recv().await {
        l.push('\n');
        if output.write_all(l.as_bytes()).await.is_err() || output.flush().await.is_err() {
            return;
        }
    }
}

/// The (reader, writer) pair rmcp serves on, fronted by the screen over the process's stdin and
/// stdout. Each is served by a thread of its own: tokio's stdin and stdout hand every read and
/// write to its blocking pool, and its idle threads contend for the pool's lock on each one
/// (measured: about 0.2 ms a call, ten times the rest of a quote).
pub fn fronted_stdio() -> (DuplexStream, DuplexStream) {
    let (to_rmcp, rmcp_in) = tokio::io::duplex(MAX_LINE + 1024);
    let (rmcp_out, from_rmcp) = tokio::io::duplex(1 << 16);
    let (tx, rx) = mpsc::channel(64);
    tokio::spawn(front_lines(stdin_lines(), to_rmcp, tx.clone()));
    tokio::spawn(rmcp_lines(from_rmcp, tx));
    stdout_writer(rx);
    (rmcp_in, rmcp_out)
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
