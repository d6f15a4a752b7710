//! Reading a STIX bundle never panics, whatever the bytes; a bundle read from its text
//! is read the same from its parsed tree (unless a member is given twice, which the
//! text reader refuses and a tree cannot see); and every item it yields comes back
//! equal from the JSON the router's log stores it as.
#![no_main]

use ctas_core::formats::stix;
use ctas_core::model::Item;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let now = "2026-01-01T00:00:00Z".parse().unwrap();
    let from_text = stix::parse_slice(bytes, now);
    let unique = !top_level_repeats(bytes);
    if let Some(doc) = serde_json::from_slice::<serde_json::Value>(bytes)
        .ok()
        .filter(|_| unique)
    {
        let from_tree = stix::parse(doc, now);
        assert_eq!(
            from_text.is_ok(),
            from_tree.is_ok(),
            "{from_text:?} / {from_tree:?}"
        );
        if let (Ok(a), Ok(b)) = (&from_text, &from_tree) {
            assert_eq!(a.objects, b.objects);
            assert_eq!(a.intel.counts(), b.intel.counts());
        }
    }
    if let Ok(parsed) = from_text {
        for item in parsed.intel.into_items() {
            let json = serde_json::to_vec(&item).unwrap();
            assert_eq!(serde_json::from_slice::<Item>(&json).unwrap(), item);
        }
    }
});

/// Whether the top-level object names a member twice.
fn top_level_repeats(bytes: &[u8]) -> bool {
    struct Keys;
    impl<'de> serde::de::Visitor<'de> for Keys {
        type Value = bool;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("an object")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
            let mut seen = std::collections::HashSet::new();
            let mut repeats = false;
            while let Some(k) = map.next_key::<String>()? {
                repeats |= !seen.insert(k);
                map.next_value::<serde::de::IgnoredAny>()?;
            }
            Ok(repeats)
        }
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    serde::Deserializer::deserialize_map(&mut de, Keys).unwrap_or(false)
}
