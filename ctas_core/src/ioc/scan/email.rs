//! E-mail addresses, `user@host` and `user@[192.0.2.1]`.

use super::dotted::{ipv4, is_domain, quad};
use super::{is_alnum, lower, text, Scanner};
use crate::ioc::IocKind;

impl Scanner<'_, '_> {
    pub(super) fn emails(&mut self, a: usize, b: usize, done: &mut Vec<(usize, usize)>) {
        let s = self.s;
        let mut t = a;
        while let Some(k) = memchr::memchr(b'@', &s[t..b]) {
            let at = t + k;
            t = at + 1;
            let mut l = at;
            while l > a
                && (is_alnum(s[l - 1]) || matches!(s[l - 1], b'.' | b'_' | b'%' | b'+' | b'-'))
            {
                l -= 1;
            }
            while l < at && matches!(s[l], b'.' | b'-') {
                l += 1;
            }
            if l == at || s[at - 1] == b'.' {
                continue;
            }
            // user@[192.0.2.1]: the bracket ends the segment, so read on from the text.
            if at + 1 == b && s.get(b) == Some(&b'[') {
                if let Some(k) = s[b..s.len().min(b + 17)].iter().position(|&c| c == b']') {
                    if let Some(o) = ipv4(&s[b + 1..b + k]) {
                        let value = format!("{}@[{}]", text(&s[l..at]), quad(o));
                        self.emit(IocKind::Email, l, b + k + 1, value);
                        self.resume = b + k + 1;
                        done.push((l, b));
                    }
                }
                continue;
            }
            let mut d = at + 1;
            while d < b && (is_alnum(s[d]) || matches!(s[d], b'.' | b'-' | b'_')) {
                d += 1;
            }
            while d > at + 1 && matches!(s[d - 1], b'.' | b'-') {
                d -= 1;
            }
            if !is_domain(&s[at + 1..d]) {
                continue;
            }
            let value = format!("{}@{}", text(&s[l..at]), lower(&s[at + 1..d]));
            self.emit(IocKind::Email, l, d, value);
            done.push((l, d));
            t = d;
        }
    }
}
