//! The vocabulary of ZivaCare's data API, pure and independent of HTTP: its
//! data types, unit systems, days and times as ZivaCare writes them, the query
//! options of a list, and the records it answers with.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

/// A type of health data, as ZivaCare's API names it in its paths
/// (`/api/v2/human/{type}`), with the key its lists come under.
///
/// ```
/// use zivacare::DataType;
/// assert_eq!(DataType::HeartRates.as_str(), "heart_rates");
/// assert_eq!(DataType::HeartRates.list_key(), "heartRates");
/// assert_eq!("blood_pressures".parse::<DataType>(), Ok(DataType::BloodPressures));
/// assert_eq!(DataType::ALL.len(), 18);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum DataType {
    /// The user's profile: one object, not a list.
    Profile,
    /// Activities (a walk, a run): start and end, distance, steps, calories.
    Activities,
    /// Blood glucose readings.
    BloodGlucoses,
    /// Blood oxygen (SpO2) readings.
    BloodOxygens,
    /// Blood pressure readings: systolic, diastolic and heart rate.
    BloodPressures,
    /// Falls a device detected.
    Falls,
    /// Body fat readings.
    BodyFats,
    /// Body mass index readings.
    Bmis,
    /// Genetic traits.
    Genetics,
    /// Heart rate readings.
    HeartRates,
    /// Height readings.
    Heights,
    /// Locations.
    Locations,
    /// Meals.
    Meals,
    /// Respiration rate readings.
    RespirationRates,
    /// Sleep segments: start and end, time asleep and awake, efficiency.
    Sleeps,
    /// Daily summaries of sleep.
    SleepSummary,
    /// Step counts.
    Steps,
    /// Weight readings.
    Weights,
}

impl DataType {
    /// Every type ZivaCare documents, in the order of its Android SDK.
    pub const ALL: [DataType; 18] = [
        DataType::Profile,
        DataType::Activities,
        DataType::BloodGlucoses,
        DataType::BloodOxygens,
        DataType::BloodPressures,
        DataType::Falls,
        DataType::BodyFats,
        DataType::Bmis,
        DataType::Genetics,
        DataType::HeartRates,
        DataType::Heights,
        DataType::Locations,
        DataType::Meals,
        DataType::RespirationRates,
        DataType::Sleeps,
        DataType::SleepSummary,
        DataType::Steps,
        DataType::Weights,
    ];

    /// The type as its path segment, e.g. `"blood_pressures"`.
    pub fn as_str(self) -> &'static str {
        match self {
            DataType::Profile => "profile",
            DataType::Activities => "activities",
            DataType::BloodGlucoses => "blood_glucoses",
            DataType::BloodOxygens => "blood_oxygens",
            DataType::BloodPressures => "blood_pressures",
            DataType::Falls => "falls",
            DataType::BodyFats => "body_fats",
            DataType::Bmis => "bmis",
            DataType::Genetics => "genetics",
            DataType::HeartRates => "heart_rates",
            DataType::Heights => "heights",
            DataType::Locations => "locations",
            DataType::Meals => "meals",
            DataType::RespirationRates => "respiration_rates",
            DataType::Sleeps => "sleeps",
            DataType::SleepSummary => "sleep_summary",
            DataType::Steps => "steps",
            DataType::Weights => "weights",
        }
    }

    /// The key a list of this type comes under: its name in camelCase
    /// (`heart_rates` → `heartRates`), as ZivaCare writes it.
    pub fn list_key(self) -> &'static str {
        match self {
            DataType::Profile => "profile",
            DataType::Activities => "activities",
            DataType::BloodGlucoses => "bloodGlucoses",
            DataType::BloodOxygens => "bloodOxygens",
            DataType::BloodPressures => "bloodPressures",
            DataType::Falls => "falls",
            DataType::BodyFats => "bodyFats",
            DataType::Bmis => "bmis",
            DataType::Genetics => "genetics",
            DataType::HeartRates => "heartRates",
            DataType::Heights => "heights",
            DataType::Locations => "locations",
            DataType::Meals => "meals",
            DataType::RespirationRates => "respirationRates",
            DataType::Sleeps => "sleeps",
            DataType::SleepSummary => "sleepSummary",
            DataType::Steps => "steps",
            DataType::Weights => "weights",
        }
    }

    /// Whether the type is a list of records (all but [`DataType::Profile`]).
    ///
    /// ```
    /// assert!(zivacare::DataType::Sleeps.is_list());
    /// assert!(!zivacare::DataType::Profile.is_list());
    /// ```
    pub fn is_list(self) -> bool {
        self != DataType::Profile
    }
}

impl fmt::Display for DataType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not one of ZivaCare's data types.
///
/// ```
/// let err = "lab_results".parse::<zivacare::DataType>().unwrap_err();
/// assert_eq!(err.to_string(), "not one of ZivaCare's data types");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownDataType;

impl fmt::Display for UnknownDataType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not one of ZivaCare's data types")
    }
}

impl std::error::Error for UnknownDataType {}

impl FromStr for DataType {
    type Err = UnknownDataType;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DataType::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or(UnknownDataType)
    }
}

/// The units ZivaCare converts readings to, chosen with the `X-Unit-System`
/// header: weights in kilograms or pounds, heights in centimetres or inches,
/// distances in kilometres or miles, blood glucose in mmol/L or mg/dL.
///
/// ```
/// use zivacare::UnitSystem;
/// assert_eq!(UnitSystem::default(), UnitSystem::Metric);
/// assert_eq!("uk".parse::<UnitSystem>().unwrap().as_str(), "uk");
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum UnitSystem {
    /// kg, cm, km, mmol/L (ZivaCare's default).
    #[default]
    Metric,
    /// pounds, inches, miles, mg/dL.
    Us,
    /// pounds, cm, miles, mg/dL.
    Uk,
}

impl UnitSystem {
    /// The header's value: `"metric"`, `"us"` or `"uk"`.
    ///
    /// ```
    /// assert_eq!(zivacare::UnitSystem::Us.as_str(), "us");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            UnitSystem::Metric => "metric",
            UnitSystem::Us => "us",
            UnitSystem::Uk => "uk",
        }
    }
}

impl FromStr for UnitSystem {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "metric" => Ok(UnitSystem::Metric),
            "us" => Ok(UnitSystem::Us),
            "uk" => Ok(UnitSystem::Uk),
            _ => Err(format!("{s:?} is not a unit system: metric, us or uk")),
        }
    }
}

/// The calendar date and time of day of `secs` since the epoch (UTC,
/// proleptic Gregorian): (year, month, day, hour, minute, second).
fn civil(secs: i64) -> (i64, u32, u32, u32, u32, u32) {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400) as u32;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day, rem / 3600, rem % 3600 / 60, rem % 60)
}

/// Days since the epoch of a calendar date (the inverse of [`civil`]).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// A calendar day, written `YYYY-MM-DD` in ZivaCare's paths and queries.
///
/// ```
/// use zivacare::Day;
/// let day: Day = "2016-01-01".parse().unwrap();
/// assert_eq!(day.to_string(), "2016-01-01");
/// assert!("2016-02-30".parse::<Day>().is_err());
/// assert_eq!(Day::new(2016, 1, 1), Some(day));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Day {
    days: i64,
}

impl Day {
    /// The day, if it exists.
    ///
    /// ```
    /// assert!(zivacare::Day::new(2016, 2, 29).is_some());
    /// assert!(zivacare::Day::new(2015, 2, 29).is_none());
    /// ```
    pub fn new(year: i64, month: u32, day: u32) -> Option<Day> {
        if !(1..=12).contains(&month) || !(1..=31).contains(&day) || !(0..=9999).contains(&year) {
            return None;
        }
        let days = days_from_civil(year, month, day);
        // A day that does not exist (February 30th) comes back as another.
        (civil(days * 86_400).2 == day).then_some(Day { days })
    }

    /// The day that holds `secs` seconds since the epoch (UTC).
    ///
    /// ```
    /// assert_eq!(zivacare::Day::from_unix(1_451_663_521).to_string(), "2016-01-01");
    /// ```
    pub fn from_unix(secs: i64) -> Day {
        Day {
            days: secs.div_euclid(86_400),
        }
    }

    /// Seconds since the epoch of the day's midnight (UTC).
    ///
    /// ```
    /// let day: zivacare::Day = "2016-01-01".parse().unwrap();
    /// assert_eq!(day.unix(), 1_451_606_400);
    /// ```
    pub fn unix(self) -> i64 {
        self.days * 86_400
    }

    /// The next day.
    ///
    /// ```
    /// let day: zivacare::Day = "2016-02-28".parse().unwrap();
    /// assert_eq!(day.next().next().to_string(), "2016-03-01");
    /// ```
    pub fn next(self) -> Day {
        Day {
            days: self.days + 1,
        }
    }
}

impl fmt::Display for Day {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, m, d, ..) = civil(self.unix());
        write!(f, "{y:04}-{m:02}-{d:02}")
    }
}

/// Text that is not a day written `YYYY-MM-DD`, or not a time ZivaCare writes.
///
/// ```
/// assert_eq!("31/12/2016".parse::<zivacare::Day>(), Err(zivacare::BadDate));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadDate;

impl fmt::Display for BadDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not a date written YYYY-MM-DD (or a time YYYY-MM-DD HH:MM:SS+00)")
    }
}

impl std::error::Error for BadDate {}

/// `text[range]` as a number, if it is all digits.
fn digits(text: &str, range: std::ops::Range<usize>) -> Option<u32> {
    let part = text.get(range)?;
    part.bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| part.parse().ok())?
}

impl FromStr for Day {
    type Err = BadDate;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let b = s.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return Err(BadDate);
        }
        let (y, m, d) = (digits(s, 0..4), digits(s, 5..7), digits(s, 8..10));
        match (y, m, d) {
            (Some(y), Some(m), Some(d)) => Day::new(i64::from(y), m, d).ok_or(BadDate),
            _ => Err(BadDate),
        }
    }
}

/// An instant, to the second, written as ZivaCare writes record times:
/// `2016-01-01 15:52:01+00`. It reads that form, ISO 8601 with `T` and `Z`,
/// `+0000` or `+00:00`, and other offsets (converted to UTC).
///
/// ```
/// use zivacare::Timestamp;
/// let t: Timestamp = "2014-09-16T15:52:01+0000".parse().unwrap();
/// assert_eq!(t.to_string(), "2014-09-16 15:52:01+00");
/// assert_eq!(t.to_iso8601(), "2014-09-16T15:52:01Z");
/// assert_eq!("2014-09-16 17:52:01+02:00".parse::<Timestamp>(), Ok(t));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Timestamp(i64);

impl Timestamp {
    /// `secs` seconds since the epoch.
    ///
    /// ```
    /// assert_eq!(zivacare::Timestamp::from_unix(0).to_string(), "1970-01-01 00:00:00+00");
    /// ```
    pub fn from_unix(secs: i64) -> Timestamp {
        Timestamp(secs)
    }

    /// Seconds since the epoch.
    ///
    /// ```
    /// let t: zivacare::Timestamp = "1970-01-01T00:01:00Z".parse().unwrap();
    /// assert_eq!(t.unix(), 60);
    /// ```
    pub fn unix(self) -> i64 {
        self.0
    }

    /// The day it falls on (UTC).
    ///
    /// ```
    /// let t: zivacare::Timestamp = "2016-01-01T23:30:00-02:00".parse().unwrap();
    /// assert_eq!(t.day().to_string(), "2016-01-02");
    /// ```
    pub fn day(self) -> Day {
        Day::from_unix(self.0)
    }

    /// `YYYY-MM-DDTHH:MM:SSZ`.
    ///
    /// ```
    /// assert_eq!(zivacare::Timestamp::from_unix(60).to_iso8601(), "1970-01-01T00:01:00Z");
    /// ```
    pub fn to_iso8601(self) -> String {
        let (y, mo, d, h, mi, s) = civil(self.0);
        format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, mo, d, h, mi, s) = civil(self.0);
        write!(f, "{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}+00")
    }
}

impl FromStr for Timestamp {
    type Err = BadDate;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let day: Day = s.get(..10).ok_or(BadDate)?.parse()?;
        let b = s.as_bytes();
        if b.len() < 19 || !matches!(b[10], b' ' | b'T') || b[13] != b':' || b[16] != b':' {
            return Err(BadDate);
        }
        let (h, m, sec) = (digits(s, 11..13), digits(s, 14..16), digits(s, 17..19));
        let (Some(h), Some(m), Some(sec)) = (h, m, sec) else {
            return Err(BadDate);
        };
        if h > 23 || m > 59 || sec > 60 {
            return Err(BadDate);
        }
        // Fractions of a second are dropped; then the offset.
        let mut rest = &s[19..];
        if let Some(frac) = rest.strip_prefix('.') {
            let end = frac.bytes().take_while(u8::is_ascii_digit).count();
            rest = &frac[end..];
        }
        let offset = match rest {
            "" | "Z" | "z" => 0,
            _ => {
                let sign = match rest.as_bytes()[0] {
                    b'+' => 1,
                    b'-' => -1,
                    _ => return Err(BadDate),
                };
                let t = rest[1..].replace(':', "");
                let (oh, om) = match t.len() {
                    2 => (digits(&t, 0..2), Some(0)),
                    4 => (digits(&t, 0..2), digits(&t, 2..4)),
                    _ => (None, None),
                };
                match (oh, om) {
                    (Some(oh), Some(om)) if oh < 24 && om < 60 => {
                        sign * i64::from(oh * 3600 + om * 60)
                    }
                    _ => return Err(BadDate),
                }
            }
        };
        let secs = day.unix() + i64::from(h * 3600 + m * 60 + sec) - offset;
        Ok(Timestamp(secs))
    }
}

/// The query options of a list: `limit` (ZivaCare's default is 10), `offset`,
/// and a window of days, `start` and `end` (both included).
///
/// ```
/// use zivacare::Query;
/// let q = Query::new().limit(7).offset(14).start("2016-01-01".parse().unwrap());
/// assert_eq!(q.pairs(), [("limit", "7".to_owned()), ("offset", "14".to_owned()), ("start", "2016-01-01".to_owned())]);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Query {
    limit: Option<u32>,
    offset: Option<u32>,
    start: Option<Day>,
    end: Option<Day>,
}

impl Query {
    /// No options: ZivaCare's defaults.
    ///
    /// ```
    /// assert!(zivacare::Query::new().pairs().is_empty());
    /// ```
    pub fn new() -> Query {
        Query::default()
    }

    /// At most `n` records.
    pub fn limit(mut self, n: u32) -> Query {
        self.limit = Some(n);
        self
    }

    /// From the `n`th record (0 for the first).
    pub fn offset(mut self, n: u32) -> Query {
        self.offset = Some(n);
        self
    }

    /// Records from this day on.
    pub fn start(mut self, day: Day) -> Query {
        self.start = Some(day);
        self
    }

    /// Records up to this day, included.
    ///
    /// ```
    /// let q = zivacare::Query::new().end("2016-01-31".parse().unwrap());
    /// assert_eq!(q.pairs(), [("end", "2016-01-31".to_owned())]);
    /// ```
    pub fn end(mut self, day: Day) -> Query {
        self.end = Some(day);
        self
    }

    /// The limit asked for, if any.
    ///
    /// ```
    /// assert_eq!(zivacare::Query::new().limit(5).get_limit(), Some(5));
    /// ```
    pub fn get_limit(&self) -> Option<u32> {
        self.limit
    }

    /// The offset asked for, if any.
    ///
    /// ```
    /// assert_eq!(zivacare::Query::new().get_offset(), None);
    /// ```
    pub fn get_offset(&self) -> Option<u32> {
        self.offset
    }

    /// The options as query parameters, in ZivaCare's names.
    pub fn pairs(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if let Some(n) = self.limit {
            out.push(("limit", n.to_string()));
        }
        if let Some(n) = self.offset {
            out.push(("offset", n.to_string()));
        }
        if let Some(d) = self.start {
            out.push(("start", d.to_string()));
        }
        if let Some(d) = self.end {
            out.push(("end", d.to_string()));
        }
        out
    }
}

/// A number, or a string that holds one (ZivaCare's examples write some
/// values as strings: `"diastolic": "79"`).
fn lenient_number<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => Ok(n.as_f64()),
        Some(Value::String(s)) => s
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| serde::de::Error::custom("value is not a number")),
        Some(_) => Err(serde::de::Error::custom("value is not a number")),
    }
}

/// One record of a data type. The fields ZivaCare documents for every
/// measurement are typed; the others a type has (`systolic` and `diastolic`
/// of a blood pressure, `time_asleep` of a sleep, …) are kept in `fields` as
/// JSON, so nothing ZivaCare sends is lost.
///
/// Written records are built the same way: what is `None` is not sent.
///
/// ```
/// use zivacare::Record;
/// let reading = Record::new("my-app")
///     .record_time("2016-01-01T15:52:01+0000")
///     .field("systolic", 120)
///     .field("diastolic", 79)
///     .unit("mmHg");
/// assert_eq!(reading.fields["systolic"], 120);
/// let back: Record = serde_json::from_value(serde_json::json!({
///     "code": "d73d", "systolic": 120, "unit": "mmHg", "heart_rate": 59
/// })).unwrap();
/// assert_eq!((back.code.as_deref(), back.fields["heart_rate"].as_i64()), (Some("d73d"), Some(59)));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// The record's id at ZivaCare.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// The user's global code (`ziva_user_code`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_code: Option<String>,
    /// When it was measured, as ZivaCare writes it (`2016-01-01 15:52:01+00`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record_time: Option<String>,
    /// The service the measurement came from, e.g. `"fitbit"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The measurement, in `unit`.
    #[serde(
        default,
        deserialize_with = "lenient_number",
        skip_serializing_if = "Option::is_none"
    )]
    pub value: Option<f64>,
    /// The unit of `value` (see [`UnitSystem`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// When ZivaCare stored it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// When ZivaCare last changed it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
    /// Every other field, as sent.
    #[serde(flatten)]
    pub fields: Map<String, Value>,
}

impl Record {
    /// A record to write, from `source` (the service or app that measured it).
    pub fn new(source: impl Into<String>) -> Record {
        Record {
            source: Some(source.into()),
            ..Record::default()
        }
    }

    /// With its code: the record an update changes.
    pub fn code(mut self, code: impl Into<String>) -> Record {
        self.code = Some(code.into());
        self
    }

    /// With when it was measured (ZivaCare reads `2014-09-16T15:52:01+0000`).
    pub fn record_time(mut self, time: impl Into<String>) -> Record {
        self.record_time = Some(time.into());
        self
    }

    /// With its measurement.
    pub fn value(mut self, value: f64) -> Record {
        self.value = Some(value);
        self
    }

    /// With the unit of its measurement.
    pub fn unit(mut self, unit: impl Into<String>) -> Record {
        self.unit = Some(unit.into());
        self
    }

    /// With another field of its type.
    pub fn field(mut self, name: impl Into<String>, value: impl Into<Value>) -> Record {
        self.fields.insert(name.into(), value.into());
        self
    }
}

/// One page of a list: its records, and how many the whole list holds
/// (see [`User::page`](crate::User::page)).
///
/// ```
/// let page = zivacare::Page { records: vec![zivacare::Record::new("fitbit").value(90.0)], total: 30 };
/// assert!(page.total > page.records.len() as u64, "more pages");
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Page {
    /// The records of this page, newest first.
    pub records: Vec<Record>,
    /// The number of records in the whole list (every page).
    pub total: u64,
}

/// The user's profile: what ZivaCare knows of them (see
/// [`User::profile`](crate::User::profile)).
///
/// ```
/// let profile: zivacare::Profile = serde_json::from_str(r#"{"user_code": "u1", "name": "Ann"}"#).unwrap();
/// assert_eq!((profile.user_code.as_deref(), profile.fields["name"].as_str()), (Some("u1"), Some("Ann")));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    /// The user's global code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_code: Option<String>,
    /// Every other field, as sent.
    #[serde(flatten)]
    pub fields: Map<String, Value>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_and_times_read_back_what_they_write() {
        assert_eq!(Day::from_unix(0).to_string(), "1970-01-01");
        assert_eq!("2000-02-29".parse::<Day>().unwrap().unix(), 951_782_400);
        for bad in [
            "2026-02-30",
            "2026-13-01",
            "2026-1-01",
            "20260101",
            "",
            "2026-01-0x",
            "+026-01-01",
        ] {
            assert!(bad.parse::<Day>().is_err(), "{bad}");
        }
        let t = Timestamp::from_unix(1_451_663_521);
        assert_eq!(t.to_string(), "2016-01-01 15:52:01+00");
        assert_eq!(t.to_iso8601(), "2016-01-01T15:52:01Z");
        for form in [
            "2016-01-01 15:52:01+00",
            "2016-01-01T15:52:01Z",
            "2016-01-01T15:52:01.250Z",
            "2016-01-01T15:52:01+0000",
            "2016-01-01T10:52:01-05:00",
            "2016-01-01 15:52:01",
        ] {
            assert_eq!(form.parse::<Timestamp>(), Ok(t), "{form}");
        }
        for bad in [
            "2016-01-01",
            "2016-01-01 25:00:00+00",
            "2016-01-01T15:52:01+5",
            "yesterday",
        ] {
            assert!(bad.parse::<Timestamp>().is_err(), "{bad}");
        }
    }

    #[test]
    fn every_type_reads_back_from_its_name_and_keys_its_list_in_camel_case() {
        for t in DataType::ALL {
            assert_eq!(t.as_str().parse::<DataType>(), Ok(t));
            let camel: String = t
                .as_str()
                .split('_')
                .enumerate()
                .map(|(i, w)| {
                    if i == 0 {
                        w.to_owned()
                    } else {
                        w[..1].to_uppercase() + &w[1..]
                    }
                })
                .collect();
            assert_eq!(t.list_key(), camel);
        }
        assert!("lab_results".parse::<DataType>().is_err());
    }

    #[test]
    fn record_values_may_be_written_as_strings() {
        let r: Record = serde_json::from_str(r#"{"value": "79", "x": [1]}"#).unwrap();
        assert_eq!(r.value, Some(79.0));
        assert_eq!(r.fields["x"], serde_json::json!([1]));
        assert!(serde_json::from_str::<Record>(r#"{"value": "high"}"#).is_err());
    }
}
