//! The data API, against the sandbox over real HTTP: every documented type
//! read four ways (a page, one record by its code, a day, a period) and
//! written, paging to the end as a stream, the unit systems, both versions.

mod common;

use common::*;
use futures_util::TryStreamExt;
use zivacare::{ApiVersion, DataType, Day, Error, Query, Record, UnitSystem};

/// Every source of the sandbox: between them, every type.
const ALL_SOURCES: &[&str] = &[
    "fitbit",
    "garmin",
    "oura",
    "withings",
    "omron",
    "quest",
    "applewatch",
    "strava",
    "myfitnesspal",
    "23andme",
];

fn day(s: &str) -> Day {
    s.parse().unwrap()
}

#[tokio::test]
async fn every_type_reads_four_ways() {
    let sb = sandbox().await;
    let (_, user) = connected(&sb, "all@example.com", ALL_SOURCES).await;
    for kind in DataType::ALL.into_iter().filter(|t| t.is_list()) {
        let page = user.page(kind, Query::new()).await.unwrap();
        assert!(page.total > 0, "{kind}: no sample readings");
        assert_eq!(
            page.records.len() as u64,
            page.total.min(10),
            "{kind}: ZivaCare's default limit is 10"
        );
        let latest = &page.records[0];
        let code = latest.code.clone().expect("a code");
        assert!(
            latest.source.is_some() && latest.user_code.is_some(),
            "{kind}: {latest:?}"
        );
        // One record by its code is the record of the list.
        assert_eq!(&user.record(kind, &code).await.unwrap(), latest, "{kind}");
        // Its day holds it; a period of that day and the one before too.
        let time = latest
            .record_time
            .clone()
            .or_else(|| {
                latest
                    .fields
                    .get("end_time")
                    .and_then(|v| v.as_str())
                    .map(str::to_owned)
            })
            .or_else(|| {
                latest
                    .fields
                    .get("start_time")
                    .and_then(|v| v.as_str())
                    .map(str::to_owned)
            })
            .unwrap_or_else(|| panic!("{kind}: no time in {latest:?}"));
        let when = day(&time[..10]);
        let daily = user.day(kind, when).await.unwrap();
        assert!(
            daily.records.iter().any(|r| r.code == latest.code),
            "{kind}: {time}"
        );
        let before = Day::from_unix(when.unix() - 86_400);
        let period = user
            .period(kind, before, when, Query::new().limit(200))
            .await
            .unwrap();
        assert!(period.total >= daily.total, "{kind}");
        assert!(
            period.records.iter().any(|r| r.code == latest.code),
            "{kind}"
        );
    }
    // Fields particular to a type are kept as they come.
    let bp = &user
        .page(DataType::BloodPressures, Query::new().limit(1))
        .await
        .unwrap()
        .records[0];
    for field in ["systolic", "diastolic", "heart_rate"] {
        assert!(bp.fields[field].is_number(), "{field}: {bp:?}");
    }
    assert_eq!(bp.unit.as_deref(), Some("mmHg"));
    let sleep = &user
        .page(DataType::Sleeps, Query::new().limit(1))
        .await
        .unwrap()
        .records[0];
    for field in [
        "day",
        "start_time",
        "end_time",
        "time_asleep",
        "time_in_bed",
        "efficiency",
        "main_sleep",
    ] {
        assert!(sleep.fields.contains_key(field), "{field}: {sleep:?}");
    }
    // The profile is one object.
    let profile = user.profile().await.unwrap();
    assert_eq!(profile.fields["email"], "all@example.com");
    assert!(matches!(
        user.page(DataType::Profile, Query::new()).await,
        Err(Error::InvalidInput { .. })
    ));
}

#[tokio::test]
async fn every_type_is_written_and_read_back_by_its_user_only() {
    let sb = sandbox().await;
    let (_, ann) = connected(&sb, "ann@example.com", &[]).await;
    let (_, bob) = connected(&sb, "bob@example.com", &[]).await;
    for kind in DataType::ALL.into_iter().filter(|t| t.is_list()) {
        assert_eq!(
            ann.page(kind, Query::new()).await.unwrap().total,
            0,
            "{kind}"
        );
        let written = ann
            .insert(
                kind,
                &[Record::new("my-app")
                    .record_time("2016-01-01T15:52:01+0000")
                    .value(42.0)
                    .unit("x")
                    .field("note", "written by a test")],
            )
            .await
            .unwrap();
        assert_eq!(written.records.len(), 1, "{kind}");
        let code = written.records[0]
            .code
            .clone()
            .expect("ZivaCare gives it its code");
        let back = ann.record(kind, &code).await.unwrap();
        assert_eq!(
            back.record_time.as_deref(),
            Some("2016-01-01 15:52:01+00"),
            "{kind}: as ZivaCare writes times"
        );
        assert_eq!(
            (back.value, back.fields["note"].as_str()),
            (Some(42.0), Some("written by a test"))
        );
        assert!(back.created_at.is_some());
        assert_eq!(
            ann.day(kind, day("2016-01-01")).await.unwrap().total,
            1,
            "{kind}"
        );
        // Changed by its code.
        ann.update(kind, &[Record::new("my-app").code(&code).value(43.0)])
            .await
            .unwrap();
        let changed = ann.record(kind, &code).await.unwrap();
        assert_eq!(
            (changed.value, changed.fields["note"].as_str()),
            (Some(43.0), Some("written by a test"))
        );
        assert!(changed.updated_at.is_some(), "{kind}");
        // Another user never sees it.
        assert_eq!(
            bob.page(kind, Query::new()).await.unwrap().total,
            0,
            "{kind}"
        );
        let err = bob.record(kind, &code).await.unwrap_err();
        assert_eq!(err.status(), Some(404), "{kind}: {err}");
    }
    // What cannot be written is refused before anything is sent, or by ZivaCare.
    let no_code = ann
        .update(DataType::Weights, &[Record::new("my-app").value(1.0)])
        .await;
    assert!(matches!(no_code, Err(Error::InvalidInput { .. })));
    let no_source = ann
        .insert(DataType::Weights, &[Record::default().value(1.0)])
        .await;
    assert!(matches!(no_source, Err(Error::InvalidInput { .. })));
    let bad_time = ann
        .insert(
            DataType::Weights,
            &[Record::new("my-app").record_time("yesterday").value(1.0)],
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&bad_time, Error::Api { status: 400, .. }),
        "{bad_time:?}"
    );
    let unknown = ann
        .update(
            DataType::Weights,
            &[Record::new("my-app").code("no-such-code").value(1.0)],
        )
        .await
        .unwrap_err();
    assert_eq!(unknown.status(), Some(404));
    // A sample reading can be changed too, and stays changed.
    let (_, cy) = connected(&sb, "cy@example.com", &["withings"]).await;
    let sample = cy
        .page(DataType::Weights, Query::new().limit(1))
        .await
        .unwrap()
        .records
        .remove(0);
    cy.update(
        DataType::Weights,
        &[Record::new("withings")
            .code(sample.code.clone().unwrap())
            .value(80.0)],
    )
    .await
    .unwrap();
    let after = cy
        .page(DataType::Weights, Query::new().limit(1))
        .await
        .unwrap();
    assert_eq!((after.total, after.records[0].value), (30, Some(80.0)));
}

#[tokio::test]
async fn all_pages_stream_to_the_end_in_order() {
    let sb = sandbox().await;
    let (_, user) = connected(&sb, "pages@example.com", &["fitbit", "garmin"]).await;
    let first = user.page(DataType::HeartRates, Query::new()).await.unwrap();
    assert_eq!(first.total, 60, "30 days from each of two sources");
    for limit in [7, 50, 200] {
        let all: Vec<Record> = user
            .all(DataType::HeartRates, Query::new().limit(limit))
            .try_collect()
            .await
            .unwrap();
        assert_eq!(all.len(), 60, "limit {limit}");
        let codes: std::collections::BTreeSet<_> = all.iter().map(|r| r.code.clone()).collect();
        assert_eq!(codes.len(), 60, "no record twice");
        let times: Vec<_> = all.iter().map(|r| r.record_time.clone().unwrap()).collect();
        let mut sorted = times.clone();
        sorted.sort_by(|a, b| b.cmp(a));
        assert_eq!(times, sorted, "newest first");
    }
    // Within a window of days.
    let window: Vec<Record> = user
        .all(
            DataType::Steps,
            Query::new()
                .start(day("2026-10-25"))
                .end(day("2026-10-31"))
                .limit(4),
        )
        .try_collect()
        .await
        .unwrap();
    assert_eq!(window.len(), 14, "7 days from each of two sources");
    // An empty list ends at once; a refused token ends with its error.
    let none: Vec<Record> = user
        .all(DataType::Meals, Query::new())
        .try_collect()
        .await
        .unwrap();
    assert!(none.is_empty());
    let client = client(&sb.url);
    let refused: Result<Vec<Record>, _> = client
        .user(ACCESS_SENTINEL)
        .all(DataType::Steps, Query::new())
        .try_collect()
        .await;
    let err = refused.unwrap_err();
    assert!(matches!(err, Error::AccessTokenRejected { .. }), "{err:?}");
    assert_eq!(err.code(), "access_token_rejected");
    assert!(!format!("{err} {err:?}").contains(ACCESS_SENTINEL));
}

#[tokio::test]
async fn unit_systems_convert_what_zivacare_converts() {
    let sb = sandbox().await;
    let (_, user) = connected(&sb, "units@example.com", &["withings", "quest", "strava"]).await;
    let first = |kind, units| {
        let user = user.clone().unit_system(units);
        async move {
            user.page(kind, Query::new().limit(1))
                .await
                .unwrap()
                .records
                .remove(0)
        }
    };
    let kg = first(DataType::Weights, UnitSystem::Metric).await;
    assert_eq!(kg.unit.as_deref(), Some("kg"));
    for units in [UnitSystem::Us, UnitSystem::Uk] {
        let lb = first(DataType::Weights, units).await;
        assert_eq!(
            (lb.unit.as_deref(), &lb.code),
            (Some("pounds"), &kg.code),
            "{units:?}"
        );
        let (kg, lb) = (kg.value.unwrap(), lb.value.unwrap());
        assert!(
            (lb - kg * 2.204_622_6).abs() <= 0.06,
            "{kg} kg is not {lb} pounds"
        );
        let glucose = first(DataType::BloodGlucoses, units).await;
        assert_eq!(glucose.unit.as_deref(), Some("mg/dL"));
        let run = first(DataType::Activities, units).await;
        assert_eq!(run.unit.as_deref(), Some("mi"));
    }
    assert_eq!(
        first(DataType::Heights, UnitSystem::Us)
            .await
            .unit
            .as_deref(),
        Some("inches")
    );
    assert_eq!(
        first(DataType::Heights, UnitSystem::Uk)
            .await
            .unit
            .as_deref(),
        Some("cm")
    );
    assert_eq!(
        first(DataType::BloodGlucoses, UnitSystem::Metric)
            .await
            .unit
            .as_deref(),
        Some("mmol/L")
    );
    // The client's own default applies to every user.
    let us = zivacare::Client::builder(
        zivacare_sandbox::DEMO_CLIENT_ID,
        zivacare_sandbox::DEMO_CLIENT_SECRET,
    )
    .local(&sb.url)
    .unit_system(UnitSystem::Us)
    .build()
    .unwrap();
    let token = sb
        .mint(
            zivacare_sandbox::DEMO_CLIENT_ID,
            "us@example.com",
            &["withings"],
        )
        .await
        .unwrap();
    let conn = us.exchange(token).await.unwrap();
    let w = us
        .user(conn.access_token)
        .page(DataType::Weights, Query::new().limit(1))
        .await
        .unwrap();
    assert_eq!(w.records[0].unit.as_deref(), Some("pounds"));
}

#[tokio::test]
async fn both_versions_of_the_api_answer_alike() {
    let sb = sandbox().await;
    let (_, user) = connected(&sb, "v1@example.com", &["fitbit"]).await;
    let v2 = user
        .page(DataType::Steps, Query::new().limit(3))
        .await
        .unwrap();
    let v1 = user
        .clone()
        .api_version(ApiVersion::V1)
        .page(DataType::Steps, Query::new().limit(3))
        .await
        .unwrap();
    assert_eq!(v1, v2);
}
