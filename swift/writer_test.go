package swift_test

import (
	"bytes"
	"context"
	"slices"
	"testing"

	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/internal/cloudtest"
)

const mib = 1 << 20

// writerDriver returns a new driver instance over root with 1 MiB
// segments and an op classifier, as a new process would build it.
func writerDriver(t testing.TB, root string, tweak func(*configT)) (driver.StorageDriver, *cloudtest.Ops) {
	t.Helper()
	d, _, o := backendWith(tweak).Counting(t, root)
	return d, o
}

// Sessions in several driver instances keep their segments in the
// segments container; Commit concatenates them server-side into one plain
// object that an independent client reads back, and leaves nothing
// behind.
func TestWriterAcrossDrivers(t *testing.T) {
	root := freshRoot(t)
	m := newIndependent(t)
	ctx := context.Background()
	content := cloudtest.PatternBytes(4*mib + 123)
	cuts := []int{mib / 2, 2*mib + 5, 2*mib + 6, len(content)}
	cloudtest.WriteSessions(t, cloudtest.Sessions{
		Path:    "/blob",
		Content: content,
		Cuts:    cuts, // sessions end at these offsets
		New:     func(t testing.TB) (driver.StorageDriver, *cloudtest.Ops) { return writerDriver(t, root, nil) },
		// Half a segment: one listing to find old state, one segment at Close.
		First: map[string]int{"List": 1, "Put": 1},
		AfterFirst: func(t testing.TB) {
			if segs := m.names(m.segments, root+"/"); len(segs) != 1 {
				t.Fatalf("segments %v, want one", segs)
			}
		},
		// The buffered rest as the last segment, a temporary manifest, the
		// server-side copy, and one bulk delete of the upload's objects.
		Commit: map[string]int{"Put": 1, "PutManifest": 1, "Copy": 1, "BulkDelete": 1},
	})
	if got := m.get(root + "/blob"); !bytes.Equal(got, content) {
		t.Fatalf("swift reads %d bytes, want the %d written over %d sessions", len(got), len(content), len(cuts))
	}
	_, h, err := m.c.Object(ctx, m.container, root+"/blob")
	if err != nil || h.IsLargeObject() {
		t.Errorf("the committed blob is a large object (%v, %v); want a plain object", h, err)
	}
	if left := m.keys(root + "/"); !slices.Equal(left, []string{root + "/blob"}) {
		t.Errorf("names after Commit %v, want only the blob", left)
	}
	if segs := m.names(m.segments, root+"/"); len(segs) != 0 {
		t.Errorf("segments after Commit: %v", segs)
	}
}

// Above MaxFileSize a file stays a static large object: every read path
// sees its whole content and size, a later Writer leaves its segments
// alone, Move shares them, and Delete removes them.
func TestWriterLargeFileStaysSLO(t *testing.T) {
	root := freshRoot(t)
	m := newIndependent(t)
	ctx := context.Background()
	small := func(c *configT) { c.MaxFileSize = 2 * mib }
	content := cloudtest.PatternBytes(5*mib + 1)

	d, o := writerDriver(t, root, small)
	w := cloudtest.Session(t, d, "/d/big", false, 0, content)
	o.Take()
	if err := w.Commit(ctx); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	// The last byte as a segment, the committed marker, the SLO index
	// entry, the manifest.
	cloudtest.WantOps(t, "Commit above MaxFileSize", o.Take(), map[string]int{"Put": 3, "PutManifest": 1})
	if got := m.get(root + "/d/big"); !bytes.Equal(got, content) {
		t.Fatalf("swift reads %d bytes, want %d", len(got), len(content))
	}
	if got, err := d.GetContent(ctx, "/d/big"); err != nil || !bytes.Equal(got, content) {
		t.Fatalf("GetContent = %d bytes, %v", len(got), err)
	}
	if fi, err := d.Stat(ctx, "/d/big"); err != nil || fi.Size() != int64(len(content)) {
		t.Errorf("Stat = %v, %v; want size %d", fi, err, len(content))
	}
	rc, err := d.Reader(ctx, "/d/big", 3*mib)
	if err != nil {
		t.Fatal(err)
	}
	tail := new(bytes.Buffer)
	if _, err := tail.ReadFrom(rc); err != nil || !bytes.Equal(tail.Bytes(), content[3*mib:]) {
		t.Errorf("Reader at 3 MiB = %d bytes, %v", tail.Len(), err)
	}
	rc.Close()
	var sizes []int64
	if err := d.Walk(ctx, "/", func(fi driver.FileInfo) error {
		if !fi.IsDir() {
			sizes = append(sizes, fi.Size())
		}
		return nil
	}); err != nil || !slices.Equal(sizes, []int64{int64(len(content))}) {
		t.Errorf("Walk sizes %v, %v; want [%d]", sizes, err, len(content))
	}

	// Writer(append) continues the file (see TestWriterContinuesSLO); its
	// Cancel leaves the file and its segments alone.
	o.Take()
	wc, err := d.Writer(ctx, "/d/big", true)
	if err != nil {
		t.Fatalf("Writer(append) after an SLO commit: %v", err)
	}
	if wc.Size() != int64(len(content)) {
		t.Errorf("Writer(append) after an SLO commit: Size() = %d, want %d", wc.Size(), len(content))
	}
	if err := wc.Cancel(ctx); err != nil {
		t.Fatal(err)
	}
	// A listing (the committed upload's marker and segments, then the
	// empty page that ends it), a HEAD, the COPY of the manifest, a bulk
	// delete of the copy.
	cloudtest.WantOps(t, "continuing an SLO and cancelling", o.Take(), map[string]int{"List": 2, "Head": 1, "Copy": 1, "BulkDelete": 1})
	if got := m.get(root + "/d/big"); !bytes.Equal(got, content) {
		t.Fatalf("after a cancelled continuation, swift reads %d bytes, want %d", len(got), len(content))
	}

	// A new upload to the same path does not take the committed segments.
	w2, err := d.Writer(ctx, "/d/big", false)
	if err != nil {
		t.Fatal(err)
	}
	if err := w2.Cancel(ctx); err != nil {
		t.Fatal(err)
	}
	if got := m.get(root + "/d/big"); !bytes.Equal(got, content) {
		t.Fatalf("after a new Writer, swift reads %d bytes, want %d", len(got), len(content))
	}

	if err := d.Move(ctx, "/d/big", "/e/big"); err != nil {
		t.Fatal(err)
	}
	if got, err := d.GetContent(ctx, "/e/big"); err != nil || !bytes.Equal(got, content) {
		t.Fatalf("GetContent after Move = %d bytes, %v", len(got), err)
	}
	if err := d.Delete(ctx, "/e"); err != nil {
		t.Fatal(err)
	}
	// The segments, the upload's committed marker and the SLO index
	// entry go with the file.
	if segs := m.names(m.segments, root+"/"); len(segs) != 0 {
		t.Errorf("segments container after Delete: %v, want nothing", segs)
	}
	if left := m.keys(root + "/"); len(left) != 0 {
		t.Errorf("names after Delete: %v", left)
	}
}

// A non-append Writer removes the path's uncommitted segments; Cancel
// removes its own.
func TestWriterDiscardsAndCancels(t *testing.T) {
	m := newIndependent(t)
	cloudtest.WriterDiscardsAndCancels(t, cloudtest.DiscardCancel{
		Backend: backend(),
		FSize:   mib + mib/2,
		GSize:   2*mib + 1,
		Left: func(_ testing.TB, root, _ string) []string {
			return m.names(m.segments, root+"/")
		},
		AfterClose: func(t testing.TB, root, p string) {
			// /f: the second session completed the first's short segment;
			// /g: two full segments and a byte.
			if segs := m.names(m.segments, root+"/"); len(segs) != 3 {
				t.Fatalf("segments after the sessions of %s: %v, want 3", p, segs)
			}
		},
		// The upload's page and the empty one that ends the listing.
		Discard: map[string]int{"List": 2, "BulkDelete": 1},
		Commit:  map[string]int{"Put": 1},
	})
}

// More segments than max_manifest_segments are committed through
// sub-manifests (the limit lowered to 3 here; the cluster's is 1,000).
func TestWriterNestedManifests(t *testing.T) {
	root := freshRoot(t)
	m := newIndependent(t)
	ctx := context.Background()
	d, o := writerDriver(t, root, func(c *configT) { c.MaxManifestSegments = 3 })
	content := cloudtest.PatternBytes(4*mib + 10)
	w := cloudtest.Session(t, d, "/many", false, 0, content)
	o.Take()
	if err := w.Commit(ctx); err != nil {
		t.Fatalf("Commit of 5 segments: %v", err)
	}
	// The last segment, two sub-manifests and the top one, the copy, and
	// one bulk delete.
	cloudtest.WantOps(t, "Commit of 5 segments", o.Take(), map[string]int{"Put": 1, "PutManifest": 3, "Copy": 1, "BulkDelete": 1})
	if got := m.get(root + "/many"); !bytes.Equal(got, content) {
		t.Fatalf("swift reads %d bytes, want %d", len(got), len(content))
	}
	if segs := m.names(m.segments, root+"/"); len(segs) != 0 {
		t.Errorf("segments left after Commit: %v", segs)
	}
}

// Many short sessions leave one short segment, not one each: a resumed
// writer reads the short last segment back and replaces it.
func TestWriterShortSessionsShareTail(t *testing.T) {
	root := freshRoot(t)
	m := newIndependent(t)
	ctx := context.Background()
	var want []byte
	var w driver.FileWriter
	for i := 0; i < 30; i++ {
		d, o := writerDriver(t, root, nil)
		chunk := bytes.Repeat([]byte{byte('a' + i%26)}, 100_000)
		w = cloudtest.Session(t, d, "/f", i > 0, int64(len(want)), chunk)
		want = append(want, chunk...)
		if i == 29 {
			break
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if i == 1 {
			// Two listing pages (the last one empty), a HEAD of the short
			// last segment (its listed size may be stale), GET of the
			// tail, its replacement.
			cloudtest.WantOps(t, "a short resumed session", o.Take(), map[string]int{"List": 2, "Head": 1, "Get": 1, "Put": 1})
		}
	}
	segs := m.names(m.segments, root+"/")
	if len(segs) != 3 { // 2 full 1 MiB segments and the short last one
		t.Errorf("30 sessions of 100,000 bytes left %d segments, want 3: %v", len(segs), segs)
	}
	if err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if got := m.get(root + "/f"); !bytes.Equal(got, want) {
		t.Fatalf("swift reads %d bytes, want %d", len(got), len(want))
	}
}

// Continuing a committed file of several chunks copies it server-side as
// the upload's first segment: neither Writer nor Commit downloads it (no
// GET at all), readers see the old file until Commit, and Commit
// concatenates the copy and the new segments into one plain object.
func TestWriterContinuesLargeFileServerSide(t *testing.T) {
	root := freshRoot(t)
	m := newIndependent(t)
	ctx := context.Background()
	content := cloudtest.PatternBytes(2*mib + 1 + 500_000)
	old, more := content[:2*mib+1], content[2*mib+1:]
	m.put(root+"/blob", old)
	if err := m.c.ContainerCreate(ctx, m.segments, nil); err != nil {
		t.Fatal(err)
	}

	d, o := writerDriver(t, root, nil)
	w := cloudtest.Session(t, d, "/blob", true, int64(len(old)), more)
	// The listing of uploads, the HEAD of the file, its COPY; the 500,000
	// new bytes (less than a chunk) are still buffered.
	cloudtest.WantOps(t, "Writer(append) of a 2 MiB file", o.Take(), map[string]int{"List": 1, "Head": 1, "Copy": 1})
	if got := m.get(root + "/blob"); !bytes.Equal(got, old) {
		t.Fatalf("before Commit swift reads %d bytes, want the old %d", len(got), len(old))
	}
	if segs := m.names(m.segments, root+"/"); len(segs) != 1 {
		t.Errorf("segments %v, want the copy of the file", segs)
	}
	if err := w.Commit(ctx); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	if w.Size() != int64(len(content)) {
		t.Errorf("Size() after Commit = %d, want %d", w.Size(), len(content))
	}
	// The new bytes as a segment, a temporary manifest, the concatenating
	// COPY and one bulk delete.
	cloudtest.WantOps(t, "Commit", o.Take(), map[string]int{"Put": 1, "PutManifest": 1, "Copy": 1, "BulkDelete": 1})
	if got := m.get(root + "/blob"); !bytes.Equal(got, content) {
		t.Fatalf("swift reads %d bytes, want %d", len(got), len(content))
	}
	if _, h, err := m.c.Object(ctx, m.container, root+"/blob"); err != nil || h.IsLargeObject() {
		t.Errorf("the continued blob is a large object (%v, %v); want a plain object", h, err)
	}
	if segs := m.names(m.segments, root+"/"); len(segs) != 0 {
		t.Errorf("segments after Commit: %v", segs)
	}
}

// The continuation starts from the file as it was at Writer time, for a
// file read into the buffer and for one copied server-side: overwriting the
// file before Commit changes nothing in the result.
func TestWriterContinueSnapshot(t *testing.T) {
	cloudtest.WriterContinuesSnapshot(t, backend(), 10, 2*mib+3)
}

// Above MaxFileSize a continued file stays a static large object whose
// manifest lists the old segments, shared, and the new ones: one level, no
// sub-manifest for the old file. Writer copies only the manifest and
// Commit reads only the manifest (GetManifest), never the content.
func TestWriterContinuesSLO(t *testing.T) {
	root := freshRoot(t)
	m := newIndependent(t)
	ctx := context.Background()
	small := func(c *configT) { c.MaxFileSize = 2 * mib }
	content := cloudtest.PatternBytes(4*mib + 100)
	old, more := content[:3*mib+1], content[3*mib+1:]

	d, _ := writerDriver(t, root, small)
	w := cloudtest.Session(t, d, "/big", false, 0, old)
	if err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	d, o := writerDriver(t, root, small) // a new process
	w = cloudtest.Session(t, d, "/big", true, int64(len(old)), more)
	// More than a chunk written: one full segment is uploaded already. The
	// listing finds the committed upload (two pages, the last one empty).
	cloudtest.WantOps(t, "Writer(append) of an SLO", o.Take(), map[string]int{"List": 2, "Head": 1, "Copy": 1, "Put": 1})
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if got := m.get(root + "/big"); !bytes.Equal(got, old) {
		t.Fatalf("before Commit swift reads %d bytes, want the old %d", len(got), len(old))
	}

	d, o = writerDriver(t, root, small) // another process resumes
	w, err := d.Writer(ctx, "/big", true)
	if err != nil {
		t.Fatal(err)
	}
	if w.Size() != int64(len(content)) {
		t.Fatalf("resumed Size() = %d, want %d", w.Size(), len(content))
	}
	o.Take()
	if err := w.Commit(ctx); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	// The short last segment (read back by the resume) stored again, the
	// copied manifest read, the committed marker, the SLO index entry, the
	// new manifest and the bulk delete of the copied manifest.
	cloudtest.WantOps(t, "Commit of a continued SLO", o.Take(), map[string]int{"Put": 3, "GetManifest": 1, "PutManifest": 1, "BulkDelete": 1})
	if got := m.get(root + "/big"); !bytes.Equal(got, content) {
		t.Fatalf("swift reads %d bytes, want %d", len(got), len(content))
	}
	// One level: the 4 segments of the old file and the 2 new ones.
	_, segs, err := m.c.LargeObjectGetSegments(ctx, m.container, root+"/big")
	if err != nil {
		t.Fatal(err)
	}
	var sizes []int64
	for _, s := range segs {
		sizes = append(sizes, s.Bytes)
	}
	if want := []int64{mib, mib, mib, 1, mib, 99}; !slices.Equal(sizes, want) {
		t.Errorf("manifest segment sizes %v, want %v", sizes, want)
	}
	// The copied manifest is gone; the segments stay with the two uploads'
	// committed markers and the file's SLO index entry until Delete
	// removes them.
	if names := m.names(m.segments, root+"/"); len(names) != 9 {
		t.Errorf("segments container after Commit: %d names, want 6 segments, 2 markers and the index entry: %v", len(names), names)
	}
	if err := d.Delete(ctx, "/big"); err != nil {
		t.Fatal(err)
	}
	// Both uploads' committed markers go too: the manifest names both.
	if names := m.names(m.segments, root+"/"); len(names) != 0 {
		t.Errorf("segments container after Delete: %v, want nothing", names)
	}
}
