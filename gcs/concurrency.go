package gcs

import (
	"context"
	"slices"
	"sync"

	"github.com/stowage-dev/stowage/driver"
)

// forEach calls fn for 0..n-1, up to Config.MaxConcurrency at once, and
// returns the first error; the calls still running then see ctx cancelled
// and no more start.
func (d *Driver) forEach(ctx context.Context, n int, fn func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first error
		slots = make(chan struct{}, max(d.cfg.MaxConcurrency, 1))
	)
	for i := 0; i < n; i++ {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
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

// deleteObjects deletes the objects names (the driver's hidden ones) in
// batch requests, up to Config.MaxConcurrency at once. A missing object
// counts as deleted. Failures come back as one *driver.DeleteFilesError
// whose paths are the names relative to the root.
func (d *Driver) deleteObjects(ctx context.Context, names []string) error {
	names = slices.Compact(slices.Sorted(slices.Values(names)))
	if len(names) == 0 {
		return nil
	}
	size := d.cfg.DeleteBatchSize
	var (
		mu       sync.Mutex
		failures []driver.DeleteFailure
	)
	err := d.forEach(ctx, (len(names)+size-1)/size, func(ctx context.Context, i int) error {
		batch := names[i*size : min((i+1)*size, len(names))]
		paths := make([]string, len(batch))
		for j, n := range batch {
			paths[j] = d.namePath(n)
		}
		if f := d.deleteNames(ctx, batch, paths); len(f) > 0 {
			mu.Lock()
			failures = append(failures, f...)
			mu.Unlock()
		}
		return nil
	})
	if len(failures) > 0 {
		return &driver.DeleteFilesError{DriverName: DriverName, Failures: failures}
	}
	return err
}
