package outbox

import "context"

// DeletePublished exposes the relay's cleanup to tests.
func DeletePublished(ctx context.Context, r *Relay) error {
	_, err := r.deletePublished(ctx)
	return err
}

// Cleanup exposes the relay's periodic cleanup to tests.
func Cleanup(ctx context.Context, r *Relay) { r.cleanup(ctx) }
