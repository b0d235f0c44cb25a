package s3

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/internal/wait"
)

// DeleteFiles implements driver.StorageDriver: DeleteObjects requests of up
// to Config.DeleteBatchSize keys (1,000 at most), up to
// Config.MaxConcurrency at once, with no list or HEAD first. S3 deletes a
// missing key without complaint, so absent paths and directory paths count
// as deleted. Keys that fail with a transient code are sent again, up to
// Config.MaxRetries times.
func (d *Driver) DeleteFiles(ctx context.Context, paths []string) (int, error) {
	return driver.DeleteInBatches(ctx, DriverName, paths, d.cfg.DeleteBatchSize, d.cfg.MaxConcurrency,
		func(ctx context.Context, batch []string) []driver.DeleteFailure {
			keys := make([]string, len(batch))
			for i, p := range batch {
				keys[i] = d.key(p)
			}
			return d.deleteKeys(ctx, keys, batch)
		})
}

// deleteKeys deletes keys (at most MaxDeleteBatchSize) with one
// DeleteObjects request in Quiet mode, plus one more request for each round
// of per-key transient failures. paths[i] names keys[i] in the failures
// returned.
func (d *Driver) deleteKeys(ctx context.Context, keys, paths []string) []driver.DeleteFailure {
	pathOf := make(map[string]string, len(keys))
	for i, k := range keys {
		pathOf[k] = paths[i]
	}
	var failures []driver.DeleteFailure
	pending := keys
	backoff := jitterBackoff{base: d.cfg.RetryBaseDelay, max: d.cfg.RetryMaxBackoff}
	if backoff.base == 0 {
		backoff.base = 200 * time.Millisecond
	}
	for attempt := 1; ; attempt++ {
		objs := make([]types.ObjectIdentifier, len(pending))
		for i, k := range pending {
			objs[i] = types.ObjectIdentifier{Key: aws.String(k)}
		}
		out, err := d.client.DeleteObjects(ctx, &s3.DeleteObjectsInput{
			Bucket: aws.String(d.bucket),
			Delete: &types.Delete{Objects: objs, Quiet: aws.Bool(true)},
		}, d.checksumOptions)
		if err != nil {
			for _, k := range pending {
				p := pathOf[k]
				failures = append(failures, driver.DeleteFailure{Path: p, Err: d.wrap(ctx, "DeleteFiles", p, err)})
			}
			return failures
		}
		var retry []string
		for _, e := range out.Errors {
			k := aws.ToString(e.Key)
			p, ok := pathOf[k]
			if !ok {
				continue // not a key we asked for
			}
			code := aws.ToString(e.Code)
			switch {
			case notFoundCodes[code]:
				// Already gone: deleted, as far as the caller is concerned.
			case transientDeleteCodes[code] && attempt <= d.cfg.MaxRetries:
				retry = append(retry, k)
			default:
				failures = append(failures, driver.DeleteFailure{Path: p, Err: deleteError(p, code, aws.ToString(e.Message))})
			}
		}
		if len(retry) == 0 {
			return failures
		}
		d.cfg.Logger.Debug("s3: retrying keys DeleteObjects could not delete", "keys", len(retry), "attempt", attempt)
		if err := wait.Sleep(ctx, backoff.delay(attempt)); err != nil {
			for _, k := range retry {
				failures = append(failures, driver.DeleteFailure{Path: pathOf[k], Err: err})
			}
			return failures
		}
		pending = retry
	}
}

// checksumOptions makes DeleteObjects send Content-MD5 in ChecksumMD5
// mode; otherwise the SDK's required x-amz-checksum-crc32 header goes out.
func (d *Driver) checksumOptions(o *s3.Options) {
	if d.cfg.Checksum == ChecksumMD5 {
		o.APIOptions = append(o.APIOptions, contentMD5)
	}
}

// Delete implements driver.StorageDriver. It lists flat with the prefix
// "a/b" (so the key "a/b" itself comes first), keeps only the key "a/b"
// and the keys under "a/b/", and feeds them straight into DeleteObjects
// batches while listing goes on: one list and one delete request per 1,000
// keys. Siblings such as "a/bc" are never deleted; when listing meets
// siblings sorting before "a/b/" ("a/b-x", "a/b.x") and more pages remain,
// it restarts at the prefix "a/b/" instead of paging through them, and it
// stops at the first key past "a/b/".
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
	send := func(keys []string) {
		if len(keys) == 0 {
			return
		}
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			mu.Lock()
			for _, key := range keys {
				failures = append(failures, driver.DeleteFailure{Path: d.keyPath(key), Err: ctx.Err()})
			}
			mu.Unlock()
			return
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			paths := make([]string, len(keys))
			for i, key := range keys {
				paths[i] = d.keyPath(key)
			}
			if f := d.deleteKeys(ctx, keys, paths); len(f) > 0 {
				mu.Lock()
				failures = append(failures, f...)
				mu.Unlock()
			}
		}()
	}

	in := &s3.ListObjectsV2Input{Bucket: aws.String(d.bucket), Prefix: aws.String(k)}
	var listErr error
list:
	for {
		page, err := d.client.ListObjectsV2(ctx, in)
		if err != nil {
			listErr = d.wrap(ctx, "Delete", path, err)
			break
		}
		last := ""
		for _, o := range page.Contents {
			key := aws.ToString(o.Key)
			last = key
			switch {
			case key == k || strings.HasPrefix(key, dirPfx):
				total++
				batch = append(batch, key)
				if len(batch) == d.cfg.DeleteBatchSize {
					send(batch)
					batch = nil
				}
			case key > dirPfx:
				break list // past everything under path
			}
		}
		if !aws.ToBool(page.IsTruncated) {
			break
		}
		if last < dirPfx && aws.ToString(in.Prefix) == k {
			// Siblings like "a/b-x" still ahead of "a/b/": skip them.
			in = &s3.ListObjectsV2Input{Bucket: aws.String(d.bucket), Prefix: aws.String(dirPfx)}
			continue
		}
		in.ContinuationToken = page.NextContinuationToken
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

// keyPath maps a key under the root to a path for messages, valid or not.
func (d *Driver) keyPath(key string) string {
	return "/" + strings.TrimPrefix(key, d.prefix)
}
