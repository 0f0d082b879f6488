// Package bus carries Rollcall's protobuf events over NATS JetStream.
//
// It owns the stream layout (one stream per bounded context plus a dead-letter
// stream), the wire envelope (CloudEvents binary-mode headers, Nats-Msg-Id equal
// to the event id for broker-side de-duplication, W3C trace context in
// lowercase headers), publishing, and a durable pull-consumer Runner with
// explicit acks, back-off, InProgress heart-beats for slow handlers and
// dead-lettering of messages that cannot or will not be processed. A
// consumer's handler takes one message at a time (Handler, Typed) or the
// messages that arrived together (BatchHandler, TypedBatch: one transaction
// for many, with a verdict per message, so one bad message is dead-lettered
// or retried alone).
//
// It is not where effects become idempotent: the broker only de-duplicates
// within its duplicate window, so consumers record processed event ids with the
// inbox package, and producers write events through the outbox package rather
// than publishing from a request handler.
package bus
