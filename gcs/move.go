package gcs

import (
	"context"

	"github.com/stowage-dev/stowage/driver"
)

// Move implements driver.Backend: a server-side rewrite (the SDK's
// Copier, which repeats the rewrite call until GCS reports it done, one
// call for most objects), then a delete of the source. A missing source
// fails the rewrite and changes nothing. Moving a file onto itself leaves
// it as it is (one metadata request checks that it exists).
func (b *backend) Move(ctx context.Context, src, dst string) error {
	from := b.bucket.Object(b.keys.Key(src))
	if src == dst {
		_, err := from.Attrs(ctx)
		return err
	}
	if _, err := b.bucket.Object(b.keys.Key(dst)).CopierFrom(from).Run(ctx); err != nil {
		return err
	}
	// A retried delete whose first attempt succeeded finds nothing: the
	// source is gone either way.
	if err := from.Delete(ctx); err != nil && b.Classify(err) != driver.KindNotFound {
		return err
	}
	return nil
}
