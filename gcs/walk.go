package gcs

import (
	"context"
	"errors"
	"strings"

	"cloud.google.com/go/storage"
	"google.golang.org/api/iterator"

	"github.com/stowage-dev/stowage/driver"
)

// maxNameSuffix sorts after any name suffix made of path characters; a
// StartOffset of dirPrefix+maxNameSuffix lists from the first name past
// everything under the directory.
const maxNameSuffix = "\U0010FFFF"

// listQuery returns a flat (no delimiter) query for the names, sizes and
// times of the objects under prefix, from startOffset on (inclusive) and
// before endOffset (exclusive); either may be empty.
func listQuery(prefix, startOffset, endOffset string) (*storage.Query, error) {
	q := &storage.Query{Prefix: prefix, StartOffset: startOffset, EndOffset: endOffset}
	if err := q.SetAttrSelection([]string{"Name", "Size", "Updated"}); err != nil {
		return nil, err
	}
	return q, nil
}

// Walk implements driver.StorageDriver with a flat object listing (no
// delimiter) of exactly ListPageSize objects per request: one request per
// 1,000 objects whatever the depth of the tree. GCS lists names in byte
// order, which is walk order (see driver.WalkKey), so the names go straight
// to a driver.Walker that derives the directories, applies ErrSkipDir and
// runs the parallel option. The start-after hint is passed to GCS as
// startOffset. When a skipped directory still covers the end of a page,
// the next request jumps past it with a new startOffset instead of paging
// through its contents. A walk of "/" ends its listing before the driver's
// bookkeeping objects (endOffset).
func (d *Driver) Walk(ctx context.Context, path string, f driver.WalkFn, opts ...driver.WalkOption) error {
	if err := driver.ValidateDirPath(DriverName, path); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	o := driver.ApplyWalkOptions(opts...)
	prefix := d.dirPrefix(path)
	end := ""
	if path == "/" {
		end = d.hiddenPrefix()
	}

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

	start := ""
	if h := o.StartAfter; strings.HasPrefix(h, "/") {
		// startOffset is inclusive; the Walker drops the hint itself.
		if sa := d.prefix + h[1:]; sa > prefix {
			start = sa
		}
	}
	hinted := start != ""
	q, err := listQuery(prefix, start, end)
	if err != nil {
		return err
	}
	pager := iterator.NewPager(d.bucket.Objects(wctx, q), ListPageSize, "")

	var (
		found   bool   // any object under prefix
		skipKey string // name prefix of the directory being skipped
		listErr error
	)
pages:
	for {
		var objs []*storage.ObjectAttrs
		next, err := pager.NextPage(&objs)
		if err != nil {
			listErr = d.wrap(wctx, "Walk", path, err)
			break
		}
		last := ""
		for _, obj := range objs {
			last = obj.Name
			found = true
			p, ok := d.pathOf(obj.Name)
			if !ok {
				continue
			}
			if skipKey != "" && !strings.HasPrefix(obj.Name, skipKey) {
				skipKey = ""
			}
			skipped = ""
			if _, err := w.Visit(driver.FileInfoFields{
				FilePath:    p,
				FileSize:    obj.Size,
				FileModTime: obj.Updated,
			}); err != nil {
				break pages
			}
			if skipped != "" {
				skipKey = d.dirPrefix(skipped)
			}
		}
		if next == "" {
			break
		}
		if skipKey != "" && strings.HasPrefix(last, skipKey) {
			// The skipped directory goes on past this page: jump over it.
			if q, err = listQuery(prefix, skipKey+maxNameSuffix, end); err != nil {
				listErr = err
				break
			}
			pager = iterator.NewPager(d.bucket.Objects(wctx, q), ListPageSize, "")
		}
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
