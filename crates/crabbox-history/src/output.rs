//! The bounded in-memory tail of a run's combined output, filled while streaming
//! and stored when the run finishes.

use std::collections::VecDeque;

/// How much output a run keeps: the last 8 MiB, matching the coordinator's cap.
pub const DEFAULT_LOG_LIMIT: usize = 8 * 1024 * 1024;

/// Keeps only the last `limit` bytes pushed into it.
///
/// A ring buffer rather than a growing `Vec`, so each push costs time in the size
/// of that push, never in the size of everything already seen.
#[derive(Debug, Clone)]
pub struct OutputLog {
    buffer: VecDeque<u8>,
    limit: usize,
    total_bytes: u64,
}

impl OutputLog {
    pub fn new(limit: usize) -> Self {
        Self {
            buffer: VecDeque::new(),
            limit,
            total_bytes: 0,
        }
    }

    pub fn push(&mut self, bytes: &[u8]) {
        self.total_bytes = self
            .total_bytes
            .saturating_add(u64::try_from(bytes.len()).unwrap_or(u64::MAX));
        if bytes.len() >= self.limit {
            // The new chunk alone fills the window; clearing a byte buffer is O(1).
            self.buffer.clear();
            self.buffer.extend(&bytes[bytes.len() - self.limit..]);
            return;
        }
        let overflow = (self.buffer.len() + bytes.len()).saturating_sub(self.limit);
        // `overflow` never exceeds `bytes.len()`, so dropping the oldest bytes stays
        // proportional to this push.
        self.buffer.drain(..overflow);
        self.buffer.extend(bytes);
    }

    /// True once any pushed byte has been dropped.
    pub fn truncated(&self) -> bool {
        self.total_bytes > self.buffer.len() as u64
    }

    /// Every byte ever pushed, including the ones no longer kept.
    pub fn total_bytes(&self) -> u64 {
        self.total_bytes
    }

    pub fn limit(&self) -> usize {
        self.limit
    }

    /// The retained bytes, oldest first.
    pub fn contents(&self) -> Vec<u8> {
        let (front, back) = self.buffer.as_slices();
        let mut contents = Vec::with_capacity(self.buffer.len());
        contents.extend_from_slice(front);
        contents.extend_from_slice(back);
        contents
    }
}

impl Default for OutputLog {
    fn default() -> Self {
        Self::new(DEFAULT_LOG_LIMIT)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_everything_under_the_limit() {
        let mut log = OutputLog::new(10);
        log.push(b"hello ");
        log.push(b"bye");
        assert_eq!(log.contents(), b"hello bye");
        assert!(!log.truncated());
        assert_eq!(log.total_bytes(), 9);
    }

    #[test]
    fn keeps_the_last_bytes_over_the_limit() {
        let mut log = OutputLog::new(4);
        log.push(b"abc");
        log.push(b"def");
        assert_eq!(log.contents(), b"cdef");
        log.push(b"0123456789");
        assert_eq!(log.contents(), b"6789");
        assert!(log.truncated());
        assert_eq!(log.total_bytes(), 16);
    }

    #[test]
    fn zero_limit_keeps_nothing() {
        let mut log = OutputLog::new(0);
        assert!(!log.truncated());
        log.push(b"x");
        assert!(log.contents().is_empty());
        assert!(log.truncated());
    }

    #[test]
    fn default_limit_is_eight_mebibytes() {
        assert_eq!(OutputLog::default().limit(), 8 * 1024 * 1024);
    }
}
