package azure

import (
	"context"
	"errors"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"

	"github.com/stowage-dev/stowage/driver"
)

// maxNameSuffix sorts after any blob name suffix made of path characters;
// a StartFrom of dirPrefix+maxNameSuffix lists from the first blob past
// everything under the directory.
const maxNameSuffix = "\U0010FFFF"

// Walk implements driver.StorageDriver with a flat List Blobs (no
// delimiter): one request per 5,000 blobs whatever the depth of the tree.
// Azure lists blob names in byte order, which is walk order (see
// driver.WalkKey), so the names go straight to a driver.Walker that
// derives the directories, applies ErrSkipDir and runs the parallel
// option. The start-after hint is passed to Azure as StartFrom (inclusive,
// so the hinted name itself is dropped here); when a skipped directory
// still covers the end of a page, the next request jumps past it with a
// new StartFrom instead of paging through its contents. A server that
// ignores StartFrom (older service versions) is detected and the walk
// filters on the client instead, never visiting an entry twice.
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

	lo := &container.ListBlobsFlatOptions{Prefix: to.Ptr(prefix), MaxResults: to.Ptr(int32(ListPageSize))}
	floor := "" // names up to and including it are done with
	if h := o.StartAfter; strings.HasPrefix(h, "/") {
		if sa := d.prefix + h[1:]; sa > prefix {
			lo.StartFrom = to.Ptr(sa)
			floor = sa
		}
	}
	hinted := lo.StartFrom != nil

	var (
		found   bool   // any blob under prefix
		skipKey string // name prefix of the directory being skipped
		listErr error
	)
pages:
	for {
		page, err := d.container.NewListBlobsFlatPager(lo).NextPage(wctx)
		if err != nil {
			listErr = d.wrap(wctx, "Walk", path, err)
			break
		}
		if sf := lo.StartFrom; sf != nil && len(page.Segment.BlobItems) > 0 && deref(page.Segment.BlobItems[0].Name, "") < *sf {
			// The server ignored StartFrom: filter here, never jump again.
			if d.startFromIgnored.CompareAndSwap(false, true) {
				d.cfg.Logger.Warn("azure: the service ignores List Blobs startFrom; walks filter on the client")
			}
		}
		last := ""
		for _, item := range page.Segment.BlobItems {
			name := deref(item.Name, "")
			last = name
			found = true
			if name <= floor {
				continue // before the hint or the jump: StartFrom was ignored or is inclusive
			}
			p, ok := d.pathOf(name)
			if !ok {
				continue
			}
			if skipKey != "" && !strings.HasPrefix(name, skipKey) {
				skipKey = ""
			}
			skipped = ""
			fi := driver.FileInfoFields{FilePath: p}
			if props := item.Properties; props != nil {
				fi.FileSize = deref(props.ContentLength, 0)
				fi.FileModTime = deref(props.LastModified, zeroTime)
			}
			if _, err := w.Visit(fi); err != nil {
				break pages
			}
			if skipped != "" {
				skipKey = d.dirPrefix(skipped)
			}
		}
		next := deref(page.NextMarker, "")
		if next == "" {
			break
		}
		if skipKey != "" && strings.HasPrefix(last, skipKey) && !d.startFromIgnored.Load() {
			// The skipped directory goes on past this page: jump over it.
			jump := skipKey + maxNameSuffix
			lo.Marker = nil
			lo.StartFrom = to.Ptr(jump)
			floor = jump
			continue
		}
		lo.Marker = to.Ptr(next)
		lo.StartFrom = nil
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
		exists, err := d.dirExists(ctx, "Walk", path)
		if err != nil {
			return err
		}
		if exists {
			return nil
		}
	}
	return &driver.PathNotFoundError{Path: path, DriverName: DriverName}
}
