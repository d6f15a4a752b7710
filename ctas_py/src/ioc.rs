//! Indicators in text: extraction, classification, refang/defang, MISP warninglists,
//! and the deterministic ids every face gives them.

use ctas_core::chars::CharPositions;
use ctas_core::ioc::warninglist::{Warninglist, Warninglists as Lists};
use ctas_core::ioc::{self, IocKind};
use ctas_core::model::ids;
use pyo3::prelude::*;

use crate::error::{argument, refused, repr};
use crate::interrupt;

/// One indicator found in a text.
#[pyclass(frozen, get_all, module = "ctas", eq)]
#[derive(Clone, PartialEq)]
pub(crate) struct Ioc {
    /// url, domain, ipv4, ipv6, email, md5, sha1, sha256, sha512, cve, … (`ioc_kinds()`).
    kind: &'static str,
    /// Refanged and normalised (lower-case hosts and hashes, `CVE-2024-1234`, RFC 5952
    /// IPv6).
    value: String,
    /// As written in the text.
    raw: String,
    /// Where `raw` stands: `text[start:end] == raw` (Python's character offsets).
    start: usize,
    end: usize,
    /// The warninglists (by name) that hold the value, when lists were given.
    warninglists: Vec<String>,
}

#[pymethods]
impl Ioc {
    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "Ioc(kind={}, value={}, raw={}, start={}, end={}, warninglists={})",
            repr(py, self.kind)?,
            repr(py, &self.value)?,
            repr(py, &self.raw)?,
            self.start,
            self.end,
            self.warninglists.clone().into_pyobject(py)?.repr()?
        ))
    }
}

/// MISP warninglists, compiled once for many lookups.
#[pyclass(frozen, module = "ctas")]
pub(crate) struct Warninglists {
    pub(crate) lists: Lists,
    names: Vec<String>,
}

#[pymethods]
impl Warninglists {
    /// `lists`: MISP warninglists as published (each a `list.json`, as a dict or JSON
    /// text). A bad type, CIDR block or regex is a `CtasError` naming the list.
    #[new]
    fn new(lists: Vec<Bound<'_, PyAny>>) -> PyResult<Self> {
        let mut parsed = Vec::with_capacity(lists.len());
        for (i, l) in lists.iter().enumerate() {
            let v = crate::json::value(l, &format!("lists[{i}]"))?;
            parsed
                .push(Warninglist::from_misp(&v).map_err(|e| argument(&format!("lists[{i}]"), e))?);
        }
        let names = parsed.iter().map(|l| l.name.clone()).collect();
        Ok(Warninglists {
            lists: Lists::new(&parsed).map_err(refused)?,
            names,
        })
    }

    /// The names of the lists that hold `value` (classified first when it is an
    /// indicator; `kind` forces its kind).
    #[pyo3(signature = (value, kind=None))]
    fn hits(&self, value: &str, kind: Option<&str>) -> PyResult<Vec<String>> {
        let hits = match kind {
            None => self.lists.hits_of(value),
            Some(k) => {
                let kind = parse_kind(k)?;
                let normal = ioc::normalise(value).map_or_else(|| value.to_owned(), |i| i.value);
                self.lists.hits(kind, &normal)
            }
        };
        Ok(hits.into_iter().map(str::to_owned).collect())
    }

    /// The names of the lists, in the order given.
    #[getter]
    fn names(&self) -> Vec<String> {
        self.names.clone()
    }

    fn __len__(&self) -> usize {
        self.lists.len()
    }
}

fn parse_kind(kind: &str) -> PyResult<IocKind> {
    IocKind::parse(kind).ok_or_else(|| {
        let names: Vec<&str> = IocKind::ALL.iter().map(|k| k.as_str()).collect();
        argument(
            "kind",
            format!("must be one of {}, got {kind:?}", names.join(", ")),
        )
    })
}

/// Every indicator in `text`, in order of position, refanged and normalised, with the
/// warninglists that hold it when `warninglists` is given.
#[pyfunction]
#[pyo3(signature = (text, warninglists=None))]
fn extract_iocs(
    py: Python<'_>,
    text: &str,
    warninglists: Option<&Warninglists>,
) -> PyResult<Vec<Ioc>> {
    interrupt::run(py, || {
        let found = ioc::extract(text);
        let pos = CharPositions::new(text, found.iter().flat_map(|i| [i.start, i.end]));
        found
            .into_iter()
            .map(|i| Ioc {
                kind: i.kind.as_str(),
                raw: text[i.start..i.end].to_owned(),
                // CharPositions counts from 1, as SQL does.
                start: pos.of(i.start) as usize - 1,
                end: pos.of(i.end) as usize - 1,
                warninglists: warninglists
                    .map(|w| w.lists.hits(i.kind, &i.value))
                    .unwrap_or_default()
                    .into_iter()
                    .map(str::to_owned)
                    .collect(),
                value: i.value,
            })
            .collect()
    })
}

/// The kind of `value` when all of it is one indicator (`'evil[.]com'` is a domain),
/// else None.
#[pyfunction]
fn ioc_kind(value: &str) -> Option<&'static str> {
    ioc::kind_of(value).map(IocKind::as_str)
}

/// `value` refanged and normalised when all of it is one indicator, else None:
/// `'hXXps://Evil[.]COM/a'` gives `'https://evil.com/a'`.
#[pyfunction]
fn normalise(value: &str) -> Option<String> {
    ioc::normalise(value).map(|i| i.value)
}

/// The kinds of indicator CTAS knows.
#[pyfunction]
fn ioc_kinds() -> Vec<&'static str> {
    IocKind::ALL.iter().map(|k| k.as_str()).collect()
}

/// `text` with every defanged form written plainly (`evil[.]com` → `evil.com`,
/// `hxxp` → `http`, `[at]` → `@`).
#[pyfunction]
fn refang(py: Python<'_>, text: &str) -> PyResult<String> {
    interrupt::run(py, || ioc::refang(text))
}

/// `text` safe to paste into a ticket: URLs, domains, IPv4 and e-mail addresses
/// defanged, everything else as it was.
#[pyfunction]
fn defang(py: Python<'_>, text: &str) -> PyResult<String> {
    interrupt::run(py, || ioc::defang(text))
}

/// The STIX 2.1 id of the indicator `(kind, value)`, as SQL and the router give it:
/// the same value written any way gets one id.
#[pyfunction]
fn indicator_id(kind: &str, value: &str) -> String {
    ids::indicator_id(kind, value)
}

/// The STIX 2.1 id of the cyber observable of `(kind, value)` (the deterministic id of
/// STIX 2.1 §2.9), or None for a kind with no observable type.
#[pyfunction]
fn observable_id(kind: &str, value: &str) -> Option<String> {
    ids::observable_id(kind, &ids::normalise(kind, value))
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Ioc>()?;
    m.add_class::<Warninglists>()?;
    m.add_function(wrap_pyfunction!(extract_iocs, m)?)?;
    m.add_function(wrap_pyfunction!(ioc_kind, m)?)?;
    m.add_function(wrap_pyfunction!(normalise, m)?)?;
    m.add_function(wrap_pyfunction!(ioc_kinds, m)?)?;
    m.add_function(wrap_pyfunction!(refang, m)?)?;
    m.add_function(wrap_pyfunction!(defang, m)?)?;
    m.add_function(wrap_pyfunction!(indicator_id, m)?)?;
    m.add_function(wrap_pyfunction!(observable_id, m)?)?;
    Ok(())
}
