package azure

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"

	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/internal/wait"
)

// DeleteFiles implements driver.StorageDriver: blob batch requests (Blob
// Batch, one multipart POST) of up to Config.DeleteBatchSize deletes (256
// at most), up to Config.MaxConcurrency at once, with no list or HEAD
// first. A blob that is not there answers 404, which counts as deleted, so
// absent paths and directory paths count as deleted. Deletes that fail
// with a transient status (408, 429, 5xx) are sent again in a new batch,
// up to Config.MaxRetries times. Snapshots of a blob are deleted with it.
func (d *Driver) DeleteFiles(ctx context.Context, paths []string) (int, error) {
	return driver.DeleteInBatches(ctx, DriverName, paths, d.cfg.DeleteBatchSize, d.cfg.MaxConcurrency,
		func(ctx context.Context, batch []string) []driver.DeleteFailure {
			names := make([]string, len(batch))
			for i, p := range batch {
				names[i] = d.key(p)
			}
			return d.deleteBlobs(ctx, names, batch)
		})
}

// deleteBlobs deletes names (at most MaxDeleteBatchSize) with one batch
// request, plus one more for each round of transient per-blob failures.
// paths[i] names names[i] in the failures returned.
func (d *Driver) deleteBlobs(ctx context.Context, names, paths []string) []driver.DeleteFailure {
	var failures []driver.DeleteFailure
	pending := make([]int, len(names)) // indexes into names
	for i := range pending {
		pending[i] = i
	}
	base := d.cfg.RetryBaseDelay
	if base == 0 {
		base = 200 * time.Millisecond
	}
	opts := &container.BatchDeleteOptions{DeleteOptions: blob.DeleteOptions{DeleteSnapshots: deleteSnapshots()}}
	for attempt := 1; ; attempt++ {
		bb, err := d.container.NewBatchBuilder()
		if err == nil {
			for _, i := range pending {
				if err = bb.Delete(names[i], opts); err != nil {
					break
				}
			}
		}
		var resp container.SubmitBatchResponse
		if err == nil {
			resp, err = d.container.SubmitBatch(ctx, bb, nil)
		}
		if err == nil && len(resp.Responses) != len(pending) {
			err = fmt.Errorf("batch answered %d of %d deletes", len(resp.Responses), len(pending))
		}
		if err != nil {
			for _, i := range pending {
				failures = append(failures, driver.DeleteFailure{Path: paths[i], Err: d.wrap(ctx, "DeleteFiles", paths[i], err)})
			}
			return failures
		}
		var retry []int
		for n, item := range resp.Responses {
			i := pending[n]
			if item.ContentID != nil && *item.ContentID >= 0 && *item.ContentID < len(pending) {
				i = pending[*item.ContentID]
			}
			switch err := item.Error; {
			case err == nil, isNotFound(err):
				// Deleted, or already gone.
			case isTransient(err) && attempt <= d.cfg.retries():
				retry = append(retry, i)
			default:
				failures = append(failures, driver.DeleteFailure{Path: paths[i], Err: d.wrap(ctx, "DeleteFiles", paths[i], err)})
			}
		}
		if len(retry) == 0 {
			return failures
		}
		d.cfg.Logger.Debug("azure: retrying blobs a batch could not delete", "blobs", len(retry), "attempt", attempt)
		if err := wait.Sleep(ctx, wait.Jitter(base, d.cfg.RetryMaxBackoff, attempt)); err != nil {
			for _, i := range retry {
				failures = append(failures, driver.DeleteFailure{Path: paths[i], Err: err})
			}
			return failures
		}
		pending = retry
	}
}

// Delete implements driver.StorageDriver. It lists flat with the prefix
// "a/b" (so the blob "a/b" itself comes first), keeps only the blob "a/b"
// and the blobs under "a/b/", and feeds them straight into batch deletes
// while listing goes on: one list request per 5,000 blobs and one batch
// per 256. Siblings such as "a/bc" are never deleted; when listing meets
// siblings sorting before "a/b/" ("a/b-x", "a/b.x") and more pages remain,
// it restarts at the prefix "a/b/" instead of paging through them, and it
// stops at the first blob past "a/b/".
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
			if f := d.deleteBlobs(ctx, names, paths); len(f) > 0 {
				mu.Lock()
				failures = append(failures, f...)
				mu.Unlock()
			}
		}()
	}

	opts := &container.ListBlobsFlatOptions{Prefix: to.Ptr(k), MaxResults: to.Ptr(int32(ListPageSize))}
	var listErr error
list:
	for {
		page, err := d.container.NewListBlobsFlatPager(opts).NextPage(ctx)
		if err != nil {
			listErr = d.wrap(ctx, "Delete", path, err)
			break
		}
		last := ""
		for _, item := range page.Segment.BlobItems {
			name := deref(item.Name, "")
			last = name
			switch {
			case name == k || strings.HasPrefix(name, dirPfx):
				total++
				batch = append(batch, name)
				if len(batch) == d.cfg.DeleteBatchSize {
					send(batch)
					batch = nil
				}
			case name > dirPfx:
				break list // past everything under path
			}
		}
		next := deref(page.NextMarker, "")
		if next == "" {
			break
		}
		if last < dirPfx && deref(opts.Prefix, "") == k {
			// Siblings like "a/b-x" still ahead of "a/b/": skip them.
			opts = &container.ListBlobsFlatOptions{Prefix: to.Ptr(dirPfx), MaxResults: to.Ptr(int32(ListPageSize))}
			continue
		}
		opts.Marker = to.Ptr(next)
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

// namePath maps a blob name under the root to a path for messages, valid
// or not.
func (d *Driver) namePath(name string) string {
	return "/" + strings.TrimPrefix(name, d.prefix)
}
