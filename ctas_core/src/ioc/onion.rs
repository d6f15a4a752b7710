//! Tor onion services: `.onion` is a special-use name (RFC 7686), not in the IANA root
//! zone, so the TLD check alone would drop every onion address a report names.
//!
//! A name ending in `.onion` is a domain when the label before `onion` is an onion
//! address: version 3 (Tor's rend-spec-v3, section 6: 56 base32 characters holding a
//! 32-byte ed25519 key, a 2-byte checksum and the version byte 3, the checksum the first
//! two bytes of SHA3-256(".onion checksum" || key || version)), or version 2 (16 base32
//! characters, a key hash without a checksum; retired by Tor in 2021, still in older
//! reports). The other special-use names of RFC 6761 (`.test`, `.example`, `.invalid`,
//! `.localhost`) name nothing on the Internet and are not indicators.

use sha3::{Digest, Sha3_256};

/// Whether `label` (any case) is a v3 onion address with a valid checksum, or a v2 one.
pub fn is_onion_address(label: &[u8]) -> bool {
    match label.len() {
        16 => label.iter().all(|&c| base32_value(c).is_some()),
        56 => v3_checksum_holds(label),
        _ => false,
    }
}

/// Whether the labels of a name end in an onion address and `onion`.
pub fn is_onion_name(labels: &[&[u8]]) -> bool {
    match labels {
        [.., address, last] => last.eq_ignore_ascii_case(b"onion") && is_onion_address(address),
        _ => false,
    }
}

/// RFC 4648 base32 (A–Z, 2–7), either case.
fn base32_value(c: u8) -> Option<u8> {
    match c.to_ascii_lowercase() {
        c @ b'a'..=b'z' => Some(c - b'a'),
        c @ b'2'..=b'7' => Some(c - b'2' + 26),
        _ => None,
    }
}

fn v3_checksum_holds(label: &[u8]) -> bool {
    // 56 characters of 5 bits are 35 bytes exactly.
    let mut bytes = [0u8; 35];
    let (mut acc, mut bits, mut n) = (0u32, 0u32, 0usize);
    for &c in label {
        let Some(v) = base32_value(c) else {
            return false;
        };
        acc = (acc << 5) | u32::from(v);
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            bytes[n] = (acc >> bits) as u8;
            n += 1;
            acc &= (1 << bits) - 1;
        }
    }
    let (key, checksum, version) = (&bytes[..32], &bytes[32..34], bytes[34]);
    if version != 3 {
        return false;
    }
    let digest = Sha3_256::new()
        .chain_update(b".onion checksum")
        .chain_update(key)
        .chain_update([version])
        .finalize();
    digest[..2] == *checksum
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v3_addresses_are_checked_v2_by_form() {
        // The Tor Project's own onion service (published at torproject.org), and a
        // character of it changed, which breaks the checksum.
        let tor = b"2gzyxa5ihm7nsggfxnu52rck2vv4rvmdlkiu3zzui5du4xyclen53wid";
        assert!(is_onion_address(tor));
        assert!(is_onion_address(&tor.to_ascii_uppercase()));
        let mut broken = *tor;
        broken[10] = if broken[10] == b'a' { b'b' } else { b'a' };
        assert!(!is_onion_address(&broken));
        assert!(
            is_onion_address(b"expyuzz4wqqyqhjn"),
            "v2: 16 base32 characters"
        );
        assert!(!is_onion_address(b"expyuzz4wqqyqhj1"), "1 is not base32");
        assert!(!is_onion_address(b"example"));
        let labels: Vec<&[u8]> = vec![b"www", tor, b"ONION"];
        assert!(is_onion_name(&labels));
        assert!(!is_onion_name(&[b"example".as_slice(), b"onion"]));
        assert!(!is_onion_name(&[b"onion".as_slice()]));
    }
}
