// Package azure is the stowage backend for Azure Blob Storage (and the
// Azurite emulator), built on azure-sdk-for-go's azblob.
//
// It is registered as "azure": import it for its side effect and call
// driver.Open(ctx, "azure", params) with distribution-style parameters (see
// FromParameters), or build a Config and call New.
//
// The driver is a driver.Store over a backend of azblob requests: the Store
// does the path and context checks, error mapping, Stat, List, Walk,
// directory Delete, batching and per-blob retries, and URLFor's options;
// this package sends the requests. Paths map to blob names with a
// driver.KeyMap: with rootdirectory "registry", "/docker/x" is the blob
// "registry/docker/x" in the configured container; a path component
// ending in "." is escaped, as Azure trims such dots (see keys.go).
// DeleteFiles sends blob batch requests of up to 256 deletes, Delete and
// Walk list flat (one List Blobs request per 5,000 blobs), Writer stages
// blocks of a hidden staging block blob that survive the process
// (writer.go has the details), Move copies server-side and URLFor signs a
// service SAS with the shared key.
//
// URLFor has no upper bound on "expiry" (Capabilities.MaxURLExpiry is 0):
// a service SAS signed with the account key has no maximum lifetime on
// Azure (only a user delegation SAS, which URLFor signs under token
// credentials, is limited to 7 days, and MaxURLExpiry says so then). A storage account may set its own SAS expiration
// policy (sasExpirationPeriod, action Block), which then refuses URLs
// valid for longer; the driver cannot see that policy, so keep "expiry"
// within it.
//
// A Writer stages its blocks on a hidden staging blob per path,
// <root>/~stowage/uploads/<path>, not on the file's own blob, because on
// Azure a Put Blob (PutContent) or Delete Blob (Delete, DeleteFiles) of
// the file discards the file blob's uncommitted blocks, which would
// destroy a closed, resumable upload; Commit copies the staging blob to
// the file. Listings of the root end at "~stowage/" (no valid path holds
// "~"), so the staging blobs never show; Driver.StagedUploads lists them
// (one flat List Blobs of the staging prefix) and PurgeStagedUpload
// deletes one, for stowage uploads (see uploads.go).
package azure

import (
	"bytes"
	"context"
	"io"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"

	"github.com/stowage-dev/stowage/driver"
)

// DriverName is the name the backend is registered under and that its
// errors carry.
const DriverName = "azure"

// contentType is the Content-Type of every blob the driver writes.
const contentType = "application/octet-stream"

// Driver is the Azure Blob StorageDriver: a driver.Store over the azblob
// backend, from which it takes every driver.StorageDriver method. It is
// safe for concurrent use.
type Driver struct {
	*driver.Store
	b *backend
}

var _ driver.StorageDriver = (*Driver)(nil)

// New builds a Driver from c. It sends no request: a wrong container or
// key shows up on first use.
func New(_ context.Context, c Config) (*Driver, error) {
	c, err := c.normalize()
	if err != nil {
		return nil, err
	}
	cl, err := newClient(c)
	if err != nil {
		return nil, err
	}
	b := &backend{cfg: c, container: cl.svc.NewContainerClient(c.Container), client: cl, keys: driver.NewKeyMap(c.RootDirectory), maxBlocks: MaxBlocks}
	caps := driver.Capabilities{
		HTTP:            true,
		DeleteBatchSize: MaxDeleteBatchSize,
		ListPageSize:    ListPageSize,
		StartAfter:      true, // List Blobs' startFrom
		HiddenPrefix:    hiddenPrefix,
	}
	urlCapabilities(c, cl.mode, &caps)
	return &Driver{Store: driver.NewStore(DriverName, b, b.keys, caps, c.CommonConfig), b: b}, nil
}

// Client returns the SDK container client the driver uses, for operations
// stowage does not cover.
func (d *Driver) Client() *container.Client { return d.b.container }

// backend is the driver.Backend of Azure Blob Storage: the azblob requests
// of one container.
type backend struct {
	cfg       Config
	container *container.Client
	client    *client
	keys      driver.KeyMap

	// maxBlocks is the most blocks a Writer commits: MaxBlocks (tests
	// lower it).
	maxBlocks int

	// startFromIgnored is set once the service is seen to ignore List
	// Blobs' startFrom parameter (see List).
	startFromIgnored atomic.Bool
}

var _ driver.Backend = (*backend)(nil)

// blob returns the block blob client of the file at path.
func (b *backend) blob(path string) *blockblob.Client {
	return b.container.NewBlockBlobClient(b.blobName(path))
}

// hiddenPrefix is the key prefix, under the root, of the driver's own
// blobs: no valid path holds "~", and "~" sorts after every path
// character, so a flat listing of the root ends there (see
// driver.Capabilities.HiddenPrefix).
const hiddenPrefix = "~stowage/"

// uploadsPrefix is the key prefix, under the root, of the staging blobs
// of Writer uploads: the upload of path p stages its blocks on the blob
// <root>/~stowage/uploads/<p without its leading slash> (escaped as every
// key is, see keys.go), out of reach of a Put Blob or Delete Blob of the
// file itself (see backend.Writer).
const uploadsPrefix = hiddenPrefix + "uploads/"

// staging returns the block blob client of the staging blob of the
// upload to path.
func (b *backend) staging(path string) *blockblob.Client {
	return b.container.NewBlockBlobClient(b.stagingName(path))
}

// stagingName returns the blob name of the staging blob of the upload to
// path.
func (b *backend) stagingName(path string) string {
	return blobName(b.keys.Prefix + uploadsPrefix + path[1:])
}

// blobName returns the blob name of the file at path: its key, escaped
// where a segment ends in "." (see keys.go).
func (b *backend) blobName(path string) string { return blobName(b.keys.Key(path)) }

// Classify implements driver.Backend (see classify).
func (b *backend) Classify(err error) driver.ErrorKind { return classify(err) }

// Head implements driver.Backend with Get Blob Properties.
func (b *backend) Head(ctx context.Context, path string) (driver.Object, error) {
	props, err := b.blob(path).GetProperties(ctx, nil)
	if err != nil {
		return driver.Object{}, err
	}
	return driver.Object{Size: deref(props.ContentLength, 0), ModTime: deref(props.LastModified, time.Time{})}, nil
}

// Put implements driver.Backend with one Put Blob, which Azure makes
// visible atomically. An open upload to path is untouched: its blocks
// are on the staging blob (see backend.Writer).
func (b *backend) Put(ctx context.Context, path string, content []byte) error {
	return b.upload(ctx, b.blob(path), content)
}

// upload stores content with one Put Blob.
func (b *backend) upload(ctx context.Context, bb *blockblob.Client, content []byte) error {
	_, err := bb.Upload(ctx, streaming.NopCloser(bytes.NewReader(content)), &blockblob.UploadOptions{
		HTTPHeaders: &blob.HTTPHeaders{BlobContentType: to.Ptr(contentType)},
	})
	return err
}

// Read implements driver.Backend with a ranged Get Blob. The stream
// resumes a download whose connection breaks (see resumable). An offset at
// or beyond the end answers 416, whose Content-Range ("bytes */N") says
// the size: Read tells the end (an empty stream) from an offset past it
// without the Get Blob Properties the Store would send, and leaves the
// Store to ask only when the answer does not say.
func (b *backend) Read(ctx context.Context, path string, offset int64) (io.ReadCloser, error) {
	bb := b.blob(path)
	resp, err := bb.DownloadStream(ctx, &blob.DownloadStreamOptions{Range: blob.HTTPRange{Offset: offset}})
	if err != nil {
		if size, ok := rangeSize(err); ok && offset > 0 && classify(err) == driver.KindInvalidRange {
			if offset == size {
				return io.NopCloser(bytes.NewReader(nil)), nil
			}
			return nil, &driver.InvalidOffsetError{Path: path, Offset: offset, DriverName: DriverName}
		}
		return nil, err
	}
	size := int64(-1)
	if resp.ContentLength != nil {
		size = offset + *resp.ContentLength
	}
	return b.resumable(ctx, path, bb, resp.ETag, offset, size, resp.Body), nil
}

// rangeSize reads the blob size from the Content-Range of a 416 answer.
func rangeSize(err error) (int64, bool) {
	re := responseError(err)
	if re == nil || re.RawResponse == nil {
		return 0, false
	}
	rest, ok := strings.CutPrefix(re.RawResponse.Header.Get("Content-Range"), "bytes */")
	if !ok {
		return 0, false
	}
	n, perr := strconv.ParseInt(rest, 10, 64)
	return n, perr == nil
}

// deref returns *p, or def when p is nil.
func deref[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}
