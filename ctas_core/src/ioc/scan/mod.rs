//! The scanner behind [`super::extract`]: one pass over refanged text.
//!
//! URLs and registry keys are found first, by their fixed parts (`://`, `HK`), because
//! they may hold spaces, parentheses and other indicators. The rest of the text is read
//! a segment at a time (a run of bytes that can belong to an indicator), and each
//! segment is split into runs of name characters that are classified by their shape.
//! Every byte is looked at a bounded number of times, so time is linear in the text.

mod colon;
mod dotted;
mod email;
mod registry;
mod url;
mod word;

use super::fang::Refanged;
use super::{Ioc, IocKind};

pub(super) fn scan(s: &[u8], map: &Refanged<'_>) -> Vec<Ioc> {
    let mut sc = Scanner {
        s,
        map,
        out: Vec::new(),
        taken: Vec::new(),
        resume: 0,
        link_close: std::cell::Cell::new(0),
    };
    sc.urls();
    sc.registry_keys();
    sc.taken.sort_unstable();
    sc.segments();
    sc.out
        .sort_by(|a, b| a.start.cmp(&b.start).then(b.end.cmp(&a.end)));
    sc.out
}

struct Scanner<'a, 'm> {
    s: &'a [u8],
    map: &'a Refanged<'m>,
    out: Vec<Ioc>,
    /// Spans of URLs and registry keys: the segment pass does not read them again.
    taken: Vec<(usize, usize)>,
    /// A match that ran past its segment (a scheme-less URL, `user@[10.0.0.1]`): the
    /// segment pass goes on from here.
    resume: usize,
    /// Where the `]` or line end that closes a `[` in a URL's path lies, from the last
    /// look (see `url::link_text`): a later `[` before it has the same answer, so a
    /// run of `[` is not searched again per byte.
    link_close: std::cell::Cell<usize>,
}

/// Bytes that may be part of a segment.
static SEG: [bool; 256] = class(b"._-:@%/\\+=?&#~$");
/// Bytes of a name: labels, hashes, addresses.
pub(super) static RUN: [bool; 256] = class(b"._-");
/// The shape of a segment's bytes, OR-ed over the segment: words of letters alone
/// (most of a report) are set aside at once.
const LETTER: u8 = 1;
const DOT: u8 = 2;
static SHAPE: [u8; 256] = {
    let mut t = [4u8; 256];
    let mut c = 0;
    while c < 256 {
        if (c as u8).is_ascii_alphabetic() {
            t[c] = LETTER;
        }
        c += 1;
    }
    t[b'.' as usize] = DOT;
    t
};
/// Punctuation a segment does not start or end with.
static EDGE: [bool; 256] = only(b".:/\\=?&#%@$-_");

const fn only(bytes: &[u8]) -> [bool; 256] {
    let mut t = [false; 256];
    let mut k = 0;
    while k < bytes.len() {
        t[bytes[k] as usize] = true;
        k += 1;
    }
    t
}

const fn class(extra: &[u8]) -> [bool; 256] {
    let mut t = only(extra);
    let mut c = 0;
    while c < 256 {
        t[c] = t[c] || (c as u8).is_ascii_alphanumeric();
        c += 1;
    }
    t
}

fn is_alnum(b: u8) -> bool {
    b.is_ascii_alphanumeric()
}

fn digits(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(u8::is_ascii_digit)
}

fn lower(s: &[u8]) -> String {
    String::from_utf8_lossy(s).to_ascii_lowercase()
}

fn text(s: &[u8]) -> String {
    String::from_utf8_lossy(s).into_owned()
}

impl Scanner<'_, '_> {
    fn emit(&mut self, kind: IocKind, start: usize, end: usize, value: String) {
        self.out.push(Ioc {
            kind,
            value,
            start,
            end,
        });
    }

    fn segments(&mut self) {
        let s = self.s;
        let n = s.len();
        let mut i = 0;
        let mut t = 0;
        while i < n {
            if !SEG[s[i] as usize] {
                i += 1;
                continue;
            }
            while t < self.taken.len() && self.taken[t].1 <= i {
                t += 1;
            }
            if t < self.taken.len() && self.taken[t].0 <= i {
                i = self.taken[t].1;
                continue;
            }
            let limit = self.taken.get(t).map_or(n, |&(a, _)| a);
            let mut j = i;
            let mut mask = 0;
            while j < limit && SEG[s[j] as usize] {
                mask |= SHAPE[s[j] as usize];
                j += 1;
            }
            // Most of a report is words of letters, perhaps ending a sentence: such a
            // word is an indicator only when long (a hash) or `CVE`/`AS` before a number.
            let letters =
                mask == LETTER || (mask == LETTER | DOT && s[i..j - 1].iter().all(|&c| c != b'.'));
            if !letters || j - i >= 25 || j - i <= 4 {
                self.segment(i, j);
            }
            i = j.max(self.resume);
        }
    }

    fn segment(&mut self, mut a: usize, mut b: usize) {
        let s = self.s;
        while a < b && EDGE[s[a] as usize] && !s[a..b].starts_with(b"::") {
            a += 1;
        }
        // `user@[10.0.0.1]`: the `@` before a bracket is the e-mail's, not an edge.
        while b > a && EDGE[s[b - 1] as usize] && !(s[b - 1] == b'@' && s.get(b) == Some(&b'[')) {
            b -= 1;
        }
        if a == b {
            return;
        }
        let seg = &s[a..b];
        let has_at = memchr::memchr(b'@', seg).is_some();
        let has_colon = memchr::memchr(b':', seg).is_some();
        let mut done: Vec<(usize, usize)> = Vec::new();
        if has_at {
            self.emails(a, b, &mut done);
        }
        if has_colon {
            self.colon_forms(a, b, &mut done);
        }
        done.sort_unstable();
        let mut g = a;
        for (da, db) in done.iter().copied().chain([(b, b)]) {
            if da > g {
                self.runs(g, da.min(b), a, b);
            }
            g = g.max(db);
        }
    }

    fn runs(&mut self, g0: usize, g1: usize, seg_a: usize, seg_b: usize) {
        let s = self.s;
        let mut i = g0;
        while i < g1 {
            // What a match read past its run (a scheme-less URL's path, a CIDR's
            // prefix) is not read again: `evil.example.com/p.php` holds no file name,
            // as `http://evil.example.com/p.php` does not.
            if i < self.resume {
                i = self.resume;
                continue;
            }
            if !RUN[s[i] as usize] {
                i += 1;
                continue;
            }
            let mut j = i;
            while j < g1 && RUN[s[j] as usize] {
                j += 1;
            }
            self.run(i, j, seg_a, seg_b);
            i = j;
        }
    }

    fn run(&mut self, mut r0: usize, mut r1: usize, seg_a: usize, seg_b: usize) {
        let s = self.s;
        while r0 < r1 && matches!(s[r0], b'.' | b'-' | b'_') {
            r0 += 1;
        }
        while r1 > r0 && matches!(s[r1 - 1], b'.' | b'-' | b'_') {
            r1 -= 1;
        }
        if r0 == r1 {
            return;
        }
        let w = &s[r0..r1];
        if memchr::memchr(b'.', w).is_some() {
            self.dotted(r0, r1, seg_a, seg_b);
            return;
        }
        if memchr::memchr(b'-', w).is_some() {
            if let Some(cve) = word::cve(w) {
                self.emit(IocKind::Cve, r0, r1, cve);
                return;
            }
            if let Some(m) = colon::mac(w) {
                self.emit(IocKind::Mac, r0, r1, m);
                return;
            }
        }
        let mut i = r0;
        while i < r1 {
            if !is_alnum(s[i]) {
                i += 1;
                continue;
            }
            let mut j = i;
            while j < r1 && is_alnum(s[j]) {
                j += 1;
            }
            self.word(i, j, r0, r1, seg_a, seg_b);
            i = j;
        }
    }
}
