//! Pattern sets: many regular expressions run over a text in one pass.

use ctas_core::analyze::SEVERITIES;
use ctas_core::chars::CharPositions;
use ctas_core::patterns::PatternSet as Set;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyMapping};

use crate::error::{argument, refused, repr};
use crate::interrupt;

/// One match of a pattern of a set.
#[pyclass(frozen, get_all, module = "ctas", eq)]
#[derive(Clone, PartialEq)]
pub(crate) struct PatternMatch {
    pattern_id: String,
    /// `text[start:end] == matched` (Python's character offsets).
    start: usize,
    end: usize,
    matched: String,
    severity: String,
    tags: Vec<String>,
    attack_id: Option<String>,
}

#[pymethods]
impl PatternMatch {
    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "PatternMatch(pattern_id={}, start={}, end={}, matched={}, severity={})",
            repr(py, &self.pattern_id)?,
            self.start,
            self.end,
            repr(py, &self.matched)?,
            repr(py, &self.severity)?
        ))
    }
}

/// What a pattern says of a match: severity, tags, ATT&CK id (as `Hunt::meta`).
type Meta = (String, Vec<String>, Option<String>);

/// A compiled pattern set, as `ctas_pattern_sets` holds one in SQL.
#[pyclass(frozen, module = "ctas")]
pub(crate) struct PatternSet {
    pub(crate) set: Set,
    pub(crate) meta: Vec<Meta>,
    #[pyo3(get)]
    pub(crate) name: String,
}

/// One pattern as given: `(id, regex)` or a dict `{"id", "pattern", "severity",
/// "tags", "attack_id"}`.
fn one(item: &Bound<'_, PyAny>, i: usize) -> PyResult<(String, String, Meta)> {
    let name = format!("patterns[{i}]");
    if let Ok(d) = item.cast::<PyDict>() {
        let text = |key: &str| -> PyResult<Option<String>> {
            d.get_item(key)?
                .filter(|v| !v.is_none())
                .map(|v| v.extract::<String>())
                .transpose()
                .map_err(|e| argument(&format!("{name}[{key:?}]"), e))
        };
        let id = text("id")?.ok_or_else(|| argument(&name, "has no \"id\""))?;
        let pattern = text("pattern")?.ok_or_else(|| argument(&name, "has no \"pattern\""))?;
        let tags = match d.get_item("tags")? {
            Some(t) if !t.is_none() => t
                .extract::<Vec<String>>()
                .map_err(|e| argument(&format!("{name}[\"tags\"]"), e))?,
            _ => Vec::new(),
        };
        let severity = text("severity")?.unwrap_or_else(|| "medium".to_owned());
        if !SEVERITIES.contains(&severity.as_str()) {
            return Err(argument(
                &format!("{name}[\"severity\"]"),
                format!("must be one of {}, got {severity:?}", SEVERITIES.join(", ")),
            ));
        }
        return Ok((id, pattern, (severity, tags, text("attack_id")?)));
    }
    let (id, pattern): (String, String) = item.extract().map_err(|_| {
        argument(
            &name,
            "must be an (id, regex) pair or a dict with \"id\" and \"pattern\"",
        )
    })?;
    Ok((id, pattern, ("medium".to_owned(), Vec::new(), None)))
}

#[pymethods]
impl PatternSet {
    /// `patterns`: a mapping of id to regex, or a list of `(id, regex)` pairs or of dicts
    /// `{"id", "pattern", "severity", "tags", "attack_id"}` (severity `medium` unless
    /// given). The first bad pattern is a `CtasError` naming its id; so is a set too big
    /// to build.
    #[new]
    #[pyo3(signature = (patterns, name="patterns"))]
    fn new(py: Python<'_>, patterns: &Bound<'_, PyAny>, name: &str) -> PyResult<Self> {
        let items: Vec<Bound<'_, PyAny>> = match patterns.cast::<PyMapping>() {
            Ok(m) => m.items()?.iter().collect(),
            Err(_) => patterns.try_iter()?.collect::<PyResult<_>>()?,
        };
        let mut pairs = Vec::with_capacity(items.len());
        let mut meta = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let (id, pattern, m) = one(item, i)?;
            pairs.push((id, pattern));
            meta.push(m);
        }
        let set = interrupt::run(py, || {
            Set::compile(pairs.iter().map(|(i, p)| (i.as_str(), p.as_str())))
        })?
        .map_err(|e| refused(format!("pattern set {name:?}: {e}")))?;
        Ok(PatternSet {
            set,
            meta,
            name: name.to_owned(),
        })
    }

    /// Every match of every pattern in `text`, by position; a `CtasError` when there
    /// are more than `limit`.
    #[pyo3(signature = (text, limit=1000000))]
    fn matches(&self, py: Python<'_>, text: &str, limit: usize) -> PyResult<Vec<PatternMatch>> {
        let found = interrupt::run(py, || self.set.matches(text, limit))?.map_err(refused)?;
        let pos = CharPositions::new(text, found.iter().flat_map(|m| [m.start, m.end]));
        Ok(found
            .iter()
            .map(|m| {
                let (severity, tags, attack_id) = &self.meta[m.pattern];
                PatternMatch {
                    pattern_id: self.set.id(m.pattern).to_owned(),
                    start: pos.of(m.start) as usize - 1,
                    end: pos.of(m.end) as usize - 1,
                    matched: text[m.start..m.end].to_owned(),
                    severity: severity.clone(),
                    tags: tags.clone(),
                    attack_id: attack_id.clone(),
                }
            })
            .collect())
    }

    /// Whether any pattern matches `text`: one pass, no spans.
    fn is_match(&self, py: Python<'_>, text: &str) -> PyResult<bool> {
        interrupt::run(py, || self.set.is_match(text))
    }

    fn __len__(&self) -> usize {
        self.set.len()
    }
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PatternSet>()?;
    m.add_class::<PatternMatch>()?;
    Ok(())
}
