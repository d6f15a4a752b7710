//! The scanner behind [`super::extract`]: one pass over refanged text.
//!
//! URLs and registry keys are found first, by their fixed parts (`://`, `HK`), because
//! they may hold spaces, parentheses and other indicators. The rest of the text is read
//! a segment at a time (a run of bytes that can belong to an indicator), and each
//! segment is split into runs of name characters that are classified by their shape.
//! Every byte is looked at a bounded number of times, so time is linear in the text.

use std::net::Ipv6Addr;
use std::str::FromStr;

use memchr::memmem;

use super::fang::Refanged;
use super::{coin, lexicon, onion, tld, Ioc, IocKind};

pub(super) fn scan(s: &[u8], map: &Refanged<'_>) -> Vec<Ioc> {
    let mut sc = Scanner {
        s,
        map,
        out: Vec::new(),
        taken: Vec::new(),
        resume: 0,
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
}

/// Bytes that may be part of a segment.
static SEG: [bool; 256] = class(b"._-:@%/\\+=?&#~$");
/// Bytes of a name: labels, hashes, addresses.
static RUN: [bool; 256] = class(b"._-");
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

fn lower(s: &[u8]) -> String {
    String::from_utf8_lossy(s).to_ascii_lowercase()
}

fn text(s: &[u8]) -> String {
    String::from_utf8_lossy(s).into_owned()
}

/// Unicode quotes (U+2018..U+201F) and the no-break space end a URL as a space does.
fn ends_like_space(s: &[u8], i: usize) -> bool {
    (s[i] == 0xE2
        && s.get(i + 1) == Some(&0x80)
        && s.get(i + 2).is_some_and(|c| (0x98..=0x9F).contains(c)))
        || (s[i] == 0xC2 && s.get(i + 1) == Some(&0xA0))
}

/// Valid labels of a host name whose last label is an IANA TLD, or an onion service.
fn is_domain(w: &[u8]) -> bool {
    if w.len() > 253 || w.len() < 3 {
        return false;
    }
    let mut labels = 0;
    let (mut before, mut last): (&[u8], &[u8]) = (&[], &[]);
    for label in w.split(|&c| c == b'.') {
        if label.is_empty()
            || label.len() > 63
            || label[0] == b'-'
            || label[label.len() - 1] == b'-'
            || !label.iter().all(|&c| is_alnum(c) || c == b'-' || c == b'_')
        {
            return false;
        }
        labels += 1;
        (before, last) = (last, label);
    }
    labels >= 2 && (tld_label(last) || onion::is_onion_name(&[before, last]))
}

fn tld_label(label: &[u8]) -> bool {
    (label.iter().all(u8::is_ascii_alphabetic) || label.starts_with(b"xn--")) && tld::is_tld(label)
}

/// Four decimal octets of at most 255, as written.
fn ipv4(w: &[u8]) -> Option<[u8; 4]> {
    let mut octets = [0u8; 4];
    let mut n = 0;
    for part in w.split(|&c| c == b'.') {
        if n == 4 || part.is_empty() || part.len() > 3 || !digits(part) {
            return None;
        }
        let v: u32 = part.iter().fold(0, |acc, d| acc * 10 + u32::from(d - b'0'));
        octets[n] = u8::try_from(v).ok()?;
        n += 1;
    }
    (n == 4).then_some(octets)
}

fn quad(o: [u8; 4]) -> String {
    format!("{}.{}.{}.{}", o[0], o[1], o[2], o[3])
}

/// `hh:hh:hh:hh:hh:hh`, `hh-hh-…` or `hhhh.hhhh.hhhh`, normalised to lower case with colons.
fn mac(w: &[u8]) -> Option<String> {
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
    fn emit(&mut self, kind: IocKind, start: usize, end: usize, value: String) {
        self.out.push(Ioc {
            kind,
            value,
            start,
            end,
        });
    }

    /// Where a URL that begins at `start` ends, its body read from `body`: before a
    /// space or a character that cannot be in a URL, without the punctuation of the
    /// sentence around it (`…/report).` ends at `report`).
    fn url_end(&self, start: usize, body: usize, quote: Option<u8>) -> usize {
        let s = self.s;
        let mut e = body;
        while e < s.len() && !self.ends_url(e, quote) {
            e += 1;
        }
        // Brackets are counted once: a long run of `)` must not be recounted per byte.
        let span = &s[start..e];
        let count = |c: u8| span.iter().filter(|&&x| x == c).count();
        let (mut close_paren, open_paren) = (count(b')'), count(b'('));
        let (mut close_square, open_square) = (count(b']'), count(b'['));
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
        e
    }

    /// Whether the byte at `e` cannot be part of a URL: a space, a control, `<>"` and
    /// the like, the quote the URL was opened with, a Unicode quote.
    fn ends_url(&self, e: usize, quote: Option<u8>) -> bool {
        let b = self.s[e];
        b <= b' '
            || b == 0x7f
            || matches!(
                b,
                b'<' | b'>' | b'"' | b'`' | b'{' | b'}' | b'|' | b'\\' | b'^'
            )
            || Some(b) == quote
            || ends_like_space(self.s, e)
    }

    /// Where the authority (`user@host:port`) that starts at `body` ends. Read before the
    /// rest of the URL so that a candidate with no valid host costs only its authority:
    /// text such as `http://http://http://…` stays linear.
    fn authority_end(&self, body: usize, quote: Option<u8>) -> usize {
        let s = self.s;
        let mut e = body;
        while e < s.len() && !matches!(s[e], b'/' | b'?' | b'#') && !self.ends_url(e, quote) {
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

    fn urls(&mut self) {
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
            let quote = (k > 0 && matches!(s[k - 1], b'\'' | b'"')).then(|| s[k - 1]);
            let body = p + 3;
            let auth_end = self.authority_end(body, quote);
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
            let e = self.url_end(k, body, quote).max(host_end);
            let mut value = lower(&s[k..p]);
            value.push_str(&text(&s[p..host_start]));
            value.push_str(&lower(&s[host_start..host_end]));
            value.push_str(&text(&s[host_end..e]));
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
    fn url_path(&mut self, a: usize, b: usize, mitre: bool) {
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
    fn dotted_or_word(&mut self, r0: usize, r1: usize) {
        if memchr::memchr(b'.', &self.s[r0..r1]).is_some() {
            self.dotted(r0, r1, r0, r1);
        } else {
            self.word(r0, r1, r0, r1, r0, r1);
        }
    }

    /// The host of a URL's authority `s[a..b]` (after any user info) and where it ends.
    fn url_host(&self, a: usize, b: usize) -> Option<(Ioc, usize)> {
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

    fn registry_keys(&mut self) {
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
    fn registry_components(&self, mut c: usize) -> Vec<(usize, usize)> {
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

    fn emails(&mut self, a: usize, b: usize, done: &mut Vec<(usize, usize)>) {
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

    /// IPv6 addresses, MAC addresses with colons and ssdeep hashes: the forms built
    /// around `:`.
    fn colon_forms(&mut self, a: usize, b: usize, done: &mut Vec<(usize, usize)>) {
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

    fn ipv6(
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
    fn ssdeep(&self, i: usize, b: usize) -> Option<usize> {
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
            if w.len() >= 13 && w[..4].eq_ignore_ascii_case(b"cve-") && cve_number(&w[4..]) {
                self.emit(IocKind::Cve, r0, r1, text(w).to_ascii_uppercase());
                return;
            }
            if let Some(m) = mac(w) {
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

    /// A run with dots: an address, a MAC, a sub-technique, a host or a file name.
    fn dotted(&mut self, r0: usize, r1: usize, seg_a: usize, seg_b: usize) {
        let s = self.s;
        let w = &s[r0..r1];
        if w[0].is_ascii_digit() && w.iter().all(|&c| c.is_ascii_digit() || c == b'.') {
            // All numbers: an address or nothing (a version, a decimal, `256.1.1.1`),
            // never a part of one.
            if let Some(o) = ipv4(w) {
                if !self.after_version_word(r0, seg_a) {
                    self.address(o, r0, r1, seg_b);
                }
            }
            return;
        }
        if let Some(m) = mac(w) {
            self.emit(IocKind::Mac, r0, r1, m);
            return;
        }
        if w[0] | 0x20 == b't' && w.len() >= 6 && digits(&w[1..5]) && w[5] == b'.' {
            if w.len() == 9 && digits(&w[6..9]) {
                self.emit(
                    IocKind::AttackTechnique,
                    r0,
                    r1,
                    text(w).to_ascii_uppercase(),
                );
            }
            return;
        }
        self.name(r0, r1, seg_a, seg_b);
    }

    /// Whether the dotted quad at `r0` follows a word that makes it a version number
    /// (`version 2.4.1.7`, `Chrome/120.0.0.1`, `build: 10.0.19041.1`).
    fn after_version_word(&self, r0: usize, seg_a: usize) -> bool {
        let s = self.s;
        if r0 > seg_a + 1 && s[r0 - 1] == b'/' && s[r0 - 2].is_ascii_alphabetic() {
            return true;
        }
        // The word before: inside the segment (`version:1.2.3.4`) or before it.
        let mut k = r0;
        while k > 0 && !is_alnum(s[k - 1]) && r0 - k < 8 && s[k - 1] != b'\n' {
            k -= 1;
        }
        let end = k;
        while k > 0 && is_alnum(s[k - 1]) && end - k < 16 {
            k -= 1;
        }
        end > k && lexicon::is_version_word(&s[k..end])
    }

    fn address(&mut self, o: [u8; 4], r0: usize, r1: usize, seg_b: usize) {
        let s = self.s;
        if s.get(r1) == Some(&b'/') && r1 < seg_b {
            let z = r1 + 1;
            let mut k = z;
            while k < seg_b && s[k].is_ascii_digit() {
                k += 1;
            }
            if (1..=2).contains(&(k - z)) && text(&s[z..k]).parse::<u8>().is_ok_and(|p| p <= 32) {
                let value = format!("{}/{}", quad(o), text(&s[z..k]));
                self.emit(IocKind::Cidr, r0, k, value);
                self.resume = self.resume.max(k);
                return;
            }
        }
        self.emit(IocKind::Ipv4, r0, r1, quad(o));
    }

    /// A dotted name: a host, a file name, or neither (a detection name, `ASP.NET`).
    fn name(&mut self, r0: usize, r1: usize, seg_a: usize, seg_b: usize) {
        let s = self.s;
        let w = &s[r0..r1];
        if w.len() > 253 {
            return;
        }
        let labels: Vec<&[u8]> = w.split(|&c| c == b'.').collect();
        if labels
            .iter()
            .any(|l| l.is_empty() || l.len() > 63 || l[0] == b'-' || l[l.len() - 1] == b'-')
        {
            return;
        }
        // Antivirus detections: `Trojan.Win32.Agent.xyz`, `Win32/Agent.ABC`, `HEUR:Trojan.Foo.gen`.
        if labels.iter().any(|l| lexicon::is_strong_detection_word(l)) {
            return;
        }
        if r0 > seg_a + 1 && matches!(s[r0 - 1], b'/' | b':') {
            let mut k = r0 - 1;
            while k > seg_a && (is_alnum(s[k - 1]) || s[k - 1] == b'-') {
                k -= 1;
            }
            if lexicon::is_detection_word(&s[k..r0 - 1]) {
                return;
            }
        }
        if lexicon::is_not_domain(w) {
            return;
        }
        let last = labels[labels.len() - 1];
        let is_tld = tld_label(last) || onion::is_onion_name(&labels);
        if labels.len() >= 2 && lexicon::is_file_extension(last) {
            let host_like = labels.len() > 2
                || self.map.was_defanged(r0, r1)
                || labels[0].eq_ignore_ascii_case(b"www");
            if !is_tld || !host_like {
                self.emit(IocKind::FileName, r0, r1, text(w));
                return;
            }
        }
        if !is_tld
            || labels.len() < 2
            || !labels
                .iter()
                .all(|l| l.iter().all(|&c| is_alnum(c) || c == b'-' || c == b'_'))
        {
            return;
        }
        // A scheme-less URL: the name starts its segment and a path follows.
        if r0 == seg_a
            && s.get(r1) == Some(&b'/')
            && s.get(r1 + 1).is_some_and(|&c| c > b' ' && c != b'/')
        {
            let e = self.url_end(r0, r1 + 1, None);
            if e > r1 + 1 && e >= seg_b {
                let mut value = lower(w);
                value.push_str(&text(&s[r1..e]));
                self.emit(IocKind::Url, r0, e, value);
                self.emit(IocKind::Domain, r0, r1, lower(w));
                self.resume = self.resume.max(e);
                return;
            }
        }
        self.emit(IocKind::Domain, r0, r1, lower(w));
    }

    /// A word of letters and digits: hashes, addresses, ATT&CK ids, ASNs, CVEs.
    fn word(&mut self, w0: usize, w1: usize, r0: usize, r1: usize, seg_a: usize, seg_b: usize) {
        let s = self.s;
        let w = &s[w0..w1];
        let whole = w0 == r0 && w1 == r1;
        if w.len() >= 25 {
            if w.iter().all(u8::is_ascii_hexdigit) {
                let kind = match w.len() {
                    32 if self.labelled(w0, &[b"imphash", b"import hash"]) => IocKind::Imphash,
                    32 => IocKind::Md5,
                    40 => IocKind::Sha1,
                    64 => IocKind::Sha256,
                    128 => IocKind::Sha512,
                    _ => return,
                };
                self.emit(kind, w0, w1, lower(w));
            } else if coin::is_ethereum(w) {
                self.emit(IocKind::Ethereum, w0, w1, lower(w));
            } else if coin::is_bitcoin_base58(w) {
                self.emit(IocKind::Bitcoin, w0, w1, text(w));
            } else if w.len() >= 14
                && w[..3].eq_ignore_ascii_case(b"bc1")
                && coin::is_bitcoin_bech32(w)
            {
                self.emit(IocKind::Bitcoin, w0, w1, lower(w));
            } else if coin::is_monero(w) {
                self.emit(IocKind::Monero, w0, w1, text(w));
            }
            return;
        }
        if !whole {
            return;
        }
        match w.len() {
            5 if w[0] | 0x20 == b't' && digits(&w[1..]) => {
                self.emit(
                    IocKind::AttackTechnique,
                    w0,
                    w1,
                    text(w).to_ascii_uppercase(),
                );
            }
            6 if w[..2].eq_ignore_ascii_case(b"ta") && digits(&w[2..]) => {
                self.emit(IocKind::AttackTactic, w0, w1, text(w).to_ascii_uppercase());
            }
            5 if matches!(w[0], b'G' | b'S' | b'M' | b'C') && digits(&w[1..]) => {
                let kind = match w[0] {
                    b'G' => IocKind::AttackGroup,
                    b'S' => IocKind::AttackSoftware,
                    b'M' => IocKind::AttackMitigation,
                    _ => IocKind::AttackCampaign,
                };
                self.emit(kind, w0, w1, text(w));
            }
            3.. if w[..2].eq_ignore_ascii_case(b"as") => {
                let num = if w.len() > 3 && w[2] | 0x20 == b'n' {
                    &w[3..]
                } else {
                    &w[2..]
                };
                if digits(num) && num.len() <= 10 {
                    self.emit(IocKind::Asn, w0, w1, format!("AS{}", text(num)));
                } else if w.eq_ignore_ascii_case(b"asn") && seg_a == w0 {
                    self.asn_after(w0, seg_b);
                }
            }
            3 if w.eq_ignore_ascii_case(b"cve") && seg_a == w0 && seg_b == w1 => {
                self.cve_after(w0, seg_b)
            }
            2 if (w == b"AS" || w == b"As") && seg_a == w0 && seg_b == w1 => {
                self.asn_after(w0, seg_b)
            }
            _ => {}
        }
    }

    /// `CVE 2014-1001`: the label and the number in two segments.
    fn cve_after(&mut self, w0: usize, seg_b: usize) {
        let s = self.s;
        if s.get(seg_b) != Some(&b' ') {
            return;
        }
        let z = seg_b + 1;
        let mut k = z;
        while k < s.len() && (s[k].is_ascii_digit() || s[k] == b'-') {
            k += 1;
        }
        if k < s.len() && is_alnum(s[k]) {
            return;
        }
        if cve_number(&s[z..k]) {
            self.emit(IocKind::Cve, w0, k, format!("CVE-{}", text(&s[z..k])));
            self.resume = self.resume.max(k);
        }
    }

    /// `AS 13335`, `ASN 13335` (not `as 2014`, which is English).
    fn asn_after(&mut self, w0: usize, seg_b: usize) {
        let s = self.s;
        if s.get(seg_b) != Some(&b' ') {
            return;
        }
        let z = seg_b + 1;
        let mut k = z;
        while k < s.len() && s[k].is_ascii_digit() {
            k += 1;
        }
        if k == z
            || k - z > 10
            || (k < s.len()
                && (is_alnum(s[k]) || s[k] == b'.' && s.get(k + 1).is_some_and(u8::is_ascii_digit)))
        {
            return;
        }
        self.emit(IocKind::Asn, w0, k, format!("AS{}", text(&s[z..k])));
        self.resume = self.resume.max(k);
    }

    /// Whether one of `labels` (`imphash`, `import hash`) stands just before `w0`,
    /// past any spaces and punctuation (`imphash: `, `IMPORT HASH - `).
    fn labelled(&self, w0: usize, labels: &[&[u8]]) -> bool {
        let s = self.s;
        let mut k = w0;
        while k > 0 && !is_alnum(s[k - 1]) && w0 - k < 12 {
            k -= 1;
        }
        labels
            .iter()
            .any(|l| k >= l.len() && s[k - l.len()..k].eq_ignore_ascii_case(l))
    }
}

/// `2014-1000`: a year and at least four digits.
fn cve_number(w: &[u8]) -> bool {
    w.len() >= 9 && digits(&w[..4]) && w[4] == b'-' && digits(&w[5..])
}
