package gcs_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/gcs"
	"github.com/stowage-dev/stowage/internal/cloudtest"
	"github.com/stowage-dev/stowage/internal/recorder"
	"github.com/stowage-dev/stowage/internal/testenv"
)

// userAgents records the User-Agent header of every request passing to
// the real server.
type userAgents struct {
	mu   sync.Mutex
	seen map[string]int // User-Agent -> requests
	ops  map[string]int // opName -> requests
}

func (u *userAgents) RoundTrip(req *http.Request) (*http.Response, error) {
	u.mu.Lock()
	if u.seen == nil {
		u.seen, u.ops = map[string]int{}, map[string]int{}
	}
	u.seen[req.Header.Get("User-Agent")]++
	u.ops[opName(req)]++
	u.mu.Unlock()
	return http.DefaultTransport.RoundTrip(req)
}

// The useragent parameter is the User-Agent of every request the
// fake-gcs-server receives: the SDK's (upload, read, list) and the JSON
// batch delete's.
func TestUserAgentReachesServer(t *testing.T) {
	env := testenv.GCS(t)
	root := freshRoot(t)
	ua := &userAgents{}
	d, err := driver.Open(context.Background(), gcs.DriverName, map[string]any{
		"bucket": env.Bucket, "endpoint": env.Endpoint, "rootdirectory": root,
		"useragent": "registry-test/3.1.2", driver.HTTPClientParam: &http.Client{Transport: ua},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := d.PutContent(ctx, "/a/f", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if b, err := d.GetContent(ctx, "/a/f"); err != nil || !bytes.Equal(b, []byte("x")) {
		t.Fatalf("GetContent = %q, %v", b, err)
	}
	if _, err := d.List(ctx, "/a"); err != nil {
		t.Fatal(err)
	}
	if n, err := d.DeleteFiles(ctx, []string{"/a/f"}); err != nil || n != 1 {
		t.Fatalf("DeleteFiles = %d, %v", n, err)
	}
	ua.mu.Lock()
	defer ua.mu.Unlock()
	if len(ua.seen) != 1 || ua.seen["registry-test/3.1.2"] == 0 {
		t.Errorf("User-Agent headers seen: %v, want only registry-test/3.1.2", ua.seen)
	}
	if ua.ops["Batch"] == 0 {
		t.Errorf("no batch request among %v", ua.ops)
	}
}

// A 503 on every request is retried MaxRetries times, each retry
// reported to the Observer, and then is a *driver.TooManyRequestsError.
func TestServiceUnavailableExhaustsRetries(t *testing.T) {
	cloudtest.ServiceUnavailableExhaustsRetries(t, backend())
}

// authHeaders records the Authorization and User-Agent headers of every
// request passing to the real server.
type authHeaders struct {
	mu     sync.Mutex
	auth   map[string]int
	agents map[string]int
}

func (h *authHeaders) RoundTrip(req *http.Request) (*http.Response, error) {
	h.mu.Lock()
	if h.auth == nil {
		h.auth, h.agents = map[string]int{}, map[string]int{}
	}
	h.auth[req.Header.Get("Authorization")]++
	h.agents[req.Header.Get("User-Agent")]++
	h.mu.Unlock()
	return http.DefaultTransport.RoundTrip(req)
}

// With credentials, the rate limiter (maxrequestspersecond) and the
// useragent sit under the OAuth2 transport: every request reaching the
// caller's client carries the token and the user agent, and a burst of
// requests above the rate waits, each wait reported to the Observer.
func TestRateLimitAndUserAgentUnderCredentials(t *testing.T) {
	env := testenv.GCS(t)
	tokenSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"access_token":"test-token","token_type":"Bearer","expires_in":3600}`))
	}))
	defer tokenSrv.Close()
	keyfile := filepath.Join(t.TempDir(), "key.json")
	if err := os.WriteFile(keyfile, serviceAccountJSON(t, tokenSrv.URL), 0o600); err != nil {
		t.Fatal(err)
	}
	h := &authHeaders{}
	obs := &recorder.Events{}
	d, err := driver.Open(context.Background(), gcs.DriverName, map[string]any{
		"bucket": env.Bucket, "endpoint": env.Endpoint, "keyfile": keyfile, "rootdirectory": freshRoot(t),
		"useragent": "registry-test/3.1.2", "maxrequestspersecond": 5,
		driver.HTTPClientParam: &http.Client{Transport: h}, driver.ObserverParam: obs,
	})
	if err != nil {
		t.Fatal(err)
	}
	// The bucket lets driver.RateLimitBurst requests through at once;
	// the Stats send more than that (at least one request each), so some
	// must wait for the rate of 5 per second.
	for i := range driver.RateLimitBurst + 2 {
		if _, err := d.Stat(context.Background(), fmt.Sprintf("/missing/%d", i)); !driver.IsNotFound(err) {
			t.Fatalf("Stat = %v, want PathNotFound", err)
		}
	}
	if waits := len(obs.Waits()); waits == 0 {
		t.Error("no request waited for the rate limiter")
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.auth) != 1 || h.auth["Bearer test-token"] == 0 {
		t.Errorf("Authorization headers: %v, want the token on every request", h.auth)
	}
	if len(h.agents) != 1 || h.agents["registry-test/3.1.2"] == 0 {
		t.Errorf("User-Agent headers: %v, want registry-test/3.1.2 on every request", h.agents)
	}
}
