package gcs_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"cloud.google.com/go/storage"
	"google.golang.org/api/iterator"
	"google.golang.org/api/option"

	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/internal/testenv"
	"github.com/stowage-dev/stowage/transport"
)

// ---- request classification -------------------------------------------------

// ops counts requests by GCS operation, told apart by method, path and
// query, and passes them to Base.
type ops struct {
	Base http.RoundTripper

	mu     sync.Mutex
	counts map[string]int
}

// opName names the GCS operation of req.
func opName(req *http.Request) string {
	p := req.URL.EscapedPath() // object names stay one segment (%2F)
	q := req.URL.Query()
	switch {
	case strings.HasPrefix(p, "/batch/"):
		return "Batch"
	case strings.HasPrefix(p, "/upload/"):
		switch {
		case q.Get("uploadType") == "multipart":
			return "Upload"
		case q.Has("upload_id"):
			return "ResumableChunk"
		default:
			return "ResumableStart"
		}
	case strings.HasPrefix(p, "/storage/v1/b/"):
		rest := strings.TrimPrefix(p, "/storage/v1/b/")
		parts := strings.Split(rest, "/")
		switch {
		case len(parts) == 2 && parts[1] == "o" && req.Method == http.MethodGet:
			return "List"
		case len(parts) >= 4 && parts[3] == "compose":
			return "Compose"
		case len(parts) >= 4 && parts[3] == "rewriteTo":
			return "Rewrite"
		case len(parts) == 3 && req.Method == http.MethodGet:
			return "Attrs"
		case len(parts) == 3 && req.Method == http.MethodDelete:
			return "Delete"
		}
	case req.Method == http.MethodGet || req.Method == http.MethodHead:
		return "Read" // XML API: /BUCKET/OBJECT
	}
	return req.Method + " " + p
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

// independent is a plain cloud.google.com/go/storage client on the test
// server, to check what the driver did with a client that shares none of
// its code (no batch client, no path mapping, its own HTTP client).
type independent struct {
	t      testing.TB
	b      *storage.BucketHandle
	bucket string
}

func newIndependent(t testing.TB) *independent {
	t.Helper()
	env := testenv.GCS(t)
	c, err := storage.NewClient(context.Background(), option.WithEndpoint(env.Endpoint), option.WithoutAuthentication())
	if err != nil {
		t.Fatalf("storage.NewClient: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return &independent{t: t, b: c.Bucket(env.Bucket), bucket: env.Bucket}
}

// names lists every object name under prefix, sorted.
func (m *independent) names(prefix string) []string {
	m.t.Helper()
	var out []string
	it := m.b.Objects(context.Background(), &storage.Query{Prefix: prefix})
	for {
		a, err := it.Next()
		if errors.Is(err, iterator.Done) {
			break
		}
		if err != nil {
			m.t.Fatalf("storage list %s: %v", prefix, err)
		}
		out = append(out, a.Name)
	}
	slices.Sort(out)
	return out
}

// get returns the content of the object name.
func (m *independent) get(name string) []byte {
	m.t.Helper()
	r, err := m.b.Object(name).NewReader(context.Background())
	if err != nil {
		m.t.Fatalf("storage read %s: %v", name, err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		m.t.Fatalf("storage read %s: %v", name, err)
	}
	return b
}

// put stores content as the object name.
func (m *independent) put(name string, content []byte) {
	m.t.Helper()
	w := m.b.Object(name).NewWriter(context.Background())
	if _, err := w.Write(content); err != nil {
		m.t.Fatalf("storage write %s: %v", name, err)
	}
	if err := w.Close(); err != nil {
		m.t.Fatalf("storage write %s: %v", name, err)
	}
}

// clean removes every object under prefix.
func (m *independent) clean(prefix string) {
	ctx := context.Background()
	for _, n := range m.names(prefix) {
		if err := m.b.Object(n).Delete(ctx); err != nil && !errors.Is(err, storage.ErrObjectNotExist) {
			m.t.Errorf("cleanup: delete %s: %v", n, err)
		}
	}
}

// ---- fixtures -----------------------------------------------------------------

// freshRoot returns a unique root directory and removes everything under
// it, hidden objects included, when the test ends.
func freshRoot(t testing.TB) string {
	t.Helper()
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	root := "gcstest-" + hex.EncodeToString(b[:])
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

// namesOf maps paths to object names under root, sorted.
func namesOf(root string, paths []string) []string {
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
