package s3_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/transport"
)

// faultyDriver returns a driver over root whose requests pass a counter, a
// classifier and then faults.
func faultyDriver(t *testing.T, root string, faults http.RoundTripper, tweak func(*configT)) (driver.StorageDriver, *transport.Counter, *ops) {
	t.Helper()
	hc, c, o := countingClient(faults)
	cfg := testConfig(t, root, hc)
	cfg.MaxRetries = 10 // a 20% fault rate must not exhaust them
	if tweak != nil {
		tweak(&cfg)
	}
	return newDriver(t, cfg), c, o
}

// A share of the requests answered 503 SlowDown or dropped (before or after
// the server saw them, or in the middle of the body): DeleteFiles and a
// round trip through every method still succeed, nothing is lost, and the
// counts show the retries.
func TestFaultsDeleteFiles(t *testing.T) {
	for _, tc := range faultCases() {
		t.Run(tc.name, func(t *testing.T) {
			root := freshRoot(t)
			clean := newDriver(t, testConfig(t, root, nil))
			paths := numbered("/d", 1500)
			putAll(t, clean, append(slices.Clone(paths), "/keep"))

			faults := tc.faults()
			// Batches of 100: enough requests for the faults to hit some.
			d, _, o := faultyDriver(t, root, faults, func(c *configT) { c.DeleteBatchSize = 100 })
			n, err := d.DeleteFiles(context.Background(), paths)
			if err != nil || n != len(paths) {
				t.Fatalf("DeleteFiles under faults = %d, %v; want %d, nil", n, err, len(paths))
			}
			injected := faults.Total()
			if injected == 0 {
				t.Fatalf("no fault injected in %d requests: the test proves nothing", faults.Seen())
			}
			// Every fault costs exactly one more request.
			wantOps(t, "DeleteFiles of 1,500 paths", o.Take(), map[string]int{"DeleteObjects": 15 + injected})
			t.Logf("%s: %d DeleteObjects requests for 15 batches, faults %v", tc.name, 15+injected, faults.Injected())

			if got, want := newIndependent(t).keys(root+"/"), []string{root + "/keep"}; !slices.Equal(got, want) {
				t.Errorf("minio lists %d keys after DeleteFiles under faults, want %v", len(got), want)
			}
		})
	}
}

func TestFaultsRoundTrip(t *testing.T) {
	for _, tc := range faultCases() {
		t.Run(tc.name, func(t *testing.T) {
			root := freshRoot(t)
			faults := tc.faults()
			d, c, _ := faultyDriver(t, root, faults, func(c *configT) { c.ChunkSize = 5 << 20 })
			ctx := context.Background()
			m := newIndependent(t)

			// PutContent / GetContent / Stat of assorted sizes.
			contents := map[string][]byte{}
			for i, size := range []int{0, 1, 1000, 100_000, 3 << 20} {
				p := fmt.Sprintf("/rt/f%d", i)
				contents[p] = bytes.Repeat([]byte{byte('a' + i)}, size)
				if err := d.PutContent(ctx, p, contents[p]); err != nil {
					t.Fatalf("PutContent(%s): %v", p, err)
				}
			}
			for p, want := range contents {
				got, err := d.GetContent(ctx, p)
				if err != nil || !bytes.Equal(got, want) {
					t.Fatalf("GetContent(%s) = %d bytes, %v; want %d bytes", p, len(got), err, len(want))
				}
				fi, err := d.Stat(ctx, p)
				if err != nil || fi.Size() != int64(len(want)) {
					t.Fatalf("Stat(%s) = %v, %v", p, fi, err)
				}
			}

			// A writer over two sessions and two driver instances.
			big := patternBytes(11<<20 + 12345)
			w, err := d.Writer(ctx, "/rt/big", false)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.Write(big[:7<<20]); err != nil {
				t.Fatalf("Write: %v", err)
			}
			if err := w.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			d2, _, _ := faultyDriver(t, root, faults, func(c *configT) { c.ChunkSize = 5 << 20 })
			w, err = d2.Writer(ctx, "/rt/big", true)
			if err != nil {
				t.Fatalf("resume: %v", err)
			}
			if w.Size() != 7<<20 {
				t.Fatalf("resumed Size() = %d, want %d", w.Size(), 7<<20)
			}
			if _, err := w.Write(big[7<<20:]); err != nil {
				t.Fatalf("Write: %v", err)
			}
			if err := w.Commit(ctx); err != nil {
				t.Fatalf("Commit: %v", err)
			}
			if got := m.get(root + "/rt/big"); !bytes.Equal(got, big) {
				t.Fatalf("minio reads %d bytes of /rt/big, want the %d written", len(got), len(big))
			}

			// Move, List, Walk, Delete.
			if err := d.Move(ctx, "/rt/f4", "/moved/f4"); err != nil {
				t.Fatalf("Move: %v", err)
			}
			list, err := d.List(ctx, "/rt")
			if want := []string{"/rt/big", "/rt/f0", "/rt/f1", "/rt/f2", "/rt/f3"}; err != nil || !slices.Equal(list, want) {
				t.Fatalf("List(/rt) = %v, %v; want %v", list, err, want)
			}
			var walked []string
			if err := d.Walk(ctx, "/", func(fi driver.FileInfo) error {
				walked = append(walked, driver.WalkKey(fi.Path(), fi.IsDir()))
				return nil
			}); err != nil {
				t.Fatalf("Walk: %v", err)
			}
			if want := []string{"/moved/", "/moved/f4", "/rt/", "/rt/big", "/rt/f0", "/rt/f1", "/rt/f2", "/rt/f3"}; !slices.Equal(walked, want) {
				t.Fatalf("Walk(/) = %v, want %v", walked, want)
			}
			if err := d.Delete(ctx, "/rt"); err != nil {
				t.Fatalf("Delete(/rt): %v", err)
			}
			if got, want := m.keys(root+"/"), []string{root + "/moved/f4"}; !slices.Equal(got, want) {
				t.Errorf("minio lists %v, want %v", got, want)
			}
			if up := m.uploads(root + "/rt/big"); len(up) != 0 {
				t.Errorf("unfinished uploads left: %v", up)
			}
			if faults.Total() == 0 {
				t.Fatal("no fault injected: the test proves nothing")
			}
			t.Logf("%s: %d requests, faults %v", tc.name, c.Total(), faults.Injected())
		})
	}
}

type faultCase struct {
	name   string
	faults func() *transport.Faults
}

func faultCases() []faultCase {
	return []faultCase{
		{"SlowDown", func() *transport.Faults {
			return &transport.Faults{Seed: 1, Rate: 0.2, Status: http.StatusServiceUnavailable, Body: transport.SlowDownBody}
		}},
		{"DroppedConnections", func() *transport.Faults {
			return &transport.Faults{Seed: 2, Rate: 0.2, Kinds: []transport.FaultKind{
				transport.FaultReset, transport.FaultResetAfter, transport.FaultCutBody}}
		}},
	}
}

// patternBytes returns n bytes that differ from one offset to the next.
func patternBytes(n int) []byte {
	b := make([]byte, n)
	x := uint32(2463534242)
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return b
}

// Rate limits that outlast the retries come back as
// driver.TooManyRequestsError; other server errors do not. Each request is
// tried MaxRetries+1 times.
func TestFaultsRetriesExhausted(t *testing.T) {
	cases := []struct {
		name     string
		faults   *transport.Faults
		throttle bool
	}{
		{"SlowDown503", &transport.Faults{Rate: 1, Status: 503, Body: transport.SlowDownBody}, true},
		{"Status429", &transport.Faults{Rate: 1, Status: 429}, true},
		{"InternalError500", &transport.Faults{Rate: 1, Status: 500}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			root := freshRoot(t)
			d, c, _ := faultyDriver(t, root, tc.faults, func(c *configT) { c.MaxRetries = 2 })
			ctx := context.Background()
			check := func(what string, err error, requests int) {
				t.Helper()
				var tmr *driver.TooManyRequestsError
				switch {
				case err == nil:
					t.Errorf("%s: no error", what)
				case errors.As(err, &tmr) != tc.throttle:
					t.Errorf("%s: error %v; TooManyRequestsError: %v, want %v", what, err, !tc.throttle, tc.throttle)
				}
				if requests != 3 {
					t.Errorf("%s sent %d requests, want 3 (1 + 2 retries)", what, requests)
				}
			}
			before := c.Total()
			check("PutContent", d.PutContent(ctx, "/f", []byte("x")), c.Total()-before)
			before = c.Total()
			_, err := d.GetContent(ctx, "/f")
			check("GetContent", err, c.Total()-before)

			before = c.Total()
			n, err := d.DeleteFiles(ctx, []string{"/a", "/b", "/c"})
			check("DeleteFiles", err, c.Total()-before)
			var dfe *driver.DeleteFilesError
			if n != 0 || !errors.As(err, &dfe) || len(dfe.Failures) != 3 {
				t.Fatalf("DeleteFiles = %d, %v; want 0 and 3 failures", n, err)
			}
			for _, f := range dfe.Failures {
				var tmr *driver.TooManyRequestsError
				if errors.As(f.Err, &tmr) != tc.throttle {
					t.Errorf("failure of %s: %v", f.Path, f.Err)
				}
			}
		})
	}
}

// rewriteDeletes forwards DeleteObjects requests to the server and rewrites the
// answer to report per-key errors, to exercise the per-key handling that
// MinIO itself cannot be made to produce.
type rewriteDeletes struct {
	// Errors returns, for the n-th DeleteObjects request (from 1), the
	// per-key error code to report for each key it names.
	Errors func(n int, keys []string) map[string]string
	// Sent receives the keys of every DeleteObjects request, if set.
	Sent func(n int, keys []string)

	mu sync.Mutex
	n  int
}

func (r *rewriteDeletes) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method != http.MethodPost || !req.URL.Query().Has("delete") {
		return http.DefaultTransport.RoundTrip(req)
	}
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return nil, err
	}
	req.Body = io.NopCloser(bytes.NewReader(body))
	keys := xmlKeys(string(body))
	r.mu.Lock()
	r.n++
	n := r.n
	r.mu.Unlock()
	if r.Sent != nil {
		r.Sent(n, keys)
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		return resp, err
	}
	resp.Body.Close()
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?><DeleteResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">`)
	errs := r.Errors(n, keys)
	for _, k := range keys { // in the request's order, as a server answers
		if code, ok := errs[k]; ok {
			fmt.Fprintf(&b, "<Error><Key>%s</Key><Code>%s</Code><Message>injected</Message></Error>", k, code)
		}
	}
	b.WriteString("</DeleteResult>")
	resp.Body = io.NopCloser(strings.NewReader(b.String()))
	resp.ContentLength = int64(b.Len())
	resp.Header.Set("Content-Length", fmt.Sprint(b.Len()))
	resp.Header.Del("Content-Encoding")
	return resp, nil
}

// xmlKeys extracts the <Key> values of a DeleteObjects request body.
func xmlKeys(body string) []string {
	var keys []string
	for {
		i := strings.Index(body, "<Key>")
		if i < 0 {
			return keys
		}
		body = body[i+len("<Key>"):]
		j := strings.Index(body, "</Key>")
		keys = append(keys, body[:j])
		body = body[j:]
	}
}

// Keys that DeleteObjects reports as failed with a transient code are sent
// again, alone; others are reported per path.
func TestDeleteFilesPerKeyErrors(t *testing.T) {
	root := freshRoot(t)
	paths := numbered("/d", 10)
	var sent [][]string
	rw := &rewriteDeletes{
		Errors: func(n int, keys []string) map[string]string {
			if n > 1 {
				return nil
			}
			return map[string]string{
				root + paths[1]: "InternalError",
				root + paths[2]: "SlowDown",
				root + paths[3]: "ServiceUnavailable",
				root + paths[7]: "AccessDenied",
			}
		},
		Sent: func(_ int, keys []string) { sent = append(sent, keys) },
	}
	d, _, o := faultyDriver(t, root, rw, nil)
	putAll(t, d, paths)
	o.Take()
	n, err := d.DeleteFiles(context.Background(), paths)
	var dfe *driver.DeleteFilesError
	if n != 9 || !errors.As(err, &dfe) || len(dfe.Failures) != 1 || dfe.Failures[0].Path != paths[7] ||
		!strings.Contains(dfe.Failures[0].Err.Error(), "AccessDenied") {
		t.Fatalf("DeleteFiles = %d, %v; want 9 and one AccessDenied failure for %s", n, err, paths[7])
	}
	wantOps(t, "DeleteFiles with transient per-key errors", o.Take(), map[string]int{"DeleteObjects": 2})
	if want := []string{root + paths[1], root + paths[2], root + paths[3]}; len(sent) != 2 || !slices.Equal(sent[1], want) {
		t.Errorf("second DeleteObjects named %v, want %v", sent[1:], want)
	}

	// A transient code that outlasts the retries is reported too.
	rw2 := &rewriteDeletes{Errors: func(int, []string) map[string]string {
		return map[string]string{root + "/x": "InternalError"}
	}}
	d2, _, o2 := faultyDriver(t, root, rw2, func(c *configT) { c.MaxRetries = 2 })
	n, err = d2.DeleteFiles(context.Background(), []string{"/x", "/y"})
	if n != 1 || !errors.As(err, &dfe) || len(dfe.Failures) != 1 || dfe.Failures[0].Path != "/x" {
		t.Fatalf("DeleteFiles = %d, %v; want 1 and a failure for /x", n, err)
	}
	wantOps(t, "DeleteFiles with a lasting per-key error", o2.Take(), map[string]int{"DeleteObjects": 3})
}

// notify answers every request with 503 and signals the first on first.
type notify struct {
	once  sync.Once
	first chan struct{}
	inner http.RoundTripper
}

func (n *notify) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := n.inner.RoundTrip(req)
	n.once.Do(func() { close(n.first) })
	return resp, err
}

// Cancelling the context ends a call at once, even in the middle of a long
// backoff, and sends no further request.
func TestCancelStopsRetries(t *testing.T) {
	cases := []struct {
		name string
		rt   http.RoundTripper
		call func(ctx context.Context, d driver.StorageDriver) error
	}{
		{"SDKRetry", &transport.Faults{Rate: 1, Status: 503}, func(ctx context.Context, d driver.StorageDriver) error {
			return d.PutContent(ctx, "/f", []byte("x"))
		}},
		{"PerKeyRetry", &rewriteDeletes{Errors: func(_ int, keys []string) map[string]string {
			out := map[string]string{}
			for _, k := range keys {
				out[k] = "InternalError"
			}
			return out
		}}, func(ctx context.Context, d driver.StorageDriver) error {
			_, err := d.DeleteFiles(ctx, []string{"/a", "/b"})
			return err
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			root := freshRoot(t)
			nt := &notify{first: make(chan struct{}), inner: tc.rt}
			d, c, _ := faultyDriver(t, root, nt, func(c *configT) {
				c.RetryBaseDelay = time.Hour
				c.RetryMaxBackoff = time.Hour
			})
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- tc.call(ctx, d) }()
			<-nt.first
			cancel()
			select {
			case err := <-done:
				if !errors.Is(err, context.Canceled) {
					t.Errorf("error %v, want one matching context.Canceled", err)
				}
			case <-time.After(30 * time.Second):
				t.Fatal("the call did not return after its context was cancelled")
			}
			if n := c.Total(); n != 1 {
				t.Errorf("%d requests sent, want 1", n)
			}
		})
	}
}

// A CompleteMultipartUpload whose answer is lost is retried by the SDK,
// which then finds the upload gone: Commit must see that the object is
// complete and succeed.
func TestCommitSurvivesLostCompleteResponse(t *testing.T) {
	root := freshRoot(t)
	faults := &transport.Faults{Rate: 1, Max: 1, Kinds: []transport.FaultKind{transport.FaultResetAfter},
		Match: func(req *http.Request) bool { return opName(req) == "CompleteMultipartUpload" }}
	d, _, _ := faultyDriver(t, root, faults, func(c *configT) { c.ChunkSize = 5 << 20 })
	ctx := context.Background()
	content := patternBytes(11 << 20)
	w, err := d.Writer(ctx, "/f", false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(content); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(ctx); err != nil {
		t.Fatalf("Commit after a lost CompleteMultipartUpload answer: %v", err)
	}
	if faults.Total() != 1 {
		t.Fatalf("%d faults injected, want 1", faults.Total())
	}
	if got := newIndependent(t).get(root + "/f"); !bytes.Equal(got, content) {
		t.Errorf("minio reads %d bytes, want the %d committed", len(got), len(content))
	}
}

// A download whose connection drops mid-body resumes from where it broke;
// when the drops outlast the retries the reader fails, never ends short.
func TestReaderResumesCutBody(t *testing.T) {
	root := freshRoot(t)
	content := patternBytes(3 << 20)
	newIndependent(t).put(root+"/f", content)
	isGet := func(req *http.Request) bool { return opName(req) == "GetObject" }

	faults := &transport.Faults{Rate: 1, Max: 3, Kinds: []transport.FaultKind{transport.FaultCutBody}, Match: isGet}
	d, _, o := faultyDriver(t, root, faults, nil)
	got, err := d.GetContent(context.Background(), "/f")
	if err != nil || !bytes.Equal(got, content) {
		t.Fatalf("GetContent with 3 cut bodies = %d bytes, %v; want all %d", len(got), err, len(content))
	}
	wantOps(t, "GetContent with 3 cut bodies", o.Take(), map[string]int{"GetObject": 4})

	faults = &transport.Faults{Rate: 1, Kinds: []transport.FaultKind{transport.FaultCutBody}, Match: isGet}
	d, _, _ = faultyDriver(t, root, faults, func(c *configT) { c.MaxRetries = 2 })
	rc, err := d.Reader(context.Background(), "/f", 1000)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	got, err = io.ReadAll(rc)
	if err == nil {
		t.Fatalf("Reader with endless cut bodies read %d bytes and no error", len(got))
	}
	if !bytes.Equal(got, content[1000:1000+len(got)]) {
		t.Errorf("the bytes read before the failure are wrong")
	}
}
