package swift

import (
	"context"
	"net/http"
	"net/url"

	"github.com/ncw/swift/v2"

	"github.com/stowage-dev/stowage/driver"
)

// Move implements driver.StorageDriver: a server-side COPY with
// multipart-manifest=get (a plain object is copied; a static large object
// has its manifest copied, so both manifests share the segments), then a
// plain DELETE of the source. Two requests; a missing source fails the
// COPY with 404 and changes nothing. Moving a file onto itself leaves it
// as it is (one HEAD).
func (d *Driver) Move(ctx context.Context, sourcePath, destPath string) error {
	if err := driver.ValidatePath(DriverName, sourcePath); err != nil {
		return err
	}
	if err := driver.ValidatePath(DriverName, destPath); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if sourcePath == destPath {
		_, err := d.head(ctx, "Move", sourcePath)
		return err
	}
	if _, err := d.copyObject(ctx, "Move", sourcePath, d.cfg.Container, d.name(sourcePath), d.cfg.Container, d.name(destPath), true); err != nil {
		return err
	}
	_, _, err := d.do(ctx, request{op: "Move", path: sourcePath, method: http.MethodDelete, container: d.cfg.Container, object: d.name(sourcePath)})
	if isNotFound(err) {
		return nil // a retried DELETE whose first answer was lost
	}
	return err
}

// copyObject copies srcContainer/src to dstContainer/dst server-side and
// returns the headers of the answer (Etag: the copy's). With manifest set,
// a static large object's manifest is copied rather than its content.
func (d *Driver) copyObject(ctx context.Context, op, path, srcContainer, src, dstContainer, dst string, manifest bool) (swift.Headers, error) {
	var q url.Values
	if manifest {
		q = url.Values{"multipart-manifest": {"get"}}
	}
	dest := (&url.URL{Path: dstContainer + "/" + dst}).EscapedPath()
	_, h, err := d.do(ctx, request{op: op, path: path, method: "COPY", container: srcContainer, object: src,
		query: q, headers: swift.Headers{"Destination": dest}})
	return h, err
}
