package conformance

import (
	"strings"
	"testing"
	"time"

	"github.com/stowage-dev/stowage/driver"
)

// testUploads checks driver.UploadStager, for a backend that implements
// it: uploads closed and not committed are listed with their path, size
// and start, and purging one removes exactly it.
func (s *suite) testUploads(t *testing.T) {
	s.leaf(t, "ListsClosedUploads", func(f *fixture) {
		st := f.stager()
		before := time.Now()
		f.closedUpload("/u/a", 3000)
		f.closedUpload("/u/deep/b", 10)
		w := f.writer("/u/c", false)
		f.write(w, "committed")
		f.commit(w)
		w = f.writer("/u/gone", false)
		f.write(w, "cancelled")
		if err := w.Cancel(f.ctx); err != nil {
			f.t.Fatalf("Cancel: %v", err)
		}
		got := f.stagedUploads(st)
		if len(got) != 2 {
			f.t.Fatalf("StagedUploads = %+v, want /u/a and /u/deep/b only", got)
		}
		for p, size := range map[string]int64{"/u/a": 3000, "/u/deep/b": 10} {
			u, ok := got[p]
			switch {
			case !ok:
				f.t.Errorf("%s not listed: %+v", p, got)
			case u.Size != size && u.Size != 0:
				f.t.Errorf("%s: Size %d, want %d (or 0: unknown)", p, u.Size, size)
			case u.Pieces < 1:
				f.t.Errorf("%s: %d pieces", p, u.Pieces)
			case u.Started.Before(before.Add(-5*time.Minute)) || u.Started.After(time.Now().Add(5*time.Minute)):
				f.t.Errorf("%s: Started %v, the test began at %v", p, u.Started, before)
			}
		}
	})
	s.leaf(t, "PurgeRemovesOnlyThatUpload", func(f *fixture) {
		st := f.stager()
		f.closedUpload("/u/a", 3000)
		f.closedUpload("/u/b", 2000)
		f.put("/u/c", []byte("committed"))
		w := f.writer("/u/c", true)
		f.write(w, " and more")
		f.closeW(w)
		got := f.stagedUploads(st)
		for _, p := range []string{"/u/a", "/u/c"} {
			u, ok := got[p]
			if !ok {
				f.t.Fatalf("%s not listed: %+v", p, got)
			}
			if err := st.PurgeStagedUpload(f.ctx, u); err != nil {
				f.t.Fatalf("PurgeStagedUpload(%s): %v", p, err)
			}
			if err := st.PurgeStagedUpload(f.ctx, u); err != nil {
				f.t.Fatalf("PurgeStagedUpload(%s) again: %v", p, err)
			}
		}
		if got := f.stagedUploads(st); len(got) != 1 || got["/u/b"].Path != "/u/b" {
			f.t.Fatalf("after purging /u/a and /u/c: %+v, want /u/b alone", got)
		}
		f.wantString("/u/c", "committed")
		f.wantAbsent("/u/a")
		// Nothing to resume: appending to no file and no upload is a
		// not-found error.
		if w, err := f.d.Writer(f.ctx, "/u/a", true); !driver.IsNotFound(err) {
			f.t.Errorf("Writer(/u/a, append) after the purge: %v, want a not-found error", err)
			if err == nil {
				_ = w.Cancel(f.ctx)
			}
		}
		w = f.writer("/u/b", true)
		if w.Size() != 2000 {
			f.t.Fatalf("the other upload: Size %d after the purge, want 2000", w.Size())
		}
		f.commit(w)
		f.wantContent("/u/b", []byte(strings.Repeat("x", 2000)))
	})
}

// stager returns the driver as an UploadStager, or skips the leaf.
func (f *fixture) stager() driver.UploadStager {
	f.t.Helper()
	st, ok := f.d.(driver.UploadStager)
	if !ok {
		f.t.Skipf("%s does not implement driver.UploadStager", f.s.h.Name)
	}
	return st
}

// closedUpload writes n bytes of "x" to a new Writer for p and closes it
// without committing.
func (f *fixture) closedUpload(p string, n int) {
	f.t.Helper()
	w := f.writer(p, false)
	f.write(w, strings.Repeat("x", n))
	f.closeW(w)
}

// stagedUploads lists the staged uploads by path; a path listed twice
// fails the test.
func (f *fixture) stagedUploads(st driver.UploadStager) map[string]driver.StagedUpload {
	f.t.Helper()
	list, err := st.StagedUploads(f.ctx)
	if err != nil {
		f.t.Fatalf("StagedUploads: %v", err)
	}
	out := map[string]driver.StagedUpload{}
	for _, u := range list {
		if _, dup := out[u.Path]; dup {
			f.t.Fatalf("StagedUploads lists %s twice: %+v", u.Path, list)
		}
		out[u.Path] = u
	}
	return out
}
