// Package domain holds the identity service's rules, with no I/O: users of
// each kind and their states, roles and who may do what, the seat rule, the
// sponsor rule for integration users, service-user codes, bearer tokens and
// password hashing, and the checks of national identity numbers that the
// BankID stand-in applies.
//
// It is not a persistence model: the Postgres adapter maps these types to
// rows. Grants are the contract type (common.v1.Grants) because the
// invitation carries them and identity stores them exactly as invited.
package domain
