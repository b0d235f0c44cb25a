package driver

import (
	"context"
	"errors"
	"reflect"
	"sort"
	"sync"
	"testing"
)

// files is a flat, sorted listing as an object store returns it.
var files = []string{
	"/r/a-b/f",
	"/r/a.txt",
	"/r/a/b/c",
	"/r/a/b/d",
	"/r/a/e",
	"/r/z",
}

func walkFlat(t *testing.T, opts ...WalkOption) ([]string, error) {
	t.Helper()
	var mu sync.Mutex
	var got []string
	w, _ := NewWalker(context.Background(), "/r", func(fi FileInfo) error {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, WalkKey(fi.Path(), fi.IsDir()))
		if fi.Path() == "/r/a/b" {
			return ErrSkipDir
		}
		return nil
	}, ApplyWalkOptions(opts...))
	sorted := append([]string(nil), files...)
	sort.Strings(sorted)
	for _, p := range sorted {
		if _, err := w.Visit(FileInfoFields{FilePath: p}); err != nil {
			break
		}
	}
	return got, w.Close()
}

func TestWalkerDerivesDirsInOrderAndSkips(t *testing.T) {
	got, err := walkFlat(t)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"/r/a-b/", "/r/a-b/f", "/r/a.txt", "/r/a/", "/r/a/b/", "/r/a/e", "/r/z"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %q\nwant %q", got, want)
	}
	if !sort.StringsAreSorted(want) {
		t.Fatal("walk order must be sorted by WalkKey")
	}
}

func TestWalkerStartAfter(t *testing.T) {
	for _, c := range []struct {
		hint string
		want []string
	}{
		{"/r/a.txt", []string{"/r/a/", "/r/a/b/", "/r/a/e", "/r/z"}},
		{"/r/a/", []string{"/r/a/b/", "/r/a/e", "/r/z"}},
		{"/r/a/b/", []string{"/r/a/b/c", "/r/a/b/d", "/r/a/e", "/r/z"}},
		{"/r/a/b/c", []string{"/r/a/b/d", "/r/a/e", "/r/z"}},
		{"/r/zz", nil},
	} {
		got, err := walkFlat(t, WithStartAfter(c.hint))
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("hint %q: got %q, want %q", c.hint, got, c.want)
		}
	}
}

func TestWalkerParallelSameSet(t *testing.T) {
	got, err := walkFlat(t, WithParallel(4))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(got)
	want := []string{"/r/a-b/", "/r/a-b/f", "/r/a.txt", "/r/a/", "/r/a/b/", "/r/a/e", "/r/z"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %q\nwant %q", got, want)
	}
}

func TestWalkerStopsOnError(t *testing.T) {
	boom := errors.New("boom")
	for _, parallel := range []int{0, 3} {
		calls := 0
		var mu sync.Mutex
		w, _ := NewWalker(context.Background(), "/", func(fi FileInfo) error {
			mu.Lock()
			defer mu.Unlock()
			calls++
			return boom
		}, WalkOptions{Parallel: parallel})
		stopped := false
		for i := 0; i < 100; i++ {
			if _, err := w.Visit(FileInfoFields{FilePath: "/f" + string(rune('a'+i%26)) + string(rune('a'+i/26))}); err != nil {
				stopped = true
				break
			}
		}
		if err := w.Close(); !errors.Is(err, boom) {
			t.Errorf("parallel %d: Close = %v, want boom", parallel, err)
		}
		if parallel == 0 && (!stopped || calls != 1) {
			t.Errorf("sequential walk went on after an error: %d calls", calls)
		}
	}
}

func TestWalkerCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	w, _ := NewWalker(ctx, "/", func(FileInfo) error { t.Error("called"); return nil }, WalkOptions{})
	if _, err := w.Visit(FileInfoFields{FilePath: "/a"}); !errors.Is(err, context.Canceled) {
		t.Errorf("Visit = %v", err)
	}
	if err := w.Close(); !errors.Is(err, context.Canceled) {
		t.Errorf("Close = %v", err)
	}
}
