package swift

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/ncw/swift/v2"

	"github.com/stowage-dev/stowage/driver"
)

// Static large objects and DeleteFiles
//
// Swift's bulk delete removes each name with a plain DELETE, which takes
// a static large object's manifest and leaves its segments (the bulk
// middleware sets no multipart-manifest on its sub-requests), and its
// answer says only how many names it deleted, not which were manifests.
// No name in the bulk request can stand for a manifest's segments either:
// their number and names are known only from the manifest. So DeleteFiles
// must know beforehand which paths are SLOs, and learning that per path
// (a HEAD each) is the stat per file it must not send.
//
// The driver therefore keeps an index of the root's SLO files in the
// segments container: Commit of a file above MaxFileSize (and Move of
// one) stores an empty object <prefix>~slo/<hash of the file's key>, and
// deleting the file with multipart-manifest=delete removes it. DeleteFiles
// of a driver that knows the root may hold SLOs lists that index once per
// call (one request for up to container_listing_limit SLO files, plus the
// empty page that ends it) and deletes the indexed paths one by one with
// multipart-manifest=delete, their segments included; the rest go in bulk
// as always. A driver knows the root may hold SLOs when New found the
// index non-empty (one listing of the index, limit 1) or it has stored
// an index entry itself since; in a root that never had an SLO file,
// DeleteFiles sends exactly its bulk deletes. The limit of this choice: a
// driver that was created before another process committed the root's
// first SLO file does not know of it until it is created again, and a
// DeleteFiles of that file through it removes only the manifest (the
// registry's garbage collector, a process of its own, sees the index).
// Overwriting an SLO file (PutContent, or a Commit below MaxFileSize)
// still leaves the old segments behind; its index entry stays, and the
// next deletion of the path finds it a plain object and deletes it so.

// sloIndexDir is the name space, under the root's prefix in the segments
// container, of the SLO index; no hash of a path starts with "~".
const sloIndexDir = "~slo/"

// sloIndexName names the index entry of the SLO file whose object is key.
func (b *backend) sloIndexName(key string) string {
	sum := sha256.Sum256([]byte(key))
	return b.keys.Prefix + sloIndexDir + hex.EncodeToString(sum[:16])
}

// markSLO records that the object key is a static large object.
func (b *backend) markSLO(ctx context.Context, key string) error {
	if _, err := b.putSegment(ctx, b.sloIndexName(key), nil, "application/octet-stream"); err != nil {
		return err
	}
	b.slos.Store(true)
	return nil
}

// probeSLOs sets b.slos when the root's SLO index has an entry (one
// listing request). A failure counts as "may have": it costs a listing
// per DeleteFiles, never a leak.
func (b *backend) probeSLOs(ctx context.Context) {
	page, err := b.listPage(ctx, b.cfg.SegmentsContainer, listOpts{prefix: b.keys.Prefix + sloIndexDir, limit: 1})
	switch {
	case errors.Is(err, errContainerNotFound):
	case err != nil:
		b.cfg.Logger.Warn("swift: listing the SLO index failed; DeleteFiles will list it", "error", err)
		b.slos.Store(true)
	case len(page) > 0:
		b.slos.Store(true)
	}
}

// sloIndex returns the names of the root's SLO index entries.
func (b *backend) sloIndex(ctx context.Context) (map[string]bool, error) {
	out := map[string]bool{}
	err := b.listEach(ctx, b.keys.Prefix+sloIndexDir, func(o object) { out[o.Name] = true })
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DeleteFiles implements driver.StorageDriver: the Store's DeleteFiles
// (bulk deletes only, no list or stat), except that a driver that knows
// the root may hold static large objects first lists the root's SLO index
// and deletes the indexed paths with their segments (see the package
// documentation). Paths are validated before any request.
func (d *Driver) DeleteFiles(ctx context.Context, paths []string) (int, error) {
	if !d.b.slos.Load() {
		return d.Store.DeleteFiles(ctx, paths)
	}
	unique, err := driver.UniquePaths(DriverName, paths)
	if err != nil {
		return 0, err
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	index, err := d.b.sloIndex(ctx)
	if err != nil {
		return 0, wrap(ctx, "DeleteFiles", "/", err)
	}
	del := driver.BatchDeleter{DriverName: DriverName, Backend: d.b, Keys: d.b.keys, BatchSize: d.b.batch, Config: d.b.cfg.CommonConfig}
	return driver.DeleteInBatches(ctx, DriverName, unique, d.b.batch, d.b.cfg.MaxConcurrency,
		func(ctx context.Context, batch []string) []driver.DeleteFailure {
			objs := make([]driver.Object, len(batch))
			for i, p := range batch {
				objs[i] = driver.Object{Key: d.b.keys.Key(p)}
				if index[d.b.sloIndexName(objs[i].Key)] {
					objs[i].Detail = largeObject("")
				}
			}
			return del.Batch(ctx, "DeleteFiles", objs)
		})
}

// errNotSLO is the report of a multipart-manifest=delete of a plain
// object.
var errNotSLO = errors.New("not an SLO manifest")

// deleteLarge deletes the static large object key of the container with
// its segments and bookkeeping: a HEAD (a path overwritten by a plain
// object since it was listed or indexed gets a plain DELETE instead, and a
// missing one only loses its index entry), a
// GET of the manifest for the uploads its segments belong to, the
// multipart-manifest=delete that removes the segments and the manifest,
// and one bulk delete of the uploads' committed markers and the file's
// index entry (which no manifest names). Four requests per SLO file,
// which holds more than max_file_size bytes. The multipart-manifest=delete
// answer is a bulk-delete report in a 200: "Not an SLO manifest" (the
// file was overwritten after the HEAD) also falls back to a plain DELETE.
// Each request is sent once: the Store retries.
func (b *backend) deleteLarge(ctx context.Context, key string) error {
	path := b.keys.AnyPath(key)
	_, h, err := b.do(ctx, request{method: http.MethodHead, container: b.container, object: key, once: true})
	bookkeeping := []string{b.sloIndexName(key)}
	switch {
	case statusOf(err) == http.StatusNotFound:
		// Gone already: only a stale index entry may be left.
		return b.deleteSegments(ctx, "Delete", path, bookkeeping)
	case err != nil:
		return err
	case isSLO(h):
		markers, err := b.committedMarkers(ctx, key)
		if err != nil {
			return err
		}
		bookkeeping = append(bookkeeping, markers...)
		err = b.deleteManifest(ctx, key)
		if errors.Is(err, errNotSLO) {
			err = b.deleteObject(ctx, key)
		}
		if err != nil {
			return err
		}
	default:
		if err := b.deleteObject(ctx, key); err != nil {
			return err
		}
	}
	// Last: a failure above leaves the file indexed.
	return b.deleteSegments(ctx, "Delete", path, bookkeeping)
}

// deleteObject sends one plain DELETE of key in the container.
func (b *backend) deleteObject(ctx context.Context, key string) error {
	_, _, err := b.do(ctx, request{method: http.MethodDelete, container: b.container, object: key, once: true})
	return err
}

// committedMarkers reads the manifest of the SLO key and returns the
// committed markers of the uploads its entries belong to.
func (b *backend) committedMarkers(ctx context.Context, key string) ([]string, error) {
	var stored []storedEntry
	_, _, err := b.do(ctx, request{method: http.MethodGet, container: b.container, object: key, once: true,
		query: url.Values{"multipart-manifest": {"get"}},
		read: func(body []byte) error {
			stored = nil
			if err := json.Unmarshal(body, &stored); err != nil {
				return fmt.Errorf("manifest of %s: %w", key, err)
			}
			return nil
		}})
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var markers []string
	pfx := "/" + b.cfg.SegmentsContainer + "/"
	for _, e := range stored {
		name, ok := strings.CutPrefix(e.Name, pfx)
		if !ok || !strings.HasPrefix(name, b.keys.Prefix) {
			continue // not one of this driver's uploads
		}
		marker := name[:strings.LastIndexByte(name, '/')+1] + committedName
		if !seen[marker] {
			seen[marker] = true
			markers = append(markers, marker)
		}
	}
	return markers, nil
}

// deleteManifest deletes the SLO key with multipart-manifest=delete, its
// segments included, and reads the report.
func (b *backend) deleteManifest(ctx context.Context, key string) error {
	var res bulkResult
	_, _, err := b.do(ctx, request{method: http.MethodDelete, container: b.container, object: key, once: true,
		query:   url.Values{"multipart-manifest": {"delete"}},
		headers: swift.Headers{"Accept": "application/json"},
		read: func(body []byte) error {
			res = bulkResult{}
			if err := json.Unmarshal(body, &res); err != nil {
				return fmt.Errorf("decoding the multipart-manifest=delete answer %.200q: %w", body, err)
			}
			return nil
		}})
	if err != nil {
		return err
	}
	return manifestDeleteError(res)
}

// manifestDeleteError is the outcome of a multipart-manifest=delete from
// its report: nil when the manifest went, errNotSLO for a plain object, a
// 404 when the manifest was missing, else the first failure with the
// report's status.
func manifestDeleteError(res bulkResult) error {
	code, text := parseStatus(res.Status)
	for _, e := range res.Errors {
		if len(e) != 2 {
			continue
		}
		if strings.Contains(e[1], "Not an SLO manifest") {
			return errNotSLO
		}
		c, t := parseStatus(e[1])
		if c == 0 {
			c, t = code, e[1]
		}
		return &statusError{code: c, text: e[0] + ": " + t}
	}
	if code < 200 || code > 299 {
		return &statusError{code: code, text: strings.TrimSpace(text + " " + res.Body)}
	}
	if res.Deleted == 0 && res.NotFound > 0 {
		return &statusError{code: http.StatusNotFound, text: "SLO manifest not found"}
	}
	return nil
}
