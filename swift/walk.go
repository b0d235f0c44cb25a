package swift

import (
	"context"
	"errors"
	"strings"

	"github.com/stowage-dev/stowage/driver"
)

// maxNameSuffix sorts after any name suffix made of path characters; a
// marker of dirPrefix+maxNameSuffix lists from the first name past
// everything under the directory.
const maxNameSuffix = "\U0010FFFF"

// Walk implements driver.StorageDriver with a flat container listing (no
// delimiter, limit 10,000): one request per 10,000 names whatever the depth
// of the tree. Swift lists names in byte order, which is walk order (see
// driver.WalkKey), so the names go straight to a driver.Walker that
// derives the directories, applies ErrSkipDir and runs the parallel
// option. The start-after hint becomes the listing's marker; a skipped
// directory that covers the end of a page is jumped over with a new
// marker instead of paged through.
func (d *Driver) Walk(ctx context.Context, path string, f driver.WalkFn, opts ...driver.WalkOption) error {
	if err := driver.ValidateDirPath(DriverName, path); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	o := driver.ApplyWalkOptions(opts...)
	prefix := d.dirPrefix(path)

	var skipped string // set by wf; directories are visited on this goroutine
	wf := func(fi driver.FileInfo) error {
		err := f(fi)
		if fi.IsDir() && errors.Is(err, driver.ErrSkipDir) {
			skipped = fi.Path()
		}
		return err
	}
	w, wctx := driver.NewWalker(ctx, path, wf, o)

	lo := listOpts{prefix: prefix}
	if h := o.StartAfter; strings.HasPrefix(h, "/") {
		if m := d.prefix + h[1:]; m > prefix {
			lo.marker = m
		}
	}
	hinted := lo.marker != ""
	var (
		found   bool
		skipKey string
		listErr error
	)
pages:
	for {
		page, err := d.listPage(wctx, "Walk", path, d.cfg.Container, lo)
		if err != nil {
			listErr = err
			break
		}
		last := ""
		for _, obj := range page {
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
			if _, err := w.Visit(driver.FileInfoFields{FilePath: p, FileSize: obj.Bytes, FileModTime: obj.modTime()}); err != nil {
				break pages
			}
			if skipped != "" {
				skipKey = d.dirPrefix(skipped)
			}
		}
		if len(page) < d.cfg.ListLimit {
			break
		}
		lo.marker = last
		if skipKey != "" && strings.HasPrefix(last, skipKey) {
			lo.marker = skipKey + maxNameSuffix // jump over the skipped directory
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
		page, err := d.listPage(ctx, "Walk", path, d.cfg.Container, listOpts{prefix: prefix, limit: 1})
		if err != nil {
			return err
		}
		if len(page) > 0 {
			return nil
		}
	}
	return &driver.PathNotFoundError{Path: path, DriverName: DriverName}
}
