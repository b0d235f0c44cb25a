package consistency_test

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/stowage-dev/stowage/conformance"
	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/driver/consistency"
	"github.com/stowage-dev/stowage/inmemory"
)

var epoch = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// stack is a wrapper over the simulator over an inmemory store, all on one
// manual clock. truth is the store itself: what every reader sees once the
// lags are over, and what the wrapper must show at once.
type stack struct {
	t     testing.TB
	ctx   context.Context
	clock *conformance.ManualClock
	truth *inmemory.Driver
	sim   *conformance.Eventual
	d     driver.StorageDriver
}

func newStack(t testing.TB, eo conformance.EventualOptions, o consistency.Options) *stack {
	clock := conformance.NewManualClock(epoch)
	eo.Clock, o.Clock = clock, clock
	truth := inmemory.New()
	sim := conformance.NewEventual(truth, eo)
	return &stack{t: t, ctx: context.Background(), clock: clock, truth: truth, sim: sim, d: consistency.Wrap(sim, o)}
}

// lags sets every kind of lag to lag, exactly.
func lags(lag time.Duration) conformance.EventualOptions {
	return conformance.EventualOptions{CreateLag: lag, OverwriteLag: lag, DeleteLag: lag, ListLag: lag}
}

func (s *stack) elapsed() time.Duration { return s.clock.Now().Sub(epoch) }

// settle lets every lag run out.
func (s *stack) settle() {
	s.clock.Advance(time.Hour)
	if n := s.sim.Pending(); n != 0 {
		s.t.Fatalf("simulator has %d pending paths after an hour", n)
	}
}

func put(t testing.TB, d driver.StorageDriver, p, content string) {
	t.Helper()
	if err := d.PutContent(context.Background(), p, []byte(content)); err != nil {
		t.Fatalf("PutContent(%s): %v", p, err)
	}
}

const absentMark = "<absent>"

// content returns p's content, or absentMark.
func content(t testing.TB, d driver.StorageDriver, p string) string {
	t.Helper()
	b, err := d.GetContent(context.Background(), p)
	switch {
	case driver.IsNotFound(err):
		return absentMark
	case err != nil:
		t.Fatalf("GetContent(%s): %v", p, err)
	}
	return string(b)
}

// readFrom returns Reader(p, off) read to the end, or absentMark.
func readFrom(t testing.TB, d driver.StorageDriver, p string, off int64) string {
	t.Helper()
	rc, err := d.Reader(context.Background(), p, off)
	switch {
	case driver.IsNotFound(err):
		return absentMark
	case err != nil:
		t.Fatalf("Reader(%s, %d): %v", p, off, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("Reader(%s, %d): read: %v", p, off, err)
	}
	return string(b)
}

// statOf describes Stat(p): "file N", "dir" or absentMark.
func statOf(t testing.TB, d driver.StorageDriver, p string) string {
	t.Helper()
	fi, err := d.Stat(context.Background(), p)
	switch {
	case driver.IsNotFound(err):
		return absentMark
	case err != nil:
		t.Fatalf("Stat(%s): %v", p, err)
	case fi.Path() != p:
		t.Fatalf("Stat(%s).Path() = %s", p, fi.Path())
	case fi.IsDir():
		return "dir"
	}
	return fmt.Sprintf("file %d", fi.Size())
}

// listOf returns List(dir), or nil for a missing directory.
func listOf(t testing.TB, d driver.StorageDriver, dir string) []string {
	t.Helper()
	got, err := d.List(context.Background(), dir)
	if err != nil && !driver.IsNotFound(err) {
		t.Fatalf("List(%s): %v", dir, err)
	}
	if len(got) == 0 {
		return nil
	}
	return got
}

// walkOf returns the entries Walk(root, opts) visits, as "key size", with
// skip naming directories whose contents the WalkFn skips. With
// parallelism the entries are sorted. It returns absentMark alone for a
// missing root.
func walkOf(t testing.TB, d driver.StorageDriver, root string, skip map[string]bool, opts ...driver.WalkOption) []string {
	t.Helper()
	var (
		mu  sync.Mutex
		got []string
	)
	err := d.Walk(context.Background(), root, func(fi driver.FileInfo) error {
		mu.Lock()
		got = append(got, fmt.Sprintf("%s %d", driver.WalkKey(fi.Path(), fi.IsDir()), fi.Size()))
		mu.Unlock()
		if fi.IsDir() && skip[fi.Path()] {
			return driver.ErrSkipDir
		}
		return nil
	}, opts...)
	switch {
	case driver.IsNotFound(err):
		return []string{absentMark}
	case err != nil:
		t.Fatalf("Walk(%s): %v", root, err)
	}
	if driver.ApplyWalkOptions(opts...).Parallel > 1 {
		sort.Strings(got)
	}
	return got
}

// sameView fails the test unless the wrapper shows exactly what the store
// holds: for every directory and file the store has under "/", and for
// extra (paths that may be gone), Stat, GetContent, List and Walk agree.
func (s *stack) sameView(what string, extra ...string) {
	s.t.Helper()
	var files, dirs []string
	dirs = append(dirs, "/")
	if err := s.truth.Walk(s.ctx, "/", func(fi driver.FileInfo) error {
		if fi.IsDir() {
			dirs = append(dirs, fi.Path())
		} else {
			files = append(files, fi.Path())
		}
		return nil
	}); err != nil && !driver.IsNotFound(err) {
		s.t.Fatalf("truth Walk(/): %v", err)
	}
	for _, p := range append(slices.Clone(files), extra...) {
		if got, want := statOf(s.t, s.d, p), statOf(s.t, s.truth, p); got != want {
			s.t.Errorf("%s: Stat(%s) = %s, the store has %s", what, p, got, want)
		}
		if got, want := content(s.t, s.d, p), content(s.t, s.truth, p); got != want {
			s.t.Errorf("%s: GetContent(%s) = %q, the store has %q", what, p, got, want)
		}
	}
	for _, dir := range append(dirs, extra...) {
		if got, want := listOf(s.t, s.d, dir), listOf(s.t, s.truth, dir); !slices.Equal(got, want) {
			s.t.Errorf("%s: List(%s) = %q, the store has %q", what, dir, got, want)
		}
		if got, want := walkOf(s.t, s.d, dir, nil), walkOf(s.t, s.truth, dir, nil); !slices.Equal(got, want) {
			s.t.Errorf("%s: Walk(%s) = %q, the store has %q", what, dir, got, want)
		}
	}
}
