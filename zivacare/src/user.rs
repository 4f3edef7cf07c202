//! The data API for one user's access token: a page of a type's records, all
//! of them as a [`Stream`], one by its code, a day's, a period's, writes, and
//! the profile. Reads are retried (bounded) on outages; writes are sent once.

use futures_util::Stream;
use reqwest::header::{ACCEPT, CACHE_CONTROL};
use reqwest::{RequestBuilder, Url};
use serde_json::{json, Value};

use crate::client::{at, Client};
use crate::data::{DataType, Day, Page, Profile, Query, Record, UnitSystem};
use crate::error::Error;
use crate::http::{send_once, send_read, Answer, Call};
use crate::secret::AccessToken;

/// The version of the data API in its paths (`/api/v2/human/…`). ZivaCare
/// serves both; its examples use v2.
///
/// ```
/// assert_eq!(zivacare::ApiVersion::default(), zivacare::ApiVersion::V2);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ApiVersion {
    /// `/api/v1/`.
    V1,
    /// `/api/v2/` (the default).
    #[default]
    V2,
}

impl ApiVersion {
    fn segment(self) -> &'static str {
        match self {
            ApiVersion::V1 => "v1",
            ApiVersion::V2 => "v2",
        }
    }
}

/// The page size of [`User::all`] when the query sets none.
const STREAM_PAGE: u32 = 50;

/// One user's data at ZivaCare, by their access token: made with
/// [`Client::user`]. Cheap to clone.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let sandbox = zivacare_sandbox::spawn_demo().await?;
/// # let client = sandbox.client();
/// # let token = sandbox.mint("demo-client", "ann@example.com", &["fitbit", "withings"]).await?;
/// # let the_stored_access_token = client.exchange(token).await?.access_token;
/// use futures_util::TryStreamExt;
/// use zivacare::{DataType, Query, Record, UnitSystem};
///
/// let user = client.user(the_stored_access_token).unit_system(UnitSystem::Us);
/// let today = user.day(DataType::Steps, "2016-01-01".parse().unwrap()).await?;
/// let every_weight: Vec<Record> = user.all(DataType::Weights, Query::new()).try_collect().await?;
/// user.insert(DataType::Weights, &[Record::new("my-app")
///     .record_time("2016-01-01T08:00:00+0000").value(72.5).unit("kg")]).await?;
/// assert_eq!((today.total, every_weight.len()), (0, 30));
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct User {
    client: Client,
    token: AccessToken,
    user_code: Option<String>,
    unit_system: UnitSystem,
    version: ApiVersion,
}

impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("access_token", &self.token)
            .field("user_code", &self.user_code)
            .field("unit_system", &self.unit_system)
            .field("version", &self.version)
            .finish()
    }
}

/// The `{"<listKey>": [...], "total": N}` of a list answer.
fn page_of(kind: DataType, value: Value) -> Result<Page, Error> {
    let list =
        value
            .get(kind.list_key())
            .and_then(Value::as_array)
            .ok_or(Error::InvalidResponse {
                problem: "the list's key is missing",
            })?;
    let records = list
        .iter()
        .map(|r| serde_json::from_value::<Record>(r.clone()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| Error::InvalidResponse {
            problem: "a record is malformed",
        })?;
    let total = value
        .get("total")
        .and_then(Value::as_u64)
        .unwrap_or(records.len() as u64);
    Ok(Page { records, total })
}

/// The data API of a user, from the client (here rather than in `client`, so
/// that `client` does not need this module).
impl Client {
    /// The data API for the user of `access_token`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let sandbox = zivacare_sandbox::spawn_demo().await?;
    /// # let client = sandbox.client();
    /// # let token = sandbox.mint("demo-client", "ann@example.com", &[]).await?;
    /// # let stored_token = client.exchange(token).await?.access_token;
    /// let user = client.user(stored_token);
    /// let profile = user.profile().await?;
    /// assert_eq!(profile.fields["email"], "ann@example.com");
    /// # Ok(()) }
    /// ```
    pub fn user(&self, access_token: impl Into<AccessToken>) -> User {
        User::new(self.clone(), access_token.into())
    }
}

impl User {
    pub(crate) fn new(client: Client, token: AccessToken) -> User {
        let unit_system = client.inner.unit_system;
        User {
            client,
            token,
            user_code: None,
            unit_system,
            version: ApiVersion::V2,
        }
    }

    /// With the user's `ziva_user_code`, which writes then carry in each
    /// record (`user_code`), as ZivaCare's own SDKs send them.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let sandbox = zivacare_sandbox::spawn_demo().await?;
    /// # let token = sandbox.mint("demo-client", "ann@example.com", &[]).await?;
    /// # let connection = sandbox.client().exchange(token).await?;
    /// # let user = sandbox.client().user(connection.access_token);
    /// use zivacare::{DataType, Query, Record};
    /// let user = user.user_code(connection.ziva_user_code.clone());
    /// let written = user.insert(DataType::Steps, &[Record::new("my-app")
    ///     .record_time("2016-01-01T20:00:00Z").value(9000.0).unit("steps")]).await?;
    /// assert_eq!(written.records[0].user_code.as_deref(), Some(connection.ziva_user_code.as_str()));
    /// # Ok(()) }
    /// ```
    pub fn user_code(mut self, code: impl Into<String>) -> User {
        self.user_code = Some(code.into());
        self
    }

    /// In these units (`X-Unit-System`), instead of the client's.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let sandbox = zivacare_sandbox::spawn_demo().await?;
    /// # let token = sandbox.mint("demo-client", "ann@example.com", &["withings"]).await?;
    /// # let connection = sandbox.client().exchange(token).await?;
    /// # let user = sandbox.client().user(connection.access_token);
    /// use zivacare::{DataType, Query, Record};
    /// let metric = user.page(DataType::Weights, Query::new().limit(1)).await?;
    /// let us = user.unit_system(zivacare::UnitSystem::Us).page(DataType::Weights, Query::new().limit(1)).await?;
    /// assert_eq!((metric.records[0].unit.as_deref(), us.records[0].unit.as_deref()), (Some("kg"), Some("pounds")));
    /// # Ok(()) }
    /// ```
    pub fn unit_system(mut self, units: UnitSystem) -> User {
        self.unit_system = units;
        self
    }

    /// At this version of the API (default v2).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let sandbox = zivacare_sandbox::spawn_demo().await?;
    /// # let token = sandbox.mint("demo-client", "ann@example.com", &["fitbit"]).await?;
    /// # let connection = sandbox.client().exchange(token).await?;
    /// # let user = sandbox.client().user(connection.access_token);
    /// use zivacare::{DataType, Query, Record};
    /// let v1 = user.clone().api_version(zivacare::ApiVersion::V1);
    /// assert_eq!(v1.page(DataType::Steps, Query::new()).await?, user.page(DataType::Steps, Query::new()).await?);
    /// # Ok(()) }
    /// ```
    pub fn api_version(mut self, version: ApiVersion) -> User {
        self.version = version;
        self
    }

    fn url(&self, kind: DataType, rest: &[&str]) -> Url {
        let mut segments = vec!["api", self.version.segment(), "human", kind.as_str()];
        segments.extend_from_slice(rest);
        at(&self.client.inner.api, &segments)
    }

    /// A request with what every data request carries: the access token in
    /// the query (as ZivaCare documents it), the unit system, and no cache.
    fn request(&self, method: reqwest::Method, url: &Url, query: &Query) -> RequestBuilder {
        let mut pairs = vec![("access_token", self.token.expose().to_owned())];
        pairs.extend(query.pairs());
        self.client
            .inner
            .http
            .request(method, url.clone())
            .query(&pairs)
            .header(ACCEPT, "application/json")
            .header(CACHE_CONTROL, "no-cache")
            .header("X-Unit-System", self.unit_system.as_str())
    }

    async fn get(&self, url: Url, query: Query) -> Result<Answer, Error> {
        let retries = self.client.inner.read_retries;
        let build = || self.request(reqwest::Method::GET, &url, &query);
        send_read(build, retries, &[self.token.expose()]).await
    }

    fn list_only(kind: DataType) -> Result<(), Error> {
        if kind.is_list() {
            Ok(())
        } else {
            Err(Error::InvalidInput {
                message: "the profile is not a list: read it with profile()".into(),
            })
        }
    }

    /// One page of `kind`'s records, newest first, with the query's `limit`
    /// (ZivaCare's default: 10), `offset`, `start` and `end`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let sandbox = zivacare_sandbox::spawn_demo().await?;
    /// # let token = sandbox.mint("demo-client", "ann@example.com", &["fitbit"]).await?;
    /// # let connection = sandbox.client().exchange(token).await?;
    /// # let user = sandbox.client().user(connection.access_token);
    /// use zivacare::{DataType, Query, Record};
    /// let page = user.page(DataType::HeartRates, Query::new().limit(7).offset(7)).await?;
    /// assert_eq!((page.records.len(), page.total), (7, 30));
    /// # Ok(()) }
    /// ```
    pub async fn page(&self, kind: DataType, query: Query) -> Result<Page, Error> {
        User::list_only(kind)?;
        let answer = self.get(self.url(kind, &[]), query).await?;
        page_of(kind, answer.json()?)
    }

    /// Every record of `kind` (within the query's `start` and `end`), page
    /// after page (the query's `limit` per page, 50 without one) until the
    /// list's total: a [`Stream`] that ends after the last record, or with the
    /// first error.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let sandbox = zivacare_sandbox::spawn_demo().await?;
    /// # let token = sandbox.mint("demo-client", "ann@example.com", &["fitbit"]).await?;
    /// # let connection = sandbox.client().exchange(token).await?;
    /// # let user = sandbox.client().user(connection.access_token);
    /// use zivacare::{DataType, Query, Record};
    /// use futures_util::TryStreamExt;
    /// let all: Vec<Record> = user.all(DataType::Steps, Query::new().limit(8)).try_collect().await?;
    /// assert_eq!(all.len(), 30);
    /// # Ok(()) }
    /// ```
    pub fn all(
        &self,
        kind: DataType,
        query: Query,
    ) -> impl Stream<Item = Result<Record, Error>> + Send + 'static {
        struct State {
            user: User,
            query: Query,
            offset: u32,
            buffer: std::vec::IntoIter<Record>,
            done: bool,
        }
        let limit = query.get_limit().unwrap_or(STREAM_PAGE).max(1);
        let state = State {
            user: self.clone(),
            offset: query.get_offset().unwrap_or(0),
            query: query.limit(limit),
            buffer: Vec::new().into_iter(),
            done: false,
        };
        futures_util::stream::unfold(state, move |mut s| async move {
            loop {
                if let Some(record) = s.buffer.next() {
                    return Some((Ok(record), s));
                }
                if s.done {
                    return None;
                }
                match s.user.page(kind, s.query.offset(s.offset)).await {
                    Ok(page) => {
                        let got = page.records.len() as u32;
                        s.offset += got;
                        s.done = got == 0 || u64::from(s.offset) >= page.total;
                        s.buffer = page.records.into_iter();
                    }
                    Err(e) => {
                        s.done = true;
                        return Some((Err(e), s));
                    }
                }
            }
        })
    }

    /// One record of `kind`, by its code.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let sandbox = zivacare_sandbox::spawn_demo().await?;
    /// # let token = sandbox.mint("demo-client", "ann@example.com", &["fitbit"]).await?;
    /// # let connection = sandbox.client().exchange(token).await?;
    /// # let user = sandbox.client().user(connection.access_token);
    /// use zivacare::{DataType, Query, Record};
    /// let latest = user.page(DataType::Steps, Query::new().limit(1)).await?.records.remove(0);
    /// let again = user.record(DataType::Steps, latest.code.as_deref().unwrap()).await?;
    /// assert_eq!(again, latest);
    /// # Ok(()) }
    /// ```
    pub async fn record(&self, kind: DataType, code: &str) -> Result<Record, Error> {
        User::list_only(kind)?;
        let answer = self.get(self.url(kind, &[code]), Query::new()).await?;
        let value = answer.json()?;
        // A record, or (as a list answers) a list of one.
        let one = match value.get(kind.list_key()).and_then(Value::as_array) {
            Some(list) => list.first().cloned().unwrap_or(Value::Null),
            None => value,
        };
        serde_json::from_value(one).map_err(|_| Error::InvalidResponse {
            problem: "the record is malformed",
        })
    }

    /// The records of `kind` measured on `day`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let sandbox = zivacare_sandbox::spawn_demo().await?;
    /// # let token = sandbox.mint("demo-client", "ann@example.com", &["fitbit"]).await?;
    /// # let connection = sandbox.client().exchange(token).await?;
    /// # let user = sandbox.client().user(connection.access_token);
    /// use zivacare::{DataType, Query, Record};
    /// let day = user.day(DataType::Steps, "2026-10-31".parse()?).await?;
    /// assert_eq!(day.total, 1);
    /// # Ok(()) }
    /// ```
    pub async fn day(&self, kind: DataType, day: Day) -> Result<Page, Error> {
        self.day_with(kind, day, Query::new()).await
    }

    /// [`day`](User::day), with the query's `limit` and `offset`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let sandbox = zivacare_sandbox::spawn_demo().await?;
    /// # let token = sandbox.mint("demo-client", "ann@example.com", &["fitbit"]).await?;
    /// # let connection = sandbox.client().exchange(token).await?;
    /// # let user = sandbox.client().user(connection.access_token);
    /// use zivacare::{DataType, Query, Record};
    /// let day = user.day_with(DataType::Steps, "2026-10-31".parse()?, Query::new().limit(5)).await?;
    /// assert!(day.records.len() <= 5);
    /// # Ok(()) }
    /// ```
    pub async fn day_with(&self, kind: DataType, day: Day, query: Query) -> Result<Page, Error> {
        User::list_only(kind)?;
        let day = day.to_string();
        let answer = self.get(self.url(kind, &["daily", &day]), query).await?;
        page_of(kind, answer.json()?)
    }

    /// The records of `kind` measured from `start` to `end`, both days
    /// included, with the query's `limit` and `offset`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let sandbox = zivacare_sandbox::spawn_demo().await?;
    /// # let token = sandbox.mint("demo-client", "ann@example.com", &["fitbit"]).await?;
    /// # let connection = sandbox.client().exchange(token).await?;
    /// # let user = sandbox.client().user(connection.access_token);
    /// use zivacare::{DataType, Query, Record};
    /// let week = user.period(DataType::Steps, "2026-10-25".parse()?, "2026-10-31".parse()?, Query::new()).await?;
    /// assert_eq!(week.total, 7);
    /// # Ok(()) }
    /// ```
    pub async fn period(
        &self,
        kind: DataType,
        start: Day,
        end: Day,
        query: Query,
    ) -> Result<Page, Error> {
        User::list_only(kind)?;
        let (start, end) = (start.to_string(), end.to_string());
        let url = self.url(kind, &["period", &start, &end]);
        let answer = self.get(url, query).await?;
        page_of(kind, answer.json()?)
    }

    /// The user's profile.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let sandbox = zivacare_sandbox::spawn_demo().await?;
    /// # let token = sandbox.mint("demo-client", "ann@example.com", &["fitbit"]).await?;
    /// # let connection = sandbox.client().exchange(token).await?;
    /// # let user = sandbox.client().user(connection.access_token);
    /// use zivacare::{DataType, Query, Record};
    /// let profile = user.profile().await?;
    /// assert_eq!(profile.fields["name"], "ann");
    /// # Ok(()) }
    /// ```
    pub async fn profile(&self) -> Result<Profile, Error> {
        let answer = self
            .get(self.url(DataType::Profile, &[]), Query::new())
            .await?;
        serde_json::from_value(answer.json()?).map_err(|_| Error::InvalidResponse {
            problem: "the profile is not an object",
        })
    }

    /// Writes new records of `kind` (`{"op": "insert", "data": [...]}`, as
    /// ZivaCare's SDKs send them); each needs its `source`. Sent once. Gives
    /// the records as ZivaCare stored them, with their codes.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let sandbox = zivacare_sandbox::spawn_demo().await?;
    /// # let token = sandbox.mint("demo-client", "ann@example.com", &[]).await?;
    /// # let connection = sandbox.client().exchange(token).await?;
    /// # let user = sandbox.client().user(connection.access_token);
    /// use zivacare::{DataType, Query, Record};
    /// let written = user.insert(DataType::BloodPressures, &[Record::new("my-app")
    ///     .record_time("2016-01-01T08:00:00+0000")
    ///     .field("systolic", 120).field("diastolic", 79).unit("mmHg")]).await?;
    /// let code = written.records[0].code.clone().unwrap();
    /// assert_eq!(user.record(DataType::BloodPressures, &code).await?.fields["systolic"], 120);
    /// # Ok(()) }
    /// ```
    pub async fn insert(&self, kind: DataType, records: &[Record]) -> Result<Page, Error> {
        self.write(kind, "insert", records).await
    }

    /// Changes records of `kind` (`{"op": "update", …}`), each named by its
    /// `code`. Sent once.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let sandbox = zivacare_sandbox::spawn_demo().await?;
    /// # let token = sandbox.mint("demo-client", "ann@example.com", &["fitbit"]).await?;
    /// # let connection = sandbox.client().exchange(token).await?;
    /// # let user = sandbox.client().user(connection.access_token);
    /// use zivacare::{DataType, Query, Record};
    /// let latest = user.page(DataType::Steps, Query::new().limit(1)).await?.records.remove(0);
    /// let code = latest.code.unwrap();
    /// user.update(DataType::Steps, &[Record::new("fitbit").code(code.as_str()).value(12_000.0)]).await?;
    /// assert_eq!(user.record(DataType::Steps, &code).await?.value, Some(12_000.0));
    /// # Ok(()) }
    /// ```
    pub async fn update(&self, kind: DataType, records: &[Record]) -> Result<Page, Error> {
        if records.iter().any(|r| r.code.is_none()) {
            return Err(Error::InvalidInput {
                message: "every record to update needs its code".into(),
            });
        }
        self.write(kind, "update", records).await
    }

    async fn write(&self, kind: DataType, op: &str, records: &[Record]) -> Result<Page, Error> {
        User::list_only(kind)?;
        if records.is_empty() {
            return Err(Error::InvalidInput {
                message: "no record to write".into(),
            });
        }
        if records.iter().any(|r| r.source.is_none()) {
            return Err(Error::InvalidInput {
                message: "every record needs its source".into(),
            });
        }
        let data: Vec<Record> = records
            .iter()
            .map(|r| Record {
                user_code: r.user_code.clone().or_else(|| self.user_code.clone()),
                ..r.clone()
            })
            .collect();
        let url = self.url(kind, &[]);
        let request = self
            .request(reqwest::Method::POST, &url, &Query::new())
            .json(&json!({ "op": op, "data": data }));
        let answer = send_once(request, Call::Data, &[self.token.expose()]).await?;
        if answer.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Page::default());
        }
        page_of(kind, answer.json()?)
    }
}
