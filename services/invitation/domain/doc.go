// Package domain holds the invitation rules of seeds 000 (integration user),
// 001 (invite a user) and 003 (integrator): what an invitation may grant and
// to whom, the single-use link token, the one-time code with its attempt
// limit, the lifetime, and the state transitions from pending to accepted,
// expired, revoked or locked.
//
// It does no I/O: no clock (callers pass now), no database, no network. The
// only outside input it needs is randomness, which it takes from crypto/rand,
// and the code-hashing key, which the caller passes. Persistence, events and
// delivery of the link and code are the app and adapters layers' work.
package domain
