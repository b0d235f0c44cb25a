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
	s.leaf(t, "Expired", func(f *fixture) {
		// An expiry already past gives an error, or a URL that does not
		// fetch the file: never one valid for a default lifetime.
		f.put("/d/f", content)
		u, err := f.d.URLFor(f.ctx, "/d/f", map[string]any{"expiry": time.Now().Add(-time.Minute)})
		if err != nil {
			return
		}
		if code := f.fetchStatus(http.MethodGet, u, nil); code/100 == 2 {
			f.t.Errorf("GET of a URL whose expiry has passed = %d, want a refusal", code)
		}
	})
	s.leaf(t, "OtherMethods", func(f *fixture) {
		// URLFor hands out read-only URLs: asked for another method, it
		// fails (ErrUnsupportedMethod, for a stowage Store), or gives a
		// URL that method cannot use to change the file.
		f.put("/d/f", content)
		for _, m := range []string{http.MethodPut, http.MethodPost, http.MethodDelete} {
			u, err := f.d.URLFor(f.ctx, "/d/f", map[string]any{"method": m})
			if err != nil {
				continue
			}
			if code := f.fetchStatus(m, u, []byte("changed")); code/100 == 2 {
				f.t.Errorf("%s with URLFor(/d/f, method %s) = %d, want a refusal", m, m, code)
			}
		}
		f.wantContent("/d/f", content)
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

// fetchStatus sends method to u, with body when not nil, and returns the
// status code.
func (f *fixture) fetchStatus(method, u string, body []byte) int {
	f.t.Helper()
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(f.ctx, method, u, r)
	if err != nil {
		f.t.Fatalf("%s %s: %v", method, u, err)
	}
	resp, err := f.env.HTTPClient.Do(req)
	if err != nil {
		f.t.Fatalf("%s %s: %v", method, u, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}
