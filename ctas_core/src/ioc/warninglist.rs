//! MISP warninglists: known-benign values (RFC 1918, public resolvers, top sites).
//!
//! An indicator on a warninglist is not dropped: it is flagged with the list's name,
//! so an analyst sees `8.8.8.8` and why it is probably noise. Each list matches the way
//! MISP does, by its own `type`: `string`, `substring`, `hostname`, `cidr` or `regex`,
//! and only indicators of the attribute types it names (`matching_attributes`).

use std::collections::HashSet;
use std::net::IpAddr;

use aho_corasick::AhoCorasick;
use regex::RegexSet;
use serde_json::Value;

use super::IocKind;

/// How a list's entries match, as MISP defines it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListType {
    String,
    Substring,
    Hostname,
    Cidr,
    Regex,
}

impl ListType {
    pub fn parse(name: &str) -> Option<ListType> {
        Some(match name {
            "string" => ListType::String,
            "substring" => ListType::Substring,
            "hostname" => ListType::Hostname,
            "cidr" => ListType::Cidr,
            "regex" => ListType::Regex,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ListType::String => "string",
            ListType::Substring => "substring",
            ListType::Hostname => "hostname",
            ListType::Cidr => "cidr",
            ListType::Regex => "regex",
        }
    }
}

/// A warninglist as MISP publishes it (`lists/<name>/list.json`).
#[derive(Clone, Debug, PartialEq)]
pub struct Warninglist {
    pub name: String,
    pub description: String,
    pub version: i64,
    pub list_type: ListType,
    pub matching_attributes: Vec<String>,
    pub entries: Vec<String>,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum WarninglistError {
    #[error("warninglist: {0}")]
    Format(String),
    #[error("warninglist {list:?}: entry {entry:?} is not {what}")]
    Entry {
        list: String,
        entry: String,
        what: &'static str,
    },
}

fn field<'v>(v: &'v Value, key: &str) -> Result<&'v Value, WarninglistError> {
    v.get(key)
        .ok_or_else(|| WarninglistError::Format(format!("missing field \"{key}\"")))
}

fn strings(v: &Value, key: &str) -> Result<Vec<String>, WarninglistError> {
    let Some(items) = v.as_array() else {
        return Err(WarninglistError::Format(format!(
            "\"{key}\" must be an array of strings"
        )));
    };
    items
        .iter()
        .map(|i| {
            i.as_str().map(str::to_owned).ok_or_else(|| {
                WarninglistError::Format(format!("\"{key}\" must hold only strings, found {i}"))
            })
        })
        .collect()
}

impl Warninglist {
    /// A list from MISP's JSON: `name`, `type`, `list` required; `description`,
    /// `version`, `matching_attributes` optional.
    pub fn from_misp(v: &Value) -> Result<Warninglist, WarninglistError> {
        if !v.is_object() {
            return Err(WarninglistError::Format("expected a JSON object".into()));
        }
        let name = field(v, "name")?
            .as_str()
            .filter(|n| !n.trim().is_empty())
            .ok_or_else(|| WarninglistError::Format("\"name\" must be a non-empty string".into()))?
            .to_owned();
        let type_name = field(v, "type")?.as_str().unwrap_or_default();
        let list_type = ListType::parse(type_name).ok_or_else(|| {
            WarninglistError::Format(format!(
                "\"type\" of {name:?} is {type_name:?}; expected string, substring, hostname, cidr or regex"
            ))
        })?;
        let list = Warninglist {
            description: v
                .get("description")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            version: v.get("version").and_then(Value::as_i64).unwrap_or(0),
            matching_attributes: match v.get("matching_attributes") {
                Some(m) => strings(m, "matching_attributes")?,
                None => Vec::new(),
            },
            entries: strings(field(v, "list")?, "list")?,
            name,
            list_type,
        };
        // Compile once to report a bad entry now rather than at the first match.
        Matcher::build(&list)?;
        Ok(list)
    }
}

/// One list, ready to match.
struct Compiled {
    name: String,
    /// Bit `k` set: applies to `IocKind::ALL[k]`.
    kinds: u32,
    matcher: Matcher,
}

enum Matcher {
    /// Exact values, and domains whose subdomains count too.
    Exact(
        HashSet<String, ahash::RandomState>,
        HashSet<String, ahash::RandomState>,
    ),
    Substring(AhoCorasick),
    Hostname(HashSet<String, ahash::RandomState>),
    /// Sorted, merged ranges of IPv4 (mapped into IPv6) and IPv6 addresses.
    Cidr(Vec<(u128, u128)>),
    Regex(RegexSet),
}

fn ip_bits(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => u128::from(v4.to_ipv6_mapped()),
        IpAddr::V6(v6) => u128::from(v6),
    }
}

/// The addresses `a.b.c.d/n` (or one address) covers, as a range.
pub(crate) fn cidr_range(text: &str) -> Option<(u128, u128)> {
    let (addr, len) = match text.split_once('/') {
        Some((a, l)) => (a, Some(l.parse::<u32>().ok()?)),
        None => (text, None),
    };
    let ip: IpAddr = addr.trim().parse().ok()?;
    let width = if ip.is_ipv4() { 32 } else { 128 };
    let len = len.unwrap_or(width);
    if len > width {
        return None;
    }
    let host_bits = width - len;
    let start = ip_bits(ip);
    let mask = if host_bits == 128 {
        u128::MAX
    } else {
        (1u128 << host_bits) - 1
    };
    Some((start & !mask, (start & !mask) | mask))
}

impl Matcher {
    fn build(list: &Warninglist) -> Result<Matcher, WarninglistError> {
        let bad = |entry: &str, what| WarninglistError::Entry {
            list: list.name.clone(),
            entry: entry.to_owned(),
            what,
        };
        Ok(match list.list_type {
            ListType::String => {
                // `.google.com` in a string list stands for the domain and its subdomains.
                let (dotted, plain): (Vec<&String>, Vec<&String>) =
                    list.entries.iter().partition(|e| e.trim().starts_with('.'));
                Matcher::Exact(
                    plain.iter().map(|e| e.trim().to_lowercase()).collect(),
                    dotted
                        .iter()
                        .map(|e| e.trim().trim_start_matches('.').to_lowercase())
                        .collect(),
                )
            }
            ListType::Hostname => Matcher::Hostname(
                list.entries
                    .iter()
                    .map(|e| {
                        e.trim()
                            .trim_start_matches('.')
                            .trim_end_matches('.')
                            .to_lowercase()
                    })
                    .collect(),
            ),
            ListType::Substring => Matcher::Substring(
                AhoCorasick::builder()
                    .ascii_case_insensitive(true)
                    .build(list.entries.iter().filter(|e| !e.is_empty()))
                    .map_err(|e| WarninglistError::Format(format!("{:?}: {e}", list.name)))?,
            ),
            ListType::Cidr => {
                let mut ranges = Vec::with_capacity(list.entries.len());
                for e in &list.entries {
                    ranges.push(cidr_range(e).ok_or_else(|| bad(e, "an address or CIDR block"))?);
                }
                ranges.sort_unstable();
                let mut merged: Vec<(u128, u128)> = Vec::with_capacity(ranges.len());
                for (a, b) in ranges {
                    match merged.last_mut() {
                        Some((_, end)) if a <= end.saturating_add(1) => *end = (*end).max(b),
                        _ => merged.push((a, b)),
                    }
                }
                Matcher::Cidr(merged)
            }
            ListType::Regex => {
                let mut patterns = Vec::with_capacity(list.entries.len());
                for e in &list.entries {
                    patterns.push(misp_regex(e).ok_or_else(|| bad(e, "a /regex/flags"))?);
                }
                Matcher::Regex(
                    RegexSet::new(&patterns)
                        .map_err(|_| bad(&list.entries.join(" "), "a valid regex"))?,
                )
            }
        })
    }

    fn matches(&self, kind: IocKind, value: &str) -> bool {
        match self {
            Matcher::Exact(set, domains) => {
                set.contains(&value.to_lowercase())
                    || host_of(kind, value).is_some_and(|host| {
                        let host = host.to_lowercase();
                        set.contains(&host) || under(&host, domains)
                    })
            }
            Matcher::Substring(ac) => ac.is_match(value),
            Matcher::Hostname(set) => {
                host_of(kind, value).is_some_and(|host| under(&host.to_lowercase(), set))
            }
            Matcher::Cidr(ranges) => {
                let Some((a, b)) = ip_of(kind, value).and_then(cidr_range) else {
                    return false;
                };
                let i = ranges.partition_point(|&(start, _)| start <= a);
                i > 0 && ranges[i - 1].1 >= b
            }
            Matcher::Regex(set) => set.is_match(value),
        }
    }
}

/// Whether `host` or one of its parents is in `set`: `a.b.google.com` is under `google.com`.
fn under(host: &str, set: &HashSet<String, ahash::RandomState>) -> bool {
    std::iter::successors(Some(host), |h| h.split_once('.').map(|(_, rest)| rest))
        .any(|h| set.contains(h))
}

/// `/pattern/flags` (MISP writes PCRE literals) as a pattern for the `regex` crate.
fn misp_regex(entry: &str) -> Option<String> {
    let body = entry.strip_prefix('/')?;
    let end = body.rfind('/')?;
    let flags = &body[end + 1..];
    let pattern = &body[..end];
    let inline: String = flags
        .chars()
        .filter(|c| matches!(c, 'i' | 'm' | 's' | 'x'))
        .collect();
    Some(if inline.is_empty() {
        pattern.to_owned()
    } else {
        format!("(?{inline}){pattern}")
    })
}

/// The host an indicator names: a domain itself, a URL's host, an e-mail's domain.
fn host_of(kind: IocKind, value: &str) -> Option<&str> {
    match kind {
        IocKind::Domain | IocKind::Ipv4 | IocKind::Ipv6 => Some(value),
        IocKind::Url => {
            let rest = value.split_once("://").map_or(value, |(_, r)| r);
            let auth = rest.split(['/', '?', '#']).next()?;
            let host = auth.rsplit_once('@').map_or(auth, |(_, h)| h);
            Some(host.split(':').next().unwrap_or(host))
        }
        IocKind::Email => value.rsplit_once('@').map(|(_, d)| d),
        _ => None,
    }
}

fn ip_of(kind: IocKind, value: &str) -> Option<&str> {
    match kind {
        IocKind::Ipv4 | IocKind::Cidr => Some(value),
        IocKind::Ipv6 => Some(value.split('%').next().unwrap_or(value)),
        IocKind::Url => host_of(kind, value).filter(|h| h.parse::<IpAddr>().is_ok()),
        _ => None,
    }
}

/// A set of warninglists, compiled.
#[derive(Default)]
pub struct Warninglists {
    lists: Vec<Compiled>,
}

impl Warninglists {
    pub fn new(lists: &[Warninglist]) -> Result<Warninglists, WarninglistError> {
        let mut compiled = Vec::with_capacity(lists.len());
        for list in lists {
            let kinds = IocKind::ALL
                .iter()
                .enumerate()
                .fold(0u32, |bits, (k, kind)| {
                    let applies = list.matching_attributes.is_empty()
                        || kind
                            .misp_types()
                            .iter()
                            .any(|t| list.matching_attributes.iter().any(|m| m == t));
                    bits | (u32::from(applies) << k)
                });
            compiled.push(Compiled {
                name: list.name.clone(),
                kinds,
                matcher: Matcher::build(list)?,
            });
        }
        compiled.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(Warninglists { lists: compiled })
    }

    pub fn len(&self) -> usize {
        self.lists.len()
    }

    pub fn is_empty(&self) -> bool {
        self.lists.is_empty()
    }

    /// The names of the lists (sorted) that hold `value`, an indicator of `kind`.
    pub fn hits(&self, kind: IocKind, value: &str) -> Vec<&str> {
        let bit = 1u32 << IocKind::ALL.iter().position(|k| *k == kind).unwrap_or(0);
        self.lists
            .iter()
            .filter(|l| l.kinds & bit != 0 && l.matcher.matches(kind, value))
            .map(|l| l.name.as_str())
            .collect()
    }

    /// The lists that hold `value`, whatever it is: classified first when it is an
    /// indicator, otherwise matched as it stands by the lists of any kind.
    pub fn hits_of(&self, value: &str) -> Vec<&str> {
        match super::normalise(value) {
            Some(ioc) => self.hits(ioc.kind, &ioc.value),
            None => self
                .lists
                .iter()
                .filter(|l| {
                    matches!(
                        l.matcher,
                        Matcher::Exact(..) | Matcher::Substring(_) | Matcher::Regex(_)
                    )
                })
                .filter(|l| l.matcher.matches(IocKind::FileName, value.trim()))
                .map(|l| l.name.as_str())
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn lists() -> Warninglists {
        let raw = [
            json!({"name": "RFC 1918", "type": "cidr", "list": ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"],
                   "matching_attributes": ["ip-src", "ip-dst", "domain|ip"]}),
            json!({"name": "Public DNS v6", "type": "cidr", "list": ["2001:4860:4860::8888/128"]}),
            json!({"name": "Top domains", "type": "hostname", "list": [".google.com", "example.org"],
                   "matching_attributes": ["domain", "hostname", "url"]}),
            json!({"name": "Google", "type": "string", "list": [".google.com"], "matching_attributes": ["domain", "url"]}),
            json!({"name": "Empty file hashes", "type": "string", "list": ["D41D8CD98F00B204E9800998ECF8427E"],
                   "matching_attributes": ["md5"]}),
            json!({"name": "Disposable mail", "type": "substring", "list": ["mailinator.com"],
                   "matching_attributes": ["email-src"]}),
            json!({"name": "Contact mails", "type": "regex", "list": ["/^(security|abuse)\\@.*\\..*$/i"],
                   "matching_attributes": ["email-src"]}),
        ];
        let parsed: Vec<Warninglist> = raw
            .iter()
            .map(|v| Warninglist::from_misp(v).unwrap())
            .collect();
        Warninglists::new(&parsed).unwrap()
    }

    #[test]
    fn each_type_matches_its_own_way() {
        let l = lists();
        assert_eq!(l.hits(IocKind::Ipv4, "10.1.2.3"), ["RFC 1918"]);
        assert_eq!(l.hits(IocKind::Cidr, "192.168.4.0/24"), ["RFC 1918"]);
        assert!(l.hits(IocKind::Cidr, "8.0.0.0/4").is_empty());
        assert!(l.hits(IocKind::Ipv4, "11.0.0.1").is_empty());
        assert_eq!(
            l.hits(IocKind::Ipv6, "2001:4860:4860::8888"),
            ["Public DNS v6"]
        );
        assert_eq!(
            l.hits(IocKind::Domain, "mail.google.com"),
            ["Google", "Top domains"]
        );
        assert!(l.hits(IocKind::Domain, "notgoogle.com").is_empty());
        assert_eq!(
            l.hits(IocKind::Url, "https://www.example.org/x"),
            ["Top domains"]
        );
        assert_eq!(
            l.hits(IocKind::Md5, "d41d8cd98f00b204e9800998ecf8427e"),
            ["Empty file hashes"]
        );
        assert_eq!(
            l.hits(IocKind::Email, "x@mailinator.com"),
            ["Disposable mail"]
        );
        assert_eq!(
            l.hits(IocKind::Email, "Abuse@corp.example"),
            ["Contact mails"]
        );
        // A list applies only to the attribute types it names.
        assert!(l
            .hits(IocKind::Sha1, "d41d8cd98f00b204e9800998ecf8427e")
            .is_empty());
        assert_eq!(
            l.hits_of("hxxps://mail[.]google[.]com/x"),
            ["Google", "Top domains"]
        );
    }

    #[test]
    fn bad_lists_are_named() {
        let e =
            Warninglist::from_misp(&json!({"name": "x", "type": "cidr", "list": ["10.0.0.0/40"]}))
                .unwrap_err();
        assert_eq!(
            e.to_string(),
            "warninglist \"x\": entry \"10.0.0.0/40\" is not an address or CIDR block"
        );
        let e =
            Warninglist::from_misp(&json!({"name": "x", "type": "glob", "list": []})).unwrap_err();
        assert!(e.to_string().contains("\"glob\""), "{e}");
        let e = Warninglist::from_misp(&json!({"type": "string", "list": []})).unwrap_err();
        assert_eq!(e.to_string(), "warninglist: missing field \"name\"");
    }
}
