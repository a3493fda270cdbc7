//! Two processes appending to one run must never hand out the same sequence number.

use std::sync::{Arc, Barrier};
use std::thread;

use crabbox_history::{History, NewEvent, NewRun};
use tempfile::TempDir;

const EVENTS_PER_WRITER: usize = 200;

#[test]
fn concurrent_appends_get_distinct_gapless_seqs() {
    let directory = TempDir::new().unwrap();
    let path = directory.path().join("history.sqlite");
    let run_id = "run_abcdef012345";
    History::open(&path)
        .unwrap()
        .start_run(
            &NewRun {
                id: run_id.to_owned(),
                command: vec!["true".to_owned()],
                ..NewRun::default()
            },
            0,
        )
        .unwrap();

    let barrier = Arc::new(Barrier::new(2));
    let writers: Vec<_> = ["first", "second"]
        .into_iter()
        .map(|writer| {
            let path = path.clone();
            let barrier = Arc::clone(&barrier);
            thread::spawn(move || {
                // Each writer has its own connection, as separate processes would.
                let history = History::open(&path).unwrap();
                barrier.wait();
                (0..EVENTS_PER_WRITER)
                    .map(|index| {
                        let event = NewEvent {
                            kind: "stdout".to_owned(),
                            message: format!("{writer} {index}"),
                            ..NewEvent::default()
                        };
                        history.append_event(run_id, &event, 1).unwrap()
                    })
                    .collect::<Vec<u64>>()
            })
        })
        .collect();
    let mut seqs: Vec<u64> = Vec::new();
    for writer in writers {
        let returned = writer.join().unwrap();
        // Each writer sees its own appends in increasing order.
        assert!(returned.windows(2).all(|pair| pair[0] < pair[1]));
        seqs.extend(returned);
    }
    seqs.sort_unstable();
    let expected: Vec<u64> = (1..=(2 * EVENTS_PER_WRITER) as u64).collect();
    assert_eq!(seqs, expected);

    let history = History::open(&path).unwrap();
    let stored = history.events(run_id, 0, 0).unwrap();
    assert_eq!(
        stored.iter().map(|event| event.seq).collect::<Vec<_>>(),
        expected
    );
    for writer in ["first", "second"] {
        let messages: Vec<_> = stored
            .iter()
            .filter_map(|event| event.message.strip_prefix(writer))
            .collect();
        assert_eq!(messages.len(), EVENTS_PER_WRITER, "{writer}");
    }
    assert_eq!(
        history.get_run(run_id).unwrap().unwrap().event_count,
        (2 * EVENTS_PER_WRITER) as u64
    );
}
