//! Behaviour events of one thing's series of counts: seen for the first time, a burst,
//! back after a silence. (A pair of things seen together for the first time is a
//! question for the history tables, and is asked there: `ctas_sighting_events`.)

use super::Point;

/// What happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    /// The first step with a count.
    FirstSeen,
    /// A count flagged above what was expected.
    Burst,
    /// A count after at least `dormancy` steps without any.
    Reactivated,
}

impl EventKind {
    /// The name used in SQL and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::FirstSeen => "first_seen",
            EventKind::Burst => "burst",
            EventKind::Reactivated => "reactivated",
        }
    }
}

/// One event at a step of the series.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    pub kind: EventKind,
    /// The step's index in the series.
    pub at: usize,
    /// A burst's anomaly score; the steps of silence before a reactivation; 0 for a
    /// first sighting.
    pub detail: f64,
}

/// The events of `values` (counts per step, gaps filled with zero), given how each step
/// was judged (`judged`, from [`super::anomalies`], as long as `values`) and how many
/// silent steps make a dormancy. In order of step; a step can be a reactivation and a
/// burst at once.
pub fn events(values: &[f64], judged: &[Point], dormancy: usize) -> Vec<Event> {
    let mut out = Vec::new();
    let mut silent: Option<usize> = None; // steps without a count since the last one
    for (t, (&v, p)) in values.iter().zip(judged).enumerate() {
        if v > 0.0 {
            match silent {
                None => out.push(Event {
                    kind: EventKind::FirstSeen,
                    at: t,
                    detail: 0.0,
                }),
                Some(quiet) if quiet >= dormancy => out.push(Event {
                    kind: EventKind::Reactivated,
                    at: t,
                    detail: quiet as f64,
                }),
                Some(_) => {}
            }
            silent = Some(0);
        } else if let Some(quiet) = silent.as_mut() {
            *quiet += 1;
        }
        if p.is_anomaly && p.expected.is_some_and(|e| v > e) {
            out.push(Event {
                kind: EventKind::Burst,
                at: t,
                detail: p.score,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::behaviour::{anomalies, Method, Mode, Options};

    #[test]
    fn first_sighting_burst_and_return_after_a_silence() {
        // Quiet, then one a step for two days, a burst of 30, silent for a week, back.
        let mut y = vec![0.0; 10];
        y.extend(vec![1.0; 48]);
        y[40] = 30.0;
        y.extend(vec![0.0; 168]);
        y.extend(vec![2.0; 5]);
        let o = Options::new(Method::RobustZ, Mode::Online, vec![]);
        let judged = anomalies(&y, &o).unwrap();
        let found: Vec<(EventKind, usize)> = events(&y, &judged, 168)
            .into_iter()
            .map(|e| (e.kind, e.at))
            .collect();
        assert_eq!(
            found,
            vec![
                (EventKind::FirstSeen, 10),
                (EventKind::Burst, 40),
                (EventKind::Reactivated, 226),
            ]
        );
        // One silent step short of the dormancy: no reactivation.
        assert!(events(&y, &judged, 169)
            .iter()
            .all(|e| e.kind != EventKind::Reactivated));
    }
}
