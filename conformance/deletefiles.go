package conformance

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/stowage-dev/stowage/driver"
)

func (s *suite) testDeleteFiles(t *testing.T) {
	s.leaf(t, "Empty", func(f *fixture) {
		f.putFiles("/keep")
		for _, paths := range [][]string{nil, {}} {
			f.wantDeleteFiles(paths, 0)
		}
		f.wantString("/keep", "/keep")
	})
	s.leaf(t, "Single", func(f *fixture) {
		f.putFiles("/d/f", "/d/g")
		f.wantDeleteFiles([]string{"/d/f"}, 1)
		f.wantAbsent("/d/f")
		f.wantList("/d", "/d/g")
	})
	s.leaf(t, "Several", func(f *fixture) {
		files := []string{"/a", "/b/c", "/b/d", "/e/f/g", "/e/f/h", "/e/i"}
		f.putFiles(append(files, "/keep/x", "/e/keep")...)
		f.wantDeleteFiles(files, len(files))
		for _, p := range files {
			f.wantAbsent(p)
		}
		f.wantList("/", "/e", "/keep")
		f.wantList("/e", "/e/keep")
	})
	s.leaf(t, "Duplicates", func(f *fixture) {
		f.putFiles("/a", "/b", "/keep")
		f.wantDeleteFiles([]string{"/a", "/a", "/b", "/a", "/b"}, 2)
		f.wantAbsent("/a")
		f.wantAbsent("/b")
		f.wantList("/", "/keep")
	})
	s.leaf(t, "MissingCountAsDeleted", func(f *fixture) {
		f.putFiles("/d/f", "/keep")
		f.wantDeleteFiles([]string{"/missing", "/d/missing", "/d/f", "/other/missing"}, 4)
		f.wantAbsent("/d/f")
		f.wantList("/", "/keep")
	})
	s.leaf(t, "AllMissing", func(f *fixture) {
		f.putFiles("/keep")
		f.wantDeleteFiles([]string{"/x", "/y/z"}, 2)
		f.wantList("/", "/keep")
	})
	s.leaf(t, "UnderFile", func(f *fixture) {
		f.putFiles("/f")
		f.wantDeleteFiles([]string{"/f/x", "/f/x/y"}, 2)
		f.wantString("/f", "/f")
	})
	s.leaf(t, "DirectoryLeftAlone", func(f *fixture) {
		f.putFiles("/d/a", "/d/b/c", "/e")
		f.wantDeleteFiles([]string{"/d", "/d/b", "/e"}, 3)
		f.wantString("/d/a", "/d/a")
		f.wantString("/d/b/c", "/d/b/c")
		f.wantAbsent("/e")
		f.wantList("/", "/d")
	})
	s.leaf(t, "PrefixSiblingsUntouched", func(f *fixture) {
		f.putFiles(prefixSiblings...)
		before := f.snapshot()
		f.wantDeleteFiles([]string{"/a/b"}, 1)
		f.wantSnapshot("DeleteFiles([/a/b])", before)
	})
	t.Run("InvalidRejectsAll", func(t *testing.T) {
		for _, c := range []struct{ name, bad string }{
			{"Traversal", "/x/../a"},
			{"Root", "/"},
			{"Empty", ""},
			{"Relative", "a"},
			{"TrailingSlash", "/a/"},
			{"Space", "/a b"},
		} {
			s.leaf(t, c.name, func(f *fixture) {
				f.putFiles("/a", "/b/c", "/d")
				before := f.snapshot()
				var (
					n   int
					err error
				)
				f.wantNoRequests("DeleteFiles with an invalid path", func() {
					n, err = f.d.DeleteFiles(f.ctx, []string{"/a", "/b/c", c.bad, "/d"})
				})
				wantInvalidPath(f.t, f.d, err, fmt.Sprintf("DeleteFiles with %q", c.bad))
				if n != 0 {
					f.t.Errorf("DeleteFiles with an invalid path = %d, want 0", n)
				}
				f.wantSnapshot("DeleteFiles with an invalid path", before)
			})
		}
	})
	s.leaf(t, "EmptyParentsPruned", func(f *fixture) {
		f.putFiles("/p/q/a", "/p/q/b", "/p/r/c", "/p2/x", "/p/qq")
		f.wantDeleteFiles([]string{"/p/q/a", "/p/q/b"}, 2)
		f.wantAbsent("/p/q")
		f.wantList("/p", "/p/qq", "/p/r")
		f.wantDeleteFiles([]string{"/p/r/c", "/p/qq"}, 2)
		f.wantAbsent("/p/r")
		f.wantAbsent("/p")
		f.wantList("/", "/p2")
	})
	s.leaf(t, "DeepParentsPruned", func(f *fixture) {
		f.putFiles("/a/b/c/d/e/f")
		f.wantDeleteFiles([]string{"/a/b/c/d/e/f"}, 1)
		for _, p := range []string{"/a/b/c/d/e", "/a/b/c", "/a"} {
			f.wantAbsent(p)
		}
	})
	s.leaf(t, "RootStaysUsable", func(f *fixture) {
		f.putFiles("/a", "/b/c")
		f.wantDeleteFiles([]string{"/a", "/b/c"}, 2)
		f.puts("/again", "x")
		f.wantList("/", "/again")
	})
	// Request counts apply only to backends that send HTTP requests.
	if s.h.Caps.HTTP {
		s.leaf(t, "RequestCount", func(f *fixture) {
			files := numbered("/d", "f", 10)
			f.putMany(files, func(int) []byte { return nil })
			paths := append(append([]string{}, files...), files[:5]...) // duplicates too
			var n int
			reqs := f.requestsDuring(func() { n = f.deleteFiles(paths) })
			if n != len(files) {
				f.t.Errorf("DeleteFiles = %d, want %d", n, len(files))
			}
			if want := ceilDiv(len(files), f.s.h.Caps.DeleteBatchSize); reqs != want {
				f.t.Errorf("DeleteFiles of %d paths sent %d requests, want %d (no list, no stat)", len(files), reqs, want)
			}
		})
	}
	s.heavyLeaf(t, "Many", func(f *fixture) {
		var files []string
		for d := 0; d < 5; d++ {
			files = append(files, numbered(fmt.Sprintf("/big/d%d", d), "f", bulkFiles/5)...)
		}
		f.putMany(files, func(int) []byte { return []byte("x") })
		f.puts("/big/keep", "keep")
		var n int
		reqs := f.requestsDuring(func() { n = f.deleteFiles(files) })
		if n != bulkFiles {
			f.t.Errorf("DeleteFiles = %d, want %d", n, bulkFiles)
		}
		if caps := f.s.h.Caps; caps.HTTP {
			if want := ceilDiv(bulkFiles, caps.DeleteBatchSize); reqs != want {
				f.t.Errorf("DeleteFiles of %d paths sent %d requests, want ceil(%d/%d) = %d",
					bulkFiles, reqs, bulkFiles, caps.DeleteBatchSize, want)
			}
		}
		f.wantList("/big", "/big/keep")
		f.wantAbsent(files[0])
		f.wantAbsent(files[len(files)-1])
	})
	s.heavyLeaf(t, "CancelledMidway", func(f *fixture) {
		f.checkCancelledMidway()
	})
}

// wantDeleteFiles fails the test unless DeleteFiles(paths) returns (n, nil).
func (f *fixture) wantDeleteFiles(paths []string, n int) {
	f.t.Helper()
	var got int
	reqs := f.requestsDuring(func() { got = f.deleteFiles(paths) })
	if got != n {
		f.t.Errorf("DeleteFiles(%q) = %d, want %d", paths, got, n)
	}
	if caps := f.s.h.Caps; caps.HTTP {
		if want := ceilDiv(n, caps.DeleteBatchSize); reqs != want {
			f.t.Errorf("DeleteFiles(%q) sent %d requests, want %d", paths, reqs, want)
		}
	}
}

// deleteFiles calls DeleteFiles, which must not fail.
func (f *fixture) deleteFiles(paths []string) int {
	f.t.Helper()
	n, err := f.d.DeleteFiles(f.ctx, paths)
	if err != nil {
		f.t.Fatalf("DeleteFiles(%d paths): %v", len(paths), err)
	}
	return n
}

// cancelAfterFirst is an http.RoundTripper that cancels a context once the
// first response has come back.
type cancelAfterFirst struct {
	cancel context.CancelFunc
	once   sync.Once
}

func (c *cancelAfterFirst) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(req)
	c.once.Do(c.cancel)
	return resp, err
}

// checkCancelledMidway cancels a large DeleteFiles while it runs (after its
// first request for an HTTP backend, at once otherwise) and checks that
// nothing is lost silently: n plus the failures is the number of unique
// paths, and every path not listed as failed is gone.
func (f *fixture) checkCancelledMidway() {
	count := 1000
	if caps := f.s.h.Caps; caps.HTTP {
		// At least three batches where that is affordable, so that the
		// cancellation after the first one hits the others.
		count = min(2*caps.DeleteBatchSize+1, bulkFiles)
	}
	files := numbered("/m", "f", count)
	f.putMany(files, func(int) []byte { return []byte("x") })
	ctx, cancel := context.WithCancel(f.ctx)
	defer cancel()
	var (
		n   int
		err error
	)
	if hook := f.hook(); f.s.h.Caps.HTTP && hook != nil {
		hook.set(&cancelAfterFirst{cancel: cancel})
		n, err = f.d.DeleteFiles(ctx, append(files, files[:10]...))
		hook.set(nil)
	} else {
		start := make(chan struct{})
		go func() { <-start; cancel() }()
		close(start)
		n, err = f.d.DeleteFiles(ctx, append(files, files[:10]...))
	}

	failed := map[string]bool{}
	var dfe *driver.DeleteFilesError
	switch {
	case err == nil:
		if n != len(files) {
			f.t.Errorf("DeleteFiles = %d, nil; want %d", n, len(files))
		}
	case errors.As(err, &dfe):
		for _, fl := range dfe.Failures {
			if failed[fl.Path] {
				f.t.Errorf("DeleteFilesError lists %s twice", fl.Path)
			}
			failed[fl.Path] = true
			if fl.Err == nil {
				f.t.Errorf("DeleteFilesError lists %s without a cause", fl.Path)
			}
		}
		if n+len(dfe.Failures) != len(files) {
			f.t.Errorf("DeleteFiles = %d with %d failures, want them to add up to %d", n, len(dfe.Failures), len(files))
		}
		if !errors.Is(err, context.Canceled) {
			f.t.Errorf("DeleteFilesError %v does not match context.Canceled", err)
		}
		if dfe.DriverName != f.d.Name() {
			f.t.Errorf("DeleteFilesError.DriverName = %q, want %q", dfe.DriverName, f.d.Name())
		}
	default:
		// Cancelled before anything started: nothing may be deleted.
		wantIs(f.t, err, context.Canceled, "cancelled DeleteFiles")
		if n != 0 {
			f.t.Errorf("DeleteFiles = %d with error %v, want 0 or a DeleteFilesError", n, err)
		}
		for _, p := range files {
			failed[p] = true
		}
		got := f.list("/m")
		if len(got) != len(files) {
			f.t.Errorf("DeleteFiles failed with %v without reporting the %d files it deleted", err, len(files)-len(got))
		}
	}
	// Every path counted as deleted is gone.
	remaining := map[string]bool{}
	if got, err := f.d.List(f.ctx, "/m"); err == nil {
		for _, p := range got {
			remaining[p] = true
		}
	} else if !driver.IsNotFound(err) {
		f.t.Fatalf("List(/m): %v", err)
	}
	for _, p := range files {
		if remaining[p] && !failed[p] {
			f.t.Errorf("%s was counted as deleted but still exists", p)
			break
		}
	}
	f.t.Logf("DeleteFiles cancelled midway: n=%d, failed=%d", n, len(failed))
}
