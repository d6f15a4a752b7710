//! Windows registry keys (`HKLM\\Software\\…`): found before the segments, since a key's
//! components may hold spaces.

use memchr::memmem;

use super::{is_alnum, text, Scanner};
use crate::ioc::IocKind;

impl Scanner<'_, '_> {
    pub(super) fn registry_keys(&mut self) {
        const HIVES: &[&[u8]] = &[
            b"HKEY_LOCAL_MACHINE",
            b"HKEY_CURRENT_USER",
            b"HKEY_CLASSES_ROOT",
            b"HKEY_CURRENT_CONFIG",
            b"HKEY_PERFORMANCE_DATA",
            b"HKEY_USERS",
            b"HKLM",
            b"HKCU",
            b"HKCR",
            b"HKCC",
            b"HKU",
        ];
        let s = self.s;
        // Only URLs are taken so far: the first `urls` spans, in order.
        let urls = self.taken.len();
        let mut last_end = 0;
        for p in memmem::find_iter(s, b"HK") {
            if p < last_end || (p > 0 && (is_alnum(s[p - 1]) || s[p - 1] == b'_')) {
                continue;
            }
            let inside = &self.taken[..urls];
            let i = inside.partition_point(|&(_, e)| e <= p);
            if i < urls && inside[i].0 <= p {
                continue;
            }
            let Some(hive) = HIVES
                .iter()
                .find(|h| s.len() >= p + h.len() && s[p..p + h.len()].eq_ignore_ascii_case(h))
            else {
                continue;
            };
            let mut q = p + hive.len();
            let mut start = p;
            if p > 0 && s[p - 1] == b'<' && s.get(q) == Some(&b'>') {
                start = p - 1;
                q += 1;
            }
            if s.get(q) == Some(&b':') {
                q += 1; // PowerShell's HKLM:\ drive
            }
            if s.get(q) != Some(&b'\\') {
                continue;
            }
            let comps = self.registry_components(q);
            let Some(&(_, end)) = comps.last() else {
                continue;
            };
            let mut value = text(&s[p..p + hive.len()]);
            for &(a, b) in &comps {
                value.push('\\');
                value.push_str(&text(&s[a..b]));
            }
            self.emit(IocKind::RegistryKey, start, end, value);
            self.taken.push((start, end));
            last_end = end;
        }
    }

    /// The `\`-separated components of a registry path from `c` on. A component may
    /// hold single spaces (`Windows NT`, `Image File Execution Options`) when another
    /// `\` follows; the last one ends at its first space.
    pub(super) fn registry_components(&self, mut c: usize) -> Vec<(usize, usize)> {
        let s = self.s;
        let mut comps = Vec::new();
        loop {
            while s.get(c) == Some(&b'\\') {
                c += 1;
            }
            let cs = c;
            let mut spaces = 0;
            let separated = loop {
                let Some(&b) = s.get(c) else { break false };
                match b {
                    b'\\' => break true,
                    b'<' => {
                        // A placeholder such as <USER SID>, closed before the next `\`.
                        let close = s[c..]
                            .iter()
                            .take(64)
                            .position(|&x| x == b'>' || x == b'\\' || x < b' ');
                        match close {
                            Some(k) if s[c + k] == b'>' => c += k + 1,
                            _ => break false,
                        }
                        continue;
                    }
                    b' ' => {
                        if matches!(s.get(c + 1), Some(b' ' | b'\\'))
                            || s[c + 1..].starts_with(b"HK")
                            || (c > cs && matches!(s[c - 1], b'.' | b',' | b';' | b':'))
                        {
                            break false;
                        }
                        spaces += 1;
                    }
                    b if !(b' '..0x80).contains(&b)
                        || matches!(b, b'"' | b'|' | b'>' | b'\'' | b'*' | b'?') =>
                    {
                        break false;
                    }
                    _ => {}
                }
                c += 1;
            };
            if separated && spaces <= 4 {
                if c == cs {
                    break;
                }
                comps.push((cs, c));
                continue;
            }
            // The last component: up to its first space, without closing punctuation.
            let mut end = s[cs..c]
                .iter()
                .position(|&x| x == b' ')
                .map_or(c, |k| cs + k);
            while end > cs && matches!(s[end - 1], b'.' | b',' | b';' | b':' | b')' | b']') {
                end -= 1;
            }
            if end > cs {
                comps.push((cs, end));
            }
            break;
        }
        comps
    }
}
