package conformance

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/transport"
)

// Run runs the whole contract of driver.StorageDriver against the backend h
// describes, as subtests of t grouped by concern (Paths, Content, Streams,
// Writer, List, Walk, Move, Delete, DeleteFiles, Concurrency, URLFor,
// Cancel).
//
// Every leaf test gets a fresh Env with a unique Root and a request-counting
// HTTP client, and a driver from h.New. Leaf tests run in parallel (bounded
// by go test's -parallel flag; the few heavy ones, which move 64 MiB or
// thousands of files, run one at a time). After each leaf test the suite
// deletes whatever is left under "/" and fails the test when List("/") or
// Walk("/") still shows anything afterwards.
func Run(t *testing.T, h Harness) {
	t.Helper()
	if h.New == nil {
		t.Fatal("conformance: Harness.New is nil")
	}
	s := &suite{h: h}
	// Probe once on t itself, so that a backend whose server is not
	// configured skips the whole run with one message instead of once per
	// test.
	probe := s.setup(t)
	if s.h.Caps == (Capabilities{}) {
		s.h.Caps = driver.CapabilitiesOf(probe.d)
	}
	if s.h.Caps.HTTP && s.h.Caps.DeleteBatchSize <= 0 {
		t.Fatal("conformance: Capabilities.HTTP is set but DeleteBatchSize is not")
	}

	for _, g := range []struct {
		name string
		fn   func(*testing.T)
	}{
		{"Paths", s.testPaths}, {"Content", s.testContent}, {"Streams", s.testStreams},
		{"Writer", s.testWriter}, {"List", s.testList}, {"Walk", s.testWalk},
		{"Move", s.testMove}, {"Delete", s.testDelete}, {"DeleteFiles", s.testDeleteFiles},
		{"Concurrency", s.testConcurrency}, {"URLFor", s.testURLFor}, {"Cancel", s.testCancel},
		{"Uploads", s.testUploads},
	} {
		if h.Groups == nil || slices.Contains(h.Groups, g.name) {
			t.Run(g.name, g.fn)
		}
	}
}

// suite carries the harness through the tests.
type suite struct {
	h Harness
}

// fixture is what one leaf test works with: its Env, a driver over it and
// a context that ends with the test.
type fixture struct {
	s   *suite
	t   *testing.T
	env Env
	d   driver.StorageDriver
	ctx context.Context
}

// heavy lets one heavy test (64 MiB streams, thousands of files) run at a
// time, whatever -parallel says, to bound memory and load.
var heavy = make(chan struct{}, 1)

// leaf runs fn as a parallel subtest named name with a fresh fixture.
func (s *suite) leaf(t *testing.T, name string, fn func(f *fixture)) {
	t.Helper()
	t.Run(name, func(t *testing.T) {
		t.Parallel()
		fn(s.setup(t))
	})
}

// heavyLeaf is leaf for a test that must not run alongside another heavy
// one. The slot is held until the test's cleanup has finished.
func (s *suite) heavyLeaf(t *testing.T, name string, fn func(f *fixture)) {
	t.Helper()
	t.Run(name, func(t *testing.T) {
		t.Parallel()
		heavy <- struct{}{}
		t.Cleanup(func() { <-heavy }) // registered first, so it runs last
		fn(s.setup(t))
	})
}

// newEnv returns an Env with a fresh, unique Root and a counting client.
func newEnv(t testing.TB) Env {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatalf("conformance: random root: %v", err)
	}
	c := &transport.Counter{Base: &hookTransport{}}
	return Env{
		Root:       "t-" + hex.EncodeToString(b[:]),
		HTTPClient: &http.Client{Transport: c},
		Requests:   c,
	}
}

// setup builds the fixture of one test and registers the emptiness check
// that runs after it.
func (s *suite) setup(t *testing.T) *fixture {
	t.Helper()
	env := newEnv(t)
	d := s.h.New(t, env)
	if d == nil {
		t.Fatalf("conformance: %s: Harness.New returned nil", s.h.Name)
	}
	t.Cleanup(func() { cleanRoot(t, d) })
	return &fixture{s: s, t: t, env: env, d: d, ctx: t.Context()}
}

// hookTransport sends requests through the RoundTripper a test sets with
// set, or http.DefaultTransport. It is the Base of every Env's Requests counter, so
// that a test can step into a backend's requests while they run (see
// DeleteFiles/CancelledMidway) without racing with them.
type hookTransport struct {
	hook atomic.Pointer[http.RoundTripper]
}

func (h *hookTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if rt := h.hook.Load(); rt != nil {
		return (*rt).RoundTrip(req)
	}
	return http.DefaultTransport.RoundTrip(req)
}

// set makes rt handle the requests from now on; nil restores
// http.DefaultTransport.
func (h *hookTransport) set(rt http.RoundTripper) {
	if rt == nil {
		h.hook.Store(nil)
		return
	}
	h.hook.Store(&rt)
}

// hook returns the fixture's hookTransport, or nil when the Env was not
// built by newEnv.
func (f *fixture) hook() *hookTransport {
	h, _ := f.env.Requests.Base.(*hookTransport)
	return h
}

// cleanupTimeout bounds the deletion of what a test left behind.
const cleanupTimeout = 5 * time.Minute

// cleanRoot deletes every entry under "/" and then checks, with List and
// with Walk, that nothing is left.
func cleanRoot(t *testing.T, d driver.StorageDriver) {
	t.Helper()
	// t.Context is already cancelled when cleanups run.
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()

	top, err := d.List(ctx, "/")
	if err != nil && !driver.IsNotFound(err) {
		t.Errorf("cleanup: List(/): %v", err)
		return
	}
	for _, p := range top {
		if err := d.Delete(ctx, p); err != nil && !driver.IsNotFound(err) {
			t.Errorf("cleanup: Delete(%s): %v", p, err)
		}
	}

	left, err := d.List(ctx, "/")
	switch {
	case err != nil && !driver.IsNotFound(err):
		t.Errorf("cleanup: List(/) after deleting everything: %v", err)
	case len(left) > 0:
		t.Errorf("cleanup: root not empty after deleting %v: List(/) = %v", top, left)
	}
	var walked []string
	err = d.Walk(ctx, "/", func(fi driver.FileInfo) error {
		walked = append(walked, fi.Path())
		return nil
	})
	switch {
	case err != nil && !driver.IsNotFound(err):
		t.Errorf("cleanup: Walk(/) after deleting everything: %v", err)
	case len(walked) > 0:
		t.Errorf("cleanup: root not empty after deleting %v: Walk(/) visits %v", top, walked)
	}
}
