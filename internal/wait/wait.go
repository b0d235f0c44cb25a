// Package wait holds the context-aware sleep that backoff loops share.
package wait

import (
	"context"
	"time"
)

// Sleep waits for d, or until ctx ends and then returns ctx's error,
// whichever comes first. A d of zero or less returns at once (with ctx's
// error if it has already ended).
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
