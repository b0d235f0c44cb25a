package conformance

import (
	"context"
	"fmt"
	"io"
	"slices"
	"testing"
	"time"

	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/inmemory"
)

// evFixture is a simulator over a fresh inmemory store, on a manual clock.
type evFixture struct {
	t     *testing.T
	ctx   context.Context
	clock *ManualClock
	e     *Eventual
}

func newEvFixture(t *testing.T, o EventualOptions) *evFixture {
	t.Helper()
	clock := NewManualClock(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	o.Clock = clock
	return &evFixture{t: t, ctx: t.Context(), clock: clock, e: NewEventual(inmemory.New(), o)}
}

func (f *evFixture) put(p, s string) {
	f.t.Helper()
	if err := f.e.PutContent(f.ctx, p, []byte(s)); err != nil {
		f.t.Fatalf("PutContent(%s): %v", p, err)
	}
}

// read returns what GetContent, Reader and Stat agree p holds: its content,
// or "<absent>". It fails the test when they disagree.
func (f *evFixture) read(p string) string {
	f.t.Helper()
	got := "<absent>"
	b, err := f.e.GetContent(f.ctx, p)
	switch {
	case err == nil:
		got = string(b)
	case !driver.IsNotFound(err):
		f.t.Fatalf("GetContent(%s): %v", p, err)
	}
	viaReader := "<absent>"
	rc, err := f.e.Reader(f.ctx, p, 0)
	switch {
	case err == nil:
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			f.t.Fatalf("Reader(%s): %v", p, err)
		}
		viaReader = string(b)
	case !driver.IsNotFound(err):
		f.t.Fatalf("Reader(%s): %v", p, err)
	}
	viaStat := "<absent>"
	fi, err := f.e.Stat(f.ctx, p)
	switch {
	case err == nil && !fi.IsDir():
		viaStat = fmt.Sprintf("%d bytes", fi.Size())
	case err != nil && !driver.IsNotFound(err):
		f.t.Fatalf("Stat(%s): %v", p, err)
	}
	wantStat := "<absent>"
	if got != "<absent>" {
		wantStat = fmt.Sprintf("%d bytes", len(got))
	}
	if viaReader != got || viaStat != wantStat {
		f.t.Fatalf("%s: GetContent says %q, Reader %q, Stat %q", p, got, viaReader, viaStat)
	}
	return got
}

func (f *evFixture) wantRead(p, want string) {
	f.t.Helper()
	if got := f.read(p); got != want {
		f.t.Errorf("at +%v: %s reads %q, want %q", f.elapsed(), p, got, want)
	}
}

func (f *evFixture) elapsed() time.Duration {
	return f.clock.Now().Sub(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
}

// listing returns List(dir), or nil when it is not found.
func (f *evFixture) listing(dir string) []string {
	f.t.Helper()
	got, err := f.e.List(f.ctx, dir)
	if err != nil && !driver.IsNotFound(err) {
		f.t.Fatalf("List(%s): %v", dir, err)
	}
	return got
}

func (f *evFixture) wantListing(dir string, want ...string) {
	f.t.Helper()
	if got := f.listing(dir); !slices.Equal(got, want) {
		f.t.Errorf("at +%v: List(%s) = %q, want %q", f.elapsed(), dir, got, want)
	}
}

// walked returns the entries Walk(root) visits ("/a/" for a directory),
// nil when root is not found.
func (f *evFixture) walked(root string) []string {
	f.t.Helper()
	var got []string
	err := f.e.Walk(f.ctx, root, func(fi driver.FileInfo) error {
		got = append(got, driver.WalkKey(fi.Path(), fi.IsDir()))
		return nil
	})
	if err != nil && !driver.IsNotFound(err) {
		f.t.Fatalf("Walk(%s): %v", root, err)
	}
	return got
}

func (f *evFixture) wantWalk(root string, want ...string) {
	f.t.Helper()
	if got := f.walked(root); !slices.Equal(got, want) {
		f.t.Errorf("at +%v: Walk(%s) = %q, want %q", f.elapsed(), root, got, want)
	}
}

func (f *evFixture) wantDirStat(p string, exists bool) {
	f.t.Helper()
	fi, err := f.e.Stat(f.ctx, p)
	switch {
	case err != nil && !driver.IsNotFound(err):
		f.t.Fatalf("Stat(%s): %v", p, err)
	case exists && (err != nil || !fi.IsDir()):
		f.t.Errorf("at +%v: Stat(%s) = %v, %v; want a directory", f.elapsed(), p, fi, err)
	case !exists && err == nil:
		f.t.Errorf("at +%v: Stat(%s) = %+v, want PathNotFoundError", f.elapsed(), p, fi)
	}
}

func TestEventualCreateLag(t *testing.T) {
	f := newEvFixture(t, EventualOptions{CreateLag: time.Second})
	f.put("/d/f", "new")
	f.wantRead("/d/f", "<absent>")
	// Only reads lag: the listing has it at once.
	f.wantListing("/d", "/d/f")
	f.wantWalk("/", "/d/", "/d/f")

	f.clock.Advance(999 * time.Millisecond)
	f.wantRead("/d/f", "<absent>")
	f.clock.Advance(time.Millisecond)
	f.wantRead("/d/f", "new")
	if n := f.e.Pending(); n != 0 {
		t.Errorf("Pending() = %d after the lag, want 0", n)
	}

	// A Writer's Commit and a Move's destination are creations too.
	w, err := f.e.Writer(f.ctx, "/d/w", false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("written")); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(f.ctx); err != nil {
		t.Fatal(err)
	}
	w.Close()
	if err := f.e.Move(f.ctx, "/d/f", "/e/moved"); err != nil {
		t.Fatal(err)
	}
	f.wantRead("/d/w", "<absent>")
	f.wantRead("/e/moved", "<absent>")
	f.wantRead("/d/f", "<absent>") // the source is gone at once: no delete lag
	f.clock.Advance(time.Second)
	f.wantRead("/d/w", "written")
	f.wantRead("/e/moved", "new")
}

func TestEventualOverwriteLag(t *testing.T) {
	f := newEvFixture(t, EventualOptions{OverwriteLag: time.Second})
	f.put("/f", "first")
	f.wantRead("/f", "first") // creation: no lag
	f.put("/f", "second, longer")
	f.wantRead("/f", "first")
	f.clock.Advance(500 * time.Millisecond)
	f.put("/f", "third")
	f.wantRead("/f", "first")
	f.clock.Advance(500 * time.Millisecond)
	f.wantRead("/f", "second, longer")
	f.clock.Advance(500 * time.Millisecond)
	f.wantRead("/f", "third")

	// Reader from an offset of the old content, and its offset rules.
	f.put("/f", "0123456789")
	rc, err := f.e.Reader(f.ctx, "/f", 2)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(rc)
	rc.Close()
	if string(b) != "ird" {
		t.Errorf("Reader(/f, 2) during the lag = %q, want %q", b, "ird")
	}
	_, err = f.e.Reader(f.ctx, "/f", 6)
	wantErrAs[*driver.InvalidOffsetError](t, err, "Reader(/f, 6) beyond the old content")
}

func TestEventualDeleteLag(t *testing.T) {
	f := newEvFixture(t, EventualOptions{DeleteLag: time.Second})
	f.put("/a/x", "x")
	f.put("/a/y", "y")
	f.put("/b/z", "z")
	f.put("/c/m", "m")
	if err := f.e.Delete(f.ctx, "/a"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.e.DeleteFiles(f.ctx, []string{"/b/z"}); err != nil {
		t.Fatal(err)
	}
	if err := f.e.Move(f.ctx, "/c/m", "/c/n"); err != nil {
		t.Fatal(err)
	}
	f.wantRead("/a/x", "x")
	f.wantRead("/a/y", "y")
	f.wantRead("/b/z", "z")
	f.wantRead("/c/m", "m")
	f.wantRead("/c/n", "m") // the destination is new: no create lag
	f.wantListing("/", "/c")
	f.clock.Advance(time.Second)
	for _, p := range []string{"/a/x", "/a/y", "/b/z", "/c/m"} {
		f.wantRead(p, "<absent>")
	}
	f.wantRead("/c/n", "m")

	// The backend already acts on the current state: a second Delete finds
	// nothing even while the first one lags.
	f.put("/g", "g")
	if err := f.e.Delete(f.ctx, "/g"); err != nil {
		t.Fatal(err)
	}
	f.wantRead("/g", "g")
	wantNotFound(t, f.e.Delete(f.ctx, "/g"), "second Delete(/g)")
}

func TestEventualListLag(t *testing.T) {
	f := newEvFixture(t, EventualOptions{ListLag: time.Second})
	f.put("/d/keep", "k")
	f.clock.Advance(time.Second)
	f.put("/d/new", "n")
	f.put("/e/sub/f", "f")
	// Reads see the new files at once; listings do not.
	f.wantRead("/d/new", "n")
	f.wantRead("/e/sub/f", "f")
	f.wantListing("/", "/d")
	f.wantListing("/d", "/d/keep")
	f.wantListing("/e") // not found
	f.wantDirStat("/e", false)
	f.wantWalk("/", "/d/", "/d/keep")
	f.clock.Advance(time.Second)
	f.wantListing("/", "/d", "/e")
	f.wantListing("/d", "/d/keep", "/d/new")
	f.wantDirStat("/e/sub", true)
	f.wantWalk("/", "/d/", "/d/keep", "/d/new", "/e/", "/e/sub/", "/e/sub/f")

	// Deletions linger in listings.
	if _, err := f.e.DeleteFiles(f.ctx, []string{"/d/new", "/e/sub/f"}); err != nil {
		t.Fatal(err)
	}
	f.wantRead("/d/new", "<absent>")
	f.wantListing("/d", "/d/keep", "/d/new")
	f.wantListing("/", "/d", "/e")
	f.wantDirStat("/e", true)
	f.wantWalk("/e", "/e/sub/", "/e/sub/f")
	f.clock.Advance(time.Second)
	f.wantListing("/d", "/d/keep")
	f.wantListing("/", "/d")
	f.wantDirStat("/e", false)
	f.wantWalk("/e")
	if n := f.e.Pending(); n != 0 {
		t.Errorf("Pending() = %d after the lag, want 0", n)
	}
}

// TestEventualWalkOptions checks that a lagging walk keeps the walk
// contract: order, ErrSkipDir and the start-after hint.
func TestEventualWalkOptions(t *testing.T) {
	f := newEvFixture(t, EventualOptions{ListLag: time.Second})
	for _, p := range []string{"/a/1", "/a/b/2", "/a/c/3", "/z"} {
		f.put(p, p)
	}
	f.clock.Advance(time.Second)
	if _, err := f.e.DeleteFiles(f.ctx, []string{"/a/1"}); err != nil {
		t.Fatal(err)
	}
	f.put("/a/b/0", "new") // not listed yet
	var got []string
	err := f.e.Walk(f.ctx, "/", func(fi driver.FileInfo) error {
		got = append(got, driver.WalkKey(fi.Path(), fi.IsDir()))
		if fi.Path() == "/a/b" {
			return driver.ErrSkipDir
		}
		return nil
	}, driver.WithStartAfter("/a/1"))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"/a/b/", "/a/c/", "/a/c/3", "/z"}; !slices.Equal(got, want) {
		t.Errorf("Walk(/) with hint and skip = %q, want %q", got, want)
	}
}

// TestEventualKindsAreIndependent checks that each lag applies to its own
// kind of change only.
func TestEventualKindsAreIndependent(t *testing.T) {
	kinds := []struct {
		name string
		o    EventualOptions
		// which anomalies must show: create, overwrite, delete, list
		want [4]bool
	}{
		{"Create", EventualOptions{CreateLag: time.Second}, [4]bool{true, false, false, false}},
		{"Overwrite", EventualOptions{OverwriteLag: time.Second}, [4]bool{false, true, false, false}},
		{"Delete", EventualOptions{DeleteLag: time.Second}, [4]bool{false, false, true, false}},
		{"List", EventualOptions{ListLag: time.Second}, [4]bool{false, false, false, true}},
		{"None", EventualOptions{}, [4]bool{}},
	}
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			f := newEvFixture(t, k.o)
			f.put("/old", "old")
			f.put("/gone", "gone")
			f.clock.Advance(time.Second)
			f.put("/new", "new")
			f.put("/old", "replaced")
			if _, err := f.e.DeleteFiles(f.ctx, []string{"/gone"}); err != nil {
				t.Fatal(err)
			}
			got := [4]bool{
				f.read("/new") == "<absent>",
				f.read("/old") == "old",
				f.read("/gone") == "gone",
				!slices.Equal(f.listing("/"), []string{"/new", "/old"}),
			}
			if got != k.want {
				t.Errorf("anomalies (create, overwrite, delete, list) = %v, want %v", got, k.want)
			}
			f.clock.Advance(time.Second)
			f.wantRead("/new", "new")
			f.wantRead("/old", "replaced")
			f.wantRead("/gone", "<absent>")
			f.wantListing("/", "/new", "/old")
		})
	}
}

// visibleAfter puts n files with a jittered create lag and returns, for
// each, the number of 10 ms steps after which Stat first finds it.
func visibleAfter(t *testing.T, seed uint64, n int) []int {
	f := newEvFixture(t, EventualOptions{Seed: seed, CreateLag: time.Second, Jitter: 1})
	paths := numbered("/d", "f", n)
	for _, p := range paths {
		f.put(p, p)
	}
	steps := make([]int, n)
	for i := range steps {
		steps[i] = -1
	}
	for step := 0; step <= 100; step++ {
		for i, p := range paths {
			if steps[i] < 0 {
				if _, err := f.e.Stat(f.ctx, p); err == nil {
					steps[i] = step
				}
			}
		}
		f.clock.Advance(10 * time.Millisecond)
	}
	return steps
}

func TestEventualDeterministicFromSeed(t *testing.T) {
	a, b, c := visibleAfter(t, 1, 50), visibleAfter(t, 1, 50), visibleAfter(t, 2, 50)
	if !slices.Equal(a, b) {
		t.Errorf("same seed, different lags:\n%v\n%v", a, b)
	}
	if slices.Equal(a, c) {
		t.Errorf("seeds 1 and 2 gave the same lags: %v", a)
	}
	if slices.Min(a) < 0 || slices.Max(a) > 100 {
		t.Errorf("some file was not visible within the 1 s lag: %v", a)
	}
	if slices.Min(a) == slices.Max(a) {
		t.Errorf("jitter 1 gave every file the same lag: %v", a)
	}
}

// TestEventualPassesThroughWhenSettled checks that with nothing pending the
// simulator is the wrapped driver.
func TestEventualPassesThroughWhenSettled(t *testing.T) {
	f := newEvFixture(t, EventualOptions{CreateLag: time.Second, ListLag: time.Second})
	f.put("/a/b", "b")
	if f.e.Pending() != 1 {
		t.Fatalf("Pending() = %d, want 1", f.e.Pending())
	}
	f.clock.Advance(time.Second)
	if f.e.Pending() != 0 {
		t.Fatalf("Pending() = %d after the lag, want 0", f.e.Pending())
	}
	fi, err := f.e.Stat(f.ctx, "/a/b")
	if err != nil || fi.Size() != 1 {
		t.Fatalf("Stat(/a/b) = %v, %v", fi, err)
	}
	// A failed change leaves nothing pending.
	if err := f.e.Move(f.ctx, "/missing", "/x"); !driver.IsNotFound(err) {
		t.Fatalf("Move of a missing file: %v", err)
	}
	if f.e.Pending() != 0 {
		t.Errorf("Pending() = %d after a failed Move, want 0", f.e.Pending())
	}
}
