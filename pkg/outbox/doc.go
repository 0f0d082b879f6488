// Package outbox makes "state changed" and "event published" one atomic fact.
//
// A use case calls Append (or AppendBatch for many events in one statement,
// or QueueAppendBatch to send them in the round trip of its own pipelined
// statements) inside the same transaction that changes its state;
// the Relay later publishes every committed row to JetStream and marks it
// published. The relay never tracks a high-water mark, so a row whose
// transaction committed after a row with a larger id is still found, and a
// per-aggregate sequence (taken under a row lock that is held until commit)
// makes the events of one aggregate publish in commit order. The relay sends
// each batch in waves holding at most one event per aggregate, so a broker
// failure part-way cannot store a later event of an aggregate before an
// earlier one, and an aggregate that cannot publish holds back only itself.
// A relay killed
// mid-batch republishes the unmarked rows when it restarts; JetStream drops
// them as duplicates because the broker id is the event id.
//
// It is not a queue for work inside a service, and it does not retry a
// consumer's failures: that is the bus Runner's job.
package outbox
