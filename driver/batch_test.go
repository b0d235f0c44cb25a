package driver

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
)

func TestDeleteInBatchesSplitsAndFolds(t *testing.T) {
	var paths []string
	for i := 0; i < 2500; i++ {
		paths = append(paths, fmt.Sprintf("/p/%d", i))
	}
	paths = append(paths, "/p/0", "/p/1") // duplicates
	var (
		mu      sync.Mutex
		batches []int
		seen    = map[string]int{}
		running atomic.Int32
		peak    atomic.Int32
	)
	n, err := DeleteInBatches(context.Background(), "x", paths, 1000, 2, func(_ context.Context, b []string) []DeleteFailure {
		r := running.Add(1)
		defer running.Add(-1)
		for {
			p := peak.Load()
			if r <= p || peak.CompareAndSwap(p, r) {
				break
			}
		}
		mu.Lock()
		defer mu.Unlock()
		batches = append(batches, len(b))
		for _, p := range b {
			seen[p]++
		}
		return nil
	})
	if err != nil || n != 2500 {
		t.Fatalf("n=%d err=%v", n, err)
	}
	if len(batches) != 3 {
		t.Fatalf("batches %v, want 3", batches)
	}
	for p, c := range seen {
		if c != 1 {
			t.Fatalf("%s sent %d times", p, c)
		}
	}
	if len(seen) != 2500 {
		t.Fatalf("%d unique paths sent", len(seen))
	}
	if peak.Load() > 2 {
		t.Fatalf("concurrency %d above the limit 2", peak.Load())
	}
}

func TestDeleteInBatchesInvalidPathDeletesNothing(t *testing.T) {
	called := false
	n, err := DeleteInBatches(context.Background(), "x", []string{"/a", "/b/../c"}, 10, 1, func(context.Context, []string) []DeleteFailure {
		called = true
		return nil
	})
	var ip *InvalidPathError
	if !errors.As(err, &ip) || n != 0 || called {
		t.Fatalf("n=%d err=%v called=%v", n, err, called)
	}
}

func TestDeleteInBatchesReportsEveryFailure(t *testing.T) {
	cause := errors.New("denied")
	paths := []string{"/a", "/b", "/c", "/d", "/e"}
	n, err := DeleteInBatches(context.Background(), "x", paths, 2, 3, func(_ context.Context, b []string) []DeleteFailure {
		var f []DeleteFailure
		for _, p := range b {
			if p == "/b" || p == "/e" {
				f = append(f, DeleteFailure{Path: p, Err: cause})
			}
		}
		return f
	})
	var de *DeleteFilesError
	if !errors.As(err, &de) {
		t.Fatalf("err = %v", err)
	}
	if n != 3 || len(de.Failures) != 2 || de.Failures[0].Path != "/b" || de.Failures[1].Path != "/e" {
		t.Fatalf("n=%d failures=%+v", n, de.Failures)
	}
	if !errors.Is(err, cause) {
		t.Fatal("errors.Is does not reach the cause")
	}
}

func TestDeleteInBatchesCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	n, err := DeleteInBatches(ctx, "x", []string{"/a"}, 1, 1, func(context.Context, []string) []DeleteFailure {
		t.Error("batch sent with a cancelled context")
		return nil
	})
	if n != 0 || !errors.Is(err, context.Canceled) {
		t.Fatalf("n=%d err=%v", n, err)
	}
	// Cancelled mid-way: unsent batches are failures, nothing is lost.
	ctx, cancel = context.WithCancel(context.Background())
	n, err = DeleteInBatches(ctx, "x", []string{"/a", "/b", "/c"}, 1, 1, func(context.Context, []string) []DeleteFailure {
		cancel()
		return nil
	})
	var de *DeleteFilesError
	if !errors.As(err, &de) || n+len(de.Failures) != 3 || n != 1 {
		t.Fatalf("n=%d err=%v", n, err)
	}
}

func TestWriterState(t *testing.T) {
	var s WriterState
	if s.CheckWrite() != nil {
		t.Fatal("new writer not open")
	}
	s.Committed()
	if err := s.CheckWrite(); !errors.Is(err, ErrWriterCommitted) {
		t.Fatalf("write after commit: %v", err)
	}
	if kept, err := s.Close(); kept || err != nil {
		t.Fatalf("close after commit: %v %v", kept, err)
	}
	if _, err := s.Close(); !errors.Is(err, ErrWriterClosed) {
		t.Fatalf("second close: %v", err)
	}
	var c WriterState
	c.Cancelled()
	if err := c.BeginCommit(context.Background()); !errors.Is(err, ErrWriterCancelled) {
		t.Fatalf("commit after cancel: %v", err)
	}
	var o WriterState
	if kept, err := o.Close(); !kept || err != nil {
		t.Fatalf("close: %v %v", kept, err)
	}
	if err := o.BeginCancel(context.Background()); !errors.Is(err, ErrWriterClosed) {
		t.Fatalf("cancel after close: %v", err)
	}
}
