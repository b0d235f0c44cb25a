package gcs

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"cloud.google.com/go/storage"

	"github.com/stowage-dev/stowage/driver"
)

// errSourceChanged is the cause of a Move whose source was replaced or
// deleted while it ran; Classify calls it driver.KindOther, so it is never
// taken for a missing source.
var errSourceChanged = errors.New("the source changed during the move and was left in place")

// Move implements driver.Backend, pinned to one generation of the source
// and conditional on it: one metadata request reads the source's
// generation (a missing source fails here and changes nothing), a
// server-side rewrite (the SDK's Copier, which repeats the rewrite call
// until GCS reports it done, one call for most objects) copies exactly
// that generation (sourceGeneration), and the delete of the source is
// conditional on it (ifGenerationMatch). So a source overwritten during
// the Move is never lost nor half-copied: when it changed before the
// rewrite, the rewrite of the vanished generation finds nothing and
// creates nothing; when it changed after, GCS answers the delete 412 and
// the new content stays at the source, the destination holding the
// generation that was moved. Either way Move fails with an error wrapping
// errSourceChanged (not a *driver.PathNotFoundError: the source exists).
// Moving a file onto itself leaves it as it is (the metadata request
// checks that it exists).
func (b *backend) Move(ctx context.Context, src, dst string) error {
	from := b.bucket.Object(b.keys.Key(src))
	attrs, err := from.Attrs(ctx)
	if err != nil || src == dst {
		return err
	}
	pinned := from.Generation(attrs.Generation)
	if _, err := b.bucket.Object(b.keys.Key(dst)).CopierFrom(pinned).Run(ctx); err != nil {
		if b.Classify(err) == driver.KindNotFound {
			return fmt.Errorf("%w (generation %d): %w", errSourceChanged, attrs.Generation, err)
		}
		return err
	}
	// A retried delete whose first attempt succeeded finds nothing: the
	// source is gone either way.
	err = from.If(storage.Conditions{GenerationMatch: attrs.Generation}).Delete(ctx)
	switch {
	case err == nil, b.Classify(err) == driver.KindNotFound:
		return nil
	case httpStatus(err) == http.StatusPreconditionFailed:
		return fmt.Errorf("%w (generation %d was copied): %w", errSourceChanged, attrs.Generation, err)
	}
	return err
}
