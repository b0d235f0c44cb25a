package conformance

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/stowage-dev/stowage/driver"
)

func (s *suite) testURLFor(t *testing.T) {
	if !s.h.Caps.SignedURLs {
		s.leaf(t, "Unsupported", func(f *fixture) {
			f.puts("/f", "content")
			_, err := f.d.URLFor(f.ctx, "/f", nil)
			wantIs(f.t, err, driver.ErrUnsupportedMethod, "URLFor(/f)")
		})
		s.leaf(t, "UnsupportedWithOptions", func(f *fixture) {
			f.puts("/f", "content")
			_, err := f.d.URLFor(f.ctx, "/f", map[string]any{"method": "HEAD", "expiry": time.Now().Add(time.Hour)})
			wantIs(f.t, err, driver.ErrUnsupportedMethod, "URLFor(/f, HEAD)")
		})
		s.leaf(t, "UnsupportedMissing", func(f *fixture) {
			_, err := f.d.URLFor(f.ctx, "/missing", nil)
			if !errors.Is(err, driver.ErrUnsupportedMethod) && !driver.IsNotFound(err) {
				f.t.Errorf("URLFor(/missing): %v, want ErrUnsupportedMethod or PathNotFoundError", err)
			}
		})
		return
	}

	content := pattern(99, 100_000)
	s.leaf(t, "GET", func(f *fixture) {
		f.put("/d/f", content)
		u := f.urlFor("/d/f", nil)
		f.wantFetch(http.MethodGet, u, content)
	})
	s.leaf(t, "ExplicitGET", func(f *fixture) {
		f.put("/d/f", content)
		u := f.urlFor("/d/f", map[string]any{"method": "GET"})
		f.wantFetch(http.MethodGet, u, content)
	})
	s.leaf(t, "HEAD", func(f *fixture) {
		f.put("/d/f", content)
		u := f.urlFor("/d/f", map[string]any{"method": "HEAD"})
		f.wantFetch(http.MethodHead, u, content)
	})
	s.leaf(t, "Expiry", func(f *fixture) {
		f.put("/d/f", content)
		u := f.urlFor("/d/f", map[string]any{"expiry": time.Now().Add(10 * time.Minute)})
		f.wantFetch(http.MethodGet, u, content)
	})
	s.leaf(t, "ExpiryBeyondProviderLimit", func(f *fixture) {
		// A year is past what S3 SigV4 and GCS V4 sign (7 days): the URL
		// is valid for the provider's longest instead, not an error.
		f.put("/d/f", content)
		u := f.urlFor("/d/f", map[string]any{"expiry": time.Now().AddDate(1, 0, 0)})
		f.wantFetch(http.MethodGet, u, content)
	})
	s.leaf(t, "EmptyFile", func(f *fixture) {
		f.put("/f", nil)
		f.wantFetch(http.MethodGet, f.urlFor("/f", nil), nil)
	})
	s.leaf(t, "Missing", func(f *fixture) {
		u, err := f.d.URLFor(f.ctx, "/missing", nil)
		if err != nil {
			wantNotFound(f.t, err, "URLFor(/missing)")
			return
		}
		resp, err := f.env.HTTPClient.Get(u)
		if err != nil {
			f.t.Fatalf("GET %s: %v", u, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			f.t.Errorf("GET of URLFor(/missing) = %s, want 404", resp.Status)
		}
	})
}

// urlFor returns URLFor(p, options).
func (f *fixture) urlFor(p string, options map[string]any) string {
	f.t.Helper()
	u, err := f.d.URLFor(f.ctx, p, options)
	if err != nil {
		f.t.Fatalf("URLFor(%s, %v): %v", p, options, err)
	}
	if u == "" {
		f.t.Fatalf("URLFor(%s, %v) returned an empty URL", p, options)
	}
	return u
}

// wantFetch fetches u with method and checks the answer against content
// (for HEAD, its length).
func (f *fixture) wantFetch(method, u string, content []byte) {
	f.t.Helper()
	req, err := http.NewRequestWithContext(f.ctx, method, u, nil)
	if err != nil {
		f.t.Fatalf("%s %s: %v", method, u, err)
	}
	resp, err := f.env.HTTPClient.Do(req)
	if err != nil {
		f.t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		f.t.Fatalf("%s %s: reading the body: %v", method, u, err)
	}
	if resp.StatusCode != http.StatusOK {
		f.t.Fatalf("%s %s = %s: %s", method, u, resp.Status, describe(body))
	}
	if method == http.MethodHead {
		if resp.ContentLength != int64(len(content)) {
			f.t.Errorf("HEAD %s: Content-Length %d, want %d", u, resp.ContentLength, len(content))
		}
		return
	}
	if !bytes.Equal(body, content) {
		f.t.Errorf("GET %s = %s, want %s", u, describe(body), describe(content))
	}
}
