package s3_test

import (
	"bytes"
	"context"
	"net/http"
	"sync"
	"testing"

	"github.com/stowage-dev/stowage/internal/cloudtest"
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
