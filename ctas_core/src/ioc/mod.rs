//! Indicators of compromise in free text: extract, classify, refang and defang.
//!
//! [`extract`] reads report text once, left to right, in linear time: it refangs a
//! copy (keeping the way back to the original positions), finds URLs and registry keys
//! first, since they may hold spaces and other indicators, then reads the rest a
//! segment at a time. Whatever could be mistaken for an indicator is tested against
//! what it must be: a TLD from the IANA root zone (or an onion service whose address
//! checks out, [`onion`]), octets of at most 255, a checksum for a Bitcoin address, a
//! version word before a dotted quad.

mod coin;
mod fang;
mod lexicon;
pub mod onion;
mod scan;
pub mod tld;
pub mod warninglist;

pub use fang::{defang, refang, refang_mapped, Refanged};

/// Declares the kinds once: the enum, `ALL` and the SQL names stay in step.
macro_rules! ioc_kinds {
    ($($variant:ident => $name:literal),* $(,)?) => {
        /// What an indicator is.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum IocKind {
            $($variant),*
        }

        impl IocKind {
            pub const ALL: [IocKind; [$($name),*].len()] = [$(IocKind::$variant),*];

            /// The name used in SQL and JSON.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(IocKind::$variant => $name),*
                }
            }
        }
    };
}

ioc_kinds! {
    Ipv4 => "ipv4",
    Ipv6 => "ipv6",
    Cidr => "cidr",
    Domain => "domain",
    Url => "url",
    Email => "email",
    Md5 => "md5",
    Sha1 => "sha1",
    Sha256 => "sha256",
    Sha512 => "sha512",
    Ssdeep => "ssdeep",
    Imphash => "imphash",
    Cve => "cve",
    AttackTechnique => "attack_technique",
    AttackTactic => "attack_tactic",
    AttackGroup => "attack_group",
    AttackSoftware => "attack_software",
    AttackMitigation => "attack_mitigation",
    AttackCampaign => "attack_campaign",
    Asn => "asn",
    Mac => "mac",
    Bitcoin => "bitcoin",
    Monero => "monero",
    Ethereum => "ethereum",
    RegistryKey => "registry_key",
    FileName => "filename",
}

impl IocKind {
    pub fn parse(name: &str) -> Option<IocKind> {
        IocKind::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// The MISP attribute types an indicator of this kind can be stored as: what a
    /// warninglist's `matching_attributes` names.
    pub fn misp_types(self) -> &'static [&'static str] {
        use IocKind::*;
        match self {
            Ipv4 | Ipv6 | Cidr => &[
                "ip-src",
                "ip-dst",
                "ip-src|port",
                "ip-dst|port",
                "domain|ip",
            ],
            Domain => &["domain", "hostname", "domain|ip", "hostname|port"],
            Url => &["url", "uri", "link"],
            Email => &[
                "email",
                "email-src",
                "email-dst",
                "target-email",
                "whois-registrant-email",
                "dns-soa-email",
            ],
            Md5 => &["md5", "filename|md5", "x509-fingerprint-md5"],
            Sha1 => &["sha1", "filename|sha1", "x509-fingerprint-sha1"],
            Sha256 => &["sha256", "filename|sha256", "x509-fingerprint-sha256"],
            Sha512 => &["sha512", "filename|sha512"],
            Ssdeep => &["ssdeep", "filename|ssdeep"],
            Imphash => &["imphash", "filename|imphash"],
            Cve => &["vulnerability"],
            AttackTechnique | AttackTactic | AttackGroup | AttackSoftware | AttackMitigation
            | AttackCampaign => &["mitre-attack-pattern"],
            Asn => &["AS"],
            Mac => &["mac-address"],
            Bitcoin => &["btc"],
            Monero => &["xmr"],
            Ethereum => &["eth"],
            RegistryKey => &["regkey"],
            FileName => &["filename"],
        }
    }
}

impl std::fmt::Display for IocKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One indicator found in text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ioc {
    pub kind: IocKind,
    /// Refanged and normalised: lower-case hosts and hashes, `AS13335`, `CVE-2024-1234`,
    /// `aa:bb:cc:dd:ee:ff`, IPv6 in RFC 5952 form.
    pub value: String,
    /// Byte offsets of the indicator as written, in the text given to [`extract`].
    pub start: usize,
    pub end: usize,
}

/// Every indicator in `text`, in order of position (a URL before the host inside it).
pub fn extract(text: &str) -> Vec<Ioc> {
    let refanged = refang_mapped(text);
    let mut found = scan::scan(refanged.text.as_bytes(), &refanged);
    for ioc in &mut found {
        ioc.start = refanged.original(ioc.start);
        ioc.end = refanged.original(ioc.end);
    }
    found
}

/// The kind of `value` when the whole of it (trimmed, refanged) is one indicator.
pub fn kind_of(value: &str) -> Option<IocKind> {
    normalise(value).map(|ioc| ioc.kind)
}

/// The indicator `value` is when the whole of it (trimmed, refanged) is one, with its
/// normalised value.
pub fn normalise(value: &str) -> Option<Ioc> {
    let trimmed = value.trim();
    extract(trimmed)
        .into_iter()
        .find(|ioc| ioc.start == 0 && ioc.end == trimmed.len())
}

#[cfg(test)]
mod tests;
