//! Pattern sets for retro-hunts: many named regular expressions, compiled once and
//! run over every row of years of reports.
//!
//! Patterns use the `regex` crate, whose engines run in time linear in the text for
//! every pattern: there is no backtracking, so no pattern (however hostile) can make a
//! scan hang. Look-around and back-references are therefore not supported. Sizes are
//! bounded so that a set cannot take a backend's memory: see the `MAX_*` constants.

use regex::{Regex, RegexBuilder, RegexSet, RegexSetBuilder};

/// Most patterns in one set.
pub const MAX_PATTERNS: usize = 10_000;
/// Longest pattern, in bytes of its source.
pub const MAX_PATTERN_LEN: usize = 4_096;
/// Largest compiled program of one pattern, in bytes.
pub const MAX_COMPILED_BYTES: usize = 2 << 20;
/// Largest set, in bytes of its patterns' automata added up (each measured alone).
///
/// The matcher of a set is several times this: the `regex` crate builds a forward and a
/// reverse automaton for the set and a matcher per pattern (for the spans), so a set at
/// the limit takes ~5 × 64 MB in the backend that compiled it. The crate's own limit on
/// the set, [`SET_BUILD_LIMIT`], is kept above what passes this one.
pub const MAX_SET_BYTES: usize = 64 << 20;
/// The `regex` crate's size limit for the whole set: it counts more than the patterns'
/// automata (measured: it refused 140 patterns `\w{40}N` whose automata add up to 94 MB
/// under a limit of 256 MB), so it is set where a set under [`MAX_SET_BYTES`] always
/// builds.
const SET_BUILD_LIMIT: usize = 8 * MAX_SET_BYTES;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PatternError {
    #[error("pattern {id:?} is not a valid regular expression: {reason}")]
    Invalid { id: String, reason: String },
    #[error("pattern {id:?} is {len} bytes long; at most {MAX_PATTERN_LEN} are allowed")]
    TooLong { id: String, len: usize },
    #[error("pattern {id:?} compiles to more than {MAX_COMPILED_BYTES} bytes; simplify it (bounded repetitions such as {{1,1000}} are the usual cause)")]
    TooBig { id: String },
    #[error("the set has {0} patterns; at most {MAX_PATTERNS} are allowed")]
    TooMany(usize),
    #[error("the set is too big: its first {patterns} patterns, up to and with {id:?}, compile to {bytes} bytes, more than the {MAX_SET_BYTES} bytes a set may take; split it into smaller sets")]
    SetTooBig {
        /// Patterns measured when the set passed the limit, and their size.
        patterns: usize,
        bytes: usize,
        /// The pattern that took it over.
        id: String,
    },
    /// More matches in one text than the caller allows.
    #[error("the text has more than {0} matches, the most one call returns")]
    TooManyMatches(usize),
}

/// Most matches one call returns unless its caller allows more: each costs a row, and
/// one short pattern over 20 MB of text matched millions of times.
pub const DEFAULT_MAX_MATCHES: usize = 1_000_000;

/// One pattern, checked on its own: the error names its id.
pub fn compile_one(id: &str, pattern: &str) -> Result<Regex, PatternError> {
    if pattern.len() > MAX_PATTERN_LEN {
        return Err(PatternError::TooLong {
            id: id.to_owned(),
            len: pattern.len(),
        });
    }
    RegexBuilder::new(pattern)
        .size_limit(MAX_COMPILED_BYTES)
        .build()
        .map_err(|e| match e {
            regex::Error::CompiledTooBig(_) => PatternError::TooBig { id: id.to_owned() },
            other => PatternError::Invalid {
                id: id.to_owned(),
                reason: one_line(&other.to_string()),
            },
        })
}

/// The size of one pattern's automaton (the Thompson NFA the `regex` crate builds and
/// bounds by its size limit), with the errors of [`compile_one`].
fn compiled_size(id: &str, pattern: &str) -> Result<usize, PatternError> {
    use regex_automata::nfa::thompson::{Compiler, Config};
    if pattern.len() > MAX_PATTERN_LEN {
        return compile_one(id, pattern).map(|_| 0);
    }
    match Compiler::new()
        .configure(Config::new().nfa_size_limit(Some(MAX_COMPILED_BYTES)))
        .build(pattern)
    {
        Ok(nfa) => Ok(nfa.memory_usage()),
        // compile_one words the error as the regex crate does (and names the pattern).
        Err(_) => compile_one(id, pattern).map(|_| MAX_COMPILED_BYTES),
    }
}

/// The regex crate reports a syntax error over several lines (the pattern, a caret,
/// `error: …`); SQL wants one line: what is wrong.
fn one_line(message: &str) -> String {
    let last = message
        .lines()
        .map(str::trim)
        .rfind(|l| !l.is_empty())
        .unwrap_or(message);
    last.strip_prefix("error: ").unwrap_or(last).to_owned()
}

/// A compiled set: which patterns match a text, and where.
#[derive(Debug)]
pub struct PatternSet {
    ids: Vec<String>,
    set: RegexSet,
    each: Vec<Regex>,
}

/// One match: the index of the pattern in the set, and the byte span.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Match {
    pub pattern: usize,
    pub start: usize,
    pub end: usize,
}

impl PatternSet {
    /// Compiles `(id, pattern)` pairs; the first bad pattern is named in the error.
    ///
    /// A set too big is refused before it is built: each pattern's automaton is measured
    /// on its own (and let go), and the set is refused as soon as their sizes add up to
    /// more than [`MAX_SET_BYTES`]. Building first and letting the `regex` crate refuse
    /// it cost 27 s and 4.9 GB for 2,000 patterns `\w{40}N` (each pattern's matcher,
    /// several times its automaton, was held while the next compiled); measuring costs a
    /// few milliseconds a pattern and one automaton's memory.
    pub fn compile<I, S>(patterns: I) -> Result<PatternSet, PatternError>
    where
        I: IntoIterator<Item = (S, S)>,
        S: AsRef<str>,
    {
        let patterns: Vec<(S, S)> = patterns.into_iter().collect();
        if patterns.len() > MAX_PATTERNS {
            return Err(PatternError::TooMany(patterns.len()));
        }
        let mut bytes = 0;
        for (n, (id, pattern)) in patterns.iter().enumerate() {
            crate::interrupt::check();
            bytes += compiled_size(id.as_ref(), pattern.as_ref())?;
            if bytes > MAX_SET_BYTES {
                return Err(PatternError::SetTooBig {
                    patterns: n + 1,
                    bytes,
                    id: id.as_ref().to_owned(),
                });
            }
        }
        let mut ids = Vec::with_capacity(patterns.len());
        let mut each = Vec::with_capacity(patterns.len());
        for (id, pattern) in &patterns {
            crate::interrupt::check();
            each.push(compile_one(id.as_ref(), pattern.as_ref())?);
            ids.push(id.as_ref().to_owned());
        }
        let set = RegexSetBuilder::new(each.iter().map(Regex::as_str))
            .size_limit(SET_BUILD_LIMIT)
            .build()
            .map_err(|_| PatternError::SetTooBig {
                patterns: ids.len(),
                bytes,
                id: ids.last().cloned().unwrap_or_default(),
            })?;
        Ok(PatternSet { ids, set, each })
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    pub fn id(&self, pattern: usize) -> &str {
        &self.ids[pattern]
    }

    /// Whether any pattern matches: one pass of the set's automaton.
    pub fn is_match(&self, text: &str) -> bool {
        self.set.is_match(text)
    }

    /// Every match of every pattern, by position; refused as soon as there are more
    /// than `limit`, before they are all held. The set says which patterns match at
    /// all; only those are run again for their spans.
    pub fn matches(&self, text: &str, limit: usize) -> Result<Vec<Match>, PatternError> {
        let mut out = Vec::new();
        let mut every = crate::interrupt::Every::default();
        for pattern in self.set.matches(text).iter() {
            for m in self.each[pattern].find_iter(text) {
                every.tick();
                if out.len() == limit {
                    return Err(PatternError::TooManyMatches(limit));
                }
                out.push(Match {
                    pattern,
                    start: m.start(),
                    end: m.end(),
                });
            }
        }
        out.sort_by_key(|m| (m.start, m.pattern, m.end));
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_with_spans_and_ids() {
        let set = PatternSet::compile([
            ("cobalt", r"(?i)cobalt\s*strike"),
            ("pipe", r"\\\\\.\\pipe\\msagent_[0-9a-f]{2,4}"),
        ])
        .unwrap();
        let text = r"Cobalt Strike beacon on \\.\pipe\msagent_1f then cobaltstrike";
        let m = set.matches(text, DEFAULT_MAX_MATCHES).unwrap();
        assert_eq!(
            set.matches(text, 2),
            Err(PatternError::TooManyMatches(2)),
            "three matches, two allowed"
        );
        assert_eq!(m.len(), 3);
        assert_eq!(set.id(m[0].pattern), "cobalt");
        assert_eq!(&text[m[0].start..m[0].end], "Cobalt Strike");
        assert_eq!(&text[m[1].start..m[1].end], r"\\.\pipe\msagent_1f");
        assert!(set.is_match(text));
        assert!(!set.is_match("nothing here"));
    }

    #[test]
    fn bad_patterns_are_named() {
        let e = PatternSet::compile([("ok", "a+"), ("broken", "(unclosed")]).unwrap_err();
        assert!(
            matches!(&e, PatternError::Invalid { id, .. } if id == "broken"),
            "{e}"
        );
        assert_eq!(
            e.to_string(),
            "pattern \"broken\" is not a valid regular expression: unclosed group"
        );
        assert!(!e.to_string().contains('\n'));
        let e = compile_one("huge", r"\w{1000}\w{1000}\w{1000}").unwrap_err();
        assert_eq!(e, PatternError::TooBig { id: "huge".into() });
        let long = "a".repeat(MAX_PATTERN_LEN + 1);
        assert!(matches!(
            compile_one("long", &long),
            Err(PatternError::TooLong { .. })
        ));
    }

    #[test]
    fn a_set_too_big_is_refused_before_it_is_built() {
        // Each `\w{40}` is a Unicode class 40 times over: about 0.7 MB of automaton, so
        // about 96 fit in a set.
        let patterns: Vec<(String, String)> = (0..2_000)
            .map(|i| (format!("p{i}"), format!(r"\w{{40}}N{i}")))
            .collect();
        let pairs = |n: usize| patterns[..n].iter().map(|(a, b)| (a.as_str(), b.as_str()));
        let e = PatternSet::compile(pairs(2_000)).unwrap_err();
        let PatternError::SetTooBig {
            patterns: n,
            bytes,
            id,
        } = &e
        else {
            panic!("{e}")
        };
        assert!(*bytes > MAX_SET_BYTES && (50..200).contains(n), "{e}");
        assert_eq!(*id, format!("p{}", n - 1));
        // One pattern fewer is a set, however much the regex crate's own count of it.
        let set = PatternSet::compile(pairs(n - 1)).unwrap();
        let text = format!("{}N{}.", "é".repeat(40), n - 2);
        let found = set.matches(&text, 10).unwrap();
        let last = format!("p{}", n - 2);
        assert!(found.iter().any(|m| set.id(m.pattern) == last), "{found:?}");
    }

    #[test]
    fn a_hostile_pattern_runs_in_linear_time() {
        // (a+)+$ takes exponential time in a backtracking engine on "aaaa…b".
        let set = PatternSet::compile([("evil", "(a+)+$")]).unwrap();
        let text = format!("{}b", "a".repeat(100_000));
        assert!(!set.is_match(&text));
        assert!(set.matches(&text, DEFAULT_MAX_MATCHES).unwrap().is_empty());
    }
}
