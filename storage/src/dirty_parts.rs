//! Which parts of a connection's evidence a write may have changed, so that a fold asks the
//! source tables again only for those.
//!
//! A fold always reads the connection, its schedule, its connector and its stream stats
//! again (one cheap probe each per connection). The run-side parts cost most of an
//! extraction (newest-run probes, failure streaks, open attention, unrecovered gaps) and
//! change only when a run, an attention item or a gap is written, so each has a bit: every
//! marking ORs in the bits of its write (a clean row starts from just those), and a fold
//! carries a part whose bit is clear over from the stored row, which is exactly what the
//! last successful fold or rebuild read (any write since then set the bit). A manifest
//! change, a record batch, a rename or a schedule change set none.

use std::ops::BitOr;

/// A set of carried-over evidence parts (stored as the row's `dirty_parts`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct DirtyParts(i64);

impl DirtyParts {
    /// A write that changes only parts every fold reads again.
    pub const NONE: Self = Self(0);
    /// Last run, last successful run, failure streaks.
    pub const RUNS: Self = Self(1);
    /// Open attention.
    pub const ATTENTION: Self = Self(2);
    /// Unrecovered gaps.
    pub const GAPS: Self = Self(4);
    /// Every part: a row that has no folded evidence to carry over. Equal to the
    /// column's default in migration 0002.
    pub const ALL: Self = Self(7);

    pub const fn bits(self) -> i64 {
        self.0
    }

    /// The parts of stored bits (unknown bits are kept, and asked for by nothing).
    pub const fn from_bits(bits: i64) -> Self {
        Self(bits)
    }

    pub const fn contains(self, part: Self) -> bool {
        self.0 & part.0 == part.0
    }
}

impl BitOr for DirtyParts {
    type Output = Self;
    fn bitor(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_part_is_its_own_bit_and_all_is_their_union() {
        let parts = [DirtyParts::RUNS, DirtyParts::ATTENTION, DirtyParts::GAPS];
        for (i, a) in parts.iter().enumerate() {
            assert_eq!(a.bits().count_ones(), 1);
            for b in &parts[i + 1..] {
                assert_eq!(a.bits() & b.bits(), 0);
            }
        }
        let union = parts.iter().fold(DirtyParts::NONE, |acc, p| acc | *p);
        assert_eq!(union, DirtyParts::ALL);
    }

    #[test]
    fn all_matches_the_migration_default() {
        for backend in ["sqlite", "postgres"] {
            let path = format!(
                "{}/../migrations/{backend}/0002_dirty_parts.sql",
                env!("CARGO_MANIFEST_DIR")
            );
            let sql = std::fs::read_to_string(&path).expect("migration");
            let expected = format!("DEFAULT {};", DirtyParts::ALL.bits());
            assert!(sql.contains(&expected), "{path} must declare {expected}");
        }
    }
}
