//! Cryptocurrency addresses, told apart from hashes and random words by their own
//! checksums: base58check (Bitcoin P2PKH/P2SH), bech32/bech32m (Bitcoin segwit).

use sha2::{Digest, Sha256};

const BASE58: &[u8; 58] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

fn base58_digit(c: u8) -> Option<u8> {
    BASE58.iter().position(|&d| d == c).map(|p| p as u8)
}

pub fn is_base58(s: &[u8]) -> bool {
    s.iter().all(|&c| base58_digit(c).is_some())
}

/// The bytes `s` encodes in base58, when it fits in `N` bytes.
fn base58_decode<const N: usize>(s: &[u8]) -> Option<[u8; N]> {
    let mut out = [0u8; N];
    for &c in s {
        let mut carry = u32::from(base58_digit(c)?);
        for byte in out.iter_mut().rev() {
            carry += u32::from(*byte) * 58;
            *byte = (carry & 0xff) as u8;
            carry >>= 8;
        }
        if carry != 0 {
            return None;
        }
    }
    Some(out)
}

/// A Bitcoin legacy address (P2PKH `1…`, P2SH `3…`) whose base58check checksum holds.
pub fn is_bitcoin_base58(s: &[u8]) -> bool {
    if !(25..=35).contains(&s.len()) || !matches!(s[0], b'1' | b'3') {
        return false;
    }
    let Some(raw) = base58_decode::<25>(s) else {
        return false;
    };
    // Leading '1's stand for leading zero bytes: the count must agree.
    let ones = s.iter().take_while(|&&c| c == b'1').count();
    let zeros = raw.iter().take_while(|&&b| b == 0).count();
    if ones != zeros {
        return false;
    }
    if !matches!(raw[0], 0x00 | 0x05) {
        return false;
    }
    let digest = Sha256::digest(Sha256::digest(&raw[..21]));
    digest[..4] == raw[21..]
}

const BECH32: &[u8; 32] = b"qpzry9x8gf2tvdw0s3jn54khce6mua7l";

fn bech32_polymod(values: impl Iterator<Item = u8>) -> u32 {
    const GEN: [u32; 5] = [
        0x3b6a_57b2,
        0x2650_8e6d,
        0x1ea1_19fa,
        0x3d42_33dd,
        0x2a14_62b3,
    ];
    let mut chk: u32 = 1;
    for v in values {
        let top = chk >> 25;
        chk = ((chk & 0x01ff_ffff) << 5) ^ u32::from(v);
        for (i, g) in GEN.iter().enumerate() {
            if (top >> i) & 1 == 1 {
                chk ^= g;
            }
        }
    }
    chk
}

/// A Bitcoin segwit address (`bc1…`) whose bech32 (v0) or bech32m (v1+) checksum holds.
pub fn is_bitcoin_bech32(s: &[u8]) -> bool {
    if !(14..=74).contains(&s.len()) {
        return false;
    }
    let lower = s.iter().all(|c| !c.is_ascii_uppercase());
    let upper = s.iter().all(|c| !c.is_ascii_lowercase());
    if !(lower || upper) || !s[..3].eq_ignore_ascii_case(b"bc1") {
        return false;
    }
    let mut data = Vec::with_capacity(s.len() - 3);
    for &c in &s[3..] {
        match BECH32.iter().position(|&d| d == c.to_ascii_lowercase()) {
            Some(v) => data.push(v as u8),
            None => return false,
        }
    }
    if data.len() < 7 || data[0] > 16 {
        return false;
    }
    let hrp = b"bc";
    let expanded = hrp
        .iter()
        .map(|c| c >> 5)
        .chain([0])
        .chain(hrp.iter().map(|c| c & 31));
    let check = bech32_polymod(expanded.chain(data.iter().copied()));
    match data[0] {
        0 => check == 1,
        _ => check == 0x2bc8_30a3,
    }
}

/// A Monero address by its form: `4…` (standard) or `8…` (subaddress), 95 base58
/// characters; 106 for an integrated address.
pub fn is_monero(s: &[u8]) -> bool {
    match s.len() {
        95 => {
            matches!(s[0], b'4' | b'8') && matches!(s[1], b'0'..=b'9' | b'A' | b'B') && is_base58(s)
        }
        106 => s[0] == b'4' && is_base58(s),
        _ => false,
    }
}

/// An Ethereum address: `0x` and 40 hex digits.
pub fn is_ethereum(s: &[u8]) -> bool {
    s.len() == 42 && s[0] == b'0' && s[1] | 0x20 == b'x' && s[2..].iter().all(u8::is_ascii_hexdigit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksums_decide() {
        assert!(is_bitcoin_base58(b"1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2"));
        assert!(is_bitcoin_base58(b"3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy"));
        assert!(is_bitcoin_base58(b"1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"));
        // One character changed.
        assert!(!is_bitcoin_base58(b"1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN3"));
        // An MD5 written in base58 letters is not an address.
        assert!(!is_bitcoin_base58(b"1e9a8e1d43b4c3a76b5a8fb1f7a7b0d3"));
        assert!(is_bitcoin_bech32(
            b"bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"
        ));
        assert!(is_bitcoin_bech32(
            b"BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4"
        ));
        assert!(is_bitcoin_bech32(
            b"bc1p5d7rjq7g6rdk2yhzks9smlaqtedr4dekq08ge8ztwac72sfr9rusxg3297"
        ));
        assert!(!is_bitcoin_bech32(
            b"bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdp"
        ));
        assert!(is_monero(
            b"496aKKdqF1xQSSEzw7wNrkZkDUsCD5cSmNCfVhVgEps52WERBcLDGzdF5UugmFoHMm9xRJdewvK2TFfAJNwEV25rTcVF5Vp"
        ));
        assert!(is_ethereum(b"0x52908400098527886E0F7030069857D2E4169EE7"));
    }
}
