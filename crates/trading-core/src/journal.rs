//! The trade journal: append-only JSON lines, fsync per record, one writer per file, each line
//! chained to the previous one by SHA-256.
//!
//! Records are `intent` (written before an order leaves), `outcome` and `resolution`. The
//! daily spend, duplicate window and unresolved dispatches the guard needs come from an
//! in-memory [`JournalIndex`] built once at open and kept current by every append.

use std::{
    collections::{BTreeSet, HashMap},
    fs::{File, OpenOptions},
    io::{BufRead, BufReader, Read, Seek, SeekFrom, Write},
    path::{Path, PathBuf},
    sync::Mutex,
};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{
    money::{Money, Price, Qty},
    order::{OrderType, Side},
};

/// The `prev_hash` of the first line.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Why the journal cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error(
        "another tradegate server is already using the journal {path} (its lock file {lock} is held). Run one server per journal, or point TRADE_JOURNAL_PATH at a different file."
    )]
    Locked { path: String, lock: String },
    #[error("journal {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("journal record could not be encoded: {0}")]
    Encode(#[from] serde_json::Error),
}

/// What a line records: an order about to be sent, what came of it, a reconciliation, an
/// HTTP call (audit), or a person's acknowledgement of damage.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RecordKind {
    Intent,
    /// Lines without a kind (the reference's legacy lines) are outcomes.
    #[default]
    Outcome,
    Resolution,
    /// A tool call over an authenticated transport: who called what (audit only).
    Call,
    /// A person acknowledged the damage found so far (`journal acknowledge`): entries resume.
    Acknowledgement,
    /// A step of a person's approval of an order: asked, approved, rejected, expired,
    /// cancelled, blocked or dropped at a restart.
    Approval,
}

/// One journal line. Order lines fill the order fields; resolution lines leave them null.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct JournalRecord {
    /// ISO-8601 with offset and microseconds, in the journal's time zone.
    pub timestamp: String,
    pub kind: RecordKind,
    pub venue: String,
    pub account_id: Option<String>,
    /// Paper or live as the venue reported it (not the configuration label).
    pub is_paper: Option<bool>,
    pub client_order_id: Option<String>,
    pub parent_client_order_id: Option<String>,
    /// What the line is for: "entry", "take_profit", "stop_loss", "close", or none.
    pub tag: Option<String>,
    /// The configuration label ("paper" or "live").
    pub mode: Option<String>,
    pub symbol: Option<String>,
    pub side: Option<Side>,
    pub order_type: Option<OrderType>,
    pub cash_qty: Option<Money>,
    pub quantity: Option<Qty>,
    pub limit_price: Option<Price>,
    pub stop_price: Option<Price>,
    /// The worst-case value of a BUY that passed the price step.
    pub notional: Option<Money>,
    pub dry_run: bool,
    /// Dispatched to the venue (or it has an order id).
    pub sent: bool,
    pub order_id: Option<String>,
    /// "pending", "blocked", "error" or a venue order status.
    pub status: String,
    pub filled_quantity: Option<Qty>,
    pub message: Option<String>,
    /// Call lines: the tool and the caller (an OAuth client id, "static-bearer" or "loopback").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub caller: Option<String>,
    /// Blocked lines: the guard rule that refused the order and the setting behind it, so the
    /// journal says why without parsing the message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub setting: Option<String>,
    /// Approval lines: the approval and the channel it went through.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approval_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    pub prev_hash: String,
}

impl JournalRecord {
    /// The duplicate-detection fingerprint, as [`crate::order::OrderRequest::fingerprint`].
    pub fn fingerprint(&self) -> Option<String> {
        let size = match (self.cash_qty, self.quantity) {
            (Some(c), _) => format!("cash={c}"),
            (None, Some(q)) => format!("qty={q}"),
            (None, None) => return None,
        };
        Some(format!("{}|{}|{}|{}", self.symbol.as_deref()?, self.side?, self.order_type?.as_str(), size))
    }
    fn time(&self) -> Option<DateTime<Utc>> {
        DateTime::parse_from_rfc3339(&self.timestamp).ok().map(|t| t.with_timezone(&Utc))
    }
}

/// Statuses after which the order is known to be settled at the venue.
const SETTLING: &[&str] = &["filled", "cancelled", "rejected", "inactive", "submitted", "partially_filled"];

/// What the index knows about one client order id.
#[derive(Clone, Debug)]
struct Dispatch {
    fingerprint: Option<String>,
    symbol: Option<String>,
    side: Option<Side>,
    tag: Option<String>,
    /// A bracket child's parent (its client order id).
    parent: Option<String>,
    size: String,
    notional: Option<Decimal>,
    sent: bool,
    dry_run: bool,
    order_id: Option<String>,
    /// The latest status from an outcome or resolution line.
    fate: Option<String>,
    filled: bool,
    resolved: bool,
}

impl Dispatch {
    fn frees_budget(&self) -> bool {
        match self.fate.as_deref() {
            Some("rejected") => true,
            Some("cancelled") => !self.filled,
            _ => false,
        }
    }
    fn counts(&self) -> bool {
        (self.sent || self.order_id.is_some()) && !self.dry_run
    }
}

/// A dispatched order whose fate is not known.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Unresolved {
    pub client_order_id: String,
    pub symbol: Option<String>,
    pub side: Option<Side>,
    pub size: String,
    pub fingerprint: Option<String>,
}

/// When an order was dispatched, and under which client order id.
type DispatchTime = (DateTime<Utc>, Option<String>);

/// The in-memory index of the journal.
#[derive(Debug, Default)]
pub struct JournalIndex {
    by_coid: HashMap<String, Dispatch>,
    /// Client order ids first seen on each day (journal time zone).
    by_day: HashMap<NaiveDate, Vec<String>>,
    /// Sent lines without a client order id (legacy): (day, side, notional).
    loose_spend: HashMap<NaiveDate, Decimal>,
    /// Recent dispatch times per fingerprint, newest last.
    dispatch_times: HashMap<String, Vec<DispatchTime>>,
    unresolved: BTreeSet<String>,
    order_to_coid: HashMap<String, String>,
    last_close: HashMap<String, DateTime<Utc>>,
    /// Approvals asked for and not yet answered (a restart drops them).
    open_approvals: BTreeSet<String>,
}

const DISPATCH_TIMES_KEPT: usize = 16;

impl JournalIndex {
    fn apply(&mut self, r: &JournalRecord, tz: Tz) {
        if r.kind == RecordKind::Approval
            && let Some(id) = &r.approval_id
        {
            if r.status == "approval_pending" {
                self.open_approvals.insert(id.clone());
            } else {
                self.open_approvals.remove(id);
            }
        }
        if matches!(r.kind, RecordKind::Call | RecordKind::Acknowledgement | RecordKind::Approval) {
            return;
        }
        let time = r.time();
        let day = time.map(|t| t.with_timezone(&tz).date_naive());
        let Some(coid) = r.client_order_id.clone() else {
            if r.sent
                && !r.dry_run
                && r.side == Some(Side::Buy)
                && !matches!(r.status.as_str(), "rejected" | "cancelled")
                && let (Some(d), Some(n)) = (day, r.notional)
            {
                *self.loose_spend.entry(d).or_default() += n.0;
            }
            self.note_dispatch(r, time, None);
            return;
        };
        let is_new = !self.by_coid.contains_key(&coid);
        let d = self.by_coid.entry(coid.clone()).or_insert_with(|| Dispatch {
            fingerprint: r.fingerprint(),
            symbol: r.symbol.clone(),
            side: r.side,
            tag: r.tag.clone(),
            parent: r.parent_client_order_id.clone(),
            size: r.cash_qty.map(|c| format!("cash {c}")).or(r.quantity.map(|q| q.to_string())).unwrap_or_default(),
            notional: r.notional.map(|n| n.0),
            sent: false,
            dry_run: false,
            order_id: None,
            fate: None,
            filled: false,
            resolved: false,
        });
        if is_new && let Some(day) = day {
            self.by_day.entry(day).or_default().push(coid.clone());
        }
        d.dry_run |= r.dry_run;
        d.sent |= r.sent;
        if d.notional.is_none() {
            d.notional = r.notional.map(|n| n.0);
        }
        if let Some(oid) = &r.order_id {
            d.order_id = Some(oid.clone());
            self.order_to_coid.insert(oid.clone(), coid.clone());
        }
        if r.filled_quantity.is_some_and(|q| q.0 > Decimal::ZERO) {
            d.filled = true;
        }
        if r.kind != RecordKind::Intent {
            d.fate = Some(r.status.clone());
        }
        if r.kind == RecordKind::Resolution || d.order_id.is_some() || SETTLING.contains(&r.status.as_str()) {
            d.resolved = true;
        }
        let unresolved = d.sent && !d.dry_run && !d.resolved;
        if d.sent
            && r.kind == RecordKind::Intent
            && d.tag.as_deref() == Some("close")
            && let (Some(sym), Some(t)) = (&d.symbol, time)
        {
            self.last_close.insert(sym.clone(), t);
        }
        if unresolved {
            self.unresolved.insert(coid.clone());
        } else {
            self.unresolved.remove(&coid);
        }
        if r.kind == RecordKind::Intent {
            self.note_dispatch(r, time, Some(coid));
        }
    }

    fn note_dispatch(&mut self, r: &JournalRecord, time: Option<DateTime<Utc>>, coid: Option<String>) {
        if !r.sent || r.dry_run {
            return;
        }
        if let (Some(fp), Some(t)) = (r.fingerprint(), time) {
            let v = self.dispatch_times.entry(fp).or_default();
            v.push((t, coid));
            if v.len() > DISPATCH_TIMES_KEPT {
                v.remove(0);
            }
        }
    }

    /// Money committed to BUYs on `day`: each dispatched order's first notional once;
    /// rejected orders and cancelled orders with no fill free their share (fail-safe
    /// otherwise: unknown, inactive, error and pending all count).
    pub fn spent_on(&self, day: NaiveDate) -> Decimal {
        let by_coid: Decimal = self
            .by_day
            .get(&day)
            .into_iter()
            .flatten()
            .filter_map(|c| self.by_coid.get(c))
            .filter(|d| d.side == Some(Side::Buy) && d.counts() && !d.frees_budget())
            .filter_map(|d| d.notional)
            .sum();
        by_coid + self.loose_spend.get(&day).copied().unwrap_or_default()
    }

    /// Orders dispatched on `day` (dry-runs excluded).
    pub fn orders_on(&self, day: NaiveDate) -> u32 {
        let n = self
            .by_day
            .get(&day)
            .into_iter()
            .flatten()
            .filter(|c| self.by_coid.get(*c).is_some_and(Dispatch::counts))
            .count();
        u32::try_from(n).unwrap_or(u32::MAX)
    }

    /// The latest dispatch of the same order within `window` before `now`, ignoring orders
    /// that were rejected or cancelled.
    pub fn recent_duplicate(&self, fingerprint: &str, now: DateTime<Utc>, window: Duration) -> Option<DateTime<Utc>> {
        if window <= Duration::zero() {
            return None;
        }
        self.dispatch_times.get(fingerprint)?.iter().rev().find_map(|(t, coid)| {
            let freed = coid
                .as_ref()
                .and_then(|c| self.by_coid.get(c))
                .is_some_and(|d| matches!(d.fate.as_deref(), Some("rejected" | "cancelled")));
            (*t > now - window && *t <= now + Duration::seconds(1) && !freed).then_some(*t)
        })
    }

    /// Dispatched orders whose fate is unknown (a crash or timeout between intent and outcome).
    /// Approvals asked for that no later line answered.
    pub fn open_approvals(&self) -> Vec<String> {
        self.open_approvals.iter().cloned().collect()
    }

    pub fn unresolved(&self) -> Vec<Unresolved> {
        self.unresolved
            .iter()
            .filter_map(|c| {
                let d = self.by_coid.get(c)?;
                Some(Unresolved {
                    client_order_id: c.clone(),
                    symbol: d.symbol.clone(),
                    side: d.side,
                    size: d.size.clone(),
                    fingerprint: d.fingerprint.clone(),
                })
            })
            .collect()
    }

    /// Every symbol the journal has an order for.
    pub fn symbols(&self) -> std::collections::BTreeSet<String> {
        self.by_coid.values().filter_map(|d| d.symbol.clone()).collect()
    }

    /// The symbol of an order the journal saw placed.
    pub fn symbol_of_order(&self, order_id: &str) -> Option<&str> {
        self.order_to_coid.get(order_id).and_then(|c| self.by_coid.get(c)).and_then(|d| d.symbol.as_deref())
    }

    /// The client order id we sent with a venue order id.
    pub fn client_order_id_of(&self, order_id: &str) -> Option<&str> {
        self.order_to_coid.get(order_id).map(String::as_str)
    }

    /// The client order id of a bracket child's parent.
    pub fn parent_of(&self, client_order_id: &str) -> Option<&str> {
        self.by_coid.get(client_order_id).and_then(|d| d.parent.as_deref())
    }

    /// The latest known status of a client order id.
    pub fn fate_of(&self, coid: &str) -> Option<&str> {
        self.by_coid.get(coid).and_then(|d| d.fate.as_deref())
    }

    /// When a close of `symbol` was last dispatched.
    pub fn last_close(&self, symbol: &str) -> Option<DateTime<Utc>> {
        self.last_close.get(symbol).copied()
    }
}

/// What was found when the file was read at open.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Integrity {
    pub lines: usize,
    /// 1-based line numbers that are not valid records (skipped).
    pub corrupt_lines: Vec<usize>,
    /// 1-based line numbers whose `prev_hash` does not match the line before: an edit,
    /// a deletion or an insertion happened just before them.
    pub chain_breaks: Vec<usize>,
    /// Damaged lines (corrupt or breaking the chain) after the last acknowledgement: while
    /// any remain, new entries are refused.
    pub unacknowledged: Vec<usize>,
}

impl Integrity {
    pub fn is_clean(&self) -> bool {
        self.corrupt_lines.is_empty() && self.chain_breaks.is_empty()
    }

    /// Why new entries are refused, naming the file, the lines and the way out; `None` when
    /// every damage found has been acknowledged.
    pub fn refusal(&self, path: &Path, server: &str) -> Option<String> {
        (!self.unacknowledged.is_empty()).then(|| {
            let lines: Vec<String> = self.unacknowledged.iter().take(10).map(usize::to_string).collect();
            format!(
                "The journal {} is damaged at line(s) {}{} (unreadable, or edited so the hash chain breaks): today's spend and order counts cannot be trusted, so new entries are refused. Inspect the file, then run `{server} journal acknowledge` (with the server stopped) to record that a person checked it.",
                path.display(),
                lines.join(", "),
                if self.unacknowledged.len() > 10 { ", ..." } else { "" }
            )
        })
    }
}

#[derive(Debug)]
struct Writer {
    file: File,
    last_hash: String,
    index: JournalIndex,
    integrity: Integrity,
}

/// The open journal: exclusive for this process while it lives.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    tz: Tz,
    writer: Mutex<Writer>,
    _lock: File,
}

fn io_err(path: &Path) -> impl Fn(std::io::Error) -> JournalError + '_ {
    move |source| JournalError::Io { path: path.display().to_string(), source }
}

fn line_hash(line: &str) -> String {
    hex::encode(Sha256::digest(line.as_bytes()))
}

impl Journal {
    /// Opens (or creates) the journal, takes its lock, checks the chain and builds the index.
    pub fn open(path: &Path, tz: Tz) -> Result<Journal, JournalError> {
        let err = io_err(path);
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(&err)?;
        }
        let lock_path = PathBuf::from(format!("{}.lock", path.display()));
        let lock = OpenOptions::new().create(true).truncate(false).write(true).open(&lock_path).map_err(&err)?;
        if lock.try_lock().is_err() {
            return Err(JournalError::Locked {
                path: path.display().to_string(),
                lock: lock_path.display().to_string(),
            });
        }
        let mut file = OpenOptions::new().create(true).read(true).append(true).open(path).map_err(&err)?;
        let (index, integrity, last_hash) = Self::scan(&mut file, tz).map_err(&err)?;
        for n in &integrity.corrupt_lines {
            tracing::warn!(line = n, "journal {}: line {n} is not a valid record; skipped", path.display());
        }
        for n in &integrity.chain_breaks {
            tracing::warn!(
                line = n,
                "journal {}: hash chain broken at line {n} (a line before it was edited, removed or inserted)",
                path.display()
            );
        }
        Ok(Journal {
            path: path.to_path_buf(),
            tz,
            writer: Mutex::new(Writer { file, last_hash, index, integrity }),
            _lock: lock,
        })
    }

    /// Reads every line once: index, integrity and the hash to chain the next line to. A torn
    /// last line (a crash mid-write) is closed with a newline so the next record starts clean.
    fn scan(file: &mut File, tz: Tz) -> std::io::Result<(JournalIndex, Integrity, String)> {
        let mut raw = Vec::new();
        file.seek(SeekFrom::Start(0))?;
        file.read_to_end(&mut raw)?;
        if !raw.is_empty() && raw.last() != Some(&b'\n') {
            file.write_all(b"\n")?;
            file.sync_data()?;
        }
        let mut index = JournalIndex::default();
        let mut integrity = Integrity::default();
        let mut prev = GENESIS_HASH.to_string();
        // Raw bytes, line by line: a line that is not UTF-8 is corrupt, never skipped.
        for (i, bytes) in raw.split(|b| *b == b'\n').enumerate() {
            if bytes.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            integrity.lines += 1;
            let rec = std::str::from_utf8(bytes).ok().and_then(|l| serde_json::from_str::<JournalRecord>(l).ok());
            match rec {
                Some(rec) => {
                    if rec.prev_hash != prev {
                        integrity.chain_breaks.push(i + 1);
                        integrity.unacknowledged.push(i + 1);
                    }
                    if rec.kind == RecordKind::Acknowledgement {
                        integrity.unacknowledged.clear();
                    }
                    index.apply(&rec, tz);
                }
                None => {
                    integrity.corrupt_lines.push(i + 1);
                    integrity.unacknowledged.push(i + 1);
                }
            }
            prev = hex::encode(Sha256::digest(bytes));
        }
        Ok((index, integrity, prev))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn tz(&self) -> Tz {
        self.tz
    }

    /// The journal's integrity as of now (lines counted as they are written).
    pub fn integrity(&self) -> Integrity {
        self.writer.lock().unwrap_or_else(|p| p.into_inner()).integrity.clone()
    }

    /// Records that a person checked the damage found so far: new entries resume.
    pub fn acknowledge(&self, at: DateTime<Utc>, by: &str) -> Result<Integrity, JournalError> {
        let before = self.integrity();
        let rec = JournalRecord {
            timestamp: self.timestamp(at),
            kind: RecordKind::Acknowledgement,
            caller: Some(by.to_string()),
            status: "acknowledged".into(),
            message: Some(format!(
                "damage acknowledged: corrupt line(s) {:?}, chain break(s) {:?}",
                before.corrupt_lines, before.chain_breaks
            )),
            ..Default::default()
        };
        self.append(rec)?;
        Ok(before)
    }

    /// The timestamp format of the journal: ISO-8601 in its time zone, microseconds.
    pub fn timestamp(&self, at: DateTime<Utc>) -> String {
        at.with_timezone(&self.tz).to_rfc3339_opts(chrono::SecondsFormat::Micros, false)
    }

    /// The journal's calendar day of an instant.
    pub fn day_of(&self, at: DateTime<Utc>) -> NaiveDate {
        at.with_timezone(&self.tz).date_naive()
    }

    /// Appends one record (chaining and fsyncing it) and updates the index.
    pub fn append(&self, rec: JournalRecord) -> Result<(), JournalError> {
        self.write(rec, true)
    }

    /// Appends an audit line (a tool call), chained but not fsynced: losing the last ones in a
    /// power cut loses no order state, and a read call should not wait for the disk.
    pub fn append_audit(&self, rec: JournalRecord) -> Result<(), JournalError> {
        self.write(rec, false)
    }

    fn write(&self, mut rec: JournalRecord, sync: bool) -> Result<(), JournalError> {
        let mut w = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        rec.prev_hash = w.last_hash.clone();
        let line = serde_json::to_string(&rec)?;
        let err = io_err(&self.path);
        w.file.write_all(format!("{line}\n").as_bytes()).map_err(&err)?;
        if sync {
            w.file.sync_data().map_err(&err)?;
        }
        w.last_hash = line_hash(&line);
        w.index.apply(&rec, self.tz);
        w.integrity.lines += 1;
        if rec.kind == RecordKind::Acknowledgement {
            w.integrity.unacknowledged.clear();
        }
        Ok(())
    }

    /// Runs `f` over the current index.
    pub fn with_index<T>(&self, f: impl FnOnce(&JournalIndex) -> T) -> T {
        let w = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        f(&w.index)
    }

    /// The last `limit` valid records (all when `limit` is 0), oldest first, and how many
    /// corrupt lines were skipped.
    pub fn tail(&self, limit: usize) -> Result<(Vec<JournalRecord>, usize), JournalError> {
        let f = File::open(&self.path).map_err(io_err(&self.path))?;
        let mut out = Vec::new();
        let mut corrupt = 0;
        for line in BufReader::new(f).lines() {
            let line = line.map_err(io_err(&self.path))?;
            if line.trim().is_empty() {
                continue;
            }
            match serde_json::from_str::<JournalRecord>(&line) {
                Ok(r) => out.push(r),
                Err(_) => corrupt += 1,
            }
        }
        if limit > 0 && out.len() > limit {
            out.drain(..out.len() - limit);
        }
        Ok((out, corrupt))
    }
}

#[cfg(test)]
#[path = "journal_tests.rs"]
mod tests;
