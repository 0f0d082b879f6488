// Package platform runs Rollcall service modules: for each module it opens
// the module's database pool, applies its migrations (the shared outbox and
// inbox tables first), starts its outbox relay and event consumers, and
// mounts its Connect handlers on one HTTP server with health, readiness,
// reflection and metrics. A service binary runs one module; `rollcall dev`
// runs all four in one process on one port.
//
// It is not where business rules live: a module's Build wires its own domain,
// use cases and adapters and hands back only what the platform must run.
package platform
