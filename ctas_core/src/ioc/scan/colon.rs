//! The forms built around `:`: IPv6 addresses (and their CIDR blocks), MAC addresses
//! and ssdeep hashes.

use std::net::Ipv6Addr;
use std::str::FromStr;

use super::{is_alnum, text, Scanner};
use crate::ioc::IocKind;

/// `hh:hh:hh:hh:hh:hh`, `hh-hh-…` or `hhhh.hhhh.hhhh`, normalised to lower case with colons.
pub(super) fn mac(w: &[u8]) -> Option<String> {
    let hex: Vec<u8> = match w.len() {
        17 if (w[2] == b':' || w[2] == b'-')
            && (0..6).all(|g| w[3 * g..3 * g + 2].iter().all(u8::is_ascii_hexdigit))
            && (0..5).all(|g| w[3 * g + 2] == w[2]) =>
        {
            (0..6).flat_map(|g| w[3 * g..3 * g + 2].to_vec()).collect()
        }
        14 if w[4] == b'.'
            && w[9] == b'.'
            && (0..3).all(|g| w[5 * g..5 * g + 4].iter().all(u8::is_ascii_hexdigit)) =>
        {
            (0..3).flat_map(|g| w[5 * g..5 * g + 4].to_vec()).collect()
        }
        _ => return None,
    };
    let hex = hex.to_ascii_lowercase();
    let pairs: Vec<String> = hex.chunks(2).map(text).collect();
    Some(pairs.join(":"))
}

impl Scanner<'_, '_> {
    /// IPv6 addresses, MAC addresses with colons and ssdeep hashes: the forms built
    /// around `:`.
    pub(super) fn colon_forms(&mut self, a: usize, b: usize, done: &mut Vec<(usize, usize)>) {
        let s = self.s;
        // `done` holds the e-mails of this segment, in order and apart: one pointer
        // walks it, so a segment of many e-mails stays linear.
        let emails = std::mem::take(done);
        let mut d = 0;
        let mut i = a;
        while i < b {
            while d < emails.len() && emails[d].1 <= i {
                d += 1;
            }
            let free = !(d < emails.len() && emails[d].0 <= i);
            if free && s[i].is_ascii_digit() && (i == a || !is_alnum(s[i - 1])) {
                if let Some(e) = self.ssdeep(i, b) {
                    self.emit(IocKind::Ssdeep, i, e, text(&s[i..e]));
                    done.push((i, e));
                    i = e;
                    continue;
                }
            }
            if !(free
                && (s[i].is_ascii_hexdigit() || s[i] == b':')
                && (i == a || !is_alnum(s[i - 1])))
            {
                i += 1;
                continue;
            }
            let mut j = i;
            let mut colons = 0;
            while j < b && (s[j].is_ascii_alphanumeric() || s[j] == b':' || s[j] == b'.') {
                colons += usize::from(s[j] == b':');
                j += 1;
            }
            if colons < 2
                || !s[i..j]
                    .iter()
                    .all(|c| c.is_ascii_hexdigit() || matches!(c, b':' | b'.'))
            {
                i = j.max(i + 1);
                continue;
            }
            let mut e = j;
            while e > i && matches!(s[e - 1], b'.' | b':') && !s[i..e].ends_with(b"::") {
                e -= 1;
            }
            if let Some(m) = mac(&s[i..e]) {
                self.emit(IocKind::Mac, i, e, m);
                done.push((i, e));
            } else if let Some(addr) = std::str::from_utf8(&s[i..e])
                .ok()
                .and_then(|t| Ipv6Addr::from_str(t).ok())
            {
                if s[i..e].iter().any(u8::is_ascii_digit) {
                    self.ipv6(addr, i, e, b, done);
                }
            }
            i = j.max(i + 1);
        }
        done.extend(emails);
    }

    pub(super) fn ipv6(
        &mut self,
        addr: Ipv6Addr,
        i: usize,
        mut e: usize,
        b: usize,
        done: &mut Vec<(usize, usize)>,
    ) {
        let s = self.s;
        let mut value = addr.to_string();
        let mut kind = IocKind::Ipv6;
        if s.get(e) == Some(&b'%') {
            let z = e + 1;
            let mut k = z;
            while k < b && (is_alnum(s[k]) || s[k] == b'.' || s[k] == b'_') {
                k += 1;
            }
            if k > z {
                value.push('%');
                value.push_str(&text(&s[z..k]));
                e = k;
            }
        } else if s.get(e) == Some(&b'/') {
            let z = e + 1;
            let mut k = z;
            while k < b && s[k].is_ascii_digit() {
                k += 1;
            }
            if (1..=3).contains(&(k - z)) && text(&s[z..k]).parse::<u8>().is_ok_and(|p| p <= 128) {
                value = format!("{value}/{}", text(&s[z..k]));
                kind = IocKind::Cidr;
                e = k;
            }
        }
        self.emit(kind, i, e, value);
        done.push((i, e));
    }

    /// `blocksize:hash:hash`, the block size being 3·2^k.
    pub(super) fn ssdeep(&self, i: usize, b: usize) -> Option<usize> {
        let s = self.s;
        let b64 = |c: u8| is_alnum(c) || c == b'/' || c == b'+';
        let mut k = i;
        while k < b && s[k].is_ascii_digit() {
            k += 1;
        }
        let block: u64 = text(&s[i..k]).parse().ok()?;
        if block < 3
            || !block.is_multiple_of(3)
            || !(block / 3).is_power_of_two()
            || s.get(k) != Some(&b':')
        {
            return None;
        }
        let p1 = k + 1;
        let mut q = p1;
        while q < b && b64(s[q]) {
            q += 1;
        }
        if q - p1 < 3 || s.get(q) != Some(&b':') || !s[p1..q].iter().any(u8::is_ascii_alphabetic) {
            return None;
        }
        let p2 = q + 1;
        let mut r = p2;
        while r < b && b64(s[r]) {
            r += 1;
        }
        (r > p2).then_some(r)
    }
}
