package conformance

import (
	"fmt"
	"testing"

	"github.com/stowage-dev/stowage/driver"
)

// prefixSiblings are files whose names start with "/a/b" without lying
// under it; deleting /a/b must leave them alone.
var prefixSiblings = []string{"/a/bc", "/a/b.txt", "/a/b-c", "/a/b_", "/a/b0/x", "/a/bb/y/z"}

func (s *suite) testDelete(t *testing.T) {
	s.leaf(t, "File", func(f *fixture) {
		f.putFiles("/d/f", "/d/g")
		f.delete("/d/f")
		f.wantAbsent("/d/f")
		f.wantString("/d/g", "/d/g")
		f.wantList("/d", "/d/g")
	})
	s.leaf(t, "Tree", func(f *fixture) {
		f.putFiles("/t/a", "/t/b/c", "/t/b/d/e", "/t/b/d/f", "/u/x")
		f.delete("/t")
		for _, p := range []string{"/t", "/t/a", "/t/b", "/t/b/d", "/t/b/d/e"} {
			f.wantAbsent(p)
		}
		f.wantString("/u/x", "/u/x")
		f.wantList("/", "/u")
	})
	s.leaf(t, "NestedTree", func(f *fixture) {
		f.putFiles("/t/a", "/t/b/c", "/t/b/d/e", "/t/bc")
		f.delete("/t/b")
		f.wantAbsent("/t/b")
		f.wantList("/t", "/t/a", "/t/bc")
	})
	s.leaf(t, "FileLeavesPrefixSiblings", func(f *fixture) {
		f.putFiles(append([]string{"/a/b"}, prefixSiblings...)...)
		f.delete("/a/b")
		f.wantAbsent("/a/b")
		for _, p := range prefixSiblings {
			f.wantString(p, p)
		}
	})
	s.leaf(t, "DirectoryLeavesPrefixSiblings", func(f *fixture) {
		f.putFiles(append([]string{"/a/b/x", "/a/b/y/z"}, prefixSiblings...)...)
		f.delete("/a/b")
		f.wantAbsent("/a/b")
		f.wantAbsent("/a/b/x")
		for _, p := range prefixSiblings {
			f.wantString(p, p)
		}
	})
	s.leaf(t, "MissingPrefix", func(f *fixture) {
		f.putFiles(prefixSiblings...)
		before := f.snapshot()
		wantNotFound(f.t, f.d.Delete(f.ctx, "/a/b"), "Delete(/a/b) where only /a/bc... exist")
		f.wantSnapshot("Delete of a missing path", before)
	})
	s.leaf(t, "Missing", func(f *fixture) {
		f.putFiles("/d/f")
		before := f.snapshot()
		for _, p := range []string{"/missing", "/d/missing", "/d/f/under", "/missing/deep"} {
			wantNotFound(f.t, f.d.Delete(f.ctx, p), "Delete("+p+")")
		}
		f.wantSnapshot("Delete of missing paths", before)
	})
	s.leaf(t, "Twice", func(f *fixture) {
		f.putFiles("/d/f", "/e")
		f.delete("/d/f")
		wantNotFound(f.t, f.d.Delete(f.ctx, "/d/f"), "second Delete(/d/f)")
		f.delete("/e")
		f.wantAbsent("/e")
	})
	s.leaf(t, "ParentsVanish", func(f *fixture) {
		f.putFiles("/x/y/f")
		f.delete("/x/y/f")
		f.wantAbsent("/x/y")
		f.wantAbsent("/x")
		if got, err := f.d.List(f.ctx, "/"); err != nil && !driver.IsNotFound(err) {
			f.t.Errorf("List(/): %v", err)
		} else if len(got) > 0 {
			f.t.Errorf("List(/) = %q after deleting the only file", got)
		}
	})
	s.leaf(t, "ParentWithSiblingStays", func(f *fixture) {
		f.putFiles("/x/y/f", "/x/g")
		f.delete("/x/y/f")
		f.wantAbsent("/x/y")
		f.wantDir("/x")
		f.wantList("/x", "/x/g")
	})
	s.leaf(t, "RootStaysUsable", func(f *fixture) {
		f.putFiles("/a/b", "/c")
		f.delete("/a")
		f.delete("/c")
		f.puts("/again/f", "x")
		f.wantString("/again/f", "x")
		f.wantList("/", "/again")
	})
	s.heavyLeaf(t, "ManyFiles", func(f *fixture) {
		var files []string
		for d := 0; d < 5; d++ {
			files = append(files, numbered(fmt.Sprintf("/big/d%d", d), "f", bulkFiles/5)...)
		}
		f.putMany(files, func(int) []byte { return []byte("x") })
		f.puts("/big-keep", "keep")
		f.puts("/bigger/keep", "keep")
		n := f.requestsDuring(func() { f.delete("/big") })
		f.wantAbsent("/big")
		f.wantAbsent(files[0])
		f.wantAbsent(files[len(files)-1])
		f.wantList("/", "/big-keep", "/bigger")
		caps := f.s.h.Caps
		if caps.HTTP && caps.ListPageSize > 0 {
			// Listing the keys and deleting them in bulk, plus a request
			// or two to tell a file from a directory: never one per file.
			limit := ceilDiv(bulkFiles, caps.ListPageSize) + ceilDiv(bulkFiles, caps.DeleteBatchSize) + 2
			if n > limit {
				f.t.Errorf("Delete of a directory of %d files sent %d requests, want at most %d", bulkFiles, n, limit)
			}
			f.t.Logf("Delete of a directory of %d files sent %d requests", bulkFiles, n)
		}
	})
}

// delete deletes p.
func (f *fixture) delete(p string) {
	f.t.Helper()
	if err := f.d.Delete(f.ctx, p); err != nil {
		f.t.Fatalf("Delete(%s): %v", p, err)
	}
}
