package conformance

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stowage-dev/stowage/driver"
)

func (s *suite) testWriter(t *testing.T) {
	t.Run("Write", s.testWriterWrite)
	t.Run("Visibility", s.testWriterVisibility)
	t.Run("State", s.testWriterState)
	t.Run("Sessions", s.testWriterSessions)
	t.Run("Sizes", s.testWriterSizes)
	t.Run("Continue", s.testWriterContinue)
	t.Run("ContextEnded", s.testWriterContextEnded)
}

func (s *suite) testWriterWrite(t *testing.T) {
	s.leaf(t, "Basic", func(f *fixture) {
		w := f.writer("/d/f", false)
		f.write(w, "hello ")
		f.write(w, "world")
		if w.Size() != 11 {
			f.t.Errorf("Size() = %d, want 11", w.Size())
		}
		f.commit(w)
		f.wantString("/d/f", "hello world")
		f.wantFile("/d/f", 11)
		if w.Size() != 11 {
			f.t.Errorf("Size() after Commit = %d, want 11", w.Size())
		}
	})
	s.leaf(t, "Empty", func(f *fixture) {
		w := f.writer("/d/f", false)
		f.commit(w)
		f.wantString("/d/f", "")
		f.wantFile("/d/f", 0)
	})
	s.leaf(t, "ZeroLengthWrite", func(f *fixture) {
		w := f.writer("/f", false)
		if n, err := w.Write(nil); n != 0 || err != nil {
			f.t.Errorf("Write(nil) = %d, %v; want 0, nil", n, err)
		}
		f.write(w, "x")
		if n, err := w.Write([]byte{}); n != 0 || err != nil {
			f.t.Errorf("Write([]byte{}) = %d, %v; want 0, nil", n, err)
		}
		if w.Size() != 1 {
			f.t.Errorf("Size() = %d, want 1", w.Size())
		}
		f.commit(w)
		f.wantString("/f", "x")
	})
	s.leaf(t, "ManySmallWrites", func(f *fixture) {
		content := pattern(11, 100_000)
		w := f.writer("/f", false)
		for off, step := 0, 1; off < len(content); step = step%97 + 1 {
			end := min(off+step, len(content))
			if n, err := w.Write(content[off:end]); err != nil || n != end-off {
				f.t.Fatalf("Write at %d: %d, %v", off, n, err)
			}
			off = end
		}
		f.commit(w)
		f.wantContent("/f", content)
	})
	s.leaf(t, "Overwrites", func(f *fixture) {
		f.puts("/f", "a much longer previous content")
		w := f.writer("/f", false)
		f.write(w, "new")
		f.commit(w)
		f.wantString("/f", "new")
		f.wantFile("/f", 3)
	})
	s.leaf(t, "DoesNotKeepBuffers", func(f *fixture) {
		w := f.writer("/f", false)
		b := []byte("original")
		f.write(w, string(b))
		if _, err := w.Write(b); err != nil {
			f.t.Fatalf("Write: %v", err)
		}
		copy(b, "mutated!")
		f.commit(w)
		f.wantString("/f", "originaloriginal")
	})
}

func (s *suite) testWriterVisibility(t *testing.T) {
	s.leaf(t, "InvisibleBeforeCommit", func(f *fixture) {
		f.puts("/d/s", "sibling")
		w := f.writer("/d/f", false)
		f.write(w, "content")
		f.wantInvisible("/d/f", []string{"/d/s"})
		f.commit(w)
		f.wantString("/d/f", "content")
		f.wantList("/d", "/d/f", "/d/s")
	})
	s.leaf(t, "InvisibleAfterClose", func(f *fixture) {
		f.puts("/d/s", "sibling")
		w := f.writer("/d/f", false)
		f.write(w, "content")
		f.closeW(w)
		f.wantInvisible("/d/f", []string{"/d/s"})
		f.discard("/d/f")
		f.wantInvisible("/d/f", []string{"/d/s"})
	})
	s.leaf(t, "InvisibleNewDirectory", func(f *fixture) {
		w := f.writer("/new/dir/f", false)
		f.write(w, "content")
		f.wantAbsent("/new")
		f.wantAbsent("/new/dir")
		if got, err := f.d.List(f.ctx, "/"); err != nil && !driver.IsNotFound(err) {
			f.t.Errorf("List(/): %v", err)
		} else if len(got) > 0 {
			f.t.Errorf("List(/) = %q before Commit, want nothing", got)
		}
		if err := w.Cancel(f.ctx); err != nil {
			f.t.Fatalf("Cancel: %v", err)
		}
		f.closeW(w)
	})
	s.leaf(t, "OldContentUntilCommit", func(f *fixture) {
		f.puts("/f", "v1")
		w := f.writer("/f", false)
		f.write(w, "v2")
		f.wantString("/f", "v1")
		f.closeW(w)
		f.wantString("/f", "v1")
		f.wantFile("/f", 2)
		w = f.writer("/f", true)
		f.wantString("/f", "v1")
		f.write(w, "+")
		f.commit(w)
		f.wantString("/f", "v2+")
	})
	s.leaf(t, "CancelKeepsCommittedFile", func(f *fixture) {
		f.puts("/f", "v1")
		w := f.writer("/f", false)
		f.write(w, "v2 is longer")
		if err := w.Cancel(f.ctx); err != nil {
			f.t.Fatalf("Cancel: %v", err)
		}
		f.closeW(w)
		f.wantString("/f", "v1")
	})
}

// wantInvisible checks that p, being written, is not visible to any read,
// while dir(p) holds exactly siblings.
func (f *fixture) wantInvisible(p string, siblings []string) {
	f.t.Helper()
	f.wantAbsent(p)
	_, err := f.d.GetContent(f.ctx, p)
	wantNotFound(f.t, err, "GetContent("+p+") before Commit")
	rc, err := f.d.Reader(f.ctx, p, 0)
	closeIf(rc)
	wantNotFound(f.t, err, "Reader("+p+") before Commit")
	f.wantList(driver.ParentDir(p), siblings...)
	wantEntries(f.t, "Walk(/) before Commit", f.walk("/"), treeOf("/", siblings))
}

// writerStateCase is a call not allowed in some writer state.
type writerStateCase struct {
	name string
	// before brings a fresh writer with "abc" written into the state.
	before string // "close", "commit" or "cancel"
	call   string // "write", "commit", "cancel" or "close"
	want   error  // nil: the call must succeed
}

var writerStateCases = []writerStateCase{
	{"DoubleClose", "close", "close", driver.ErrWriterClosed},
	{"WriteAfterClose", "close", "write", driver.ErrWriterClosed},
	{"CommitAfterClose", "close", "commit", driver.ErrWriterClosed},
	{"CancelAfterClose", "close", "cancel", driver.ErrWriterClosed},
	{"WriteAfterCommit", "commit", "write", driver.ErrWriterCommitted},
	{"CommitAfterCommit", "commit", "commit", driver.ErrWriterCommitted},
	{"CancelAfterCommit", "commit", "cancel", driver.ErrWriterCommitted},
	{"CloseAfterCommit", "commit", "close", nil},
	{"WriteAfterCancel", "cancel", "write", driver.ErrWriterCancelled},
	{"CommitAfterCancel", "cancel", "commit", driver.ErrWriterCancelled},
	{"CancelAfterCancel", "cancel", "cancel", driver.ErrWriterCancelled},
	{"CloseAfterCancel", "cancel", "close", nil},
}

func (s *suite) testWriterState(t *testing.T) {
	for _, c := range writerStateCases {
		s.leaf(t, c.name, func(f *fixture) { f.checkWriterState(c) })
	}
	s.leaf(t, "CloseTwiceAfterCommit", func(f *fixture) {
		w := f.writer("/f", false)
		f.write(w, "abc")
		f.commit(w) // Commit, then a first Close that must succeed
		wantIs(f.t, w.Close(), driver.ErrWriterClosed, "second Close after Commit")
		f.wantString("/f", "abc")
	})
}

// checkWriterState drives a writer into c.before, makes the call c.call and
// checks its error and that the store is as c.before left it.
func (f *fixture) checkWriterState(c writerStateCase) {
	const p = "/f"
	w := f.writer(p, false)
	f.write(w, "abc")
	var err error
	switch c.before {
	case "close":
		err = w.Close()
	case "commit":
		err = w.Commit(f.ctx)
	case "cancel":
		err = w.Cancel(f.ctx)
	}
	if err != nil {
		f.t.Fatalf("%s: %v", c.before, err)
	}

	switch c.call {
	case "write":
		var n int
		n, err = w.Write([]byte("def"))
		if n != 0 {
			f.t.Errorf("Write after %s wrote %d bytes, want 0", c.before, n)
		}
	case "commit":
		err = w.Commit(f.ctx)
	case "cancel":
		err = w.Cancel(f.ctx)
	case "close":
		err = w.Close()
	}
	what := fmt.Sprintf("%s after %s", c.call, c.before)
	if c.want == nil {
		if err != nil {
			f.t.Errorf("%s: %v, want nil", what, err)
		}
	} else {
		wantIs(f.t, err, c.want, what)
		if err != nil && !errorNames(err, f.d.Name()) {
			f.t.Errorf("%s: error %q does not name the driver %q", what, err, f.d.Name())
		}
	}

	// Whatever the call did, the store is as the first step left it.
	switch c.before {
	case "commit":
		f.wantString(p, "abc")
		if w.Size() != 3 {
			f.t.Errorf("Size() = %d after %s, want 3", w.Size(), what)
		}
	case "cancel":
		f.wantAbsent(p)
		rw, err := f.d.Writer(f.ctx, p, true)
		wantNotFound(f.t, err, "Writer(append) after Cancel")
		if rw != nil {
			_ = rw.Cancel(f.ctx)
			_ = rw.Close()
		}
	case "close":
		f.wantAbsent(p)
		rw := f.writer(p, true)
		if rw.Size() != 3 {
			f.t.Errorf("resumed Size() = %d after %s, want 3", rw.Size(), what)
		}
		f.commit(rw)
		f.wantString(p, "abc")
	}
	if c.before != "close" && c.call != "close" {
		_ = w.Close()
	}
}

// errorNames reports whether err's message names the driver.
func errorNames(err error, name string) bool {
	for e := err; e != nil; e = errors.Unwrap(e) {
		if name != "" && strings.Contains(e.Error(), name) {
			return true
		}
	}
	return false
}

func (s *suite) testWriterSessions(t *testing.T) {
	s.leaf(t, "SizeAcrossSessions", func(f *fixture) {
		w := f.writer("/f", false)
		f.write(w, "abc")
		f.closeW(w)
		w = f.writer("/f", true)
		if w.Size() != 3 {
			f.t.Errorf("resumed Size() = %d, want 3", w.Size())
		}
		f.write(w, "defg")
		if w.Size() != 7 {
			f.t.Errorf("Size() = %d, want 7", w.Size())
		}
		f.closeW(w)
		w = f.writer("/f", true)
		if w.Size() != 7 {
			f.t.Errorf("resumed Size() = %d, want 7", w.Size())
		}
		f.commit(w)
		f.wantString("/f", "abcdefg")
	})
	s.leaf(t, "ManySessions", func(f *fixture) {
		want := ""
		w := f.writer("/d/f", false)
		for i := 0; i < 10; i++ {
			if i%3 != 1 { // every third session writes nothing
				chunk := fmt.Sprintf("[session %d]", i)
				f.write(w, chunk)
				want += chunk
			}
			f.closeW(w)
			w = f.writer("/d/f", true)
			if w.Size() != int64(len(want)) {
				f.t.Errorf("session %d: resumed Size() = %d, want %d", i+1, w.Size(), len(want))
			}
		}
		f.commit(w)
		f.wantString("/d/f", want)
	})
	s.leaf(t, "AppendFromNewDriver", func(f *fixture) {
		w := f.writer("/d/f", false)
		f.write(w, "first ")
		f.closeW(w)
		d2 := f.s.h.New(f.t, f.env)
		w2, err := d2.Writer(f.ctx, "/d/f", true)
		if err != nil {
			f.t.Fatalf("second driver: Writer(/d/f, append=true): %v", err)
		}
		if w2.Size() != 6 {
			f.t.Errorf("second driver: resumed Size() = %d, want 6", w2.Size())
		}
		if _, err := w2.Write([]byte("second")); err != nil {
			f.t.Fatalf("second driver: Write: %v", err)
		}
		if err := w2.Commit(f.ctx); err != nil {
			f.t.Fatalf("second driver: Commit: %v", err)
		}
		if err := w2.Close(); err != nil {
			f.t.Fatalf("second driver: Close: %v", err)
		}
		f.wantString("/d/f", "first second")
	})
	s.leaf(t, "AppendWithoutState", func(f *fixture) {
		w, err := f.d.Writer(f.ctx, "/d/f", true)
		wantNotFound(f.t, err, "Writer(/d/f, append=true) with nothing to resume")
		if w != nil {
			f.t.Error("Writer returned a writer with its error")
		}
		f.wantAbsent("/d/f")
		f.wantAbsent("/d")
	})
	s.leaf(t, "AppendAfterCancel", func(f *fixture) {
		w := f.writer("/f", false)
		f.write(w, "abc")
		f.closeW(w)
		w = f.writer("/f", true)
		if err := w.Cancel(f.ctx); err != nil {
			f.t.Fatalf("Cancel: %v", err)
		}
		f.closeW(w)
		_, err := f.d.Writer(f.ctx, "/f", true)
		wantNotFound(f.t, err, "Writer(/f, append=true) after Cancel")
		f.wantAbsent("/f")
	})
	s.leaf(t, "AppendOtherPath", func(f *fixture) {
		w := f.writer("/d/a", false)
		f.write(w, "abc")
		f.closeW(w)
		for _, p := range []string{"/d/b", "/d/a2", "/d"} {
			_, err := f.d.Writer(f.ctx, p, true)
			wantNotFound(f.t, err, "Writer("+p+", append=true)")
		}
		f.discard("/d/a")
	})
	s.leaf(t, "NewDiscardsUncommitted", func(f *fixture) {
		w := f.writer("/f", false)
		f.write(w, "old uncommitted")
		f.closeW(w)
		w = f.writer("/f", false)
		if w.Size() != 0 {
			f.t.Errorf("new writer Size() = %d, want 0", w.Size())
		}
		f.write(w, "new")
		f.commit(w)
		f.wantString("/f", "new")
		// The old uncommitted bytes are gone: appending now continues the
		// committed file.
		w = f.writer("/f", true)
		if w.Size() != 3 {
			f.t.Errorf("Writer(/f, append=true) after Commit: Size() = %d, want 3", w.Size())
		}
		if err := w.Cancel(f.ctx); err != nil {
			f.t.Fatalf("Cancel: %v", err)
		}
		f.closeW(w)
		f.wantString("/f", "new")
	})
	s.leaf(t, "NewDiscardsThenResume", func(f *fixture) {
		w := f.writer("/f", false)
		f.write(w, "old uncommitted")
		f.closeW(w)
		w = f.writer("/f", false)
		f.write(w, "x")
		f.closeW(w)
		w = f.writer("/f", true)
		if w.Size() != 1 {
			f.t.Errorf("resumed Size() = %d, want 1", w.Size())
		}
		f.commit(w)
		f.wantString("/f", "x")
	})
	s.leaf(t, "CommitResumedWithoutWrites", func(f *fixture) {
		w := f.writer("/f", false)
		f.write(w, "abc")
		f.closeW(w)
		w = f.writer("/f", true)
		f.commit(w)
		f.wantString("/f", "abc")
	})
	s.leaf(t, "TwoWritersDifferentPaths", func(f *fixture) {
		a := f.writer("/d/a", false)
		b := f.writer("/d/b", false)
		for i := 0; i < 5; i++ {
			f.write(a, "a")
			f.write(b, "bb")
		}
		f.commit(b)
		f.wantAbsent("/d/a")
		f.commit(a)
		f.wantString("/d/a", "aaaaa")
		f.wantString("/d/b", "bbbbbbbbbb")
	})
	s.heavyLeaf(t, "LargeSessions", func(f *fixture) {
		// Three sessions of 6 MiB and a small last one: every backend with
		// a multi-part minimum (S3: 5 MiB) has to carry parts across
		// sessions and finish with a short part.
		const seed = 6
		sizes := []int64{6 << 20, 6 << 20, 6 << 20, 100_000}
		var total int64
		buf := make([]byte, 1<<20+13)
		var w driver.FileWriter
		for i, size := range sizes {
			w = f.writer("/big/f", i > 0)
			if w.Size() != total {
				f.t.Fatalf("session %d: Size() = %d, want %d", i, w.Size(), total)
			}
			for end := total + size; total < end; {
				n := min(int64(len(buf)), end-total)
				fillPattern(seed, total, buf[:n])
				if m, err := w.Write(buf[:n]); err != nil || int64(m) != n {
					f.t.Fatalf("session %d: Write at %d: %d, %v", i, total, m, err)
				}
				total += n
			}
			if i < len(sizes)-1 {
				f.closeW(w)
				if w.Size() != total {
					f.t.Errorf("session %d: Size() after Close = %d, want %d", i, w.Size(), total)
				}
				f.wantAbsent("/big/f")
			}
		}
		f.commit(w)
		if w.Size() != total {
			f.t.Errorf("Size() after Commit = %d, want %d", w.Size(), total)
		}
		f.wantFile("/big/f", total)
		f.wantSum("/big/f", 0, total, patternSum(seed, 0, total))
		off := int64(12<<20 - 5) // straddles the second and third sessions
		f.wantSum("/big/f", off, total-off, patternSum(seed, off, total-off))
	})
}
