package gcs_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/gcs"
	"github.com/stowage-dev/stowage/internal/testenv"
)

// serviceAccountJSON returns a service account key document for the test
// key whose token endpoint is tokenURI.
func serviceAccountJSON(t testing.TB, tokenURI string) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]string{
		"type":           "service_account",
		"project_id":     "stowage-test",
		"private_key_id": "k1",
		"private_key":    string(testKeyPEM(t)),
		"client_email":   testAccessID,
		"client_id":      "1",
		"token_uri":      tokenURI,
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// headers records the Authorization header of every request.
type headers struct {
	mu   sync.Mutex
	auth []string
}

func (h *headers) RoundTrip(req *http.Request) (*http.Response, error) {
	h.mu.Lock()
	h.auth = append(h.auth, req.Header.Get("Authorization"))
	h.mu.Unlock()
	return http.DefaultTransport.RoundTrip(req)
}

// With a service account key (keyfile, through Open), every request the
// driver sends through the caller's client, batch deletes included,
// carries the OAuth2 token obtained with that key; the token request itself
// goes to the key's token_uri. URLFor signs with the same key.
func TestCredentialsKeyFile(t *testing.T) {
	env := testenv.GCS(t)
	var tokens int
	tokenSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tokens++
		if err := r.ParseForm(); err != nil || !strings.Contains(r.Form.Get("grant_type"), "jwt-bearer") {
			t.Errorf("token request %v: %v", r.Form, err)
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"access_token":"test-token","token_type":"Bearer","expires_in":3600}`))
	}))
	defer tokenSrv.Close()
	keyfile := filepath.Join(t.TempDir(), "key.json")
	if err := os.WriteFile(keyfile, serviceAccountJSON(t, tokenSrv.URL), 0o600); err != nil {
		t.Fatal(err)
	}
	root := freshRoot(t)
	h := &headers{}
	d, err := driver.Open(context.Background(), "gcs", map[string]any{
		"bucket":               env.Bucket,
		"endpoint":             env.Endpoint,
		"keyfile":              keyfile,
		"rootdirectory":        root,
		driver.HTTPClientParam: &http.Client{Transport: h},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := d.PutContent(ctx, "/a", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if _, err := d.GetContent(ctx, "/a"); err != nil {
		t.Fatal(err)
	}
	if n, err := d.DeleteFiles(ctx, []string{"/a"}); n != 1 || err != nil {
		t.Fatalf("DeleteFiles = %d, %v", n, err)
	}
	if len(h.auth) != 3 {
		t.Errorf("%d requests through the caller's client, want 3", len(h.auth))
	}
	for i, a := range h.auth {
		if a != "Bearer test-token" {
			t.Errorf("request %d: Authorization %q, want the token", i+1, a)
		}
	}
	if tokens != 1 {
		t.Errorf("%d token requests, want 1", tokens)
	}
	u, err := d.URLFor(ctx, "/a", nil)
	if err != nil || !strings.Contains(u, "X-Goog-Signature=") {
		t.Errorf("URLFor = %q, %v; want a signed URL", u, err)
	}
}

// Without a key to sign with (anonymous here; Application Default
// Credentials of a VM alike), URLFor is unsupported.
func TestURLForWithoutKey(t *testing.T) {
	d := newDriver(t, gcs.Config{Bucket: "b", Endpoint: "http://127.0.0.1:1/storage/v1/", Anonymous: true})
	_, err := d.URLFor(context.Background(), "/a", nil)
	var ume *driver.UnsupportedMethodError
	if !errorsAs(err, &ume) {
		t.Errorf("URLFor without a key: %v, want UnsupportedMethodError", err)
	}
}
