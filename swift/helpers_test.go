package swift_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	ncw "github.com/ncw/swift/v2"

	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/internal/testenv"
	"github.com/stowage-dev/stowage/transport"
)

// ---- request classification -------------------------------------------------

// ops counts requests by Swift operation and passes them to Base.
type ops struct {
	Base http.RoundTripper

	mu     sync.Mutex
	counts map[string]int
}

// opName names the Swift operation of req: Auth, Info, BulkDelete, List,
// CreateContainer, Get, GetManifest (of an SLO's manifest, not its
// content), Head, Put, PutManifest, Copy, Delete, DeleteManifest.
func opName(req *http.Request) string {
	q := req.URL.Query()
	p := strings.Trim(req.URL.Path, "/")
	switch {
	case strings.HasSuffix(p, "auth/v1.0") || strings.Contains(p, "/auth/tokens") || strings.HasSuffix(p, "/tokens"):
		return "Auth"
	case p == "info":
		return "Info"
	case q.Has("bulk-delete"):
		return "BulkDelete"
	}
	// v1/AUTH_x/container[/object]
	parts := strings.SplitN(p, "/", 4)
	object := len(parts) == 4
	switch req.Method {
	case http.MethodGet:
		switch {
		case !object:
			return "List"
		case q.Get("multipart-manifest") == "get":
			return "GetManifest"
		}
		return "Get"
	case http.MethodHead:
		return "Head"
	case http.MethodPut:
		switch {
		case !object:
			return "CreateContainer"
		case q.Get("multipart-manifest") == "put":
			return "PutManifest"
		}
		return "Put"
	case "COPY":
		return "Copy"
	case http.MethodDelete:
		if q.Get("multipart-manifest") == "delete" {
			return "DeleteManifest"
		}
		return "Delete"
	}
	return req.Method + " " + req.URL.RawQuery
}

// RoundTrip counts req and passes it on.
func (o *ops) RoundTrip(req *http.Request) (*http.Response, error) {
	o.mu.Lock()
	if o.counts == nil {
		o.counts = map[string]int{}
	}
	o.counts[opName(req)]++
	o.mu.Unlock()
	base := o.Base
	if base == nil {
		base = http.DefaultTransport
	}
	return base.RoundTrip(req)
}

// Take returns the counts so far and resets them.
func (o *ops) Take() map[string]int {
	o.mu.Lock()
	defer o.mu.Unlock()
	c := o.counts
	o.counts = nil
	if c == nil {
		c = map[string]int{}
	}
	return c
}

// countingClient returns a client whose requests go through a
// transport.Counter and then an ops classifier to base.
func countingClient(base http.RoundTripper) (*http.Client, *transport.Counter, *ops) {
	o := &ops{Base: base}
	c := &transport.Counter{Base: o}
	return &http.Client{Transport: c}, c, o
}

// wantOps fails t unless got holds exactly want.
func wantOps(t testing.TB, what string, got, want map[string]int) {
	t.Helper()
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %d %s requests, want %d (all: %v)", what, got[k], k, v, got)
		}
	}
	for k, v := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("%s: %d unexpected %s requests (all: %v)", what, v, k, got)
		}
	}
}

// ---- an independent client ----------------------------------------------------

// independent is a plain ncw/swift connection on the test server, with its
// own transport, to check what the driver did without its code.
type independent struct {
	t         testing.TB
	c         *ncw.Connection
	container string
	segments  string
}

func newIndependent(t testing.TB) *independent {
	t.Helper()
	env := testenv.Swift(t)
	c := &ncw.Connection{UserName: env.User, ApiKey: env.Key, AuthUrl: env.AuthURL}
	if err := c.Authenticate(context.Background()); err != nil {
		t.Fatalf("ncw/swift Authenticate: %v", err)
	}
	return &independent{t: t, c: c, container: env.Container, segments: env.Container + "_segments"}
}

// names lists every object of container under prefix, sorted.
func (m *independent) names(container, prefix string) []string {
	m.t.Helper()
	out, err := m.c.ObjectNamesAll(context.Background(), container, &ncw.ObjectsOpts{Prefix: prefix})
	if err != nil {
		m.t.Fatalf("ncw/swift ObjectNamesAll(%s, %s): %v", container, prefix, err)
	}
	sort.Strings(out)
	return out
}

// keys lists the main container under prefix.
func (m *independent) keys(prefix string) []string { return m.names(m.container, prefix) }

// get returns the content of an object of the main container.
func (m *independent) get(name string) []byte {
	m.t.Helper()
	b, err := m.c.ObjectGetBytes(context.Background(), m.container, name)
	if err != nil {
		m.t.Fatalf("ncw/swift ObjectGetBytes(%s): %v", name, err)
	}
	return b
}

// put stores content as an object of the main container.
func (m *independent) put(name string, content []byte) {
	m.t.Helper()
	if err := m.c.ObjectPutBytes(context.Background(), m.container, name, content, "application/octet-stream"); err != nil {
		m.t.Fatalf("ncw/swift ObjectPutBytes(%s): %v", name, err)
	}
}

// clean removes every object under prefix of both containers.
func (m *independent) clean(prefix string) {
	ctx := context.Background()
	for _, container := range []string{m.container, m.segments} {
		names, err := m.c.ObjectNamesAll(ctx, container, &ncw.ObjectsOpts{Prefix: prefix})
		if err != nil {
			continue
		}
		for len(names) > 0 {
			n := min(len(names), 1000)
			if _, err := m.c.BulkDelete(ctx, container, names[:n]); err != nil {
				m.t.Errorf("cleanup: ncw/swift BulkDelete: %v", err)
			}
			names = names[n:]
		}
	}
}

// ---- fixtures -----------------------------------------------------------------

// freshRoot returns a unique prefix and removes everything under it (in
// both containers) when the test ends.
func freshRoot(t testing.TB) string {
	t.Helper()
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	root := "swifttest-" + hex.EncodeToString(b[:])
	m := newIndependent(t)
	t.Cleanup(func() { m.clean(root + "/") })
	return root
}

// putAll stores every path with its own path as content, 16 at a time.
func putAll(t testing.TB, d driver.StorageDriver, paths []string) {
	t.Helper()
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
		next  = make(chan string)
	)
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range next {
				if err := d.PutContent(context.Background(), p, []byte(p)); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	for _, p := range paths {
		next <- p
	}
	close(next)
	wg.Wait()
	if first != nil {
		t.Fatalf("PutContent: %v", first)
	}
}

// numbered returns n paths dir/fNNNNN.
func numbered(dir string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s/f%05d", dir, i)
	}
	return out
}

// keysOf maps paths to names under root, sorted.
func keysOf(root string, paths []string) []string {
	out := make([]string, len(paths))
	for i, p := range paths {
		out[i] = root + p
	}
	slices.Sort(out)
	return out
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
