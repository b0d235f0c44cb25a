package driver

import (
	"context"
	"sync"
)

// ForEach calls fn for 0..n-1, up to limit at once (at least one), and
// returns the first error; the calls still running then see ctx cancelled
// and no more start. When ctx ends first it returns ctx's error.
func ForEach(ctx context.Context, n, limit int, fn func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first error
		slots = make(chan struct{}, max(limit, 1))
	)
	for i := 0; i < n && ctx.Err() == nil; i++ {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			continue // and the loop ends
		}
		if ctx.Err() != nil {
			<-slots
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			if err := fn(ctx, i); err != nil {
				once.Do(func() { first = err; cancel() })
			}
		}()
	}
	wg.Wait()
	if first == nil {
		first = ctx.Err()
	}
	return first
}

// batchGroup runs delete batches, up to a limit at once, and collects
// their failures. A batch that cannot start because ctx has ended is
// reported as failed with ctx's error, path by path, so nothing is lost
// silently.
type batchGroup struct {
	ctx      context.Context
	slots    chan struct{}
	wg       sync.WaitGroup
	mu       sync.Mutex
	failures []DeleteFailure
}

func newBatchGroup(ctx context.Context, limit int) *batchGroup {
	return &batchGroup{ctx: ctx, slots: make(chan struct{}, max(limit, 1))}
}

func (g *batchGroup) record(f []DeleteFailure) {
	if len(f) == 0 {
		return
	}
	g.mu.Lock()
	g.failures = append(g.failures, f...)
	g.mu.Unlock()
}

// Go waits for a slot and runs fn on its own goroutine; paths are the
// batch's paths, reported when ctx ends first.
func (g *batchGroup) Go(paths []string, fn func(ctx context.Context) []DeleteFailure) {
	select {
	case g.slots <- struct{}{}:
	case <-g.ctx.Done():
		g.record(failAll(paths, g.ctx.Err()))
		return
	}
	if err := g.ctx.Err(); err != nil {
		<-g.slots
		g.record(failAll(paths, err))
		return
	}
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		defer func() { <-g.slots }()
		g.record(fn(g.ctx))
	}()
}

// Wait waits for every batch and returns the failures.
func (g *batchGroup) Wait() []DeleteFailure {
	g.wg.Wait()
	return g.failures
}
