package s3_test

import (
	"bytes"
	"context"
	"net/http"
	"slices"
	"sync"
	"testing"

	"github.com/stowage-dev/stowage/internal/cloudtest"
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
