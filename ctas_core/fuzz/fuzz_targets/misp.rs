//! Reading a MISP export never panics, whatever the JSON; every item it yields comes
//! back equal from the JSON the router's log stores it as.
#![no_main]

use ctas_core::formats::misp;
use ctas_core::model::Item;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let Ok(doc) = serde_json::from_slice::<serde_json::Value>(bytes) else {
        return;
    };
    let now = "2026-01-01T00:00:00Z".parse().unwrap();
    if let Ok(parsed) = misp::parse(doc, now) {
        for item in parsed.intel.into_items() {
            let json = serde_json::to_vec(&item).unwrap();
            assert_eq!(serde_json::from_slice::<Item>(&json).unwrap(), item);
        }
    }
});
