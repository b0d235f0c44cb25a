package azure_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/stowage-dev/stowage/azure"
	"github.com/stowage-dev/stowage/internal/cloudtest"
	"github.com/stowage-dev/stowage/transport"
)

// marker returns the decoded ID of the marker block idx of generation gen.
func marker(gen, idx uint32) string { return fmt.Sprintf("stowage-%08x-%08x", gen, idx) }

// A file committed on a block list is continued on that list: appending,
// closing, resuming from another driver instance and committing never
// reads a byte of the committed file (no Get Blob in any phase: Copy Blob
// copies it, block list and all, to the staging blob and the staging blob
// back), and the committed list is the old blocks followed by the new
// generation's.
func TestWriterContinueBuildsOnCommittedBlocks(t *testing.T) {
	root := freshRoot(t)
	m := newIndependent(t)
	ctx := context.Background()
	name, staging := root+"/f", stagingName(root, "/f")
	old := cloudtest.PatternBytes(300*kib + 123)
	more := bytes.Repeat([]byte("+"), 100*kib)

	d, _ := writerDriver(t, root)
	w := cloudtest.Session(t, d, "/f", false, 0, old)
	if err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if got, want := m.committed(name), ids(1, 1, 5); !slices.Equal(got, want) {
		t.Fatalf("committed blocks %v, want %v", got, want)
	}

	d, o := writerDriver(t, root) // another process
	w = cloudtest.Session(t, d, "/f", true, int64(len(old)), more)
	// Get Block List of the staging blob (nothing to resume) and of the
	// file, the copy of the file to the staging blob, Get Block List of
	// the copy, and the marker of the continuation; Write staged one full
	// 64 KiB chunk of the new bytes.
	cloudtest.WantOps(t, "Writer(append) on a committed file and a Write", o.Take(), map[string]int{"GetBlockList": 3, "CopyBlob": 1, "PutBlock": 2})
	if got, want := m.uncommitted(staging), []string{marker(2, 0x80000005), ids(2, 1, 1)[0]}; !sameSet(got, want) {
		t.Fatalf("uncommitted blocks %v, want %v", got, want)
	}
	if got, want := m.committed(staging), ids(1, 1, 5); !slices.Equal(got, want) {
		t.Fatalf("committed blocks of the staging blob %v, want the file's %v", got, want)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	cloudtest.WantOps(t, "Close", o.Take(), map[string]int{"PutBlock": 1})
	if w.Size() != int64(len(old)+len(more)) {
		t.Errorf("Size() after Close = %d, want %d", w.Size(), len(old)+len(more))
	}
	if got := m.get(name); !bytes.Equal(got, old) {
		t.Fatalf("azblob reads %d bytes before Commit, want the %d of the old file", len(got), len(old))
	}

	d, o = writerDriver(t, root) // another process
	w = cloudtest.Session(t, d, "/f", true, int64(len(old)+len(more)), []byte("!"))
	// The ETag of the file continued is in the staging blob's metadata.
	cloudtest.WantOps(t, "resume of the continuation", o.Take(), map[string]int{"GetBlockList": 1, "GetBlobProperties": 1})
	if err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	cloudtest.WantOps(t, "Commit of the continuation", o.Take(), map[string]int{"PutBlock": 1, "PutBlockList": 1, "CopyBlob": 1, "DeleteBlob": 1})
	if got, want := m.get(name), slices.Concat(old, more, []byte("!")); !bytes.Equal(got, want) {
		t.Fatalf("azblob reads %d bytes, want %d", len(got), len(want))
	}
	if got, want := m.committed(name), slices.Concat(ids(1, 1, 5), ids(2, 1, 3)); !slices.Equal(got, want) {
		t.Errorf("committed blocks %v, want %v", got, want)
	}
	if got, want := m.stored(root+"/"), []string{name}; !slices.Equal(got, want) {
		t.Errorf("azblob holds %v after Commit, want %v (no staging blob)", got, want)
	}
}

// A file written by Put Blob has no committed block list: its content is
// read once, pinned to its ETag. Content of one chunk or less goes into
// the buffer and is committed with the new bytes in one Put Blob; larger
// content is staged as the first data blocks between a copying and an
// open marker, and is resumed from another driver instance like any
// upload.
func TestWriterContinueCopiesPutBlobFile(t *testing.T) {
	root := freshRoot(t)
	m := newIndependent(t)
	ctx := context.Background()

	d, o := writerDriver(t, root)
	if err := d.PutContent(ctx, "/small", []byte("abc")); err != nil {
		t.Fatal(err)
	}
	o.Take()
	w := cloudtest.Session(t, d, "/small", true, 3, []byte("def"))
	// Get Block List of the staging blob and of the file, which has no
	// committed block list to copy: its content is read.
	cloudtest.WantOps(t, "Writer(append) on a small Put Blob file", o.Take(), map[string]int{"GetBlockList": 2, "GetBlob": 1})
	if err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	cloudtest.WantOps(t, "Commit", o.Take(), map[string]int{"PutBlob": 1})
	if got := string(m.get(root + "/small")); got != "abcdef" {
		t.Errorf("azblob reads %q, want %q", got, "abcdef")
	}

	old := cloudtest.PatternBytes(200*kib + 5)
	name := root + "/big"
	staging := stagingName(root, "/big")
	if err := d.PutContent(ctx, "/big", old); err != nil {
		t.Fatal(err)
	}
	o.Take()
	w = cloudtest.Session(t, d, "/big", true, int64(len(old)), []byte("xyz"))
	// Three full chunks staged, the 5 bytes left buffered with the new 3.
	cloudtest.WantOps(t, "Writer(append) on a large Put Blob file", o.Take(), map[string]int{"GetBlockList": 2, "GetBlob": 1, "PutBlock": 5})
	want := slices.Concat(ids(1, 1, 3), []string{marker(1, 0xfffffffe), marker(1, 0)})
	if got := m.uncommitted(staging); !sameSet(got, want) {
		t.Fatalf("uncommitted blocks %v, want %v", got, want)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if got := m.get(name); !bytes.Equal(got, old) {
		t.Fatalf("azblob reads %d bytes before Commit, want the %d of the old file", len(got), len(old))
	}
	d, _ = writerDriver(t, root)
	w = cloudtest.Session(t, d, "/big", true, int64(len(old)+3), nil)
	if err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if got, want := m.get(name), slices.Concat(old, []byte("xyz")); !bytes.Equal(got, want) {
		t.Fatalf("azblob reads %d bytes, want %d", len(got), len(want))
	}
	if got, want := m.committed(name), ids(1, 1, 4); !slices.Equal(got, want) {
		t.Errorf("committed blocks %v, want %v", got, want)
	}
}

// A copy cut short (the Writer call failed, or its process died, between
// the copy's blocks) is never resumed as an upload: the next
// Writer(append) continues the committed file afresh.
func TestWriterContinueCopyCutShort(t *testing.T) {
	root := freshRoot(t)
	ctx := context.Background()
	old := cloudtest.PatternBytes(200*kib + 5)
	clean, _ := writerDriver(t, root)
	if err := clean.PutContent(ctx, "/f", old); err != nil {
		t.Fatal(err)
	}

	var putBlocks atomic.Int32
	faults := &transport.Faults{Rate: 1, Max: 1, Status: http.StatusBadRequest,
		Match: func(req *http.Request) bool { return opName(req) == "PutBlock" && putBlocks.Add(1) == 3 }}
	d, _ := faultyDriver(t, root, faults, func(c *azure.Config) {
		c.ChunkSize = 64 * kib
		c.MaxRetries = -1
	})
	if _, err := d.Writer(ctx, "/f", true); err == nil {
		t.Fatal("Writer(append) with a failed Put Block in the copy: no error")
	}
	if faults.Total() != 1 {
		t.Fatalf("%d faults injected, want 1", faults.Total())
	}
	if got, want := newIndependent(t).uncommitted(stagingName(root, "/f")), []string{marker(1, 0xfffffffe), ids(1, 1, 1)[0]}; !sameSet(got, want) {
		t.Fatalf("uncommitted blocks %v, want %v (the copy's first block only)", got, want)
	}

	w := cloudtest.Session(t, clean, "/f", true, int64(len(old)), []byte("!"))
	if err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if got, want := newIndependent(t).get(root+"/f"), slices.Concat(old, []byte("!")); !bytes.Equal(got, want) {
		t.Fatalf("azblob reads %d bytes, want %d", len(got), len(want))
	}
}

// A file replaced while a continuation of it is open is never spliced in:
// Commit fails (If-Match on the copy to the file, or blocks gone from the
// staging blob) and the replacement stays. A closed continuation of a
// replaced file survives the replacement in its staging blob, so a resume
// finds it, and its Commit fails the same way; Writer(path, false) starts
// over.
func TestWriterContinueReplacedFile(t *testing.T) {
	root := freshRoot(t)
	m := newIndependent(t)
	ctx := context.Background()
	name := root + "/f"
	old := cloudtest.PatternBytes(100 * kib)
	d, _ := writerDriver(t, root)
	commit := func() {
		t.Helper()
		w := cloudtest.Session(t, d, "/f", false, 0, old)
		if err := w.Commit(ctx); err != nil {
			t.Fatal(err)
		}
	}

	// Deleted and written again by a new writer, which shares the staging
	// blob: its Commit replaces the staging blob's copy of the old file,
	// so the continuation's blocks are gone.
	commit()
	w := cloudtest.Session(t, d, "/f", true, int64(len(old)), []byte("abc"))
	if err := d.Delete(ctx, "/f"); err != nil {
		t.Fatal(err)
	}
	again := bytes.Repeat([]byte("z"), len(old))
	w2 := cloudtest.Session(t, d, "/f", false, 0, again)
	if err := w2.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(ctx); err == nil || isNotFound(err) {
		t.Fatalf("Commit of a continuation whose file was deleted and written again: %v, want an error", err)
	}
	if got := m.get(name); !bytes.Equal(got, again) {
		t.Fatalf("azblob reads %d bytes, want the %d of the new file", len(got), len(again))
	}
	if err := w.Cancel(ctx); err != nil {
		t.Fatal(err)
	}

	commit()
	w = cloudtest.Session(t, d, "/f", true, int64(len(old)), []byte("abc"))
	m.put(name, []byte("replaced"))
	if err := w.Commit(ctx); err == nil || isNotFound(err) {
		t.Fatalf("Commit of a continuation whose file was replaced: %v, want an error", err)
	}
	if got := string(m.get(name)); got != "replaced" {
		t.Fatalf("azblob reads %q, want the replacement", got)
	}
	if err := w.Cancel(ctx); err != nil {
		t.Fatalf("Cancel after the failed Commit: %v", err)
	}

	commit()
	w = cloudtest.Session(t, d, "/f", true, int64(len(old)), []byte("abc"))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	m.put(name, []byte("replaced"))
	d2, _ := writerDriver(t, root)
	w = cloudtest.Session(t, d2, "/f", true, int64(len(old)+3), nil)
	if err := w.Commit(ctx); err == nil || isNotFound(err) {
		t.Fatalf("Commit of a resumed continuation whose file was replaced: %v, want an error", err)
	}
	if got := string(m.get(name)); got != "replaced" {
		t.Fatalf("azblob reads %q, want the replacement", got)
	}
	w = cloudtest.Session(t, d2, "/f", false, 0, []byte("fresh"))
	if err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if got := string(m.get(name)); got != "fresh" {
		t.Errorf("azblob reads %q, want %q", got, "fresh")
	}
}

// The Copy Blob of a continuation's staging blob to the file carries
// If-Match; when its answer is lost the SDK's retry fails that condition
// (the first attempt did copy), and one Get Block List of the file
// confirms the commit. (A lost Put Block List answer needs nothing: the
// retry commits the same list again.)
func TestWriterContinueLostCommitAnswer(t *testing.T) {
	root := freshRoot(t)
	ctx := context.Background()
	old := cloudtest.PatternBytes(100 * kib)
	clean, _ := writerDriver(t, root)
	w := cloudtest.Session(t, clean, "/f", false, 0, old)
	if err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}

	faults := &transport.Faults{Rate: 1, Max: 1, Kinds: []transport.FaultKind{transport.FaultResetAfter},
		Match: func(req *http.Request) bool { return opName(req) == "CopyBlob" && hasHeader(req, "If-Match") }}
	d, o := faultyDriver(t, root, faults, func(c *azure.Config) { c.ChunkSize = 64 * kib })
	w = cloudtest.Session(t, d, "/f", true, int64(len(old)), []byte("more"))
	o.Take()
	if err := w.Commit(ctx); err != nil {
		t.Fatalf("Commit with a lost answer: %v", err)
	}
	if faults.Total() != 1 {
		t.Fatalf("%d faults injected, want 1", faults.Total())
	}
	cloudtest.WantOps(t, "Commit with a lost answer", o.Take(), map[string]int{"PutBlock": 1, "PutBlockList": 1, "CopyBlob": 2, "GetBlockList": 1, "DeleteBlob": 1})
	if got, want := newIndependent(t).get(root+"/f"), slices.Concat(old, []byte("more")); !bytes.Equal(got, want) {
		t.Fatalf("azblob reads %d bytes, want %d", len(got), len(want))
	}
}
