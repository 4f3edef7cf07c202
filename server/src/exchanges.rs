//! The backend's record of exchanges, on its store (SQLite or PostgreSQL):
//! the `zivacare::Ledger` the token route runs on. The logic of exactly once
//! (claim, wait, take over, end one way) is the crate's; here are its four
//! operations, each one atomic change of the `exchanges` table, those that
//! end a claim conditioned on its claim id, and the completion writing the
//! connection (its access token sealed for its row) in the same transaction.

use std::sync::Arc;
use std::time::Duration;

use zivacare::{Claim, Claimed, Connection, Entry, Ledger, LedgerError};

use crate::crypto::Keyring;
use crate::store::{Step, Store, StoreError, Val};

/// The exchanges of the backend's store, and the keys that seal the access
/// tokens they store.
pub struct Exchanges {
    db: Arc<Store>,
    keys: Keyring,
}

impl Exchanges {
    pub fn new(db: Arc<Store>, keys: Keyring) -> Exchanges {
        Exchanges { db, keys }
    }
}

fn ledger_error(e: StoreError) -> LedgerError {
    match e {
        StoreError::Fenced(what) => LedgerError::Fenced(what),
        StoreError::Db(what) => LedgerError::Failed(what),
    }
}

impl Ledger for Exchanges {
    async fn claim(&self, claim: &Claim, stale_after: Duration) -> Result<Claimed, LedgerError> {
        let (hash, user, id) = (claim.token_hash(), claim.client_user_id(), claim.id());
        loop {
            let inserted = self
                .db
                .execute(
                    "INSERT INTO exchanges (token_hash, client_user_id, claimed_at, claim_id) \
                     VALUES ($1, $2, {now}, $3) ON CONFLICT (token_hash) DO NOTHING",
                    &[hash.into(), user.into(), id.into()],
                )
                .await
                .map_err(ledger_error)?;
            if inserted == 1 {
                return Ok(Claimed::New);
            }
            let row = self
                .db
                .row(
                    "SELECT client_user_id, ziva_user_code, refused, claim_id, {now} - claimed_at \
                     FROM exchanges WHERE token_hash = $1",
                    &[hash.into()],
                )
                .await
                .map_err(ledger_error)?;
            // Gone: its holder released it; claim again.
            let Some(row) = row else { continue };
            let holder = row[0].text().unwrap_or_default().to_owned();
            if let Some(code) = row[1].text() {
                return Ok(Claimed::Held(Entry::Exchanged {
                    client_user_id: holder,
                    ziva_user_code: code.to_owned(),
                }));
            }
            if let Some(why) = row[2].text() {
                return Ok(Claimed::Held(Entry::Refused {
                    client_user_id: holder,
                    why: why.to_owned(),
                }));
            }
            let age = row[4].int().unwrap_or(0);
            if holder == user && age > stale_after.as_secs() as i64 {
                // Take the abandoned claim over, unless another request just did.
                let taken = self
                    .db
                    .execute(
                        "UPDATE exchanges SET claim_id = $1, claimed_at = {now} WHERE token_hash = $2 \
                         AND ziva_user_code IS NULL AND refused IS NULL AND claim_id IS NOT DISTINCT FROM $3",
                        &[id.into(), hash.into(), row[3].clone()],
                    )
                    .await
                    .map_err(ledger_error)?;
                if taken == 1 {
                    return Ok(Claimed::TakenOver);
                }
                continue;
            }
            return Ok(Claimed::Held(Entry::Pending {
                client_user_id: holder,
            }));
        }
    }

    async fn complete(&self, claim: &Claim, connection: &Connection) -> Result<(), LedgerError> {
        let user = claim.client_user_id();
        let (key_id, sealed) = self
            .keys
            .seal(connection.access_token.expose(), user)
            .ok_or_else(|| LedgerError::Failed("cannot seal the access token".into()))?;
        let code = Val::from(&connection.ziva_user_code);
        self.db
            .transaction(vec![
                Step::new(
                    "INSERT INTO connections (client_user_id, ziva_user_code, access_token_sealed, key_id, name, email, connected_at, bound) \
                     VALUES ($1, $2, $3, $4, $5, $6, {now}, 1) ON CONFLICT (client_user_id) DO UPDATE SET \
                     ziva_user_code = excluded.ziva_user_code, access_token_sealed = excluded.access_token_sealed, \
                     key_id = excluded.key_id, name = excluded.name, email = excluded.email, \
                     connected_at = excluded.connected_at, bound = 1",
                    vec![
                        user.into(),
                        code.clone(),
                        sealed.as_str().into(),
                        key_id.as_str().into(),
                        (&connection.name).into(),
                        (&connection.email).into(),
                    ],
                ),
                Step::new(
                    "UPDATE exchanges SET ziva_user_code = $1, exchanged_at = {now} \
                     WHERE token_hash = $2 AND claim_id = $3 AND ziva_user_code IS NULL AND refused IS NULL",
                    vec![code, claim.token_hash().into(), claim.id().into()],
                )
                .exactly_one(),
            ])
            .await
            .map_err(ledger_error)
    }

    async fn release(&self, claim: &Claim) -> Result<(), LedgerError> {
        self.db
            .transaction(vec![Step::new(
                "DELETE FROM exchanges WHERE token_hash = $1 AND claim_id = $2 \
                 AND ziva_user_code IS NULL AND refused IS NULL",
                vec![claim.token_hash().into(), claim.id().into()],
            )
            .exactly_one()])
            .await
            .map_err(ledger_error)
    }

    async fn refuse(&self, claim: &Claim, why: &str) -> Result<(), LedgerError> {
        self.db
            .transaction(vec![Step::new(
                "UPDATE exchanges SET refused = $1 WHERE token_hash = $2 AND claim_id = $3 \
                 AND ziva_user_code IS NULL AND refused IS NULL",
                vec![why.into(), claim.token_hash().into(), claim.id().into()],
            )
            .exactly_one()])
            .await
            .map_err(ledger_error)
    }
}
