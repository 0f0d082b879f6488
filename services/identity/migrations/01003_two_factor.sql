-- +goose Up

-- Whether two-factor authentication is required when this person signs in
-- to this tenant. Kept per membership, not per person: each tenant's
-- administrators decide for their own people (seed 003: the integrator may
-- not turn it off), and one tenant's choice never weakens another's.
ALTER TABLE users ADD COLUMN two_factor boolean NOT NULL DEFAULT false;

-- +goose Down
ALTER TABLE users DROP COLUMN two_factor;
