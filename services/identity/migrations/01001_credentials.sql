-- +goose Up

-- A login belongs to the person, not to one tenant membership. A person is
-- one user id with a row in users per tenant he belongs to; an existing
-- profile who accepts an invitation to another tenant keeps his user id and
-- signs in there with the login he already has (seed 001). Keeping the
-- credential once, keyed by user id, means every membership finds it, and a
-- password reset or a new login subject applies to all of them at once; a
-- copy per membership would drift apart. Membership state (active,
-- deactivated, role, grants) stays per tenant in users.
CREATE TABLE credentials (
    user_id           uuid PRIMARY KEY,
    -- how the credential is presented (invitation.v1.LoginMethod values:
    -- 1 BankID, 2 provider profile, 3 password)
    method            smallint NOT NULL,
    -- the login provider's stable subject (BankID, provider profile)
    external_subject  text NOT NULL DEFAULT '',
    -- password logins of people and integration users: the address typed
    -- at sign-in (service users sign in by user code instead)
    login_email       text NOT NULL DEFAULT '',
    password_hash     text NOT NULL DEFAULT '',
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL
);
CREATE INDEX credentials_external_subject ON credentials (external_subject) WHERE external_subject <> '';
CREATE INDEX credentials_login_email ON credentials (lower(login_email)) WHERE login_email <> '';

-- Until now each membership row carried its own credential; an existing
-- profile's later memberships had none (login method EXISTING).
INSERT INTO credentials (user_id, method, external_subject, login_email, password_hash, created_at, updated_at)
SELECT DISTINCT ON (id) id,
       CASE WHEN user_code IS NOT NULL THEN 3 ELSE login_method END,
       external_subject,
       CASE WHEN user_code IS NULL AND password_hash <> '' THEN lower(email) ELSE '' END,
       password_hash, created_at, updated_at
FROM users
WHERE external_subject <> '' OR password_hash <> ''
ORDER BY id, created_at;

DROP INDEX users_external_subject;
ALTER TABLE users DROP COLUMN external_subject, DROP COLUMN password_hash;

-- +goose Down
ALTER TABLE users ADD COLUMN external_subject text NOT NULL DEFAULT '', ADD COLUMN password_hash text NOT NULL DEFAULT '';
UPDATE users u SET external_subject = c.external_subject, password_hash = c.password_hash
FROM credentials c WHERE c.user_id = u.id AND u.login_method <> 4;
CREATE INDEX users_external_subject ON users (tenant_id, external_subject) WHERE external_subject <> '';
DROP TABLE credentials;
