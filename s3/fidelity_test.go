package s3_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"slices"
	"sync"
	"testing"

	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/internal/cloudtest"
	"github.com/stowage-dev/stowage/s3"
	"github.com/stowage-dev/stowage/transport"
)

// hookOnce is an http.RoundTripper that calls Before once, for the first
// request Match accepts, before passing that request to Base: a test's
// deterministic way to change what the server holds at one exact point of
// a call.
type hookOnce struct {
	Base   http.RoundTripper
	Match  func(req *http.Request) bool
	Before func(req *http.Request)

	mu   sync.Mutex
	done bool
}

func (h *hookOnce) RoundTrip(req *http.Request) (*http.Response, error) {
	h.mu.Lock()
	if !h.done && h.Match(req) {
		h.done = true
		h.Before(req)
	}
	h.mu.Unlock()
	base := h.Base
	if base == nil {
		base = http.DefaultTransport
	}
	return base.RoundTrip(req)
}

// Done reports whether the hook ran.
func (h *hookOnce) Done() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.done
}

// A CompleteMultipartUpload answered NoSuchUpload is a success only when
// the object at the key is the one the writer's parts make: a stale object
// of the same size and part count (here a real multipart upload of other
// bytes) must not pass for it. The upload is aborted behind the writer's
// back just before its CompleteMultipartUpload, so MinIO answers
// NoSuchUpload as S3 does after an abort (a lifecycle rule, another
// writer's non-append Writer).
func TestCommitNoSuchUploadOverStaleObject(t *testing.T) {
	root := freshRoot(t)
	m := newIndependent(t)
	ctx := context.Background()
	stale := bytes.Repeat([]byte("stale"), 11*mib/5)
	content := cloudtest.PatternBytes(len(stale))

	d, _ := writerDriver(t, root, nil)
	w, err := d.Writer(ctx, "/blob", false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(stale); err != nil { // parts of 5, 5 and 1 MiB
		t.Fatal(err)
	}
	if err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}

	hook := &hookOnce{
		Match: func(req *http.Request) bool { return opName(req) == "CompleteMultipartUpload" },
		Before: func(*http.Request) {
			if err := m.c.RemoveIncompleteUpload(ctx, m.bucket, root+"/blob"); err != nil {
				t.Errorf("aborting the upload: %v", err)
			}
		},
	}
	d = writerBackend(nil).New(t, root, &http.Client{Transport: hook}, cloudtest.Options{})
	w, err = d.Writer(ctx, "/blob", false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(content); err != nil {
		t.Fatal(err)
	}
	err = w.Commit(ctx)
	if !hook.Done() {
		t.Fatal("no CompleteMultipartUpload sent")
	}
	if err == nil {
		t.Fatal("Commit of an aborted upload over a stale object of the same size and part count returned nil")
	}
	if got := m.get(root + "/blob"); !bytes.Equal(got, stale) {
		t.Errorf("minio reads %d bytes that are not the stale object", len(got))
	}
}

// nth returns a Match that accepts the n-th request (from 1) of operation
// op.
func nth(op string, n int) func(*http.Request) bool {
	seen := 0
	return func(req *http.Request) bool {
		if opName(req) != op {
			return false
		}
		seen++
		return seen == n
	}
}

// A source overwritten while Move runs keeps its new content: between the
// copy and the delete (the delete is conditional, on AWS S3's documented
// If-Match, which conditionalDeletes gives MinIO), and between two part
// copies of a multipart copy (each is pinned to the ETag Move started
// from, so the copy can never mix two versions). Either way Move starts
// over and moves the new version; nothing is lost and no upload is left.
func TestMoveSourceOverwritten(t *testing.T) {
	cases := []struct {
		name string
		size int
		op   string // the request before which the source is overwritten
		n    int    // the how-manieth of them
		want map[string]int
	}{
		// The 412 of the conditional delete, and Move starts over.
		{"BeforeDelete", 1000, "DeleteObject", 1, map[string]int{"HeadObject": 2, "CopyObject": 2, "DeleteObject": 2}},
		// The 412 of the copy pinned to the old ETag.
		{"BeforeCopy", 1000, "CopyObject", 1, map[string]int{"HeadObject": 2, "CopyObject": 2, "DeleteObject": 1}},
		{"BeforeDeleteMultipart", 12*mib + 7, "DeleteObject", 1, map[string]int{"HeadObject": 2,
			"CreateMultipartUpload": 2, "UploadPartCopy": 6, "CompleteMultipartUpload": 2, "DeleteObject": 2}},
		// Part 2 answered 412: the upload is aborted, no part 3 of it.
		{"BetweenPartCopies", 12*mib + 7, "UploadPartCopy", 2, map[string]int{"HeadObject": 2,
			"CreateMultipartUpload": 2, "UploadPartCopy": 5, "AbortMultipartUpload": 1, "CompleteMultipartUpload": 1, "DeleteObject": 1}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root := freshRoot(t)
			m := newIndependent(t)
			ctx := context.Background()
			old := cloudtest.PatternBytes(c.size)
			overwrite := bytes.Repeat([]byte{'n'}, c.size)
			m.put(root+"/src", old)
			hook := &hookOnce{
				Base:   &conditionalDeletes{m: m},
				Match:  nth(c.op, c.n),
				Before: func(*http.Request) { m.put(root+"/src", overwrite) },
			}
			hc, _, o := cloudtest.CountingClient(hook, opName)
			cfg := testConfig(t, root, hc)
			cfg.MultipartCopyThresholdSize = 5 * mib
			cfg.MultipartCopyChunkSize = 5 * mib
			cfg.MultipartCopyMaxConcurrency = 1 // part copies in order
			d := newDriver(t, cfg)

			if err := d.Move(ctx, "/src", "/dst"); err != nil {
				t.Fatalf("Move: %v", err)
			}
			if !hook.Done() {
				t.Fatalf("no %s sent", c.op)
			}
			if got := m.get(root + "/dst"); !bytes.Equal(got, overwrite) {
				t.Errorf("minio reads %d bytes at the destination that are not the source's new content (old: %v)", len(got), bytes.Equal(got, old))
			}
			if left := m.keys(root + "/"); !slices.Equal(left, []string{root + "/dst"}) {
				t.Errorf("minio lists %v after the move, want only the destination", left)
			}
			if up := m.uploads(root + "/dst"); len(up) != 0 {
				t.Errorf("unfinished uploads of the destination: %v", up)
			}
			cloudtest.WantOps(t, "Move", o.Take(), c.want)
		})
	}
}

// The Writer's parts grow (doubling every tenth of the part limit, here
// every part of three) so that a file of unknown length fits S3's 10,000
// parts, and once the upload has them all Write refuses more bytes with a
// *s3.PartLimitError, before buffering them, instead of failing at the
// part the server refuses: what was written still commits.
func TestWriterPartLimit(t *testing.T) {
	root := freshRoot(t)
	m := newIndependent(t)
	ctx := context.Background()
	content := cloudtest.PatternBytes(35 * mib) // parts of 5, 10 and 20 MiB
	d, o := writerDriver(t, root, func(c *configT) { s3.SetMaxParts(c, 3) })

	w, err := d.Writer(ctx, "/blob", false)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := w.Write(content); n != len(content) || err != nil {
		t.Fatalf("Write(35 MiB) = %d, %v", n, err)
	}
	cloudtest.WantOps(t, "Write of three parts' worth", o.Take(), map[string]int{
		"ListMultipartUploads": 1, "CreateMultipartUpload": 1, "UploadPart": 3})
	n, err := w.Write([]byte("x"))
	var limit *s3.PartLimitError
	if n != 0 || !errors.As(err, &limit) || limit.MaxParts != 3 || limit.Size != int64(len(content)) {
		t.Fatalf("Write past the last part = %d, %v; want 0 and a *s3.PartLimitError of 3 parts and %d bytes", n, err, len(content))
	}
	if !errors.Is(err, driver.ErrFileTooLarge) {
		t.Errorf("Write past the last part = %v, which does not match driver.ErrFileTooLarge", err)
	}
	if w.Size() != int64(len(content)) {
		t.Errorf("Size() = %d after the refused Write, want %d", w.Size(), len(content))
	}
	cloudtest.WantOps(t, "refused Write", o.Take(), map[string]int{})
	if err := w.Commit(ctx); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	if got := m.get(root + "/blob"); !bytes.Equal(got, content) {
		t.Fatalf("minio reads %d bytes, want the %d written", len(got), len(content))
	}
}

// Move's multipart copy stays within the part limit with larger parts
// than MultipartCopyChunkSize (here two parts for 12 MiB of 5 MiB chunks).
func TestMoveMultipartCopyPartLimit(t *testing.T) {
	root := freshRoot(t)
	m := newIndependent(t)
	hc, _, o := cloudtest.CountingClient(nil, opName)
	cfg := testConfig(t, root, hc)
	cfg.MultipartCopyThresholdSize = 5 * mib
	cfg.MultipartCopyChunkSize = 5 * mib
	s3.SetMaxParts(&cfg, 2)
	d := newDriver(t, cfg)
	big := cloudtest.PatternBytes(12*mib + 7)
	m.put(root+"/big", big)
	if err := d.Move(context.Background(), "/big", "/moved"); err != nil {
		t.Fatal(err)
	}
	cloudtest.WantOps(t, "Move", o.Take(), map[string]int{
		"HeadObject": 1, "CreateMultipartUpload": 1, "UploadPartCopy": 2, "CompleteMultipartUpload": 1, "DeleteObject": 1})
	if got := m.get(root + "/moved"); !bytes.Equal(got, big) {
		t.Errorf("minio reads %d bytes of the copy, want %d", len(got), len(big))
	}
}

// The conditional delete of Move is idempotent too: when its answer is
// lost the SDK sends it again, and S3 answers the If-Match on the object
// now gone with 404 NoSuchKey (conditionalDeletes models it), which Move
// takes for done.
func TestMoveConditionalDeleteLostAnswer(t *testing.T) {
	root := freshRoot(t)
	m := newIndependent(t)
	faults := &transport.Faults{Rate: 1, Max: 1, Kinds: []transport.FaultKind{transport.FaultResetAfter},
		Match: func(req *http.Request) bool { return opName(req) == "DeleteObject" }}
	hc, _, o := cloudtest.CountingClient(&conditionalDeletes{Base: faults, m: m}, opName)
	d := newDriver(t, testConfig(t, root, hc))
	m.put(root+"/src", []byte("content"))
	if err := d.Move(context.Background(), "/src", "/dst"); err != nil {
		t.Fatalf("Move: %v", err)
	}
	if faults.Total() != 1 {
		t.Fatalf("%d faults injected, want 1", faults.Total())
	}
	cloudtest.WantOps(t, "Move", o.Take(), map[string]int{"HeadObject": 1, "CopyObject": 1, "DeleteObject": 2})
	if left := m.keys(root + "/"); !slices.Equal(left, []string{root + "/dst"}) {
		t.Errorf("minio lists %v after the move, want only the destination", left)
	}
}

// A server that answers the conditional delete 501 NotImplemented (AWS
// before it had conditional deletes) gets the unconditional one: Move
// still moves, and later Moves of the driver do not ask again.
func TestMoveWithoutConditionalDeletes(t *testing.T) {
	root := freshRoot(t)
	m := newIndependent(t)
	hc, _, o := cloudtest.CountingClient(noConditionalDeletes{}, opName)
	d := newDriver(t, testConfig(t, root, hc))
	m.put(root+"/src", []byte("content"))
	if err := d.Move(context.Background(), "/src", "/dst"); err != nil {
		t.Fatalf("Move: %v", err)
	}
	cloudtest.WantOps(t, "Move", o.Take(), map[string]int{"HeadObject": 1, "CopyObject": 1, "DeleteObject": 2})
	// The driver remembers: the next Move asks once.
	if err := d.Move(context.Background(), "/dst", "/again"); err != nil {
		t.Fatalf("Move: %v", err)
	}
	cloudtest.WantOps(t, "second Move", o.Take(), map[string]int{"HeadObject": 1, "CopyObject": 1, "DeleteObject": 1})
	if left := m.keys(root + "/"); !slices.Equal(left, []string{root + "/again"}) {
		t.Errorf("minio lists %v after the moves, want only the destination", left)
	}
}
