//! Maps and sets keyed by connection id, the fold's and the read's bookkeeping: every
//! extracted part, claim, published row and fresh evidence is looked up by its id, thousands
//! of times per fold. With std's SipHash, hashing and growing these maps took 6% of a
//! Postgres fold's instructions in this process (docs/performance.md, thirty-fourth round);
//! foldhash's `fast` hasher costs a fraction of that on short keys. It is still seeded
//! randomly, so ids chosen to collide cannot be prepared in advance.

use std::collections::{HashMap, HashSet};

pub(crate) type IdHasher = foldhash::fast::RandomState;

/// Values by connection id.
pub(crate) type IdMap<V> = HashMap<String, V, IdHasher>;

/// A set of connection ids.
pub(crate) type IdSet = HashSet<String, IdHasher>;

/// An empty [`IdMap`] with room for `capacity` ids (a fold knows how many it takes).
pub(crate) fn id_map<V>(capacity: usize) -> IdMap<V> {
    IdMap::with_capacity_and_hasher(capacity, IdHasher::default())
}
