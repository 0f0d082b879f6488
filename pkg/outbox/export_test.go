package outbox

import "context"

// DeletePublished exposes the relay's cleanup to tests.
func DeletePublished(ctx context.Context, r *Relay) error { return r.deletePublished(ctx) }
