package distribution

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"testing"
)

// checkRedirect starts a second registry over the same parameters with
// redirects enabled, uploads a blob through it and fetches it with GET and
// HEAD without following redirects. A backend that signs URLs must answer
// 307 to a URL of its own server that serves the blob; any other must
// serve the blob itself (the adapter's RedirectURL returned ""). For
// inmemory the second registry has a store of its own, which this check
// does not mind.
func checkRedirect(t *testing.T, ctx context.Context, be e2eBackend, params map[string]any) {
	t.Helper()
	reg := startRegistry(t, NamePrefix+be.name, params, false)
	data := make([]byte, 256<<10+9)
	if _, err := rand.Read(data); err != nil {
		t.Fatal(err)
	}
	dgst := sha256Hash(data)
	const repo = "e2e/redirect"
	uploadChunked(t, ctx, reg, repo, data, dgst)

	noFollow := &http.Client{
		Transport:     reg.client.Transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	for _, method := range []string{http.MethodGet, http.MethodHead} {
		req, err := http.NewRequestWithContext(ctx, method, reg.url("/v2/"+repo+"/blobs/"+dgst.String()), nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, body := send(t, noFollow, req)
		if !be.redirects {
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("%s blob with redirects enabled on %s: status %d, want 200 (served by the registry); body %s", method, be.name, resp.StatusCode, truncate(body))
			}
			checkBody(t, method, resp, body, data)
			continue
		}
		if resp.StatusCode != http.StatusTemporaryRedirect {
			t.Fatalf("%s blob with redirects enabled on %s: status %d, want 307; body %s", method, be.name, resp.StatusCode, truncate(body))
		}
		loc, err := url.Parse(resp.Header.Get("Location"))
		if err != nil || loc.Host == "" || loc.Host == reg.host {
			t.Fatalf("%s blob: redirected to %q, want a URL of the backend's server", method, resp.Header.Get("Location"))
		}
		req, err = http.NewRequestWithContext(ctx, method, loc.String(), nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, body = send(t, http.DefaultClient, req)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s %s (the redirect's target): status %d; body %s", method, loc.Redacted(), resp.StatusCode, truncate(body))
		}
		checkBody(t, method, resp, body, data)
	}
}

// send sends req with c and returns the answer with its body read.
func send(t *testing.T, c *http.Client, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Redacted(), err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the answer: %v", req.Method, req.URL.Redacted(), err)
	}
	return resp, b
}

// checkBody checks a GET's body, or a HEAD's Content-Length, against data.
func checkBody(t *testing.T, method string, resp *http.Response, body, data []byte) {
	t.Helper()
	if method == http.MethodHead {
		if n, err := strconv.Atoi(resp.Header.Get("Content-Length")); err != nil || n != len(data) {
			t.Fatalf("HEAD: Content-Length %q, want %d", resp.Header.Get("Content-Length"), len(data))
		}
		return
	}
	if got, want := sha256Hash(body), sha256Hash(data); got != want {
		t.Fatalf("GET: body sha256 %s (%d bytes), want %s (%d)", got, len(body), want, len(data))
	}
}

// gcsSigningParams returns a throwaway service-account identity and RSA
// key for the gcs backend to sign URLs with (the emulator does not check
// signatures).
func gcsSigningParams(t *testing.T) map[string]any {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return map[string]any{
		"googleaccessid": "stowage-e2e@stowage-e2e.iam.gserviceaccount.com",
		"privatekey":     string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
	}
}
