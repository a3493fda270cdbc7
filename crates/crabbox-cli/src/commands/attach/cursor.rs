//! The last printed sequence number, and which events of a page or push are new.

use crabbox_proto::wire::RunEventRecord;

/// Events are printed in sequence order, each at most once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    last: i64,
}

/// What `Cursor::take` accepted.
#[derive(Debug)]
pub struct Taken<'a> {
    /// The events to print, in order.
    pub fresh: Vec<&'a RunEventRecord>,
    /// A contiguous read stopped at a missing sequence number.
    pub gap: bool,
}

impl Cursor {
    pub fn new(after: i64) -> Cursor {
        Cursor { last: after.max(0) }
    }

    /// The last sequence number printed (or the `--after` start).
    pub fn last(&self) -> i64 {
        self.last
    }

    /// The events after the cursor, advancing past them. Already printed ones are
    /// skipped; with `contiguous` the take stops before a missing number, so a push
    /// that overtook the backlog is never printed ahead of it.
    pub fn take<'a>(&mut self, events: &'a [RunEventRecord], contiguous: bool) -> Taken<'a> {
        let mut fresh = Vec::new();
        let mut gap = false;
        for event in events {
            if event.seq <= self.last {
                continue;
            }
            if contiguous && event.seq != self.last + 1 {
                gap = true;
                break;
            }
            self.last = event.seq;
            fresh.push(event);
        }
        Taken { fresh, gap }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(seqs: &[i64]) -> Vec<RunEventRecord> {
        seqs.iter()
            .map(|&seq| RunEventRecord {
                seq,
                ..RunEventRecord::default()
            })
            .collect()
    }

    fn seqs(taken: &Taken<'_>) -> Vec<i64> {
        taken.fresh.iter().map(|event| event.seq).collect()
    }

    /// One `take`: where the cursor starts, the page, whether it must be
    /// contiguous, what is taken, whether a gap stopped it, where the cursor ends.
    struct Case {
        start: i64,
        page: &'static [i64],
        contiguous: bool,
        taken: &'static [i64],
        gap: bool,
        end: i64,
    }

    const fn case(
        start: i64,
        page: &'static [i64],
        contiguous: bool,
        taken: &'static [i64],
        gap: bool,
        end: i64,
    ) -> Case {
        Case {
            start,
            page,
            contiguous,
            taken,
            gap,
            end,
        }
    }

    #[test]
    fn nothing_is_taken_twice_and_gaps_stop_contiguous_reads() {
        let table = [
            case(0, &[1, 2, 3], true, &[1, 2, 3], false, 3),
            case(2, &[1, 2, 3, 4], true, &[3, 4], false, 4),
            case(2, &[2], true, &[], false, 2),
            case(2, &[4, 5], true, &[], true, 2),
            case(2, &[3, 5, 6], true, &[3], true, 3),
            case(2, &[4, 5], false, &[4, 5], false, 5),
            case(5, &[], true, &[], false, 5),
        ];
        for case in table {
            let page = events(case.page);
            let mut cursor = Cursor::new(case.start);
            let got = cursor.take(&page, case.contiguous);
            assert_eq!(seqs(&got), case.taken, "from {}: {page:?}", case.start);
            assert_eq!(got.gap, case.gap, "from {}", case.start);
            assert_eq!(cursor.last(), case.end, "from {}", case.start);
        }
    }

    #[test]
    fn a_replayed_stream_prints_each_event_once() {
        // Socket pages, a resubscribe that repeats some, then HTTP pages overlapping.
        let batches: [(&[i64], bool); 4] = [
            (&[1, 2, 3], true),
            (&[2, 3, 4, 5], true),
            (&[5, 6], false),
            (&[7, 8], false),
        ];
        let mut cursor = Cursor::new(0);
        let mut printed = Vec::new();
        for (page, contiguous) in batches {
            let page = events(page);
            printed.extend(seqs(&cursor.take(&page, contiguous)));
        }
        assert_eq!(printed, (1..=8).collect::<Vec<i64>>());
    }
}
