package conformance

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

func (s *suite) testMove(t *testing.T) {
	s.leaf(t, "Simple", func(f *fixture) {
		f.puts("/a/src", "content")
		f.move("/a/src", "/a/dst")
		f.wantString("/a/dst", "content")
		f.wantAbsent("/a/src")
		f.wantList("/a", "/a/dst")
	})
	s.leaf(t, "Overwrite", func(f *fixture) {
		f.puts("/src", "new")
		f.puts("/dst", "a much longer old content")
		f.move("/src", "/dst")
		f.wantString("/dst", "new")
		f.wantFile("/dst", 3)
		f.wantAbsent("/src")
	})
	s.leaf(t, "MissingSource", func(f *fixture) {
		f.puts("/dst", "keep")
		f.puts("/other/f", "keep")
		before := f.snapshot()
		err := f.d.Move(f.ctx, "/missing", "/dst")
		wantNotFound(f.t, err, "Move(/missing, /dst)")
		err = f.d.Move(f.ctx, "/other/missing", "/new/dst")
		wantNotFound(f.t, err, "Move(/other/missing, /new/dst)")
		f.wantSnapshot("Move of a missing source", before)
	})
	s.leaf(t, "SourceIsDirectory", func(f *fixture) {
		// A directory is not a file: Move has nothing to move.
		f.puts("/dir/f", "x")
		before := f.snapshot()
		err := f.d.Move(f.ctx, "/dir", "/dst")
		wantNotFound(f.t, err, "Move(/dir, /dst)")
		f.wantSnapshot("Move of a directory", before)
	})
	s.leaf(t, "CreatesParents", func(f *fixture) {
		f.puts("/src", "x")
		f.move("/src", "/x/y/z/dst")
		f.wantString("/x/y/z/dst", "x")
		f.wantList("/", "/x")
		f.wantList("/x/y", "/x/y/z")
		f.wantList("/x/y/z", "/x/y/z/dst")
	})
	s.leaf(t, "SourceParentsVanish", func(f *fixture) {
		f.puts("/s/d/src", "x")
		f.move("/s/d/src", "/dst")
		f.wantAbsent("/s/d")
		f.wantAbsent("/s")
		f.wantList("/", "/dst")
	})
	s.leaf(t, "SiblingsStay", func(f *fixture) {
		f.puts("/d/src", "src")
		f.puts("/d/other", "other")
		f.puts("/e/keep", "keep")
		f.move("/d/src", "/e/dst")
		f.wantString("/d/other", "other")
		f.wantString("/e/keep", "keep")
		f.wantString("/e/dst", "src")
		f.wantList("/d", "/d/other")
		f.wantList("/e", "/e/dst", "/e/keep")
	})
	s.leaf(t, "ContentIntact", func(f *fixture) {
		content := pattern(21, 3<<20+5)
		f.put("/src", content)
		f.move("/src", "/deep/dst")
		f.wantContent("/deep/dst", content)
		f.wantFile("/deep/dst", int64(len(content)))
	})
	s.leaf(t, "EmptyFile", func(f *fixture) {
		f.put("/src", nil)
		f.move("/src", "/dst")
		f.wantFile("/dst", 0)
		f.wantAbsent("/src")
	})
	s.leaf(t, "ToItself", func(f *fixture) {
		// Whatever Move answers, it must not lose the file.
		f.puts("/f", "content")
		_ = f.d.Move(f.ctx, "/f", "/f")
		f.wantString("/f", "content")
	})
	if s.h.Caps.HTTP {
		s.leaf(t, "CopyFails", func(f *fixture) {
			// Every state-changing request but a DELETE (so every copy,
			// with its retries) is refused: Move fails, and the source
			// must survive, whatever a DELETE may have been sent.
			f.puts("/d/src", "content")
			f.puts("/d/keep", "keep")
			hook := f.hook()
			if hook == nil {
				f.t.Fatal("conformance: Env not built by the suite")
			}
			hook.set(refuseCopies{})
			err := f.d.Move(f.ctx, "/d/src", "/e/dst")
			hook.set(nil)
			if err == nil {
				f.t.Errorf("Move(/d/src, /e/dst) with every copy request refused succeeded")
				return
			}
			f.wantString("/d/src", "content")
			f.wantString("/d/keep", "keep")
		})
	}
	s.leaf(t, "Chain", func(f *fixture) {
		f.puts("/a", "A")
		f.puts("/b", "B")
		f.move("/a", "/c")
		f.move("/b", "/a")
		f.move("/c", "/b")
		f.wantString("/a", "B")
		f.wantString("/b", "A")
		f.wantAbsent("/c")
	})
}

// move moves src to dst.
func (f *fixture) move(src, dst string) {
	f.t.Helper()
	if err := f.d.Move(f.ctx, src, dst); err != nil {
		f.t.Fatalf("Move(%s, %s): %v", src, dst, err)
	}
}

// refuseCopies is an http.RoundTripper that answers every request but a
// GET, a HEAD and a DELETE with 403 Forbidden without sending it: a copy
// (PUT, POST, COPY) always fails, and not in a way worth retrying.
type refuseCopies struct{}

func (refuseCopies) RoundTrip(req *http.Request) (*http.Response, error) {
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodDelete:
		return http.DefaultTransport.RoundTrip(req)
	}
	if req.Body != nil {
		req.Body.Close()
	}
	return &http.Response{
		Status:     "403 Forbidden",
		StatusCode: http.StatusForbidden,
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     http.Header{"Content-Type": {"text/plain"}},
		Body:       io.NopCloser(strings.NewReader("conformance: copy refused")),
		Request:    req,
	}, nil
}
