package gcs

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/stowage-dev/stowage/driver"
)

var _ driver.ServerSideCopier = (*Driver)(nil)

// errCopySourceChanged is the cause of a CopyFrom whose source was
// replaced or deleted between its metadata read and its rewrite; Classify
// calls it driver.KindOther, so it is never taken for a missing source.
var errCopySourceChanged = errors.New("the source changed before it was copied")

// CopyFrom implements driver.ServerSideCopier: it copies srcPath of src,
// another gcs Driver (another bucket or root directory), to dstPath
// server-side, pinned to one generation of the source, as Move copies:
// one metadata request reads the source's generation (a missing source,
// or a directory, is a *driver.PathNotFoundError and nothing is created),
// then a rewrite of exactly that generation (the SDK's Copier, which
// repeats the rewrite call until GCS reports it done: one call unless a
// large object changes location or storage class on the way). A source
// replaced in between is not copied: the rewrite of the vanished
// generation creates nothing and CopyFrom fails with an error that is not
// a *driver.PathNotFoundError. The bytes never pass through the client.
// The copy keeps the source's content type and custom metadata; like
// PutContent, it asks for no storage class.
//
// "Same account", for GCS, is: both drivers talk to the same endpoint
// (Config.Endpoint, normalised) with the same credentials (both
// Anonymous, or the same Credentials/KeyFile document, or both with
// Application Default Credentials). Only then can the destination's
// credentials, which send both requests, be expected to read the source
// bucket; nothing else tells that they can. Config.HTTPClient is not
// compared: it carries the requests, not the identity. Otherwise
// CopyFrom returns false and does nothing. Once it has decided to copy it
// returns true, with the copy's error if any.
func (d *Driver) CopyFrom(ctx context.Context, src driver.StorageDriver, srcPath, dstPath string) (bool, error) {
	s, ok := src.(*Driver)
	if !ok || !d.b.sameAccount(s.b) {
		return false, nil
	}
	if err := driver.ValidatePaths(DriverName, srcPath, dstPath); err != nil {
		return false, err
	}
	if err := ctx.Err(); err != nil {
		return false, err
	}
	// Both requests go through the destination's client: its credentials
	// are the ones that must read the source.
	from := d.client.Bucket(s.b.cfg.Bucket).Object(s.b.keys.Key(srcPath))
	attrs, err := from.Attrs(ctx)
	if err != nil {
		return true, d.b.wrap(ctx, "CopyFrom", srcPath, err)
	}
	to := d.b.bucket.Object(d.b.keys.Key(dstPath))
	if s.b.cfg.Bucket == d.b.cfg.Bucket && from.ObjectName() == to.ObjectName() {
		return true, nil // onto itself
	}
	if _, err := to.CopierFrom(from.Generation(attrs.Generation)).Run(ctx); err != nil {
		if d.b.Classify(err) == driver.KindNotFound {
			err = fmt.Errorf("%w (generation %d): %w", errCopySourceChanged, attrs.Generation, err)
		}
		return true, d.b.wrap(ctx, "CopyFrom", dstPath, err)
	}
	return true, nil
}

// sameAccount reports whether o reaches the same endpoint with the same
// credentials as b (see CopyFrom).
func (b *backend) sameAccount(o *backend) bool {
	c, oc := b.cfg, o.cfg
	return c.Endpoint == oc.Endpoint && c.Anonymous == oc.Anonymous &&
		(c.Anonymous || bytes.Equal(c.Credentials, oc.Credentials))
}
