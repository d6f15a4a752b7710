//! Defanged indicators: `evil[.]com`, `hxxp://`, `user[at]example(.)org`.
//!
//! Reports write indicators in a form that no mail client or chat turns into a link.
//! Extraction reads through these forms; [`refang`] keeps a map from every position of
//! the refanged text back to the text as written, so a match still reports where it
//! stands in the original.

use std::borrow::Cow;

use super::tld;

/// Text with its defanged forms written plainly, and the way back to the original.
#[derive(Debug)]
pub struct Refanged<'a> {
    /// The refanged text. Borrowed when the input had nothing to refang.
    pub text: Cow<'a, str>,
    /// `(p, shift)`: from refanged position `p` on, the original is `shift` bytes
    /// further on. Sorted by `p`; replacements only shorten, so shifts only grow.
    shifts: Vec<(usize, usize)>,
}

impl Refanged<'_> {
    /// The byte offset in the original text of refanged offset `pos`.
    pub fn original(&self, pos: usize) -> usize {
        let i = self.shifts.partition_point(|&(p, _)| p <= pos);
        pos + if i == 0 { 0 } else { self.shifts[i - 1].1 }
    }

    /// Whether `a..b` of the refanged text was written defanged: a strong sign that
    /// the writer meant a network indicator (`evil[.]sh` is a host, `evil.sh` may be a
    /// shell script).
    pub fn was_defanged(&self, a: usize, b: usize) -> bool {
        self.original(b) - self.original(a) != b - a
    }
}

/// `text` with every defanged form written plainly.
pub fn refang(text: &str) -> String {
    refang_mapped(text).text.into_owned()
}

/// Words that come before " dot " in prose ("the dot in", "a dot on"), where it is
/// not a defanged dot.
const DOT_PROSE: &[&str] = &[
    "a", "an", "the", "this", "that", "one", "each", "every", "no", "any", "single", "small",
    "little", "big", "red", "blue", "green", "black", "white", "final", "polka", "connect",
];

/// `text` with every defanged form written plainly, and the map back to `text`.
pub fn refang_mapped(text: &str) -> Refanged<'_> {
    let s = text.as_bytes();
    let mut out: Vec<u8> = Vec::new();
    let mut shifts = Vec::new();
    let mut copied = 0; // s[..copied] is in `out` already, replaced or not
    let mut i = 0;
    while i < s.len() {
        let b = s[i];
        // `x` counts after h/f (hxxp, fxp), `d` after a space (" dot "); most are neither.
        let prev = if i > 0 { s[i - 1] } else { 0 };
        if !TRIGGER[b as usize]
            || (b | 0x20 == b'x' && !matches!(prev, b'h' | b'H' | b'f' | b'F'))
            || (b | 0x20 == b'd' && prev != b' ')
        {
            i += 1;
            continue;
        }
        // Triggers are the rarer bytes of each form (`x` of hxxp, `d` of " dot ", the
        // bracket of " [.] "); the form itself may begin one byte earlier.
        let before = matches!(b | 0x20, b'x' | b'd') || prev == b' ';
        let found = [i.checked_sub(1).filter(|&p| before && p >= copied), Some(i)]
            .into_iter()
            .flatten()
            .find_map(|start| defanged_at(s, start).map(|(len, with)| (start, len, with)));
        let Some((start, len, with)) = found else {
            i += 1;
            continue;
        };
        if copied == 0 {
            out.reserve(s.len());
        }
        out.extend_from_slice(&s[copied..start]);
        let written = match with {
            Plain::Text(text) => {
                out.extend_from_slice(text);
                text.len()
            }
            Plain::Scheme => {
                out.extend(s[start..start + len].iter().map(|&c| match c {
                    b'x' => b't',
                    b'X' => b'T',
                    c => c,
                }));
                len
            }
        };
        i = start + len;
        copied = i;
        if len != written {
            let shift = shifts.last().map_or(0, |&(_, sh)| sh) + len - written;
            shifts.push((out.len(), shift));
        }
    }
    if copied == 0 {
        return Refanged {
            text: Cow::Borrowed(text),
            shifts,
        };
    }
    out.extend_from_slice(&s[copied..]);
    // Only ASCII was replaced, by ASCII, at ASCII positions: still UTF-8.
    let text = String::from_utf8(out).expect("refang replaces ASCII by ASCII");
    Refanged {
        text: Cow::Owned(text),
        shifts,
    }
}

/// Bytes at or just after the start of a defanged form.
static TRIGGER: [bool; 256] = {
    let mut t = [false; 256];
    let mut k = 0;
    let bytes = b"[({\\xXdD";
    while k < bytes.len() {
        t[bytes[k] as usize] = true;
        k += 1;
    }
    t
};

fn starts_ci(s: &[u8], i: usize, lit: &[u8]) -> bool {
    s.len() >= i + lit.len() && s[i..i + lit.len()].eq_ignore_ascii_case(lit)
}

/// What a defanged form stands for.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Plain {
    /// These bytes (`[.]` stands for `.`).
    Text(&'static [u8]),
    /// The form itself with each `x` read as the `t` it stands for, case kept (a
    /// scheme: `hXXp` gives `hTTp`, still HTTP).
    Scheme,
}

/// The defanged form at `s[i..]`: how many bytes it takes and what it stands for.
fn defanged_at(s: &[u8], i: usize) -> Option<(usize, Plain)> {
    // Bracketed forms, longest first so that `[://]` is not read as `[:]`.
    const BRACKETED: &[(&[u8], &[u8])] = &[
        (b"[://]", b"://"),
        (b"[dot]", b"."),
        (b"(dot)", b"."),
        (b"{dot}", b"."),
        (b"[.]", b"."),
        (b"(.)", b"."),
        (b"{.}", b"."),
        (b"[:]", b":"),
        (b"[/]", b"/"),
        (b"[@]", b"@"),
        (b"[at]", b"@"),
        (b"(at)", b"@"),
        (b"{at}", b"@"),
    ];
    let b = s[i];
    match b {
        // Every bracketed form goes on with one of these: most brackets are prose.
        b'[' | b'(' | b'{'
            if !matches!(
                s.get(i + 1),
                Some(b'.' | b':' | b'/' | b'@' | b'd' | b'D' | b'a' | b'A')
            ) =>
        {
            None
        }
        b'[' | b'(' | b'{' => BRACKETED
            .iter()
            .find(|(from, _)| starts_ci(s, i, from))
            .map(|&(from, to)| (from.len(), Plain::Text(to))),
        b'\\' => (s.get(i + 1) == Some(&b'.')
            && i > 0
            && s[i - 1].is_ascii_alphanumeric()
            && s.get(i + 2).is_some_and(u8::is_ascii_alphanumeric))
        .then_some((2, Plain::Text(b"."))),
        b'h' | b'H' | b'f' | b'F' => scheme_at(s, i),
        b' ' => spaced_at(s, i),
        _ => None,
    }
}

/// `hxxp`, `hXXps`, `fxp` in front of `:` or a bracket: the scheme, with each `x`
/// read as the `t` it stands for (case kept, so `hXXp` gives `hTTp`, still HTTP).
fn scheme_at(s: &[u8], i: usize) -> Option<(usize, Plain)> {
    // After a digit is still a scheme (`10.1.2.3hxxp://…` run together), as the URL
    // scanner reads it.
    if i > 0 && s[i - 1].is_ascii_alphabetic() {
        return None;
    }
    let x = |k: usize| matches!(s.get(k), Some(b'x' | b'X'));
    // The scheme's colon follows, plain or bracketed (`hxxp:`, `hxxp[:]`, `hxxp[://]`);
    // `hxxp[.]com` is a host named hxxp.com.
    let after =
        |k: usize| s.get(k) == Some(&b':') || s.get(k..).is_some_and(|r| r.starts_with(b"[:"));
    let hlen = if s[i] | 0x20 == b'h' {
        if !(x(i + 1) && x(i + 2) && matches!(s.get(i + 3), Some(b'p' | b'P'))) {
            return None;
        }
        if matches!(s.get(i + 4), Some(b's' | b'S')) && after(i + 5) {
            5
        } else if after(i + 4) {
            4
        } else {
            return None;
        }
    } else {
        if !(x(i + 1) && matches!(s.get(i + 2), Some(b'p' | b'P')) && after(i + 3)) {
            return None;
        }
        3
    };
    Some((hlen, Plain::Scheme))
}

/// Forms written with spaces: ` [.] `, ` [at] `, ` (dot) ` and the bare ` dot `.
fn spaced_at(s: &[u8], i: usize) -> Option<(usize, Plain)> {
    // " [at] " / " [.] ": the brackets make the intent plain; take the spaces too.
    if let Some(&next) = s.get(i + 1) {
        if matches!(next, b'[' | b'(' | b'{') {
            if let Some((len, with)) = defanged_at(s, i + 1) {
                if with != Plain::Text(b"://")
                    && s.get(i + 1 + len) == Some(&b' ')
                    && i > 0
                    && s[i - 1] != b' '
                {
                    return Some((len + 2, with));
                }
            }
            return None;
        }
    }
    // " dot ": only between a word and a name that goes on to a TLD, and not after
    // the words of prose that come before a dot on a map.
    if !starts_ci(s, i, b" dot ") {
        return None;
    }
    let before = &s[..i];
    let word_start = before
        .iter()
        .rposition(|c| !(c.is_ascii_alphanumeric() || *c == b'-'))
        .map_or(0, |p| p + 1);
    let left = &before[word_start..];
    if left.is_empty()
        || DOT_PROSE
            .iter()
            .any(|w| left.eq_ignore_ascii_case(w.as_bytes()))
    {
        return None;
    }
    let rest = &s[i + 5..];
    let right_len = rest
        .iter()
        .position(|c| !(c.is_ascii_alphanumeric() || *c == b'-'))
        .unwrap_or(rest.len());
    if right_len == 0 {
        return None;
    }
    let right = &rest[..right_len];
    let continues = rest[right_len..].starts_with(b".")
        || starts_ci(rest, right_len, b" dot ")
        || starts_ci(rest, right_len, b"[.]");
    if continues || tld::is_tld(right) {
        Some((5, Plain::Text(b".")))
    } else {
        None
    }
}

/// `text` made safe to paste into a chat or a ticket: every URL, domain, IPv4 address
/// and e-mail address it holds is defanged (`hxxps://evil[.]com/a.php`,
/// `user[@]evil[.]com`, `1[.]2[.]3[.]4`); everything else is left as it is.
/// [`refang`] gives the text back.
pub fn defang(text: &str) -> String {
    use super::IocKind::*;
    let found = super::extract(text);
    let s = text.as_bytes();
    // Per byte of the original: what to write instead.
    let mut edits: Vec<(usize, &'static [u8])> = Vec::new();
    let mut covered_until = 0;
    for ioc in &found {
        if ioc.start < covered_until {
            continue; // the host of a URL already handled with its URL
        }
        let (a, b) = (ioc.start, ioc.end);
        match ioc.kind {
            Url => {
                covered_until = b;
                // The scheme: t -> x keeps the case of each letter.
                let scheme_end = s[a..b].iter().position(|&c| c == b':').map_or(a, |p| a + p);
                let scheme = &s[a..scheme_end];
                if scheme.eq_ignore_ascii_case(b"http") || scheme.eq_ignore_ascii_case(b"https") {
                    for (k, &c) in scheme.iter().enumerate().skip(1).take(2) {
                        edits.push((a + k, if c == b'T' { b"X" } else { b"x" }));
                    }
                } else if scheme.eq_ignore_ascii_case(b"ftp") {
                    edits.push((a + 1, if s[a + 1] == b'T' { b"X" } else { b"x" }));
                }
                // Dots of the host only: a path's `a.php` is not a link by itself.
                let host_from = if scheme_end > a { scheme_end + 3 } else { a };
                let host_to = s[host_from.min(b)..b]
                    .iter()
                    .position(|&c| matches!(c, b'/' | b'?' | b'#'))
                    .map_or(b, |p| host_from + p);
                dots(s, host_from.min(b), host_to, &mut edits);
            }
            Domain | Ipv4 | Cidr => {
                covered_until = b;
                dots(s, a, b, &mut edits);
            }
            Email => {
                covered_until = b;
                if let Some(at) = s[a..b].iter().position(|&c| c == b'@') {
                    edits.push((a + at, b"[@]"));
                    dots(s, a + at + 1, b, &mut edits);
                }
            }
            _ => {}
        }
    }
    if edits.is_empty() {
        return text.to_owned();
    }
    edits.sort_by_key(|&(p, _)| p);
    let mut out = Vec::with_capacity(s.len() + 3 * edits.len());
    let mut from = 0;
    for (p, with) in edits {
        out.extend_from_slice(&s[from..p]);
        out.extend_from_slice(with);
        from = p + 1;
    }
    out.extend_from_slice(&s[from..]);
    String::from_utf8(out).expect("defang replaces ASCII by ASCII")
}

/// Every plain `.` of `s[a..b]` becomes `[.]`; one already written `[.]` stays.
fn dots(s: &[u8], a: usize, b: usize, edits: &mut Vec<(usize, &'static [u8])>) {
    for p in a..b {
        if s[p] == b'.' && !(p > 0 && s[p - 1] == b'[' && s.get(p + 1) == Some(&b']')) {
            edits.push((p, b"[.]"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_form_is_refanged() {
        let cases = [
            ("evil[.]com", "evil.com"),
            ("evil(.)com", "evil.com"),
            ("evil{.}com", "evil.com"),
            ("evil[dot]com", "evil.com"),
            ("evil(dot)com", "evil.com"),
            ("evil dot com", "evil.com"),
            ("evil\\.com", "evil.com"),
            ("hxxp://a.com", "http://a.com"),
            ("hXXp://a.com", "hTTp://a.com"),
            ("hxxps://a.com", "https://a.com"),
            ("fxp://a.com", "ftp://a.com"),
            ("http[:]//a.com", "http://a.com"),
            ("http[://]a.com", "http://a.com"),
            ("hxxp[:]//a[.]com[/]x", "http://a.com/x"),
            ("me[@]a.com", "me@a.com"),
            ("me[at]a.com", "me@a.com"),
            ("me(at)a.com", "me@a.com"),
            ("me [at] a [dot] com", "me@a.com"),
            // Found by cargo fuzz: a host named hxxp.com, defanged, is not a scheme.
            ("hxxp[.]com/x", "hxxp.com/x"),
        ];
        for (defanged, plain) in cases {
            assert_eq!(refang(defanged), plain, "{defanged}");
        }
    }

    #[test]
    fn prose_is_left_alone() {
        for text in [
            "connect the dot in the map",
            "a dot on the line",
            "the hxxp header",
            "use (a) and [b]",
            "C:\\Users\\x",
        ] {
            assert_eq!(refang(text), text);
        }
    }

    #[test]
    fn positions_map_back_to_the_original() {
        let r = refang_mapped("see hxxp://evil[.]com[/]a now");
        assert_eq!(r.text, "see http://evil.com/a now");
        let start = r.text.find("evil").unwrap();
        let end = r.text.find(" now").unwrap();
        assert_eq!(r.original(start), 11);
        assert_eq!(
            &"see hxxp://evil[.]com[/]a now"[r.original(start)..r.original(end)],
            "evil[.]com[/]a"
        );
        assert!(r.was_defanged(start, end));
        assert!(!r.was_defanged(0, 3));
    }

    #[test]
    fn defang_defangs_indicators_only() {
        assert_eq!(
            defang("Beacon to https://evil.com/a.php from 10.1.2.3, mail bob@evil.com. Version 2.1 done."),
            "Beacon to hxxps://evil[.]com/a.php from 10[.]1[.]2[.]3, mail bob[@]evil[.]com. Version 2.1 done."
        );
        assert_eq!(
            defang("evil[.]com and evil.com"),
            "evil[.]com and evil[.]com"
        );
    }
}
