// Package azure is the stowage backend for Azure Blob Storage (and the
// Azurite emulator), built on azure-sdk-for-go's azblob.
//
// It is registered as "azure": import it for its side effect and call
// driver.Open(ctx, "azure", params) with distribution-style parameters (see
// FromParameters), or build a Config and call New.
//
// Paths map to blob names by dropping the leading "/" and prefixing the
// root directory: with rootdirectory "registry", "/docker/x" is the blob
// "registry/docker/x" in the configured container. DeleteFiles sends blob
// batch requests of up to 256 deletes, Delete and Walk list flat (one List
// Blobs request per 5,000 blobs), Writer stages blocks of a block blob that
// survive the process (see Driver.Writer), Move copies server-side and
// URLFor signs a service SAS with the shared key.
//
// Only block blobs with a committed block list are visible: a blob that
// has only uncommitted blocks (a Writer that has not committed) is absent
// from List Blobs and answers 404 to reads, so the driver needs no hidden
// bookkeeping objects.
package azure

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"

	"github.com/stowage-dev/stowage/driver"
)

// DriverName is the name the backend is registered under and that its
// errors carry.
const DriverName = "azure"

// contentType is the Content-Type of every blob the driver writes.
const contentType = "application/octet-stream"

// Driver is the Azure Blob StorageDriver. It is safe for concurrent use.
type Driver struct {
	cfg       Config
	service   *service.Client
	container *container.Client
	cred      *service.SharedKeyCredential
	prefix    string // rootdirectory + "/", or "" for the container's root

	// startFromIgnored is set once the service is seen to ignore List
	// Blobs' startFrom parameter (see Walk).
	startFromIgnored atomic.Bool
}

var _ driver.StorageDriver = (*Driver)(nil)

// New builds a Driver from c. It sends no request: a wrong container or
// key shows up on first use.
func New(_ context.Context, c Config) (*Driver, error) {
	c, err := c.normalize()
	if err != nil {
		return nil, err
	}
	svc, cred, err := newClient(c)
	if err != nil {
		return nil, err
	}
	d := &Driver{cfg: c, service: svc, container: svc.NewContainerClient(c.Container), cred: cred}
	if c.RootDirectory != "" {
		d.prefix = c.RootDirectory + "/"
	}
	return d, nil
}

// Name implements driver.StorageDriver.
func (d *Driver) Name() string { return DriverName }

// Client returns the SDK container client the driver uses, for operations
// stowage does not cover.
func (d *Driver) Client() *container.Client { return d.container }

// key maps a valid path (not "/") to its blob name.
func (d *Driver) key(path string) string { return d.prefix + path[1:] }

// dirPrefix maps a valid directory path ("/" included) to the blob name
// prefix of everything under it.
func (d *Driver) dirPrefix(path string) string {
	if path == "/" {
		return d.prefix
	}
	return d.prefix + path[1:] + "/"
}

// pathOf maps a blob name under the root back to its path; ok is false for
// a name that is not a valid path (foreign blobs such as "a//b" or "a/b/"),
// which listings leave out.
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

// blob returns the block blob client of the file at path.
func (d *Driver) blob(path string) *blockblob.Client {
	return d.container.NewBlockBlobClient(d.key(path))
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

// PutContent implements driver.StorageDriver with one Put Blob, which
// Azure makes visible atomically. It also discards any uncommitted blocks
// a Writer left for path.
func (d *Driver) PutContent(ctx context.Context, path string, content []byte) error {
	if err := driver.ValidatePath(DriverName, path); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := d.upload(ctx, d.blob(path), content); err != nil {
		return d.wrap(ctx, "PutContent", path, err)
	}
	return nil
}

// upload stores content with one Put Blob.
func (d *Driver) upload(ctx context.Context, bb *blockblob.Client, content []byte) error {
	_, err := bb.Upload(ctx, streaming.NopCloser(bytes.NewReader(content)), &blockblob.UploadOptions{
		HTTPHeaders: &blob.HTTPHeaders{BlobContentType: to.Ptr(contentType)},
	})
	return err
}

// Reader implements driver.StorageDriver with a ranged Get Blob. The
// stream resumes a download whose connection breaks (see resumable).
func (d *Driver) Reader(ctx context.Context, path string, offset int64) (io.ReadCloser, error) {
	if err := driver.ValidatePath(DriverName, path); err != nil {
		return nil, err
	}
	if offset < 0 {
		return nil, &driver.InvalidOffsetError{Path: path, Offset: offset, DriverName: DriverName}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	bb := d.blob(path)
	resp, err := bb.DownloadStream(ctx, &blob.DownloadStreamOptions{Range: blob.HTTPRange{Offset: offset}})
	if err == nil {
		size := int64(-1)
		if resp.ContentLength != nil {
			size = offset + *resp.ContentLength
		}
		return d.resumable(ctx, path, bb, resp.ETag, offset, size, resp.Body), nil
	}
	if offset > 0 && httpStatus(err) == http.StatusRequestedRangeNotSatisfiable {
		// The offset is at or beyond the end: find out which. The 416
		// answer says the size in Content-Range ("bytes */N"); ask for it
		// when it does not.
		size, ok := rangeSize(err)
		if !ok {
			props, perr := bb.GetProperties(ctx, nil)
			if perr != nil {
				return nil, d.wrap(ctx, "Reader", path, perr)
			}
			size = deref(props.ContentLength, 0)
		}
		if offset == size {
			return io.NopCloser(bytes.NewReader(nil)), nil
		}
		return nil, &driver.InvalidOffsetError{Path: path, Offset: offset, DriverName: DriverName}
	}
	return nil, d.wrap(ctx, "Reader", path, err)
}

// rangeSize reads the blob size from the Content-Range of a 416 answer.
func rangeSize(err error) (int64, bool) {
	re := responseError(err)
	if re == nil || re.RawResponse == nil {
		return 0, false
	}
	cr := re.RawResponse.Header.Get("Content-Range")
	rest, ok := strings.CutPrefix(cr, "bytes */")
	if !ok {
		return 0, false
	}
	n, perr := strconv.ParseInt(rest, 10, 64)
	return n, perr == nil
}

// Stat implements driver.StorageDriver: Get Blob Properties for a file,
// then one List Blobs of at most one blob for a directory. The root always
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
	props, err := d.blob(path).GetProperties(ctx, nil)
	if err == nil {
		return driver.FileInfoFields{
			FilePath:    path,
			FileSize:    deref(props.ContentLength, 0),
			FileModTime: deref(props.LastModified, zeroTime),
		}, nil
	}
	err = d.wrap(ctx, "Stat", path, err)
	var nf *driver.PathNotFoundError
	if !errors.As(err, &nf) {
		return nil, err
	}
	isDir, err := d.dirExists(ctx, "Stat", path)
	if err != nil {
		return nil, err
	}
	if !isDir {
		return nil, &driver.PathNotFoundError{Path: path, DriverName: DriverName}
	}
	return driver.FileInfoFields{FilePath: path, Dir: true}, nil
}

// dirExists reports whether any blob lies under the directory path.
func (d *Driver) dirExists(ctx context.Context, op, path string) (bool, error) {
	pager := d.container.NewListBlobsFlatPager(&container.ListBlobsFlatOptions{
		Prefix:     to.Ptr(d.dirPrefix(path)),
		MaxResults: to.Ptr(int32(1)),
	})
	page, err := pager.NextPage(ctx)
	if err != nil {
		return false, d.wrap(ctx, op, path, err)
	}
	return len(page.Segment.BlobItems) > 0, nil
}
