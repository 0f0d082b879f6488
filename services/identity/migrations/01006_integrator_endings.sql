-- +goose Up

-- An integrator integrator-policy replaced or dismissed before identity
-- applied his InviteAccepted (identity's invitation consumer lagged). The
-- ending is kept so that, when his acceptance arrives, he is created
-- deactivated: a late acceptance or assignment never opens the access of
-- an integrator who is gone. Integrator user ids are new per accepted
-- invitation, so a row never matches someone else.
CREATE TABLE integrator_endings (
    tenant_id  uuid NOT NULL,
    user_id    uuid NOT NULL,
    reason     integer NOT NULL,
    ended_by   text NOT NULL DEFAULT '',
    ended_at   timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, user_id)
);

-- +goose Down
DROP TABLE integrator_endings;
