package gcs_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/gcs"
	"github.com/stowage-dev/stowage/internal/cloudtest"
)

// batchServer answers POST /batch/storage/v1 as GCS does (204 for a
// deleted object, JSON errors otherwise, parts named "response-<id>"), with
// the status of each call chosen by answer. It records every call.
type batchServer struct {
	t *testing.T
	// answer returns the status for the delete of name in the n-th batch
	// request (from 1); 0 leaves the call unanswered.
	answer func(n int, name string) int

	mu      sync.Mutex
	batches [][]string
}

func (s *batchServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/batch/storage/v1" {
		s.t.Errorf("unexpected request %s %s", r.Method, r.URL)
		http.Error(w, "unexpected", http.StatusBadRequest)
		return
	}
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/mixed" {
		s.t.Errorf("batch Content-Type %q", r.Header.Get("Content-Type"))
	}
	mr := multipart.NewReader(r.Body, params["boundary"])
	var (
		names []string
		ids   []string
	)
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			s.t.Errorf("reading the batch: %v", err)
			return
		}
		if ct := part.Header.Get("Content-Type"); ct != "application/http" {
			s.t.Errorf("part Content-Type %q, want application/http", ct)
		}
		id := part.Header.Get("Content-ID")
		if id == "" {
			s.t.Error("part without Content-ID")
		}
		raw, err := io.ReadAll(part)
		if err != nil {
			s.t.Errorf("reading a part: %v", err)
			return
		}
		// The headers end with an empty line inside the part (the CRLF
		// before the boundary belongs to the delimiter).
		if !bytes.HasSuffix(raw, []byte("\r\n\r\n")) {
			s.t.Errorf("part %q does not end its headers with an empty line", raw)
		}
		inner, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(raw)))
		if err != nil {
			s.t.Errorf("part is not an HTTP request: %v", err)
			return
		}
		const pfx = "/storage/v1/b/bkt/o/"
		if inner.Method != http.MethodDelete || !strings.HasPrefix(inner.URL.EscapedPath(), pfx) {
			s.t.Errorf("inner request %s %s", inner.Method, inner.URL.EscapedPath())
		}
		name, err := url.PathUnescape(strings.TrimPrefix(inner.URL.EscapedPath(), pfx))
		if err != nil || strings.Contains(strings.TrimPrefix(inner.URL.EscapedPath(), pfx), "/") {
			s.t.Errorf("object name not escaped as one segment: %s", inner.URL.EscapedPath())
		}
		names = append(names, name)
		ids = append(ids, id)
	}
	s.mu.Lock()
	s.batches = append(s.batches, names)
	n := len(s.batches)
	s.mu.Unlock()

	codes := make([]int, len(names))
	for i, name := range names {
		codes[i] = s.answer(n, name)
	}
	writeBatchAnswers(w, ids, codes)
}

// writeBatchAnswers answers, as GCS does, a batch request whose calls
// have the Content-IDs ids: the i-th with status codes[i], 204 for a
// deleted object, a JSON error otherwise, or no answer for 0.
func writeBatchAnswers(w http.ResponseWriter, ids []string, codes []int) {
	mw := multipart.NewWriter(w)
	w.Header().Set("Content-Type", "multipart/mixed; boundary="+mw.Boundary())
	w.WriteHeader(http.StatusOK)
	for i, code := range codes {
		if code == 0 {
			continue
		}
		h := textproto.MIMEHeader{}
		h.Set("Content-Type", "application/http")
		h.Set("Content-ID", "<response-"+strings.Trim(ids[i], "<>")+">")
		pw, _ := mw.CreatePart(h)
		if code == http.StatusNoContent {
			fmt.Fprintf(pw, "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")
			continue
		}
		body := fmt.Sprintf(`{"error":{"code":%d,"message":"injected %d"}}`, code, code)
		fmt.Fprintf(pw, "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
			code, http.StatusText(code), len(body), body)
	}
	mw.Close()
}

// batchDriver returns a driver on a batchServer.
func batchDriver(t *testing.T, answer func(n int, name string) int, tweak func(*gcs.Config)) (*gcs.Driver, *batchServer) {
	t.Helper()
	s := &batchServer{t: t, answer: answer}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	c := gcs.Config{
		CommonConfig: driver.CommonConfig{
			RootDirectory:   "r",
			RetryBaseDelay:  time.Millisecond,
			RetryMaxBackoff: 5 * time.Millisecond,
		},
		Bucket:    "bkt",
		Endpoint:  srv.URL + "/storage/v1/",
		Anonymous: true,
	}
	if tweak != nil {
		tweak(&c)
	}
	return newDriver(t, c), s
}

// Against GCS's own answers: 204 deleted, 404 missing (deleted), 503/429
// retried alone, 403 reported, an unanswered call retried; 250 paths in
// batches of 100.
func TestBatchAnswersOfGCS(t *testing.T) {
	paths := cloudtest.Numbered("/d", 250)
	seen := map[string]bool{}
	answer := func(n int, name string) int {
		again := seen[name]
		seen[name] = true
		switch {
		case again: // retries succeed
			return http.StatusNoContent
		case name == "r/d/f00001":
			return http.StatusServiceUnavailable
		case name == "r/d/f00002":
			return http.StatusTooManyRequests
		case name == "r/d/f00003":
			return 0 // no answer
		case name == "r/d/f00004":
			return http.StatusForbidden
		case strings.HasSuffix(name, "7"):
			return http.StatusNotFound
		}
		return http.StatusNoContent
	}
	d, s := batchDriver(t, answer, func(c *gcs.Config) { c.MaxConcurrency = 1 })
	n, err := d.DeleteFiles(context.Background(), paths)
	var dfe *driver.DeleteFilesError
	if n != 249 || !errors.As(err, &dfe) || len(dfe.Failures) != 1 || dfe.Failures[0].Path != "/d/f00004" ||
		!strings.Contains(dfe.Failures[0].Err.Error(), "injected 403") {
		t.Fatalf("DeleteFiles = %d, %v; want 249 and a 403 failure for /d/f00004", n, err)
	}
	// One at a time (MaxConcurrency 1): the first batch, its retry, the others.
	if got := len(s.batches); got != 4 {
		t.Fatalf("%d batch requests, want 3 and one retry", got)
	}
	for i, want := range []int{100, 3, 100, 50} {
		if len(s.batches[i]) != want {
			t.Errorf("batch request %d has %d calls, want %d", i+1, len(s.batches[i]), want)
		}
	}
	if want := []string{"r/d/f00001", "r/d/f00002", "r/d/f00003"}; !slices.Equal(s.batches[1], want) {
		t.Errorf("retry batch %v, want %v", s.batches[1], want)
	}
}

// A call that stays rate-limited after the retries comes back as a
// TooManyRequestsError; a lasting 500 as a plain error; each retried
// MaxRetries times.
func TestBatchRetriesExhausted(t *testing.T) {
	d, s := batchDriver(t, func(_ int, name string) int {
		switch name {
		case "r/a":
			return http.StatusTooManyRequests
		case "r/b":
			return http.StatusInternalServerError
		}
		return http.StatusNoContent
	}, func(c *gcs.Config) { c.MaxRetries = 2 })
	n, err := d.DeleteFiles(context.Background(), []string{"/a", "/b", "/c"})
	var dfe *driver.DeleteFilesError
	if n != 1 || !errors.As(err, &dfe) || len(dfe.Failures) != 2 {
		t.Fatalf("DeleteFiles = %d, %v; want 1 and 2 failures", n, err)
	}
	var tmr *driver.TooManyRequestsError
	if !errors.As(dfe.Failures[0].Err, &tmr) || errors.As(dfe.Failures[1].Err, &tmr) {
		t.Errorf("failures %v: want a TooManyRequestsError for /a only", dfe.Failures)
	}
	if len(s.batches) != 3 {
		t.Errorf("%d batch requests, want 3 (1 + 2 retries)", len(s.batches))
	}
}

// A whole batch answered with an error status is retried, then reported
// for every path.
func TestBatchWholeRequestFails(t *testing.T) {
	var calls int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		http.Error(w, `{"error":{"code":403,"message":"denied"}}`, http.StatusForbidden)
	}))
	t.Cleanup(srv.Close)
	d := newDriver(t, gcs.Config{Bucket: "bkt", Endpoint: srv.URL + "/storage/v1/", Anonymous: true})
	n, err := d.DeleteFiles(context.Background(), []string{"/a", "/b"})
	var dfe *driver.DeleteFilesError
	if n != 0 || !errors.As(err, &dfe) || len(dfe.Failures) != 2 || !strings.Contains(err.Error(), "denied") {
		t.Fatalf("DeleteFiles = %d, %v; want 0 and two 403 failures", n, err)
	}
	if calls != 1 {
		t.Errorf("%d requests for a 403, want 1 (not retried)", calls)
	}
}
