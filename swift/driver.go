// Package swift is the stowage backend for OpenStack Swift, built on
// github.com/ncw/swift/v2 (authentication v1, v2 and v3, and its request
// plumbing) plus Swift's bulk-delete, SLO and copy middlewares.
//
// It is registered as "swift": import it for its side effect and call
// driver.Open(ctx, "swift", params) with distribution-style parameters (see
// FromParameters), or build a Config and call New. New authenticates and
// reads the cluster's /info (bulk-delete limit, container_listing_limit,
// max_file_size, SLO limits) and lists the root's SLO index with limit 1
// (see DeleteFiles), three requests.
//
// The Driver is a driver.Store over this package's driver.Backend: the
// Store does the path and context checks, the error mapping, Stat, List
// and Walk paging, directory Delete, the batching and per-name retries of
// DeleteFiles and URLFor's options; the backend sends the Swift requests.
// Paths map to object names with driver.KeyMap: with prefix "registry",
// "/docker/x" is the object "registry/docker/x" in the container.
// DeleteFiles sends bulk-delete requests of up to max_deletes_per_request
// names (10,000 by default; one DELETE per path without the bulk-delete
// middleware), Delete and Walk list flat (one request per 10,000 names,
// or the cluster's lower container_listing_limit, plus one), List uses
// the "/" delimiter, Move copies server-side, and the Writer keeps
// uncommitted segments in the segments container so that another process
// can resume them.
//
// # Listings
//
// Swift has no end-of-listing marker, and a page shorter than the limit
// asked for is not always the last: Ceph RGW capped Swift listings at
// 1,000 names whatever the limit (https://tracker.ceph.com/issues/44554).
// So every listing the driver pages through (List, Walk, Delete, the
// Writer's listing of its upload) ends only at an empty page, one request
// more than ceil(names/limit); the driver never asks for a limit above the
// container_listing_limit of /info, which a cluster answers with 412.
//
// # Writer and large files
//
// Writer uploads each full chunk (Config.ChunkSize) as a segment object,
// and Close uploads what is buffered as one more segment, into the
// segments container (default <container>_segments) under
// <prefix>/<hash of path>/<upload id>/<sequence>. Writer(path, true) lists
// that name space to resume (Size is the sum of the segments; as listings
// lag, the sizes and etags of the segments a listing shows short, and
// whether segments follow the last one listed, are asked of the segments
// themselves with HEAD); a last
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
//     Move copies the manifest (the segments are shared); Delete and
//     DeleteFiles remove manifests with multipart-manifest=delete,
//     segments included (DeleteFiles finds them in an index of the root's
//     SLO files, see Driver.DeleteFiles and slo.go). Overwriting such a
//     file removes only the manifest: its segments become garbage in the
//     segments container.
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
// Every segment a Writer stores (and the COPY of a continued file)
// records the upload's path in its Content-Type,
// application/octet-stream;stowage-path=<query-escaped path>, because the
// segments are named by a hash of it and a container listing returns the
// Content-Type but no metadata. Driver implements driver.UploadStager
// through it (see uploads.go): StagedUploads lists the root's uncommitted
// uploads with one flat listing of the segments container (never the
// segments of a file committed as a static large object), and
// PurgeStagedUpload lists and bulk-deletes one upload's objects. Uploads
// stored before the path was recorded are listed with Path "".
//
// An upload can have at most max_manifest_segments² segments (Commit nests
// one level of sub-manifests; 1,000² by default, a million chunks): the
// Write or Close that would upload one more fails with a
// *TooManySegmentsError (errors.Is driver.ErrFileTooLarge) before
// uploading it, not at Commit.
//
// # URLFor
//
// URLFor makes Swift temp URLs, which need the cluster's tempurl middleware
// and a key set on the account or container; without Config.SecretKey it
// returns a *driver.UnsupportedMethodError (the project's test Swift has
// no tempurl middleware). Swift documents no maximum lifetime for a temp
// URL (the tempurl middleware only checks that temp_url_expires has not
// passed; a URL dies earlier only when its key is changed), so
// Capabilities.MaxURLExpiry is 0 and the expiry asked for is signed as it
// is: capping it at a number of our own would shorten URLs the cluster
// would honour, for no limit the provider states.
package swift

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/ncw/swift/v2"

	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/internal/resume"
)

// DriverName is the name the backend is registered under and that its
// errors carry.
const DriverName = "swift"

// Driver is the Swift StorageDriver: a driver.Store over the Swift
// backend, so every StorageDriver method is the Store's. It is safe for
// concurrent use.
type Driver struct {
	*driver.Store
	b *backend
}

var _ driver.StorageDriver = (*Driver)(nil)

// backend is the driver.Backend of Swift. It never calls the Store.
type backend struct {
	cfg  Config
	conn *swift.Connection
	info serverInfo
	keys driver.KeyMap
	// container is the one DeleteBatch deletes from: Config.Container,
	// or Config.SegmentsContainer in the copy segments returns.
	container string
	// batch is the effective delete batch size (the Store's).
	batch int
	// slos is set when the root may hold static large objects: DeleteFiles
	// then consults the SLO index (see slo.go). Shared by the copies of
	// segments().
	slos *atomic.Bool
}

var _ driver.Backend = (*backend)(nil)

// New builds a Driver from c, authenticates, reads /info and looks
// whether the root's SLO index has an entry (see DeleteFiles): three
// requests.
func New(ctx context.Context, c Config) (*Driver, error) {
	c, err := c.normalize()
	if err != nil {
		return nil, err
	}
	b := &backend{cfg: c, conn: newConnection(c)}
	if err := b.retry(ctx, func() error { return b.conn.Authenticate(ctx) }); err != nil {
		return nil, wrap(ctx, "authenticate", c.AuthURL, err)
	}
	d := newDriver(c, b.conn, b.queryInfo(ctx))
	d.b.probeSLOs(ctx)
	return d, nil
}

// newDriver builds the Driver of a normalized Config over an
// authenticated connection and the cluster's /info.
func newDriver(c Config, conn *swift.Connection, info serverInfo) *Driver {
	if c.MaxFileSize == 0 {
		c.MaxFileSize = info.maxFileSize
	}
	// Never ask for more than the cluster lists: a lowered
	// container_listing_limit answers 412 to a larger limit.
	c.ListLimit = min(c.ListLimit, info.listingLimit)
	b := &backend{cfg: c, conn: conn, info: info, keys: driver.NewKeyMap(c.RootDirectory), container: c.Container, slos: new(atomic.Bool)}
	caps := driver.Capabilities{
		HTTP:            true,
		DeleteBatchSize: info.maxDeletes,
		ListPageSize:    c.ListLimit,
		ListEndsEmpty:   true, // no end marker; see List
		StartAfter:      true, // the marker
		SignedURLs:      c.SecretKey != "",
	}
	if !info.bulkDelete {
		caps.DeleteBatchSize = 1
	}
	store := driver.NewStore(DriverName, b, b.keys, caps, c.CommonConfig)
	b.batch = store.Capabilities().DeleteBatchSize
	return &Driver{Store: store, b: b}
}

// Connection returns the ncw/swift connection the driver uses, for
// operations stowage does not cover.
func (d *Driver) Connection() *swift.Connection { return d.b.conn }

// DeleteBatchSize is the number of names the driver sends per bulk-delete
// request (1 without the bulk-delete middleware).
func (d *Driver) DeleteBatchSize() int { return d.Capabilities().DeleteBatchSize }

// uploadBase is the segments-container name space of path's uploads.
func (b *backend) uploadBase(path string) string {
	sum := sha256.Sum256([]byte(path))
	return b.keys.Prefix + hex.EncodeToString(sum[:16]) + "/"
}

// Put implements driver.Backend with one PUT, which Swift makes visible
// atomically.
func (b *backend) Put(ctx context.Context, path string, content []byte) error {
	return b.putObject(ctx, b.cfg.Container, b.keys.Key(path), content)
}

// putObject stores content as the object name of container.
func (b *backend) putObject(ctx context.Context, container, name string, content []byte) error {
	_, _, err := b.do(ctx, request{method: http.MethodPut, container: container, object: name,
		headers: swift.Headers{"Content-Type": "application/octet-stream"}, body: content, hasBody: true})
	return err
}

// head sends HEAD for the object of path.
func (b *backend) head(ctx context.Context, path string) (swift.Headers, error) {
	_, h, err := b.do(ctx, request{method: http.MethodHead, container: b.cfg.Container, object: b.keys.Key(path)})
	return h, err
}

// sizeAndTime reads Content-Length and Last-Modified.
func sizeAndTime(h swift.Headers) (int64, time.Time) {
	n, _ := strconv.ParseInt(h["Content-Length"], 10, 64)
	t, _ := http.ParseTime(h["Last-Modified"])
	return n, t
}

// Head implements driver.Backend with one HEAD.
func (b *backend) Head(ctx context.Context, path string) (driver.Object, error) {
	h, err := b.head(ctx, path)
	if err != nil {
		return driver.Object{}, err
	}
	size, mod := sizeAndTime(h)
	return driver.Object{Size: size, ModTime: mod}, nil
}

// Read implements driver.Backend with a ranged GET. A stream whose
// connection drops is resumed (see resumable).
func (b *backend) Read(ctx context.Context, path string, offset int64) (io.ReadCloser, error) {
	resp, h, err := b.get(ctx, path, offset, "")
	if statusOf(err) == http.StatusNotFound {
		// Swift's object server answers 404 to a GET that races with an
		// overwrite of the object (it lists the old data file, which the
		// PUT then removes before it is opened); with one replica the
		// proxy has nowhere else to look. One more attempt sees the new
		// file; a file that is really missing costs one request more.
		resp, h, err = b.get(ctx, path, offset, "")
	}
	if err != nil {
		return nil, err
	}
	end := int64(-1)
	if resp.ContentLength >= 0 {
		end = offset + resp.ContentLength
	}
	return b.resumable(ctx, path, h["Etag"], offset, end, resp.Body), nil
}

// get sends a GET of path from offset, with If-Match etag when set.
func (b *backend) get(ctx context.Context, path string, offset int64, etag string) (*http.Response, swift.Headers, error) {
	h := swift.Headers{}
	if offset > 0 {
		h["Range"] = fmt.Sprintf("bytes=%d-", offset)
	}
	if etag != "" {
		h["If-Match"] = `"` + strings.Trim(etag, `"`) + `"`
	}
	return b.do(ctx, request{method: http.MethodGet, container: b.cfg.Container, object: b.keys.Key(path), headers: h, keep: true})
}

// getAll reads the whole object name of container; a body cut short is
// asked for again.
func (b *backend) getAll(ctx context.Context, container, name string, query url.Values) ([]byte, error) {
	var out []byte
	_, _, err := b.do(ctx, request{method: http.MethodGet, container: container, object: name, query: query,
		read: func(body []byte) error { out = body; return nil }})
	return out, err
}

// resumable wraps a GET body so that a connection that drops in the middle
// is resumed with a ranged GET from the current offset, with If-Match on the
// first response's ETag so that a replaced object is never spliced in, up to
// Config.MaxRetries times per stream.
func (b *backend) resumable(ctx context.Context, path, etag string, off, end int64, body io.ReadCloser) io.ReadCloser {
	r := &resume.Reader{
		Ctx: ctx, Body: body, Off: off, End: end, MaxRetries: b.cfg.Retries(),
		Fail:   func(err error) error { return wrap(ctx, "Reader", path, err) },
		Logger: b.cfg.Logger.With("driver", DriverName, "path", path),
	}
	if etag != "" {
		r.Reopen = func(ctx context.Context, off int64) (io.ReadCloser, error) {
			resp, _, err := b.get(ctx, path, off, etag)
			if err != nil {
				return nil, err
			}
			return resp.Body, nil
		}
	}
	return r
}
