//! Statement texts built once per process. Most of storage's statements depend only on the
//! backend and on a few kinds of call (a fold's or a read's extraction, a locked claim or
//! not); written with `format!` on every call they were a fifth of a Postgres detail read's
//! instructions (docs/performance.md, "Twenty-ninth round").

use std::sync::OnceLock;

/// One statement's texts, one per kind (an index below `N`), each built the first time it
/// is asked for and kept for the process's life. Declared `static` in the backend code,
/// which is compiled once per backend, so each backend keeps its own.
pub(crate) struct BuiltOnce<T, const N: usize>([OnceLock<T>; N]);

impl<T, const N: usize> BuiltOnce<T, N> {
    pub(crate) const fn new() -> Self {
        Self([const { OnceLock::new() }; N])
    }

    /// The text of `kind`, built by `build` if this is the first time it is asked for.
    pub(crate) fn get(&self, kind: usize, build: impl FnOnce() -> T) -> &T {
        self.0[kind].get_or_init(build)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    #[test]
    fn each_kind_is_built_once_and_kept() {
        static TEXTS: BuiltOnce<String, 2> = BuiltOnce::new();
        let builds = Cell::new(0);
        let build = |text: &str| {
            builds.set(builds.get() + 1);
            text.to_owned()
        };
        assert_eq!(TEXTS.get(0, || build("zero")), "zero");
        assert_eq!(TEXTS.get(1, || build("one")), "one");
        assert_eq!(TEXTS.get(0, || build("again")), "zero");
        assert_eq!(TEXTS.get(1, || build("again")), "one");
        assert_eq!(builds.get(), 2);
    }
}
