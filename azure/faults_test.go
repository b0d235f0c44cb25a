package azure_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stowage-dev/stowage/azure"
	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/transport"
)

// faultyDriver returns a driver over root whose requests pass a counter, a
// classifier and then faults.
func faultyDriver(t *testing.T, root string, faults http.RoundTripper, tweak func(*azure.Config)) (driver.StorageDriver, *transport.Counter, *ops) {
	t.Helper()
	hc, c, o := countingClient(faults)
	cfg := testConfig(t, root, hc)
	cfg.MaxRetries = 10 // a 20% fault rate must not exhaust them
	if tweak != nil {
		tweak(&cfg)
	}
	return newDriver(t, cfg), c, o
}

// serverBusy is the header Azure Storage throttles with.
var serverBusy = http.Header{"X-Ms-Error-Code": {"ServerBusy"}}

type faultCase struct {
	name   string
	faults func() *transport.Faults
}

func faultCases() []faultCase {
	return []faultCase{
		{"ServerBusy", func() *transport.Faults {
			return &transport.Faults{Seed: 1, Rate: 0.2, Status: http.StatusServiceUnavailable, Header: serverBusy}
		}},
		{"DroppedConnections", func() *transport.Faults {
			return &transport.Faults{Seed: 2, Rate: 0.2, Kinds: []transport.FaultKind{
				transport.FaultReset, transport.FaultResetAfter, transport.FaultCutBody}}
		}},
	}
}

// A share of the requests answered 503 ServerBusy or dropped (before or
// after the server saw them, or in the middle of the body): DeleteFiles
// still deletes everything, nothing is lost, and every fault costs exactly
// one more batch request.
func TestFaultsDeleteFiles(t *testing.T) {
	for _, tc := range faultCases() {
		t.Run(tc.name, func(t *testing.T) {
			root := freshRoot(t)
			clean := newDriver(t, testConfig(t, root, nil))
			paths := numbered("/d", 1500)
			putAll(t, clean, append(slices.Clone(paths), "/keep"))

			faults := tc.faults()
			// Batches of 100: enough requests for the faults to hit some.
			d, _, o := faultyDriver(t, root, faults, func(c *azure.Config) { c.DeleteBatchSize = 100 })
			n, err := d.DeleteFiles(context.Background(), paths)
			if err != nil || n != len(paths) {
				t.Fatalf("DeleteFiles under faults = %d, %v; want %d, nil", n, err, len(paths))
			}
			injected := faults.Total()
			if injected == 0 {
				t.Fatalf("no fault injected in %d requests: the test proves nothing", faults.Seen())
			}
			wantOps(t, "DeleteFiles of 1,500 paths", o.Take(), map[string]int{"SubmitBatch": 15 + injected})
			t.Logf("%s: %d SubmitBatch requests for 15 batches, faults %v", tc.name, 15+injected, faults.Injected())

			if got, want := newIndependent(t).names(root+"/"), []string{root + "/keep"}; !slices.Equal(got, want) {
				t.Errorf("azblob lists %d blobs after DeleteFiles under faults, want %v", len(got), want)
			}
		})
	}
}

// Every method under faults: PutContent, GetContent, Stat, a writer over
// two sessions and two driver instances, Move, List, Walk and Delete all
// succeed, and an independent client sees exactly the result.
func TestFaultsRoundTrip(t *testing.T) {
	for _, tc := range faultCases() {
		t.Run(tc.name, func(t *testing.T) {
			root := freshRoot(t)
			faults := tc.faults()
			small := func(c *azure.Config) { c.ChunkSize = 256 << 10 }
			d, c, _ := faultyDriver(t, root, faults, small)
			ctx := context.Background()
			m := newIndependent(t)

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

			big := patternBytes(3<<20 + 12345)
			w, err := d.Writer(ctx, "/rt/big", false)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.Write(big[:1<<20+7]); err != nil {
				t.Fatalf("Write: %v", err)
			}
			if err := w.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			d2, _, _ := faultyDriver(t, root, faults, small)
			w, err = d2.Writer(ctx, "/rt/big", true)
			if err != nil {
				t.Fatalf("resume: %v", err)
			}
			if w.Size() != 1<<20+7 {
				t.Fatalf("resumed Size() = %d, want %d", w.Size(), 1<<20+7)
			}
			if _, err := w.Write(big[1<<20+7:]); err != nil {
				t.Fatalf("Write: %v", err)
			}
			if err := w.Commit(ctx); err != nil {
				t.Fatalf("Commit: %v", err)
			}
			if got := m.get(root + "/rt/big"); !bytes.Equal(got, big) {
				t.Fatalf("azblob reads %d bytes of /rt/big, want the %d written", len(got), len(big))
			}

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
			if got, want := m.names(root+"/"), []string{root + "/moved/f4"}; !slices.Equal(got, want) {
				t.Errorf("azblob lists %v, want %v", got, want)
			}
			if got := m.get(root + "/moved/f4"); !bytes.Equal(got, contents["/rt/f4"]) {
				t.Errorf("moved file has %d bytes, want %d", len(got), len(contents["/rt/f4"]))
			}
			if faults.Total() == 0 {
				t.Fatal("no fault injected: the test proves nothing")
			}
			t.Logf("%s: %d requests, faults %v", tc.name, c.Total(), faults.Injected())
		})
	}
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
		{"ServerBusy503", &transport.Faults{Rate: 1, Status: 503, Header: serverBusy}, true},
		{"Status429", &transport.Faults{Rate: 1, Status: 429}, true},
		{"InternalError500", &transport.Faults{Rate: 1, Status: 500}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			root := freshRoot(t)
			d, c, _ := faultyDriver(t, root, tc.faults, func(c *azure.Config) { c.MaxRetries = 2 })
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
		})
	}
}

// rewriteBatch passes requests on and rewrites the answers of chosen
// deletes inside blob batch responses: the server did delete those blobs,
// but the client is told the status Fail picks. It records the blob names
// of every batch sent.
type rewriteBatch struct {
	// Fail returns, for the n-th batch (from 1) deleting names, the
	// status to report per blob name.
	Fail func(n int, names []string) map[string]int

	mu   sync.Mutex
	n    int
	sent [][]string
}

var (
	subRequestRE  = regexp.MustCompile(`DELETE (\S+) HTTP/1\.1`)
	subResponseRE = regexp.MustCompile(`(?s)Content-ID: (\d+)\r\n\r\n(HTTP/1\.1 .*?)\r\n--`)
)

func (r *rewriteBatch) RoundTrip(req *http.Request) (*http.Response, error) {
	if opName(req) != "SubmitBatch" {
		return http.DefaultTransport.RoundTrip(req)
	}
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return nil, err
	}
	req.Body = io.NopCloser(bytes.NewReader(body))
	var names []string
	for _, m := range subRequestRE.FindAllStringSubmatch(string(body), -1) {
		p, _ := url.PathUnescape(m[1])
		// /account/container/name
		parts := strings.SplitN(strings.TrimPrefix(p, "/"), "/", 3)
		names = append(names, parts[len(parts)-1])
	}
	r.mu.Lock()
	r.n++
	n := r.n
	r.sent = append(r.sent, names)
	r.mu.Unlock()
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil || r.Fail == nil {
		return resp, err
	}
	fail := r.Fail(n, names)
	if len(fail) == 0 {
		return resp, nil
	}
	rb, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	out := subResponseRE.ReplaceAllStringFunc(string(rb), func(s string) string {
		m := subResponseRE.FindStringSubmatch(s)
		id, _ := strconv.Atoi(m[1])
		if id >= len(names) {
			return s
		}
		status, ok := fail[names[id]]
		if !ok {
			return s
		}
		codes := map[int]string{403: "AuthorizationFailure", 429: "TooManyRequests", 500: "InternalError", 503: "ServerBusy"}
		return fmt.Sprintf("Content-ID: %d\r\n\r\nHTTP/1.1 %d %s\r\nx-ms-error-code: %s\r\n\r\n--",
			id, status, http.StatusText(status), codes[status])
	})
	resp.Body = io.NopCloser(strings.NewReader(out))
	resp.ContentLength = int64(len(out))
	resp.Header.Del("Content-Length")
	return resp, nil
}

// Sent returns the names of every batch sent so far.
func (r *rewriteBatch) Sent() [][]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.sent)
}

// Deletes a batch reports as failed with a transient status are sent
// again, alone, in a new batch; others are reported per path.
func TestDeleteFilesPerBlobErrors(t *testing.T) {
	root := freshRoot(t)
	paths := numbered("/d", 10)
	rw := &rewriteBatch{Fail: func(n int, _ []string) map[string]int {
		if n > 1 {
			return nil
		}
		return map[string]int{
			root + paths[1]: 500,
			root + paths[2]: 503,
			root + paths[3]: 429,
			root + paths[7]: 403,
		}
	}}
	d, _, o := faultyDriver(t, root, rw, nil)
	putAll(t, d, paths)
	o.Take()
	n, err := d.DeleteFiles(context.Background(), paths)
	var dfe *driver.DeleteFilesError
	if n != 9 || !errors.As(err, &dfe) || len(dfe.Failures) != 1 || dfe.Failures[0].Path != paths[7] ||
		!strings.Contains(dfe.Failures[0].Err.Error(), "403") {
		t.Fatalf("DeleteFiles = %d, %v; want 9 and one 403 failure for %s", n, err, paths[7])
	}
	wantOps(t, "DeleteFiles with transient per-blob errors", o.Take(), map[string]int{"SubmitBatch": 2})
	sent := rw.Sent()
	if want := []string{root + paths[1], root + paths[2], root + paths[3]}; len(sent) != 2 || !slices.Equal(sent[1], want) {
		t.Errorf("second batch named %v, want %v", sent[1:], want)
	}
	// The blob the client was told it could not delete was in fact
	// deleted by the server; everything is gone.
	if got := newIndependent(t).names(root + "/"); len(got) != 0 {
		t.Errorf("azblob lists %v", got)
	}

	// A transient status that outlasts the retries is reported too.
	rw2 := &rewriteBatch{Fail: func(int, []string) map[string]int { return map[string]int{root + "/x": 500} }}
	d2, _, o2 := faultyDriver(t, root, rw2, func(c *azure.Config) { c.MaxRetries = 2 })
	n, err = d2.DeleteFiles(context.Background(), []string{"/x", "/y"})
	if n != 1 || !errors.As(err, &dfe) || len(dfe.Failures) != 1 || dfe.Failures[0].Path != "/x" {
		t.Fatalf("DeleteFiles = %d, %v; want 1 and a failure for /x", n, err)
	}
	wantOps(t, "DeleteFiles with a lasting per-blob error", o2.Take(), map[string]int{"SubmitBatch": 3})
}

// notify passes requests to inner and signals the first on first.
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
		{"PerBlobRetry", &rewriteBatch{Fail: func(_ int, names []string) map[string]int {
			out := map[string]int{}
			for _, n := range names {
				out[n] = 500
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
			d, c, _ := faultyDriver(t, root, nt, func(c *azure.Config) {
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

// A download whose connection drops mid-body resumes from where it broke;
// when the drops outlast the retries the reader fails, never ends short.
func TestReaderResumesCutBody(t *testing.T) {
	root := freshRoot(t)
	content := patternBytes(3 << 20)
	newIndependent(t).put(root+"/f", content)
	isGet := func(req *http.Request) bool { return opName(req) == "GetBlob" }

	faults := &transport.Faults{Rate: 1, Max: 3, Kinds: []transport.FaultKind{transport.FaultCutBody}, Match: isGet}
	d, _, o := faultyDriver(t, root, faults, nil)
	got, err := d.GetContent(context.Background(), "/f")
	if err != nil || !bytes.Equal(got, content) {
		t.Fatalf("GetContent with 3 cut bodies = %d bytes, %v; want all %d", len(got), err, len(content))
	}
	wantOps(t, "GetContent with 3 cut bodies", o.Take(), map[string]int{"GetBlob": 4})

	faults = &transport.Faults{Rate: 1, Kinds: []transport.FaultKind{transport.FaultCutBody}, Match: isGet}
	d, _, _ = faultyDriver(t, root, faults, func(c *azure.Config) { c.MaxRetries = 2 })
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

// A Put Block List or Move whose answer is lost is retried by the SDK and
// still succeeds: committing the same block list again resolves the IDs to
// the now committed blocks, and a source already deleted counts as moved.
func TestLostAnswersAreIdempotent(t *testing.T) {
	for _, op := range []string{"PutBlockList", "CopyBlob", "DeleteBlob"} {
		t.Run(op, func(t *testing.T) {
			root := freshRoot(t)
			faults := &transport.Faults{Rate: 1, Max: 1, Kinds: []transport.FaultKind{transport.FaultResetAfter},
				Match: func(req *http.Request) bool { return opName(req) == op }}
			d, _, o := faultyDriver(t, root, faults, func(c *azure.Config) { c.ChunkSize = 64 << 10 })
			ctx := context.Background()
			content := patternBytes(200 << 10)
			w, err := d.Writer(ctx, "/f", false)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.Write(content); err != nil {
				t.Fatal(err)
			}
			if err := w.Commit(ctx); err != nil {
				t.Fatalf("Commit: %v", err)
			}
			if err := d.Move(ctx, "/f", "/g"); err != nil {
				t.Fatalf("Move: %v", err)
			}
			if faults.Total() != 1 {
				t.Fatalf("%d faults injected, want 1", faults.Total())
			}
			if got := o.Take()[op]; got != 2 {
				t.Errorf("%d %s requests, want 2 (one lost answer, one retry)", got, op)
			}
			m := newIndependent(t)
			if got := m.get(root + "/g"); !bytes.Equal(got, content) {
				t.Errorf("azblob reads %d bytes, want the %d committed", len(got), len(content))
			}
			if got, want := m.names(root+"/"), []string{root + "/g"}; !slices.Equal(got, want) {
				t.Errorf("azblob lists %v, want %v", got, want)
			}
		})
	}
}
