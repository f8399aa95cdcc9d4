use chrono::TimeZone;
use chrono_tz::America::New_York;
use rust_decimal_macros::dec;

use super::*;

fn t(h: u32, m: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 24, h, m, s).unwrap()
}

fn open(dir: &tempfile::TempDir) -> Journal {
    Journal::open(&dir.path().join("trades.jsonl"), New_York).unwrap()
}

fn buy(j: &Journal, kind: RecordKind, coid: &str, at: DateTime<Utc>, status: &str) -> JournalRecord {
    JournalRecord {
        timestamp: j.timestamp(at),
        kind,
        venue: "test".into(),
        client_order_id: Some(coid.into()),
        symbol: Some("AAPL".into()),
        side: Some(Side::Buy),
        order_type: Some(OrderType::Market),
        cash_qty: Some(Money(dec!(50))),
        notional: Some(Money(dec!(50))),
        sent: true,
        status: status.into(),
        ..Default::default()
    }
}

#[test]
fn intent_and_outcome_count_once_toward_spend() {
    let dir = tempfile::tempdir().unwrap();
    let j = open(&dir);
    j.append(buy(&j, RecordKind::Intent, "a", t(15, 0, 0), "pending")).unwrap();
    let mut out = buy(&j, RecordKind::Outcome, "a", t(15, 0, 1), "filled");
    out.order_id = Some("1".into());
    j.append(out).unwrap();
    let day = j.day_of(t(15, 0, 0));
    assert_eq!(j.with_index(|i| i.spent_on(day)), dec!(50));
    assert_eq!(j.with_index(|i| i.orders_on(day)), 1);
    assert!(j.with_index(|i| i.unresolved()).is_empty());
}

#[test]
fn rejected_and_unfilled_cancels_free_the_budget_but_partial_fills_do_not() {
    let dir = tempfile::tempdir().unwrap();
    let j = open(&dir);
    for (coid, status, filled) in
        [("r", "rejected", None), ("c", "cancelled", None), ("p", "cancelled", Some(dec!(0.1)))]
    {
        j.append(buy(&j, RecordKind::Intent, coid, t(15, 0, 0), "pending")).unwrap();
        let mut o = buy(&j, RecordKind::Outcome, coid, t(15, 0, 1), status);
        o.order_id = Some(format!("id-{coid}"));
        o.filled_quantity = filled.map(Qty);
        j.append(o).unwrap();
    }
    assert_eq!(j.with_index(|i| i.spent_on(j.day_of(t(15, 0, 0)))), dec!(50));
}

#[test]
fn day_boundary_is_the_journal_time_zone() {
    let dir = tempfile::tempdir().unwrap();
    let j = open(&dir);
    // 04:30 UTC on the 25th is 23:30 in New York on the 24th.
    let late = Utc.with_ymd_and_hms(2026, 11, 25, 4, 30, 0).unwrap();
    j.append(buy(&j, RecordKind::Intent, "a", late, "pending")).unwrap();
    assert_eq!(j.with_index(|i| i.spent_on(NaiveDate::from_ymd_opt(2026, 11, 24).unwrap())), dec!(50));
    assert_eq!(j.with_index(|i| i.spent_on(NaiveDate::from_ymd_opt(2026, 11, 25).unwrap())), dec!(0));
}

#[test]
fn crash_between_intent_and_outcome_blocks_until_resolved_and_survives_restart() {
    let dir = tempfile::tempdir().unwrap();
    {
        let j = open(&dir);
        j.append(buy(&j, RecordKind::Intent, "lost", t(15, 0, 0), "pending")).unwrap();
        // The process dies here: no outcome line.
    }
    let j = open(&dir);
    let u = j.with_index(|i| i.unresolved());
    assert_eq!(u.len(), 1);
    assert_eq!(u[0].fingerprint.as_deref(), Some("AAPL|BUY|MKT|cash=50"));
    // An error outcome does not resolve it either.
    let mut err = buy(&j, RecordKind::Outcome, "lost", t(15, 0, 5), "error");
    err.message = Some("read timeout".into());
    j.append(err).unwrap();
    assert_eq!(j.with_index(|i| i.unresolved()).len(), 1);
    j.append(JournalRecord {
        timestamp: j.timestamp(t(15, 1, 0)),
        kind: RecordKind::Resolution,
        client_order_id: Some("lost".into()),
        status: "unknown".into(),
        ..Default::default()
    })
    .unwrap();
    assert!(j.with_index(|i| i.unresolved()).is_empty());
}

#[test]
fn duplicate_window_ignores_rejected_orders_and_old_ones() {
    let dir = tempfile::tempdir().unwrap();
    let j = open(&dir);
    let fp = "AAPL|BUY|MKT|cash=50";
    let w = Duration::seconds(5);
    j.append(buy(&j, RecordKind::Intent, "a", t(15, 0, 0), "pending")).unwrap();
    assert!(j.with_index(|i| i.recent_duplicate(fp, t(15, 0, 4), w)).is_some());
    assert!(j.with_index(|i| i.recent_duplicate(fp, t(15, 0, 6), w)).is_none());
    assert!(j.with_index(|i| i.recent_duplicate(fp, t(15, 0, 4), Duration::zero())).is_none());
    let mut rej = buy(&j, RecordKind::Outcome, "a", t(15, 0, 1), "rejected");
    rej.order_id = None;
    j.append(rej).unwrap();
    assert!(j.with_index(|i| i.recent_duplicate(fp, t(15, 0, 4), w)).is_none());
}

#[test]
fn corrupt_and_torn_lines_are_reported_and_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("trades.jsonl");
    {
        let j = open(&dir);
        j.append(buy(&j, RecordKind::Intent, "a", t(15, 0, 0), "pending")).unwrap();
    }
    // A garbage line, then a torn write with no newline.
    let mut f = OpenOptions::new().append(true).open(&path).unwrap();
    f.write_all(b"not json at all\n{\"timestamp\": \"2026-11-24T10:00").unwrap();
    drop(f);
    let j = open(&dir);
    assert_eq!(j.integrity().corrupt_lines, vec![2, 3]);
    assert_eq!(j.with_index(|i| i.unresolved()).len(), 1);
    // Appending after a torn line starts a fresh, parseable line.
    j.append(buy(&j, RecordKind::Outcome, "a", t(15, 0, 2), "filled")).unwrap();
    let (recs, corrupt) = j.tail(0).unwrap();
    assert_eq!(corrupt, 2);
    assert_eq!(recs.len(), 2);
    assert_eq!(recs[1].status, "filled");
}

#[test]
fn hash_chain_detects_an_edited_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("trades.jsonl");
    {
        let j = open(&dir);
        for (k, s) in [("a", 0), ("b", 10), ("c", 20)] {
            j.append(buy(&j, RecordKind::Intent, k, t(15, 0, s), "pending")).unwrap();
        }
        assert!(j.integrity().is_clean());
    }
    let reopened = open(&dir);
    assert!(reopened.integrity().is_clean(), "an untouched journal verifies");
    drop(reopened);
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replacen("\"cash_qty\":\"50\"", "\"cash_qty\":\"5\"", 1)).unwrap();
    let j = open(&dir);
    assert_eq!(j.integrity().chain_breaks, vec![2], "the line after the edit no longer chains");
    // Removing a middle line is detected too.
    drop(j);
    let lines: Vec<_> = std::fs::read_to_string(&path).unwrap().lines().map(str::to_string).collect();
    std::fs::write(&path, format!("{}\n{}\n", lines[0], lines[2])).unwrap();
    let j = open(&dir);
    assert_eq!(j.integrity().chain_breaks, vec![2]);
}

#[test]
fn second_writer_is_refused_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let _first = open(&dir);
    let err = Journal::open(&dir.path().join("trades.jsonl"), New_York).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("another tradegate server is already using the journal"), "{msg}");
    assert!(msg.contains("TRADE_JOURNAL_PATH"), "{msg}");
}

#[test]
fn lock_is_released_when_the_journal_closes() {
    let dir = tempfile::tempdir().unwrap();
    drop(open(&dir));
    let _again = open(&dir);
}

#[test]
fn timestamps_are_in_the_journal_zone_with_microseconds() {
    let dir = tempfile::tempdir().unwrap();
    let j = open(&dir);
    assert_eq!(j.timestamp(t(15, 0, 0)), "2026-11-24T10:00:00.000000-05:00");
}

#[test]
fn tail_returns_the_last_n() {
    let dir = tempfile::tempdir().unwrap();
    let j = open(&dir);
    for n in 0..5 {
        j.append(buy(&j, RecordKind::Intent, &format!("c{n}"), t(15, 0, n * 10), "pending")).unwrap();
    }
    let (recs, _) = j.tail(2).unwrap();
    assert_eq!(recs.iter().map(|r| r.client_order_id.clone().unwrap()).collect::<Vec<_>>(), vec!["c3", "c4"]);
}

#[test]
fn call_lines_are_chained_audit_that_the_index_ignores() {
    let dir = tempfile::tempdir().unwrap();
    let j = open(&dir);
    // A call line that even looks like a sent buy must not count toward spend or open a dispatch.
    let call = JournalRecord {
        kind: RecordKind::Call,
        tool: Some("buy".into()),
        caller: Some("tgc_client".into()),
        ..buy(&j, RecordKind::Call, "c", t(15, 0, 0), "ok")
    };
    j.append_audit(call).unwrap();
    j.append(buy(&j, RecordKind::Intent, "a", t(15, 0, 1), "pending")).unwrap();
    let day = j.day_of(t(15, 0, 0));
    assert_eq!(j.with_index(|i| i.spent_on(day)), dec!(50), "only the real intent counts");
    assert_eq!(j.with_index(|i| i.unresolved().len()), 1);
    drop(j);
    let j = open(&dir);
    assert!(j.integrity().is_clean(), "call lines are part of the chain");
    let (lines, _) = j.tail(0).unwrap();
    assert_eq!((lines[0].tool.as_deref(), lines[0].caller.as_deref()), (Some("buy"), Some("tgc_client")));
    assert_eq!(j.with_index(|i| i.spent_on(day)), dec!(50));
}

#[test]
fn invalid_utf8_is_corrupt_never_dropped_and_damage_waits_for_acknowledgement() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.jsonl");
    {
        let j = Journal::open(&path, chrono_tz::UTC).unwrap();
        j.append(JournalRecord { status: "pending".into(), ..Default::default() }).unwrap();
    }
    let mut raw = std::fs::read(&path).unwrap();
    raw.extend_from_slice(b"{\"kind\":\"outcome\",\"status\":\"filled\xff\xfe\"}\n");
    std::fs::write(&path, raw).unwrap();
    let j = Journal::open(&path, chrono_tz::UTC).unwrap();
    let i = j.integrity();
    assert_eq!((i.lines, i.corrupt_lines.clone()), (2, vec![2]), "the non-UTF-8 line is counted and listed");
    let why = i.refusal(&path, "ibkr-mcp").unwrap();
    assert!(why.contains("line(s) 2") && why.contains("ibkr-mcp journal acknowledge"), "{why}");
    let before = j.acknowledge(chrono::Utc::now(), "owner").unwrap();
    assert_eq!(before.corrupt_lines, vec![2]);
    assert!(j.integrity().refusal(&path, "ibkr-mcp").is_none(), "acknowledged: entries resume");
    assert_eq!(j.integrity().lines, 3, "lines are counted live");
    drop(j);
    let j = Journal::open(&path, chrono_tz::UTC).unwrap();
    assert!(j.integrity().refusal(&path, "ibkr-mcp").is_none(), "the acknowledgement survives a restart");
    assert_eq!(j.integrity().corrupt_lines, vec![2], "and the damage stays on record");
}
