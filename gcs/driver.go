// Package gcs is the stowage backend for Google Cloud Storage, built on
// cloud.google.com/go/storage, plus a small client for the JSON batch
// endpoint that the Go SDK does not offer.
//
// It is registered as "gcs": import it for its side effect and call
// driver.Open(ctx, "gcs", params) with distribution-style parameters (see
// FromParameters), or build a Config and call New.
//
// The Driver is a driver.Store over this package's backend: the Store does
// the path and context checks, the error mapping, Stat, List, Walk,
// directory Delete, DeleteFiles with its per-item retries and URLFor's
// options for every cloud backend; this package holds the GCS requests
// those call.
//
// Paths map to object names by dropping the leading "/" and prefixing the
// root directory (driver.KeyMap): with rootdirectory "registry",
// "/docker/x" is the object "registry/docker/x". DeleteFiles sends JSON
// batch requests of up to 100 deletes (POST /batch/storage/v1), Delete and
// Walk list flat (one list request per 1,000 objects), Writer keeps
// uncommitted parts as hidden objects that survive the process and
// composes them at Commit (a committed file it continues is copied
// server-side as the first part), Move rewrites server-side, CopyFrom
// rewrites from another gcs Driver of the same endpoint and credentials
// (driver.ServerSideCopier, for stowage cp), StagedUploads and
// PurgeStagedUpload list and remove abandoned uploads
// (driver.UploadStager, for stowage uploads), and URLFor signs V4 URLs
// with a service account key.
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
	"io"
	"net/url"

	"cloud.google.com/go/storage"

	"github.com/stowage-dev/stowage/driver"
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

// Driver is the GCS StorageDriver: a driver.Store over the GCS backend.
// It is safe for concurrent use.
type Driver struct {
	*driver.Store
	client *storage.Client
	b      *backend
}

var _ driver.StorageDriver = (*Driver)(nil)

// backend is the driver.Backend of GCS: the SDK's requests and the batch
// client's.
type backend struct {
	cfg    Config
	bucket *storage.BucketHandle
	batch  *batchClient
	keys   driver.KeyMap
	// signHost and signInsecure point URLFor's URLs at an emulator
	// endpoint ("" for GCS itself).
	signHost     string
	signInsecure bool
}

var _ driver.Backend = (*backend)(nil)

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
	keys := driver.NewKeyMap(c.RootDirectory)
	b := &backend{cfg: c, bucket: client.Bucket(c.Bucket), batch: batch, keys: keys}
	if c.Endpoint != DefaultEndpoint {
		u, err := url.Parse(c.Endpoint) // checked by normalize
		if err != nil {
			return nil, &driver.ConfigError{DriverName: DriverName, Parameter: "endpoint", Err: err}
		}
		b.signHost, b.signInsecure = u.Host, u.Scheme == "http"
	}
	caps := driver.Capabilities{
		HTTP:            true,
		DeleteBatchSize: MaxDeleteBatchSize,
		ListPageSize:    ListPageSize,
		StartAfter:      true,
		SignedURLs:      c.GoogleAccessID != "",
		MaxURLExpiry:    MaxURLExpiry,
		HiddenPrefix:    hiddenDir + "/",
	}
	return &Driver{Store: driver.NewStore(DriverName, b, keys, caps, c.CommonConfig), client: client, b: b}, nil
}

// Client returns the SDK client the driver uses, for operations stowage
// does not cover.
func (d *Driver) Client() *storage.Client { return d.client }

// Close releases the SDK client's resources.
func (d *Driver) Close() error { return d.client.Close() }

// hiddenPrefix is the name prefix of the driver's bookkeeping objects.
func (b *backend) hiddenPrefix() string { return b.keys.Prefix + hiddenDir + "/" }

// Head implements driver.Backend with one metadata GET.
func (b *backend) Head(ctx context.Context, path string) (driver.Object, error) {
	attrs, err := b.bucket.Object(b.keys.Key(path)).Attrs(ctx)
	if err != nil {
		return driver.Object{}, err
	}
	return driver.Object{Size: attrs.Size, ModTime: attrs.Updated}, nil
}

// Read implements driver.Backend with one ranged GET. The SDK's reader
// pins the object's generation and, when the connection drops in the
// middle of the body, asks again for the rest from the current offset, so
// a replaced object is never spliced in; the download's requests are
// bounded by 1 + Config.MaxRetries (see limitDownloads), after which the
// Reader fails. GCS answers an offset at or beyond the end 416
// (driver.KindInvalidRange).
func (b *backend) Read(ctx context.Context, path string, offset int64) (io.ReadCloser, error) {
	ctx = withDownloadBudget(ctx, 1+b.cfg.Retries())
	return b.bucket.Object(b.keys.Key(path)).NewRangeReader(ctx, offset, -1)
}

// Put implements driver.Backend with one upload request (retried as a
// whole on transient errors): the object appears whole or not at all.
func (b *backend) Put(ctx context.Context, path string, content []byte) error {
	return b.upload(ctx, b.keys.Key(path), content, "", nil)
}

// upload stores data as the object name in one request, sent again from
// data on transient errors up to Config.MaxRetries times, with the
// backoff of Config.Backoff (driver.CommonConfig.Retry), in storage class
// class ("" for the bucket's default), with custom metadata meta (nil for
// none). (The SDK's own upload retries,
// unlike its other calls', are bounded by time rather than attempts, so
// the driver retries uploads itself: it already holds the bytes, and
// Config.MaxRetries then means the same for every request.)
func (b *backend) upload(ctx context.Context, name string, data []byte, class string, meta map[string]string) error {
	return b.cfg.Retry(ctx, DriverName, storage.ShouldRetry, func() error { return b.uploadOnce(ctx, name, data, class, meta) })
}

// uploadOnce sends one upload request, without the SDK's buffering or
// retries (ChunkSize 0).
func (b *backend) uploadOnce(ctx context.Context, name string, data []byte, class string, meta map[string]string) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // aborts the upload if Write fails
	w := b.bucket.Object(name).NewWriter(ctx)
	w.ContentType = contentType
	w.StorageClass = class
	w.Metadata = meta
	w.ChunkSize = 0
	if _, err := w.Write(data); err != nil {
		_ = w.Close()
		return err
	}
	return w.Close()
}
