package s3

import (
	"context"
	"errors"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/stowage-dev/stowage/driver"
)

// maxKeySuffix sorts after any key suffix made of path characters; a
// StartAfter of dirPrefix+maxKeySuffix lists from the first key past
// everything under the directory.
const maxKeySuffix = "\U0010FFFF"

// Walk implements driver.StorageDriver with a flat ListObjectsV2 (no
// delimiter): one request per 1,000 keys whatever the depth of the tree.
// Object stores list keys in byte order, which is walk order (see
// driver.WalkKey), so the keys go straight to a driver.Walker that derives
// the directories, applies ErrSkipDir and runs the parallel option. The
// start-after hint is passed to S3 as StartAfter. When a skipped directory
// still covers the end of a page, the next request jumps past it with a new
// StartAfter instead of paging through its contents.
func (d *Driver) Walk(ctx context.Context, path string, f driver.WalkFn, opts ...driver.WalkOption) error {
	if err := driver.ValidateDirPath(DriverName, path); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	o := driver.ApplyWalkOptions(opts...)
	prefix := d.dirPrefix(path)

	// Learn which directory f asked to skip. Directories are visited on
	// this goroutine (only files go to parallel workers), so no lock.
	var skipped string
	wf := func(fi driver.FileInfo) error {
		err := f(fi)
		if fi.IsDir() && errors.Is(err, driver.ErrSkipDir) {
			skipped = fi.Path()
		}
		return err
	}
	w, wctx := driver.NewWalker(ctx, path, wf, o)

	in := &s3.ListObjectsV2Input{Bucket: aws.String(d.bucket), Prefix: aws.String(prefix)}
	if h := o.StartAfter; strings.HasPrefix(h, "/") {
		if sa := d.prefix + h[1:]; sa > prefix {
			in.StartAfter = aws.String(sa)
		}
	}
	hinted := in.StartAfter != nil
	hidden := d.prefix + hiddenDir + "/"

	var (
		found   bool   // any key under prefix
		skipKey string // key prefix of the directory being skipped
		listErr error
	)
pages:
	for {
		page, err := d.client.ListObjectsV2(wctx, in)
		if err != nil {
			listErr = d.wrap(wctx, "Walk", path, err)
			break
		}
		last := ""
		for _, obj := range page.Contents {
			key := aws.ToString(obj.Key)
			last = key
			found = true
			if path == "/" && strings.HasPrefix(key, hidden) {
				break pages // the driver's own objects sort last
			}
			p, ok := d.pathOf(key)
			if !ok {
				continue
			}
			if skipKey != "" && !strings.HasPrefix(key, skipKey) {
				skipKey = ""
			}
			skipped = ""
			if _, err := w.Visit(driver.FileInfoFields{
				FilePath:    p,
				FileSize:    aws.ToInt64(obj.Size),
				FileModTime: aws.ToTime(obj.LastModified),
			}); err != nil {
				break pages
			}
			if skipped != "" {
				skipKey = d.dirPrefix(skipped)
			}
		}
		if !aws.ToBool(page.IsTruncated) {
			break
		}
		if skipKey != "" && strings.HasPrefix(last, skipKey) {
			// The skipped directory goes on past this page: jump over it.
			in.ContinuationToken = nil
			in.StartAfter = aws.String(skipKey + maxKeySuffix)
			continue
		}
		in.ContinuationToken = page.NextContinuationToken
		in.StartAfter = nil
	}
	if err := w.Close(); err != nil {
		return err
	}
	if listErr != nil {
		return listErr
	}
	if path == "/" || found {
		return nil
	}
	if hinted {
		// Everything may lie before the hint: does the directory exist?
		exists, err := d.dirExists(ctx, path)
		if err != nil {
			return err
		}
		if exists {
			return nil
		}
	}
	return &driver.PathNotFoundError{Path: path, DriverName: DriverName}
}
