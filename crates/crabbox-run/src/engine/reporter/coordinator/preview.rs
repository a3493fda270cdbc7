//! Pure text shaping for coordinator recording: live output previews (≤16 KiB
//! events, ≤64 KiB per run, then one truncation marker) and the final log split
//! into ≤1 MiB chunks, all cut on UTF-8 boundaries.

use crabbox_ssh::Stream;

/// Largest `data` of one `stdout`/`stderr` event.
pub const PREVIEW_CHUNK: usize = 16 * 1024;
/// Preview bytes one run may post in total.
pub const PREVIEW_LIMIT: usize = 64 * 1024;
/// Largest element of `logChunks` in the finish body.
pub const LOG_CHUNK: usize = 1024 * 1024;

/// One event the batcher wants posted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Preview {
    Output {
        stream: Stream,
        data: String,
    },
    /// Sent once, when output beyond the limit was dropped.
    Truncated,
}

/// Collects output between flushes and turns it into preview events.
#[derive(Debug)]
pub struct Previews {
    /// Output not posted yet, consecutive bytes of one stream merged.
    pending: Vec<(Stream, Vec<u8>)>,
    emitted: usize,
    truncated: bool,
    chunk: usize,
    limit: usize,
}

impl Default for Previews {
    fn default() -> Self {
        Previews::with_limits(PREVIEW_CHUNK, PREVIEW_LIMIT)
    }
}

/// The length of the longest prefix of `bytes` no longer than `max` that does not
/// split a UTF-8 sequence; `max` itself when backing off would leave nothing
/// (invalid input is passed through lossily rather than stalling).
fn boundary(bytes: &[u8], max: usize) -> usize {
    if max >= bytes.len() {
        return bytes.len();
    }
    let mut cut = max;
    while cut > 0 && max - cut < 4 && bytes[cut] & 0xC0 == 0x80 {
        cut -= 1;
    }
    if cut == 0 || max - cut >= 4 {
        max
    } else {
        cut
    }
}

/// Where an incomplete UTF-8 sequence at the end of `bytes` starts (its length
/// when the text ends cleanly).
fn complete_prefix(bytes: &[u8]) -> usize {
    for back in 1..=bytes.len().min(3) {
        let byte = bytes[bytes.len() - back];
        if byte & 0xC0 == 0x80 {
            continue;
        }
        let width = match byte {
            0xC0..=0xDF => 2,
            0xE0..=0xEF => 3,
            0xF0..=0xF7 => 4,
            _ => 1,
        };
        return if width > back {
            bytes.len() - back
        } else {
            bytes.len()
        };
    }
    bytes.len()
}

/// `text` cut to at most `max` bytes on a character boundary.
pub fn bounded(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut cut = max;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
    }
    text
}

/// Lossy text of `bytes`, never longer than `max` bytes.
fn text(bytes: &[u8], max: usize) -> String {
    bounded(String::from_utf8_lossy(bytes).into_owned(), max)
}

impl Previews {
    pub fn with_limits(chunk: usize, limit: usize) -> Previews {
        Previews {
            pending: Vec::new(),
            emitted: 0,
            truncated: false,
            chunk,
            limit,
        }
    }

    pub fn push(&mut self, stream: Stream, bytes: &[u8]) {
        if self.truncated || bytes.is_empty() {
            return;
        }
        match self.pending.last_mut() {
            Some((last, buffer)) if *last == stream => buffer.extend_from_slice(bytes),
            _ => self.pending.push((stream, bytes.to_vec())),
        }
    }

    /// Bytes waiting for the next flush.
    pub fn pending_bytes(&self) -> usize {
        self.pending.iter().map(|(_, bytes)| bytes.len()).sum()
    }

    /// Whether a full chunk is waiting (flush now rather than at the next tick).
    pub fn chunk_ready(&self) -> bool {
        self.pending_bytes() >= self.chunk
    }

    /// Turns pending output into events. Unless `last`, an incomplete UTF-8
    /// sequence at the very end waits for the bytes that complete it.
    pub fn take(&mut self, last: bool) -> Vec<Preview> {
        let segments = std::mem::take(&mut self.pending);
        let count = segments.len();
        let mut out = Vec::new();
        for (index, (stream, bytes)) in segments.into_iter().enumerate() {
            if self.truncated {
                break;
            }
            let ready = if last || index + 1 < count {
                bytes.len()
            } else {
                complete_prefix(&bytes)
            };
            let mut rest = &bytes[..ready];
            while !rest.is_empty() {
                let room = self.limit - self.emitted;
                if room == 0 {
                    self.truncate(&mut out);
                    break;
                }
                let want = rest.len().min(self.chunk).min(room);
                let cut = if want < rest.len() {
                    boundary(rest, want)
                } else {
                    want
                };
                out.push(Preview::Output {
                    stream,
                    data: text(&rest[..cut], self.chunk),
                });
                self.emitted += cut;
                rest = &rest[cut..];
                // The character split at the limit does not fit any more.
                if cut < want && want == room {
                    self.truncate(&mut out);
                    break;
                }
            }
            if !self.truncated && ready < bytes.len() {
                self.pending.push((stream, bytes[ready..].to_vec()));
            }
        }
        out
    }

    fn truncate(&mut self, out: &mut Vec<Preview>) {
        self.truncated = true;
        self.pending.clear();
        out.push(Preview::Truncated);
    }
}

/// The retained log as text chunks of at most `max` bytes, split between
/// characters.
pub fn log_chunks(bytes: &[u8], max: usize) -> Vec<String> {
    let text = String::from_utf8_lossy(bytes);
    let mut chunks = Vec::new();
    let mut rest: &str = &text;
    while !rest.is_empty() {
        let mut cut = rest.len().min(max);
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        if cut == 0 {
            // A single character wider than `max`: send it whole.
            cut = rest.chars().next().map_or(rest.len(), char::len_utf8);
        }
        chunks.push(rest[..cut].to_string());
        rest = &rest[cut..];
    }
    chunks
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sizes(events: &[Preview]) -> Vec<usize> {
        events
            .iter()
            .map(|event| match event {
                Preview::Output { data, .. } => data.len(),
                Preview::Truncated => 0,
            })
            .collect()
    }

    #[test]
    fn output_is_cut_into_sixteen_kib_events() {
        let mut previews = Previews::default();
        previews.push(Stream::Stdout, &vec![b'a'; 40 * 1024]);
        assert!(previews.chunk_ready());
        let events = previews.take(false);
        assert_eq!(sizes(&events), vec![16 * 1024, 16 * 1024, 8 * 1024]);
        assert!(events.iter().all(|event| matches!(
            event,
            Preview::Output {
                stream: Stream::Stdout,
                ..
            }
        )));
        assert_eq!(previews.pending_bytes(), 0);
    }

    #[test]
    fn the_run_is_capped_at_sixty_four_kib_then_marked_truncated_once() {
        let mut previews = Previews::default();
        previews.push(Stream::Stdout, &vec![b'x'; 60 * 1024]);
        let first = previews.take(false);
        assert_eq!(sizes(&first).iter().sum::<usize>(), 60 * 1024);
        previews.push(Stream::Stderr, &vec![b'y'; 10 * 1024]);
        let second = previews.take(false);
        assert_eq!(
            second,
            vec![
                Preview::Output {
                    stream: Stream::Stderr,
                    data: "y".repeat(4 * 1024),
                },
                Preview::Truncated,
            ]
        );
        previews.push(Stream::Stdout, b"more");
        assert!(previews.take(true).is_empty(), "nothing after the marker");
    }

    #[test]
    fn exactly_the_limit_is_not_truncated() {
        let mut previews = Previews::with_limits(4, 8);
        previews.push(Stream::Stdout, b"12345678");
        let events = previews.take(true);
        assert_eq!(sizes(&events), vec![4, 4]);
        assert!(!events.contains(&Preview::Truncated));
    }

    #[test]
    fn streams_keep_their_order_and_merge_when_adjacent() {
        let mut previews = Previews::default();
        previews.push(Stream::Stdout, b"a");
        previews.push(Stream::Stdout, b"b");
        previews.push(Stream::Stderr, b"c");
        previews.push(Stream::Stdout, b"d");
        let events = previews.take(false);
        let expected = [
            (Stream::Stdout, "ab"),
            (Stream::Stderr, "c"),
            (Stream::Stdout, "d"),
        ];
        assert_eq!(events.len(), expected.len());
        for (event, (stream, data)) in events.iter().zip(expected) {
            assert_eq!(
                event,
                &Preview::Output {
                    stream,
                    data: data.to_string()
                }
            );
        }
    }

    #[test]
    fn multibyte_characters_are_never_split() {
        // "é" is two bytes; a 3-byte chunk holds one of them plus one spare byte.
        let mut previews = Previews::with_limits(3, 100);
        previews.push(Stream::Stdout, "ééé".as_bytes());
        let events = previews.take(true);
        assert_eq!(sizes(&events), vec![2, 2, 2]);
        // An incomplete tail waits for its continuation unless this is the last flush.
        let mut previews = Previews::default();
        let crab = "🦀".as_bytes();
        previews.push(Stream::Stdout, &crab[..2]);
        assert!(previews.take(false).is_empty());
        previews.push(Stream::Stdout, &crab[2..]);
        assert_eq!(
            previews.take(false),
            vec![Preview::Output {
                stream: Stream::Stdout,
                data: "🦀".into()
            }]
        );
        // At the limit the split character is dropped and the run marked truncated.
        let mut previews = Previews::with_limits(16, 3);
        previews.push(Stream::Stdout, "aéé".as_bytes());
        assert_eq!(
            previews.take(true),
            vec![
                Preview::Output {
                    stream: Stream::Stdout,
                    data: "aé".into()
                },
                Preview::Truncated
            ]
        );
    }

    #[test]
    fn logs_split_into_bounded_chunks_on_character_boundaries() {
        assert!(log_chunks(b"", 4).is_empty());
        assert_eq!(log_chunks(b"abcdefghij", 4), vec!["abcd", "efgh", "ij"]);
        let chunks = log_chunks("aéé".as_bytes(), 2);
        assert_eq!(chunks, vec!["a", "é", "é"]);
        let big = vec![b'z'; 2 * LOG_CHUNK + 5];
        let chunks = log_chunks(&big, LOG_CHUNK);
        assert_eq!(
            chunks.iter().map(String::len).collect::<Vec<_>>(),
            vec![LOG_CHUNK, LOG_CHUNK, 5]
        );
    }
}
