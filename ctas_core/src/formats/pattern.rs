//! The observables a STIX indicator's pattern names: its comparisons of the form
//! `object-type:property = 'value'`, however they are joined (AND, OR, FOLLOWEDBY,
//! qualifiers). A comparison by another operator (`!=`, `MATCHES`, `LIKE`, `IN`, `>`) or
//! under NOT names no single value and is passed over, as is a property STIX does not
//! make an indicator of.

use crate::ioc::{self, IocKind};

/// One value a pattern names, with the kind CTAS files it under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observable {
    pub kind: IocKind,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    /// An object path (`file:hashes.'SHA-256'`) or a keyword (`AND`, `NOT`, `MATCHES`).
    Word(String),
    /// A quoted string, unescaped.
    Str(String),
    Num(String),
    /// `=`, `!=`, `<`, `<=`, `>`, `>=`.
    Op(&'static str),
    /// Brackets, parentheses, commas, and typed literals (`t'…'`, `h'…'`, `b'…'`).
    Other,
}

/// Every observable `pattern` names, in order, each once.
pub fn observables(pattern: &str) -> Vec<Observable> {
    let tokens = tokens(pattern);
    let mut found: Vec<Observable> = Vec::new();
    for (i, window) in tokens.windows(3).enumerate() {
        let [Token::Word(path), Token::Op("="), value] = window else {
            continue;
        };
        let negated =
            i > 0 && matches!(&tokens[i - 1], Token::Word(w) if w.eq_ignore_ascii_case("NOT"));
        let value = match value {
            Token::Str(s) | Token::Num(s) => s,
            _ => continue,
        };
        if negated {
            continue;
        }
        if let Some(o) = observable(path, value) {
            if !found.contains(&o) {
                found.push(o);
            }
        }
    }
    found
}

/// The kind of indicator a property's value is.
fn observable(path: &str, value: &str) -> Option<Observable> {
    let (object, property) = path.split_once(':')?;
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    let by_reading = || ioc::kind_of(value);
    let kind = match (object, property) {
        ("ipv4-addr" | "ipv6-addr", "value") => match by_reading()? {
            k @ (IocKind::Ipv4 | IocKind::Ipv6 | IocKind::Cidr) => k,
            _ => return None,
        },
        ("domain-name", "value") => IocKind::Domain,
        ("url", "value") => IocKind::Url,
        ("email-addr", "value") => IocKind::Email,
        ("mac-addr", "value") => IocKind::Mac,
        ("autonomous-system", "number") => {
            let n: u64 = value.parse().ok()?;
            return Some(Observable {
                kind: IocKind::Asn,
                value: format!("AS{n}"),
            });
        }
        ("windows-registry-key", "key") => IocKind::RegistryKey,
        ("file", "name") => IocKind::FileName,
        ("file", p) if p.starts_with("hashes.") => hash_kind(&p["hashes.".len()..])?,
        // Addresses and names reached through references (`network-traffic:dst_ref.value`,
        // `email-message:from_ref.value`) are whatever their value reads as.
        (_, p) if p.ends_with("_ref.value") || p.ends_with("_refs[*].value") => by_reading()?,
        _ => return None,
    };
    Some(Observable {
        kind,
        value: value.to_owned(),
    })
}

/// The kind of a STIX hash name (`'SHA-256'`, `SHA256`, `MD5`, ...).
fn hash_kind(name: &str) -> Option<IocKind> {
    let name = name
        .trim_matches('\'')
        .to_ascii_uppercase()
        .replace('-', "");
    Some(match name.as_str() {
        "MD5" => IocKind::Md5,
        "SHA1" => IocKind::Sha1,
        "SHA256" => IocKind::Sha256,
        "SHA512" => IocKind::Sha512,
        "SSDEEP" => IocKind::Ssdeep,
        _ => return None,
    })
}

fn tokens(p: &str) -> Vec<Token> {
    let b = p.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        match c {
            c if c.is_ascii_whitespace() => i += 1,
            b'\'' => {
                let (s, next) = quoted(p, i);
                out.push(Token::Str(s));
                i = next;
            }
            b'=' => {
                out.push(Token::Op("="));
                i += 1;
            }
            b'!' | b'<' | b'>' => {
                let two = b.get(i + 1) == Some(&b'=');
                out.push(Token::Op(match (c, two) {
                    (b'!', _) => "!=",
                    (b'<', true) => "<=",
                    (b'<', false) => "<",
                    (_, true) => ">=",
                    _ => ">",
                }));
                i += if two { 2 } else { 1 };
            }
            b'[' | b']' | b'(' | b')' | b',' => {
                out.push(Token::Other);
                i += 1;
            }
            b'0'..=b'9' | b'-' | b'+' => {
                let start = i;
                i += 1;
                while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'.') {
                    i += 1;
                }
                out.push(Token::Num(p[start..i].to_owned()));
            }
            // Typed literals: t'2026-01-01T00:00:00Z', h'ff00', b'AAA='.
            b't' | b'h' | b'b' if b.get(i + 1) == Some(&b'\'') => {
                let (_, next) = quoted(p, i + 1);
                out.push(Token::Other);
                i = next;
            }
            _ => {
                let start = i;
                while i < b.len() {
                    match b[i] {
                        c if c.is_ascii_whitespace() => break,
                        b'=' | b'!' | b'<' | b'>' | b'(' | b')' | b',' | b']' => break,
                        // A quoted step of a path: hashes.'SHA-256'.
                        b'\'' if i > start && b[i - 1] == b'.' => i = quoted(p, i).1,
                        // A list index of a path: values[0], values[*].
                        b'[' => match p[i..].find(']') {
                            Some(end)
                                if p[i + 1..i + end]
                                    .bytes()
                                    .all(|c| c.is_ascii_digit() || c == b'*') =>
                            {
                                i += end + 1
                            }
                            _ => break,
                        },
                        _ => i += 1,
                    }
                }
                if i == start {
                    i += 1;
                    out.push(Token::Other);
                } else {
                    out.push(Token::Word(p[start..i].to_owned()));
                }
            }
        }
    }
    out
}

/// The string quoted at byte `at` (a `'`), unescaped (`\'` and `\\`), and the byte
/// after its closing quote.
fn quoted(p: &str, at: usize) -> (String, usize) {
    let mut s = String::new();
    let mut chars = p[at + 1..].char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => {
                if let Some((_, e)) = chars.next() {
                    s.push(e);
                }
            }
            '\'' => return (s, at + 1 + i + 1),
            c => s.push(c),
        }
    }
    (s, p.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(p: &str) -> Vec<(&'static str, String)> {
        observables(p)
            .into_iter()
            .map(|o| (o.kind.as_str(), o.value))
            .collect()
    }

    #[test]
    fn comparisons_joined_by_and_or_are_observables() {
        assert_eq!(
            named("[ipv4-addr:value = '203.0.113.7' OR domain-name:value = 'evil.example.com'] AND [url:value = 'http://evil.example.com/a b']"),
            vec![
                ("ipv4", "203.0.113.7".into()),
                ("domain", "evil.example.com".into()),
                ("url", "http://evil.example.com/a b".into()),
            ]
        );
        let sha = "5f2b1e3a8c9d0e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f";
        assert_eq!(
            named(&format!("[file:hashes.'SHA-256' = '{sha}' OR file:hashes.MD5 = 'd41d8cd98f00b204e9800998ecf8427e']")),
            vec![("sha256", sha.into()), ("md5", "d41d8cd98f00b204e9800998ecf8427e".into())]
        );
        assert_eq!(
            named("[autonomous-system:number = 13335]"),
            vec![("asn", "AS13335".into())]
        );
        assert_eq!(
            named("[network-traffic:dst_ref.value = '198.51.100.4' AND network-traffic:dst_port = 443]"),
            vec![("ipv4", "198.51.100.4".into())]
        );
        assert_eq!(
            named("[ipv4-addr:value = '198.51.100.0/24']"),
            vec![("cidr", "198.51.100.0/24".into())]
        );
        assert_eq!(
            named(r"[windows-registry-key:key = 'HKEY_LOCAL_MACHINE\\Software\\Run' ]"),
            vec![("registry_key", r"HKEY_LOCAL_MACHINE\Software\Run".into())]
        );
        assert_eq!(
            named(r"[file:name = 'it\'s.exe']"),
            vec![("filename", "it's.exe".into())]
        );
    }

    #[test]
    fn what_names_no_single_value_is_passed_over() {
        assert!(named("[domain-name:value != 'a.example.com']").is_empty());
        assert!(named("[NOT domain-name:value = 'a.example.com']").is_empty());
        assert!(named("[url:value MATCHES '^http://']").is_empty());
        assert!(named("[ipv4-addr:value IN ('203.0.113.1', '203.0.113.2')]").is_empty());
        assert!(named("[file:size > 1000] WITHIN 5 SECONDS").is_empty());
        assert!(named("[process:command_line = 'cmd.exe /c whoami']").is_empty());
        assert!(named("[ipv4-addr:value = 'not an address']").is_empty());
        assert!(named("[file:created = t'2026-01-01T00:00:00Z']").is_empty());
        assert!(named("[unterminated:value = 'x").is_empty());
    }
}
