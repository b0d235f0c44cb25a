package consistency_test

import (
	"context"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stowage-dev/stowage/conformance"
	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/driver/consistency"
)

// TestBareSimulatorFailsKeyCases runs the conformance suite's key cases on
// the bare simulator, where they must fail (else the simulator proves
// nothing), and through the wrapper, where they must pass.
func TestBareSimulatorFailsKeyCases(t *testing.T) {
	cases := []struct {
		name   string
		setup  func(t *testing.T, d driver.StorageDriver)
		action func(t *testing.T, d driver.StorageDriver)
		check  func(t *testing.T, d driver.StorageDriver) string
		want   string
	}{
		{
			name:   "StatAfterPutContent",
			action: func(t *testing.T, d driver.StorageDriver) { put(t, d, "/d/f", "0123") },
			check:  func(t *testing.T, d driver.StorageDriver) string { return statOf(t, d, "/d/f") },
			want:   "file 4",
		},
		{
			name: "ListAfterDeleteFiles",
			setup: func(t *testing.T, d driver.StorageDriver) {
				put(t, d, "/d/a", "a")
				put(t, d, "/d/b", "b")
			},
			action: func(t *testing.T, d driver.StorageDriver) {
				if n, err := d.DeleteFiles(context.Background(), []string{"/d/a"}); n != 1 || err != nil {
					t.Fatalf("DeleteFiles = %d, %v", n, err)
				}
			},
			check: func(t *testing.T, d driver.StorageDriver) string { return strings.Join(listOf(t, d, "/d"), " ") },
			want:  "/d/b",
		},
		{
			name:   "GetContentAfterOverwrite",
			setup:  func(t *testing.T, d driver.StorageDriver) { put(t, d, "/f", "old") },
			action: func(t *testing.T, d driver.StorageDriver) { put(t, d, "/f", "new") },
			check:  func(t *testing.T, d driver.StorageDriver) string { return content(t, d, "/f") },
			want:   "new",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, wrapped := range []bool{false, true} {
				s := newStack(t, lags(2*time.Second), consistency.Options{})
				var drv driver.StorageDriver = s.sim
				if wrapped {
					drv = s.d
				}
				if c.setup != nil {
					c.setup(t, drv)
					s.settle()
				}
				c.action(t, drv)
				got := c.check(t, drv)
				switch {
				case !wrapped && got == c.want:
					t.Errorf("bare simulator: got %q at once, want the lag to show", got)
				case wrapped && got != c.want:
					t.Errorf("wrapped: got %q, want %q", got, c.want)
				}
				if !wrapped {
					s.settle()
					if got := c.check(t, drv); got != c.want {
						t.Errorf("bare simulator after the lag: got %q, want %q", got, c.want)
					}
				}
			}
		})
	}
}

func TestReadAfterWrite(t *testing.T) {
	s := newStack(t, lags(2*time.Second), consistency.Options{})
	put(t, s.d, "/a/f", "hello")
	if got := content(t, s.d, "/a/f"); got != "hello" {
		t.Errorf("GetContent after PutContent = %q", got)
	}
	if s.elapsed() < 2*time.Second {
		t.Errorf("the wrapper waited %v, less than the 2 s lag: the simulator did not lag", s.elapsed())
	}
	if s.elapsed() > 3*time.Second {
		t.Errorf("the wrapper waited %v for a 2 s lag", s.elapsed())
	}
	if got := statOf(t, s.d, "/a/f"); got != "file 5" {
		t.Errorf("Stat = %s", got)
	}
	for off, want := range map[int64]string{0: "hello", 2: "llo", 5: ""} {
		if got := readFrom(t, s.d, "/a/f", off); got != want {
			t.Errorf("Reader(/a/f, %d) = %q, want %q", off, got, want)
		}
	}
	for _, off := range []int64{-1, 6} {
		_, err := s.d.Reader(s.ctx, "/a/f", off)
		var ioe *driver.InvalidOffsetError
		if !errors.As(err, &ioe) {
			t.Errorf("Reader(/a/f, %d): %v, want InvalidOffsetError", off, err)
		}
	}

	// A writer closed and resumed in this process keeps its hash.
	w, err := s.d.Writer(s.ctx, "/a/w", false)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, "abc")
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if n := consistency.Sessions(s.d); n != 1 {
		t.Errorf("Sessions() = %d after Close, want 1", n)
	}
	w, err = s.d.Writer(s.ctx, "/a/w", true)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, "def")
	if err := w.Commit(s.ctx); err != nil {
		t.Fatal(err)
	}
	w.Close()
	if n := consistency.Sessions(s.d); n != 0 {
		t.Errorf("Sessions() = %d after Commit, want 0", n)
	}
	if got := content(t, s.d, "/a/w"); got != "abcdef" {
		t.Errorf("GetContent after a resumed Commit = %q", got)
	}

	// Move of a file this process wrote, and of one it did not.
	put(t, s.d, "/m/src", "moved")
	if err := s.d.Move(s.ctx, "/m/src", "/m/dst"); err != nil {
		t.Fatal(err)
	}
	put(t, s.sim, "/other/src", "from elsewhere")
	s.settle()
	if err := s.d.Move(s.ctx, "/other/src", "/m/dst2"); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]string{"/m/dst": "moved", "/m/src": absentMark, "/m/dst2": "from elsewhere", "/other/src": absentMark} {
		if got := content(t, s.d, p); got != want {
			t.Errorf("GetContent(%s) after Move = %q, want %q", p, got, want)
		}
	}
	if got := walkOf(t, s.d, "/m", nil); !slices.Equal(got, []string{"/m/dst 5", "/m/dst2 14"}) {
		t.Errorf("Walk(/m) = %q", got)
	}
}

// TestOverwriteSameSize checks that an overwrite with content of the same
// size (a registry tag's link file) is waited for by content, not size.
func TestOverwriteSameSize(t *testing.T) {
	s := newStack(t, lags(2*time.Second), consistency.Options{})
	put(t, s.d, "/tag/link", "sha256:aaaa")
	s.settle()
	put(t, s.d, "/tag/link", "sha256:bbbb")
	if got := content(t, s.sim, "/tag/link"); got != "sha256:aaaa" {
		t.Fatalf("the simulator shows %q at once; the test needs it to lag", got)
	}
	if got := content(t, s.d, "/tag/link"); got != "sha256:bbbb" {
		t.Errorf("GetContent = %q, want the new content", got)
	}
	put(t, s.d, "/tag/link", "sha256:cccc")
	if got := readFrom(t, s.d, "/tag/link", 7); got != "cccc" {
		t.Errorf("Reader(7) = %q, want the new content", got)
	}
}

// TestLargeReader checks Reader of files above VerifyReadLimit: waited
// for by size, and a same-size stale stream reported at its end.
func TestLargeReader(t *testing.T) {
	s := newStack(t, lags(2*time.Second), consistency.Options{VerifyReadLimit: 8})
	old, same, longer := strings.Repeat("o", 64), strings.Repeat("s", 64), strings.Repeat("l", 80)
	put(t, s.d, "/big", old)
	s.settle()

	put(t, s.d, "/big", same)
	rc, err := s.d.Reader(s.ctx, "/big", 0)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(rc)
	rc.Close()
	if string(b) != old || !errors.Is(err, consistency.ErrStale) {
		t.Errorf("Reader of a same-size stale stream: read %q, %v; want the stale bytes and ErrStale at the end", b, err)
	}
	s.settle()
	if got := readFrom(t, s.d, "/big", 0); got != same {
		t.Errorf("Reader after the lag = %q", got)
	}

	put(t, s.d, "/big", longer)
	if got := readFrom(t, s.d, "/big", 60); got != longer[60:] {
		t.Errorf("Reader(/big, 60) after a longer overwrite = %q", got)
	}
}

// TestReadAfterDelete checks that deletions are answered from memory at
// once, while the simulator still shows the files.
func TestReadAfterDelete(t *testing.T) {
	s := newStack(t, lags(2*time.Second), consistency.Options{})
	for _, p := range []string{"/d/a", "/d/b/c", "/e", "/keep/k", "/m/src"} {
		put(t, s.d, p, p)
	}
	s.settle()
	if err := s.d.Delete(s.ctx, "/d"); err != nil {
		t.Fatal(err)
	}
	if n, err := s.d.DeleteFiles(s.ctx, []string{"/e"}); n != 1 || err != nil {
		t.Fatalf("DeleteFiles = %d, %v", n, err)
	}
	if err := s.d.Move(s.ctx, "/m/src", "/keep/moved"); err != nil {
		t.Fatal(err)
	}
	if got := content(t, s.sim, "/d/a"); got != "/d/a" {
		t.Fatalf("the simulator shows %q at once; the test needs it to lag", got)
	}
	before := s.clock.Now()
	for _, p := range []string{"/d/a", "/d/b/c", "/e", "/m/src"} {
		if got := content(t, s.d, p); got != absentMark {
			t.Errorf("GetContent(%s) = %q after its deletion", p, got)
		}
		if got := readFrom(t, s.d, p, 0); got != absentMark {
			t.Errorf("Reader(%s) = %q after its deletion", p, got)
		}
	}
	for _, p := range []string{"/d", "/d/b", "/d/b/c", "/e", "/m", "/m/src"} {
		if got := statOf(t, s.d, p); got != absentMark {
			t.Errorf("Stat(%s) = %s after its deletion", p, got)
		}
	}
	if err := s.d.Delete(s.ctx, "/d/b"); !driver.IsNotFound(err) {
		t.Errorf("Delete(/d/b) after Delete(/d): %v, want PathNotFoundError", err)
	}
	if err := s.d.Move(s.ctx, "/e", "/x"); !driver.IsNotFound(err) {
		t.Errorf("Move(/e) after its deletion: %v, want PathNotFoundError", err)
	}
	if s.clock.Now() != before {
		t.Errorf("answering for deleted paths waited %v; it needs no backend", s.clock.Now().Sub(before))
	}
	// The source of the Move was written more than a window ago: the
	// destination's size is unknown, so the merged walk asks Stat for it.
	if got := listOf(t, s.d, "/"); !slices.Equal(got, []string{"/keep"}) {
		t.Errorf("List(/) = %q, want [/keep]", got)
	}
	if got := walkOf(t, s.d, "/", nil); !slices.Equal(got, []string{"/keep/ 0", "/keep/k 7", "/keep/moved 6"}) {
		t.Errorf("Walk(/) = %q", got)
	}
	s.sameView("after the deletions", "/d", "/d/a", "/e", "/m/src")
}

// TestDeleteDirectoryThenWrite checks that Delete of a directory hides
// what was below it, but not what this process writes there afterwards.
func TestDeleteDirectoryThenWrite(t *testing.T) {
	s := newStack(t, lags(2*time.Second), consistency.Options{})
	put(t, s.d, "/d/a", "a")
	put(t, s.d, "/d/sub/b", "b")
	put(t, s.d, "/d-sibling/c", "c") // "/d-sibling" is not under "/d"
	s.settle()
	if err := s.d.Delete(s.ctx, "/d"); err != nil {
		t.Fatal(err)
	}
	put(t, s.d, "/d/new", "n")
	put(t, s.d, "/d/sub2/x", "x")
	if got := listOf(t, s.d, "/d"); !slices.Equal(got, []string{"/d/new", "/d/sub2"}) {
		t.Errorf("List(/d) = %q", got)
	}
	if got := walkOf(t, s.d, "/", nil); !slices.Equal(got, []string{"/d-sibling/ 0", "/d-sibling/c 1", "/d/ 0", "/d/new 1", "/d/sub2/ 0", "/d/sub2/x 1"}) {
		t.Errorf("Walk(/) = %q", got)
	}
	if got := statOf(t, s.d, "/d/sub"); got != absentMark {
		t.Errorf("Stat(/d/sub) = %s", got)
	}
	if got := statOf(t, s.d, "/d"); got != "dir" {
		t.Errorf("Stat(/d) = %s", got)
	}
	s.sameView("after Delete and new writes", "/d/a", "/d/sub", "/d/sub/b")
	// Deleting it again removes the new files too.
	if err := s.d.Delete(s.ctx, "/d"); err != nil {
		t.Fatal(err)
	}
	s.sameView("after the second Delete", "/d", "/d/new", "/d/sub2/x")
}

// TestStaleError checks that a backend lagging beyond MaxWait gives a
// clear error, not stale data.
func TestStaleError(t *testing.T) {
	s := newStack(t, lags(time.Minute), consistency.Options{MaxWait: time.Second, Window: time.Hour})
	put(t, s.d, "/f", "content")
	_, err := s.d.GetContent(s.ctx, "/f")
	var se *consistency.StaleError
	switch {
	case !errors.As(err, &se):
		t.Fatalf("GetContent: %v, want a *StaleError", err)
	case !errors.Is(err, consistency.ErrStale):
		t.Errorf("%v does not match ErrStale", err)
	case driver.IsNotFound(err):
		t.Errorf("%v matches PathNotFoundError: a caller would take the file for missing", err)
	case se.Path != "/f" || se.Op != "GetContent" || se.Got != "path not found" || se.Waited < time.Second || se.DriverName != "inmemory":
		t.Errorf("StaleError = %+v", *se)
	}
	if !strings.Contains(err.Error(), "/f") {
		t.Errorf("error %q does not name the path", err)
	}
	if s.elapsed() > 2*time.Second {
		t.Errorf("gave up after %v, MaxWait is 1 s", s.elapsed())
	}
	_, err = s.d.Stat(s.ctx, "/f")
	if !errors.Is(err, consistency.ErrStale) {
		t.Errorf("Stat: %v, want ErrStale", err)
	}
	// Listings need no waiting: the record is merged in.
	if got := listOf(t, s.d, "/"); !slices.Equal(got, []string{"/f"}) {
		t.Errorf("List(/) = %q", got)
	}
}

// TestCancelledWhileWaiting checks that a wait ends with the context.
func TestCancelledWhileWaiting(t *testing.T) {
	s := newStack(t, lags(time.Minute), consistency.Options{MaxWait: time.Hour, Window: 2 * time.Hour})
	put(t, s.d, "/f", "content")
	ctx, cancel := context.WithCancel(s.ctx)
	cancel()
	if _, err := s.d.GetContent(ctx, "/f"); !errors.Is(err, context.Canceled) {
		t.Errorf("GetContent with a cancelled context: %v", err)
	}
	if _, err := s.d.Stat(ctx, "/f"); !errors.Is(err, context.Canceled) {
		t.Errorf("Stat with a cancelled context: %v", err)
	}
}

// TestOtherProcessNotGuaranteed documents the limit: a second wrapper
// does not know the first one's writes.
func TestOtherProcessNotGuaranteed(t *testing.T) {
	s := newStack(t, lags(2*time.Second), consistency.Options{})
	other := consistency.Wrap(s.sim, consistency.Options{Clock: s.clock})
	put(t, s.d, "/f", "mine")
	if got := content(t, other, "/f"); got != absentMark {
		t.Errorf("another wrapper read %q at once; the simulator should still hide it", got)
	}
	if got := content(t, s.d, "/f"); got != "mine" {
		t.Errorf("the writing wrapper read %q", got)
	}
}

// TestStrongBackendNoWaiting checks that over a backend without lag the
// wrapper never waits.
func TestStrongBackendNoWaiting(t *testing.T) {
	s := newStack(t, conformance.EventualOptions{}, consistency.Options{})
	for i := range 50 {
		p := "/d/" + strings.Repeat("x", i+1)
		put(t, s.d, p, p)
		content(t, s.d, p)
		statOf(t, s.d, p)
		if i%3 == 0 {
			if _, err := s.d.DeleteFiles(s.ctx, []string{p}); err != nil {
				t.Fatal(err)
			}
		}
	}
	s.sameView("no lag")
	if s.elapsed() != 0 {
		t.Errorf("the wrapper waited %v over a backend without lag", s.elapsed())
	}
}

// TestZeroOptions checks that Wrap works with zero Options and the system
// clock, and names the backend.
func TestZeroOptions(t *testing.T) {
	sim := conformance.NewEventual(newInmemory(t, ""), conformance.EventualOptions{CreateLag: 30 * time.Millisecond, ListLag: 30 * time.Millisecond})
	d := consistency.Wrap(sim, consistency.Options{})
	if d.Name() != "inmemory" {
		t.Errorf("Name() = %q", d.Name())
	}
	put(t, d, "/f", "x")
	if got := content(t, d, "/f"); got != "x" {
		t.Errorf("GetContent = %q", got)
	}
	if got := listOf(t, d, "/"); !slices.Equal(got, []string{"/f"}) {
		t.Errorf("List = %q", got)
	}
	err := d.PutContent(context.Background(), "/bad/../x", nil)
	var ipe *driver.InvalidPathError
	if !errors.As(err, &ipe) || ipe.DriverName != "inmemory" {
		t.Errorf("PutContent of an invalid path: %v", err)
	}
}

// TestRecordsExpire checks that a record goes after Options.Window: the
// backend's word then stands, stale or not. Window must exceed the
// backend's lag.
func TestRecordsExpire(t *testing.T) {
	s := newStack(t, lags(time.Minute), consistency.Options{Window: 10 * time.Second})
	put(t, s.d, "/f", "x")
	if n := consistency.Entries(s.d); n != 1 {
		t.Fatalf("Entries() = %d after a write, want 1", n)
	}
	s.clock.Advance(10*time.Second + time.Nanosecond)
	if got := content(t, s.d, "/f"); got != absentMark {
		t.Errorf("GetContent past the window = %q; the lagging backend should answer", got)
	}
	if n, m := consistency.Entries(s.d), consistency.Nodes(s.d); n != 0 || m != 0 {
		t.Errorf("past the window: %d records, %d nodes; want none", n, m)
	}
}
