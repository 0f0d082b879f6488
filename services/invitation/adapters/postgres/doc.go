// Package postgres stores invitations and writes their events to the outbox
// in the same transaction. Updates lock the invitation's row (SELECT ... FOR
// UPDATE), so two requests on one invitation (two accepts, an accept and a
// revoke) run one after the other: exactly one accept wins.
//
// It is not where rules live: it loads an aggregate, hands it to the
// caller's closure (the domain decides), and saves what the closure left.
package postgres
