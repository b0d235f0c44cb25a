// Package swift is the stowage backend for OpenStack Swift, built on
// github.com/ncw/swift/v2 (authentication v1, v2 and v3, and its request
// plumbing) plus Swift's bulk-delete, SLO and copy middlewares.
//
// It is registered as "swift": import it for its side effect and call
// driver.Open(ctx, "swift", params) with distribution-style parameters (see
// FromParameters), or build a Config and call New. New authenticates and
// reads the cluster's /info (bulk-delete limit, max_file_size, SLO limits),
// two requests.
//
// Paths map to object names by dropping the leading "/" and prefixing the
// configured prefix: with prefix "registry", "/docker/x" is the object
// "registry/docker/x" in the container. DeleteFiles sends bulk-delete
// requests of up to max_deletes_per_request names (10,000 by default),
// Delete and Walk list flat (one request per 10,000 names), List uses the
// "/" delimiter, Move copies server-side, and the Writer keeps uncommitted
// segments in the segments container so that another process can resume
// them.
//
// # Writer and large files
//
// Writer uploads each full chunk (Config.ChunkSize) as a segment object,
// and Close uploads what is buffered as one more segment, into the
// segments container (default <container>_segments) under
// <prefix>/<hash of path>/<upload id>/<sequence>. Writer(path, true) lists
// that name space to resume (Size is the sum of the segments); a last
// segment shorter than a chunk is read back into the buffer and replaced,
// under its own name, by the next upload, so an upload never has more
// than one short segment (Swift rate-limits reads of manifests with many
// small segments). Commit then makes one plain object:
//
//   - everything still in memory (no segment uploaded): one PUT;
//   - otherwise, up to MaxFileSize (the cluster's max_file_size, 5 GiB by
//     default): a temporary static large object (SLO) manifest over the
//     segments, a server-side COPY of it to the file's name (Swift
//     concatenates the segments into a plain object) and a
//     multipart-manifest=delete of the temporary manifest, which removes
//     the segments too. Stat, Reader, listings, Move, Delete and
//     DeleteFiles then see an ordinary object and leave nothing behind.
//   - above MaxFileSize, a file cannot be a single object: the file's name
//     becomes an SLO manifest whose segments stay in the segments
//     container (marked committed, so no later Writer touches them).
//     Stat, GetContent, Reader and listings report the whole content;
//     Move copies the manifest (the segments are shared); Delete removes
//     manifests with multipart-manifest=delete, segments included. But
//     DeleteFiles (bulk delete) and overwriting such a file remove only
//     the manifest: its segments become garbage in the segments container.
//
// Writer(path, true) with no uncommitted upload continues the committed
// file: one HEAD, then a file shorter than a chunk is read into the
// buffer (one GET) and a larger one is copied server-side (one COPY) into
// a new upload as its segment 0 — for a static large object, a copy of its
// manifest (multipart-manifest=get), which shares its segments. The
// continuation is then an ordinary upload (Close, resume from another
// process, Commit, Cancel), so the file's bytes never pass through the
// client and the snapshot is the file as it was at Writer time. Commit
// puts the entries of a copied manifest in its place in the new manifest,
// so continuing a large object never nests manifests deeper; Cancel
// deletes the copy, never the file or its segments. (A Delete of the
// continued SLO file before Commit removes the segments its copy shares,
// and the Commit then fails.)
//
// # URLFor
//
// URLFor makes Swift temp URLs, which need the cluster's tempurl middleware
// and a key set on the account or container; without Config.SecretKey it
// returns a *driver.UnsupportedMethodError (the project's test Swift has
// no tempurl middleware).
package swift

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ncw/swift/v2"

	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/internal/wait"
)

// DriverName is the name the backend is registered under and that its
// errors carry.
const DriverName = "swift"

// Driver is the Swift StorageDriver. It is safe for concurrent use.
type Driver struct {
	cfg    Config
	conn   *swift.Connection
	info   serverInfo
	prefix string // Prefix + "/", or ""
	batch  int    // names per bulk-delete request
}

var _ driver.StorageDriver = (*Driver)(nil)

// New builds a Driver from c, authenticates and reads /info.
func New(ctx context.Context, c Config) (*Driver, error) {
	c, err := c.normalize()
	if err != nil {
		return nil, err
	}
	d := &Driver{cfg: c, conn: newConnection(c)}
	if c.Prefix != "" {
		d.prefix = c.Prefix + "/"
	}
	if err := d.authenticate(ctx); err != nil {
		return nil, err
	}
	d.info = d.queryInfo(ctx)
	if d.cfg.MaxFileSize == 0 {
		d.cfg.MaxFileSize = d.info.maxFileSize
	}
	d.batch = d.info.maxDeletes
	if c.DeleteBatchSize > 0 {
		if c.DeleteBatchSize > d.batch {
			c.Logger.Warn("swift: deletebatchsize above the server's max_deletes_per_request, capped",
				"deletebatchsize", c.DeleteBatchSize, "cap", d.batch)
		} else {
			d.batch = c.DeleteBatchSize
		}
	}
	return d, nil
}

// authenticate logs in, retrying transient failures.
func (d *Driver) authenticate(ctx context.Context) error {
	for attempt := 0; ; attempt++ {
		err := d.conn.Authenticate(ctx)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil || !retryable(err) || attempt >= d.cfg.MaxRetries {
			return d.wrap(ctx, "authenticate", d.cfg.AuthURL, err)
		}
		if werr := wait.Sleep(ctx, d.backoff(attempt+1)); werr != nil {
			return d.wrap(ctx, "authenticate", d.cfg.AuthURL, werr)
		}
	}
}

// Name implements driver.StorageDriver.
func (d *Driver) Name() string { return DriverName }

// Connection returns the ncw/swift connection the driver uses, for
// operations stowage does not cover.
func (d *Driver) Connection() *swift.Connection { return d.conn }

// DeleteBatchSize is the number of names the driver sends per bulk-delete
// request.
func (d *Driver) DeleteBatchSize() int { return d.batch }

// name maps a valid path (not "/") to its object name.
func (d *Driver) name(path string) string { return d.prefix + path[1:] }

// dirPrefix maps a valid directory path ("/" included) to the name prefix
// of everything under it.
func (d *Driver) dirPrefix(path string) string {
	if path == "/" {
		return d.prefix
	}
	return d.prefix + path[1:] + "/"
}

// pathOf maps a name under the prefix back to its path; ok is false for a
// name that is not a valid path (foreign objects such as "a//b" or "a/"
// directory markers), which listings leave out.
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

// uploadBase is the segments-container name space of path's uploads.
func (d *Driver) uploadBase(path string) string {
	sum := sha256.Sum256([]byte(path))
	return d.prefix + hex.EncodeToString(sum[:16]) + "/"
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

// PutContent implements driver.StorageDriver with one PUT, which Swift
// makes visible atomically.
func (d *Driver) PutContent(ctx context.Context, path string, content []byte) error {
	if err := driver.ValidatePath(DriverName, path); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return d.putObject(ctx, "PutContent", path, d.cfg.Container, d.name(path), content)
}

// putObject stores content as the object name of container.
func (d *Driver) putObject(ctx context.Context, op, path, container, name string, content []byte) error {
	_, _, err := d.do(ctx, request{op: op, path: path, method: http.MethodPut, container: container, object: name,
		headers: swift.Headers{"Content-Type": "application/octet-stream"}, body: content, hasBody: true})
	return err
}

// head sends HEAD for the object of path.
func (d *Driver) head(ctx context.Context, op, path string) (swift.Headers, error) {
	_, h, err := d.do(ctx, request{op: op, path: path, method: http.MethodHead, container: d.cfg.Container, object: d.name(path)})
	return h, err
}

// sizeAndTime reads Content-Length and Last-Modified.
func sizeAndTime(h swift.Headers) (int64, time.Time) {
	n, _ := strconv.ParseInt(h["Content-Length"], 10, 64)
	t, _ := http.ParseTime(h["Last-Modified"])
	return n, t
}

// Stat implements driver.StorageDriver: HEAD for a file, then one listing
// of at most one name for a directory. The root always exists.
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
	h, err := d.head(ctx, "Stat", path)
	if err == nil {
		size, mod := sizeAndTime(h)
		return driver.FileInfoFields{FilePath: path, FileSize: size, FileModTime: mod}, nil
	}
	if !isNotFound(err) {
		return nil, err
	}
	page, err := d.listPage(ctx, "Stat", path, d.cfg.Container, listOpts{prefix: d.dirPrefix(path), limit: 1})
	if err != nil {
		return nil, err
	}
	if len(page) == 0 {
		return nil, &driver.PathNotFoundError{Path: path, DriverName: DriverName}
	}
	return driver.FileInfoFields{FilePath: path, Dir: true}, nil
}

// Reader implements driver.StorageDriver with a ranged GET. A stream whose
// connection drops is resumed (see resumingBody).
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
	resp, h, err := d.get(ctx, path, offset, "")
	if isNotFound(err) {
		// Swift's object server answers 404 to a GET that races with an
		// overwrite of the object (it lists the old data file, which the
		// PUT then removes before it is opened); with one replica the
		// proxy has nowhere else to look. One more attempt sees the new
		// file; a file that is really missing costs one request more.
		resp, h, err = d.get(ctx, path, offset, "")
	}
	if err == nil {
		end := int64(-1)
		if resp.ContentLength >= 0 {
			end = offset + resp.ContentLength
		}
		return d.resumable(ctx, path, h["Etag"], offset, end, resp.Body), nil
	}
	if offset > 0 && statusOf(err) == http.StatusRequestedRangeNotSatisfiable {
		h, herr := d.head(ctx, "Reader", path)
		if herr != nil {
			return nil, herr
		}
		if size, _ := sizeAndTime(h); offset == size {
			return io.NopCloser(strings.NewReader("")), nil
		}
		return nil, &driver.InvalidOffsetError{Path: path, Offset: offset, DriverName: DriverName}
	}
	return nil, err
}

// get sends a GET of path from offset, with If-Match etag when set. The
// error is unwrapped enough for statusOf to see a 416.
func (d *Driver) get(ctx context.Context, path string, offset int64, etag string) (*http.Response, swift.Headers, error) {
	h := swift.Headers{}
	if offset > 0 {
		h["Range"] = fmt.Sprintf("bytes=%d-", offset)
	}
	if etag != "" {
		h["If-Match"] = `"` + strings.Trim(etag, `"`) + `"`
	}
	return d.do(ctx, request{op: "Reader", path: path, method: http.MethodGet, container: d.cfg.Container,
		object: d.name(path), headers: h, keep: true})
}
