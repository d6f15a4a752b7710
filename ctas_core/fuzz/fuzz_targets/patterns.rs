//! Compiling a pattern set never panics, whatever the patterns (one `id<TAB>regex` a
//! line); a compiled set matches text without panicking, each match inside it, and a
//! limit on matches refuses exactly the texts that have more.
#![no_main]

use ctas_core::patterns::PatternSet;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &str| {
    // Small sets: the cost of compiling large ones is bounded by an estimate, not here.
    let input: String = input.chars().take(2048).collect();
    let pairs: Vec<(String, String)> = input
        .lines()
        .enumerate()
        .map(|(i, l)| match l.split_once('\t') {
            Some((id, re)) => (id.to_owned(), re.to_owned()),
            None => (format!("p{i}"), l.to_owned()),
        })
        .collect();
    if let Ok(set) = PatternSet::compile(pairs) {
        let text = "powershell -enc SQBFAFgA beacon.php?id=deadbeef Global\\ABCD 10.0.0.1 ✓";
        let all = set.matches(text, usize::MAX).unwrap();
        for m in &all {
            assert!(m.start <= m.end && m.end <= text.len());
            assert!(m.pattern < set.len());
        }
        // A limit refuses exactly the texts with more matches than it allows.
        let limit = all.len().saturating_sub(1);
        assert_eq!(set.matches(text, limit).is_err(), !all.is_empty());
        assert_eq!(set.matches(text, all.len()).map(|m| m.len()), Ok(all.len()));
    }
});
