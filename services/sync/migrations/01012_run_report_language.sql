-- +goose Up
-- The tenant's communication language when a run was started (identity's,
-- BCP 47), so its report is written in it: '' (runs started before this) or
-- a language without a translation is English.
ALTER TABLE sync_runs ADD COLUMN report_language text NOT NULL DEFAULT ''
    CHECK (length(report_language) <= 35);

-- +goose Down
ALTER TABLE sync_runs DROP COLUMN report_language;
