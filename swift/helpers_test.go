package swift_test

import (
	"context"
	"errors"
	"net/http"
	"sort"
	"strings"
	"testing"

	ncw "github.com/ncw/swift/v2"

	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/internal/cloudtest"
	"github.com/stowage-dev/stowage/internal/testenv"
)

// ---- request classification -------------------------------------------------

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

// stored lists everything under prefix: the main container's objects and,
// named "segments: <name>", the segments container's (none when it does
// not exist yet).
func (m *independent) stored(prefix string) []string {
	m.t.Helper()
	out := m.keys(prefix)
	segs, err := m.c.ObjectNamesAll(context.Background(), m.segments, &ncw.ObjectsOpts{Prefix: prefix})
	if err != nil && !errors.Is(err, ncw.ContainerNotFound) {
		m.t.Fatalf("ncw/swift ObjectNamesAll(%s, %s): %v", m.segments, prefix, err)
	}
	for _, s := range segs {
		out = append(out, "segments: "+s)
	}
	sort.Strings(out)
	return out
}

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

// freshRoot returns a unique root directory and removes everything under
// it (in both containers) when the test ends.
func freshRoot(t testing.TB) string {
	t.Helper()
	return cloudtest.FreshRoot(t, "swifttest", newIndependent(t).clean)
}

// backend plugs the driver into the cloud backends' shared tests; Keys
// lists the main container only.
func backend() cloudtest.Backend {
	return backendWith(nil)
}

// backendWith is backend() with drivers whose Config tweak changes.
func backendWith(tweak func(*configT)) cloudtest.Backend {
	return cloudtest.Backend{
		Name: "ncw/swift",
		Root: freshRoot,
		New: func(t testing.TB, root string, hc *http.Client, o cloudtest.Options) driver.StorageDriver {
			cfg := testConfig(t, root, hc)
			o.Apply(&cfg.CommonConfig, &cfg.ChunkSize)
			if tweak != nil {
				tweak(&cfg)
			}
			return newDriver(t, cfg)
		},
		Op:   opName,
		Keys: func(t testing.TB, prefix string) []string { return newIndependent(t).keys(prefix) },
		Get:  func(t testing.TB, key string) []byte { return newIndependent(t).get(key) },
		Put:  func(t testing.TB, key string, content []byte) { newIndependent(t).put(key, content) },
	}
}
