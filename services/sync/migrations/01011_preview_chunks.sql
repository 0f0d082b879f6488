-- +goose Up
-- A preview's items are kept in chunks of consecutive items rather than a
-- row each: a preview of 100,000 employees a side wrote 105,000 rows, and
-- the per-row work (encoding, the tuple, the index) was most of its time.
-- Previews are short-lived (a day), so the old rows are not carried over:
-- preview again.
DROP TABLE sync_preview_items;
CREATE TABLE sync_preview_chunks (
    preview_id uuid    NOT NULL REFERENCES sync_previews (id) ON DELETE CASCADE,
    first_seq  integer NOT NULL,
    items      integer NOT NULL CHECK (items > 0),
    -- the items first_seq .. first_seq+items-1 in the store's binary form
    -- (postgres/codec.go), already compact: not compressed again.
    data       bytea   NOT NULL,
    PRIMARY KEY (preview_id, first_seq)
);
ALTER TABLE sync_preview_chunks ALTER COLUMN data SET STORAGE EXTERNAL;

-- +goose Down
DROP TABLE sync_preview_chunks;
CREATE TABLE sync_preview_items (
    preview_id uuid     NOT NULL REFERENCES sync_previews (id) ON DELETE CASCADE,
    seq        integer  NOT NULL,
    kind       smallint NOT NULL,
    flags      smallint NOT NULL,
    data       bytea    NOT NULL,
    PRIMARY KEY (preview_id, seq)
);
