package s3_test

import (
	"bytes"
	"context"
	"slices"
	"strconv"
	"testing"

	"github.com/stowage-dev/stowage/driver"
)

const mib = 1 << 20

// writerDriver returns a new driver instance over root with 5 MiB parts and
// an op classifier, as a new process would build it.
func writerDriver(t *testing.T, root string, tweak func(*configT)) (driver.StorageDriver, *ops) {
	t.Helper()
	hc, _, o := countingClient(nil)
	cfg := testConfig(t, root, hc)
	cfg.ChunkSize = 5 * mib
	if tweak != nil {
		tweak(&cfg)
	}
	return newDriver(t, cfg), o
}

// session resumes (or starts) the writer of p on d, checks its size,
// writes data and returns it.
func session(t *testing.T, d driver.StorageDriver, p string, resume bool, wantSize int64, data []byte) driver.FileWriter {
	t.Helper()
	w, err := d.Writer(context.Background(), p, resume)
	if err != nil {
		t.Fatalf("Writer(%s, %v): %v", p, resume, err)
	}
	if w.Size() != wantSize {
		t.Fatalf("Writer(%s, %v).Size() = %d, want %d", p, resume, w.Size(), wantSize)
	}
	if n, err := w.Write(data); err != nil || n != len(data) {
		t.Fatalf("Write(%d bytes) = %d, %v", len(data), n, err)
	}
	return w
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
	ctx := context.Background()
	content := patternBytes(16*mib + 123)
	cuts := []int{3 * mib, 7 * mib, 7*mib + 1, len(content)} // sessions end at these offsets

	d, o := writerDriver(t, root, nil)
	w := session(t, d, "/blob", false, 0, content[:cuts[0]])
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	// 3 MiB, less than a part: an open upload with no part, and a tail.
	wantOps(t, "first session", o.Take(), map[string]int{"ListMultipartUploads": 1, "CreateMultipartUpload": 1, "PutObject": 1})
	if up := m.uploads(root + "/blob"); len(up) != 1 {
		t.Fatalf("unfinished uploads of %s/blob: %v, want one", root, up)
	}
	if tl := tails(m, root); len(tl) != 1 {
		t.Fatalf("tail objects %v, want one", tl)
	}
	if got, err := d.List(ctx, "/"); err != nil || len(got) != 0 {
		t.Errorf("List(/) = %v, %v; the uncommitted upload must be invisible", got, err)
	}

	for i := 1; i < len(cuts); i++ {
		d, o = writerDriver(t, root, nil) // a new process
		w = session(t, d, "/blob", true, int64(cuts[i-1]), content[cuts[i-1]:cuts[i]])
		if i < len(cuts)-1 {
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			continue
		}
		o.Take()
		if err := w.Commit(ctx); err != nil {
			t.Fatalf("Commit: %v", err)
		}
		if err := w.Close(); err != nil {
			t.Fatalf("Close after Commit: %v", err)
		}
		// The buffered rest as the last part, then complete, then the tail goes.
		wantOps(t, "Commit", o.Take(), map[string]int{"UploadPart": 1, "CompleteMultipartUpload": 1, "DeleteObject": 1})
	}
	if got := m.get(root + "/blob"); !bytes.Equal(got, content) {
		t.Fatalf("minio reads %d bytes, want the %d written over %d sessions", len(got), len(content), len(cuts))
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
	content := patternBytes(12 * mib)

	d, _ := writerDriver(t, root, nil)
	w := session(t, d, "/blob", false, 0, content[:3*mib])
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	d, _ = writerDriver(t, root, nil)
	_ = session(t, d, "/blob", true, 3*mib, content[3*mib:7*mib]) // uploads part 1 (5 MiB), then "crashes"

	d, _ = writerDriver(t, root, nil)
	w = session(t, d, "/blob", true, 5*mib, content[5*mib:])
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
	root := freshRoot(t)
	m := newIndependent(t)
	ctx := context.Background()
	d, o := writerDriver(t, root, nil)

	for i := 0; i < 2; i++ {
		w := session(t, d, "/f", i > 0, int64(i*mib), make([]byte, mib))
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if up := m.uploads(root + "/f"); len(up) != 1 {
		t.Fatalf("unfinished uploads of /f: %v, want one", up)
	}
	o.Take()
	w := session(t, d, "/f", false, 0, []byte("new"))
	wantOps(t, "non-append Writer over an upload", o.Take(), map[string]int{
		"ListMultipartUploads": 1, "AbortMultipartUpload": 1, "DeleteObject": 1})
	if up := m.uploads(root + "/f"); len(up) != 0 {
		t.Errorf("unfinished uploads %v after a non-append Writer", up)
	}
	if tl := tails(m, root); len(tl) != 0 {
		t.Errorf("tails %v after a non-append Writer", tl)
	}
	if err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	wantOps(t, "Commit of 3 bytes", o.Take(), map[string]int{"PutObject": 1})
	if got := m.get(root + "/f"); string(got) != "new" {
		t.Errorf("minio reads %q", got)
	}

	w = session(t, d, "/g", false, 0, make([]byte, 6*mib))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if up := m.uploads(root + "/g"); len(up) != 1 {
		t.Fatalf("unfinished uploads of /g: %v, want one", up)
	}
	w, err := d.Writer(ctx, "/g", true)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Cancel(ctx); err != nil {
		t.Fatal(err)
	}
	if up := m.uploads(root + "/g"); len(up) != 0 {
		t.Errorf("unfinished uploads %v after Cancel", up)
	}
	if tl := tails(m, root); len(tl) != 0 {
		t.Errorf("tails %v after Cancel", tl)
	}
	if _, err := d.Writer(ctx, "/g", true); !isNotFound(err) {
		t.Errorf("Writer(/g, true) after Cancel: %v, want PathNotFoundError", err)
	}
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
	old := patternBytes(11*mib + 7) // ranges 5 MiB and 6 MiB + 7
	content := append(slices.Clone(old), "first session, second session"...)
	cut := len(old) + len("first session, ")
	m.put(root+"/blob", old)
	copyChunk := func(c *configT) { c.MultipartCopyChunkSize = 5 * mib }

	d, o := writerDriver(t, root, copyChunk)
	w := session(t, d, "/blob", true, int64(len(old)), content[len(old):cut])
	wantOps(t, "Writer(append) on an 11 MiB object", o.Take(), map[string]int{
		"ListMultipartUploads": 1, "HeadObject": 1, "CreateMultipartUpload": 1, "UploadPartCopy": 2})
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	wantOps(t, "Close", o.Take(), map[string]int{"PutObject": 1}) // the tail
	if got := m.get(root + "/blob"); !bytes.Equal(got, old) {
		t.Fatalf("minio reads %d bytes before Commit, want the old %d", len(got), len(old))
	}

	d, o = writerDriver(t, root, copyChunk) // a new process
	w = session(t, d, "/blob", true, int64(cut), content[cut:])
	// The parts are listed, the tail (15 bytes) is the only object read.
	wantOps(t, "resumed continuation", o.Take(), map[string]int{"ListMultipartUploads": 1, "ListParts": 1, "GetObject": 1})
	if err := w.Commit(ctx); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	wantOps(t, "Commit", o.Take(), map[string]int{"UploadPart": 1, "CompleteMultipartUpload": 1, "DeleteObject": 1})
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
	old := patternBytes(4 * mib)
	m.put(root+"/blob", old)
	d, o := writerDriver(t, root, nil)

	w := session(t, d, "/blob", true, int64(len(old)), []byte("cancelled"))
	wantOps(t, "Writer(append) on a 4 MiB object", o.Take(), map[string]int{"ListMultipartUploads": 1, "HeadObject": 1, "GetObject": 1})
	if err := w.Cancel(ctx); err != nil {
		t.Fatal(err)
	}
	wantOps(t, "Cancel", o.Take(), map[string]int{})

	w = session(t, d, "/blob", true, int64(len(old)), []byte("!"))
	o.Take()
	if err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	wantOps(t, "Commit", o.Take(), map[string]int{"PutObject": 1})
	if got, want := m.get(root+"/blob"), append(old, '!'); !bytes.Equal(got, want) {
		t.Fatalf("minio reads %d bytes, want %d", len(got), len(want))
	}
}

// The continuation is of the object as it was when Writer was called: an
// overwrite after that does not change what Commit writes (it replaces the
// overwrite, as any Commit does).
func TestWriterContinuesSnapshot(t *testing.T) {
	for _, size := range []int{1000, 6 * mib} {
		t.Run(strconv.Itoa(size), func(t *testing.T) {
			root := freshRoot(t)
			m := newIndependent(t)
			ctx := context.Background()
			old := patternBytes(size)
			m.put(root+"/blob", old)
			d, _ := writerDriver(t, root, nil)
			w := session(t, d, "/blob", true, int64(size), []byte("+new"))
			m.put(root+"/blob", []byte("overwritten meanwhile"))
			if err := w.Commit(ctx); err != nil {
				t.Fatal(err)
			}
			if got, want := m.get(root+"/blob"), append(old, "+new"...); !bytes.Equal(got, want) {
				t.Errorf("minio reads %d bytes (%.20q...), want the %d of the snapshot plus 4", len(got), got, size)
			}
		})
	}
}
