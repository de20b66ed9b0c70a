//! Owner credentials: one password (argon2 hash) for the console, one bearer token (SHA-256
//! digest) for automation. Secrets are printed once when generated and never stored in clear.

use crate::error::{ServiceError, ServiceResult};
use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use console_storage::Store;
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

const PASSWORD_HASH_KEY: &str = "owner_password_argon2";
const TOKEN_DIGEST_KEY: &str = "owner_token_sha256";
const CURSOR_KEY: &str = "cursor_signing_key";

/// Verifies owner secrets. Holds only the hash and digest.
#[derive(Clone)]
pub struct OwnerAuth {
    password_hash: String,
    token_digest: [u8; 32],
}

/// Secrets generated on this start, to print once.
#[derive(Debug, Default)]
pub struct GeneratedSecrets {
    pub password: Option<String>,
    pub token: Option<String>,
}

fn random_secret(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::thread_rng().fill_bytes(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

fn hash_password(password: &str) -> ServiceResult<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| ServiceError::Internal(format!("hashing the owner password: {e}")))
}

fn token_digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    if text.len() != 64 {
        return None;
    }
    for (i, chunk) in text.as_bytes().chunks(2).enumerate() {
        let pair = std::str::from_utf8(chunk).ok()?;
        out[i] = u8::from_str_radix(pair, 16).ok()?;
    }
    Some(out)
}

impl OwnerAuth {
    /// Loads the owner's credentials, taking `password`/`token` from the environment when
    /// given (replacing what was stored) and generating the missing ones on first start.
    pub async fn init(
        store: &dyn Store,
        password: Option<&str>,
        token: Option<&str>,
    ) -> ServiceResult<(OwnerAuth, GeneratedSecrets)> {
        let mut generated = GeneratedSecrets::default();

        let password_hash = match (password, store.get_setting(PASSWORD_HASH_KEY).await?) {
            (Some(given), Some(stored)) if verify_hash(&stored, given) => stored,
            (Some(given), _) => {
                let hash = hash_password(given)?;
                store.put_setting(PASSWORD_HASH_KEY, &hash).await?;
                hash
            }
            (None, Some(stored)) => stored,
            (None, None) => {
                let fresh = random_secret(12);
                let hash = store
                    .init_setting(PASSWORD_HASH_KEY, &hash_password(&fresh)?)
                    .await?;
                // Another process may have won the race; only print what is really stored.
                if verify_hash(&hash, &fresh) {
                    generated.password = Some(fresh);
                }
                hash
            }
        };

        let token_digest = match (token, store.get_setting(TOKEN_DIGEST_KEY).await?) {
            (Some(given), _) => {
                let digest = token_digest(given);
                store.put_setting(TOKEN_DIGEST_KEY, &hex(&digest)).await?;
                digest
            }
            (None, Some(stored)) => unhex(&stored).ok_or_else(|| {
                ServiceError::Internal("stored owner token digest is corrupt".into())
            })?,
            (None, None) => {
                let fresh = format!("oc_{}", random_secret(24));
                let stored = store
                    .init_setting(TOKEN_DIGEST_KEY, &hex(&token_digest(&fresh)))
                    .await?;
                let digest = unhex(&stored).ok_or_else(|| {
                    ServiceError::Internal("stored owner token digest is corrupt".into())
                })?;
                if digest == token_digest(&fresh) {
                    generated.token = Some(fresh);
                }
                digest
            }
        };

        Ok((
            OwnerAuth {
                password_hash,
                token_digest,
            },
            generated,
        ))
    }

    /// Constant-time (argon2) check of a login attempt.
    pub fn verify_password(&self, candidate: &str) -> bool {
        verify_hash(&self.password_hash, candidate)
    }

    /// Constant-time check of a bearer token.
    pub fn verify_token(&self, candidate: &str) -> bool {
        token_digest(candidate).ct_eq(&self.token_digest).into()
    }
}

fn verify_hash(hash: &str, candidate: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(candidate.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// The key that signs list cursors: generated once per database so cursors survive restarts
/// and work across server processes sharing one database.
pub async fn cursor_key(store: &dyn Store) -> ServiceResult<Vec<u8>> {
    let stored = store.init_setting(CURSOR_KEY, &random_secret(32)).await?;
    Ok(stored.into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips() {
        let digest = token_digest("secret");
        assert_eq!(unhex(&hex(&digest)), Some(digest));
        assert_eq!(unhex("zz"), None);
    }

    #[test]
    fn password_hash_verifies_only_the_password() {
        let hash = hash_password("correct horse").unwrap();
        assert!(verify_hash(&hash, "correct horse"));
        assert!(!verify_hash(&hash, "correct horse "));
        assert!(!verify_hash("not a hash", "correct horse"));
    }
}
