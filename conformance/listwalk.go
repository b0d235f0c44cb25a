package conformance

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stowage-dev/stowage/driver"
)

// walkTree is laid out so that name order and walk order differ: "/a-b"
// and "/a.b/" sort before "/a/" because '-' and '.' sort before '/'.
var walkTree = []string{
	"/B",
	"/_",
	"/a/b",
	"/a/c/d",
	"/a/c/e",
	"/a/c/f/g",
	"/a/e",
	"/a-b",
	"/a.b/x",
	"/a0",
	"/ab/x",
	"/ab/y/z",
	"/b",
}

// manyFiles is the size of the large-directory List test.
const manyFiles = 1200

// bulkFiles is the size of the bulk Walk, Delete and DeleteFiles tests.
const bulkFiles = 2500

func (s *suite) testList(t *testing.T) {
	s.leaf(t, "Root", func(f *fixture) {
		f.putFiles(walkTree...)
		f.wantList("/", "/B", "/_", "/a", "/a-b", "/a.b", "/a0", "/ab", "/b")
	})
	s.leaf(t, "Nested", func(f *fixture) {
		f.putFiles(walkTree...)
		f.wantList("/a", "/a/b", "/a/c", "/a/e")
		f.wantList("/a/c", "/a/c/d", "/a/c/e", "/a/c/f")
		f.wantList("/a/c/f", "/a/c/f/g")
		f.wantList("/ab", "/ab/x", "/ab/y")
	})
	s.leaf(t, "Missing", func(f *fixture) {
		f.putFiles(walkTree...)
		for _, p := range []string{"/missing", "/a/missing", "/a/c/f/missing"} {
			_, err := f.d.List(f.ctx, p)
			wantNotFound(f.t, err, "List("+p+")")
		}
	})
	s.leaf(t, "File", func(f *fixture) {
		f.putFiles(walkTree...)
		for _, p := range []string{"/a/b", "/B", "/a/c/f/g"} {
			_, err := f.d.List(f.ctx, p)
			wantNotFound(f.t, err, "List("+p+") of a file")
		}
	})
	s.leaf(t, "PrefixIsNotADirectory", func(f *fixture) {
		f.putFiles("/a/b/x", "/a/bc", "/a/b.txt", "/a/b-c/y")
		f.wantList("/a/b", "/a/b/x")
		f.wantList("/a", "/a/b", "/a/b-c", "/a/b.txt", "/a/bc")
		for _, p := range []string{"/a/b-", "/a/b.", "/a/bc/x"} {
			_, err := f.d.List(f.ctx, p)
			wantNotFound(f.t, err, "List("+p+")")
		}
	})
	s.leaf(t, "DirectoriesOnce", func(f *fixture) {
		f.putMany(numbered("/d", "f", 30), func(i int) []byte { return []byte{byte(i)} })
		f.putFiles("/d/sub/x", "/d/sub/y", "/d2/x", "/e")
		f.wantList("/", "/d", "/d2", "/e")
		got := f.list("/d")
		if n := len(got); n != 31 {
			f.t.Fatalf("List(/d) has %d entries, want 31: %q", n, got)
		}
		if got[len(got)-1] != "/d/sub" || slices.Index(got, "/d/sub") != len(got)-1 {
			f.t.Errorf("List(/d) = %q, want /d/sub once, last", got)
		}
	})
	s.leaf(t, "EmptyRoot", func(f *fixture) {
		got, err := f.d.List(f.ctx, "/")
		if err != nil && !driver.IsNotFound(err) {
			f.t.Errorf("List(/) of an empty store: %v", err)
		}
		if len(got) > 0 {
			f.t.Errorf("List(/) of an empty store = %q", got)
		}
	})
	s.leaf(t, "AfterDeletingTheOnlyFile", func(f *fixture) {
		f.puts("/x/y/f", "x")
		if err := f.d.Delete(f.ctx, "/x/y/f"); err != nil {
			f.t.Fatalf("Delete(/x/y/f): %v", err)
		}
		for _, p := range []string{"/x/y", "/x"} {
			_, err := f.d.List(f.ctx, p)
			wantNotFound(f.t, err, "List("+p+") after its only file was deleted")
		}
	})
	s.heavyLeaf(t, "ManyFiles", func(f *fixture) {
		paths := numbered("/many", "f", manyFiles)
		f.putMany(paths, func(i int) []byte { return []byte(paths[i]) })
		f.puts("/many/sub/x", "x")
		want := append(slices.Clone(paths), "/many/sub")
		sort.Strings(want)
		got := f.list("/many")
		if !slices.Equal(got, want) {
			f.t.Errorf("List(/many) has %d entries (first %q), want %d sorted full paths", len(got), got[:min(3, len(got))], len(want))
		}
		if err := f.d.Delete(f.ctx, "/many"); err != nil {
			f.t.Errorf("Delete(/many): %v", err)
		}
	})
}

// errStop is a WalkFn's error that must stop the walk.
var errStop = errors.New("conformance: stop the walk")

func (s *suite) testWalk(t *testing.T) {
	tree := treeOf("/", walkTree)

	s.leaf(t, "Order", func(f *fixture) {
		f.putFiles(walkTree...)
		wantEntries(f.t, "Walk(/)", f.walk("/"), tree)
	})
	s.leaf(t, "FileInfo", func(f *fixture) {
		f.putFiles(walkTree...)
		for _, e := range f.walk("/") {
			switch {
			case e.isDir && e.size != 0:
				f.t.Errorf("Walk: directory %s has size %d, want 0", e.path, e.size)
			case !e.isDir && e.size != int64(len(e.path)):
				f.t.Errorf("Walk: file %s has size %d, want %d", e.path, e.size, len(e.path))
			}
		}
	})
	s.leaf(t, "Subtree", func(f *fixture) {
		f.putFiles(walkTree...)
		wantEntries(f.t, "Walk(/a)", f.walk("/a"), treeOf("/a", walkTree))
		wantEntries(f.t, "Walk(/a/c)", f.walk("/a/c"), treeOf("/a/c", walkTree))
		wantEntries(f.t, "Walk(/ab)", f.walk("/ab"), treeOf("/ab", walkTree))
	})
	s.leaf(t, "ConsistentWithList", func(f *fixture) {
		f.putFiles(walkTree...)
		children := map[string][]string{}
		for _, e := range f.walk("/") {
			parent := driver.ParentDir(e.path)
			children[parent] = append(children[parent], e.path)
		}
		for dir, want := range children {
			sort.Strings(want)
			f.wantList(dir, want...)
		}
	})

	t.Run("SkipDir", func(t *testing.T) {
		skipCases := []struct {
			name string
			skip func(e entry) bool
		}{
			{"Nested", func(e entry) bool { return e.path == "/a/c" }},
			{"TopLevel", func(e entry) bool { return e.path == "/a" }},
			{"Deepest", func(e entry) bool { return e.path == "/a/c/f" }},
			{"Every", func(e entry) bool { return e.isDir }},
		}
		for _, c := range skipCases {
			s.leaf(t, c.name, func(f *fixture) {
				f.putFiles(walkTree...)
				want := withoutSkipped(tree, c.skip)
				got := f.walkSkipping("/", c.skip)
				wantEntries(f.t, "Walk(/) with ErrSkipDir", got, want)
			})
		}
		s.leaf(t, "OnFileIgnored", func(f *fixture) {
			f.putFiles(walkTree...)
			got := f.walkSkipping("/", func(e entry) bool { return !e.isDir })
			wantEntries(f.t, "Walk(/) returning ErrSkipDir for every file", got, tree)
		})
		s.leaf(t, "Wrapped", func(f *fixture) {
			f.putFiles(walkTree...)
			var got []entry
			err := f.d.Walk(f.ctx, "/", func(fi driver.FileInfo) error {
				got = append(got, entry{path: fi.Path(), isDir: fi.IsDir()})
				if fi.Path() == "/a" {
					return fmt.Errorf("wrapped: %w", driver.ErrSkipDir)
				}
				return nil
			})
			if err != nil {
				f.t.Fatalf("Walk(/): %v", err)
			}
			wantEntries(f.t, "Walk(/) with a wrapped ErrSkipDir", got, withoutSkipped(tree, func(e entry) bool { return e.path == "/a" }))
		})
	})

	t.Run("Error", func(t *testing.T) {
		for _, c := range []struct {
			name string
			at   int // index in tree of the entry whose call fails
		}{{"OnFile", 0}, {"OnDirectory", 5}, {"Later", 9}} {
			s.leaf(t, c.name, func(f *fixture) {
				f.putFiles(walkTree...)
				if tree[c.at].isDir != (c.name == "OnDirectory") {
					f.t.Fatalf("test setup: entry %d is %v", c.at, tree[c.at])
				}
				calls := 0
				err := f.d.Walk(f.ctx, "/", func(fi driver.FileInfo) error {
					calls++
					if calls == c.at+1 {
						return fmt.Errorf("at %s: %w", fi.Path(), errStop)
					}
					return nil
				})
				wantIs(f.t, err, errStop, "Walk(/) whose function fails")
				if calls != c.at+1 {
					f.t.Errorf("Walk(/) called its function %d times after it failed on call %d", calls, c.at+1)
				}
			})
		}
	})

	t.Run("StartAfter", func(t *testing.T) {
		hints := []struct{ name, root, hint string }{
			{"FileHint", "/", "/a-b"},
			{"DirHint", "/", driver.WalkKey("/a.b", true)},
			{"NestedDirHint", "/", driver.WalkKey("/a/c", true)},
			{"InsideDirHint", "/", "/a/c/d"},
			{"DeepInsideHint", "/", "/a/c/f/g"},
			{"NotAnEntry", "/", "/a/bb"},
			{"BeforeEverything", "/", "/0"},
			{"PastEverything", "/", "/zzz"},
			{"Subtree", "/a", "/a/c/e"},
		}
		for _, c := range hints {
			s.leaf(t, c.name, func(f *fixture) {
				f.putFiles(walkTree...)
				want := filterEntries(treeOf(c.root, walkTree), func(e entry) bool { return e.key() > c.hint })
				got := f.walk(c.root, driver.WithStartAfter(c.hint))
				wantEntries(f.t, fmt.Sprintf("Walk(%s, StartAfter %q)", c.root, c.hint), got, want)
			})
		}
	})

	t.Run("Parallel", func(t *testing.T) {
		s.leaf(t, "SameEntries", func(f *fixture) {
			f.putFiles(walkTree...)
			got := f.walkParallel("/", 4, func(entry) error { return nil })
			wantSameSet(f.t, "parallel Walk(/)", got, tree)
		})
		s.leaf(t, "ManyFiles", func(f *fixture) {
			var files []string
			for d := 0; d < 4; d++ {
				files = append(files, numbered(fmt.Sprintf("/p%d", d), "f", 50)...)
			}
			f.putMany(files, func(i int) []byte { return []byte{byte(i)} })
			got := f.walkParallel("/", 4, func(entry) error { return nil })
			wantSameSet(f.t, "parallel Walk(/)", got, treeOf("/", files))
		})
		s.leaf(t, "SkipDir", func(f *fixture) {
			f.putFiles(walkTree...)
			skip := func(e entry) bool { return e.path == "/a/c" || e.path == "/ab" }
			got := f.walkParallel("/", 4, func(e entry) error {
				if skip(e) {
					return driver.ErrSkipDir
				}
				return nil
			})
			wantSameSet(f.t, "parallel Walk(/) with ErrSkipDir", got, withoutSkipped(tree, skip))
		})
		s.leaf(t, "StartAfter", func(f *fixture) {
			f.putFiles(walkTree...)
			hint := "/a/c/d"
			got := f.walkParallel("/", 3, func(entry) error { return nil }, driver.WithStartAfter(hint))
			want := filterEntries(tree, func(e entry) bool { return e.key() > hint })
			wantSameSet(f.t, "parallel Walk(/) with StartAfter", got, want)
		})
		s.leaf(t, "Concurrent", func(f *fixture) { f.checkWalkConcurrent() })
		s.leaf(t, "Error", func(f *fixture) {
			f.putFiles(walkTree...)
			err := f.d.Walk(f.ctx, "/", func(fi driver.FileInfo) error {
				if fi.Path() == "/a/c/e" {
					return errStop
				}
				return nil
			}, driver.WithParallel(4))
			wantIs(f.t, err, errStop, "parallel Walk(/) whose function fails")
		})
	})

	s.leaf(t, "Missing", func(f *fixture) {
		f.putFiles(walkTree...)
		for _, p := range []string{"/missing", "/a/missing", "/a.", "/a-", "/a/c/f/g/h"} {
			calls := 0
			err := f.d.Walk(f.ctx, p, func(driver.FileInfo) error { calls++; return nil })
			wantNotFound(f.t, err, "Walk("+p+")")
			if calls > 0 {
				f.t.Errorf("Walk(%s) called its function %d times", p, calls)
			}
		}
	})
	s.leaf(t, "File", func(f *fixture) {
		f.putFiles(walkTree...)
		for _, p := range []string{"/a/b", "/B", "/a/c/f/g"} {
			err := f.d.Walk(f.ctx, p, func(driver.FileInfo) error { return nil })
			wantNotFound(f.t, err, "Walk("+p+") of a file")
		}
	})
	s.leaf(t, "EmptyRoot", func(f *fixture) {
		calls := 0
		err := f.d.Walk(f.ctx, "/", func(driver.FileInfo) error { calls++; return nil })
		if err != nil && !driver.IsNotFound(err) {
			f.t.Errorf("Walk(/) of an empty store: %v", err)
		}
		if calls > 0 {
			f.t.Errorf("Walk(/) of an empty store called its function %d times", calls)
		}
	})
	// Request counts apply only to flat-listing HTTP backends.
	if s.h.Caps.HTTP && s.h.Caps.ListPageSize > 0 {
		s.heavyLeaf(t, "RequestCount", func(f *fixture) {
			caps := f.s.h.Caps
			var files []string
			for d := 0; d < 5; d++ {
				files = append(files, numbered(fmt.Sprintf("/w/d%d", d), "f", bulkFiles/5)...)
			}
			f.putMany(files, func(i int) []byte { return nil })
			var got []entry
			n := f.requestsDuring(func() { got = f.walk("/w") })
			want := ceilDiv(bulkFiles, caps.ListPageSize)
			if caps.ListEndsEmpty {
				want++ // the empty page that ends the listing
			}
			if n != want {
				f.t.Errorf("Walk over %d keys sent %d requests, want ceil(%d/%d) = %d (ListEndsEmpty %v)", bulkFiles, n, bulkFiles, caps.ListPageSize, want, caps.ListEndsEmpty)
			}
			wantEntries(f.t, "Walk(/w)", got, treeOf("/w", files))
		})
	}
}

// walkSkipping walks p and returns ErrSkipDir for the entries skip picks.
func (f *fixture) walkSkipping(p string, skip func(entry) bool) []entry {
	f.t.Helper()
	var got []entry
	err := f.d.Walk(f.ctx, p, func(fi driver.FileInfo) error {
		e := entry{path: fi.Path(), isDir: fi.IsDir(), size: fi.Size()}
		got = append(got, e)
		if skip(e) {
			return driver.ErrSkipDir
		}
		return nil
	})
	if err != nil {
		f.t.Fatalf("Walk(%s): %v", p, err)
	}
	return got
}

// withoutSkipped returns the entries a walk visits when it returns
// ErrSkipDir for the directories skip picks.
func withoutSkipped(es []entry, skip func(entry) bool) []entry {
	var skipped []string
	for _, e := range es {
		if e.isDir && skip(e) {
			skipped = append(skipped, e.path)
		}
	}
	return filterEntries(es, func(e entry) bool {
		for _, d := range skipped {
			if driver.IsUnder(e.path, d) {
				return false
			}
		}
		return true
	})
}

// walkParallel walks p with WithParallel(n), calling fn for each entry. It
// checks that no more than n calls run at once and that every entry's
// directory was visited before it.
func (f *fixture) walkParallel(p string, n int, fn func(entry) error, opts ...driver.WalkOption) []entry {
	f.t.Helper()
	var (
		mu       sync.Mutex
		got      []entry
		visited  = map[string]bool{}
		inFlight atomic.Int32
		maxSeen  atomic.Int32
	)
	hint := driver.ApplyWalkOptions(opts...).StartAfter
	opts = append(opts, driver.WithParallel(n))
	err := f.d.Walk(f.ctx, p, func(fi driver.FileInfo) error {
		cur := inFlight.Add(1)
		defer inFlight.Add(-1)
		for {
			m := maxSeen.Load()
			if cur <= m || maxSeen.CompareAndSwap(m, cur) {
				break
			}
		}
		e := entry{path: fi.Path(), isDir: fi.IsDir(), size: fi.Size()}
		mu.Lock()
		got = append(got, e)
		parent := driver.ParentDir(e.path)
		if parent != p && driver.WalkKey(parent, true) > hint && !visited[parent] {
			f.t.Errorf("parallel Walk(%s) visited %s before its directory", p, e)
		}
		if e.isDir {
			visited[e.path] = true
		}
		mu.Unlock()
		return fn(e)
	}, opts...)
	if err != nil {
		f.t.Fatalf("parallel Walk(%s): %v", p, err)
	}
	if m := maxSeen.Load(); int(m) > n {
		f.t.Errorf("parallel Walk(%s) ran %d calls at once, want at most %d", p, m, n)
	}
	return got
}

// wantSameSet fails t unless got and want hold the same entries, in any
// order, each once.
func wantSameSet(t testing.TB, what string, got, want []entry) {
	t.Helper()
	got = slices.Clone(got)
	sortEntries(got)
	wantEntries(t, what+" (sorted)", got, want)
}

// concurrentWait bounds how long Walk/Parallel/Concurrent waits for a
// second call to join the first. It is no timing assertion: a parallel
// walk starts the second call at once, and only a walk that makes its
// calls one at a time, and so can never start one while another waits,
// ever reaches the bound. It is cut to leave time before the test's
// deadline.
const concurrentWait = 10 * time.Second

// checkWalkConcurrent checks that WithParallel(4) really runs calls at
// once: the first file's call waits for a second to be in flight (a
// barrier of two) and fails the test when none comes, instead of
// hanging, when the wait is over (concurrentWait, or the test's deadline
// if sooner). Every other call returns at once.
func (f *fixture) checkWalkConcurrent() {
	files := numbered("/p", "f", 8)
	f.putFiles(files...)
	wait := concurrentWait
	if dl, ok := f.t.Deadline(); ok {
		wait = min(wait, time.Until(dl)/2)
	}
	ctx, cancel := context.WithTimeout(f.ctx, wait)
	defer cancel()
	var (
		inFlight atomic.Int32
		first    atomic.Bool
		joined   = make(chan struct{})
		once     sync.Once
		met      atomic.Bool
	)
	err := f.d.Walk(f.ctx, "/", func(fi driver.FileInfo) error {
		if fi.IsDir() {
			return nil
		}
		if inFlight.Add(1) >= 2 {
			once.Do(func() { close(joined) })
		}
		defer inFlight.Add(-1)
		if !first.CompareAndSwap(false, true) {
			return nil
		}
		select {
		case <-joined:
			met.Store(true)
		case <-ctx.Done():
		}
		return nil
	}, driver.WithParallel(4))
	if err != nil {
		f.t.Fatalf("parallel Walk(/): %v", err)
	}
	if !met.Load() {
		f.t.Errorf("Walk(/, WithParallel(4)) over %d files never had two calls in flight: the first waited %v for a second", len(files), wait)
	}
}
