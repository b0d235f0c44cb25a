package s3_test

import (
	"bytes"
	"context"
	"slices"
	"testing"

	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/internal/cloudtest"
)

const mib = 1 << 20

// writerBackend is backend() with drivers of 5 MiB parts, tweaked.
func writerBackend(tweak func(*configT)) cloudtest.Backend {
	return backendWith(func(c *configT) {
		c.ChunkSize = 5 * mib
		if tweak != nil {
			tweak(c)
		}
	})
}

// writerDriver returns a new driver instance over root with 5 MiB parts and
// an op classifier, as a new process would build it.
func writerDriver(t testing.TB, root string, tweak func(*configT)) (driver.StorageDriver, *cloudtest.Ops) {
	t.Helper()
	d, _, o := writerBackend(tweak).Counting(t, root)
	return d, o
}

// tails lists the driver's hidden tail objects under root.
func tails(m *independent, root string) []string {
	return m.keys(root + "/~stowage/")
}

// Sessions that end below the 5 MiB part minimum keep their bytes in a tail
// object; a new driver instance picks it up, and minio-go reads back
// exactly what was committed, with nothing left behind.
func TestWriterSmallLastPartAcrossDrivers(t *testing.T) {
	root := freshRoot(t)
	m := newIndependent(t)
	content := cloudtest.PatternBytes(16*mib + 123)
	cloudtest.WriteSessions(t, cloudtest.Sessions{
		Path:    "/blob",
		Content: content,
		Cuts:    []int{3 * mib, 7 * mib, 7*mib + 1, len(content)}, // sessions end at these offsets
		New:     func(t testing.TB) (driver.StorageDriver, *cloudtest.Ops) { return writerDriver(t, root, nil) },
		// 3 MiB, less than a part: an open upload with no part, and a tail.
		First: map[string]int{"ListMultipartUploads": 1, "CreateMultipartUpload": 1, "PutObject": 1},
		AfterFirst: func(t testing.TB) {
			if up := m.uploads(root + "/blob"); len(up) != 1 {
				t.Fatalf("unfinished uploads of %s/blob: %v, want one", root, up)
			}
			if tl := tails(m, root); len(tl) != 1 {
				t.Fatalf("tail objects %v, want one", tl)
			}
		},
		// The buffered rest as the last part, then complete, then the tail goes.
		Commit: map[string]int{"UploadPart": 1, "CompleteMultipartUpload": 1, "DeleteObject": 1},
	})
	if got := m.get(root + "/blob"); !bytes.Equal(got, content) {
		t.Fatalf("minio reads %d bytes, want the %d written over 4 sessions", len(got), len(content))
	}
	if left := m.keys(root + "/"); !slices.Equal(left, []string{root + "/blob"}) {
		t.Errorf("keys after Commit %v, want only the blob", left)
	}
	if up := m.uploads(root + "/blob"); len(up) != 0 {
		t.Errorf("unfinished uploads after Commit: %v", up)
	}
}

// A session that uploaded a part and died without Close leaves a tail that
// no longer matches the upload; the resumed writer ignores it, so Size()
// is what is stored, and the content comes out right from there.
func TestWriterStaleTail(t *testing.T) {
	root := freshRoot(t)
	m := newIndependent(t)
	ctx := context.Background()
	content := cloudtest.PatternBytes(12 * mib)

	d, _ := writerDriver(t, root, nil)
	w := cloudtest.Session(t, d, "/blob", false, 0, content[:3*mib])
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	d, _ = writerDriver(t, root, nil)
	_ = cloudtest.Session(t, d, "/blob", true, 3*mib, content[3*mib:7*mib]) // uploads part 1 (5 MiB), then "crashes"

	d, _ = writerDriver(t, root, nil)
	w = cloudtest.Session(t, d, "/blob", true, 5*mib, content[5*mib:])
	if err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if got := m.get(root + "/blob"); !bytes.Equal(got, content) {
		t.Fatalf("minio reads %d bytes, want %d", len(got), len(content))
	}
	if tl := tails(m, root); len(tl) != 0 {
		t.Errorf("tails left after Commit: %v", tl)
	}
}

// A non-append Writer aborts the key's unfinished uploads and their tails;
// Cancel removes both too.
func TestWriterDiscardsAndCancels(t *testing.T) {
	m := newIndependent(t)
	cloudtest.WriterDiscardsAndCancels(t, cloudtest.DiscardCancel{
		Backend: writerBackend(nil),
		FSize:   mib,
		GSize:   6 * mib,
		Left: func(_ testing.TB, root, p string) []string {
			return append(m.uploads(root+p), tails(m, root)...)
		},
		AfterClose: func(t testing.TB, root, p string) {
			if up := m.uploads(root + p); len(up) != 1 {
				t.Fatalf("unfinished uploads of %s: %v, want one", p, up)
			}
		},
		Discard: map[string]int{"ListMultipartUploads": 1, "AbortMultipartUpload": 1, "DeleteObject": 1},
		Commit:  map[string]int{"PutObject": 1},
	})
}

// Continuing a committed object of at least 5 MiB copies it server-side
// into the new upload: UploadPartCopy ranges of MultipartCopyChunkSize, the
// short rest joined to the range before it, and not one GetObject of its
// bytes. The old object stays readable until Commit, a new driver instance
// resumes the continuation after Close like any upload, and Commit
// completes it in place.
func TestWriterContinuesLargeObjectServerSide(t *testing.T) {
	root := freshRoot(t)
	m := newIndependent(t)
	ctx := context.Background()
	old := cloudtest.PatternBytes(11*mib + 7) // ranges 5 MiB and 6 MiB + 7
	content := append(slices.Clone(old), "first session, second session"...)
	cut := len(old) + len("first session, ")
	m.put(root+"/blob", old)
	copyChunk := func(c *configT) { c.MultipartCopyChunkSize = 5 * mib }

	d, o := writerDriver(t, root, copyChunk)
	w := cloudtest.Session(t, d, "/blob", true, int64(len(old)), content[len(old):cut])
	cloudtest.WantOps(t, "Writer(append) on an 11 MiB object", o.Take(), map[string]int{
		"ListMultipartUploads": 1, "HeadObject": 1, "CreateMultipartUpload": 1, "UploadPartCopy": 2})
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	cloudtest.WantOps(t, "Close", o.Take(), map[string]int{"PutObject": 1}) // the tail
	if got := m.get(root + "/blob"); !bytes.Equal(got, old) {
		t.Fatalf("minio reads %d bytes before Commit, want the old %d", len(got), len(old))
	}

	d, o = writerDriver(t, root, copyChunk) // a new process
	w = cloudtest.Session(t, d, "/blob", true, int64(cut), content[cut:])
	// The parts are listed, the tail (15 bytes) is the only object read.
	cloudtest.WantOps(t, "resumed continuation", o.Take(), map[string]int{"ListMultipartUploads": 1, "ListParts": 1, "GetObject": 1})
	if err := w.Commit(ctx); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	cloudtest.WantOps(t, "Commit", o.Take(), map[string]int{"UploadPart": 1, "CompleteMultipartUpload": 1, "DeleteObject": 1})
	if w.Size() != int64(len(content)) {
		t.Errorf("Size() after Commit = %d, want %d", w.Size(), len(content))
	}
	if got := m.get(root + "/blob"); !bytes.Equal(got, content) {
		t.Fatalf("minio reads %d bytes after Commit, want %d", len(got), len(content))
	}
	if left := m.keys(root + "/"); !slices.Equal(left, []string{root + "/blob"}) {
		t.Errorf("keys after Commit %v, want only the blob", left)
	}
	if up := m.uploads(root + "/blob"); len(up) != 0 {
		t.Errorf("unfinished uploads after Commit: %v", up)
	}
}

// Continuing an object below 5 MiB reads it into the buffer (a part copy
// of it could not be followed by more parts); Commit is one PutObject and
// Cancel sends nothing, leaving the object alone.
func TestWriterContinuesSmallObject(t *testing.T) {
	root := freshRoot(t)
	m := newIndependent(t)
	ctx := context.Background()
	old := cloudtest.PatternBytes(4 * mib)
	m.put(root+"/blob", old)
	d, o := writerDriver(t, root, nil)

	w := cloudtest.Session(t, d, "/blob", true, int64(len(old)), []byte("cancelled"))
	cloudtest.WantOps(t, "Writer(append) on a 4 MiB object", o.Take(), map[string]int{"ListMultipartUploads": 1, "HeadObject": 1, "GetObject": 1})
	if err := w.Cancel(ctx); err != nil {
		t.Fatal(err)
	}
	cloudtest.WantOps(t, "Cancel", o.Take(), map[string]int{})

	w = cloudtest.Session(t, d, "/blob", true, int64(len(old)), []byte("!"))
	o.Take()
	if err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	cloudtest.WantOps(t, "Commit", o.Take(), map[string]int{"PutObject": 1})
	if got, want := m.get(root+"/blob"), append(old, '!'); !bytes.Equal(got, want) {
		t.Fatalf("minio reads %d bytes, want %d", len(got), len(want))
	}
}

// The continuation is of the object as it was when Writer was called: an
// overwrite after that does not change what Commit writes (it replaces the
// overwrite, as any Commit does), below and above the 5 MiB part minimum.
func TestWriterContinuesSnapshot(t *testing.T) {
	cloudtest.WriterContinuesSnapshot(t, writerBackend(nil), 1000, 6*mib)
}
