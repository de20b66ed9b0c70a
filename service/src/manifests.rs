//! Connector manifests from files: the built-in demo set compiled in, and a folder of
//! `*.json` files given at start-up.

use console_domain::model::ConnectorManifest;
use std::path::{Path, PathBuf};

/// Largest manifest file accepted; real manifests are a few hundred bytes.
const MAX_MANIFEST_BYTES: u64 = 256 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum ManifestLoadError {
    #[error("cannot read manifest folder {0}: {1}")]
    Folder(PathBuf, std::io::Error),
    #[error("{0}: {1}")]
    File(PathBuf, String),
}

/// Parses and validates one manifest document.
pub fn parse(text: &str) -> Result<ConnectorManifest, String> {
    let manifest: ConnectorManifest = serde_json::from_str(text).map_err(|e| e.to_string())?;
    manifest.validate().map_err(|e| e.to_string())?;
    Ok(manifest)
}

/// Every `*.json` file of `dir`, in name order; the first bad file stops the load so a
/// typo is reported rather than half a fleet registered.
pub fn load_dir(dir: &Path) -> Result<Vec<ConnectorManifest>, ManifestLoadError> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| ManifestLoadError::Folder(dir.to_owned(), e))?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|ext| ext == "json"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let size = std::fs::metadata(&path)
                .map_err(|e| ManifestLoadError::File(path.clone(), e.to_string()))?
                .len();
            if size > MAX_MANIFEST_BYTES {
                return Err(ManifestLoadError::File(
                    path,
                    "file is too large for a manifest".into(),
                ));
            }
            let text = std::fs::read_to_string(&path)
                .map_err(|e| ManifestLoadError::File(path.clone(), e.to_string()))?;
            parse(&text).map_err(|e| ManifestLoadError::File(path, e))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_documents_are_reported_not_panicked() {
        for text in ["", "{}", "[]", "{\"connector_id\":\"x\"}", "\u{0}", "{\"connector_id\":\"Bad Id\",\"display_name\":\"x\",\"version\":\"1\",\"streams\":[{\"name\":\"s\"}],\"recommended_mode\":\"manual\",\"source_kind\":\"api\"}"] {
            assert!(parse(text).is_err(), "{text:?}");
        }
    }

    const GOOD: &str = r#"{"connector_id":"b","display_name":"B","version":"1","streams":[{"name":"s","required":true}],"refresh_policy":{"maximum_staleness_seconds":3600},"recommended_mode":"manual","source_kind":"api"}"#;

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(3000))]

        /// A manifest file with characters changed, cut or inserted is refused or loads as a
        /// manifest that survives storage; nothing panics.
        #[test]
        fn damaged_manifest_files_are_refused_or_still_valid(
            edits in proptest::collection::vec(
                (proptest::prelude::any::<proptest::sample::Index>(), 0u8..3, proptest::prelude::any::<char>()),
                1..6,
            ),
        ) {
            let mut text: Vec<char> = GOOD.chars().collect();
            for (at, kind, c) in edits {
                let i = at.index(text.len().max(1)).min(text.len().saturating_sub(1));
                match kind {
                    0 if !text.is_empty() => text[i] = c,
                    1 if !text.is_empty() => {
                        text.remove(i);
                    }
                    _ => text.insert(i, c),
                }
            }
            let text: String = text.into_iter().collect();
            // What is accepted is stored as JSON and read back: it must round-trip.
            if let Ok(manifest) = parse(&text) {
                let stored = serde_json::to_string(&manifest).unwrap();
                proptest::prop_assert_eq!(parse(&stored), Ok(manifest));
            }
        }

        /// Any text at all: an error, never a panic.
        #[test]
        fn any_text_is_parsed_or_refused(text in proptest::prelude::any::<String>()) {
            let _ = parse(&text);
        }
    }

    #[test]
    fn a_folder_loads_in_name_order_and_stops_at_a_bad_file() {
        let dir = std::env::temp_dir().join(format!("oc-manifests-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let good = r#"{"connector_id":"b","display_name":"B","version":"1","streams":[{"name":"s"}],"recommended_mode":"manual","source_kind":"api"}"#;
        std::fs::write(dir.join("b.json"), good).unwrap();
        std::fs::write(dir.join("a.json"), good.replace("\"b\"", "\"a\"")).unwrap();
        std::fs::write(dir.join("notes.txt"), "ignored").unwrap();
        let loaded = load_dir(&dir).unwrap();
        assert_eq!(
            loaded
                .iter()
                .map(|m| m.connector_id.as_str())
                .collect::<Vec<_>>(),
            ["a", "b"]
        );
        std::fs::write(dir.join("c.json"), "{").unwrap();
        assert!(matches!(load_dir(&dir), Err(ManifestLoadError::File(..))));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
