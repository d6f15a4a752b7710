//! Words of letters and digits: hashes, cryptocurrency addresses, ATT&CK ids, ASNs and
//! CVEs.

use super::{digits, is_alnum, lower, text, Scanner};
use crate::ioc::{coin, IocKind};

impl Scanner<'_, '_> {
    /// A word of letters and digits: hashes, addresses, ATT&CK ids, ASNs, CVEs.
    pub(super) fn word(
        &mut self,
        w0: usize,
        w1: usize,
        r0: usize,
        r1: usize,
        seg_a: usize,
        seg_b: usize,
    ) {
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
        if let Some(kind) = attack_id(w) {
            self.emit(kind, w0, w1, text(w).to_ascii_uppercase());
            return;
        }
        match w.len() {
            3.. if w[..2].eq_ignore_ascii_case(b"as") => {
                let num = if w.len() > 3 && w[2] | 0x20 == b'n' {
                    &w[3..]
                } else {
                    &w[2..]
                };
                if asn_number(num) {
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
    pub(super) fn cve_after(&mut self, w0: usize, seg_b: usize) {
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
    pub(super) fn asn_after(&mut self, w0: usize, seg_b: usize) {
        let s = self.s;
        if s.get(seg_b) != Some(&b' ') {
            return;
        }
        let z = seg_b + 1;
        let mut k = z;
        while k < s.len() && s[k].is_ascii_digit() {
            k += 1;
        }
        if !asn_number(&s[z..k])
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
    pub(super) fn labelled(&self, w0: usize, labels: &[&[u8]]) -> bool {
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
pub(super) fn cve_number(w: &[u8]) -> bool {
    w.len() >= 9 && digits(&w[..4]) && w[4] == b'-' && digits(&w[5..])
}

/// `CVE-2024-3400` in any case, as `CVE-…`.
pub(super) fn cve(w: &[u8]) -> Option<String> {
    (w.len() >= 13 && w[..4].eq_ignore_ascii_case(b"cve-") && cve_number(&w[4..]))
        .then(|| text(w).to_ascii_uppercase())
}

/// The number of an autonomous system: at most ten digits (32 bits, RFC 6793).
fn asn_number(d: &[u8]) -> bool {
    digits(d) && d.len() <= 10
}

/// What an ATT&CK id names: `T1059` and `T1059.001` (techniques), `TA0001` (tactics),
/// `G0016`, `S0154`, `M1036`, `C0001` (groups, software, mitigations, campaigns).
pub(super) fn attack_id(w: &[u8]) -> Option<IocKind> {
    let technique = |w: &[u8]| w[0] | 0x20 == b't' && digits(&w[1..5]);
    match w.len() {
        5 if technique(w) => Some(IocKind::AttackTechnique),
        9 if technique(w) && w[5] == b'.' && digits(&w[6..]) => Some(IocKind::AttackTechnique),
        6 if w[..2].eq_ignore_ascii_case(b"ta") && digits(&w[2..]) => Some(IocKind::AttackTactic),
        5 => match w[0] {
            b'G' if digits(&w[1..]) => Some(IocKind::AttackGroup),
            b'S' if digits(&w[1..]) => Some(IocKind::AttackSoftware),
            b'M' if digits(&w[1..]) => Some(IocKind::AttackMitigation),
            b'C' if digits(&w[1..]) => Some(IocKind::AttackCampaign),
            _ => None,
        },
        _ => None,
    }
}
