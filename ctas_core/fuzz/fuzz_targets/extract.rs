//! Extraction never panics, and every span it reports lies on character boundaries of
//! the input, in order, with a non-empty value.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let found = ctas_core::ioc::extract(text);
    let mut last = 0;
    for ioc in &found {
        assert!(ioc.start < ioc.end && ioc.end <= text.len());
        assert!(text.is_char_boundary(ioc.start) && text.is_char_boundary(ioc.end));
        assert!(ioc.start >= last, "matches come in order of position");
        assert!(!ioc.value.is_empty());
        last = ioc.start;
    }
    let _ = ctas_core::ioc::kind_of(text);
});
