package gcs_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"cloud.google.com/go/storage"
	"google.golang.org/api/iterator"
	"google.golang.org/api/option"

	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/internal/cloudtest"
	"github.com/stowage-dev/stowage/internal/testenv"
)

// ---- request classification -------------------------------------------------

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
	return cloudtest.FreshRoot(t, "gcstest", newIndependent(t).clean)
}

// backend plugs the driver into the cloud backends' shared tests.
func backend() cloudtest.Backend {
	return cloudtest.Backend{
		Name: "the SDK",
		Root: freshRoot,
		New: func(t testing.TB, root string, hc *http.Client, o cloudtest.Options) driver.StorageDriver {
			cfg := testConfig(t, root, hc)
			o.Apply(&cfg.CommonConfig, &cfg.ChunkSize)
			return newDriver(t, cfg)
		},
		Op:   opName,
		Keys: func(t testing.TB, prefix string) []string { return newIndependent(t).names(prefix) },
		Get:  func(t testing.TB, key string) []byte { return newIndependent(t).get(key) },
		Put:  func(t testing.TB, key string, content []byte) { newIndependent(t).put(key, content) },
	}
}
