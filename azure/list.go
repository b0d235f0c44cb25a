package azure

import (
	"context"
	"slices"
	"sort"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"

	"github.com/stowage-dev/stowage/driver"
)

// List implements driver.StorageDriver with List Blobs and the "/"
// delimiter: one request per 5,000 direct children.
func (d *Driver) List(ctx context.Context, path string) ([]string, error) {
	if err := driver.ValidateDirPath(DriverName, path); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	prefix := d.dirPrefix(path)
	pager := d.container.NewListBlobsHierarchyPager("/", &container.ListBlobsHierarchyOptions{
		Prefix:     to.Ptr(prefix),
		MaxResults: to.Ptr(int32(ListPageSize)),
	})
	var (
		children []string
		found    bool // anything at all under the prefix
	)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, d.wrap(ctx, "List", path, err)
		}
		for _, item := range page.Segment.BlobItems {
			found = true
			if p, ok := d.pathOf(deref(item.Name, "")); ok {
				children = append(children, p)
			}
		}
		for _, bp := range page.Segment.BlobPrefixes {
			found = true
			if p, ok := d.pathOf(strings.TrimSuffix(deref(bp.Name, ""), "/")); ok {
				children = append(children, p)
			}
		}
	}
	if path != "/" && !found {
		return nil, &driver.PathNotFoundError{Path: path, DriverName: DriverName}
	}
	sort.Strings(children)
	// A blob "a/b" next to blobs under "a/b/" would name the child twice.
	children = slices.Compact(children)
	if children == nil {
		children = []string{}
	}
	return children, nil
}
