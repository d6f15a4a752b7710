//! How much memory a large bundle takes on its way in, counted by the allocator (every
//! byte the router's ingest path asks for, whatever the machine or the timing).
//!
//! MITRE ATT&CK (34 MB of JSON) read by `pipeline::document` — gunzipped, parsed,
//! analysed, encoded into the log entry sled will keep — must never be held twice over:
//! at any moment at most the bundle's text and one other form of it (the parsed objects,
//! or the entry and sled's copy of it), never the text, a tree, the items and the entry
//! at once (that was 4.9 bundles before this was measured).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use axum::body::Bytes;
use ctas_router::knowledge::Knowledge;
use ctas_router::pipeline::{self, BodyFormat, Context};

/// The system allocator, counting the bytes held now and the most held since a reset.
struct Counting;

static HELD: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = HELD.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        HELD.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            if new_size >= layout.size() {
                let grew = new_size - layout.size();
                let now = HELD.fetch_add(grew, Ordering::Relaxed) + grew;
                PEAK.fetch_max(now, Ordering::Relaxed);
            } else {
                HELD.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
            }
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn attack_gz() -> Vec<u8> {
    let dir = std::env::var("CTAS_SHARED_DATA").unwrap_or_else(|_| {
        panic!("CTAS_SHARED_DATA is not set: run the router tests through scripts/test.sh")
    });
    std::fs::read(format!("{dir}/attack/enterprise-attack-v18.1.json.gz")).unwrap()
}

/// The most bytes held above what was held before, while `f` runs on `input`.
fn peak_above_start<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let start = HELD.load(Ordering::Relaxed);
    PEAK.store(start, Ordering::Relaxed);
    let out = f();
    (out, PEAK.load(Ordering::Relaxed) - start)
}

#[test]
fn a_large_bundle_is_never_held_twice_over() {
    let gz = attack_gz();
    let text_len = {
        let mut text = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::MultiGzDecoder::new(&gz[..]), &mut text)
            .unwrap();
        text.len()
    };
    let now = "2026-11-30T00:00:00Z".parse().unwrap();
    let cx = Context {
        now,
        at: now,
        knowledge: Arc::new(Knowledge::default()),
        routing: Arc::default(),
        class: Default::default(),
    };
    for (what, body) in [
        ("as gzip", Bytes::from(gz.clone())),
        ("as JSON", {
            let mut text = Vec::new();
            std::io::Read::read_to_end(&mut flate2::read::MultiGzDecoder::new(&gz[..]), &mut text)
                .unwrap();
            Bytes::from(text)
        }),
    ] {
        let body_len = body.len();
        let (accepted, peak) = peak_above_start(|| {
            pipeline::document(BodyFormat::Json, body, &cx).map_err(|p| format!("{p:?}"))
        });
        let accepted = accepted.unwrap();
        assert_eq!(accepted.prepared.len(), 24_771, "every object of ATT&CK");
        // What the request itself brought is not counted against it.
        let bundles = (peak + body_len) as f64 / text_len as f64;
        eprintln!(
            "ATT&CK {what}: {} bytes in; the most held at once {:.0} MB, {bundles:.2} bundles of {:.0} MB",
            body_len,
            (peak + body_len) as f64 / 1e6,
            text_len as f64 / 1e6
        );
        assert!(
            bundles < 2.3,
            "ATT&CK {what}: {bundles:.2} bundles held at once (at most its text and one other form)"
        );
    }
}
