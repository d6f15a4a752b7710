//! Refang and defang never panic; text with nothing to refang comes back from
//! refang(defang(text)) unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let plain = ctas_core::ioc::refang(text);
    let mapped = ctas_core::ioc::refang_mapped(text);
    assert_eq!(mapped.text, plain);
    assert_eq!(mapped.original(plain.len()), text.len());
    if plain == text {
        assert_eq!(ctas_core::ioc::refang(&ctas_core::ioc::defang(text)), text);
    }
});
