package driver

import (
	"context"
	"slices"
	"sort"
)

// UniquePaths validates every path with ValidatePath and returns them with
// duplicates folded, in first-seen order. One invalid path fails the whole
// call with an *InvalidPathError, so a DeleteFiles built on it deletes
// nothing.
func UniquePaths(driverName string, paths []string) ([]string, error) {
	seen := make(map[string]struct{}, len(paths))
	out := make([]string, 0, len(paths))
	for _, p := range paths {
		if err := ValidatePath(driverName, p); err != nil {
			return nil, err
		}
		if _, dup := seen[p]; dup {
			continue
		}
		seen[p] = struct{}{}
		out = append(out, p)
	}
	return out, nil
}

// BatchFunc deletes one batch of unique, valid paths in one request and
// returns the paths it could not delete, each with its cause. A request that
// failed as a whole returns every path of the batch with that error.
type BatchFunc func(ctx context.Context, batch []string) []DeleteFailure

// DeleteInBatches is the shared body of DeleteFiles: it validates and folds
// paths (UniquePaths), splits them into batches of at most batchSize, sends
// up to concurrency batches at once through fn, and returns the number of
// unique paths deleted and, when any failed, a *DeleteFilesError listing
// each one. Batches not started because ctx was cancelled are reported as
// failed with ctx's error, so nothing is lost silently: n plus the failures
// always equals the number of unique paths.
func DeleteInBatches(ctx context.Context, driverName string, paths []string, batchSize, concurrency int, fn BatchFunc) (int, error) {
	unique, err := UniquePaths(driverName, paths)
	if err != nil {
		return 0, err
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if len(unique) == 0 {
		return 0, nil
	}
	g := newBatchGroup(ctx, concurrency)
	for batch := range slices.Chunk(unique, max(batchSize, 1)) {
		g.Go(batch, func(ctx context.Context) []DeleteFailure { return fn(ctx, batch) })
	}
	failures := g.Wait()
	if len(failures) == 0 {
		return len(unique), nil
	}
	// Keep the report in the caller's order.
	index := make(map[string]int, len(unique))
	for i, p := range unique {
		index[p] = i
	}
	sortFailures(failures, index)
	return len(unique) - len(failures), &DeleteFilesError{DriverName: driverName, Failures: failures}
}

func failAll(batch []string, err error) []DeleteFailure {
	out := make([]DeleteFailure, len(batch))
	for i, p := range batch {
		out[i] = DeleteFailure{Path: p, Err: err}
	}
	return out
}

func sortFailures(f []DeleteFailure, index map[string]int) {
	sort.Slice(f, func(i, j int) bool { return index[f[i].Path] < index[f[j].Path] })
}
