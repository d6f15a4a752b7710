//! Confidence scales of the STIX 2.1 specification (its appendix on confidence) and
//! conversions between them and STIX `confidence` (0–100), in both directions.

use super::ScoreError;

/// A confidence scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scale {
    /// None / Low / Med / High.
    NoneLowMedHigh,
    /// 0 to 10.
    ZeroToTen,
    /// Admiralty information credibility, 1 (confirmed) to 6 (cannot be judged).
    AdmiraltyCredibility,
    /// Words of Estimative Probability.
    Wep,
    /// The US DNI's scale (ICD 203).
    Dni,
}

/// One step of a scale: the STIX confidence range it covers, the value it converts
/// to, and its label (alternatives separated by `/`).
struct Step {
    from: i64,
    to: i64,
    stix: i64,
    label: &'static str,
}

const fn step(from: i64, to: i64, stix: i64, label: &'static str) -> Step {
    Step {
        from,
        to,
        stix,
        label,
    }
}

const NONE_LOW_MED_HIGH: &[Step] = &[
    step(0, 0, 0, "None"),
    step(1, 29, 15, "Low"),
    step(30, 69, 50, "Med"),
    step(70, 100, 85, "High"),
];

const ZERO_TO_TEN: &[Step] = &[
    step(0, 4, 0, "0"),
    step(5, 14, 10, "1"),
    step(15, 24, 20, "2"),
    step(25, 34, 30, "3"),
    step(35, 44, 40, "4"),
    step(45, 54, 50, "5"),
    step(55, 64, 60, "6"),
    step(65, 74, 70, "7"),
    step(75, 84, 80, "8"),
    step(85, 94, 90, "9"),
    step(95, 100, 100, "10"),
];

const ADMIRALTY_CREDIBILITY: &[Step] = &[
    step(0, 19, 10, "5/Improbable"),
    step(20, 39, 30, "4/Doubtful"),
    step(40, 59, 50, "3/Possibly True"),
    step(60, 79, 70, "2/Probably True"),
    step(80, 100, 90, "1/Confirmed by other sources"),
];

/// Admiralty credibility 6 is on the scale but has no confidence value.
const ADMIRALTY_CANNOT_BE_JUDGED: &str = "6/Truth cannot be judged";

const WEP: &[Step] = &[
    step(0, 0, 0, "Impossible"),
    step(1, 19, 10, "Highly Unlikely/Almost Certainly Not"),
    step(20, 39, 30, "Unlikely/Probably Not"),
    step(40, 59, 50, "Even Chance"),
    step(60, 79, 70, "Likely/Probable"),
    step(80, 99, 90, "Highly Likely/Almost Certain"),
    step(100, 100, 100, "Certain"),
];

const DNI: &[Step] = &[
    step(0, 9, 5, "Almost No Chance/Remote"),
    step(10, 19, 15, "Very Unlikely/Highly Improbable"),
    step(20, 39, 30, "Unlikely/Improbable"),
    step(40, 59, 50, "Roughly Even Chance/Roughly Even Odds"),
    step(60, 79, 70, "Likely/Probable"),
    step(80, 89, 85, "Very Likely/Highly Probable"),
    step(90, 100, 95, "Almost Certain/Nearly Certain"),
];

impl Scale {
    /// The names accepted by [`Scale::parse`], as SQL users write them.
    pub const NAMES: &'static [&'static str] = &[
        "none-low-med-high",
        "0-10",
        "admiralty-credibility",
        "wep",
        "dni",
    ];

    /// The scale with this name (case-insensitive; `_` and spaces count as `-`).
    pub fn parse(name: &str) -> Result<Scale, ScoreError> {
        let norm = name.trim().to_ascii_lowercase().replace(['_', ' '], "-");
        Ok(match norm.as_str() {
            "none-low-med-high" | "nlmh" => Scale::NoneLowMedHigh,
            "0-10" | "zero-to-ten" => Scale::ZeroToTen,
            "admiralty-credibility" | "admiralty" => Scale::AdmiraltyCredibility,
            "wep" => Scale::Wep,
            "dni" => Scale::Dni,
            _ => return Err(ScoreError::UnknownScale(name.to_owned())),
        })
    }

    /// The canonical name.
    pub fn name(self) -> &'static str {
        match self {
            Scale::NoneLowMedHigh => Self::NAMES[0],
            Scale::ZeroToTen => Self::NAMES[1],
            Scale::AdmiraltyCredibility => Self::NAMES[2],
            Scale::Wep => Self::NAMES[3],
            Scale::Dni => Self::NAMES[4],
        }
    }

    fn steps(self) -> &'static [Step] {
        match self {
            Scale::NoneLowMedHigh => NONE_LOW_MED_HIGH,
            Scale::ZeroToTen => ZERO_TO_TEN,
            Scale::AdmiraltyCredibility => ADMIRALTY_CREDIBILITY,
            Scale::Wep => WEP,
            Scale::Dni => DNI,
        }
    }
}

fn fold(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// The label a STIX confidence (0–100) has on `scale`, as the specification writes it.
pub fn confidence_to(scale: &str, value: i64) -> Result<&'static str, ScoreError> {
    let scale = Scale::parse(scale)?;
    if !(0..=100).contains(&value) {
        return Err(ScoreError::Confidence(value));
    }
    let step = scale
        .steps()
        .iter()
        .find(|s| (s.from..=s.to).contains(&value))
        .expect("the steps of a scale cover 0..=100");
    Ok(step.label)
}

/// The STIX confidence (0–100) of `value` on `scale`. A label matches whole or by
/// any one of its `/`-separated alternatives, ignoring case and extra spaces.
pub fn confidence_from(scale: &str, value: &str) -> Result<i64, ScoreError> {
    let scale = Scale::parse(scale)?;
    let wanted = fold(value);
    let matches =
        |label: &str| fold(label) == wanted || label.split('/').any(|alt| fold(alt) == wanted);
    if let Some(step) = scale.steps().iter().find(|s| matches(s.label)) {
        return Ok(step.stix);
    }
    if scale == Scale::AdmiraltyCredibility && matches(ADMIRALTY_CANNOT_BE_JUDGED) {
        return Err(ScoreError::NoConfidence {
            scale: scale.name(),
            value: value.to_owned(),
        });
    }
    let allowed = scale
        .steps()
        .iter()
        .map(|s| s.label)
        .collect::<Vec<_>>()
        .join(", ");
    Err(ScoreError::NotOnScale {
        scale: scale.name(),
        value: value.to_owned(),
        allowed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_scale_covers_0_to_100_without_gaps() {
        for name in Scale::NAMES {
            let steps = Scale::parse(name).unwrap().steps();
            assert_eq!(steps[0].from, 0, "{name}");
            assert_eq!(steps[steps.len() - 1].to, 100, "{name}");
            for w in steps.windows(2) {
                assert_eq!(w[0].to + 1, w[1].from, "{name}");
            }
            for s in steps {
                assert!((s.from..=s.to).contains(&s.stix), "{name} {}", s.label);
            }
        }
    }

    #[test]
    fn the_specification_tables() {
        let to = [
            ("none-low-med-high", 0, "None"),
            ("none-low-med-high", 29, "Low"),
            ("none-low-med-high", 70, "High"),
            ("0-10", 94, "9"),
            ("0-10", 95, "10"),
            ("admiralty-credibility", 19, "5/Improbable"),
            ("admiralty-credibility", 80, "1/Confirmed by other sources"),
            ("wep", 100, "Certain"),
            ("wep", 99, "Highly Likely/Almost Certain"),
            ("dni", 9, "Almost No Chance/Remote"),
            ("dni", 89, "Very Likely/Highly Probable"),
        ];
        for (scale, value, label) in to {
            assert_eq!(
                confidence_to(scale, value).unwrap(),
                label,
                "{scale} {value}"
            );
        }
        let from = [
            ("none-low-med-high", "med", 50),
            ("0-10", "7", 70),
            ("admiralty-credibility", "2", 70),
            ("admiralty-credibility", "probably true", 70),
            ("wep", "Almost Certainly Not", 10),
            ("dni", "roughly  even odds", 50),
            ("DNI", "Nearly Certain", 95),
        ];
        for (scale, label, value) in from {
            assert_eq!(
                confidence_from(scale, label).unwrap(),
                value,
                "{scale} {label}"
            );
        }
    }

    #[test]
    fn round_trip_from_each_label() {
        for name in Scale::NAMES {
            for s in Scale::parse(name).unwrap().steps() {
                let stix = confidence_from(name, s.label).unwrap();
                assert_eq!(confidence_to(name, stix).unwrap(), s.label);
            }
        }
    }

    #[test]
    fn errors_name_what_is_wrong() {
        assert!(matches!(
            confidence_to("admiralty-reliability", 50),
            Err(ScoreError::UnknownScale(_))
        ));
        assert_eq!(confidence_to("wep", 101), Err(ScoreError::Confidence(101)));
        let e = confidence_from("none-low-med-high", "Medium").unwrap_err();
        assert!(e.to_string().contains("None, Low, Med, High"), "{e}");
        assert!(matches!(
            confidence_from("admiralty-credibility", "6"),
            Err(ScoreError::NoConfidence { .. })
        ));
    }
}
