package azure

import (
	"context"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"

	"github.com/stowage-dev/stowage/driver"
)

// Walk implements driver.StorageDriver with driver.WalkFlat over a flat
// List Blobs (no delimiter): one request per 5,000 blobs whatever the depth
// of the tree.
func (d *Driver) Walk(ctx context.Context, path string, f driver.WalkFn, opts ...driver.WalkOption) error {
	return driver.WalkFlat(ctx, DriverName, path, f, opts, d.listFlat)
}

// listFlat is Walk's driver.ListFlatFunc. startAfter goes to the service
// as startFrom, which is inclusive, so as the name followed by "\x00"; the
// token is the listing's marker. A service that ignores startFrom (older
// API versions) is noticed, logged once, and filtered by WalkFlat.
func (d *Driver) listFlat(ctx context.Context, dir, startAfter, token string) (driver.ListPage, error) {
	lo := &container.ListBlobsFlatOptions{Prefix: to.Ptr(d.dirPrefix(dir)), MaxResults: to.Ptr(int32(ListPageSize))}
	if token != "" {
		lo.Marker = to.Ptr(token)
	} else if startAfter != "" {
		lo.StartFrom = to.Ptr(d.prefix + startAfter[1:] + "\x00")
	}
	resp, err := d.container.NewListBlobsFlatPager(lo).NextPage(ctx)
	if err != nil {
		return driver.ListPage{}, d.wrap(ctx, "Walk", dir, err)
	}
	items := resp.Segment.BlobItems
	if sf := lo.StartFrom; sf != nil && len(items) > 0 && deref(items[0].Name, "") < *sf {
		if d.startFromIgnored.CompareAndSwap(false, true) {
			d.cfg.Logger.Warn("azure: the service ignores List Blobs startFrom; walks filter on the client")
		}
	}
	var page driver.ListPage
	for _, item := range items {
		p, ok := d.pathOf(deref(item.Name, ""))
		if !ok {
			continue
		}
		fi := driver.FileInfoFields{FilePath: p}
		if props := item.Properties; props != nil {
			fi.FileSize = deref(props.ContentLength, 0)
			fi.FileModTime = deref(props.LastModified, zeroTime)
		}
		page.Files = append(page.Files, fi)
	}
	page.Next = deref(resp.NextMarker, "")
	return page, nil
}
