//! The data API over real HTTP: what ZivaCare's pages document (lists keyed by
//! a camelCase plural with their total, record times like
//! `2016-01-01 15:52:01+00`, a record by its code, a day, a period, the unit
//! systems), and exactly the requests ZivaCare's own clients send: its npm
//! wrapper's paths, query and headers, and its Android SDK's `{op, data}`
//! writes and v1 paths.

mod common;

use common::*;
use serde_json::{json, Value};

#[tokio::test]
async fn human_data_is_deterministic_paged_and_guarded() {
    let w = &world().await;
    let access = w.reader("ann@example.com", &["fitbit", "withings"]).await;
    let data = |q: &str| {
        let path = format!("/api/v2/human/{q}&access_token={access}");
        async move { w.get(&path).await }
    };
    let weights = data("weights?limit=5").await;
    assert_eq!(weights.status, 200);
    let body = weights.json();
    assert_eq!(body["total"], 30);
    let list = body["weights"].as_array().unwrap();
    assert_eq!(list.len(), 5);
    for key in [
        "code",
        "user_code",
        "record_time",
        "source",
        "value",
        "unit",
        "created_at",
    ] {
        assert!(!list[0][key].is_null(), "{key}");
    }
    assert_eq!(
        (list[0]["source"].as_str(), list[0]["unit"].as_str()),
        (Some("withings"), Some("kg"))
    );
    assert_eq!(
        data("weights?limit=5").await.text,
        weights.text,
        "deterministic"
    );
    let page2 = data("weights?limit=5&offset=5").await.json();
    assert_eq!(page2["weights"][0]["record_time"], "2026-10-26 08:00:00+00");
    // ZivaCare's default page is 10 records.
    assert_eq!(
        data("steps?x=1").await.json()["steps"]
            .as_array()
            .unwrap()
            .len(),
        10
    );
    let window = data("steps?start=2026-10-30&end=2026-10-31%2023:59:59%2B00")
        .await
        .json();
    assert_eq!(window["total"], 2);
    assert_eq!(
        data("steps?start=2026-10-30&end=2026-10-30").await.json()["total"],
        1,
        "both days included"
    );
    assert_eq!(
        data("heart_rates?limit=1").await.json()["total"],
        30,
        "fitbit only"
    );
    assert_eq!(
        data("blood_glucoses?limit=1").await.json()["total"],
        0,
        "quest not shared"
    );
    for (q, status, code) in [
        ("cats?limit=1", 404, "unknown_type"),
        ("lab_results?limit=1", 404, "unknown_type"),
        ("steps?limit=many", 400, "invalid_request"),
        ("steps?start=yesterday", 400, "invalid_request"),
    ] {
        let r = data(q).await;
        assert_eq!(
            (r.status, r.json()["code"].as_str()),
            (status, Some(code)),
            "{q}"
        );
        assert_eq!(
            r.json().as_object().unwrap().len(),
            2,
            "{{code, message}}: {q}"
        );
    }
    let r = w
        .get("/api/v2/human/weights?access_token=tok_SENTINEL_nope")
        .await;
    assert_eq!(
        (r.status, r.json()["code"].as_str()),
        (401, Some("invalid_access_token"))
    );
    assert_eq!(w.get("/api/v2/human/weights").await.status, 401);
    assert_eq!(
        w.get(&format!("/api/v3/human/weights?access_token={access}"))
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn human_data_answers_as_zivacare_documents() {
    let w = &world().await;
    let access = w.reader("ann@example.com", &["fitbit", "withings"]).await;
    let data = |path: &str| {
        let path = format!("/api/v2/human/{path}?access_token={access}");
        async move { w.get(&path).await }
    };
    let list = data("heart_rates").await.json();
    let keys: Vec<&String> = list.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["heartRates", "total"], "{list}");
    assert_eq!(list["total"], 30);
    let latest = &list["heartRates"][0];
    assert_eq!(latest["record_time"], "2026-10-31 08:00:00+00");
    // One record by its code.
    let code = latest["code"].as_str().unwrap();
    assert!(
        uuid::Uuid::parse_str(code).is_ok(),
        "codes are UUIDs, as ZivaCare's: {code}"
    );
    let one = data(&format!("heart_rates/{code}")).await;
    assert_eq!(one.status, 200);
    assert_eq!(&one.json(), latest);
    assert_eq!(data("heart_rates/nosuchcode").await.status, 404);
    // A day's readings, and a period's (both days included).
    let day = data("heart_rates/daily/2026-10-31").await.json();
    assert_eq!(day["total"], 1);
    assert_eq!(day["heartRates"][0], *latest);
    let period = data("heart_rates/period/2026-10-25/2026-10-31")
        .await
        .json();
    assert_eq!(period["total"], 7);
    assert_eq!(data("heart_rates/daily/2026-02-30").await.status, 400);
    assert_eq!(
        data("heart_rates/period/2026-10-25/yesterday").await.status,
        400
    );
    assert_eq!(
        data("heart_rates/period/2026-10-31/2026-10-25")
            .await
            .status,
        400
    );
    // The profile is one object.
    let profile = data("profile").await.json();
    assert_eq!(
        (profile["email"].as_str(), profile["name"].as_str()),
        (Some("ann@example.com"), Some("ann"))
    );
}

#[tokio::test]
async fn every_documented_type_is_served_with_its_fields() {
    let w = &world().await;
    let sources: Vec<&str> = zivacare_sandbox::SOURCES.iter().map(|s| s.id).collect();
    let access = w.reader("all@example.com", &sources).await;
    for kind in zivacare::DataType::ALL.into_iter().filter(|t| t.is_list()) {
        let r = w
            .get(&format!(
                "/api/v2/human/{kind}?limit=1&access_token={access}"
            ))
            .await;
        assert_eq!(r.status, 200, "{kind}");
        let body = r.json();
        assert!(body["total"].as_u64().unwrap() > 0, "{kind}");
        let first = &body[kind.list_key()][0];
        for key in ["code", "user_code", "source", "created_at"] {
            assert!(first[key].is_string(), "{kind}: {key} in {first}");
        }
    }
    // The fields ZivaCare's Blood Pressure and Sleep pages document.
    let bp = w
        .get(&format!(
            "/api/v2/human/blood_pressures?limit=1&access_token={access}"
        ))
        .await
        .json();
    let bp = &bp["bloodPressures"][0];
    for key in ["systolic", "diastolic", "heart_rate", "unit", "record_time"] {
        assert!(!bp[key].is_null(), "{key} in {bp}");
    }
    let sleep = w
        .get(&format!(
            "/api/v2/human/sleeps?limit=1&access_token={access}"
        ))
        .await
        .json();
    let sleep = &sleep["sleeps"][0];
    for key in [
        "day",
        "start_time",
        "end_time",
        "main_sleep",
        "time_asleep",
        "time_awake",
        "efficiency",
        "time_to_fall_asleep",
        "time_after_wakeup",
        "time_in_bed",
    ] {
        assert!(!sleep[key].is_null(), "{key} in {sleep}");
    }
}

#[tokio::test]
async fn units_convert_as_zivacares_unit_system_page_lists() {
    let w = &world().await;
    let access = w
        .reader(
            "ann@example.com",
            &["withings", "quest", "strava", "fitbit"],
        )
        .await;
    let first = |kind: &'static str, key: &'static str, system: Option<&'static str>| {
        let url = w.url(&format!(
            "/api/v2/human/{kind}?limit=1&access_token={access}"
        ));
        let http = w.http.clone();
        async move {
            let mut req = http.get(url);
            if let Some(s) = system {
                req = req.header("x-unit-system", s);
            }
            let r = reply(req.send().await.unwrap()).await;
            (r.status, r.json()[key][0].clone())
        }
    };
    let (_, metric) = first("weights", "weights", None).await;
    assert_eq!(first("weights", "weights", Some("metric")).await.1, metric);
    let kg = metric["value"].as_f64().unwrap();
    assert_eq!(metric["unit"], "kg");
    for system in ["us", "uk"] {
        let (_, w) = first("weights", "weights", Some(system)).await;
        assert_eq!(w["unit"], "pounds", "{system}");
        let lb = w["value"].as_f64().unwrap();
        // Rounded to 0.1 of its unit, from kilograms rounded to 0.1.
        assert!(
            (lb - kg * 2.204_622_6).abs() <= 0.06,
            "{kg} kg is not {lb} pounds"
        );
        assert_eq!(w["code"], metric["code"], "the same record");
        assert_eq!(
            first("blood_glucoses", "bloodGlucoses", Some(system))
                .await
                .1["unit"],
            "mg/dL"
        );
        assert_eq!(
            first("activities", "activities", Some(system)).await.1["unit"],
            "mi"
        );
    }
    assert_eq!(
        first("heights", "heights", Some("us")).await.1["unit"],
        "inches"
    );
    assert_eq!(
        first("heights", "heights", Some("uk")).await.1["unit"],
        "cm"
    );
    assert_eq!(first("weights", "weights", Some("imperial")).await.0, 400);
    // Other types keep their units.
    assert_eq!(first("steps", "steps", Some("us")).await.1["unit"], "steps");
}

/// The requests of ZivaCare's npm data wrapper (`zivacare-client`), exactly:
/// `GET {base}/{endpoint}` or `{base}/{endpoint}/{a}/{b}` with the token in
/// the query and `Cache-Control: no-cache`; POSTs of the JSON it is given.
#[tokio::test]
async fn the_npm_wrappers_requests_are_answered() {
    let w = &world().await;
    let access = w.reader("npm@example.com", &["fitbit"]).await;
    let base = format!("{}/api/v2/", w.sandbox.url);
    let wrapper = |endpoint: &str, extra: &[&str]| {
        // prettifyEndpoint: lower case, dots to slashes; then the extra parts.
        let endpoint = endpoint.to_lowercase().replace('.', "/");
        let mut url = format!("{base}{endpoint}");
        if !extra.is_empty() {
            url = format!("{url}/{}", extra.join("/"));
        }
        w.http
            .get(url)
            .query(&[("access_token", access.as_str())])
            .header("Cache-Control", "no-cache")
    };
    let list = reply(wrapper("human.heart_rates", &[]).send().await.unwrap())
        .await
        .json();
    assert_eq!(list["total"], 30);
    let code = list["heartRates"][0]["code"].as_str().unwrap().to_owned();
    let one = reply(wrapper("Human.Heart_Rates", &[&code]).send().await.unwrap()).await;
    assert_eq!(one.json()["code"], code);
    let day = reply(
        wrapper("human.heart_rates.daily", &["2026-10-31"])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(day.json()["total"], 1);
    let period = reply(
        wrapper("human.heart_rates.period", &["2026-10-25", "2026-10-31"])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(period.json()["total"], 7);
    // POST, as the wrapper sends it (`json: true`), of ZivaCare's own example body.
    let posted = w
        .http
        .post(format!("{base}human/heart_rates"))
        .query(&[("access_token", access.as_str())])
        .header("Cache-Control", "no-cache")
        .json(&json!({ "value": 90, "unit": "bpm", "source": "fitbit", "record_time": "2014-09-16T15:52:01+0000" }))
        .send()
        .await
        .unwrap();
    let posted = reply(posted).await;
    assert_eq!(posted.status, 200, "{}", posted.text);
    let written = &posted.json()["heartRates"][0];
    assert_eq!(written["record_time"], "2014-09-16 15:52:01+00");
    let back = reply(
        wrapper("human.heart_rates.daily", &["2014-09-16"])
            .send()
            .await
            .unwrap(),
    )
    .await
    .json();
    assert_eq!(back["heartRates"][0]["code"], written["code"]);
    assert_eq!(back["heartRates"][0]["value"], 90.0);
}

/// ZivaCare's Android SDK: v1 paths, the profile, and `setData`'s body,
/// `{"op", "data": [{"user_code", "source", …}]}` with every value a string.
#[tokio::test]
async fn the_android_sdks_requests_are_answered() {
    let w = &world().await;
    let token = w.mint("droid@example.com", &["garmin"]).await;
    let login = w
        .post(
            "/oauth/v2/get-access-token",
            "application/json",
            json!({ "specialToken": token, "clientSecret": SECRET }).to_string(),
        )
        .await
        .json();
    let (access, user_code) = (
        login["access_token"].as_str().unwrap(),
        login["ziva_user_code"].as_str().unwrap(),
    );
    let v1 = |path: &str| format!("/api/v1/human/{path}?access_token={access}");
    let profile = w.get(&v1("profile")).await.json();
    assert_eq!(profile["user_code"], user_code);
    let insert = json!({
        "op": "insert",
        "data": [{
            "user_code": user_code, "source": "fitbit",
            "start_time": "2014-09-16T15:52:01+0000", "end_time": "2014-09-16T15:55:01+0000",
            "type": "jogging", "duration": "3", "distance": "1.1", "steps": "30", "calories": "100",
            "time_zone": "Europe/Bucharest",
        }],
    });
    let r = w
        .http
        .post(w.url(&v1("activities")))
        .json(&insert)
        .send()
        .await
        .unwrap();
    let r = reply(r).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let written = r.json()["activities"][0].clone();
    assert_eq!(written["start_time"], "2014-09-16 15:52:01+00");
    assert_eq!(written["type"], "jogging");
    let code = written["code"].as_str().unwrap();
    let back = w.get(&v1(&format!("activities/{code}"))).await.json();
    assert_eq!(back["distance"], "1.1", "kept as sent");
    // An update by code.
    let update = json!({ "op": "update", "data": [{ "user_code": user_code, "source": "fitbit", "code": code, "calories": "120" }] });
    let r = reply(
        w.http
            .post(w.url(&v1("activities")))
            .json(&update)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let back = w.get(&v1(&format!("activities/{code}"))).await.json();
    assert_eq!(
        (back["calories"].as_str(), back["type"].as_str()),
        (Some("120"), Some("jogging"))
    );
    assert!(back["updated_at"].is_string());
    // A profile update.
    let r = reply(
        w.http
            .post(w.url(&v1("profile")))
            .json(&json!({ "op": "update", "data": [{ "user_code": user_code, "gender": "f" }] }))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((r.status, r.json()["gender"].as_str()), (200, Some("f")));
    assert_eq!(w.get(&v1("profile")).await.json()["gender"], "f");
}

#[tokio::test]
async fn writes_are_refused_whole_with_a_clear_error_and_seen_by_their_user_only() {
    let w = &world().await;
    let ann = w.reader("ann@example.com", &[]).await;
    let bob = w.reader("bob@example.com", &[]).await;
    let write = |token: &str, body: Value, ct: &'static str| {
        let url = w.url(&format!("/api/v2/human/weights?access_token={token}"));
        let http = w.http.clone();
        async move {
            reply(
                http.post(url)
                    .header("content-type", ct)
                    .body(body.to_string())
                    .send()
                    .await
                    .unwrap(),
            )
            .await
        }
    };
    let good = json!({ "source": "app", "value": 70.5, "unit": "kg", "record_time": "2016-01-01T08:00:00Z" });
    let bob_code = w
        .get(&format!("/api/v2/human/profile?access_token={bob}"))
        .await
        .json()["user_code"]
        .clone();
    let json_ct = "application/json";
    for (body, ct, status, code) in [
        (
            json!({ "op": "insert", "data": [good.clone(), { "value": 1 }] }),
            json_ct,
            400,
            "invalid_request",
        ),
        (
            json!({ "op": "insert", "data": [{ "source": "app", "value": "heavy", "record_time": "2016-01-01T08:00:00Z" }] }),
            json_ct,
            400,
            "invalid_request",
        ),
        (
            json!({ "op": "insert", "data": [{ "source": "app", "record_time": "soon" }] }),
            json_ct,
            400,
            "invalid_request",
        ),
        (
            json!({ "op": "insert", "data": [{ "user_code": bob_code, "source": "app", "record_time": "2016-01-01T08:00:00Z" }] }),
            json_ct,
            403,
            "forbidden",
        ),
        (
            json!({ "op": "insert", "data": [{ "code": "mine", "source": "app", "record_time": "2016-01-01T08:00:00Z" }] }),
            json_ct,
            400,
            "invalid_request",
        ),
        (
            json!({ "op": "upsert", "data": [good.clone()] }),
            json_ct,
            400,
            "invalid_request",
        ),
        (
            json!({ "op": "update", "data": [{ "code": "nosuch", "value": 1 }] }),
            json_ct,
            404,
            "not_found",
        ),
        (json!([good.clone()]), json_ct, 400, "invalid_request"),
        (
            good.clone(),
            "application/x-www-form-urlencoded",
            415,
            "unsupported_media_type",
        ),
    ] {
        let r = write(&ann, body.clone(), ct).await;
        assert_eq!(
            (r.status, r.json()["code"].as_str()),
            (status, Some(code)),
            "{body}: {}",
            r.text
        );
    }
    assert_eq!(
        w.count("records"),
        0,
        "a refused write stores nothing, not even its good records"
    );
    let r = write(&ann, good.clone(), json_ct).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        w.get(&format!("/api/v2/human/weights?access_token={ann}"))
            .await
            .json()["total"],
        1
    );
    assert_eq!(
        w.get(&format!("/api/v2/human/weights?access_token={bob}"))
            .await
            .json()["total"],
        0
    );
    assert_eq!(write("tok_SENTINEL_nope", good, json_ct).await.status, 401);
}
