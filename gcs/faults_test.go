package gcs_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"testing"

	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/gcs"
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

// A share of the batch requests answered 503 or dropped (before or after
// the server saw them, or in the middle of the response): DeleteFiles still
// deletes everything, and every fault costs exactly one more request.
func TestFaultsDeleteFiles(t *testing.T) {
	for _, tc := range faultCases() {
		t.Run(tc.name, func(t *testing.T) {
			root := freshRoot(t)
			clean := newDriver(t, testConfig(t, root, nil))
			paths := numbered("/d", 1500)
			putAll(t, clean, append(slices.Clone(paths), "/keep"))

			faults := tc.faults()
			d, _, o := faultyDriver(t, root, faults, nil)
			n, err := d.DeleteFiles(context.Background(), paths)
			if err != nil || n != len(paths) {
				t.Fatalf("DeleteFiles under faults = %d, %v; want %d, nil", n, err, len(paths))
			}
			injected := faults.Total()
			if injected == 0 {
				t.Fatalf("no fault injected in %d requests: the test proves nothing", faults.Seen())
			}
			wantOps(t, "DeleteFiles of 1,500 paths", o.Take(), map[string]int{"Batch": 15 + injected})
			t.Logf("%s: %d batch requests for 15 batches, faults %v", tc.name, 15+injected, faults.Injected())

			if got, want := newIndependent(t).names(root+"/"), []string{root + "/keep"}; !slices.Equal(got, want) {
				t.Errorf("the SDK lists %d objects after DeleteFiles under faults, want %v", len(got), want)
			}
		})
	}
}

// Every method, under the same faults, round-trips content without loss.
func TestFaultsRoundTrip(t *testing.T) {
	for _, tc := range faultCases() {
		t.Run(tc.name, func(t *testing.T) {
			root := freshRoot(t)
			faults := tc.faults()
			small := func(c *configT) { c.ChunkSize = gcs.MinChunkSize }
			d, c, _ := faultyDriver(t, root, faults, small)
			ctx := context.Background()
			m := newIndependent(t)

			contents := map[string][]byte{}
			for i, size := range []int{0, 1, 1000, 100_000, 700_000} {
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

			// A writer over two sessions and two driver instances, with
			// parts and a compose.
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
				t.Fatalf("the SDK reads %d bytes of /rt/big, want the %d written", len(got), len(big))
			}
			rc, err := d.Reader(ctx, "/rt/big", 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			var tail bytes.Buffer
			if _, err := tail.ReadFrom(rc); err != nil || !bytes.Equal(tail.Bytes(), big[1<<20:]) {
				t.Fatalf("Reader at 1 MiB: %d bytes, %v", tail.Len(), err)
			}
			rc.Close()

			// Continuing a committed file: a rewrite into the first part,
			// then a compose.
			w, err = d2.Writer(ctx, "/rt/f3", true)
			if err != nil {
				t.Fatalf("Writer(append) on a committed file: %v", err)
			}
			if w.Size() != int64(len(contents["/rt/f3"])) {
				t.Fatalf("continued Size() = %d, want %d", w.Size(), len(contents["/rt/f3"]))
			}
			if _, err := w.Write([]byte("tail")); err != nil {
				t.Fatalf("Write: %v", err)
			}
			if err := w.Commit(ctx); err != nil {
				t.Fatalf("Commit of the continuation: %v", err)
			}
			if got, want := m.get(root+"/rt/f3"), append(contents["/rt/f3"], "tail"...); !bytes.Equal(got, want) {
				t.Fatalf("the SDK reads %d bytes of /rt/f3, want %d", len(got), len(want))
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
				t.Errorf("the SDK lists %v, want %v (no hidden part left)", got, want)
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
		{"Status429", &transport.Faults{Rate: 1, Status: 429}, true},
		{"Status503", &transport.Faults{Rate: 1, Status: 503}, false},
		{"Status500", &transport.Faults{Rate: 1, Status: 500}, false},
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
			_, err = d.Stat(ctx, "/f")
			check("Stat", err, c.Total()-before)

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

// Cancelling the context ends a call at once, even in the middle of a long
// backoff, and sends no further request.
func TestFaultsCancelDuringBackoff(t *testing.T) {
	root := freshRoot(t)
	first := make(chan struct{})
	n := &notify{first: first, inner: &transport.Faults{Rate: 1, Status: 503}}
	d, c, _ := faultyDriver(t, root, n, func(c *configT) {
		c.RetryBaseDelay = 10 * 60e9 // ten minutes
		c.RetryMaxBackoff = 10 * 60e9
	})
	for _, op := range []struct {
		name string
		call func(ctx context.Context) error
	}{
		{"DeleteFiles", func(ctx context.Context) error { _, err := d.DeleteFiles(ctx, []string{"/a"}); return err }},
		{"PutContent", func(ctx context.Context) error { return d.PutContent(ctx, "/a", []byte("x")) }},
	} {
		n.reset()
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- op.call(ctx) }()
		<-n.first
		before := c.Total()
		cancel()
		err := <-done
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s cancelled during backoff: %v, want context.Canceled", op.name, err)
		}
		if sent := c.Total() - before; sent != 0 {
			t.Errorf("%s sent %d requests after cancellation", op.name, sent)
		}
	}
}
