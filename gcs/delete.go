package gcs

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"cloud.google.com/go/storage"
	"google.golang.org/api/iterator"

	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/internal/wait"
)

// DeleteFiles implements driver.StorageDriver: JSON batch requests of up to
// Config.DeleteBatchSize deletes (100 at most), up to Config.MaxConcurrency
// at once, with no list or metadata request first. A missing object is
// answered 404, which counts as deleted, so absent paths and directory
// paths count as deleted. Calls that fail with 408, 429 or 5xx inside a
// batch, and whole batches that fail that way or lose their connection, are
// sent again, up to Config.MaxRetries times.
func (d *Driver) DeleteFiles(ctx context.Context, paths []string) (int, error) {
	return driver.DeleteInBatches(ctx, DriverName, paths, d.cfg.DeleteBatchSize, d.cfg.MaxConcurrency,
		func(ctx context.Context, batch []string) []driver.DeleteFailure {
			names := make([]string, len(batch))
			for i, p := range batch {
				names[i] = d.key(p)
			}
			return d.deleteNames(ctx, names, batch)
		})
}

// retryableError marks a whole-batch failure worth another try.
type retryableError struct{ err error }

func (e *retryableError) Error() string { return e.err.Error() }
func (e *retryableError) Unwrap() error { return e.err }

// deleteNames deletes names (at most one batch) with one batch request,
// plus one more for each round of transient failures. paths[i] names
// names[i] in the failures returned.
func (d *Driver) deleteNames(ctx context.Context, names, paths []string) []driver.DeleteFailure {
	pending := make([]int, len(names))
	for i := range pending {
		pending[i] = i
	}
	bo := backoff{base: d.cfg.RetryBaseDelay, max: d.cfg.RetryMaxBackoff}
	var failures []driver.DeleteFailure
	fail := func(i int, err error) {
		failures = append(failures, driver.DeleteFailure{Path: paths[i], Err: d.deleteError(ctx, paths[i], err)})
	}
	for attempt := 1; ; attempt++ {
		batch := make([]string, len(pending))
		for j, i := range pending {
			batch[j] = names[i]
		}
		results, err := d.batch.delete(ctx, batch)
		var retry []int
		var lastErr error
		switch {
		case err != nil && (ctx.Err() != nil || !batchRetryable(err) || attempt > d.cfg.retries()):
			for _, i := range pending {
				fail(i, err)
			}
			return failures
		case err != nil:
			retry, lastErr = pending, err
		default:
			for j, r := range results {
				i := pending[j]
				switch {
				case r.Err == nil:
				case isTransientStatus(httpStatus(r.Err)) && attempt <= d.cfg.retries():
					retry, lastErr = append(retry, i), r.Err
				default:
					fail(i, r.Err)
				}
			}
		}
		if len(retry) == 0 {
			return failures
		}
		d.cfg.Logger.Debug("gcs: retrying batch deletes", "calls", len(retry), "attempt", attempt, "error", lastErr)
		if err := wait.Sleep(ctx, bo.delay(attempt)); err != nil {
			for _, i := range retry {
				fail(i, err)
			}
			return failures
		}
		pending = retry
	}
}

// batchRetryable reports whether a whole-batch failure is worth another
// try: a transient status, a dropped connection, a cut response.
func batchRetryable(err error) bool {
	var re *retryableError
	if errors.As(err, &re) {
		return true
	}
	if code := httpStatus(err); code != 0 {
		return isTransientStatus(code)
	}
	return storage.ShouldRetry(err)
}

// deleteError maps the cause of a failed delete of path.
func (d *Driver) deleteError(ctx context.Context, path string, err error) error {
	if ctx.Err() != nil {
		return d.wrap(ctx, "DeleteFiles", path, err)
	}
	if isThrottle(err) {
		return &driver.TooManyRequestsError{DriverName: DriverName, Cause: fmt.Errorf("delete %s: %w", path, err)}
	}
	return fmt.Errorf("%s: delete %s: %w", DriverName, path, err)
}

// Delete implements driver.StorageDriver. It lists flat the names from
// "a/b" up to (not including) "a/b0" — "0" follows "/" — so the object
// "a/b" itself comes first and listing stops after the last name under
// "a/b/"; it keeps "a/b" and the names under "a/b/" and feeds them straight
// into batch deletes while listing goes on: one list request per 1,000
// objects and one batch per 100. Siblings such as "a/bc" are never
// deleted; when listing meets siblings sorting before "a/b/" ("a/b-x",
// "a/b.x") and more pages remain, it restarts at "a/b/" instead of paging
// through them.
func (d *Driver) Delete(ctx context.Context, path string) error {
	if err := driver.ValidatePath(DriverName, path); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	k := d.key(path)
	dirPfx := k + "/"

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu       sync.Mutex
		failures []driver.DeleteFailure
		wg       sync.WaitGroup
		slots    = make(chan struct{}, d.cfg.MaxConcurrency)
		batch    []string
		total    int
	)
	send := func(names []string) {
		if len(names) == 0 {
			return
		}
		paths := make([]string, len(names))
		for i, n := range names {
			paths[i] = d.namePath(n)
		}
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			mu.Lock()
			for _, p := range paths {
				failures = append(failures, driver.DeleteFailure{Path: p, Err: ctx.Err()})
			}
			mu.Unlock()
			return
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			if f := d.deleteNames(ctx, names, paths); len(f) > 0 {
				mu.Lock()
				failures = append(failures, f...)
				mu.Unlock()
			}
		}()
	}

	q := &storage.Query{Prefix: k, EndOffset: k + "0"}
	if err := q.SetAttrSelection([]string{"Name"}); err != nil {
		return err
	}
	pager := iterator.NewPager(d.bucket.Objects(ctx, q), ListPageSize, "")
	var (
		listErr   error
		restarted bool
	)
	for {
		var objs []*storage.ObjectAttrs
		next, err := pager.NextPage(&objs)
		if err != nil {
			listErr = d.wrap(ctx, "Delete", path, err)
			break
		}
		last := ""
		for _, o := range objs {
			last = o.Name
			if o.Name == k || strings.HasPrefix(o.Name, dirPfx) {
				total++
				batch = append(batch, o.Name)
				if len(batch) == d.cfg.DeleteBatchSize {
					send(batch)
					batch = nil
				}
			}
		}
		if next == "" {
			break
		}
		if last < dirPfx && !restarted {
			// Siblings like "a/b-x" still ahead of "a/b/": skip them.
			restarted = true
			q = &storage.Query{Prefix: dirPfx}
			if err := q.SetAttrSelection([]string{"Name"}); err != nil {
				return err
			}
			pager = iterator.NewPager(d.bucket.Objects(ctx, q), ListPageSize, "")
		}
	}
	if listErr == nil {
		send(batch)
	}
	wg.Wait()
	if listErr != nil {
		return listErr
	}
	if len(failures) > 0 {
		return &driver.DeleteFilesError{DriverName: DriverName, Failures: failures}
	}
	if total == 0 {
		return &driver.PathNotFoundError{Path: path, DriverName: DriverName}
	}
	return nil
}

// namePath maps an object name under the root to a path for messages,
// valid or not.
func (d *Driver) namePath(name string) string {
	return "/" + strings.TrimPrefix(name, d.prefix)
}
