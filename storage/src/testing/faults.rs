//! Faults injected into a test database, for proving what a failure leaves behind.

use crate::open::Database;

/// Makes every statement that cleans `connection_id`'s evidence row fail (a trigger raising
/// "injected fold failure"), so a fold that holds that row rolls back while the others
/// commit. The row can still be marked dirty and read.
pub async fn refuse_to_fold(db: &Database, connection_id: &str) {
    // The id is interpolated into DDL (a trigger cannot take parameters): test ids only.
    assert!(
        connection_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
        "a plain id: {connection_id}"
    );
    match db {
        Database::Sqlite(pool) => {
            let sql = format!(
                "CREATE TRIGGER refuse_fold BEFORE UPDATE OF dirty ON connector_summary_evidence
                 WHEN NEW.connection_id = '{connection_id}' AND NOT NEW.dirty
                 BEGIN SELECT RAISE(ABORT, 'injected fold failure'); END"
            );
            sqlx::query(&sql)
                .execute(pool)
                .await
                .expect("sqlite trigger");
        }
        Database::Postgres(pool) => {
            let function = "CREATE FUNCTION refuse_fold() RETURNS trigger LANGUAGE plpgsql
                 AS $$ BEGIN RAISE EXCEPTION 'injected fold failure'; END $$";
            let trigger = format!(
                "CREATE TRIGGER refuse_fold BEFORE UPDATE ON connector_summary_evidence
                 FOR EACH ROW WHEN (NEW.connection_id = '{connection_id}' AND NOT NEW.dirty)
                 EXECUTE FUNCTION refuse_fold()"
            );
            for sql in [function, &trigger] {
                sqlx::query(sql)
                    .execute(pool)
                    .await
                    .expect("postgres trigger");
            }
        }
    }
}
