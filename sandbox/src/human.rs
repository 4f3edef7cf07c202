//! ZivaCare's data API, `/api/v{1,2}/human/…`, for every documented type,
//! as ZivaCare's pages and its own clients use it: `access_token` in the
//! query; lists keyed by the type in camelCase with their `total`; `limit`
//! (default 10), `offset`, `start`, `end`; a record by its code, a day's and a
//! period's records; `X-Unit-System`; and writes, `POST` with
//! `{"op": "insert"|"update", "data": [...]}` (ZivaCare's Android SDK) or one
//! record (ZivaCare's reference pages). A record written is read back, by
//! its user only; the sample readings of the sources a user shared come first.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use rusqlite::params;
use serde::Deserialize;
use serde_json::{Map, Value};
use zivacare::axum::Refusal;
use zivacare::text::is_plain_text;
use zivacare::{DataType, Day, Timestamp, UnitSystem};

use crate::samples::{in_units, samples, time_of, Stored};
use crate::state::{db_error, Holder, Sandbox};
use crate::util::{json_body, now_secs};

/// The query of a data request; other parameters are ignored, as ZivaCare does.
#[derive(Deserialize)]
pub struct DataQuery {
    access_token: Option<String>,
    limit: Option<u32>,
    offset: Option<u32>,
    start: Option<String>,
    end: Option<String>,
}

/// ZivaCare's default page size.
const DEFAULT_LIMIT: u32 = 10;
/// The largest page the sandbox answers.
const MAX_LIMIT: u32 = 200;

fn not_found(message: &str) -> Refusal {
    Refusal::new(StatusCode::NOT_FOUND, "not_found", message)
}

fn query(q: Result<Query<DataQuery>, QueryRejection>) -> Result<DataQuery, Refusal> {
    q.map(|q| q.0).map_err(|_| {
        Refusal::bad_request(
            "invalid_request",
            "Malformed query: limit and offset are whole numbers",
        )
    })
}

fn bad_day() -> Refusal {
    Refusal::bad_request("invalid_request", "Days are written YYYY-MM-DD")
}

fn day(text: &str) -> Result<Day, Refusal> {
    text.parse().map_err(|_| bad_day())
}

/// `start` or `end` of a list: a day (from its first second, or to its last)
/// or a time as ZivaCare writes them.
fn bound(text: &str, end: bool) -> Result<i64, Refusal> {
    if let Ok(d) = text.parse::<Day>() {
        return Ok(if end { d.next().unix() - 1 } else { d.unix() });
    }
    text.parse::<Timestamp>()
        .map(Timestamp::unix)
        .map_err(|_| bad_day())
}

/// The units a request asks for with `X-Unit-System`: `metric` (the
/// default), `us` or `uk`.
fn units(headers: &HeaderMap) -> Result<UnitSystem, Refusal> {
    match headers
        .get("x-unit-system")
        .map(|v| v.to_str().unwrap_or("?"))
    {
        None => Ok(UnitSystem::Metric),
        Some(v) => v.parse().map_err(|_| {
            Refusal::bad_request("invalid_request", "X-Unit-System is metric, us or uk")
        }),
    }
}

/// Who a data request is for, and what it asks for.
struct Reader {
    holder: Holder,
    kind: DataType,
    units: UnitSystem,
}

impl Reader {
    /// The reader of a request: a version of the API, an access token (401
    /// without a valid one), a known type, a known unit system.
    async fn of(
        s: &Sandbox,
        version: &str,
        kind: &str,
        token: Option<String>,
        headers: &HeaderMap,
    ) -> Result<Reader, Refusal> {
        if !matches!(version, "v1" | "v2") {
            return Err(not_found("No such version of the API: v1 or v2"));
        }
        let unauthorized = || {
            Refusal::new(
                StatusCode::UNAUTHORIZED,
                "invalid_access_token",
                "Unknown access_token",
            )
        };
        let token = token.filter(|t| !t.is_empty()).ok_or_else(unauthorized)?;
        let holder = s.holder(token).await?.ok_or_else(unauthorized)?;
        let kind: DataType = kind.parse().map_err(|_| {
            Refusal::new(StatusCode::NOT_FOUND, "unknown_type", "Unknown data type")
        })?;
        Ok(Reader {
            holder,
            kind,
            units: units(headers)?,
        })
    }

    fn lists_only(&self) -> Result<(), Refusal> {
        if self.kind.is_list() {
            Ok(())
        } else {
            Err(not_found(
                "The profile is one object: GET /api/v2/human/profile",
            ))
        }
    }

    /// Every record of the type the user has: the samples of the sources they
    /// shared, and what they wrote (a written record with a sample's code is
    /// that sample, changed), newest first.
    async fn records(&self, s: &Sandbox) -> Result<Vec<Stored>, Refusal> {
        let mut by_code: BTreeMap<String, Stored> =
            samples(&self.holder.user_code, &self.holder.sources, self.kind)
                .into_iter()
                .map(|r| (r.code.clone(), r))
                .collect();
        for r in self.written(s).await? {
            by_code.insert(r.code.clone(), r);
        }
        let mut records: Vec<Stored> = by_code.into_values().collect();
        records.sort_by(|a, b| {
            b.time
                .cmp(&a.time)
                .then_with(|| a.body["source"].as_str().cmp(&b.body["source"].as_str()))
                .then_with(|| a.code.cmp(&b.code))
        });
        Ok(records)
    }

    /// The records the user wrote of this type.
    async fn written(&self, s: &Sandbox) -> Result<Vec<Stored>, Refusal> {
        let (user, kind) = (self.holder.user_code.clone(), self.kind.as_str());
        let rows: Vec<(String, String)> = s
            .with_db(move |db| {
                let mut stmt = db
                    .prepare(
                        "SELECT code, body FROM records WHERE ziva_user_code = ?1 AND kind = ?2",
                    )
                    .map_err(db_error)?;
                let rows = stmt
                    .query_map(params![user, kind], |r| Ok((r.get(0)?, r.get(1)?)))
                    .map_err(db_error)?
                    .collect::<rusqlite::Result<_>>()
                    .map_err(db_error);
                rows
            })
            .await?;
        Ok(rows
            .into_iter()
            .filter_map(|(code, body)| {
                let body: Map<String, Value> = serde_json::from_str(&body).ok()?;
                Some(Stored {
                    time: time_of(&body).unwrap_or(0),
                    code,
                    body,
                })
            })
            .collect())
    }

    /// A record as answered: in the units asked for.
    fn answer(&self, record: &Stored) -> Value {
        let mut body = record.body.clone();
        in_units(self.kind, &mut body, self.units);
        Value::Object(body)
    }

    /// `{"<listKey>": [...], "total": N}`: the page `q` asks for of `records`.
    fn list(&self, records: &[Stored], q: &DataQuery) -> Json<Value> {
        let total = records.len();
        let page: Vec<Value> = records
            .iter()
            .skip(q.offset.unwrap_or(0) as usize)
            .take(q.limit.unwrap_or(DEFAULT_LIMIT).min(MAX_LIMIT) as usize)
            .map(|r| self.answer(r))
            .collect();
        let mut body = Map::new();
        body.insert(self.kind.list_key().to_owned(), Value::Array(page));
        body.insert("total".into(), total.into());
        Json(Value::Object(body))
    }
}

/// Keeps the records of `records` measured from `from` to `to` (both included).
fn within(records: Vec<Stored>, from: Option<i64>, to: Option<i64>) -> Vec<Stored> {
    records
        .into_iter()
        .filter(|r| from.is_none_or(|f| r.time >= f) && to.is_none_or(|t| r.time <= t))
        .collect()
}

/// `GET /api/{v}/human/{type}`: the list, with `limit`, `offset` and a
/// `start`/`end` window; for `profile`, the profile.
pub async fn list(
    State(s): State<Arc<Sandbox>>,
    Path((version, kind)): Path<(String, String)>,
    headers: HeaderMap,
    q: Result<Query<DataQuery>, QueryRejection>,
) -> Result<Json<Value>, Refusal> {
    let q = query(q)?;
    let reader = Reader::of(&s, &version, &kind, q.access_token.clone(), &headers).await?;
    if reader.kind == DataType::Profile {
        return profile(&s, &reader.holder.user_code).await.map(Json);
    }
    let from = q.start.as_deref().map(|t| bound(t, false)).transpose()?;
    let to = q.end.as_deref().map(|t| bound(t, true)).transpose()?;
    let records = within(reader.records(&s).await?, from, to);
    Ok(reader.list(&records, &q))
}

/// `GET /api/{v}/human/{type}/{code}`: one record.
pub async fn record(
    State(s): State<Arc<Sandbox>>,
    Path((version, kind, code)): Path<(String, String, String)>,
    headers: HeaderMap,
    q: Result<Query<DataQuery>, QueryRejection>,
) -> Result<Json<Value>, Refusal> {
    let q = query(q)?;
    let reader = Reader::of(&s, &version, &kind, q.access_token, &headers).await?;
    reader.lists_only()?;
    let records = reader.records(&s).await?;
    records
        .iter()
        .find(|r| r.code == code)
        .map(|r| Json(reader.answer(r)))
        .ok_or_else(|| not_found("No such record"))
}

/// `GET /api/{v}/human/{type}/daily/{YYYY-MM-DD}`: that day's records.
pub async fn daily(
    State(s): State<Arc<Sandbox>>,
    Path((version, kind, date)): Path<(String, String, String)>,
    headers: HeaderMap,
    q: Result<Query<DataQuery>, QueryRejection>,
) -> Result<Json<Value>, Refusal> {
    let q = query(q)?;
    let d = day(&date)?;
    let reader = Reader::of(&s, &version, &kind, q.access_token.clone(), &headers).await?;
    reader.lists_only()?;
    let records = within(
        reader.records(&s).await?,
        Some(d.unix()),
        Some(d.next().unix() - 1),
    );
    Ok(reader.list(&records, &q))
}

/// `GET /api/{v}/human/{type}/period/{start}/{end}`: the records of those
/// days, both included.
pub async fn period(
    State(s): State<Arc<Sandbox>>,
    Path((version, kind, start, end)): Path<(String, String, String, String)>,
    headers: HeaderMap,
    q: Result<Query<DataQuery>, QueryRejection>,
) -> Result<Json<Value>, Refusal> {
    let q = query(q)?;
    let (from, to) = (day(&start)?, day(&end)?);
    if to < from {
        return Err(Refusal::bad_request(
            "invalid_request",
            "The period ends before it starts",
        ));
    }
    let reader = Reader::of(&s, &version, &kind, q.access_token.clone(), &headers).await?;
    reader.lists_only()?;
    let records = within(
        reader.records(&s).await?,
        Some(from.unix()),
        Some(to.next().unix() - 1),
    );
    Ok(reader.list(&records, &q))
}

/// The user's profile: who they are, and what was written to it.
async fn profile(s: &Sandbox, user_code: &str) -> Result<Value, Refusal> {
    let user = user_code.to_owned();
    let (name, email, written) = s
        .with_db(move |db| {
            let (name, email): (String, String) = db
                .query_row(
                    "SELECT name, email FROM users WHERE ziva_user_code = ?1",
                    [&user],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .map_err(db_error)?;
            let written: Option<String> = db
                .query_row(
                    "SELECT body FROM profiles WHERE ziva_user_code = ?1",
                    [&user],
                    |r| r.get(0),
                )
                .ok();
            Ok((name, email, written))
        })
        .await?;
    let mut body: Map<String, Value> = written
        .and_then(|w| serde_json::from_str(&w).ok())
        .unwrap_or_default();
    body.insert("user_code".into(), user_code.into());
    body.entry("name").or_insert(name.into());
    body.entry("email").or_insert(email.into());
    Ok(Value::Object(body))
}

/// The records a write body holds: `{"op", "data": [...]}` as ZivaCare's
/// Android SDK sends it, or one record, as ZivaCare's reference pages do.
fn entries(body: Value) -> Result<(String, Vec<Map<String, Value>>), Refusal> {
    let bad = |why: &str| Refusal::bad_request("invalid_request", why);
    let Value::Object(mut obj) = body else {
        return Err(bad(
            "The body is a JSON object: {\"op\", \"data\": [...]} or one record",
        ));
    };
    let Some(op) = obj.remove("op") else {
        return Ok(("insert".into(), vec![obj]));
    };
    let op = match op.as_str() {
        Some(op @ ("insert" | "update")) => op.to_owned(),
        _ => return Err(bad("op is \"insert\" or \"update\"")),
    };
    let Some(Value::Array(data)) = obj.remove("data") else {
        return Err(bad("data is an array of records"));
    };
    if let Some(extra) = obj.keys().next() {
        return Err(bad(&format!("unknown key {extra:?} beside op and data")));
    }
    if data.is_empty() || data.len() > 1000 {
        return Err(bad("data holds 1 to 1000 records"));
    }
    let records = data
        .into_iter()
        .map(|r| match r {
            Value::Object(m) => Ok(m),
            _ => Err(bad("each record of data is an object")),
        })
        .collect::<Result<_, _>>()?;
    Ok((op, records))
}

/// Checks one written record for `holder` and writes its times as ZivaCare
/// does: `user_code`, if given, is the token's user; `source` is given (for
/// an insert); times are times; `value` is a number.
fn normalise(
    record: &mut Map<String, Value>,
    holder: &Holder,
    insert: bool,
) -> Result<(), Refusal> {
    let bad = |why: &str| Refusal::bad_request("invalid_request", why);
    match record.get("user_code") {
        None | Some(Value::Null) => {}
        Some(Value::String(code)) if *code == holder.user_code => {}
        Some(_) => {
            return Err(Refusal::forbidden(
                "A record's user_code is not the access token's user",
            ))
        }
    }
    record.insert("user_code".into(), holder.user_code.clone().into());
    let source_ok = record
        .get("source")
        .and_then(Value::as_str)
        .is_some_and(|s| is_plain_text(s, 100));
    if insert && !source_ok {
        return Err(bad("Each record needs its source"));
    }
    for key in ["record_time", "start_time", "end_time"] {
        if let Some(v) = record.get(key) {
            let t: Timestamp = v.as_str().and_then(|t| t.parse().ok()).ok_or_else(|| {
                bad(&format!(
                    "{key} is not a time such as 2014-09-16T15:52:01+0000"
                ))
            })?;
            record.insert(key.into(), t.to_string().into());
        }
    }
    if let Some(v) = record.get("day") {
        v.as_str().map(day).transpose()?.ok_or_else(bad_day)?;
    }
    if insert && time_of(record).is_none() {
        return Err(bad(
            "Each record needs its record_time (or start_time, or day)",
        ));
    }
    if let Some(v) = record.get("value") {
        let n = match v {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
        .ok_or_else(|| bad("value is a number"))?;
        record.insert("value".into(), n.into());
    }
    Ok(())
}

/// `POST /api/{v}/human/{type}`: inserts or updates records (all or none),
/// answering with them as stored, in the list's shape; for `profile`, updates it.
pub async fn write(
    State(s): State<Arc<Sandbox>>,
    Path((version, kind)): Path<(String, String)>,
    headers: HeaderMap,
    q: Result<Query<DataQuery>, QueryRejection>,
    body: Bytes,
) -> Result<Json<Value>, Refusal> {
    let q = query(q)?;
    let reader = Reader::of(&s, &version, &kind, q.access_token.clone(), &headers).await?;
    let (op, mut records) = entries(json_body(&headers, &body)?)?;
    let now = Timestamp::from_unix(now_secs()).to_string();
    if reader.kind == DataType::Profile {
        return write_profile(&s, &reader.holder, records, &now).await;
    }
    let insert = op == "insert";
    let existing = if insert {
        Vec::new()
    } else {
        reader.records(&s).await?
    };
    let mut stored = Vec::with_capacity(records.len());
    for record in &mut records {
        normalise(record, &reader.holder, insert)?;
        let body = if insert {
            if record.contains_key("code") {
                return Err(Refusal::bad_request(
                    "invalid_request",
                    "An inserted record gets its code from ZivaCare: update a record by its code",
                ));
            }
            let mut body = record.clone();
            body.insert("code".into(), uuid::Uuid::new_v4().to_string().into());
            body.insert("created_at".into(), now.clone().into());
            body
        } else {
            let code = record.get("code").and_then(Value::as_str).ok_or_else(|| {
                Refusal::bad_request("invalid_request", "Each record to update names its code")
            })?;
            let mut body = existing
                .iter()
                .find(|r| r.code == code)
                .map(|r| r.body.clone())
                .ok_or_else(|| not_found("No such record to update"))?;
            body.extend(record.clone());
            body.insert("updated_at".into(), now.clone().into());
            body
        };
        let code = body["code"].as_str().unwrap_or_default().to_owned();
        stored.push(Stored {
            time: time_of(&body).unwrap_or(0),
            code,
            body,
        });
    }
    let rows: Vec<(String, String)> = stored
        .iter()
        .map(|r| (r.code.clone(), Value::Object(r.body.clone()).to_string()))
        .collect();
    let (user, kind) = (reader.holder.user_code.clone(), reader.kind.as_str());
    s.with_db(move |db| {
        let tx = db.unchecked_transaction().map_err(db_error)?;
        for (code, body) in rows {
            tx.execute(
                "INSERT INTO records (ziva_user_code, kind, code, body) VALUES (?1, ?2, ?3, ?4) \
                 ON CONFLICT (ziva_user_code, kind, code) DO UPDATE SET body = excluded.body",
                params![user, kind, code, body],
            )
            .map_err(db_error)?;
        }
        tx.commit().map_err(db_error)
    })
    .await?;
    Ok(reader.list(
        &stored,
        &DataQuery {
            access_token: None,
            limit: Some(MAX_LIMIT),
            offset: None,
            start: None,
            end: None,
        },
    ))
}

/// Updates the profile with the fields of `records` (all but `user_code`).
async fn write_profile(
    s: &Sandbox,
    holder: &Holder,
    records: Vec<Map<String, Value>>,
    now: &str,
) -> Result<Json<Value>, Refusal> {
    let mut current = match profile(s, &holder.user_code).await? {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    for mut record in records {
        normalise(&mut record, holder, false)?;
        current.extend(record);
    }
    current.insert("updated_at".into(), now.into());
    let (user, body) = (holder.user_code.clone(), Value::Object(current).to_string());
    s.with_db(move |db| {
        db.execute(
            "INSERT INTO profiles (ziva_user_code, body) VALUES (?1, ?2) \
             ON CONFLICT (ziva_user_code) DO UPDATE SET body = excluded.body",
            params![user, body],
        )
        .map_err(db_error)?;
        Ok(())
    })
    .await?;
    profile(s, &holder.user_code).await.map(Json)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn write_bodies_take_both_shapes_and_nothing_else() {
        let (op, records) =
            entries(json!({"op": "update", "data": [{"code": "c", "value": 1}]})).unwrap();
        assert_eq!((op.as_str(), records.len()), ("update", 1));
        let (op, records) = entries(json!({"value": 90, "source": "fitbit"})).unwrap();
        assert_eq!(
            (op.as_str(), records[0]["value"].as_i64()),
            ("insert", Some(90))
        );
        for bad in [
            json!([1]),
            json!({"op": "delete", "data": []}),
            json!({"op": "insert", "data": []}),
            json!({"op": "insert", "data": [1]}),
            json!({"op": "insert", "data": [{}], "extra": 1}),
        ] {
            assert!(entries(bad.clone()).is_err(), "{bad}");
        }
    }

    #[test]
    fn bounds_take_days_or_times() {
        assert_eq!(bound("2026-10-30", false).unwrap(), 1_793_318_400);
        assert_eq!(bound("2026-10-30", true).unwrap(), 1_793_318_400 + 86_399);
        assert_eq!(
            bound("2026-10-31 23:59:59+00", true).unwrap(),
            1_793_491_199
        );
        assert!(bound("yesterday", false).is_err());
    }
}
