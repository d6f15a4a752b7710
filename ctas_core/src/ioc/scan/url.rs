//! URLs: found first, by their `://` (or, without a scheme, by a host and a path), since
//! they may hold other indicators; their hosts, and the names in their paths.

use std::net::Ipv6Addr;
use std::str::FromStr;

use memchr::memmem;

use super::dotted::{ipv4, is_domain, quad};
use super::{digits, is_alnum, lower, text, Scanner, RUN};
use crate::ioc::{lexicon, Ioc, IocKind};

/// What may follow the host of a WebDAV path after its @: `SSL`, a port, or both
/// (`SSL@8443`), in any case.
fn webdav_suffix(rest: &[u8]) -> bool {
    let port = |p: &[u8]| !p.is_empty() && p.len() <= 5 && p.iter().all(u8::is_ascii_digit);
    match rest.get(..3) {
        Some(ssl) if ssl.eq_ignore_ascii_case(b"SSL") => {
            rest.len() == 3 || (rest[3] == b'@' && port(&rest[4..]))
        }
        _ => port(rest),
    }
}

/// Unicode quotes (U+2018..U+201F) and the no-break space end a URL as a space does.
fn ends_like_space(s: &[u8], i: usize) -> bool {
    (s[i] == 0xE2
        && s.get(i + 1) == Some(&0x80)
        && s.get(i + 2).is_some_and(|c| (0x98..=0x9F).contains(c)))
        || (s[i] == 0xC2 && s.get(i + 1) == Some(&0xA0))
}

/// What opened a URL and so closes it: a quote (`'…'`, `"…"`) or the `+` of an
/// AsciiDoc passthrough (`+…+`, `++…++`, `+++…+++`).
#[derive(Clone, Copy, Default)]
pub(super) struct Opener {
    quote: Option<u8>,
    plus: usize,
}

impl Opener {
    /// What stands just before a URL starting at `k`.
    pub(super) fn before(s: &[u8], k: usize) -> Opener {
        let plus = s[..k]
            .iter()
            .rev()
            .take(4)
            .take_while(|&&c| c == b'+')
            .count();
        Opener {
            quote: (k > 0 && matches!(s[k - 1], b'\'' | b'"')).then(|| s[k - 1]),
            plus: if plus <= 3 { plus } else { 0 },
        }
    }
}

/// The punctuation Markdown escapes with a backslash inside a URL (`a\_b`, `a\*b`).
const MARKDOWN_ESCAPES: &[u8] = b"_*#~-.";

/// A URL's path and query as the value: Markdown's escapes dropped (`a\_b` is `a_b`)
/// and HTML's `&amp;` read as `&`, as a report's HTML source writes a query.
pub(super) fn url_text(path: &[u8]) -> String {
    let mut out = Vec::with_capacity(path.len());
    let mut i = 0;
    while i < path.len() {
        if path[i] == b'\\'
            && path
                .get(i + 1)
                .is_some_and(|c| MARKDOWN_ESCAPES.contains(c))
        {
            i += 1;
        } else if path[i..].starts_with(b"&amp;") {
            out.push(b'&');
            i += 5;
            continue;
        }
        out.push(path[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl Scanner<'_, '_> {
    /// Where a URL that begins at `start` ends, its body read from `body`: before a
    /// space or a character that cannot be in a URL, without the punctuation of the
    /// sentence around it (`…/report).` ends at `report`), before the text of an
    /// AsciiDoc link (`…/report[the report]`).
    pub(super) fn url_end(&self, start: usize, body: usize, open: Opener) -> usize {
        let s = self.s;
        let mut e = body;
        let mut in_path = false;
        while e < s.len() && !self.ends_url(e, open) {
            match s[e] {
                b'/' | b'?' | b'#' => in_path = true,
                b'[' if in_path && self.link_text(e) => break,
                b'\\' => e += 1, // an escape, `\_` (`ends_url` let only those through)
                _ => {}
            }
            e += 1;
        }
        // Brackets are counted once: a long run of `)` must not be recounted per byte.
        let span = &s[start..e];
        let count = |c: u8| span.iter().filter(|&&x| x == c).count();
        let (mut close_paren, open_paren) = (count(b')'), count(b'('));
        let (mut close_square, open_square) = (count(b']'), count(b'['));
        let whole = e;
        while e > body {
            let trim = match s[e - 1] {
                b'.' | b',' | b';' | b':' | b'!' | b'?' | b'\'' | b'*' => true,
                b')' if close_paren > open_paren => {
                    close_paren -= 1;
                    true
                }
                b']' if close_square > open_square => {
                    close_square -= 1;
                    true
                }
                _ => false,
            };
            if !trim {
                break;
            }
            e -= 1;
        }
        // `…/index.php?` on a line of its own is a URL with an empty query, as the
        // lists of vendor reports write it; in a sentence the `?` is the sentence's.
        if e < whole && s[e] == b'?' && self.alone_on_line(start, e + 1) {
            e += 1;
        }
        e
    }

    /// Whether the `[` at `e`, in a URL's path, opens the text of an AsciiDoc link
    /// (`…/x[the text]`) rather than being part of the URL, as PHP's arrays are
    /// (`?a[]=1`, `?a[k][j]=2`): the bracket closes on its line, within 256 bytes, and
    /// is followed by neither `=` nor `[`, or holds a space.
    fn link_text(&self, e: usize) -> bool {
        let s = self.s;
        let mut close = self.link_close.get();
        if close <= e {
            close = memchr::memchr2(b']', b'\n', &s[e..]).map_or(s.len(), |k| e + k);
            self.link_close.set(close);
        }
        if close == s.len() || s[close] != b']' || close - e > 256 {
            return false;
        }
        memchr::memchr(b' ', &s[e + 1..close]).is_some()
            || !matches!(s.get(close + 1), Some(b'=' | b'['))
    }

    /// Whether `s[start..end]` is all its line holds, but for spaces, list markers and
    /// the backticks of code.
    fn alone_on_line(&self, start: usize, end: usize) -> bool {
        let s = self.s;
        let blank = |c: &u8| matches!(c, b' ' | b'\t' | b'\r' | b'`');
        let after = s[end..].iter().position(|c| !blank(c));
        let before = s[..start]
            .iter()
            .rev()
            .position(|c| !(blank(c) || matches!(c, b'-' | b'*' | b'+' | b'>')));
        after.is_none_or(|k| s[end + k] == b'\n')
            && before.is_none_or(|k| s[start - k - 1] == b'\n')
    }

    /// Whether the byte at `e` cannot be part of a URL: a space, a control, `<>"` and
    /// the like, the quote or AsciiDoc passthrough (`++…++`) the URL was opened with, a
    /// Unicode quote. A backslash ends a URL unless it escapes punctuation, as
    /// Markdown writes `a\_b` for `a_b`.
    pub(super) fn ends_url(&self, e: usize, open: Opener) -> bool {
        let s = self.s;
        let b = s[e];
        b <= b' '
            || b == 0x7f
            || matches!(b, b'<' | b'>' | b'"' | b'`' | b'{' | b'}' | b'|' | b'^')
            || (b == b'\\' && !s.get(e + 1).is_some_and(|c| MARKDOWN_ESCAPES.contains(c)))
            || Some(b) == open.quote
            || (open.plus > 0 && s[e..].starts_with(&b"+++"[..open.plus]))
            || ends_like_space(s, e)
    }

    /// Where the authority (`user@host:port`) that starts at `body` ends. Read before the
    /// rest of the URL so that a candidate with no valid host costs only its authority:
    /// text such as `http://http://http://…` stays linear.
    pub(super) fn authority_end(&self, body: usize, open: Opener) -> usize {
        let s = self.s;
        let mut e = body;
        while e < s.len() && !matches!(s[e], b'/' | b'?' | b'#') && !self.ends_url(e, open) {
            e += 1;
        }
        if e == s.len() || !matches!(s[e], b'/' | b'?' | b'#') {
            let bracketed = s[body..e].contains(&b'[');
            while e > body
                && (matches!(
                    s[e - 1],
                    b'.' | b',' | b';' | b':' | b'!' | b'?' | b'\'' | b'*' | b')'
                ) || (s[e - 1] == b']' && !bracketed))
            {
                e -= 1;
            }
        }
        e
    }

    pub(super) fn urls(&mut self) {
        let s = self.s;
        let mut last_end = 0;
        for p in memmem::find_iter(s, b"://") {
            if p < last_end {
                // A URL inside a URL (a redirect target, `…~Chttp://next.example/`): its
                // host is an indicator of its own; the outer URL holds the rest.
                let body = p + 3;
                let auth_end = s[body..last_end]
                    .iter()
                    .position(|c| matches!(c, b'/' | b'?' | b'#'))
                    .map_or(last_end, |q| body + q);
                if let Some((host, _)) = self.url_host(body, auth_end) {
                    self.out.push(host);
                }
                continue;
            }
            let mut k = p;
            while k > 0 && (is_alnum(s[k - 1]) || matches!(s[k - 1], b'+' | b'-' | b'.')) {
                k -= 1;
            }
            while k < p && !s[k].is_ascii_alphabetic() {
                k += 1;
            }
            if p - k < 2 {
                continue;
            }
            let open = Opener::before(s, k);
            let body = p + 3;
            let auth_end = self.authority_end(body, open);
            let mut host_start = s[body..auth_end]
                .iter()
                .rposition(|&c| c == b'@')
                .map_or(body, |q| body + q + 1);
            let mut found = self.url_host(host_start, auth_end);
            if found.is_none() {
                // A WebDAV path written as a URL, as Windows writes `\\host@SSL@8443\…`
                // (`file://host@SSL/DavWWWRoot/x.lnk`, `file://203.0.113.9@8080/x.bat`):
                // after the first @ come SSL and a port, and the host is before it.
                if let Some(at) = s[body..auth_end].iter().position(|&c| c == b'@') {
                    if webdav_suffix(&s[body + at + 1..auth_end]) {
                        host_start = body;
                        found = self.url_host(body, body + at);
                    }
                }
            }
            let Some((host, host_end)) = found else {
                continue;
            };
            let e = self.url_end(k, body, open).max(host_end);
            let mut value = lower(&s[k..p]);
            value.push_str(&text(&s[p..host_start]));
            value.push_str(&lower(&s[host_start..host_end]));
            value.push_str(&url_text(&s[host_end..e]));
            let mitre = host.value == "attack.mitre.org";
            self.emit(IocKind::Url, k, e, value);
            self.out.push(host);
            self.taken.push((k, e));
            last_end = e;
            self.url_path(auth_end, e, mitre);
        }
    }

    /// Hosts named in a URL's path and query (`?url=http%3A%2F%2Fnext.example%2F`,
    /// `/redirect/next.example/`), and ATT&CK ids in the path of an ATT&CK page. A
    /// percent-escape separates names, so an encoded URL's host is found as written.
    pub(super) fn url_path(&mut self, a: usize, b: usize, mitre: bool) {
        let s = self.s;
        let mut i = a;
        while i < b {
            if s[i] == b'%'
                && i + 2 < b
                && s[i + 1].is_ascii_hexdigit()
                && s[i + 2].is_ascii_hexdigit()
            {
                i += 3;
                continue;
            }
            if !RUN[s[i] as usize] {
                i += 1;
                continue;
            }
            let mut j = i;
            while j < b && RUN[s[j] as usize] {
                j += 1;
            }
            let (mut r0, mut r1) = (i, j);
            while r0 < r1 && matches!(s[r0], b'.' | b'-' | b'_') {
                r0 += 1;
            }
            while r1 > r0 && matches!(s[r1 - 1], b'.' | b'-' | b'_') {
                r1 -= 1;
            }
            let w = &s[r0..r1];
            if is_domain(w) && ipv4(w).is_none() {
                let labels = w.iter().filter(|&&c| c == b'.').count() + 1;
                let ext = w.rsplit(|&c| c == b'.').next().unwrap_or_default();
                if !(labels == 2 && lexicon::is_file_extension(ext)) {
                    self.emit(IocKind::Domain, r0, r1, lower(w));
                }
            } else if mitre && (5..=9).contains(&w.len()) {
                self.dotted_or_word(r0, r1);
            }
            i = j;
        }
    }

    /// An ATT&CK id standing alone: `T1059`, `T1059.001`, `TA0001`, `G0016`.
    pub(super) fn dotted_or_word(&mut self, r0: usize, r1: usize) {
        if memchr::memchr(b'.', &self.s[r0..r1]).is_some() {
            self.dotted(r0, r1, r0, r1);
        } else {
            self.word(r0, r1, r0, r1, r0, r1);
        }
    }

    /// The host of a URL's authority `s[a..b]` (after any user info) and where it ends.
    pub(super) fn url_host(&self, a: usize, b: usize) -> Option<(Ioc, usize)> {
        let s = self.s;
        if s.get(a) == Some(&b'[') {
            let close = a + s[a..b].iter().position(|&c| c == b']')?;
            let addr = Ipv6Addr::from_str(std::str::from_utf8(&s[a + 1..close]).ok()?).ok()?;
            let host = Ioc {
                kind: IocKind::Ipv6,
                value: addr.to_string(),
                start: a + 1,
                end: close,
            };
            return Some((host, close + 1));
        }
        let end = s[a..b].iter().position(|&c| c == b':').map_or(b, |q| a + q);
        if end < b && !digits(&s[end + 1..b]) {
            return None;
        }
        let name = &s[a..end];
        let host = if let Some(o) = ipv4(name) {
            Ioc {
                kind: IocKind::Ipv4,
                value: quad(o),
                start: a,
                end,
            }
        } else if is_domain(name) {
            Ioc {
                kind: IocKind::Domain,
                value: lower(name),
                start: a,
                end,
            }
        } else {
            return None;
        };
        Some((host, end))
    }
}
