//! Domain vocabulary shared by storage, synthesis and the edges.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Declares a closed string enum with its wire/storage spelling in one place: serde's
/// `rename_all` and `as_str` agree (`string_enums_are_spelled_as_serde_spells_them`), so
/// writers that skip serde (`crate::summary_json`) spell variants as serde would.
macro_rules! string_enum {
    (
        $(#[$meta:meta])*
        $name:ident { $($(#[$variant_meta:meta])* $variant:ident => $text:literal),+ $(,)? }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$variant_meta])* $variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn parse(text: &str) -> Option<Self> {
                match text { $($text => Some($name::$variant),)+ _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use string_enum;

string_enum!(
    /// Lifecycle of a connection.
    ConnectionStatus { Draft => "draft", Active => "active", Paused => "paused", Revoked => "revoked" }
);

string_enum!(
    /// Lifecycle of a run.
    RunStatus {
        Queued => "queued",
        Running => "running",
        Succeeded => "succeeded",
        SucceededWithGaps => "succeeded_with_gaps",
        Failed => "failed",
        Cancelled => "cancelled",
    }
);

impl RunStatus {
    pub fn is_success(self) -> bool {
        matches!(self, RunStatus::Succeeded | RunStatus::SucceededWithGaps)
    }

    pub fn is_terminal(self) -> bool {
        !matches!(self, RunStatus::Queued | RunStatus::Running)
    }
}

string_enum!(
    /// How a connector expects to be refreshed.
    RecommendedMode { Scheduled => "scheduled", Manual => "manual" }
);

string_enum!(
    /// Something only the owner can do.
    AttentionKind { Reauth => "reauth", AddInfo => "add_info" }
);

/// Why a run failed. Known reasons drive health rules; anything else is kept as text.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum FailureReason {
    CredentialRejected,
    NeedsOwnerInput,
    RateLimited,
    SourceUnavailable,
    ConnectorError,
    OwnerCancelled,
    Other(String),
}

impl FailureReason {
    pub fn as_str(&self) -> &str {
        match self {
            FailureReason::CredentialRejected => "credential_rejected",
            FailureReason::NeedsOwnerInput => "needs_owner_input",
            FailureReason::RateLimited => "rate_limited",
            FailureReason::SourceUnavailable => "source_unavailable",
            FailureReason::ConnectorError => "connector_error",
            FailureReason::OwnerCancelled => "owner_cancelled",
            FailureReason::Other(text) => text,
        }
    }

    pub fn parse(text: &str) -> Self {
        match text {
            "credential_rejected" => FailureReason::CredentialRejected,
            "needs_owner_input" => FailureReason::NeedsOwnerInput,
            "rate_limited" => FailureReason::RateLimited,
            "source_unavailable" => FailureReason::SourceUnavailable,
            "connector_error" => FailureReason::ConnectorError,
            "owner_cancelled" => FailureReason::OwnerCancelled,
            other => FailureReason::Other(other.to_owned()),
        }
    }

    /// Failures a later automatic run can fix; the others wait for the owner.
    pub fn is_retryable(&self) -> bool {
        !matches!(
            self,
            FailureReason::CredentialRejected
                | FailureReason::NeedsOwnerInput
                | FailureReason::OwnerCancelled
        )
    }
}

impl Serialize for FailureReason {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for FailureReason {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Ok(FailureReason::parse(&text))
    }
}

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for FailureReason {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .description(Some(
                "credential_rejected, needs_owner_input, rate_limited, source_unavailable, \
                 connector_error, owner_cancelled, or other text",
            ))
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for FailureReason {}

/// A stream declared by a connector manifest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StreamSpec {
    pub name: String,
    #[serde(default = "default_true")]
    pub required: bool,
}

fn default_true() -> bool {
    true
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RefreshPolicy {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maximum_staleness_seconds: Option<i64>,
}

/// A connector manifest, as loaded from a JSON file or registered through the API.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ConnectorManifest {
    pub connector_id: String,
    pub display_name: String,
    pub version: String,
    pub streams: Vec<StreamSpec>,
    #[serde(default)]
    pub refresh_policy: RefreshPolicy,
    pub recommended_mode: RecommendedMode,
    pub source_kind: String,
}

/// Why a manifest was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ManifestError {
    #[error("connector_id must be 1-100 characters of a-z, 0-9, '-', '_' or '.'")]
    BadConnectorId,
    #[error("{0} must not be empty")]
    Empty(&'static str),
    #[error("a connector needs at least one stream")]
    NoStreams,
    #[error("stream name {0:?} is invalid or repeated")]
    BadStream(String),
    #[error("refresh_policy.maximum_staleness_seconds must be positive")]
    BadStaleness,
}

impl ConnectorManifest {
    pub fn validate(&self) -> Result<(), ManifestError> {
        if !is_slug(&self.connector_id) {
            return Err(ManifestError::BadConnectorId);
        }
        if self.display_name.trim().is_empty() {
            return Err(ManifestError::Empty("display_name"));
        }
        if self.version.trim().is_empty() {
            return Err(ManifestError::Empty("version"));
        }
        if self.source_kind.trim().is_empty() {
            return Err(ManifestError::Empty("source_kind"));
        }
        if self.streams.is_empty() {
            return Err(ManifestError::NoStreams);
        }
        let mut seen = std::collections::HashSet::new();
        for stream in &self.streams {
            if !is_slug(&stream.name) || !seen.insert(stream.name.as_str()) {
                return Err(ManifestError::BadStream(stream.name.clone()));
            }
        }
        if matches!(self.refresh_policy.maximum_staleness_seconds, Some(s) if s <= 0) {
            return Err(ManifestError::BadStaleness);
        }
        Ok(())
    }
}

/// Identifiers owners and automation type: short, lowercase, URL-safe.
pub fn is_slug(text: &str) -> bool {
    (1..=100).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.".contains(&b))
}

/// A gap a run reported: a stream it could not fully collect.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Gap {
    pub stream: String,
    pub reason: String,
    #[serde(default = "default_true")]
    pub retryable: bool,
}

/// A run's schedule inputs. `next_due_at` is derived from the last run start and the interval.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Schedule {
    pub enabled: bool,
    pub interval_seconds: i64,
    pub jitter_seconds: i64,
    #[serde(default, with = "crate::instant_json::option")]
    pub next_due_at: Option<DateTime<Utc>>,
}

/// Smallest schedule interval the runtime accepts.
pub const MIN_INTERVAL_SECONDS: i64 = 60;
/// Largest interval: a year. Beyond that a schedule is a typo.
pub const MAX_INTERVAL_SECONDS: i64 = 366 * 24 * 3600;

/// An owner's lifecycle action on a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum LifecycleAction {
    Activate,
    Pause,
    Resume,
    Revoke,
    Reactivate,
}

impl ConnectionStatus {
    /// The status after `action`, or `None` when the action does not apply from here.
    pub fn apply(self, action: LifecycleAction) -> Option<ConnectionStatus> {
        use ConnectionStatus::*;
        use LifecycleAction::*;
        match (self, action) {
            (Draft, Activate) => Some(Active),
            (Active, Pause) => Some(Paused),
            (Paused, Resume) => Some(Active),
            (Draft | Active | Paused, Revoke) => Some(Revoked),
            (Revoked, Reactivate) => Some(Active),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::evidence::{CountState, EvidenceState};
    use crate::synthesis::{
        ActionKind, Audience, Channel, FreshnessStatus, HealthState, Tone, Urgency,
    };

    /// Every variant's `as_str` is the text serde writes and reads for it.
    fn spelled_as_serde<T>(all: &[T], as_str: fn(T) -> &'static str)
    where
        T: Copy + std::fmt::Debug + PartialEq + serde::Serialize + serde::de::DeserializeOwned,
    {
        for &variant in all {
            let text = as_str(variant);
            assert_eq!(serde_json::to_value(variant).unwrap(), text, "{variant:?}");
            assert_eq!(serde_json::from_value::<T>(text.into()).unwrap(), variant);
        }
    }

    #[test]
    fn string_enums_are_spelled_as_serde_spells_them() {
        spelled_as_serde(
            super::ConnectionStatus::ALL,
            super::ConnectionStatus::as_str,
        );
        spelled_as_serde(super::RunStatus::ALL, super::RunStatus::as_str);
        spelled_as_serde(super::RecommendedMode::ALL, super::RecommendedMode::as_str);
        spelled_as_serde(super::AttentionKind::ALL, super::AttentionKind::as_str);
        spelled_as_serde(CountState::ALL, CountState::as_str);
        spelled_as_serde(EvidenceState::ALL, EvidenceState::as_str);
        spelled_as_serde(FreshnessStatus::ALL, FreshnessStatus::as_str);
        spelled_as_serde(HealthState::ALL, HealthState::as_str);
        spelled_as_serde(Tone::ALL, Tone::as_str);
        spelled_as_serde(Channel::ALL, Channel::as_str);
        spelled_as_serde(ActionKind::ALL, ActionKind::as_str);
        spelled_as_serde(Audience::ALL, Audience::as_str);
        spelled_as_serde(Urgency::ALL, Urgency::as_str);
    }
}
