//! The sample health data a Connect grants: the sources a user can pick on
//! the Connect page, what each records, and deterministic readings of every
//! documented type (the same user and sources give the same records on every
//! run), in the fields ZivaCare documents for each type. Also the unit
//! conversions `X-Unit-System` asks for.

use serde_json::{json, Map, Value};
use zivacare::{DataType, Day, Timestamp, UnitSystem};

use crate::util::{code_of, sha256_hex};

/// A source a user can share: its id, its label on the Connect page, and the
/// types it records.
///
/// ```
/// let omron = zivacare_sandbox::SOURCES.iter().find(|s| s.id == "omron").unwrap();
/// assert_eq!(omron.types, [zivacare::DataType::BloodPressures]);
/// ```
pub struct Source {
    /// The id, as records name their `source`.
    pub id: &'static str,
    /// The label on the Connect page.
    pub label: &'static str,
    /// What it records.
    pub types: &'static [DataType],
}

use DataType as T;

/// The sources of the Connect page: between them, every documented type.
///
/// ```
/// use zivacare::DataType;
/// for kind in DataType::ALL.into_iter().filter(|t| t.is_list()) {
///     assert!(zivacare_sandbox::SOURCES.iter().any(|s| s.types.contains(&kind)));
/// }
/// ```
pub const SOURCES: &[Source] = &[
    Source {
        id: "fitbit",
        label: "Fitbit Charge (wearable)",
        types: &[T::Steps, T::HeartRates],
    },
    Source {
        id: "garmin",
        label: "Garmin Forerunner (wearable)",
        types: &[T::Steps, T::HeartRates, T::Activities, T::RespirationRates],
    },
    Source {
        id: "oura",
        label: "Oura Ring (wearable)",
        types: &[T::HeartRates, T::Sleeps, T::SleepSummary],
    },
    Source {
        id: "withings",
        label: "Withings Body+ (scale)",
        types: &[T::Weights, T::BodyFats, T::Bmis, T::Heights],
    },
    Source {
        id: "omron",
        label: "Omron Evolv (blood pressure monitor)",
        types: &[T::BloodPressures],
    },
    Source {
        id: "quest",
        label: "Quest Diagnostics (lab results)",
        types: &[T::BloodGlucoses],
    },
    Source {
        id: "applewatch",
        label: "Apple Watch (blood oxygen, fall detection)",
        types: &[T::BloodOxygens, T::Falls],
    },
    Source {
        id: "strava",
        label: "Strava (activities and routes)",
        types: &[T::Activities, T::Locations],
    },
    Source {
        id: "myfitnesspal",
        label: "MyFitnessPal (meals)",
        types: &[T::Meals],
    },
    Source {
        id: "23andme",
        label: "23andMe (genetics)",
        types: &[T::Genetics],
    },
];

/// The source of that id.
pub fn source(id: &str) -> Option<&'static Source> {
    SOURCES.iter().find(|s| s.id == id)
}

/// The morning the sample data ends: fixed, so every run gives the same records.
pub const SAMPLE_END: i64 = 1_793_433_600; // 2026-10-31T08:00:00Z
/// How many days of readings a source has.
pub const SAMPLE_DAYS: i64 = 30;

/// A record as the sandbox keeps it: its code, the instant it is ordered and
/// filtered by, and its fields as ZivaCare writes them.
#[derive(Clone, Debug)]
pub struct Stored {
    pub code: String,
    pub time: i64,
    pub body: Map<String, Value>,
}

/// The instant a record is ordered and filtered by: its `record_time`, or
/// else its `end_time`, `start_time` or `day`.
pub fn time_of(body: &Map<String, Value>) -> Option<i64> {
    ["record_time", "end_time", "start_time", "day"]
        .iter()
        .filter_map(|k| body.get(*k)?.as_str())
        .find_map(|t| {
            t.parse::<Timestamp>()
                .map(Timestamp::unix)
                .or_else(|_| t.parse::<Day>().map(Day::unix))
                .ok()
        })
}

/// A deterministic number in [low, high) from the parts.
fn between(parts: &[&str], low: f64, high: f64) -> f64 {
    let h = sha256_hex(&parts.join("|"));
    let unit = u32::from_str_radix(&h[..8], 16).unwrap_or(0) as f64 / f64::from(u32::MAX);
    low + (high - low) * unit
}

fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

fn time(secs: i64) -> Value {
    Value::String(Timestamp::from_unix(secs).to_string())
}

/// Which sample days a type has readings on (0: the last day): most types
/// daily; a height once; falls twice; genetics once, three traits.
fn days_of(kind: DataType) -> Vec<i64> {
    match kind {
        T::Heights | T::Genetics => vec![SAMPLE_DAYS - 1],
        T::Falls => vec![3, 17],
        _ => (0..SAMPLE_DAYS).collect(),
    }
}

const GENETIC_TRAITS: &[(&str, &str, &[&str])] = &[
    (
        "lactose_tolerance",
        "Likely tolerant to lactose",
        &["tolerant", "intolerant"],
    ),
    (
        "caffeine_metabolism",
        "Metabolises caffeine fast",
        &["fast", "slow"],
    ),
    (
        "muscle_composition",
        "Common in sprinters",
        &["sprint", "endurance", "mixed"],
    ),
];

const MEALS: &[&str] = &[
    "Oatmeal with berries",
    "Chicken salad",
    "Lentil soup",
    "Salmon and rice",
];

/// The fields particular to `kind` of one sample reading (`parts` seed its
/// numbers; `at` is its time), in metric units.
fn fields(kind: DataType, parts: &[&str], at: i64, n: usize) -> Map<String, Value> {
    let r = |low, high| between(parts, low, high);
    let r2 = |salt: &str, low, high| {
        let mut p = parts.to_vec();
        p.push(salt);
        between(&p, low, high)
    };
    let value = |v: f64, unit: &str| json!({ "value": v, "unit": unit, "record_time": time(at) });
    let v = match kind {
        T::Steps => value(r(2_000.0, 14_000.0).round(), "steps"),
        T::HeartRates => value(r(52.0, 96.0).round(), "bpm"),
        T::Weights => value(round1(r(68.0, 74.0)), "kg"),
        T::BodyFats => value(round1(r(18.0, 24.0)), "%"),
        T::Bmis => value(round1(r(21.0, 24.5)), "kg/m2"),
        T::Heights => value(round1(r(165.0, 185.0)), "cm"),
        T::BloodGlucoses => value(round1(r(4.4, 7.8)), "mmol/L"),
        T::BloodOxygens => value(r(94.0, 99.0).round(), "SpO2"),
        T::RespirationRates => value(r(12.0, 18.0).round(), "breaths per minute"),
        T::Falls => value(1.0, "falls"),
        T::BloodPressures => json!({
            "systolic": r(110.0, 135.0).round(),
            "diastolic": r2("diastolic", 70.0, 88.0).round(),
            "heart_rate": r2("pulse", 58.0, 80.0).round(),
            "unit": "mmHg",
            "record_time": time(at),
        }),
        T::Sleeps => {
            let asleep = r(360.0, 480.0).round();
            let awake = r2("awake", 10.0, 40.0).round();
            let to_sleep = r2("latency", 5.0, 25.0).round();
            let after = r2("after", 0.0, 15.0).round();
            let in_bed = asleep + awake + to_sleep + after;
            let end = at - 3600; // 07:00, the morning of the day
            json!({
                "day": Day::from_unix(end).to_string(),
                "start_time": time(end - (in_bed as i64) * 60),
                "end_time": time(end),
                "main_sleep": true,
                "time_asleep": asleep,
                "time_awake": awake,
                "time_to_fall_asleep": to_sleep,
                "time_after_wakeup": after,
                "time_in_bed": in_bed,
                "efficiency": round1(asleep / in_bed * 100.0),
            })
        }
        T::SleepSummary => json!({
            "time_asleep": r(360.0, 480.0).round(),
            "time_awake": r2("awake", 10.0, 40.0).round(),
            "record_time": time(at - 3600),
        }),
        T::Activities => {
            let minutes = r(20.0, 60.0).round();
            let end = at + 10 * 3600; // an evening run
            json!({
                "type": if n % 3 == 0 { "walking" } else { "running" },
                "start_time": time(end - (minutes as i64) * 60),
                "end_time": time(end),
                "duration": minutes,
                "distance": round1(minutes * r2("pace", 0.12, 0.18)),
                "unit": "km",
                "steps": (minutes * r2("cadence", 140.0, 170.0)).round(),
                "calories": (minutes * r2("burn", 8.0, 12.0)).round(),
                "time_zone": "UTC",
            })
        }
        T::Locations => json!({
            "latitude": (r(40.70, 40.80) * 10_000.0).round() / 10_000.0,
            "longitude": (r2("lon", -74.02, -73.93) * 10_000.0).round() / 10_000.0,
            "record_time": time(at + 10 * 3600),
        }),
        T::Meals => json!({
            "name": MEALS[n % MEALS.len()],
            "calories": r(400.0, 900.0).round(),
            "record_time": time(at + 4 * 3600 + 1800),
        }),
        T::Genetics => {
            let (name, description, possible) = GENETIC_TRAITS[n % GENETIC_TRAITS.len()];
            json!({
                "trait": name,
                "description": description,
                "possible_traits": possible,
                "record_time": time(at),
            })
        }
        _ => json!({}),
    };
    match v {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// Every sample reading of `kind` from the shared `sources` of the user
/// `user_code`.
pub fn samples(user_code: &str, sources: &str, kind: DataType) -> Vec<Stored> {
    let mut out = Vec::new();
    for source in sources.split(',').filter_map(source) {
        if !source.types.contains(&kind) {
            continue;
        }
        let per_day = if kind == T::Genetics {
            GENETIC_TRAITS.len()
        } else {
            1
        };
        for day in days_of(kind) {
            for n in 0..per_day {
                let (day_s, n_s) = (day.to_string(), n.to_string());
                let parts = [
                    user_code,
                    source.id,
                    kind.as_str(),
                    day_s.as_str(),
                    n_s.as_str(),
                ];
                let at = SAMPLE_END - day * 86_400;
                let code = code_of(&parts.join("|"));
                let mut body = fields(kind, &parts, at, (day as usize) + n);
                body.insert("code".into(), code.clone().into());
                body.insert("user_code".into(), user_code.into());
                body.insert("source".into(), source.id.into());
                // Synced half an hour after it was measured.
                let time = time_of(&body).unwrap_or(at);
                body.insert("created_at".into(), self::time(time + 1800));
                out.push(Stored { code, time, body });
            }
        }
    }
    out
}

/// The unit `kind` is given in for `units`, when ZivaCare converts it, and
/// the field that holds the measurement.
fn target(kind: DataType, units: UnitSystem) -> Option<(&'static str, &'static str)> {
    use UnitSystem::{Metric, Uk, Us};
    Some(match (kind, units) {
        (T::Weights, Metric) => ("value", "kg"),
        (T::Weights, Us | Uk) => ("value", "pounds"),
        (T::Heights, Metric | Uk) => ("value", "cm"),
        (T::Heights, Us) => ("value", "inches"),
        (T::BloodGlucoses, Metric) => ("value", "mmol/L"),
        (T::BloodGlucoses, Us | Uk) => ("value", "mg/dL"),
        (T::Activities, Metric) => ("distance", "km"),
        (T::Activities, Us | Uk) => ("distance", "mi"),
        _ => return None,
    })
}

/// How many of `to` one `from` makes, for the units ZivaCare converts.
fn factor(from: &str, to: &str) -> Option<f64> {
    fn canonical(u: &str) -> &str {
        match u {
            "lb" | "lbs" | "pound" => "pounds",
            "in" | "inch" => "inches",
            "miles" => "mi",
            "mmol/l" => "mmol/L",
            "mg/dl" => "mg/dL",
            other => other,
        }
    }
    let (from, to) = (canonical(from), canonical(to));
    if from == to {
        return Some(1.0);
    }
    const KG: f64 = 0.453_592_37; // kilograms in a pound
    const GLUCOSE: f64 = 18.018; // mg/dL in a mmol/L
    Some(match (from, to) {
        ("kg", "pounds") => 1.0 / KG,
        ("pounds", "kg") => KG,
        ("cm", "inches") => 1.0 / 2.54,
        ("inches", "cm") => 2.54,
        ("km", "mi") => 1.0 / 1.609_344,
        ("mi", "km") => 1.609_344,
        ("mmol/L", "mg/dL") => GLUCOSE,
        ("mg/dL", "mmol/L") => 1.0 / GLUCOSE,
        _ => return None,
    })
}

/// `body` in `units`: the measurement converted where ZivaCare converts it
/// (from the unit it was stored in, if known), rounded to 0.1 (mg/dL to whole
/// numbers). Other types, and unknown units, are left as stored.
pub fn in_units(kind: DataType, body: &mut Map<String, Value>, units: UnitSystem) {
    let Some((field, unit)) = target(kind, units) else {
        return;
    };
    let Some(from) = body.get("unit").and_then(Value::as_str).map(str::to_owned) else {
        return;
    };
    let (Some(f), Some(v)) = (factor(&from, unit), body.get(field).and_then(Value::as_f64)) else {
        return;
    };
    let converted = if unit == "mg/dL" {
        (v * f).round()
    } else {
        round1(v * f)
    };
    if f != 1.0 {
        body.insert(field.into(), converted.into());
    }
    body.insert("unit".into(), unit.into());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_list_type_has_a_source() {
        for kind in DataType::ALL.into_iter().filter(|t| t.is_list()) {
            assert!(SOURCES.iter().any(|s| s.types.contains(&kind)), "{kind}");
        }
    }

    #[test]
    fn units_convert_both_ways_and_unknown_units_stay() {
        let mut w = json!({"value": 70.0, "unit": "kg"})
            .as_object()
            .unwrap()
            .clone();
        in_units(T::Weights, &mut w, UnitSystem::Us);
        assert_eq!(
            (w["value"].as_f64(), w["unit"].as_str()),
            (Some(154.3), Some("pounds"))
        );
        in_units(T::Weights, &mut w, UnitSystem::Metric);
        assert_eq!(w["value"].as_f64(), Some(70.0));
        let mut g = json!({"value": 5.5, "unit": "mmol/L"})
            .as_object()
            .unwrap()
            .clone();
        in_units(T::BloodGlucoses, &mut g, UnitSystem::Uk);
        assert_eq!(
            (g["value"].as_f64(), g["unit"].as_str()),
            (Some(99.0), Some("mg/dL"))
        );
        let mut odd = json!({"value": 3.0, "unit": "stone"})
            .as_object()
            .unwrap()
            .clone();
        in_units(T::Weights, &mut odd, UnitSystem::Us);
        assert_eq!(odd["unit"], "stone");
        let mut h = json!({"value": 180.0, "unit": "cm"})
            .as_object()
            .unwrap()
            .clone();
        in_units(T::Heights, &mut h, UnitSystem::Uk);
        assert_eq!(h["value"].as_f64(), Some(180.0), "the UK keeps centimetres");
    }

    #[test]
    fn samples_are_deterministic_and_newest_last_day_first() {
        let a = samples("u1", "oura,omron", T::Sleeps);
        let b = samples("u1", "oura,omron", T::Sleeps);
        assert_eq!(a.len(), 30);
        assert_eq!(a[0].body, b[0].body);
        assert_eq!(a[0].body["day"], "2026-10-31");
        assert!(samples("u1", "omron", T::Sleeps).is_empty());
        assert_eq!(samples("u1", "23andme", T::Genetics).len(), 3);
    }
}
