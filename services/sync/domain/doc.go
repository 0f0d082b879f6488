// Package domain holds the sync service's rules, without I/O: an employee's
// HR state merged change by change under per-field HR versions (an older
// change never overwrites a newer one, a duplicate changes nothing), the
// seed's field map from HR to the ERP (with the address split and the
// identification that can never be unset in the ERP), the plan of what to
// write (only what differs), and per-field provenance.
//
// For a synchronisation run (the first one, and every manual "synchronize
// users"): the comparison of both sides (Compare: matched by link, then by
// email; conflicts, missing values, employees on one side only, rule
// violations) and the plan of each employee under the admin's decisions
// (PlanItem: which side wins, what fills a missing value, what is never
// cleared), with the threshold that stops a run overwriting too much.
//
// It is not where ERP calls, retries or storage happen (app, adapters).
package domain
