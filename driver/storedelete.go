package driver

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"strings"
)

// deleter returns the Store's BatchDeleter.
func (s *Store) deleter() BatchDeleter {
	return BatchDeleter{DriverName: s.name, Backend: s.b, Keys: s.keys, BatchSize: s.caps.DeleteBatchSize, Config: s.cfg}
}

// DeleteFiles implements StorageDriver with DeleteInBatches: bulk-delete
// requests of up to the effective batch size (Capabilities), up to
// CommonConfig.MaxConcurrency at once, with no list or stat first. A
// missing path, and so a directory path, counts as deleted.
func (s *Store) DeleteFiles(ctx context.Context, paths []string) (int, error) {
	return DeleteInBatches(ctx, s.name, paths, s.caps.DeleteBatchSize, s.cfg.MaxConcurrency,
		func(ctx context.Context, batch []string) []DeleteFailure {
			objs := make([]Object, len(batch))
			for i, p := range batch {
				objs[i] = Object{Key: s.keys.Key(p)}
			}
			return s.deleter().Batch(ctx, "DeleteFiles", objs)
		})
}

// BatchDeleter deletes objects of a Backend in bulk-delete batches with
// per-item retries: the half of DeleteFiles and Delete after the listing,
// which a backend also uses for its own bookkeeping objects (parts,
// segments).
type BatchDeleter struct {
	DriverName string
	Backend    Backend
	Keys       KeyMap
	// BatchSize is the most objects per Backend.DeleteBatch.
	BatchSize int
	// Config gives MaxConcurrency, the retries, the backoff and the logger.
	Config CommonConfig
}

// Batch deletes objs (at most BatchSize) with one Backend.DeleteBatch,
// plus one more for each round of items that failed transiently (or the
// whole batch, when the backend marked its failure Retryable), up to
// Config.MaxRetries rounds, with backoff in between. It returns the objects
// not deleted, by path, each with its cause mapped for operation op.
func (d BatchDeleter) Batch(ctx context.Context, op string, objs []Object) []DeleteFailure {
	var failures []DeleteFailure
	fail := func(o Object, err error) {
		p := d.Keys.AnyPath(o.Key)
		failures = append(failures, DeleteFailure{Path: p, Err: WrapError(ctx, d.DriverName, op, p, err, d.Backend.Classify)})
	}
	backoff := d.Config.Backoff()
	pending := objs
	for attempt := 1; ; attempt++ {
		last := attempt > d.Config.Retries()
		errs, err := d.Backend.DeleteBatch(ctx, pending)
		d.report(pending, errs, err)
		var retry []Object
		switch {
		case err != nil && (last || ctx.Err() != nil || !IsRetryable(err)):
			for _, o := range pending {
				fail(o, err)
			}
			return failures
		case err != nil:
			retry = pending
		default:
			for i, o := range pending {
				e := errs[i]
				if e == nil {
					continue
				}
				switch k := d.Backend.Classify(e); {
				case k == KindNotFound:
					// Already gone: deleted, as far as the caller is concerned.
				case (k == KindTransient || k == KindThrottled) && !last:
					retry = append(retry, o)
				default:
					fail(o, e)
				}
			}
		}
		if len(retry) == 0 {
			return failures
		}
		d.Config.Logger.Debug(d.DriverName+": retrying deletes", "objects", len(retry), "attempt", attempt, "error", err)
		d.Config.Events().Retried(d.DriverName, cmp.Or(err, errRetryingItems))
		if werr := backoff.Sleep(ctx, attempt); werr != nil {
			for _, o := range retry {
				fail(o, werr)
			}
			return failures
		}
		pending = retry
	}
}

// errRetryingItems is the error an Observer sees for a retry round of
// the items a bulk-delete request failed transiently.
var errRetryingItems = errors.New("some items of a bulk delete failed transiently")

// report tells the Observer of one bulk-delete request: its size and the
// objects it did not delete (a missing object counts as deleted).
func (d BatchDeleter) report(objs []Object, errs []error, err error) {
	failed := 0
	switch {
	case err != nil:
		failed = len(objs)
	default:
		for _, e := range errs {
			if e != nil && d.Backend.Classify(e) != KindNotFound {
				failed++
			}
		}
	}
	d.Config.Events().DeleteBatch(d.DriverName, len(objs), failed)
}

// All deletes objs in batches of BatchSize, up to Config.MaxConcurrency
// at once, and returns a *DeleteFilesError listing every object not
// deleted (by path), or nil.
func (d BatchDeleter) All(ctx context.Context, op string, objs []Object) error {
	g := newBatchGroup(ctx, d.Config.MaxConcurrency)
	for batch := range slices.Chunk(objs, max(d.BatchSize, 1)) {
		d.goBatch(g, op, batch)
	}
	if failures := g.Wait(); len(failures) > 0 {
		return &DeleteFilesError{DriverName: d.DriverName, Failures: failures}
	}
	return nil
}

// goBatch runs Batch for batch in g.
func (d BatchDeleter) goBatch(g *batchGroup, op string, batch []Object) {
	paths := make([]string, len(batch))
	for i, o := range batch {
		paths[i] = d.Keys.AnyPath(o.Key)
	}
	g.Go(paths, func(ctx context.Context) []DeleteFailure { return d.Batch(ctx, op, batch) })
}

// Delete implements StorageDriver. It lists flat from the key of path
// itself (so the file "a/b" comes first), keeps only that key and the keys
// under "a/b/", and feeds them into bulk-delete batches while listing goes
// on: one list request per page and one delete request per batch. Siblings
// such as "a/bc" are never deleted; when listing meets siblings sorting
// before "a/b/" ("a/b-x", "a/b.x") and more pages remain, it restarts at
// the prefix "a/b/" instead of paging through them, and it stops at the
// first key past "a/b/". Every key under the directory goes, also those
// that are no valid path. Nothing under path is a *PathNotFoundError.
func (s *Store) Delete(ctx context.Context, path string) error {
	if err := s.check(ctx, path, false); err != nil {
		return err
	}
	k := s.keys.Key(path)
	dirPfx := k + "/"

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	del := s.deleter()
	g := newBatchGroup(ctx, s.cfg.MaxConcurrency)
	send := func(batch []Object) {
		if len(batch) > 0 {
			del.goBatch(g, "Delete", batch)
		}
	}

	var (
		batch   []Object
		total   int
		listErr error
	)
	q := ListQuery{Prefix: k, EndBefore: k + "0"} // "0" follows "/"
list:
	for {
		page, err := s.b.List(ctx, q)
		if err != nil {
			listErr = s.wrap(ctx, "Delete", path, err)
			break
		}
		last := ""
		for _, o := range page.Objects {
			last = o.Key
			switch {
			case o.Key == k || strings.HasPrefix(o.Key, dirPfx):
				total++
				batch = append(batch, o)
				if len(batch) == s.caps.DeleteBatchSize {
					send(batch)
					batch = nil
				}
			case o.Key > dirPfx:
				break list // past everything under path
			}
		}
		if page.Next == "" {
			break
		}
		if last < dirPfx && q.Prefix == k {
			// Siblings like "a/b-x" still ahead of "a/b/": skip them.
			q = ListQuery{Prefix: dirPfx}
			continue
		}
		q.Token = page.Next
	}
	if listErr == nil {
		send(batch)
	}
	failures := g.Wait()
	switch {
	case listErr != nil:
		return listErr
	case len(failures) > 0:
		return &DeleteFilesError{DriverName: s.name, Failures: failures}
	case total == 0:
		return &PathNotFoundError{Path: path, DriverName: s.name}
	}
	return nil
}
