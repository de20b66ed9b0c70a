-- The dirty rows, listed in a narrow table of their own instead of a partial index on the
-- evidence table (see the Postgres migration of the same name for why). Triggers keep the
-- list equal to the `dirty` column in the statement that changes it, so no write seam can
-- forget it and the sweeper still finds the oldest dirty rows by index.
CREATE TABLE connector_summary_dirty (
    connection_id TEXT PRIMARY KEY NOT NULL,
    dirty_since BIGINT NOT NULL
);
CREATE INDEX csd_oldest ON connector_summary_dirty (dirty_since, connection_id);
INSERT INTO connector_summary_dirty (connection_id, dirty_since)
    SELECT connection_id, COALESCE(dirty_since, 0) FROM connector_summary_evidence WHERE dirty;
DROP INDEX cse_dirty;

CREATE TRIGGER csd_on_insert AFTER INSERT ON connector_summary_evidence
WHEN NEW.dirty
BEGIN
    INSERT OR REPLACE INTO connector_summary_dirty (connection_id, dirty_since)
    VALUES (NEW.connection_id, COALESCE(NEW.dirty_since, 0));
END;

CREATE TRIGGER csd_on_update AFTER UPDATE OF dirty, dirty_since ON connector_summary_evidence
WHEN OLD.dirty IS NOT NEW.dirty OR OLD.dirty_since IS NOT NEW.dirty_since
BEGIN
    DELETE FROM connector_summary_dirty WHERE connection_id = NEW.connection_id AND NOT NEW.dirty;
    INSERT OR REPLACE INTO connector_summary_dirty (connection_id, dirty_since)
    SELECT NEW.connection_id, COALESCE(NEW.dirty_since, 0) WHERE NEW.dirty;
END;

CREATE TRIGGER csd_on_delete AFTER DELETE ON connector_summary_evidence
WHEN OLD.dirty
BEGIN
    DELETE FROM connector_summary_dirty WHERE connection_id = OLD.connection_id;
END;
