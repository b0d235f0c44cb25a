package swift_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
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
	d := newDriver(t, cfg)
	o.Take()
	c.Reset()
	return d, c, o
}

type faultCase struct {
	name   string
	faults func() *transport.Faults
}

func faultCases() []faultCase {
	return []faultCase{
		{"ServiceUnavailable", func() *transport.Faults {
			return &transport.Faults{Seed: 1, Rate: 0.2, Status: http.StatusServiceUnavailable}
		}},
		{"DroppedConnections", func() *transport.Faults {
			return &transport.Faults{Seed: 2, Rate: 0.2, Kinds: []transport.FaultKind{
				transport.FaultReset, transport.FaultResetAfter, transport.FaultCutBody}}
		}},
	}
}

// A share of the bulk deletes answered 503 or dropped (before or after the
// server saw them, or in the middle of the answer): DeleteFiles still
// succeeds, nothing is lost, and every fault costs exactly one request.
func TestFaultsDeleteFiles(t *testing.T) {
	for _, tc := range faultCases() {
		t.Run(tc.name, func(t *testing.T) {
			root := freshRoot(t)
			clean := newDriver(t, testConfig(t, root, nil))
			paths := numbered("/d", 1500)
			putAll(t, clean, append(slices.Clone(paths), "/keep"))

			faults := tc.faults()
			d, _, o := faultyDriver(t, root, faults, func(c *configT) { c.DeleteBatchSize = 100 })
			before := faults.Total()
			n, err := d.DeleteFiles(context.Background(), paths)
			if err != nil || n != len(paths) {
				t.Fatalf("DeleteFiles under faults = %d, %v; want %d, nil", n, err, len(paths))
			}
			injected := faults.Total() - before
			if injected == 0 {
				t.Fatalf("no fault injected in %d requests: the test proves nothing", faults.Seen())
			}
			wantOps(t, "DeleteFiles of 1,500 paths", o.Take(), map[string]int{"BulkDelete": 15 + injected})
			t.Logf("%s: %d bulk deletes for 15 batches, faults %v", tc.name, 15+injected, faults.Injected())
			if got, want := newIndependent(t).keys(root+"/"), []string{root + "/keep"}; !slices.Equal(got, want) {
				t.Errorf("swift lists %d names after DeleteFiles under faults, want %v", len(got), want)
			}
		})
	}
}

// Every method round-trips under faults: contents, a writer over two
// sessions and two driver instances, Move, List, Walk, Delete.
func TestFaultsRoundTrip(t *testing.T) {
	for _, tc := range faultCases() {
		t.Run(tc.name, func(t *testing.T) {
			root := freshRoot(t)
			faults := tc.faults()
			d, c, _ := faultyDriver(t, root, faults, nil)
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
			if _, err := w.Write(big[:2<<20+7]); err != nil {
				t.Fatalf("Write: %v", err)
			}
			if err := w.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			d2, _, _ := faultyDriver(t, root, faults, nil)
			w, err = d2.Writer(ctx, "/rt/big", true)
			if err != nil {
				t.Fatalf("resume: %v", err)
			}
			if w.Size() != 2<<20+7 {
				t.Fatalf("resumed Size() = %d, want %d", w.Size(), 2<<20+7)
			}
			if _, err := w.Write(big[2<<20+7:]); err != nil {
				t.Fatalf("Write: %v", err)
			}
			if err := w.Commit(ctx); err != nil {
				t.Fatalf("Commit: %v", err)
			}
			if got := m.get(root + "/rt/big"); !bytes.Equal(got, big) {
				t.Fatalf("swift reads %d bytes of /rt/big, want the %d written", len(got), len(big))
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
			if got, want := m.keys(root+"/"), []string{root + "/moved/f4"}; !slices.Equal(got, want) {
				t.Errorf("swift lists %v, want %v", got, want)
			}
			if segs := m.names(m.segments, root+"/"); len(segs) != 0 {
				t.Errorf("segments left after Commit: %v", segs)
			}
			if faults.Total() == 0 {
				t.Fatal("no fault injected: the test proves nothing")
			}
			t.Logf("%s: %d requests, faults %v", tc.name, c.Total(), faults.Injected())
		})
	}
}

// armed returns a Match function that lets faults through only once the
// returned switch is on, so that New (authentication, /info) is spared.
func armed() (func(*http.Request) bool, *atomic.Bool) {
	var on atomic.Bool
	return func(*http.Request) bool { return on.Load() }, &on
}

// Rate limits that outlast the retries come back as
// driver.TooManyRequestsError; other server errors do not. Each request is
// tried MaxRetries+1 times.
func TestFaultsRetriesExhausted(t *testing.T) {
	cases := []struct {
		name     string
		status   int
		throttle bool
	}{
		{"Status429", 429, true},
		{"RateLimit498", 498, true},
		{"ServiceUnavailable503", 503, false},
		{"InternalError500", 500, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			root := freshRoot(t)
			match, on := armed()
			faults := &transport.Faults{Rate: 1, Status: tc.status, Match: match}
			d, c, _ := faultyDriver(t, root, faults, func(c *configT) { c.MaxRetries = 2 })
			on.Store(true)
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

// rewriteBulk forwards bulk deletes to the server and rewrites the answer
// to report per-name errors, to exercise the per-name handling that the
// real server cannot be made to produce on demand.
type rewriteBulk struct {
	// Errors returns, for the n-th bulk delete (from 1), the status to
	// report for each "container/name" it names.
	Errors func(n int, names []string) map[string]string
	// Sent receives the names of every bulk delete, if set.
	Sent func(n int, names []string)

	mu sync.Mutex
	n  int
}

func (r *rewriteBulk) RoundTrip(req *http.Request) (*http.Response, error) {
	if !req.URL.Query().Has("bulk-delete") {
		return http.DefaultTransport.RoundTrip(req)
	}
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return nil, err
	}
	req.Body = io.NopCloser(bytes.NewReader(body))
	var names []string
	for _, line := range strings.Split(strings.TrimSpace(string(body)), "\n") {
		name, _ := url.PathUnescape(strings.TrimPrefix(line, "/"))
		names = append(names, name)
	}
	r.mu.Lock()
	r.n++
	n := r.n
	r.mu.Unlock()
	if r.Sent != nil {
		r.Sent(n, names)
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		return resp, err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	var res map[string]any
	if err := json.Unmarshal(b, &res); err != nil {
		return nil, err
	}
	var errs [][]string
	for name, status := range r.Errors(n, names) {
		errs = append(errs, []string{"/" + name, status})
	}
	if len(errs) > 0 {
		res["Errors"] = errs
		res["Response Status"] = "400 Bad Request"
		res["Number Deleted"] = res["Number Deleted"].(float64) - float64(len(errs))
	}
	out, _ := json.Marshal(res)
	resp.Body = io.NopCloser(bytes.NewReader(out))
	resp.ContentLength = int64(len(out))
	resp.Header.Set("Content-Length", fmt.Sprint(len(out)))
	return resp, nil
}

// Names that a bulk delete reports as failed with a transient status are
// sent again, alone; others are reported per path; 404s count as deleted.
func TestDeleteFilesPerNameErrors(t *testing.T) {
	root := freshRoot(t)
	env := testConfig(t, root, nil)
	paths := numbered("/d", 10)
	name := func(p string) string { return env.Container + "/" + root + p }
	var sent [][]string
	rw := &rewriteBulk{
		Errors: func(n int, _ []string) map[string]string {
			if n > 1 {
				return nil
			}
			return map[string]string{
				name(paths[1]): "503 Service Unavailable",
				name(paths[2]): "500 Internal Error",
				name(paths[3]): "429 Too Many Requests",
				name(paths[7]): "403 Forbidden",
			}
		},
		Sent: func(_ int, names []string) { sent = append(sent, names) },
	}
	d, _, o := faultyDriver(t, root, rw, nil)
	putAll(t, d, paths)
	o.Take()
	n, err := d.DeleteFiles(context.Background(), paths)
	var dfe *driver.DeleteFilesError
	if n != 9 || !errors.As(err, &dfe) || len(dfe.Failures) != 1 || dfe.Failures[0].Path != paths[7] ||
		!strings.Contains(dfe.Failures[0].Err.Error(), "403") {
		t.Fatalf("DeleteFiles = %d, %v; want 9 and one 403 failure for %s", n, err, paths[7])
	}
	wantOps(t, "DeleteFiles with transient per-name errors", o.Take(), map[string]int{"BulkDelete": 2})
	if want := []string{name(paths[1]), name(paths[2]), name(paths[3])}; len(sent) != 2 || !slices.Equal(sent[1], want) {
		t.Errorf("second bulk delete named %v, want %v", sent[1:], want)
	}

	// A transient status that outlasts the retries is reported too, as a
	// rate limit when it is one.
	rw2 := &rewriteBulk{Errors: func(int, []string) map[string]string {
		return map[string]string{name("/x"): "498 Rate Limited"}
	}}
	d2, _, o2 := faultyDriver(t, root, rw2, func(c *configT) { c.MaxRetries = 2 })
	n, err = d2.DeleteFiles(context.Background(), []string{"/x", "/y"})
	var tmr *driver.TooManyRequestsError
	if n != 1 || !errors.As(err, &dfe) || len(dfe.Failures) != 1 || dfe.Failures[0].Path != "/x" || !errors.As(err, &tmr) {
		t.Fatalf("DeleteFiles = %d, %v; want 1 and a rate-limit failure for /x", n, err)
	}
	wantOps(t, "DeleteFiles with a lasting per-name error", o2.Take(), map[string]int{"BulkDelete": 3})
}

// notify passes requests on and signals the first answer on first.
type notify struct {
	once  sync.Once
	first chan struct{}
	inner http.RoundTripper
	on    *atomic.Bool
}

func (n *notify) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := n.inner.RoundTrip(req)
	if n.on.Load() {
		n.once.Do(func() { close(n.first) })
	}
	return resp, err
}

// Cancelling the context ends a call at once, even in the middle of a long
// backoff, and sends no further request.
func TestCancelStopsRetries(t *testing.T) {
	cases := []struct {
		name string
		rt   func(match func(*http.Request) bool) http.RoundTripper
		call func(ctx context.Context, d driver.StorageDriver) error
	}{
		{"RequestRetry", func(match func(*http.Request) bool) http.RoundTripper {
			return &transport.Faults{Rate: 1, Status: 503, Match: match}
		}, func(ctx context.Context, d driver.StorageDriver) error {
			return d.PutContent(ctx, "/f", []byte("x"))
		}},
		{"PerNameRetry", func(func(*http.Request) bool) http.RoundTripper {
			return &rewriteBulk{Errors: func(_ int, names []string) map[string]string {
				out := map[string]string{}
				for _, n := range names {
					out[n] = "503 Service Unavailable"
				}
				return out
			}}
		}, func(ctx context.Context, d driver.StorageDriver) error {
			_, err := d.DeleteFiles(ctx, []string{"/a", "/b"})
			return err
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			root := freshRoot(t)
			match, on := armed()
			nt := &notify{first: make(chan struct{}), inner: tc.rt(match), on: on}
			d, c, _ := faultyDriver(t, root, nt, func(c *configT) {
				c.RetryBaseDelay = time.Hour
				c.RetryMaxBackoff = time.Hour
			})
			on.Store(true)
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
	isGet := func(req *http.Request) bool { return opName(req) == "Get" }

	faults := &transport.Faults{Rate: 1, Max: 3, Kinds: []transport.FaultKind{transport.FaultCutBody}, Match: isGet}
	d, _, o := faultyDriver(t, root, faults, nil)
	got, err := d.GetContent(context.Background(), "/f")
	if err != nil || !bytes.Equal(got, content) {
		t.Fatalf("GetContent with 3 cut bodies = %d bytes, %v; want all %d", len(got), err, len(content))
	}
	wantOps(t, "GetContent with 3 cut bodies", o.Take(), map[string]int{"Get": 4})

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
