package swift

import (
	"context"

	"github.com/stowage-dev/stowage/driver"
)

// Walk implements driver.StorageDriver with driver.WalkFlat over a flat
// container listing (no delimiter, limit ListLimit, 10,000 by default): one
// request per 10,000 names whatever the depth of the tree.
func (d *Driver) Walk(ctx context.Context, path string, f driver.WalkFn, opts ...driver.WalkOption) error {
	return driver.WalkFlat(ctx, DriverName, path, f, opts, d.listFlat)
}

// listFlat is Walk's driver.ListFlatFunc. Swift's marker is a start-after,
// so startAfter and the token (the last name of the previous page) both
// become the marker. A page shorter than the limit ends the listing.
func (d *Driver) listFlat(ctx context.Context, dir, startAfter, token string) (driver.ListPage, error) {
	lo := listOpts{prefix: d.dirPrefix(dir), marker: token}
	if token == "" && startAfter != "" {
		lo.marker = d.prefix + startAfter[1:]
	}
	objs, err := d.listPage(ctx, "Walk", dir, d.cfg.Container, lo)
	if err != nil {
		return driver.ListPage{}, err
	}
	var page driver.ListPage
	for _, obj := range objs {
		if p, ok := d.pathOf(obj.Name); ok {
			page.Files = append(page.Files, driver.FileInfoFields{FilePath: p, FileSize: obj.Bytes, FileModTime: obj.modTime()})
		}
	}
	if len(objs) >= d.cfg.ListLimit {
		page.Next = objs[len(objs)-1].Name
	}
	return page, nil
}
