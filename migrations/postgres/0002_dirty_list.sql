-- The dirty rows, listed in a narrow table of their own instead of the partial index
-- `cse_dirty` on the evidence table. An update that changes an indexed column, or a column
-- of an index predicate, can never be a HOT update: with `dirty` and `dirty_since` indexed,
-- every fold and every marking wrote a new version of the row and a new entry in each of
-- the table's five indexes (a 500-row fold spent ~20 ms there). With the list apart, both
-- update only unindexed columns of the evidence row, in place on its page (the fill factor
-- leaves room for that), and the list's two small indexes take the churn.
-- Triggers keep the list equal to the `dirty` column in the statement that changes it, so
-- no write seam can forget it; they fire only when the marking actually changes.
CREATE TABLE connector_summary_dirty (
    connection_id TEXT PRIMARY KEY NOT NULL,
    dirty_since BIGINT NOT NULL
);
CREATE INDEX csd_oldest ON connector_summary_dirty (dirty_since, connection_id);
INSERT INTO connector_summary_dirty (connection_id, dirty_since)
    SELECT connection_id, COALESCE(dirty_since, 0) FROM connector_summary_evidence WHERE dirty;
DROP INDEX cse_dirty;

CREATE FUNCTION connector_summary_dirty_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'DELETE' AND NEW.dirty THEN
        INSERT INTO connector_summary_dirty (connection_id, dirty_since)
        VALUES (NEW.connection_id, COALESCE(NEW.dirty_since, 0))
        ON CONFLICT (connection_id) DO UPDATE SET dirty_since = EXCLUDED.dirty_since;
    ELSE
        DELETE FROM connector_summary_dirty WHERE connection_id = OLD.connection_id;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER csd_on_insert AFTER INSERT ON connector_summary_evidence
    FOR EACH ROW WHEN (NEW.dirty)
    EXECUTE FUNCTION connector_summary_dirty_sync();
CREATE TRIGGER csd_on_update AFTER UPDATE OF dirty, dirty_since ON connector_summary_evidence
    FOR EACH ROW WHEN (OLD.dirty IS DISTINCT FROM NEW.dirty
                       OR OLD.dirty_since IS DISTINCT FROM NEW.dirty_since)
    EXECUTE FUNCTION connector_summary_dirty_sync();
CREATE TRIGGER csd_on_delete AFTER DELETE ON connector_summary_evidence
    FOR EACH ROW WHEN (OLD.dirty)
    EXECUTE FUNCTION connector_summary_dirty_sync();

-- Room on each page for the new version of a row (a HOT update stays on its page). Applies
-- to pages written from now on; `VACUUM FULL connector_summary_evidence` rewrites the rest.
ALTER TABLE connector_summary_evidence SET (fillfactor = 70);
