package distribution

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/distribution/distribution/v3/configuration"
	"github.com/distribution/distribution/v3/registry/handlers"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// markHeader names a request whose end the registry wrapper reports on
// testRegistry.done, so that a test can wait for the registry to finish
// with a request whose client gave up on it.
const markHeader = "X-E2e-Mark"

// testRegistry is distribution's registry, in process, on a stowage
// driver, served over loopback HTTP.
type testRegistry struct {
	srv    *httptest.Server
	host   string // 127.0.0.1:PORT
	client *http.Client
	// slot is the capture slot of the registry's storage driver.
	slot string
	// done receives the mark of each marked request when the registry
	// has finished handling it.
	done chan string
}

// startRegistry starts a registry whose storage is the distribution driver
// driverName with params. Deletes are enabled; upload purging is off (it
// would race the test); redirects are disabled when noRedirect is set, so
// the registry serves the bytes itself.
func startRegistry(t *testing.T, driverName string, params map[string]any, noRedirect bool) *testRegistry {
	t.Helper()
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	slot := hex.EncodeToString(b[:])

	cfg := &configuration.Configuration{}
	cfg.HTTP.Secret = "stowage-e2e-" + slot
	cfg.Catalog.MaxEntries = 1000 // the configuration parser's default
	cfg.Storage = configuration.Storage{
		// NewApp adds parameters ("useragent"): give it its own map.
		driverName:    configuration.Parameters(maps.Clone(params)),
		"delete":      configuration.Parameters{"enabled": true},
		"redirect":    configuration.Parameters{"disable": noRedirect},
		"maintenance": configuration.Parameters{"uploadpurging": map[any]any{"enabled": false}},
	}
	cfg.Middleware = map[string][]configuration.Middleware{
		"storage": {{Name: captureMiddleware, Options: configuration.Parameters{"slot": slot}}},
	}
	app := handlers.NewApp(context.Background(), cfg)

	r := &testRegistry{slot: slot, done: make(chan string, 16)}
	r.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		mark := req.Header.Get(markHeader)
		app.ServeHTTP(w, req)
		if mark != "" {
			r.done <- mark
		}
	}))
	// The server's own complaints (e.g. the registry answering a request
	// whose client is gone) go to the test's log; it is closed before the
	// test ends.
	r.srv.Config.ErrorLog = log.New(testWriter{t}, "registry http server: ", 0)
	r.srv.Start()
	u, err := url.Parse(r.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	r.host = u.Host
	tr := http.DefaultTransport.(*http.Transport).Clone()
	r.client = &http.Client{Transport: tr}
	t.Cleanup(func() {
		tr.CloseIdleConnections()
		r.srv.Close()
		if err := app.Shutdown(); err != nil {
			t.Errorf("registry shutdown: %v", err)
		}
		captured.Delete(slot)
	})
	return r
}

// remoteOptions are go-containerregistry's options for this registry:
// its own transport, and no retries, so that a failure shows instead of
// being retried away.
func (r *testRegistry) remoteOptions(ctx context.Context) []remote.Option {
	return []remote.Option{
		remote.WithContext(ctx),
		remote.WithTransport(r.client.Transport),
		remote.WithRetryPredicate(func(error) bool { return false }),
		remote.WithRetryStatusCodes(),
	}
}

// repo returns the repository named path on this registry.
func (r *testRegistry) repo(t *testing.T, path string) name.Repository {
	t.Helper()
	repo, err := name.NewRepository(r.host+"/"+path, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	return repo
}

// url returns the absolute URL of a registry API path or of a Location
// header's value.
func (r *testRegistry) url(pathOrLocation string) string {
	if strings.HasPrefix(pathOrLocation, "http://") || strings.HasPrefix(pathOrLocation, "https://") {
		return pathOrLocation
	}
	return r.srv.URL + pathOrLocation
}

// do sends one request to the registry API and returns the response with
// its body read.
func (r *testRegistry) do(ctx context.Context, method, target string, header http.Header, body io.Reader) (*http.Response, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, r.url(target), body)
	if err != nil {
		return nil, nil, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp, b, fmt.Errorf("%s %s: reading the answer: %w", method, target, err)
	}
	return resp, b, nil
}

// expect sends a request and fails t unless the answer has status want.
func (r *testRegistry) expect(t *testing.T, ctx context.Context, want int, method, target string, header http.Header, body io.Reader) (*http.Response, []byte) {
	t.Helper()
	resp, b, err := r.do(ctx, method, target, header, body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	if resp.StatusCode != want {
		t.Fatalf("%s %s: status %d, want %d; body: %s", method, target, resp.StatusCode, want, truncate(b))
	}
	return resp, b
}

// status sends a request and returns the answer's status code, or fails t.
func (r *testRegistry) status(t *testing.T, ctx context.Context, method, target string, header http.Header) int {
	t.Helper()
	resp, _, err := r.do(ctx, method, target, header, nil)
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	return resp.StatusCode
}

// testWriter writes to a test's log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

func truncate(b []byte) string {
	const max = 512
	if len(b) > max {
		return string(b[:max]) + "..."
	}
	return string(b)
}
