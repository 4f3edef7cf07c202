//! ZivaCare's developer API: the token exchange an integrator's server calls
//! (`POST /oauth/v2/get-access-token`) and user creation
//! (`POST /api/v{1,2}/app/create-user`), as JSON or forms.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::Json;
use rusqlite::{params, OptionalExtension};
use serde::Deserialize;
use serde_json::{json, Value};
use zivacare::axum::Refusal;
use zivacare::text::is_plain_text;

use crate::state::{db_error, user, Sandbox};
use crate::util::{json_or_form, now_secs, random_token, sha256_hex};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TokenRequest {
    special_token: Option<String>,
    client_secret: Option<String>,
}

/// ZivaCare's token exchange. Its error answers are not documented by ZivaCare:
/// these are the sandbox's own, in ZivaCare's `{code, message}` shape, all 400:
/// `invalid_token`, `expired_token`, `used_token`, `0007` (no clientSecret) and
/// `0011` (a clientSecret that is not the app's, which consumes nothing).
pub async fn get_access_token(
    State(s): State<Arc<Sandbox>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, Refusal> {
    let req: TokenRequest = json_or_form(&headers, &body)?;
    let token = req
        .special_token
        .filter(|t| !t.is_empty())
        .ok_or_else(|| Refusal::bad_request("invalid_token", "Missing specialToken"))?;
    let secret = req
        .client_secret
        .filter(|t| !t.is_empty())
        .ok_or_else(|| Refusal::bad_request("0007", "Missing clientSecret"))?;
    let hash = sha256_hex(&token);
    let sandbox = Arc::clone(&s);
    s.with_db(move |db| {
        let row: Option<(String, String, String, i64, bool)> = db
            .query_row(
                "SELECT client_id, client_user_id, sources, expires_at, used FROM special_tokens WHERE token_hash = ?1",
                [&hash],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )
            .optional()
            .map_err(db_error)?;
        let Some((client_id, client_user_id, sources, expires_at, used)) = row else {
            return Err(Refusal::bad_request("invalid_token", "Unknown specialToken"));
        };
        // A wrong secret consumes nothing: the rightful server can still exchange it.
        if !sandbox
            .app(&client_id)
            .is_some_and(|a| a.client_secret.matches(&secret))
        {
            return Err(Refusal::bad_request(
                "0011",
                "Application not recognised: wrong clientSecret",
            ));
        }
        let used_error = || Refusal::bad_request("used_token", "This specialToken was already used");
        if used {
            return Err(used_error());
        }
        if expires_at <= now_secs() {
            return Err(Refusal::bad_request(
                "expired_token",
                "This specialToken has expired",
            ));
        }
        let changed = db
            .execute(
                "UPDATE special_tokens SET used = 1 WHERE token_hash = ?1 AND used = 0",
                [&hash],
            )
            .map_err(db_error)?;
        if changed != 1 {
            return Err(used_error());
        }
        let (code, name, email) = user(db, &client_id, &client_user_id, None).map_err(db_error)?;
        let access_token = random_token(32);
        db.execute(
            "INSERT INTO access_tokens (token_hash, ziva_user_code, sources) VALUES (?1, ?2, ?3)",
            params![sha256_hex(&access_token), code, sources],
        )
        .map_err(db_error)?;
        Ok(Json(
            json!({ "ziva_user_code": code, "name": name, "email": email, "access_token": access_token }),
        ))
    })
    .await
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateUser {
    client_id: Option<String>,
    client_secret: Option<String>,
    client_user_id: Option<String>,
    client_user_name: Option<String>,
}

/// `POST /api/v{1,2}/app/create-user`, as ZivaCare's "Manage Users" page
/// documents it. Every error is HTTP 400 with ZivaCare's `{code, message}`:
/// `0001` (the clientUserId exists), `0004` (no clientId), `0005` (no
/// clientUserId), `0007` (no clientSecret), `0011` (an unknown application or
/// a wrong secret). The new user's specialToken grants no sample data.
pub async fn create_user(
    State(s): State<Arc<Sandbox>>,
    Path(version): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, Refusal> {
    if !matches!(version.as_str(), "v1" | "v2") {
        return Err(Refusal::new(
            axum::http::StatusCode::NOT_FOUND,
            "not_found",
            "No such version of the API: v1 or v2",
        ));
    }
    let req: CreateUser = json_or_form(&headers, &body)?;
    let present = |v: Option<String>| v.filter(|v| !v.trim().is_empty());
    let client_id = present(req.client_id).ok_or_else(|| {
        Refusal::bad_request(
            "0004",
            "You did not provide an application client Id! clientId parameter is missing.",
        )
    })?;
    let client_user_id = present(req.client_user_id)
        .filter(|u| is_plain_text(u, 512))
        .ok_or_else(|| {
            Refusal::bad_request(
                "0005",
                "You did not provide a client user Id! clientUserId parameter is missing.",
            )
        })?;
    let secret = present(req.client_secret).ok_or_else(|| {
        Refusal::bad_request(
            "0007",
            "You did not provide an application client secret! clientSecret parameter is missing.",
        )
    })?;
    if !s
        .app(&client_id)
        .is_some_and(|a| a.client_secret.matches(&secret))
    {
        return Err(Refusal::bad_request(
            "0011",
            "Your application is not recognized! Check both clientId and clientSecret.",
        ));
    }
    let name = present(req.client_user_name).unwrap_or_else(|| client_user_id.clone());
    let (id, user_id, user_name) = (client_id.clone(), client_user_id.clone(), name.clone());
    s.with_db(move |db| {
        let exists: bool = db
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM users WHERE client_id = ?1 AND client_user_id = ?2)",
                [&id, &user_id],
                |r| r.get(0),
            )
            .map_err(db_error)?;
        if exists {
            return Err(Refusal::bad_request(
                "0001",
                "Cannot assign user to application! Found duplicate unique user identifier (clientUserId).",
            ));
        }
        user(db, &id, &user_id, Some(&user_name)).map_err(db_error)?;
        Ok(())
    })
    .await?;
    let token = s.mint(&client_id, &client_user_id, &[]).await?;
    Ok(Json(json!({
        "specialToken": token,
        "clientId": client_id,
        "clientUserId": client_user_id,
        "clientUserName": name,
    })))
}
