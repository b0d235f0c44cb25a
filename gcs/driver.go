// Package gcs is the stowage backend for Google Cloud Storage, built on
// cloud.google.com/go/storage, plus a small client for the JSON batch
// endpoint that the Go SDK does not offer.
//
// It is registered as "gcs": import it for its side effect and call
// driver.Open(ctx, "gcs", params) with distribution-style parameters (see
// FromParameters), or build a Config and call New.
//
// Paths map to object names by dropping the leading "/" and prefixing the
// root directory: with rootdirectory "registry", "/docker/x" is the object
// "registry/docker/x". DeleteFiles sends JSON batch requests of up to 100
// deletes (POST /batch/storage/v1), Delete and Walk list flat (one list
// request per 1,000 objects), Writer keeps uncommitted parts as hidden
// objects that survive the process and composes them at Commit (a
// committed file it continues is copied server-side as the first part),
// Move rewrites server-side, and URLFor signs V4 URLs with a service
// account key.
//
// Every request, the SDK's and the batch client's, goes through one
// *http.Client (Config.HTTPClient, with OAuth2 credentials added unless
// Config.Anonymous), so counting or fault-injecting transports see all of
// them. Only the credentials' own token requests bypass it.
//
// Uncommitted writer state lives under <root>/~stowage/uploads/. No valid
// path can reach that name ("~" is not a path character), and List, Walk
// and Stat leave it out.
package gcs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"cloud.google.com/go/storage"
	"google.golang.org/api/iterator"

	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/internal/wait"
)

// DriverName is the name the backend is registered under and that its
// errors carry.
const DriverName = "gcs"

// hiddenDir is the directory, directly under the root, that holds the
// driver's bookkeeping objects. "~" is outside the path alphabet, so no
// valid path names it, and it sorts after every valid name.
const hiddenDir = "~stowage"

// contentType is the Content-Type of every object the driver writes.
const contentType = "application/octet-stream"

// Driver is the GCS StorageDriver. It is safe for concurrent use.
type Driver struct {
	cfg    Config
	hc     *http.Client
	client *storage.Client
	bucket *storage.BucketHandle
	batch  *batchClient
	prefix string // rootdirectory + "/", or "" for the bucket's root
}

var _ driver.StorageDriver = (*Driver)(nil)

// New builds a Driver from c. It sends no request: a wrong bucket or
// credentials show up on first use.
func New(ctx context.Context, c Config) (*Driver, error) {
	c, err := c.normalize()
	if err != nil {
		return nil, err
	}
	hc, err := newHTTPClient(ctx, c)
	if err != nil {
		return nil, err
	}
	client, err := newStorageClient(ctx, c, hc)
	if err != nil {
		return nil, err
	}
	batch, err := newBatchClient(hc, c.Endpoint, c.Bucket)
	if err != nil {
		return nil, err
	}
	d := &Driver{cfg: c, hc: hc, client: client, bucket: client.Bucket(c.Bucket), batch: batch}
	if c.RootDirectory != "" {
		d.prefix = c.RootDirectory + "/"
	}
	return d, nil
}

// Name implements driver.StorageDriver.
func (d *Driver) Name() string { return DriverName }

// Client returns the SDK client the driver uses, for operations stowage
// does not cover.
func (d *Driver) Client() *storage.Client { return d.client }

// Close releases the SDK client's resources.
func (d *Driver) Close() error { return d.client.Close() }

// key maps a valid path (not "/") to its object name.
func (d *Driver) key(path string) string { return d.prefix + path[1:] }

// dirPrefix maps a valid directory path ("/" included) to the name prefix
// of everything under it.
func (d *Driver) dirPrefix(path string) string {
	if path == "/" {
		return d.prefix
	}
	return d.prefix + path[1:] + "/"
}

// hiddenPrefix is the name prefix of the driver's bookkeeping objects.
func (d *Driver) hiddenPrefix() string { return d.prefix + hiddenDir + "/" }

// pathOf maps an object name under the root back to its path; ok is false
// for a name that is not a valid path (the driver's own bookkeeping, or
// foreign names such as "a//b" or "a/b/" markers), which listings leave
// out.
func (d *Driver) pathOf(name string) (string, bool) {
	rel, found := strings.CutPrefix(name, d.prefix)
	if !found || rel == "" {
		return "", false
	}
	p := "/" + rel
	if driver.ValidatePath(DriverName, p) != nil {
		return "", false
	}
	return p, true
}

// GetContent implements driver.StorageDriver.
func (d *Driver) GetContent(ctx context.Context, path string) ([]byte, error) {
	rc, err := d.Reader(ctx, path, 0)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		return nil, d.wrap(ctx, "GetContent", path, err)
	}
	return b, nil
}

// PutContent implements driver.StorageDriver with one upload request
// (retried as a whole on transient errors): the object appears whole or not
// at all.
func (d *Driver) PutContent(ctx context.Context, path string, content []byte) error {
	if err := driver.ValidatePath(DriverName, path); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := d.upload(ctx, d.key(path), content); err != nil {
		return d.wrap(ctx, "PutContent", path, err)
	}
	return nil
}

// upload stores data as the object name in one request, sent again from
// data on transient errors up to Config.MaxRetries times. (The SDK's own
// upload retries, unlike its other calls', are bounded by time rather than
// attempts, so the driver retries uploads itself: it already holds the
// bytes, and Config.MaxRetries then means the same for every request.)
func (d *Driver) upload(ctx context.Context, name string, data []byte) error {
	return d.retry(ctx, func() error { return d.uploadOnce(ctx, name, data) })
}

// uploadOnce sends one upload request, without the SDK's buffering or
// retries (ChunkSize 0).
func (d *Driver) uploadOnce(ctx context.Context, name string, data []byte) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // aborts the upload if Write fails
	w := d.bucket.Object(name).NewWriter(ctx)
	w.ContentType = contentType
	w.ChunkSize = 0
	if _, err := w.Write(data); err != nil {
		_ = w.Close()
		return err
	}
	return w.Close()
}

// retry calls fn until it succeeds, fails with an error the SDK does not
// retry, ctx ends, or Config.MaxRetries retries are spent, with full-jitter
// exponential backoff in between.
func (d *Driver) retry(ctx context.Context, fn func() error) error {
	bo := backoff{base: d.cfg.RetryBaseDelay, max: d.cfg.RetryMaxBackoff}
	for attempt := 1; ; attempt++ {
		err := fn()
		if err == nil || ctx.Err() != nil || attempt > d.cfg.retries() || !storage.ShouldRetry(err) {
			return err
		}
		d.cfg.Logger.Debug("gcs: retrying", "attempt", attempt, "error", err)
		if werr := wait.Sleep(ctx, bo.delay(attempt)); werr != nil {
			return fmt.Errorf("%w (after %v)", werr, err)
		}
	}
}

// Stat implements driver.StorageDriver: one metadata GET for a file, then
// one list request of at most one object for a directory. The root always
// exists.
func (d *Driver) Stat(ctx context.Context, path string) (driver.FileInfo, error) {
	if err := driver.ValidateDirPath(DriverName, path); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if path == "/" {
		return driver.FileInfoFields{FilePath: "/", Dir: true}, nil
	}
	attrs, err := d.bucket.Object(d.key(path)).Attrs(ctx)
	if err == nil {
		return driver.FileInfoFields{FilePath: path, FileSize: attrs.Size, FileModTime: attrs.Updated}, nil
	}
	if err := d.wrap(ctx, "Stat", path, err); !isPathNotFound(err) {
		return nil, err
	}
	isDir, err := d.dirExists(ctx, path)
	if err != nil {
		return nil, err
	}
	if !isDir {
		return nil, &driver.PathNotFoundError{Path: path, DriverName: DriverName}
	}
	return driver.FileInfoFields{FilePath: path, Dir: true}, nil
}

// isPathNotFound reports whether err is a *driver.PathNotFoundError.
func isPathNotFound(err error) bool {
	var nf *driver.PathNotFoundError
	return errors.As(err, &nf)
}

// dirExists reports whether any object lies under the directory path.
func (d *Driver) dirExists(ctx context.Context, path string) (bool, error) {
	q := &storage.Query{Prefix: d.dirPrefix(path)}
	if err := q.SetAttrSelection([]string{"Name"}); err != nil {
		return false, err
	}
	var objs []*storage.ObjectAttrs
	if _, err := iterator.NewPager(d.bucket.Objects(ctx, q), 1, "").NextPage(&objs); err != nil {
		return false, d.wrap(ctx, "Stat", path, err)
	}
	return len(objs) > 0, nil
}
