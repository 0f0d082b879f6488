-- +goose Up
-- The inbox: a consumer records each processed event id in the same
-- transaction as the event's effect, so a redelivered event has no effect.
CREATE TABLE rollcall_inbox (
    consumer     text        NOT NULL,
    event_id     text        NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);
CREATE INDEX rollcall_inbox_processed_at ON rollcall_inbox (processed_at);

-- +goose Down
DROP TABLE rollcall_inbox;
