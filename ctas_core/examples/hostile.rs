fn main() {
    for (name, unit, n) in [
        ("dots", ".", 1usize),
        ("brackets", "[", 1),
        ("hex", "a", 1),
        ("one-dot", "1.", 2),
        ("hxxp", "hxxp[:]//", 9),
        ("colons", "1:", 2),
        ("at", "a@", 2),
        ("hk", "HKLM\\", 5),
        ("slash", "a/", 2),
        ("dash", "a-", 2),
        ("parens", "http://a.com/", 13),
        ("closers", ")", 1),
        ("emails", "a@b.com/", 8),
        ("emails-colon", "a@b.com:", 8),
        ("url-dots", "http://a.com/.", 14),
        ("dot-words", "a dot ", 6),
    ] {
        for size in [100_000usize, 200_000] {
            let text = unit.repeat(size / n);
            let t = std::time::Instant::now();
            let found = ctas_core::ioc::extract(&text);
            println!(
                "{name:10} {size:8} {:8.3} s {}",
                t.elapsed().as_secs_f64(),
                found.len()
            );
        }
    }
}
