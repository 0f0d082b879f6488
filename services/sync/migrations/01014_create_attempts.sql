-- +goose Up

-- The emails the propagator has tried to create the employee in the ERP
-- with, written before each create call. A create whose answer was lost
-- (timeout, cut connection, the process killed before it recorded the
-- answer) may have landed; when HR changed the email since, the retry's
-- create would make a second ERP employee. The next attempt looks these
-- emails up first and adopts the one it made. Cleared once the employee
-- is linked.
ALTER TABLE employees ADD COLUMN create_attempts text[] NOT NULL DEFAULT '{}';

-- +goose Down
ALTER TABLE employees DROP COLUMN create_attempts;
