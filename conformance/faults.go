package conformance

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/internal/cloudtest"
	"github.com/stowage-dev/stowage/transport"
)

// FaultHarness plugs an HTTP backend into RunFaults: how to build its
// driver over a client of the suite's, how to see what the server really
// holds (with a client of the harness's own, never through the driver), and
// how the provider names its requests and answers a rate limit.
type FaultHarness struct {
	// Name labels the backend in messages.
	Name string
	// Backend, when set, gives Root, New, Op, Read (its Get) and Put wherever
	// those are left nil: the shared tests' description of the backend.
	Backend cloudtest.Backend
	// Root returns a fresh root for one test and empties it when the test
	// ends.
	Root func(t testing.TB) string
	// New returns a driver over root whose every request goes through hc,
	// set up as o says. It may send requests of its own before it returns
	// (authentication); RunFaults arms its faults only afterwards.
	New func(t testing.TB, root string, hc *http.Client, o FaultOptions) driver.StorageDriver
	// Stored returns, sorted, everything the server holds under the key
	// prefix: objects, the backend's own bookkeeping objects and
	// unfinished uploads (named as the harness likes, never like a key).
	Stored func(t testing.TB, keyPrefix string) []string
	// Read returns the object at key.
	Read func(t testing.TB, key string) []byte
	// Put stores an object at key.
	Put func(t testing.TB, key string, content []byte)
	// Op names the provider operation of a request (see cloudtest.Ops);
	// BulkDelete and Download are the names it gives the bulk-delete
	// request and the object download.
	Op                   func(req *http.Request) string
	BulkDelete, Download string
	// Busy is the provider's answer to an overloaded request (S3: 503
	// SlowDown), injected into a fifth of the requests.
	Busy FaultReply
	// Exhausted are answers that, repeated past the retries, must come
	// back as a *driver.TooManyRequestsError (Throttle set) or as another
	// error, after 1 + MaxRetries requests.
	Exhausted []FaultReply
	// ChunkSize is the writer part size of the round trip: the smallest
	// the provider takes, so that a few MiB make several parts.
	ChunkSize int64
	// ItemFailures, when set, wraps base in a transport that answers every
	// bulk delete with every item failed transiently, so that
	// DeleteFiles retries per item.
	ItemFailures func(base http.RoundTripper) http.RoundTripper
	// ResumesDownloads is set when a download whose body is cut resumes
	// from where it broke, in new requests the suite can count.
	ResumesDownloads bool
	// StatRetries is set when Stat of a file sends one request a try, so
	// that RetriesExhausted checks it as it checks PutContent.
	StatRetries bool
	// BatchRetries is set when a bulk delete answered 503 as a whole is
	// retried after a backoff: CancelDuringBackoff then checks DeleteFiles
	// in it too (WholeBatchRetry).
	BatchRetries bool
	// RoundTripMore, when set, runs in the round trip once the writer's
	// file /rt/big (several parts) is committed, before Move, on the
	// round trip's driver d over root: what only this backend does, under
	// the same faults. It may change the content of /rt/f0 to /rt/f3 and
	// /rt/big, and must leave no other object behind.
	RoundTripMore func(t *testing.T, d driver.StorageDriver, root string)
}

// FaultReply is an injected answer: status, headers and body.
type FaultReply struct {
	Name   string
	Status int
	Header http.Header
	Body   func(req *http.Request) []byte
	// Throttle is set when the provider means "slow down" by it.
	Throttle bool
}

// FaultOptions is how RunFaults wants a driver set up (see
// cloudtest.Options): zero fields mean the harness's settings.
type FaultOptions = cloudtest.Options

// RunFaults runs the fault-injection tests every HTTP backend passes:
// DeleteFiles and a round trip through every method under a fifth of the
// requests failing (Busy answers, or connections dropped before, after or
// in the middle of an answer) lose nothing and cost exactly one request per
// fault; answers repeated past the retries give the right typed error after
// 1 + MaxRetries requests; cancelling a call in a long backoff ends it at
// once; a cut download resumes. The faults hit real requests to a real
// server; Stored and Read check the result with a client of the harness's
// own.
func RunFaults(t *testing.T, h FaultHarness) {
	if h.Root == nil {
		h.Root = h.Backend.Root
	}
	if h.Op == nil {
		h.Op = h.Backend.Op
	}
	if h.Read == nil {
		h.Read = h.Backend.Get
	}
	if h.Put == nil {
		h.Put = h.Backend.Put
	}
	if h.New == nil {
		h.New = h.Backend.New
	}
	t.Run("DeleteFiles", func(t *testing.T) {
		for _, fc := range faultCases(h) {
			t.Run(fc.name, func(t *testing.T) { faultsDeleteFiles(t, h, fc.faults()) })
		}
	})
	t.Run("RoundTrip", func(t *testing.T) {
		for _, fc := range faultCases(h) {
			t.Run(fc.name, func(t *testing.T) { faultsRoundTrip(t, h, fc.faults()) })
		}
	})
	t.Run("RetriesExhausted", func(t *testing.T) {
		for _, r := range h.Exhausted {
			t.Run(r.Name, func(t *testing.T) { faultsExhausted(t, h, r) })
		}
	})
	t.Run("CancelDuringBackoff", func(t *testing.T) { faultsCancel(t, h) })
	if h.ResumesDownloads {
		t.Run("ReaderResumesCutBody", func(t *testing.T) { faultsCutBody(t, h) })
	}
}

type faultCase struct {
	name   string
	faults func() *transport.Faults
}

func faultCases(h FaultHarness) []faultCase {
	return []faultCase{
		{h.Busy.Name, func() *transport.Faults {
			return &transport.Faults{Seed: 1, Rate: 0.2, Status: h.Busy.Status, Header: h.Busy.Header, Body: h.Busy.Body}
		}},
		{"DroppedConnections", func() *transport.Faults {
			return &transport.Faults{Seed: 2, Rate: 0.2, Kinds: []transport.FaultKind{
				transport.FaultReset, transport.FaultResetAfter, transport.FaultCutBody}}
		}},
	}
}

// faultyDriver returns a driver over root whose requests pass a counter, a
// classifier and then rt, with faults armed (see arm) only once New has
// returned, and the counts reset then.
func faultyDriver(t testing.TB, h FaultHarness, root string, rt http.RoundTripper, o FaultOptions) (driver.StorageDriver, *transport.Counter, *cloudtest.Ops) {
	t.Helper()
	if o.MaxRetries == 0 {
		o.MaxRetries = 10 // a 20% fault rate must not exhaust them
	}
	armed := &atomic.Bool{}
	hc, c, ops := cloudtest.CountingClient(&armedTransport{on: armed, faulty: rt}, h.Op)
	d := h.New(t, root, hc, o)
	ops.Take()
	c.Reset()
	armed.Store(true)
	return d, c, ops
}

// armedTransport sends requests through faulty once on is set, and
// straight to the server before.
type armedTransport struct {
	on     *atomic.Bool
	faulty http.RoundTripper
}

func (a *armedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if a.on.Load() {
		return a.faulty.RoundTrip(req)
	}
	return http.DefaultTransport.RoundTrip(req)
}

func faultsDeleteFiles(t *testing.T, h FaultHarness, faults *transport.Faults) {
	root := h.Root(t)
	clean := h.New(t, root, &http.Client{}, FaultOptions{})
	paths := cloudtest.Numbered("/d", 1500)
	cloudtest.PutAll(t, clean, append(slices.Clone(paths), "/keep"))

	// Batches of 100: enough requests for the faults to hit some.
	d, _, ops := faultyDriver(t, h, root, faults, FaultOptions{DeleteBatchSize: 100})
	n, err := d.DeleteFiles(context.Background(), paths)
	if err != nil || n != len(paths) {
		t.Fatalf("DeleteFiles under faults = %d, %v; want %d, nil", n, err, len(paths))
	}
	injected := faults.Total()
	if injected == 0 {
		t.Fatalf("no fault injected in %d requests: the test proves nothing", faults.Seen())
	}
	// Every fault costs exactly one more request.
	cloudtest.WantOps(t, "DeleteFiles of 1,500 paths in batches of 100", ops.Take(), map[string]int{h.BulkDelete: 15 + injected})
	t.Logf("%d %s requests for 15 batches, faults %v", 15+injected, h.BulkDelete, faults.Injected())
	if got, want := h.Stored(t, root+"/"), []string{root + "/keep"}; !slices.Equal(got, want) {
		t.Errorf("the server holds %d keys after DeleteFiles under faults, want %v", len(got), want)
	}
}

func faultsRoundTrip(t *testing.T, h FaultHarness, faults *transport.Faults) {
	root := h.Root(t)
	o := FaultOptions{ChunkSize: h.ChunkSize}
	d, c, _ := faultyDriver(t, h, root, faults, o)
	ctx := context.Background()

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

	// A writer over two sessions and two driver instances: several parts
	// in each session, and a session ending mid-part.
	first := int(h.ChunkSize*7/5) + 7
	big := cloudtest.PatternBytes(int(h.ChunkSize*11/5) + 12345)
	w, err := d.Writer(ctx, "/rt/big", false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(big[:first]); err != nil {
		t.Fatalf("Write: %v", err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	d2, _, _ := faultyDriver(t, h, root, faults, o)
	w, err = d2.Writer(ctx, "/rt/big", true)
	if err != nil {
		t.Fatalf("resume: %v", err)
	}
	if w.Size() != int64(first) {
		t.Fatalf("resumed Size() = %d, want %d", w.Size(), first)
	}
	if _, err := w.Write(big[first:]); err != nil {
		t.Fatalf("Write: %v", err)
	}
	if err := w.Commit(ctx); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	if got := h.Read(t, root+"/rt/big"); !bytes.Equal(got, big) {
		t.Fatalf("the server has %d bytes at /rt/big, want the %d written", len(got), len(big))
	}
	if h.RoundTripMore != nil {
		h.RoundTripMore(t, d, root)
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
	if got, want := h.Stored(t, root+"/"), []string{root + "/moved/f4"}; !slices.Equal(got, want) {
		t.Errorf("the server holds %v, want %v", got, want)
	}
	if got := h.Read(t, root+"/moved/f4"); !bytes.Equal(got, contents["/rt/f4"]) {
		t.Errorf("the moved file has %d bytes, want %d", len(got), len(contents["/rt/f4"]))
	}
	if faults.Total() == 0 {
		t.Fatal("no fault injected: the test proves nothing")
	}
	t.Logf("%d requests, faults %v", c.Total(), faults.Injected())
}

func faultsExhausted(t *testing.T, h FaultHarness, r FaultReply) {
	root := h.Root(t)
	faults := &transport.Faults{Rate: 1, Status: r.Status, Header: r.Header, Body: r.Body}
	d, c, _ := faultyDriver(t, h, root, faults, FaultOptions{MaxRetries: 2})
	ctx := context.Background()
	check := func(what string, err error, requests int) {
		t.Helper()
		var tmr *driver.TooManyRequestsError
		switch {
		case err == nil:
			t.Errorf("%s: no error", what)
		case errors.As(err, &tmr) != r.Throttle:
			t.Errorf("%s: error %v; TooManyRequestsError: %v, want %v", what, err, !r.Throttle, r.Throttle)
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
	if h.StatRetries {
		before = c.Total()
		_, err = d.Stat(ctx, "/f")
		check("Stat", err, c.Total()-before)
	}

	before = c.Total()
	n, err := d.DeleteFiles(ctx, []string{"/a", "/b", "/c"})
	check("DeleteFiles", err, c.Total()-before)
	var dfe *driver.DeleteFilesError
	if n != 0 || !errors.As(err, &dfe) || len(dfe.Failures) != 3 {
		t.Fatalf("DeleteFiles = %d, %v; want 0 and 3 failures", n, err)
	}
	for _, f := range dfe.Failures {
		var tmr *driver.TooManyRequestsError
		if errors.As(f.Err, &tmr) != r.Throttle {
			t.Errorf("failure of %s: %v", f.Path, f.Err)
		}
	}
}

// faultsCancel: cancelling the context ends a call at once, in the middle
// of an hour-long backoff, having sent just the one request.
func faultsCancel(t *testing.T, h FaultHarness) {
	type cancelCase struct {
		name string
		rt   http.RoundTripper
		call func(ctx context.Context, d driver.StorageDriver) error
	}
	deleteFiles := func(ctx context.Context, d driver.StorageDriver) error {
		_, err := d.DeleteFiles(ctx, []string{"/a", "/b"})
		return err
	}
	cases := []cancelCase{
		{"RequestRetry", &transport.Faults{Rate: 1, Status: http.StatusServiceUnavailable}, func(ctx context.Context, d driver.StorageDriver) error {
			return d.PutContent(ctx, "/f", []byte("x"))
		}},
	}
	if h.BatchRetries {
		cases = append(cases, cancelCase{"WholeBatchRetry", &transport.Faults{Rate: 1, Status: http.StatusServiceUnavailable}, deleteFiles})
	}
	if h.ItemFailures != nil {
		cases = append(cases, cancelCase{"PerItemRetry", h.ItemFailures(http.DefaultTransport), deleteFiles})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			root := h.Root(t)
			nt := cloudtest.NewNotify(tc.rt)
			d, c, _ := faultyDriver(t, h, root, nt, FaultOptions{RetryBaseDelay: time.Hour, RetryMaxBackoff: time.Hour})
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- tc.call(ctx, d) }()
			<-nt.First
			cancel()
			if err := <-done; !errors.Is(err, context.Canceled) {
				t.Errorf("error %v, want one matching context.Canceled", err)
			}
			if n := c.Total(); n != 1 {
				t.Errorf("%d requests sent, want 1", n)
			}
		})
	}
}

// faultsCutBody: a download whose connection drops mid-body resumes from
// where it broke; when the drops outlast the retries the reader fails,
// never ends short.
func faultsCutBody(t *testing.T, h FaultHarness) {
	root := h.Root(t)
	content := cloudtest.PatternBytes(3 << 20)
	h.Put(t, root+"/f", content)
	isDownload := func(req *http.Request) bool { return h.Op(req) == h.Download }

	faults := &transport.Faults{Rate: 1, Max: 3, Kinds: []transport.FaultKind{transport.FaultCutBody}, Match: isDownload}
	d, _, ops := faultyDriver(t, h, root, faults, FaultOptions{})
	got, err := d.GetContent(context.Background(), "/f")
	if err != nil || !bytes.Equal(got, content) {
		t.Fatalf("GetContent with 3 cut bodies = %d bytes, %v; want all %d", len(got), err, len(content))
	}
	cloudtest.WantOps(t, "GetContent with 3 cut bodies", ops.Take(), map[string]int{h.Download: 4})

	faults = &transport.Faults{Rate: 1, Kinds: []transport.FaultKind{transport.FaultCutBody}, Match: isDownload}
	d, _, _ = faultyDriver(t, h, root, faults, FaultOptions{MaxRetries: 2})
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
