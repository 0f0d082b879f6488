-- +goose Up

-- True only for an integrator inserted while he waits for integrator-policy
-- to assign him: he has no access until then, so no UserCreated announces
-- him; his assignment publishes it and clears the flag.
ALTER TABLE users ADD COLUMN unannounced boolean NOT NULL DEFAULT false;

-- +goose Down
ALTER TABLE users DROP COLUMN unannounced;
