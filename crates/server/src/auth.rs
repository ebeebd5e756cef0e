//! Tokens and what they grant.
//!
//! - API tokens are JWTs (`header.payload.signature`, HS256 with the server's secret): the
//!   official SDK tells token kinds apart by their three dot-separated parts. The payload
//!   names the token (`tokenId`) and its user and carries MetaApi-style `accessRules`.
//! - Account tokens are one part (`<tokenId><secret>`, hex, no dot) and grant one account.
//!
//! Only a SHA-256 digest of each token is stored; a token is valid while its record exists
//! and is not revoked. [`Grant`] is what a valid token allows: admin or not, read-only or not,
//! all of the user's accounts or a listed few.
//!
//! `jwt` mints and checks the JWTs (HS256 only); a presented token's digest is compared
//! with the stored one in constant time (`subtle`).

mod jwt;

use crate::error::ApiError;
use crate::messages;
use drawbridge_model::{AccountId, Timestamp, TokenId, UserId};
use drawbridge_store::{Store, StoreError, Token};
use jwt::{AccessRule, Claims, Jwt};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use subtle::ConstantTimeEq;

/// Hex characters of a token id.
const TOKEN_ID_HEX: usize = 16;
/// Hex characters of an account token's secret part.
const ACCOUNT_SECRET_HEX: usize = 48;
/// Verified tokens cached; beyond this the cache is cleared and refilled on demand.
const CACHE_TOKENS_MAX: usize = 100_000;

/// What a token allows.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Grant {
    /// May use the sim control API and create tokens for others.
    #[serde(default)]
    pub admin: bool,
    /// May only read.
    #[serde(default)]
    pub read_only: bool,
    /// Limited to these account ids; `None` is every account of the user.
    #[serde(default)]
    pub accounts: Option<Vec<AccountId>>,
    /// An account token (one part): some routes need an API token.
    #[serde(default)]
    pub account_token: bool,
}

impl Grant {
    /// A grant no wider than both `self` and `narrower`.
    pub fn narrow(&self, narrower: &Grant) -> Grant {
        let accounts = match (&self.accounts, &narrower.accounts) {
            (None, x) | (x, None) => x.clone(),
            (Some(a), Some(b)) => Some(a.iter().filter(|id| b.contains(id)).cloned().collect()),
        };
        Grant {
            admin: self.admin && narrower.admin,
            read_only: self.read_only || narrower.read_only,
            accounts,
            account_token: self.account_token,
        }
    }

    /// Whether the grant reaches the account a request names `id`.
    pub fn allows_account(&self, id: &str) -> bool {
        self.accounts
            .as_ref()
            .is_none_or(|list| list.iter().any(|a| a.as_str() == id))
    }
}

/// An authenticated caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    pub user_id: UserId,
    pub token_id: TokenId,
    pub grant: Grant,
}

impl Caller {
    pub fn require_write(&self) -> Result<(), ApiError> {
        if self.grant.read_only {
            return Err(ApiError::forbidden(&messages::FORBIDDEN_READ_ONLY, &[]));
        }
        Ok(())
    }

    pub fn require_admin(&self) -> Result<(), ApiError> {
        if !self.grant.admin {
            return Err(ApiError::forbidden(&messages::FORBIDDEN_ADMIN, &[]));
        }
        Ok(())
    }

    pub fn require_api_token(&self) -> Result<(), ApiError> {
        if self.grant.account_token {
            return Err(ApiError::forbidden(&messages::FORBIDDEN_API_TOKEN, &[]));
        }
        Ok(())
    }

    /// Whether the caller's grant reaches the account a request names `id`.
    pub fn require_account(&self, id: &str) -> Result<(), ApiError> {
        if !self.grant.allows_account(id) {
            return Err(ApiError::forbidden(&messages::FORBIDDEN_ACCOUNT, &[&id]));
        }
        Ok(())
    }
}

/// Mints and checks tokens against the store, caching token records.
pub struct Tokens {
    store: Arc<dyn Store>,
    jwt: Jwt,
    /// Verified tokens (the whole token string) and who they are: a hit skips the signature,
    /// the store and the grant's parsing. Revocation drops the token's entries.
    cache: RwLock<HashMap<String, Caller>>,
    /// Bumped by every revocation, so that a verification racing it is not cached.
    generation: AtomicU64,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens").finish_non_exhaustive()
    }
}

/// Random bytes from the operating system, as lowercase hex: for secrets and ids, which must
/// not come from the simulation's seeded RNG.
pub fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).expect("the operating system provides randomness");
    hex::encode(buf)
}

fn digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Whether two digests are equal, in time that does not depend on where they differ.
fn same_digest(stored: &str, presented: &str) -> bool {
    stored.as_bytes().ct_eq(presented.as_bytes()).into()
}

/// The setting holding the HMAC secret of API tokens.
const SECRET_SETTING: &str = "token_secret";

impl Tokens {
    /// Loads (or creates, on first start) the signing secret.
    pub async fn open(store: Arc<dyn Store>) -> Result<Self, drawbridge_store::StoreError> {
        let secret = store
            .setting_or_insert(SECRET_SETTING, &random_hex(32))
            .await?;
        Ok(Self {
            store,
            jwt: Jwt::new(secret.as_bytes())
                .map_err(|e| StoreError::Backend(format!("{SECRET_SETTING}: {e}")))?,
            cache: RwLock::new(HashMap::new()),
            generation: AtomicU64::new(0),
        })
    }

    /// Mints an API token (JWT) for `user_id` with `grant`, and stores it.
    pub async fn mint_api(
        &self,
        user_id: &UserId,
        grant: &Grant,
        now: Timestamp,
    ) -> Result<String, drawbridge_store::StoreError> {
        let token_id = TokenId::new(random_hex(TOKEN_ID_HEX / 2));
        let resources = match &grant.accounts {
            None => vec![format!("*:{user_id}:*")],
            Some(ids) => ids
                .iter()
                .map(|id| format!("account:{user_id}:{id}"))
                .collect(),
        };
        let claims = Claims {
            token_id: token_id.clone(),
            user_id: user_id.clone(),
            iat: now.millis() / 1_000,
            access_rules: vec![AccessRule {
                id: "metaapi-rest-api".into(),
                resources,
            }],
        };
        let token = self.jwt.mint(&claims);
        self.store_token(&token_id, user_id, &token, grant, now)
            .await?;
        Ok(token)
    }

    /// Mints an account token (one part) for one account of `user_id`.
    pub async fn mint_account(
        &self,
        user_id: &UserId,
        account_id: &AccountId,
        read_only: bool,
        now: Timestamp,
    ) -> Result<String, drawbridge_store::StoreError> {
        let token_id = TokenId::new(random_hex(TOKEN_ID_HEX / 2));
        let token = format!("{token_id}{}", random_hex(ACCOUNT_SECRET_HEX / 2));
        let grant = Grant {
            admin: false,
            read_only,
            accounts: Some(vec![account_id.clone()]),
            account_token: true,
        };
        self.store_token(&token_id, user_id, &token, &grant, now)
            .await?;
        Ok(token)
    }

    async fn store_token(
        &self,
        id: &TokenId,
        user_id: &UserId,
        token: &str,
        grant: &Grant,
        now: Timestamp,
    ) -> Result<(), drawbridge_store::StoreError> {
        let record = Token {
            id: id.to_string(),
            user_id: user_id.to_string(),
            digest: digest(token),
            access: serde_json::to_string(grant).unwrap_or_default(),
            created: now,
            revoked: None,
        };
        self.store.create_token(&record).await
    }

    /// The caller a presented token stands for; `UnauthorizedError` when it is malformed,
    /// forged, unknown or revoked.
    pub async fn authenticate(&self, token: &str) -> Result<Caller, ApiError> {
        if let Some(caller) = self.read_cache().get(token) {
            return Ok(caller.clone());
        }
        let generation = self.generation.load(Ordering::Acquire);
        let token_id = self.token_id(token).ok_or_else(ApiError::unauthorized)?;
        let record = self
            .store
            .token(&token_id)
            .await?
            .ok_or_else(ApiError::unauthorized)?;
        if record.revoked.is_some() || !same_digest(&record.digest, &digest(token)) {
            return Err(ApiError::unauthorized());
        }
        let grant: Grant = serde_json::from_str(&record.access).map_err(ApiError::internal)?;
        let caller = Caller {
            user_id: UserId::new(record.user_id),
            token_id,
            grant,
        };
        let mut cache = self.write_cache();
        // A revocation since the record was read must not be undone by caching it.
        if self.generation.load(Ordering::Acquire) == generation {
            if cache.len() >= CACHE_TOKENS_MAX {
                cache.clear();
            }
            cache.insert(token.to_owned(), caller.clone());
        }
        Ok(caller)
    }

    fn read_cache(&self) -> std::sync::RwLockReadGuard<'_, HashMap<String, Caller>> {
        self.cache
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write_cache(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<String, Caller>> {
        self.cache
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The token id of a well-formed token with a valid signature.
    fn token_id(&self, token: &str) -> Option<TokenId> {
        let parts: Vec<&str> = token.split('.').collect();
        match parts.as_slice() {
            [one] => {
                let ok = one.len() == TOKEN_ID_HEX + ACCOUNT_SECRET_HEX
                    && one.bytes().all(|b| b.is_ascii_hexdigit());
                ok.then(|| TokenId::from(&one[..TOKEN_ID_HEX]))
            }
            [_header, _payload, _signature] => Some(self.jwt.verify(token)?.token_id),
            _ => None,
        }
    }

    /// Revokes a token of `user_id`; false when there is no such live token.
    pub async fn revoke(
        &self,
        user_id: &UserId,
        token_id: &TokenId,
        now: Timestamp,
    ) -> Result<bool, ApiError> {
        let Some(record) = self.store.token(token_id).await? else {
            return Ok(false);
        };
        if record.user_id != *user_id {
            return Ok(false);
        }
        let done = self.store.revoke_token(token_id, now).await?;
        let mut cache = self.write_cache();
        self.generation.fetch_add(1, Ordering::AcqRel);
        cache.retain(|_, c| c.token_id != *token_id);
        Ok(done)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn narrowing_only_takes_away() {
        let full = Grant {
            admin: true,
            ..Grant::default()
        };
        let narrow = Grant {
            admin: false,
            read_only: true,
            accounts: Some(vec!["a".into(), "b".into()]),
            account_token: false,
        };
        let n = full.narrow(&narrow);
        assert!(!n.admin && n.read_only);
        assert!(n.allows_account("a") && !n.allows_account("c"));
        let again = n.narrow(&Grant {
            accounts: Some(vec!["b".into(), "c".into()]),
            ..Grant::default()
        });
        assert_eq!(again.accounts, Some(vec![AccountId::from("b")]));
        assert!(again.read_only, "read-only stays");
    }

    #[test]
    fn digests_compare_whole() {
        assert!(same_digest(&digest("abc"), &digest("abc")));
        assert!(!same_digest(&digest("abc"), &digest("abd")));
        assert!(!same_digest(&digest("abc"), &digest("abc")[1..]));
        assert_eq!(
            digest("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
            "SHA-256 as lowercase hex, as stored before"
        );
    }
}
