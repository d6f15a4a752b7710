//! Dotted names: IPv4 addresses and CIDR blocks, host names, file names, and the dotted
//! words that are neither (versions, detection names, `ASP.NET`).

use super::colon::mac;
use super::url::{url_text, Opener};
use super::word::attack_id;
use super::{digits, is_alnum, lower, text, Scanner, RUN};
use crate::ioc::{lexicon, onion, tld, IocKind};

/// Valid labels of a host name whose last label is an IANA TLD, or an onion service.
pub(super) fn is_domain(w: &[u8]) -> bool {
    if w.len() > 253 || w.len() < 3 {
        return false;
    }
    let mut labels = 0;
    let (mut before, mut last): (&[u8], &[u8]) = (&[], &[]);
    for label in w.split(|&c| c == b'.') {
        if !valid_label(label) {
            return false;
        }
        labels += 1;
        (before, last) = (last, label);
    }
    labels >= 2 && (tld_label(last) || onion::is_onion_name(&[before, last]))
}

/// A label of a host name (RFC 1035 §2.3.1, RFC 1123 §2.1): 1 to 63 letters, digits and
/// hyphens, not starting or ending with a hyphen; `_` is allowed too, as DNS names
/// beyond host names use it (`_spf`, `_dmarc`: RFC 8552).
fn valid_label(l: &[u8]) -> bool {
    !l.is_empty()
        && l.len() <= 63
        && l[0] != b'-'
        && l[l.len() - 1] != b'-'
        && l.iter().all(|&c| is_alnum(c) || c == b'-' || c == b'_')
}

pub(super) fn tld_label(label: &[u8]) -> bool {
    (label.iter().all(u8::is_ascii_alphabetic) || label.starts_with(b"xn--")) && tld::is_tld(label)
}

/// Four decimal octets of at most 255, as written.
pub(super) fn ipv4(w: &[u8]) -> Option<[u8; 4]> {
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

pub(super) fn quad(o: [u8; 4]) -> String {
    format!("{}.{}.{}.{}", o[0], o[1], o[2], o[3])
}

impl Scanner<'_, '_> {
    /// A run with dots: an address, a MAC, a sub-technique, a host or a file name.
    pub(super) fn dotted(&mut self, r0: usize, r1: usize, seg_a: usize, seg_b: usize) {
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
        // `T1059.001`; `T1059.1` and the like are nothing, not names.
        if w[0] | 0x20 == b't' && w.len() >= 6 && digits(&w[1..5]) && w[5] == b'.' {
            if let Some(kind) = attack_id(w) {
                self.emit(kind, r0, r1, text(w).to_ascii_uppercase());
            }
            return;
        }
        self.name(r0, r1, seg_a, seg_b);
    }

    /// Whether the dotted quad at `r0` follows a word that makes it a version number
    /// (`version 2.4.1.7`, `Chrome/120.0.0.1`, `build: 10.0.19041.1`).
    pub(super) fn after_version_word(&self, r0: usize, seg_a: usize) -> bool {
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

    pub(super) fn address(&mut self, o: [u8; 4], r0: usize, r1: usize, seg_b: usize) {
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
    pub(super) fn name(&mut self, r0: usize, r1: usize, seg_a: usize, seg_b: usize) {
        let s = self.s;
        let w = &s[r0..r1];
        if w.len() > 253 {
            return;
        }
        let labels: Vec<&[u8]> = w.split(|&c| c == b'.').collect();
        if !labels.iter().all(|l| valid_label(l)) {
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
        if !is_tld || labels.len() < 2 {
            return;
        }
        // A scheme-less URL: the name starts its segment and a path follows.
        if r0 == seg_a
            && s.get(r1) == Some(&b'/')
            && s.get(r1 + 1).is_some_and(|&c| c > b' ' && c != b'/')
        {
            let e = self.url_end(r0, r1 + 1, Opener::before(s, r0));
            if e > r1 + 1 && e >= seg_b {
                let mut value = lower(w);
                value.push_str(&url_text(&s[r1..e]));
                self.emit(IocKind::Url, r0, e, value);
                self.emit(IocKind::Domain, r0, r1, lower(w));
                self.resume = self.resume.max(e);
                return;
            }
        }
        // `_spf.example.com`: a first label with `_` before it (RFC 8552), which the
        // edges of the segment and of the run left out; not `_host.example.com_`,
        // Markdown's emphasis.
        if r0 > 0
            && s[r0 - 1] == b'_'
            && (r0 < 2 || !RUN[s[r0 - 2] as usize])
            && s.get(r1) != Some(&b'_')
        {
            self.emit(IocKind::Domain, r0 - 1, r1, format!("_{}", lower(w)));
            return;
        }
        self.emit(IocKind::Domain, r0, r1, lower(w));
    }
}
