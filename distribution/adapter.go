package distribution

import (
	"context"
	"errors"
	"io"
	"net/http"

	storagedriver "github.com/distribution/distribution/v3/registry/storage/driver"

	"github.com/stowage-dev/stowage/driver"
)

// NamePrefix is put before a stowage backend's name to make the name of its
// distribution driver, e.g. "stowage-s3".
const NamePrefix = "stowage-"

// Driver is a distribution storage driver over a stowage driver. It is safe
// for concurrent use when the stowage driver is, as every stowage backend
// is.
type Driver struct {
	d    driver.StorageDriver
	name string
}

var _ storagedriver.StorageDriver = (*Driver)(nil)

// New returns a distribution storage driver that stores through d. Its name
// (Name, and the DriverName of its errors) is NamePrefix followed by
// d.Name().
func New(d driver.StorageDriver) *Driver {
	return &Driver{d: d, name: NamePrefix + d.Name()}
}

// Stowage returns the stowage driver the Driver stores through.
func (a *Driver) Stowage() driver.StorageDriver { return a.d }

// Name implements storagedriver.StorageDriver: NamePrefix followed by the
// stowage backend's name.
func (a *Driver) Name() string { return a.name }

// GetContent implements storagedriver.StorageDriver.
func (a *Driver) GetContent(ctx context.Context, path string) ([]byte, error) {
	b, err := a.d.GetContent(ctx, path)
	if err != nil {
		return nil, a.mapErr(err)
	}
	return b, nil
}

// PutContent implements storagedriver.StorageDriver; the write is atomic.
func (a *Driver) PutContent(ctx context.Context, path string, content []byte) error {
	return a.mapErr(a.d.PutContent(ctx, path, content))
}

// Reader implements storagedriver.StorageDriver. Errors met while reading
// the stream are stowage's, unchanged.
func (a *Driver) Reader(ctx context.Context, path string, offset int64) (io.ReadCloser, error) {
	rc, err := a.d.Reader(ctx, path, offset)
	if err != nil {
		return nil, a.mapErr(err)
	}
	return rc, nil
}

// Writer implements storagedriver.StorageDriver. Content is invisible until
// Commit; Close keeps what was written for a later Writer(ctx, path, true),
// also from another process, which is how the registry resumes blob uploads.
func (a *Driver) Writer(ctx context.Context, path string, append bool) (storagedriver.FileWriter, error) {
	w, err := a.d.Writer(ctx, path, append)
	if err != nil {
		return nil, a.mapErr(err)
	}
	return &fileWriter{a: a, w: w}, nil
}

// Stat implements storagedriver.StorageDriver. stowage's FileInfo has
// distribution's method set, so it is returned as it is.
func (a *Driver) Stat(ctx context.Context, path string) (storagedriver.FileInfo, error) {
	fi, err := a.d.Stat(ctx, path)
	if err != nil {
		return nil, a.mapErr(err)
	}
	return fi, nil
}

// List implements storagedriver.StorageDriver.
func (a *Driver) List(ctx context.Context, path string) ([]string, error) {
	l, err := a.d.List(ctx, path)
	if err != nil {
		return nil, a.mapErr(err)
	}
	return l, nil
}

// Move implements storagedriver.StorageDriver.
func (a *Driver) Move(ctx context.Context, sourcePath, destPath string) error {
	return a.mapErr(a.d.Move(ctx, sourcePath, destPath))
}

// Delete implements storagedriver.StorageDriver: a file, or a directory and
// everything under it, through the backend's bulk-delete API.
func (a *Driver) Delete(ctx context.Context, path string) error {
	return a.mapErr(a.d.Delete(ctx, path))
}

// DeleteFiles removes exactly the files named, in as few bulk-delete
// requests as the backend allows, and returns how many it deleted (see
// stowage's driver.StorageDriver.DeleteFiles). It is not part of
// distribution's interface; it has the signature GitLab's container
// registry looks for. On a partial failure the storagedriver.Error's Detail
// is a *driver.DeleteFilesError listing each path that was not deleted.
func (a *Driver) DeleteFiles(ctx context.Context, paths []string) (int, error) {
	n, err := a.d.DeleteFiles(ctx, paths)
	return n, a.mapErr(err)
}

// RedirectURL implements storagedriver.StorageDriver with the backend's
// URLFor, for the method of r (GET or HEAD; for any other method it returns
// "", nil). When the backend cannot make such URLs it returns "", nil, as
// distribution's drivers do, and the registry serves the content itself.
func (a *Driver) RedirectURL(r *http.Request, path string) (string, error) {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
	default:
		return "", nil
	}
	u, err := a.d.URLFor(r.Context(), path, map[string]any{"method": r.Method})
	if err != nil {
		if errors.Is(err, driver.ErrUnsupportedMethod) {
			return "", nil
		}
		return "", a.mapErr(err)
	}
	return u, nil
}
