-- Which carried-over parts of a dirty row's evidence the writes since its last fold may have
-- changed, as bits (runs 1, open attention 2, unrecovered gaps 4; see
-- storage/src/dirty_parts.rs). A fold asks the source tables again only for those parts and
-- carries the others over from the row. The default, every part, is what a row dirtied
-- before this column existed needs: it folds in full.
ALTER TABLE connector_summary_evidence ADD COLUMN dirty_parts BIGINT NOT NULL DEFAULT 7;
