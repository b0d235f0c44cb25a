package conformance

import (
	"context"
	"testing"

	"github.com/stowage-dev/stowage/driver"
)

// The writer leaves of this file follow a registry's blob upload: each
// PATCH request opens Writer(path, true), writes, calls Close and then reads
// Size() to record the upload offset; the request's context has often ended
// by the time Close runs; and distribution-style code appends to files that
// are already committed.

func (s *suite) testWriterSizes(t *testing.T) {
	s.leaf(t, "AfterClose", func(f *fixture) {
		w := f.writer("/f", false)
		f.write(w, "abc")
		f.closeW(w)
		f.wantSize(w, 3, "after Close")
		w = f.writer("/f", true)
		f.write(w, "de")
		f.closeW(w)
		f.wantSize(w, 5, "after the second session's Close")
		w = f.writer("/f", true)
		f.wantSize(w, 5, "resumed")
		f.commit(w)
		f.wantSize(w, 5, "after Commit of a resumed writer")
		f.wantString("/f", "abcde")
	})
	s.leaf(t, "AfterCloseWithoutWrites", func(f *fixture) {
		// A registry's POST opens the upload and closes it before any
		// byte arrives; the first PATCH resumes it.
		w := f.writer("/f", false)
		f.closeW(w)
		f.wantSize(w, 0, "after Close without writes")
		f.wantAbsent("/f")
		w = f.writer("/f", true)
		f.wantSize(w, 0, "resumed after an empty session")
		f.write(w, "abc")
		f.closeW(w)
		f.wantSize(w, 3, "after Close")
		w = f.writer("/f", true)
		f.commit(w)
		f.wantString("/f", "abc")
	})
	s.leaf(t, "AfterCancel", func(f *fixture) {
		w := f.writer("/f", false)
		f.write(w, "abc")
		if err := w.Cancel(f.ctx); err != nil {
			f.t.Fatalf("Cancel: %v", err)
		}
		f.wantSize(w, 0, "after Cancel")
		f.closeW(w)
		f.wantSize(w, 0, "after Close after Cancel")
		f.wantAbsent("/f")
	})
	s.leaf(t, "AfterCancelOfResumed", func(f *fixture) {
		w := f.writer("/f", false)
		f.write(w, "abc")
		f.closeW(w)
		w = f.writer("/f", true)
		f.write(w, "de")
		if err := w.Cancel(f.ctx); err != nil {
			f.t.Fatalf("Cancel: %v", err)
		}
		f.wantSize(w, 0, "after Cancel of a resumed writer")
		f.closeW(w)
		f.wantAbsent("/f")
	})
}

func (s *suite) testWriterContinue(t *testing.T) {
	s.leaf(t, "CommittedFile", func(f *fixture) {
		w := f.writer("/d/f", false)
		f.write(w, "abc")
		f.commit(w)
		w = f.writer("/d/f", true)
		f.wantSize(w, 3, "continuing a committed file")
		f.write(w, "def")
		f.wantSize(w, 6, "after a write")
		f.wantString("/d/f", "abc") // the old file stays readable
		f.wantFile("/d/f", 3)
		f.closeW(w)
		f.wantSize(w, 6, "after Close")
		f.wantString("/d/f", "abc")
		f.wantList("/d", "/d/f")

		// Another process resumes the continuation.
		d2 := f.s.h.New(f.t, f.env)
		w2, err := d2.Writer(f.ctx, "/d/f", true)
		if err != nil {
			f.t.Fatalf("second driver: Writer(/d/f, append=true): %v", err)
		}
		f.wantSize(w2, 6, "second driver: resumed")
		if _, err := w2.Write([]byte("g")); err != nil {
			f.t.Fatalf("second driver: Write: %v", err)
		}
		f.wantString("/d/f", "abc")
		if err := w2.Commit(f.ctx); err != nil {
			f.t.Fatalf("second driver: Commit: %v", err)
		}
		f.wantSize(w2, 7, "second driver: after Commit")
		if err := w2.Close(); err != nil {
			f.t.Fatalf("second driver: Close: %v", err)
		}
		f.wantString("/d/f", "abcdefg")
		f.wantFile("/d/f", 7)
	})
	s.leaf(t, "PutContentFile", func(f *fixture) {
		f.puts("/f", "abc")
		w := f.writer("/f", true)
		f.wantSize(w, 3, "continuing a PutContent file")
		f.write(w, "xyz")
		f.commit(w)
		f.wantString("/f", "abcxyz")
	})
	s.leaf(t, "ZeroByteFile", func(f *fixture) {
		f.put("/f", nil)
		w := f.writer("/f", true)
		f.wantSize(w, 0, "continuing a zero-byte file")
		f.write(w, "x")
		f.closeW(w)
		f.wantFile("/f", 0)
		w = f.writer("/f", true)
		f.wantSize(w, 1, "resumed")
		f.commit(w)
		f.wantString("/f", "x")
	})
	s.leaf(t, "CommitWithoutWrites", func(f *fixture) {
		f.puts("/f", "abc")
		f.put("/e", nil)
		for _, p := range []string{"/f", "/e"} {
			w := f.writer(p, true)
			f.commit(w)
		}
		f.wantString("/f", "abc")
		f.wantFile("/e", 0)
	})
	s.leaf(t, "CancelKeepsFile", func(f *fixture) {
		f.puts("/f", "abc")
		w := f.writer("/f", true)
		f.write(w, "def")
		f.closeW(w)
		w = f.writer("/f", true)
		f.write(w, "ghi")
		if err := w.Cancel(f.ctx); err != nil {
			f.t.Fatalf("Cancel: %v", err)
		}
		f.wantSize(w, 0, "after Cancel")
		f.closeW(w)
		f.wantString("/f", "abc")
		// The continuation is gone; the committed file is continued anew.
		w = f.writer("/f", true)
		f.wantSize(w, 3, "continuing after Cancel")
		f.write(w, "!")
		f.commit(w)
		f.wantString("/f", "abc!")
	})
	s.leaf(t, "Repeatedly", func(f *fixture) {
		f.puts("/f", "a")
		for _, c := range []string{"b", "c", "d"} {
			w := f.writer("/f", true)
			f.write(w, c)
			f.commit(w)
		}
		f.wantString("/f", "abcd")
	})
	s.heavyLeaf(t, "Large", func(f *fixture) {
		// A committed file above every backend's part minimum (S3:
		// 5 MiB), continued by a short last part.
		const seed = 12
		const first, more = 7<<20 + 3, 1<<20 + 17
		f.put("/big/f", pattern(seed, first))
		w := f.writer("/big/f", true)
		f.wantSize(w, first, "continuing a large file")
		buf := make([]byte, more)
		fillPattern(seed, first, buf)
		if n, err := w.Write(buf); err != nil || n != more {
			f.t.Fatalf("Write: %d, %v", n, err)
		}
		f.closeW(w)
		f.wantFile("/big/f", first)
		w = f.writer("/big/f", true)
		f.wantSize(w, first+more, "resumed")
		f.commit(w)
		f.wantFile("/big/f", first+more)
		f.wantSum("/big/f", 0, first+more, patternSum(seed, 0, first+more))
	})
}

func (s *suite) testWriterContextEnded(t *testing.T) {
	// closeAfterEnd writes content with a writer whose ctx is cancelled
	// before Close, resumes it from a new driver and checks every byte.
	closeAfterEnd := func(f *fixture, content []byte) {
		ctx, cancel := context.WithCancel(f.ctx)
		w, err := f.d.Writer(ctx, "/d/f", false)
		if err != nil {
			cancel()
			f.t.Fatalf("Writer: %v", err)
		}
		if n, err := w.Write(content); err != nil || n != len(content) {
			cancel()
			f.t.Fatalf("Write(%d bytes) = %d, %v", len(content), n, err)
		}
		cancel()
		if err := w.Close(); err != nil {
			f.t.Fatalf("Close after the Writer's ctx ended: %v", err)
		}
		f.wantSize(w, int64(len(content)), "after Close")

		d2 := f.s.h.New(f.t, f.env)
		w2, err := d2.Writer(f.ctx, "/d/f", true)
		if err != nil {
			f.t.Fatalf("second driver: Writer(append=true) after a Close with an ended ctx: %v", err)
		}
		f.wantSize(w2, int64(len(content)), "second driver: resumed")
		if err := w2.Commit(f.ctx); err != nil {
			f.t.Fatalf("second driver: Commit: %v", err)
		}
		if err := w2.Close(); err != nil {
			f.t.Fatalf("second driver: Close: %v", err)
		}
		f.wantContent("/d/f", content)
	}
	s.leaf(t, "Close", func(f *fixture) {
		closeAfterEnd(f, []byte("the bytes a client sent before it went away"))
	})
	s.heavyLeaf(t, "CloseLarge", func(f *fixture) {
		closeAfterEnd(f, pattern(13, 6<<20+1000))
	})
	s.leaf(t, "CloseResumed", func(f *fixture) {
		w := f.writer("/f", false)
		f.write(w, "abc")
		f.closeW(w)
		ctx, cancel := context.WithCancel(f.ctx)
		defer cancel()
		w, err := f.d.Writer(ctx, "/f", true)
		if err != nil {
			f.t.Fatalf("Writer(append=true): %v", err)
		}
		f.write(w, "def")
		cancel()
		if err := w.Close(); err != nil {
			f.t.Fatalf("Close after the Writer's ctx ended: %v", err)
		}
		f.wantSize(w, 6, "after Close")
		w = f.writer("/f", true)
		f.wantSize(w, 6, "resumed")
		f.commit(w)
		f.wantString("/f", "abcdef")
	})
	s.leaf(t, "CommitWithLiveContext", func(f *fixture) {
		// Only Write and Close use the Writer's ctx; Commit and Cancel
		// take their own.
		ctx, cancel := context.WithCancel(f.ctx)
		defer cancel()
		w, err := f.d.Writer(ctx, "/f", false)
		if err != nil {
			f.t.Fatalf("Writer: %v", err)
		}
		f.write(w, "abc")
		cancel()
		if err := w.Commit(f.ctx); err != nil {
			f.t.Fatalf("Commit with a live ctx after the Writer's ctx ended: %v", err)
		}
		f.closeW(w)
		f.wantString("/f", "abc")
	})
}

// wantSize fails the test unless w.Size() is n.
func (f *fixture) wantSize(w driver.FileWriter, n int64, when string) {
	f.t.Helper()
	if got := w.Size(); got != n {
		f.t.Errorf("Size() %s = %d, want %d", when, got, n)
	}
}
