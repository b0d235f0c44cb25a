package gcs

import (
	"context"
	"strings"

	"cloud.google.com/go/storage"
	"google.golang.org/api/iterator"

	"github.com/stowage-dev/stowage/driver"
)

// Walk implements driver.StorageDriver with driver.WalkFlat over a flat
// object listing (no delimiter) of ListPageSize objects per request: one
// request per 1,000 objects whatever the depth of the tree. A walk of "/"
// ends its listing before the driver's bookkeeping objects (endOffset).
func (d *Driver) Walk(ctx context.Context, path string, f driver.WalkFn, opts ...driver.WalkOption) error {
	return driver.WalkFlat(ctx, DriverName, path, f, opts, d.listFlat)
}

// listFlat is Walk's driver.ListFlatFunc. GCS's startOffset is inclusive,
// so a start after a name is the name followed by "\x00". A page token only
// continues the query it came from, so Next carries the query's
// startOffset along with GCS's token.
func (d *Driver) listFlat(ctx context.Context, dir, startAfter, token string) (driver.ListPage, error) {
	start, pageToken := "", ""
	if token != "" {
		start, pageToken, _ = strings.Cut(token, "\n")
	} else if startAfter != "" {
		start = d.prefix + startAfter[1:] + "\x00"
	}
	end := ""
	if dir == "/" {
		end = d.hiddenPrefix()
	}
	q := &storage.Query{Prefix: d.dirPrefix(dir), StartOffset: start, EndOffset: end}
	if err := q.SetAttrSelection([]string{"Name", "Size", "Updated"}); err != nil {
		return driver.ListPage{}, err
	}
	var objs []*storage.ObjectAttrs
	next, err := iterator.NewPager(d.bucket.Objects(ctx, q), ListPageSize, pageToken).NextPage(&objs)
	if err != nil {
		return driver.ListPage{}, d.wrap(ctx, "Walk", dir, err)
	}
	var page driver.ListPage
	for _, obj := range objs {
		if p, ok := d.pathOf(obj.Name); ok {
			page.Files = append(page.Files, driver.FileInfoFields{FilePath: p, FileSize: obj.Size, FileModTime: obj.Updated})
		}
	}
	if next != "" {
		page.Next = start + "\n" + next
	}
	return page, nil
}
