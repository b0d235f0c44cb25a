package consistency_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stowage-dev/stowage/conformance"
	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/driver/consistency"
)

// Names chosen so that walk order differs from plain path order: "a-1" and
// "a.b" sort between "a" and "a/..." byte-wise. Directory names and file
// names are disjoint, so no path is ever both.
var (
	dirNames  = []string{"a", "a-1", "a.b", "b"}
	fileNames = []string{"f", "f-2", "g"}
)

func randomDir(rng *rand.Rand) string {
	dir := "/"
	for range rng.IntN(3) {
		dir = driver.JoinPath(dir, dirNames[rng.IntN(len(dirNames))])
	}
	return dir
}

func randomFile(rng *rand.Rand) string {
	return driver.JoinPath(randomDir(rng), fileNames[rng.IntN(len(fileNames))])
}

// TestRandomOperationsAgreeWithStore runs random changes through the
// wrapper over a lagging simulator, and after each one checks that the
// wrapper shows exactly what the store underneath holds: Stat, GetContent,
// Reader, List, and Walk with random start-after hints, skipped
// directories and parallelism.
func TestRandomOperationsAgreeWithStore(t *testing.T) {
	t.Parallel()
	seeds := 30
	if testing.Short() {
		seeds = 5
	}
	for seed := range uint64(seeds) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			eo := conformance.EventualOptions{
				Seed: seed, CreateLag: 2 * time.Second, OverwriteLag: 2 * time.Second,
				DeleteLag: 2 * time.Second, ListLag: 2 * time.Second, Jitter: 1,
			}
			s := newStack(t, eo, consistency.Options{Window: 24 * time.Hour})
			rng := rand.New(rand.NewPCG(seed, 99))
			for step := range 150 {
				op := randomChange(t, s, rng)
				checkAgainstStore(t, s, rng, fmt.Sprintf("step %d (%s)", step, op))
				if t.Failed() {
					return
				}
				s.clock.Advance(time.Duration(rng.IntN(500)) * time.Millisecond)
			}
		})
	}
}

// randomChange makes one random change through the wrapper and describes
// it.
func randomChange(t *testing.T, s *stack, rng *rand.Rand) string {
	t.Helper()
	switch k := rng.IntN(10); {
	case k < 4:
		p := randomFile(rng)
		c := strings.Repeat(string(rune('a'+rng.IntN(26))), rng.IntN(12))
		put(t, s.d, p, c)
		return fmt.Sprintf("PutContent(%s, %q)", p, c)
	case k < 5:
		p := randomFile(rng)
		w, err := s.d.Writer(s.ctx, p, false)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(w, "written %d", rng.IntN(100))
		if err := w.Commit(s.ctx); err != nil {
			t.Fatal(err)
		}
		w.Close()
		return "Writer " + p
	case k < 6:
		src, dst := randomFile(rng), randomFile(rng)
		err := s.d.Move(s.ctx, src, dst)
		if err != nil && !driver.IsNotFound(err) {
			t.Fatalf("Move(%s, %s): %v", src, dst, err)
		}
		return fmt.Sprintf("Move(%s, %s) = %v", src, dst, err)
	case k < 8:
		paths := make([]string, 1+rng.IntN(4))
		for i := range paths {
			if rng.IntN(4) == 0 {
				paths[i] = randomDir(rng) // directories count as deleted
				if paths[i] == "/" {
					paths[i] = "/a"
				}
			} else {
				paths[i] = randomFile(rng)
			}
		}
		if _, err := s.d.DeleteFiles(s.ctx, paths); err != nil {
			t.Fatalf("DeleteFiles(%v): %v", paths, err)
		}
		return fmt.Sprintf("DeleteFiles(%v)", paths)
	default:
		p := randomDir(rng)
		if p == "/" || rng.IntN(3) == 0 {
			p = randomFile(rng)
		}
		err := s.d.Delete(s.ctx, p)
		if err != nil && !driver.IsNotFound(err) {
			t.Fatalf("Delete(%s): %v", p, err)
		}
		return fmt.Sprintf("Delete(%s) = %v", p, err)
	}
}

// checkAgainstStore compares a few random views of the wrapper with the
// store's.
func checkAgainstStore(t *testing.T, s *stack, rng *rand.Rand, what string) {
	t.Helper()
	for range 3 {
		p := randomFile(rng)
		if got, want := statOf(t, s.d, p), statOf(t, s.truth, p); got != want {
			t.Errorf("%s: Stat(%s) = %s, the store has %s", what, p, got, want)
		}
		if got, want := content(t, s.d, p), content(t, s.truth, p); got != want {
			t.Errorf("%s: GetContent(%s) = %q, the store has %q", what, p, got, want)
		}
		if got, want := readFrom(t, s.d, p, 0), readFrom(t, s.truth, p, 0); got != want {
			t.Errorf("%s: Reader(%s) = %q, the store has %q", what, p, got, want)
		}
	}
	dir := randomDir(rng)
	if got, want := statOf(t, s.d, dir), statOf(t, s.truth, dir); got != want {
		t.Errorf("%s: Stat(%s) = %s, the store has %s", what, dir, got, want)
	}
	if got, want := listOf(t, s.d, dir), listOf(t, s.truth, dir); !slices.Equal(got, want) {
		t.Errorf("%s: List(%s) = %q, the store has %q", what, dir, got, want)
	}
	var opts []driver.WalkOption
	if rng.IntN(2) == 0 {
		hint := randomDir(rng)
		if rng.IntN(2) == 0 {
			hint = randomFile(rng)
		} else if hint != "/" {
			hint += "/"
		}
		opts = append(opts, driver.WithStartAfter(hint))
	}
	if rng.IntN(3) == 0 {
		opts = append(opts, driver.WithParallel(3))
	}
	skip := map[string]bool{}
	if rng.IntN(2) == 0 {
		skip[randomDir(rng)] = true
	}
	if got, want := walkOf(t, s.d, dir, skip, opts...), walkOf(t, s.truth, dir, skip, opts...); !slices.Equal(got, want) {
		o := driver.ApplyWalkOptions(opts...)
		t.Errorf("%s: Walk(%s, after %q, parallel %d, skipping %v) =\n  %q\nthe store gives\n  %q",
			what, dir, o.StartAfter, o.Parallel, skip, got, want)
	}
}
