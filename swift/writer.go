package swift

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ncw/swift/v2"

	"github.com/stowage-dev/stowage/driver"
)

// Names inside an upload's name space <base><upload id>/ in the segments
// container: segments are numbered, the rest are bookkeeping.
const (
	committedName = "committed" // marks an upload committed as an SLO
	manifestName  = "manifest"  // temporary manifest of a commit
)

// segment is one uploaded segment of a writer.
type segment struct {
	name string // in the segments container
	size int64
	etag string
	// slo marks a copy of a static large object's manifest: the first
	// segment of a writer continuing a file committed as an SLO. Commit
	// puts the manifest's own entries in its place.
	slo bool
}

// upload is one upload's objects found in the segments container.
type upload struct {
	id        string
	segments  []segment // sorted by sequence
	others    []string  // bookkeeping objects
	committed bool
}

// Writer implements driver.Backend; see the package documentation
// for the layout. Writer lists the path's upload name space once (one
// request); with append false it also bulk-deletes the uncommitted
// uploads it finds. No request is made for a writer that writes less than
// a chunk until Close or Commit.
//
// With append true and no uncommitted upload, Writer continues the file
// committed at path (see continueFile): one HEAD, then a file shorter
// than a chunk is read into the buffer (one GET), and a larger one is
// copied server-side into a new upload as its first segment (one COPY;
// for a static large object, a copy of its manifest), so its bytes never
// pass through the client. Either way the continuation starts from the
// file as it was at Writer time, readers keep seeing the file until
// Commit, Close leaves an ordinary upload that any driver instance
// resumes, Commit concatenates the copy and the new segments server-side,
// and Cancel deletes only the upload's objects (the committed file and
// the segments of an SLO stay).
func (b *backend) Writer(ctx context.Context, path string, append bool) (driver.FileWriter, error) {
	uploads, err := b.uploadsOf(ctx, path)
	if err != nil {
		return nil, err
	}
	open := uncommitted(uploads)
	w := &writer{WriterState: driver.WriterState{DriverName: DriverName}, b: b, ctx: ctx, path: path}
	if !append {
		if err := b.deleteSegments(ctx, "Writer", path, objectNames(open)); err != nil {
			return nil, err
		}
		w.id = newUploadID()
		return w, nil
	}
	if len(open) == 0 {
		w.id = newUploadID()
		if err := w.continueFile(ctx); err != nil {
			return nil, err
		}
		return w, nil
	}
	u := open[len(open)-1] // the latest
	w.id = u.id
	w.others = u.others
	if w.segs, err = w.checkSegments(ctx, u.segments); err != nil {
		return nil, err
	}
	for _, s := range w.segs {
		w.segSize += s.size
	}
	if err := w.loadTail(ctx); err != nil {
		return nil, err
	}
	return w, nil
}

// checkSegments returns the segments of w's upload as the segments
// themselves say, from the upload's listing. Container listings are
// eventually consistent (swift-object-updater(1): "Container listings,
// therefore, may not immediately contain the object"; an overwrite is
// listed late the same way), so a listing may lack the segments a Close
// in another process has just stored, or show the old size and etag of a
// short last segment that a later session replaced under the same name.
// A segment of a full chunk is never replaced (only the short last one
// is), so its listed facts are taken as they are; every other one is
// asked with a HEAD: a short or unlisted sequence number, and the number
// after the last, until a HEAD finds no segment or a short one (which is
// always the last). Resuming costs one HEAD more than the listing: the
// short last segment's, or the 404 after a last full one. Segments listed
// past the first missing number are not the upload's: a listing that
// still shows deleted objects.
func (w *writer) checkSegments(ctx context.Context, listed []segment) ([]segment, error) {
	b := w.b
	byNum := make(map[int]segment, len(listed))
	for _, s := range listed {
		byNum[segNum(s.name)] = s
	}
	var out []segment
	for n := 0; ; n++ {
		s, ok := byNum[n]
		if ok && s.size >= b.cfg.ChunkSize {
			out = append(out, s)
			continue
		}
		name := w.segName(n)
		_, h, err := b.do(ctx, request{method: http.MethodHead, container: b.cfg.SegmentsContainer, object: name})
		if statusOf(err) == http.StatusNotFound {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		size, _ := sizeAndTime(h)
		s = segment{name: name, size: size, etag: unquote(h["Etag"]), slo: isSLO(h)}
		out = append(out, s)
		if size < b.cfg.ChunkSize {
			return out, nil
		}
	}
}

// segNum is the sequence number of a segment's name (-1 for another
// name).
func segNum(name string) int {
	n, err := strconv.Atoi(name[strings.LastIndexByte(name, '/')+1:])
	if err != nil {
		return -1
	}
	return n
}

// uncommitted returns the uploads that are not committed yet.
func uncommitted(uploads []upload) []upload {
	var open []upload
	for _, u := range uploads {
		if !u.committed {
			open = append(open, u)
		}
	}
	return open
}

// objectNames returns the names of every object of uploads.
func objectNames(uploads []upload) []string {
	var names []string
	for _, u := range uploads {
		for _, s := range u.segments {
			names = append(names, s.name)
		}
		names = append(names, u.others...)
	}
	return names
}

// continueFile starts w's new upload from the file committed at w.path,
// as it is now: one HEAD for its size and kind (a missing file, or a
// directory, gives a *driver.PathNotFoundError), then a file shorter than
// a chunk is read into the buffer (Close or Commit stores it with what
// follows) and a larger one is copied server-side as segment 0 of the
// upload. A static large object is copied with multipart-manifest=get: the
// copy is a manifest sharing the file's segments (which no Writer ever
// deletes), so even a file above max_file_size is continued without
// moving its bytes.
func (w *writer) continueFile(ctx context.Context) error {
	b := w.b
	h, err := b.head(ctx, w.path)
	if err != nil {
		return err
	}
	size, _ := sizeAndTime(h)
	if size < b.cfg.ChunkSize {
		w.buf, err = b.getAll(ctx, b.cfg.Container, b.keys.Key(w.path), nil)
		return err
	}
	slo := isSLO(h)
	name := w.segName(0)
	ch, err := b.copyToSegments(ctx, w.path, name, slo)
	if err != nil {
		return err
	}
	seg := segment{name: name, size: size, etag: unquote(ch["Etag"]), slo: slo}
	if seg.etag != unquote(h["Etag"]) {
		// The file changed between the HEAD and the COPY: the copy is the
		// snapshot, so take its size and kind.
		_, sh, err := b.do(ctx, request{method: http.MethodHead, container: b.cfg.SegmentsContainer, object: name})
		if err != nil {
			return err
		}
		seg.size, _ = sizeAndTime(sh)
		seg.slo = isSLO(sh)
	}
	w.segs = []segment{seg}
	w.segSize = seg.size
	return nil
}

// copyToSegments copies the file of path server-side to the object name
// of the segments container, creating the container when it is missing;
// with manifest set, a static large object's manifest is copied. The copy
// records path in its Content-Type, as every segment does (segmentType).
// It returns the headers of the COPY's answer.
func (b *backend) copyToSegments(ctx context.Context, path, name string, manifest bool) (swift.Headers, error) {
	h, err := b.copyObject(ctx, b.cfg.Container, b.keys.Key(path), b.cfg.SegmentsContainer, name, manifest, segmentType(path))
	if statusOf(err) == http.StatusNotFound {
		// Either the file went away or the segments container is missing.
		if cerr := b.createSegmentsContainer(ctx); cerr != nil {
			return nil, cerr
		}
		h, err = b.copyObject(ctx, b.cfg.Container, b.keys.Key(path), b.cfg.SegmentsContainer, name, manifest, segmentType(path))
	}
	return h, err
}

// isSLO reports whether h are the headers of a static large object.
func isSLO(h swift.Headers) bool {
	return strings.EqualFold(h["X-Static-Large-Object"], "true")
}

// unquote strips the quotes Swift puts around the etag of a large object.
func unquote(etag string) string { return strings.Trim(etag, `"`) }

// loadTail reads a last segment shorter than a chunk (what a Close left)
// back into the buffer; the next upload replaces it, under the same name,
// with the tail plus the new bytes. So an upload has at most one short
// segment, its last: Swift rate-limits the reading of manifests with many
// small segments (rate_limit_under_size).
func (w *writer) loadTail(ctx context.Context) error {
	if len(w.segs) == 0 {
		return nil
	}
	last := w.segs[len(w.segs)-1]
	if last.size >= w.b.cfg.ChunkSize {
		return nil
	}
	if last.size > 0 {
		b, err := w.b.getAll(ctx, w.b.cfg.SegmentsContainer, last.name, nil)
		if err != nil {
			return err
		}
		if int64(len(b)) != last.size {
			return fmt.Errorf("segment %s has %d bytes, the listing said %d", last.name, len(b), last.size)
		}
		w.buf = b
	}
	w.tail = &last
	w.segs = w.segs[:len(w.segs)-1]
	w.segSize -= last.size
	return nil
}

// newUploadID returns a new upload id; ids sort by creation time.
func newUploadID() string {
	return fmt.Sprintf("%016x%08x", time.Now().UnixNano(), rand.Uint32())
}

// uploadsOf lists path's uploads in the segments container, oldest first.
func (b *backend) uploadsOf(ctx context.Context, path string) ([]upload, error) {
	base := b.uploadBase(path)
	byID := map[string]*upload{}
	var ids []string
	err := b.listEach(ctx, base, func(o object) {
		id, rest, ok := strings.Cut(strings.TrimPrefix(o.Name, base), "/")
		if !ok {
			return
		}
		u := byID[id]
		if u == nil {
			u = &upload{id: id}
			byID[id] = u
			ids = append(ids, id)
		}
		switch _, nerr := strconv.Atoi(rest); {
		case nerr == nil:
			seg := segment{name: o.Name, size: o.Bytes, etag: o.Hash}
			if o.SLOEtag != "" {
				seg.etag, seg.slo = unquote(o.SLOEtag), true
			}
			u.segments = append(u.segments, seg)
		case rest == committedName:
			u.committed = true
		default:
			u.others = append(u.others, o.Name)
		}
	})
	if err != nil {
		return nil, err
	}
	sort.Strings(ids)
	out := make([]upload, len(ids))
	for i, id := range ids {
		out[i] = *byID[id]
		sort.Slice(out[i].segments, func(a, b int) bool { return out[i].segments[a].name < out[i].segments[b].name })
	}
	return out, nil
}

// deleteSegments deletes names of the segments container, in bulk-delete
// batches, for operation op of the writer of path.
func (b *backend) deleteSegments(ctx context.Context, op, path string, names []string) error {
	objs := make([]driver.Object, len(names))
	for i, n := range names {
		objs[i] = driver.Object{Key: n}
	}
	if err := b.segments().All(ctx, op, objs); err != nil {
		return &driver.OpError{DriverName: DriverName, Op: op, Path: path, Err: fmt.Errorf("deleting upload segments: %w", err)}
	}
	return nil
}

// writer is the FileWriter of backend.Writer.
type writer struct {
	driver.WriterState
	b    *backend
	ctx  context.Context // of the Writer call: Write and Close use it
	path string

	id      string
	segs    []segment
	others  []string // bookkeeping objects of the upload (a failed commit's manifest)
	segSize int64
	buf     []byte
	tail    *segment // the short last segment loaded into buf, replaced by the next upload
}

// Size implements driver.FileWriter.
func (w *writer) Size() int64 { return w.segSize + int64(len(w.buf)) }

// Write implements io.Writer. Every full chunk is uploaded as a segment
// before Write returns; when that fails the bytes stay buffered (Size
// counts them) and Write reports the error.
func (w *writer) Write(p []byte) (int, error) {
	n, err := w.WriteChunks(w.ctx, &w.buf, p, w.b.cfg.ChunkSize, w.flush)
	return n, wrap(w.ctx, "Write", w.path, err)
}

// segName names segment number n of the upload.
func (w *writer) segName(n int) string {
	return w.b.uploadBase(w.path) + w.id + "/" + fmt.Sprintf("%010d", n)
}

// uploadName names a bookkeeping object of the upload.
func (w *writer) uploadName(name string) string {
	return w.b.uploadBase(w.path) + w.id + "/" + name
}

// flush uploads data as the next segment.
func (w *writer) flush(ctx context.Context, data []byte) error {
	n := 0
	switch {
	case w.tail != nil:
		n = segNum(w.tail.name)
	case len(w.segs) > 0:
		n = segNum(w.segs[len(w.segs)-1].name) + 1
	}
	if limit := w.b.manifestLimit(); n >= limit*limit {
		// Checked before the upload, not at Commit: the bytes stay
		// buffered and nothing is stored that Commit could not use.
		return &TooManySegmentsError{Segment: n + 1, Limit: limit * limit, ChunkSize: w.b.cfg.ChunkSize}
	}
	name := w.segName(n)
	h, err := w.b.putSegment(ctx, name, data, segmentType(w.path))
	if err != nil {
		return err
	}
	w.segs = append(w.segs, segment{name: name, size: int64(len(data)), etag: h["Etag"]})
	w.segSize += int64(len(data))
	w.tail = nil
	return nil
}

// putSegment stores an object of Content-Type contentType in the
// segments container, creating the container when it is missing.
func (b *backend) putSegment(ctx context.Context, name string, data []byte, contentType string) (swift.Headers, error) {
	r := request{method: http.MethodPut, container: b.cfg.SegmentsContainer, object: name,
		headers: swift.Headers{"Content-Type": contentType}, body: data, hasBody: true}
	_, h, err := b.do(ctx, r)
	if statusOf(err) == http.StatusNotFound {
		if cerr := b.createSegmentsContainer(ctx); cerr != nil {
			return nil, cerr
		}
		_, h, err = b.do(ctx, r)
	}
	return h, err
}

// createSegmentsContainer creates the segments container (a PUT of an
// existing container changes nothing).
func (b *backend) createSegmentsContainer(ctx context.Context) error {
	_, _, err := b.do(ctx, request{method: http.MethodPut, container: b.cfg.SegmentsContainer, hasBody: true})
	return err
}

// Close implements io.Closer. An open writer keeps its upload: the
// buffered bytes become one more segment (an empty writer stores an empty
// one, so that it can be resumed). It runs under driver.CloseContext of
// the Writer's ctx, so it persists what was written even when that ctx
// has ended. Size stays the total written; when the upload fails the
// bytes stay counted (and buffered) and Close reports the error.
func (w *writer) Close() error {
	ctx, cancel, open, err := w.BeginClose(w.ctx)
	if !open {
		return err
	}
	defer cancel()
	switch {
	case w.tail != nil && int64(len(w.buf)) == w.tail.size:
		// Nothing written in this session: the tail is stored already.
		w.segs = append(w.segs, *w.tail)
		w.segSize += w.tail.size
		w.tail = nil
	case len(w.buf) > 0 || len(w.segs) == 0:
		if err := w.flush(ctx, w.buf); err != nil {
			return wrap(ctx, "Close", w.path, err)
		}
	}
	w.buf = nil
	return nil
}

// manifestEntry is one entry of an SLO manifest.
type manifestEntry struct {
	Path  string `json:"path"`
	Etag  string `json:"etag,omitempty"`
	Size  *int64 `json:"size_bytes,omitempty"`
	Range string `json:"range,omitempty"`
}

// storedEntry is one entry of a manifest as GET ?multipart-manifest=get
// returns it.
type storedEntry struct {
	Name  string `json:"name"`
	Bytes int64  `json:"bytes"`
	Hash  string `json:"hash"`
	Range string `json:"range"`
}

// Commit implements driver.FileWriter; see the package documentation. On
// failure the writer stays open, so Commit may be tried again or Cancel
// called.
func (w *writer) Commit(ctx context.Context) error {
	if err := w.BeginCommit(ctx); err != nil {
		return err
	}
	return wrap(ctx, "Commit", w.path, w.commit(ctx))
}

// commit is Commit after the state check.
func (w *writer) commit(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	d := w.b
	if w.segSize == 0 {
		// Nothing but the buffer holds content: one PUT.
		if err := d.putObject(ctx, d.cfg.Container, d.keys.Key(w.path), w.buf); err != nil {
			return err
		}
		w.cleanup(ctx)
		w.Committed()
		return nil
	}
	if len(w.buf) > 0 {
		if err := w.flush(ctx, w.buf); err != nil {
			return err
		}
		w.buf = nil
	}
	var entries []manifestEntry
	for _, s := range w.segs {
		if s.slo {
			// The copy of a continued SLO's manifest: its entries, so that
			// continuing a file never nests manifests deeper.
			sub, err := d.manifestEntries(ctx, s.name)
			if err != nil {
				return err
			}
			entries = append(entries, sub...)
			continue
		}
		if s.size == 0 {
			continue // SLO refuses empty segments
		}
		entries = append(entries, manifestEntry{Path: "/" + d.cfg.SegmentsContainer + "/" + s.name, Etag: s.etag, Size: &s.size})
	}
	entries, err := w.nest(ctx, entries)
	if err != nil {
		return err
	}
	if w.segSize <= d.cfg.MaxFileSize {
		// A temporary manifest, copied (concatenated) server-side into a
		// plain object, then every object of the upload deleted.
		manifest := w.uploadName(manifestName)
		if err := d.putManifest(ctx, d.cfg.SegmentsContainer, manifest, entries); err != nil {
			return err
		}
		w.others = appendNew(w.others, manifest)
		if _, err := d.copyObject(ctx, d.cfg.SegmentsContainer, manifest, d.cfg.Container, d.keys.Key(w.path), false, ""); err != nil {
			return err
		}
		w.cleanup(ctx)
		w.Committed()
		return nil
	}
	// Too large for one object: the file is the manifest. Mark the upload
	// committed first, so that no later Writer takes its segments for
	// uncommitted state (a crash in between leaves garbage, never a
	// manifest without segments).
	if err := d.putObject(ctx, d.cfg.SegmentsContainer, w.uploadName(committedName), nil); err != nil {
		return err
	}
	// Index the file before it exists, so that no DeleteFiles can miss
	// its segments (see DeleteFiles).
	if err := d.markSLO(ctx, d.keys.Key(w.path)); err != nil {
		return err
	}
	if err := d.putManifest(ctx, d.cfg.Container, d.keys.Key(w.path), entries); err != nil {
		return err
	}
	w.Committed()
	w.deleteManifestCopies(ctx)
	return nil
}

// manifestEntries reads the manifest name of the segments container (a
// copy of a committed SLO's manifest) as entries of a new manifest.
func (b *backend) manifestEntries(ctx context.Context, name string) ([]manifestEntry, error) {
	body, err := b.getAll(ctx, b.cfg.SegmentsContainer, name, url.Values{"multipart-manifest": {"get"}})
	if err != nil {
		return nil, err
	}
	var stored []storedEntry
	if err := json.Unmarshal(body, &stored); err != nil {
		return nil, fmt.Errorf("manifest %s: %w", name, err)
	}
	entries := make([]manifestEntry, 0, len(stored))
	for _, e := range stored {
		if e.Bytes == 0 {
			continue
		}
		size := e.Bytes
		entries = append(entries, manifestEntry{Path: e.Name, Etag: e.Hash, Size: &size, Range: e.Range})
	}
	return entries, nil
}

// deleteManifestCopies deletes, after a commit that keeps the upload's
// segments, the copies of continued SLO manifests, which the new manifest
// does not reference (a bulk delete removes a manifest, not its segments).
// Failures are only logged: leftovers are invisible.
func (w *writer) deleteManifestCopies(ctx context.Context) {
	var names []string
	for _, s := range w.segs {
		if s.slo {
			names = append(names, s.name)
		}
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	if err := w.b.deleteSegments(cctx, "Commit", w.path, names); err != nil {
		w.b.cfg.Logger.Warn("swift: deleting a copied manifest failed", "path", w.path, "error", err)
	}
}

// appendNew appends s to list unless it is there.
func appendNew(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}

// manifestLimit is the most entries one manifest may have: the cluster's
// max_manifest_segments, or Config.MaxManifestSegments when lower.
func (b *backend) manifestLimit() int {
	limit := b.info.maxManifestSegments
	if b.cfg.MaxManifestSegments > 0 {
		limit = min(limit, b.cfg.MaxManifestSegments)
	}
	return limit
}

// nest returns entries as they fit one manifest: more than the cluster's
// max_manifest_segments are grouped into sub-manifests (one level, so up
// to max² segments; flush refuses a segment beyond that before uploading
// it, so only the entries of a continued SLO's copy can still exceed it
// here).
func (w *writer) nest(ctx context.Context, entries []manifestEntry) ([]manifestEntry, error) {
	d := w.b
	limit := d.manifestLimit()
	if len(entries) <= limit {
		return entries, nil
	}
	var top []manifestEntry
	for i := 0; i < len(entries); i += limit {
		name := w.uploadName(fmt.Sprintf("%s-%06d", manifestName, i/limit))
		if err := d.putManifest(ctx, d.cfg.SegmentsContainer, name, entries[i:min(i+limit, len(entries))]); err != nil {
			return nil, err
		}
		w.others = appendNew(w.others, name)
		top = append(top, manifestEntry{Path: "/" + d.cfg.SegmentsContainer + "/" + name})
	}
	if len(top) > limit {
		return nil, &TooManySegmentsError{Segment: len(entries), Limit: limit * limit, ChunkSize: d.cfg.ChunkSize}
	}
	return top, nil
}

// putManifest stores an SLO manifest.
func (b *backend) putManifest(ctx context.Context, container, name string, entries []manifestEntry) error {
	body, err := json.Marshal(entries)
	if err != nil {
		return err
	}
	_, _, err = b.do(ctx, request{method: http.MethodPut, container: container, object: name,
		query: url.Values{"multipart-manifest": {"put"}}, headers: swift.Headers{"Content-Type": "application/octet-stream"},
		body: body})
	return err
}

// Cancel implements driver.FileWriter: it deletes the upload's objects.
// A committed file the writer continued stays as it was: only its copy in
// the upload goes (for an SLO, the copy of its manifest, not the segments).
func (w *writer) Cancel(ctx context.Context) error {
	if err := w.BeginCancel(ctx); err != nil {
		return err
	}
	if err := w.b.deleteSegments(ctx, "Cancel", w.path, w.names()); err != nil {
		return wrap(ctx, "Cancel", w.path, err)
	}
	w.buf, w.segs, w.tail, w.others, w.segSize = nil, nil, nil, nil, 0
	w.Cancelled()
	return nil
}

// names returns every object of the upload the writer knows.
func (w *writer) names() []string {
	names := make([]string, 0, len(w.segs)+len(w.others)+1)
	for _, s := range w.segs {
		names = append(names, s.name)
	}
	if w.tail != nil {
		names = append(names, w.tail.name)
	}
	return append(names, w.others...)
}

// cleanup deletes the objects of a committed upload. Failures are only
// logged: the content is committed, and leftovers are invisible (a later
// non-append Writer of the path removes them).
func (w *writer) cleanup(ctx context.Context) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	if err := w.b.deleteSegments(cctx, "Commit", w.path, w.names()); err != nil {
		w.b.cfg.Logger.Warn("swift: deleting committed upload segments failed", "path", w.path, "error", err)
	}
}
