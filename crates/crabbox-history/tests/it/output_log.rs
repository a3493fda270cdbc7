//! `OutputLog` against a naive "append everything, keep the tail" model.

use crabbox_history::OutputLog;

/// A small deterministic generator, so failures reproduce without a seed flag.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    fn below(&mut self, bound: u64) -> usize {
        (self.next() % bound) as usize
    }
}

fn tail(bytes: &[u8], limit: usize) -> &[u8] {
    &bytes[bytes.len().saturating_sub(limit)..]
}

#[test]
fn matches_a_naive_tail_across_random_pushes() {
    let mut random = Lcg(0x5eed);
    for limit in [0, 1, 7, 64, 1_000, 4_096] {
        let mut log = OutputLog::new(limit);
        let mut everything = Vec::new();
        for step in 0..2_000 {
            // Mostly small chunks, with an occasional one larger than the window.
            let length = if step % 97 == 0 {
                limit + random.below(3 * limit as u64 + 2)
            } else {
                random.below(40)
            };
            let chunk: Vec<u8> = (0..length).map(|_| random.next() as u8).collect();
            log.push(&chunk);
            everything.extend_from_slice(&chunk);

            assert_eq!(
                log.contents(),
                tail(&everything, limit),
                "limit {limit} step {step}"
            );
            assert_eq!(log.total_bytes(), everything.len() as u64);
            assert_eq!(log.truncated(), everything.len() > limit);
        }
    }
}

#[test]
fn keeps_exactly_the_last_eight_mebibytes_of_huge_pushes() {
    let limit = 8 * 1024 * 1024;
    let mut log = OutputLog::default();
    let mut everything = Vec::new();
    for (index, length) in [3 * 1024 * 1024, 5 * 1024 * 1024 + 17, 9 * 1024 * 1024, 11]
        .into_iter()
        .enumerate()
    {
        let chunk: Vec<u8> = (0..length)
            .map(|offset| (offset * 31 + index) as u8)
            .collect();
        log.push(&chunk);
        everything.extend_from_slice(&chunk);
        assert_eq!(log.contents(), tail(&everything, limit), "push {index}");
    }
    assert!(log.truncated());
    assert_eq!(log.contents().len(), limit);
    assert_eq!(log.total_bytes(), everything.len() as u64);
}

#[test]
fn many_small_pushes_stay_fast() {
    // 64 MiB through an 8 MiB window in 4 KiB chunks; quadratic copying would take
    // minutes here, linear work takes well under a second.
    let chunk = vec![b'x'; 4096];
    let mut log = OutputLog::default();
    let started = std::time::Instant::now();
    for _ in 0..(64 * 1024 / 4) {
        log.push(&chunk);
    }
    assert_eq!(log.total_bytes(), 64 * 1024 * 1024);
    assert!(started.elapsed().as_secs() < 10, "{:?}", started.elapsed());
}
