//! Bounded retries of a storage write the backend asked to retry
//! ([`StoreError::is_retryable`]: a Postgres deadlock victim or serialization failure, SQLite
//! busy, a pool timeout). Such a failure rolled the whole transaction back, so running the
//! call again is safe; passing it on would answer 500 to a request a second attempt completes.

use console_storage::error::StoreResult;
use std::future::Future;
use std::time::Duration;

/// Attempts after the first one.
const RETRIES: u32 = 4;

pub(crate) async fn retrying<T, F, Fut>(mut call: F) -> StoreResult<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = StoreResult<T>>,
{
    let mut retries = 0;
    loop {
        match call().await {
            Err(e) if e.is_retryable() && retries < RETRIES => {
                retries += 1;
                tracing::warn!(error = %e, retries, "storage asked for a retry");
                // Doubling, jittered: two victims of one deadlock do not meet again in step.
                let base = 10_u64 << retries;
                let jitter = rand::random::<u64>() % base;
                tokio::time::sleep(Duration::from_millis(base + jitter)).await;
            }
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use console_storage::StoreError;
    use std::cell::Cell;

    fn busy() -> StoreError {
        StoreError::Database(sqlx::Error::PoolTimedOut)
    }

    #[tokio::test]
    async fn a_retryable_failure_is_retried_until_the_call_succeeds() {
        let calls = Cell::new(0);
        let result = retrying(|| async {
            calls.set(calls.get() + 1);
            if calls.get() < 3 {
                Err(busy())
            } else {
                Ok(7)
            }
        })
        .await;
        assert_eq!(result.unwrap(), 7);
        assert_eq!(calls.get(), 3);
    }

    #[tokio::test]
    async fn other_failures_are_not_retried() {
        let calls = Cell::new(0);
        let result: StoreResult<()> = retrying(|| async {
            calls.set(calls.get() + 1);
            Err(StoreError::not_found("run", "r1"))
        })
        .await;
        assert!(matches!(result, Err(StoreError::NotFound { .. })));
        assert_eq!(calls.get(), 1);
    }

    #[tokio::test]
    async fn retries_are_bounded() {
        let calls = Cell::new(0);
        let result: StoreResult<()> = retrying(|| async {
            calls.set(calls.get() + 1);
            Err(busy())
        })
        .await;
        assert!(result.unwrap_err().is_retryable());
        assert_eq!(calls.get(), 1 + RETRIES);
    }
}
