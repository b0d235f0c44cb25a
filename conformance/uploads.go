package conformance

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stowage-dev/stowage/driver"
)

// testUploads checks driver.UploadStager, for a backend that implements
// it: uploads closed and not committed are listed with their path, size
// and start, purging one removes exactly it, and an upload StagedUploads
// cannot have listed is refused (driver.InvalidUploadError).
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

	// An upload StagedUploads cannot have returned is refused with a
	// *driver.InvalidUploadError before any request, and changes nothing:
	// a garbage ID and an empty one, for the upload's own path. The real
	// ID given with another valid path is refused where the ID tells its
	// path (gcs, swift and filesystem name an upload by a hash of its
	// path, azure by its staging blob); where it does not (an s3
	// multipart upload id, an inmemory sequence number) the backend
	// cannot tell without a request that the ID is another path's, so
	// the leaf accepts nil there too, as long as nothing changed: the
	// backend finds no upload of that path with that ID. An invalid path
	// with the real ID (one that cleans to the upload's path) is a
	// *driver.InvalidPathError. Afterwards /u/a's upload is listed with
	// the same ID and resumes whole.
	s.leaf(t, "PurgeRejectsForeignUpload", func(f *fixture) {
		st := f.stager()
		f.closedUpload("/u/a", 3000)
		u, ok := f.stagedUploads(st)["/u/a"]
		if !ok {
			f.t.Fatal("/u/a not listed")
		}
		for _, c := range []struct {
			what       string
			bad        driver.StagedUpload
			mayBeNoErr bool
		}{
			{"a garbage ID", driver.StagedUpload{Path: u.Path, ID: "not-an-upload-id"}, false},
			{"the ID with another path", driver.StagedUpload{Path: "/u/other", ID: u.ID}, true},
			{"an empty ID", driver.StagedUpload{Path: u.Path}, false},
		} {
			var err error
			n := f.requestsDuring(func() { err = st.PurgeStagedUpload(f.ctx, c.bad) })
			var ie *driver.InvalidUploadError
			switch {
			case errors.As(err, &ie):
				if ie.DriverName == "" || ie.Upload.ID != c.bad.ID || ie.Upload.Path != c.bad.Path {
					f.t.Errorf("PurgeStagedUpload with %s: %#v, want it to name the driver and the upload %+v", c.what, ie, c.bad)
				}
				if f.s.h.Caps.HTTP && n != 0 {
					f.t.Errorf("PurgeStagedUpload with %s sent %d HTTP requests before refusing, want 0", c.what, n)
				}
			case err == nil && c.mayBeNoErr:
				// The ID does not tell its path; checked below that
				// nothing changed.
			default:
				f.t.Errorf("PurgeStagedUpload with %s (%+v) = %v, want a *driver.InvalidUploadError", c.what, c.bad, err)
			}
		}
		bad := driver.StagedUpload{Path: "/u/x/../a", ID: u.ID}
		f.wantNoRequests("PurgeStagedUpload with an invalid path", func() {
			if err := st.PurgeStagedUpload(f.ctx, bad); !errors.As(err, new(*driver.InvalidPathError)) {
				f.t.Errorf("PurgeStagedUpload(%+v) = %v, want a *driver.InvalidPathError", bad, err)
			}
		})

		got := f.stagedUploads(st)
		if len(got) != 1 || got["/u/a"].ID != u.ID {
			f.t.Fatalf("after the refused purges: StagedUploads = %+v, want /u/a alone with ID %q", got, u.ID)
		}
		f.wantAbsent("/u/other")
		w := f.writer("/u/a", true)
		if w.Size() != 3000 {
			f.t.Fatalf("Writer(/u/a, append) after the refused purges: Size %d, want 3000", w.Size())
		}
		f.commit(w)
		f.wantContent("/u/a", []byte(strings.Repeat("x", 3000)))
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
