//! The two sqlx backends. The SQL is written once, in `shared/`, and compiled twice: once
//! per concrete database type (`SqlitePool`, `PgPool`), with the few dialect differences
//! behind [`crate::dialect::Dialect`]; the one part written per backend is how the streamed
//! list reads its rows ([`crate::list_reader`]).

macro_rules! backend {
    ($db:ty, $dialect:ty, $list_reader:path) => {
        #[allow(unused_imports)]
        use crate::codec::*;
        #[allow(unused_imports)]
        use crate::dialect::Dialect as _;
        #[allow(unused_imports)]
        use crate::error::{StoreError, StoreResult};
        #[allow(unused_imports)]
        use sqlx::Row as _;

        /// The concrete database type.
        pub(crate) type Db = $db;
        /// This backend's SQL dialect.
        pub(crate) type D = $dialect;
        pub(crate) type Conn = <$db as sqlx::Database>::Connection;
        pub(crate) type DbRow = <$db as sqlx::Database>::Row;
        pub(crate) type Pool = sqlx::Pool<$db>;
        pub(crate) type PoolConn = sqlx::pool::PoolConnection<$db>;
        /// How this backend's set-based statements receive evidence rows.
        pub(crate) type EvidenceRows = <$dialect as crate::dialect::Dialect>::EvidenceRows;
        /// How this backend's streamed list reads its rows.
        pub(crate) use $list_reader as list_reader;

        /// Shared helpers: write transactions, the global write sequence, dirty marking.
        pub(crate) mod common {
            use super::*;
            include!("shared/common.rs");
        }
        pub(crate) mod connectors {
            use super::*;
            include!("shared/connectors.rs");
        }
        pub(crate) mod connections {
            use super::*;
            include!("shared/connections.rs");
        }
        pub(crate) mod schedules {
            use super::*;
            include!("shared/schedules.rs");
        }
        pub(crate) mod runs {
            use super::*;
            include!("shared/runs.rs");
        }
        pub(crate) mod attention {
            use super::*;
            include!("shared/attention.rs");
        }
        pub(crate) mod records {
            use super::*;
            include!("shared/records.rs");
        }
        pub(crate) mod settings {
            use super::*;
            include!("shared/settings.rs");
        }
        /// The connector-summary read model: extraction, fold, page reads, rebuild.
        pub(crate) mod read_model {
            use super::*;
            pub(crate) mod extract {
                use super::*;
                include!("shared/read_model/extract.rs");
            }
            pub(crate) mod fold {
                use super::*;
                include!("shared/read_model/fold.rs");
            }
            pub(crate) mod page {
                use super::*;
                include!("shared/read_model/page.rs");
            }
            pub(crate) mod rebuild {
                use super::*;
                include!("shared/read_model/rebuild.rs");
            }
        }
        /// Benchmark fixtures: generated source rows in big transactions.
        #[cfg(feature = "testing")]
        pub(crate) mod fixture {
            use super::*;
            include!("shared/fixture.rs");
        }
        mod store_impl {
            use super::*;
            include!("shared/store_impl.rs");
        }
        pub use store_impl::BackendStore;
    };
}

/// SQLite (`SqlitePool`).
pub mod sqlite {
    backend!(
        sqlx::Sqlite,
        crate::dialect::Sqlite,
        crate::list_reader::sqlite
    );
}

/// Postgres (`PgPool`).
pub mod postgres {
    backend!(
        sqlx::Postgres,
        crate::dialect::Postgres,
        crate::list_reader::postgres
    );
}
