//! Crash points for the kill -9 matrix (RELIABILITY.md). With the `crash-points` feature, which
//! only the end-to-end tests turn on, `TRADEGATE_CRASH_AT=<point>` kills the process with
//! SIGKILL at that point of the order path, as a power cut or an OOM kill would; without the
//! feature (every build a user runs) a point is nothing at all.

/// The points, in the order an order passes them.
pub const POINTS: [&str; 5] = ["after_intent", "after_post", "mid_reply", "after_ack", "after_outcome"];

#[cfg(feature = "crash-points")]
pub fn point(name: &str) {
    if std::env::var("TRADEGATE_CRASH_AT").is_ok_and(|p| p == name) {
        let pid = std::process::id().to_string();
        let _ = std::process::Command::new("kill").args(["-9", &pid]).status();
        // kill(1) failed to run: the next best thing, without unwinding or flushing.
        std::process::abort();
    }
}

#[cfg(not(feature = "crash-points"))]
#[inline(always)]
pub fn point(_name: &str) {}
