//! The IANA root zone: which last labels make a name a domain.
//!
//! Shipped as data (`data/iana-tlds.txt`) rather than fetched, so extraction gives the
//! same answer offline and in every backend. Refresh it with `scripts/update-tlds.sh`.

use std::collections::HashSet;
use std::sync::OnceLock;

const IANA_TLDS: &str = include_str!("../../data/iana-tlds.txt");

fn set() -> &'static HashSet<&'static [u8], ahash::RandomState> {
    static SET: OnceLock<HashSet<&'static [u8], ahash::RandomState>> = OnceLock::new();
    SET.get_or_init(|| {
        IANA_TLDS
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(str::as_bytes)
            .collect()
    })
}

/// Whether `label` (any case) is a top-level domain in the IANA root zone.
pub fn is_tld(label: &[u8]) -> bool {
    let mut buf = [0u8; 64];
    if label.is_empty() || label.len() > buf.len() {
        return false;
    }
    for (d, s) in buf.iter_mut().zip(label) {
        *d = s.to_ascii_lowercase();
    }
    set().contains(&buf[..label.len()])
}

/// How many TLDs the shipped list holds.
pub fn count() -> usize {
    set().len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_root_zone_is_shipped() {
        assert!(count() > 1400, "{}", count());
        for t in ["com", "ORG", "de", "zip", "xn--p1ai", "museum"] {
            assert!(is_tld(t.as_bytes()), "{t}");
        }
        for t in ["exe", "dll", "js", "", "c0m", "localhost"] {
            assert!(!is_tld(t.as_bytes()), "{t}");
        }
    }
}
