//! `?connection=SEL` resolution (SPEC §5): exact identity first, then an unambiguous
//! connector id, otherwise nothing. Storage finds the candidates; this decides.

/// The candidates storage found for a selector.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SelectorCandidates {
    /// The connection whose `connection_id` equals the selector, if any.
    pub exact: Option<String>,
    /// Up to two connections whose `connector_id` equals the selector (two is enough to
    /// know the selector is ambiguous).
    pub by_connector: Vec<String>,
}

/// The connection a selector resolves to, or `None` (no match, or ambiguous connector id).
pub fn resolve(candidates: SelectorCandidates) -> Option<String> {
    if let Some(exact) = candidates.exact {
        return Some(exact);
    }
    match candidates.by_connector.as_slice() {
        [only] => Some(only.clone()),
        _ => None,
    }
}

/// Longest selector worth looking up; anything longer cannot name a connection.
pub const MAX_SELECTOR_LEN: usize = 200;

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn exact_identity_wins_over_connector_id() {
        let c = SelectorCandidates {
            exact: Some("conn_a".into()),
            by_connector: ids(&["conn_b"]),
        };
        assert_eq!(resolve(c), Some("conn_a".into()));
    }

    #[test]
    fn unique_connector_id_resolves() {
        let c = SelectorCandidates {
            exact: None,
            by_connector: ids(&["conn_b"]),
        };
        assert_eq!(resolve(c), Some("conn_b".into()));
    }

    #[test]
    fn ambiguous_connector_id_resolves_to_nothing() {
        let c = SelectorCandidates {
            exact: None,
            by_connector: ids(&["conn_b", "conn_c"]),
        };
        assert_eq!(resolve(c), None);
    }

    #[test]
    fn no_match_resolves_to_nothing() {
        assert_eq!(resolve(SelectorCandidates::default()), None);
    }
}
