//! Opaque, tamper-evident list cursors: the page position plus the filters it was issued
//! for, as JSON, base64url-encoded and signed with HMAC-SHA256.

use crate::error::{ServiceError, ServiceResult};
use crate::projector::ListRequest;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use console_storage::PagePosition;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

const MAX_CURSOR_LEN: usize = 2048;
const TAG_LEN: usize = 32;

#[derive(Debug, Serialize, Deserialize)]
pub struct Cursor {
    position: PagePosition,
    /// The filters the cursor belongs to; a cursor replayed with other filters is refused.
    filters: String,
}

fn filters_of(request: &ListRequest) -> String {
    format!(
        "status={};health={};order={}",
        request.status.map(|s| s.as_str()).unwrap_or(""),
        request
            .health
            .map(|h| serde_json::to_string(&h).unwrap_or_default())
            .unwrap_or_default(),
        if request.needs_you_first {
            "needs"
        } else {
            "stable"
        },
    )
}

fn mac(key: &[u8]) -> Hmac<Sha256> {
    // HMAC accepts keys of any length, so this cannot fail.
    Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length")
}

fn bad_cursor() -> ServiceError {
    ServiceError::Malformed {
        code: "invalid_cursor",
        message: "cursor is not one this server issued for this query; start again without it"
            .into(),
        param: Some("cursor".into()),
    }
}

impl Cursor {
    pub fn new(position: PagePosition, request: &ListRequest) -> Self {
        Cursor {
            position,
            filters: filters_of(request),
        }
    }

    pub fn encode(&self, key: &[u8]) -> String {
        let body = serde_json::to_vec(self).expect("cursor serializes");
        let mut m = mac(key);
        m.update(&body);
        let mut bytes = m.finalize().into_bytes().to_vec();
        bytes.extend_from_slice(&body);
        URL_SAFE_NO_PAD.encode(bytes)
    }

    pub fn decode(key: &[u8], text: &str) -> ServiceResult<Self> {
        if text.len() > MAX_CURSOR_LEN {
            return Err(bad_cursor());
        }
        let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| bad_cursor())?;
        if bytes.len() <= TAG_LEN {
            return Err(bad_cursor());
        }
        let (tag, body) = bytes.split_at(TAG_LEN);
        let mut m = mac(key);
        m.update(body);
        m.verify_slice(tag).map_err(|_| bad_cursor())?;
        serde_json::from_slice(body).map_err(|_| bad_cursor())
    }

    /// The position, if the cursor was issued for the same filters as `request`.
    pub fn into_position(self, request: &ListRequest) -> ServiceResult<PagePosition> {
        if self.filters == filters_of(request) {
            Ok(self.position)
        } else {
            Err(bad_cursor())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use console_storage::ListKey;

    fn position() -> PagePosition {
        PagePosition::Stable(ListKey {
            connector_id: "spotify".into(),
            created_at: chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
            connection_id: "conn_1".into(),
        })
    }

    #[test]
    fn round_trips() {
        let request = ListRequest::default();
        let text = Cursor::new(position(), &request).encode(b"key");
        let back = Cursor::decode(b"key", &text).unwrap();
        assert_eq!(back.into_position(&request).unwrap(), position());
    }

    #[test]
    fn tampering_is_refused() {
        let text = Cursor::new(position(), &ListRequest::default()).encode(b"key");
        let mut bytes = URL_SAFE_NO_PAD.decode(&text).unwrap();
        let last = bytes.len() - 2;
        bytes[last] ^= 1;
        let tampered = URL_SAFE_NO_PAD.encode(bytes);
        assert!(Cursor::decode(b"key", &tampered).is_err());
        assert!(Cursor::decode(b"other key", &text).is_err());
        assert!(Cursor::decode(b"key", "not base64 at all!").is_err());
        assert!(Cursor::decode(b"key", "").is_err());
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(3000))]

        /// No text a client makes up is accepted, however long or strange.
        #[test]
        fn made_up_cursors_are_refused(text in proptest::prop_oneof![
            proptest::prelude::any::<String>(),
            "[A-Za-z0-9_-]{0,3000}",
        ]) {
            proptest::prop_assert!(Cursor::decode(b"key", &text).is_err());
        }

        /// Changing, dropping or adding any character of a real cursor breaks it.
        #[test]
        fn tampered_cursors_are_refused(
            at in proptest::prelude::any::<proptest::sample::Index>(),
            edit in 0u8..3,
            replacement in proptest::char::range('-', 'z'),
        ) {
            let text = Cursor::new(position(), &ListRequest::default()).encode(b"key");
            let mut chars: Vec<char> = text.chars().collect();
            let i = at.index(chars.len());
            match edit {
                0 => {
                    proptest::prop_assume!(chars[i] != replacement);
                    chars[i] = replacement;
                }
                1 => {
                    chars.remove(i);
                }
                _ => chars.insert(i, replacement),
            }
            let tampered: String = chars.into_iter().collect();
            // Base64 without padding has slack bits in its last character: a change there
            // may decode to the same bytes, which is the same cursor, not a forgery.
            let same_bytes = URL_SAFE_NO_PAD.decode(&tampered).ok()
                == URL_SAFE_NO_PAD.decode(&text).ok();
            proptest::prop_assume!(!same_bytes);
            proptest::prop_assert!(Cursor::decode(b"key", &tampered).is_err());
        }
    }

    #[test]
    fn a_cursor_belongs_to_its_filters() {
        let text = Cursor::new(position(), &ListRequest::default()).encode(b"key");
        let other = ListRequest {
            needs_you_first: true,
            ..ListRequest::default()
        };
        let cursor = Cursor::decode(b"key", &text).unwrap();
        assert!(cursor.into_position(&other).is_err());
    }
}
