//! Exactly one exchange per specialToken, however often it is posted and on
//! however many instances: the page's SDK retries its forward after a 5xx, and
//! a specialToken exchanged twice is refused the second time, which would turn
//! a success into a failure.
//!
//! [`exchange_once`] holds the logic: it claims the token in a [`Ledger`]
//! (under a random claim id) before ZivaCare is called, waits for a claim held
//! by another request and answers with its outcome, takes over a claim its
//! holder abandoned, and ends its own claim one way: completed (with the
//! connection, in one write), released (ZivaCare did not exchange the token,
//! so a retry may) or refused (ZivaCare refused it: a repeat is answered the
//! same without asking again). The [`Ledger`] is the application's record of
//! claims, over its database; each of its operations is one atomic change of
//! one row, and those that end a claim change nothing unless the claim is
//! still the caller's ([`LedgerError::Fenced`]). [`MemoryLedger`] is one for
//! a single process.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::client::{Client, Connection};
use crate::error::Error;
use crate::secret::SpecialToken;

/// One request's claim on a specialToken: the token's hash (the token itself
/// is never stored), the user it is exchanged for, and a random id that only
/// this request knows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Claim {
    token_hash: String,
    client_user_id: String,
    id: String,
}

impl Claim {
    /// A fresh claim of `special_token` for `client_user_id`.
    ///
    /// ```
    /// use zivacare::{Claim, SpecialToken};
    /// let a = Claim::new(&SpecialToken::new("tok"), "ann");
    /// let b = Claim::new(&SpecialToken::new("tok"), "ann");
    /// assert_eq!(a.token_hash(), b.token_hash());
    /// assert_ne!(a.id(), b.id());
    /// assert!(!a.token_hash().contains("tok"));
    /// ```
    pub fn new(special_token: &SpecialToken, client_user_id: &str) -> Claim {
        let token_hash = Sha256::digest(special_token.expose().as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let id: String = (0..16)
            .map(|_| format!("{:02x}", rand::random::<u8>()))
            .collect();
        Claim {
            token_hash,
            client_user_id: client_user_id.to_owned(),
            id,
        }
    }

    /// The SHA-256 of the specialToken, hex: the key of the record.
    pub fn token_hash(&self) -> &str {
        &self.token_hash
    }

    /// The user the token is exchanged for.
    pub fn client_user_id(&self) -> &str {
        &self.client_user_id
    }

    /// This claim's random id: the ledger changes an entry only for the claim
    /// that holds it.
    pub fn id(&self) -> &str {
        &self.id
    }
}

/// An entry of the ledger, as another request left it.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use std::time::Duration;
/// use zivacare::{Claim, Claimed, Entry, Ledger, MemoryLedger, SpecialToken};
/// let (ledger, token) = (MemoryLedger::new(), SpecialToken::new("tok"));
/// ledger.claim(&Claim::new(&token, "ann"), Duration::from_secs(60)).await.unwrap();
/// let other = ledger.claim(&Claim::new(&token, "ann"), Duration::from_secs(60)).await.unwrap();
/// assert_eq!(other, Claimed::Held(Entry::Pending { client_user_id: "ann".into() }));
/// # }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Entry {
    /// Claimed and not ended yet (its holder is at ZivaCare).
    Pending {
        /// For this user.
        client_user_id: String,
    },
    /// Exchanged and stored.
    Exchanged {
        /// For this user.
        client_user_id: String,
        /// The user's code ZivaCare gave.
        ziva_user_code: String,
    },
    /// ZivaCare refused the token.
    Refused {
        /// For this user.
        client_user_id: String,
        /// ZivaCare's code.
        why: String,
    },
}

impl Entry {
    fn client_user_id(&self) -> &str {
        match self {
            Entry::Pending { client_user_id }
            | Entry::Exchanged { client_user_id, .. }
            | Entry::Refused { client_user_id, .. } => client_user_id,
        }
    }
}

/// What [`Ledger::claim`] did (see [`Entry`]'s example).
///
/// ```
/// assert_ne!(zivacare::Claimed::New, zivacare::Claimed::TakenOver);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Claimed {
    /// The token had no entry: it is this claim's now.
    New,
    /// The token's entry was a pending claim of the same user older than
    /// `stale_after` (its holder died): it is this claim's now.
    TakenOver,
    /// The token's entry is another request's (or ended): here it is.
    Held(Entry),
}

/// How the ledger failed. Its text goes to logs, never to a client.
///
/// ```
/// let e = zivacare::LedgerError::Fenced("taken over".into());
/// assert_eq!(e.to_string(), "the claim is no longer this one's: taken over");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum LedgerError {
    /// The claim is no longer the caller's (another request took it over):
    /// nothing was changed.
    Fenced(String),
    /// The database failed.
    Failed(String),
}

impl std::fmt::Display for LedgerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LedgerError::Fenced(what) => write!(f, "the claim is no longer this one's: {what}"),
            LedgerError::Failed(what) => write!(f, "the ledger failed: {what}"),
        }
    }
}

impl std::error::Error for LedgerError {}

/// The record of claims on specialTokens, over the application's database.
/// Each operation is one atomic change (a transaction, or one statement with
/// a condition); see [`MemoryLedger`] for the reference behaviour, and the
/// reference backend's `exchanges.rs` for one over SQLite and PostgreSQL.
///
/// A ledger is only called by [`exchange_once`]; this is what each call means:
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use std::time::Duration;
/// use zivacare::{Claim, Claimed, Connection, Ledger, LedgerError, MemoryLedger, SpecialToken};
///
/// let (ledger, token) = (MemoryLedger::new(), SpecialToken::new("tok"));
/// let stale = Duration::from_secs(20);
/// let mine = Claim::new(&token, "ann@example.com");
/// assert_eq!(ledger.claim(&mine, stale).await, Ok(Claimed::New));
/// // Another request's claim cannot end it; this one's can, once.
/// let theirs = Claim::new(&token, "ann@example.com");
/// assert!(matches!(ledger.release(&theirs).await, Err(LedgerError::Fenced(_))));
/// let connection = Connection {
///     ziva_user_code: "u1".into(), access_token: "acc".into(), name: "Ann".into(), email: String::new(),
/// };
/// ledger.complete(&mine, &connection).await.unwrap();
/// assert!(ledger.refuse(&mine, "used_token").await.is_err());
/// # }
/// ```
pub trait Ledger: Send + Sync + 'static {
    /// Records `claim` if its token has no entry, or takes over a pending
    /// entry of the same user whose claim is older than `stale_after` (by the
    /// database's clock); otherwise gives the entry as it is.
    fn claim(
        &self,
        claim: &Claim,
        stale_after: Duration,
    ) -> impl Future<Output = Result<Claimed, LedgerError>> + Send;

    /// Stores `connection` for the claim's user and marks the claim
    /// exchanged, in one transaction: both or neither, and neither
    /// ([`LedgerError::Fenced`]) unless the entry is still pending under this
    /// very claim.
    fn complete(
        &self,
        claim: &Claim,
        connection: &Connection,
    ) -> impl Future<Output = Result<(), LedgerError>> + Send;

    /// Removes the entry (ZivaCare did not exchange the token), if it is
    /// still pending under this claim; [`LedgerError::Fenced`] otherwise.
    fn release(&self, claim: &Claim) -> impl Future<Output = Result<(), LedgerError>> + Send;

    /// Marks the entry refused with ZivaCare's code `why`, if it is still
    /// pending under this claim; [`LedgerError::Fenced`] otherwise.
    fn refuse(
        &self,
        claim: &Claim,
        why: &str,
    ) -> impl Future<Output = Result<(), LedgerError>> + Send;
}

impl<L: Ledger> Ledger for Arc<L> {
    fn claim(
        &self,
        claim: &Claim,
        stale_after: Duration,
    ) -> impl Future<Output = Result<Claimed, LedgerError>> + Send {
        (**self).claim(claim, stale_after)
    }

    fn complete(
        &self,
        claim: &Claim,
        connection: &Connection,
    ) -> impl Future<Output = Result<(), LedgerError>> + Send {
        (**self).complete(claim, connection)
    }

    fn release(&self, claim: &Claim) -> impl Future<Output = Result<(), LedgerError>> + Send {
        (**self).release(claim)
    }

    fn refuse(
        &self,
        claim: &Claim,
        why: &str,
    ) -> impl Future<Output = Result<(), LedgerError>> + Send {
        (**self).refuse(claim, why)
    }
}

/// How long an exchanged connection's write is retried when the ledger
/// refuses it: ZivaCare has spent the token, so its access token must not be
/// lost to a passing failure.
///
/// ```
/// assert_eq!(zivacare::WRITE_BUDGET.as_secs(), 5);
/// ```
pub const WRITE_BUDGET: Duration = Duration::from_secs(5);
/// How often a request waits on another's claim of the same token.
const CLAIM_POLL: Duration = Duration::from_millis(25);

/// A claim older than this was left by a request that died mid-exchange: a
/// live one has finished, or given up, well before (its call to ZivaCare and
/// its write are both bounded).
///
/// ```
/// use std::time::Duration;
/// let client = zivacare::Client::builder("id", "secret").timeout(Duration::from_secs(10)).build().unwrap();
/// assert_eq!(zivacare::stale_after(&client), Duration::from_secs(20));
/// ```
pub fn stale_after(client: &Client) -> Duration {
    client.timeout() + WRITE_BUDGET + Duration::from_secs(5)
}

/// What [`exchange_once`] gives (see its example).
///
/// ```
/// let done = zivacare::Exchanged { ziva_user_code: "u1".into(), first: false };
/// assert!(!done.first, "a repeat, answered with the first outcome");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exchanged {
    /// The user's code at ZivaCare.
    pub ziva_user_code: String,
    /// Whether this request exchanged the token (`false`: a repeat, answered
    /// with the first outcome).
    pub first: bool,
}

/// Why [`exchange_once`] did not connect the user. Nothing is stored in any case.
///
/// ```
/// assert_eq!(zivacare::ExchangeError::TokenReused.to_string(), "the specialToken was used for another user");
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum ExchangeError {
    /// The token was claimed for another user.
    TokenReused,
    /// ZivaCare refused the token (now, or for an earlier request).
    TokenRejected,
    /// ZivaCare failed, was unreachable, or refused the application: the
    /// token was not exchanged, and a retry may exchange it.
    Zivacare(Error),
    /// The ledger failed. If ZivaCare had exchanged the token, its claim
    /// stays: no retry may exchange it again.
    Ledger(LedgerError),
}

impl std::fmt::Display for ExchangeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExchangeError::TokenReused => f.write_str("the specialToken was used for another user"),
            ExchangeError::TokenRejected => f.write_str("ZivaCare refused the specialToken"),
            ExchangeError::Zivacare(e) => e.fmt(f),
            ExchangeError::Ledger(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for ExchangeError {}

/// Stores `connection` under `claim`, retrying while the ledger fails (for a
/// bounded time); a lost claim is not retried.
async fn store<L: Ledger>(
    ledger: &L,
    claim: &Claim,
    connection: &Connection,
) -> Result<(), LedgerError> {
    let start = Instant::now();
    let mut wait = Duration::from_millis(50);
    loop {
        match ledger.complete(claim, connection).await {
            Err(LedgerError::Failed(e)) if start.elapsed() + wait <= WRITE_BUDGET => {
                tracing::warn!(error = %e, ?wait, "storing an exchanged connection failed; retrying");
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_secs(1));
            }
            other => return other,
        }
    }
}

/// Exchanges `special_token` for `client_user_id` once, however often it is
/// asked for: the first request exchanges it with ZivaCare and stores the
/// connection through `ledger`; a repeat, on any instance, waits for the
/// first one's outcome and answers with it.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let sandbox = zivacare_sandbox::spawn_demo().await?;
/// # let client = sandbox.client();
/// # let the_forwarded_token = sandbox.mint("demo-client", "ann@example.com", &[]).await?;
/// use zivacare::{exchange_once, ExchangeError, MemoryLedger, SpecialToken};
///
/// let ledger = MemoryLedger::new();
/// let token = SpecialToken::new(the_forwarded_token);
/// let first = exchange_once(&client, &ledger, "ann@example.com", &token).await?;
/// let again = exchange_once(&client, &ledger, "ann@example.com", &token).await?;
/// assert_eq!((first.first, again.first), (true, false));
/// assert_eq!(first.ziva_user_code, again.ziva_user_code);
/// let stolen = exchange_once(&client, &ledger, "mallory@example.com", &token).await;
/// assert!(matches!(stolen, Err(ExchangeError::TokenReused)));
/// # Ok(()) }
/// ```
pub async fn exchange_once<L: Ledger>(
    client: &Client,
    ledger: &L,
    client_user_id: &str,
    special_token: &SpecialToken,
) -> Result<Exchanged, ExchangeError> {
    let stale = stale_after(client);
    let claim = loop {
        let claim = Claim::new(special_token, client_user_id);
        let held = match ledger.claim(&claim, stale).await {
            Ok(Claimed::New) => break claim,
            Ok(Claimed::TakenOver) => {
                tracing::warn!("a stale claim on a specialToken was taken over");
                break claim;
            }
            Ok(Claimed::Held(entry)) => entry,
            Err(e) => return Err(ExchangeError::Ledger(e)),
        };
        if held.client_user_id() != client_user_id {
            return Err(ExchangeError::TokenReused);
        }
        match held {
            Entry::Exchanged { ziva_user_code, .. } => {
                return Ok(Exchanged {
                    ziva_user_code,
                    first: false,
                })
            }
            Entry::Refused { .. } => return Err(ExchangeError::TokenRejected),
            Entry::Pending { .. } => tokio::time::sleep(CLAIM_POLL).await,
        }
    };
    match client.exchange(special_token.clone()).await {
        Ok(connection) => match store(ledger, &claim, &connection).await {
            Ok(()) => Ok(Exchanged {
                ziva_user_code: connection.ziva_user_code,
                first: true,
            }),
            // The claim stays: ZivaCare spent the token, so no retry may
            // exchange it again.
            Err(e) => Err(ExchangeError::Ledger(e)),
        },
        Err(Error::TokenRejected { code, .. }) => {
            if let Err(e) = ledger.refuse(&claim, &code).await {
                tracing::error!(error = %e, "recording a refused specialToken failed");
            }
            Err(ExchangeError::TokenRejected)
        }
        Err(e) => {
            // ZivaCare did not exchange it: give the claim up for a retry.
            if let Err(d) = ledger.release(&claim).await {
                tracing::error!(error = %d, "releasing a claim failed");
            }
            Err(ExchangeError::Zivacare(e))
        }
    }
}

/// A [`Ledger`] in this process's memory, with the connections it stores:
/// for one instance of an application (a restart forgets it), its tests, and
/// examples. Several instances need one over a shared database.
///
/// ```
/// let ledger = zivacare::MemoryLedger::new();
/// assert!(ledger.connection("ann@example.com").is_none());
/// ```
#[derive(Debug, Default)]
pub struct MemoryLedger {
    state: Mutex<MemoryState>,
}

#[derive(Debug, Default)]
struct MemoryState {
    entries: HashMap<String, MemoryEntry>,
    connections: HashMap<String, Connection>,
}

#[derive(Debug)]
struct MemoryEntry {
    client_user_id: String,
    claim_id: String,
    claimed_at: Instant,
    /// `Some(Ok(code))` exchanged, `Some(Err(why))` refused.
    outcome: Option<Result<String, String>>,
}

impl MemoryLedger {
    /// An empty ledger.
    ///
    /// ```
    /// let ledger = zivacare::MemoryLedger::new();
    /// # let _ = ledger;
    /// ```
    pub fn new() -> MemoryLedger {
        MemoryLedger::default()
    }

    /// The connection stored for `client_user_id`, if any (see
    /// [`exchange_once`]'s example; the type's shows an empty one).
    pub fn connection(&self, client_user_id: &str) -> Option<Connection> {
        self.lock().connections.get(client_user_id).cloned()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, MemoryState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` on the entry `claim` holds, if it still holds it pending.
    fn end(&self, claim: &Claim, f: impl FnOnce(&mut MemoryState)) -> Result<(), LedgerError> {
        let mut state = self.lock();
        let held = state
            .entries
            .get(&claim.token_hash)
            .is_some_and(|e| e.claim_id == claim.id && e.outcome.is_none());
        if !held {
            return Err(LedgerError::Fenced(
                "the entry is not pending under this claim".into(),
            ));
        }
        f(&mut state);
        Ok(())
    }
}

impl Ledger for MemoryLedger {
    async fn claim(&self, claim: &Claim, stale_after: Duration) -> Result<Claimed, LedgerError> {
        let mut state = self.lock();
        let fresh = || MemoryEntry {
            client_user_id: claim.client_user_id.clone(),
            claim_id: claim.id.clone(),
            claimed_at: Instant::now(),
            outcome: None,
        };
        let Some(entry) = state.entries.get_mut(&claim.token_hash) else {
            state.entries.insert(claim.token_hash.clone(), fresh());
            return Ok(Claimed::New);
        };
        let client_user_id = entry.client_user_id.clone();
        Ok(match &entry.outcome {
            Some(Ok(code)) => Claimed::Held(Entry::Exchanged {
                client_user_id,
                ziva_user_code: code.clone(),
            }),
            Some(Err(why)) => Claimed::Held(Entry::Refused {
                client_user_id,
                why: why.clone(),
            }),
            None if client_user_id == claim.client_user_id
                && entry.claimed_at.elapsed() > stale_after =>
            {
                *entry = fresh();
                Claimed::TakenOver
            }
            None => Claimed::Held(Entry::Pending { client_user_id }),
        })
    }

    async fn complete(&self, claim: &Claim, connection: &Connection) -> Result<(), LedgerError> {
        self.end(claim, |state| {
            if let Some(e) = state.entries.get_mut(&claim.token_hash) {
                e.outcome = Some(Ok(connection.ziva_user_code.clone()));
            }
            state
                .connections
                .insert(claim.client_user_id.clone(), connection.clone());
        })
    }

    async fn release(&self, claim: &Claim) -> Result<(), LedgerError> {
        self.end(claim, |state| {
            state.entries.remove(&claim.token_hash);
        })
    }

    async fn refuse(&self, claim: &Claim, why: &str) -> Result<(), LedgerError> {
        self.end(claim, |state| {
            if let Some(e) = state.entries.get_mut(&claim.token_hash) {
                e.outcome = Some(Err(why.to_owned()));
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::AccessToken;

    fn connection(code: &str) -> Connection {
        Connection {
            ziva_user_code: code.into(),
            access_token: AccessToken::new("acc"),
            name: String::new(),
            email: String::new(),
        }
    }

    #[tokio::test]
    async fn the_memory_ledger_fences_every_end_to_the_claim_that_holds_it() {
        let ledger = MemoryLedger::new();
        let token = SpecialToken::new("tok");
        let first = Claim::new(&token, "ann");
        assert_eq!(
            ledger.claim(&first, Duration::from_secs(60)).await,
            Ok(Claimed::New)
        );
        let second = Claim::new(&token, "ann");
        assert_eq!(
            ledger.claim(&second, Duration::from_secs(60)).await,
            Ok(Claimed::Held(Entry::Pending {
                client_user_id: "ann".into()
            }))
        );
        // Stale: the second takes it over, and the first can end nothing.
        assert_eq!(
            ledger.claim(&second, Duration::ZERO).await,
            Ok(Claimed::TakenOver)
        );
        assert!(matches!(
            ledger.complete(&first, &connection("u1")).await,
            Err(LedgerError::Fenced(_))
        ));
        assert!(matches!(
            ledger.release(&first).await,
            Err(LedgerError::Fenced(_))
        ));
        assert!(ledger.connection("ann").is_none());
        ledger.complete(&second, &connection("u1")).await.unwrap();
        assert_eq!(ledger.connection("ann").unwrap().ziva_user_code, "u1");
        // Ended: another user's claim sees it as theirs, not as free.
        let bob = Claim::new(&token, "bob");
        assert!(matches!(
            ledger.claim(&bob, Duration::ZERO).await,
            Ok(Claimed::Held(Entry::Exchanged { client_user_id, .. })) if client_user_id == "ann"
        ));
        assert!(matches!(
            ledger.refuse(&second, "x").await,
            Err(LedgerError::Fenced(_))
        ));
    }
}
