package gcs_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"slices"
	"testing"

	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/gcs"
	"github.com/stowage-dev/stowage/internal/cloudtest"
)

const kib = 1 << 10

// writerBackend is backend() with 256 KiB parts.
func writerBackend() cloudtest.Backend {
	b := backend()
	base := b.New
	b.New = func(t testing.TB, root string, hc *http.Client, o cloudtest.Options) driver.StorageDriver {
		o.ChunkSize = gcs.MinChunkSize
		return base(t, root, hc, o)
	}
	return b
}

// writerDriver returns a new driver instance over root with 256 KiB parts
// and an op classifier, as a new process would build it.
func writerDriver(t testing.TB, root string) (driver.StorageDriver, *cloudtest.Ops) {
	t.Helper()
	d, _, o := writerBackend().Counting(t, root)
	return d, o
}

// uploadPrefix is where the driver keeps the parts of path under root (the
// layout writer.go documents).
func uploadPrefix(root, path string) string {
	sum := sha256.Sum256([]byte(path))
	return root + "/~stowage/uploads/" + hex.EncodeToString(sum[:20]) + "/"
}

// Sessions of any length, each on a new driver instance, keep their bytes
// in parts that the next one picks up; the committed object is exactly what
// was written, the SDK reads it back, and no hidden object is left.
func TestWriterPartsAcrossDrivers(t *testing.T) {
	root := freshRoot(t)
	m := newIndependent(t)
	ctx := context.Background()
	content := cloudtest.PatternBytes(1<<20 + 123)
	cloudtest.WriteSessions(t, cloudtest.Sessions{
		Path:    "/blob",
		Content: content,
		Cuts:    []int{100 * kib, 700 * kib, 700*kib + 1, len(content)}, // sessions end at these offsets
		New:     func(t testing.TB) (driver.StorageDriver, *cloudtest.Ops) { return writerDriver(t, root) },
		// One list to discard older state, one upload for the 100 KiB part.
		First: map[string]int{"List": 1, "Upload": 1},
		// The last part, one compose, one batch deleting the parts.
		Commit: map[string]int{"Upload": 1, "Compose": 1, "Batch": 1},
		AfterFirst: func(t testing.TB) {
			if got := m.names(uploadPrefix(root, "/blob")); len(got) != 1 {
				t.Fatalf("hidden objects %v, want one part", got)
			}
		},
	})
	if got := m.get(root + "/blob"); !bytes.Equal(got, content) {
		t.Fatalf("the SDK reads %d bytes of /blob, want the %d written", len(got), len(content))
	}
	if got := m.names(root + "/~stowage/"); len(got) != 0 {
		t.Errorf("hidden objects left after Commit: %v", got)
	}
	// Appending now continues the committed file; Cancel leaves it whole.
	d, _ := writerDriver(t, root)
	w, err := d.Writer(ctx, "/blob", true)
	if err != nil {
		t.Fatalf("Writer(append) after Commit: %v", err)
	}
	if w.Size() != int64(len(content)) {
		t.Errorf("Writer(append) after Commit: Size() = %d, want %d", w.Size(), len(content))
	}
	if err := w.Cancel(ctx); err != nil {
		t.Fatalf("Cancel: %v", err)
	}
	if got := m.get(root + "/blob"); !bytes.Equal(got, content) {
		t.Errorf("the SDK reads %d bytes of /blob after Cancel, want the %d committed", len(got), len(content))
	}
	if got := m.names(root + "/~stowage/"); len(got) != 0 {
		t.Errorf("hidden objects left after Cancel: %v", got)
	}
}

// More than 32 parts are composed in a tree: 41 parts take two
// intermediate objects and a final compose, and everything hidden goes in
// one batch.
func TestWriterComposeTree(t *testing.T) {
	root := freshRoot(t)
	m := newIndependent(t)
	ctx := context.Background()
	content := cloudtest.PatternBytes(40*gcs.MinChunkSize + 5)

	d, o := writerDriver(t, root)
	w := cloudtest.Session(t, d, "/big", false, 0, content[:20*gcs.MinChunkSize+3])
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	// 20 full parts while writing, the 3-byte rest at Close.
	cloudtest.WantOps(t, "first session", o.Take(), map[string]int{"List": 1, "Upload": 21})
	w = cloudtest.Session(t, d, "/big", true, 20*gcs.MinChunkSize+3, content[20*gcs.MinChunkSize+3:])
	o.Take()
	if err := w.Commit(ctx); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	// 21 + 20 parts and the 2-byte rest: 42 parts, two intermediates.
	cloudtest.WantOps(t, "Commit of 42 parts", o.Take(), map[string]int{"Upload": 1, "Compose": 3, "Batch": 1})
	if got := m.get(root + "/big"); !bytes.Equal(got, content) {
		t.Fatalf("the SDK reads %d bytes of /big, want the %d written", len(got), len(content))
	}
	if got := m.names(root + "/~stowage/"); len(got) != 0 {
		t.Errorf("hidden objects left after Commit: %v", got)
	}
	fi, err := d.Stat(ctx, "/big")
	if err != nil || fi.Size() != int64(len(content)) {
		t.Errorf("Stat(/big) = %v, %v", fi, err)
	}
}

// A part that does not follow the others (left by a session that died
// while another went on) is ignored on resume and deleted at Commit; an
// empty session leaves a marker that makes the upload resumable.
func TestWriterStaleAndEmpty(t *testing.T) {
	root := freshRoot(t)
	m := newIndependent(t)
	ctx := context.Background()

	d, o := writerDriver(t, root)
	w, err := d.Writer(ctx, "/e", false)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	cloudtest.WantOps(t, "empty session", o.Take(), map[string]int{"List": 1, "Upload": 1})
	up := uploadPrefix(root, "/e")
	if got := m.names(up); len(got) != 1 {
		t.Fatalf("hidden objects %v after an empty session, want one marker", got)
	}
	w = cloudtest.Session(t, d, "/e", true, 0, []byte("abc"))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	m.put(up+fmt.Sprintf("%020d", 10), []byte("stale")) // offset 10, but the parts end at 3
	m.put(up+"c00-000000", []byte("intermediate"))

	d, _ = writerDriver(t, root)
	w = cloudtest.Session(t, d, "/e", true, 3, []byte("def"))
	if err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if got := m.get(root + "/e"); string(got) != "abcdef" {
		t.Errorf("committed %q, want abcdef", got)
	}
	if got := m.names(root + "/~stowage/"); len(got) != 0 {
		t.Errorf("hidden objects left after Commit: %v", got)
	}
}

// The common registry case costs two requests: Writer lists (to discard
// older state), Commit uploads once. Resuming and Cancel cost one list and
// one batch deleting the parts, and leave nothing hidden.
func TestWriterCounts(t *testing.T) {
	root := freshRoot(t)
	m := newIndependent(t)
	ctx := context.Background()
	d, o := writerDriver(t, root)

	w := cloudtest.Session(t, d, "/small", false, 0, []byte("manifest"))
	if err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	cloudtest.WantOps(t, "a small writer", o.Take(), map[string]int{"List": 1, "Upload": 1})

	w = cloudtest.Session(t, d, "/c", false, 0, cloudtest.PatternBytes(600*kib))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	o.Take()
	w, err := d.Writer(ctx, "/c", true)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Cancel(ctx); err != nil {
		t.Fatal(err)
	}
	cloudtest.WantOps(t, "resume and Cancel", o.Take(), map[string]int{"List": 1, "Batch": 1})
	if got := m.names(root + "/"); !slices.Equal(got, []string{root + "/small"}) {
		t.Errorf("the SDK lists %v after Cancel, want only /small", got)
	}
}

// Writer(false) over an upload of two sessions deletes its parts in one
// batch, after the list it sends anyway; Commit of 3 bytes is one upload.
// Cancel deletes the parts of a resumed writer, and nothing is left to
// resume.
func TestWriterDiscardsAndCancels(t *testing.T) {
	cloudtest.WriterDiscardsAndCancels(t, cloudtest.DiscardCancel{
		Backend: writerBackend(),
		FSize:   3,
		GSize:   600 * kib,
		Left: func(t testing.TB, root, path string) []string {
			return newIndependent(t).names(uploadPrefix(root, path))
		},
		Discard: map[string]int{"List": 1, "Batch": 1},
		Commit:  map[string]int{"Upload": 1},
	})
}

// Continuing a committed file copies it server-side: Writer(append) sends
// one list and one rewrite into the upload's first part, and no request
// reads the object's bytes, at Writer, Close, resume or Commit. The copy is
// the file as it was at Writer time: a PutContent in between is replaced
// at Commit by old content + appended bytes.
func TestWriterContinueCopiesServerSide(t *testing.T) {
	root := freshRoot(t)
	m := newIndependent(t)
	ctx := context.Background()
	old := cloudtest.PatternBytes(3<<20 + 11) // 12 parts' worth, never read back
	more := []byte("appended after the copy")

	d, o := writerDriver(t, root)
	if err := d.PutContent(ctx, "/big", old); err != nil {
		t.Fatal(err)
	}
	o.Take()
	w := cloudtest.Session(t, d, "/big", true, int64(len(old)), more)
	cloudtest.WantOps(t, "Writer(append) on a committed file", o.Take(), map[string]int{"List": 1, "Rewrite": 1})
	if got := m.names(uploadPrefix(root, "/big")); len(got) != 1 {
		t.Fatalf("hidden objects %v after Writer(append), want the copy", got)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if w.Size() != int64(len(old)+len(more)) {
		t.Errorf("Size() after Close = %d, want %d", w.Size(), len(old)+len(more))
	}
	cloudtest.WantOps(t, "Close", o.Take(), map[string]int{"Upload": 1})
	if err := d.PutContent(ctx, "/big", []byte("replaced meanwhile")); err != nil {
		t.Fatal(err)
	}

	d, o = writerDriver(t, root) // a new process
	w = cloudtest.Session(t, d, "/big", true, int64(len(old)+len(more)), nil)
	if err := w.Commit(ctx); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	cloudtest.WantOps(t, "resume and Commit", o.Take(), map[string]int{"List": 1, "Compose": 1, "Batch": 1})
	if got, want := m.get(root+"/big"), append(old, more...); !bytes.Equal(got, want) {
		t.Errorf("the SDK reads %d bytes of /big, want the %d of the snapshot and the appended bytes", len(got), len(want))
	}
	if got := m.names(root + "/~stowage/"); len(got) != 0 {
		t.Errorf("hidden objects left after Commit: %v", got)
	}
}

// A zero-byte file is continued from an empty first part (the marker of
// an upload with nothing stored): content that never fills a part is
// committed with one upload and no compose. Writer(append) with neither an
// upload nor a file stores nothing.
func TestWriterContinueZeroByteAndMissing(t *testing.T) {
	root := freshRoot(t)
	m := newIndependent(t)
	ctx := context.Background()
	d, o := writerDriver(t, root)

	if err := d.PutContent(ctx, "/e", nil); err != nil {
		t.Fatal(err)
	}
	o.Take()
	w := cloudtest.Session(t, d, "/e", true, 0, []byte("x"))
	if err := w.Commit(ctx); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	cloudtest.WantOps(t, "continuing a zero-byte file", o.Take(), map[string]int{"List": 1, "Rewrite": 1, "Upload": 1, "Batch": 1})
	if got := m.get(root + "/e"); string(got) != "x" {
		t.Errorf("committed %q, want x", got)
	}

	if err := d.PutContent(ctx, "/dir/f", []byte("f")); err != nil {
		t.Fatal(err)
	}
	o.Take()
	for _, p := range []string{"/missing", "/dir"} {
		if _, err := d.Writer(ctx, p, true); !driver.IsNotFound(err) {
			t.Errorf("Writer(%s, append): %v, want PathNotFoundError", p, err)
		}
	}
	cloudtest.WantOps(t, "Writer(append) with nothing to continue", o.Take(), map[string]int{"List": 2, "Rewrite": 2})
	if got := m.names(root + "/~stowage/"); len(got) != 0 {
		t.Errorf("hidden objects left: %v", got)
	}
}
