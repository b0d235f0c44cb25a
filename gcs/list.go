package gcs

import (
	"context"
	"slices"
	"sort"
	"strings"

	"cloud.google.com/go/storage"
	"google.golang.org/api/iterator"

	"github.com/stowage-dev/stowage/driver"
)

// List implements driver.StorageDriver with an object listing with the "/"
// delimiter: one request per 1,000 direct children.
func (d *Driver) List(ctx context.Context, path string) ([]string, error) {
	if err := driver.ValidateDirPath(DriverName, path); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	q := &storage.Query{Prefix: d.dirPrefix(path), Delimiter: "/"}
	if err := q.SetAttrSelection([]string{"Name"}); err != nil {
		return nil, err
	}
	pager := iterator.NewPager(d.bucket.Objects(ctx, q), ListPageSize, "")
	var (
		children []string
		found    bool // anything at all under the prefix, hidden or not
	)
	for {
		var objs []*storage.ObjectAttrs
		next, err := pager.NextPage(&objs)
		if err != nil {
			return nil, d.wrap(ctx, "List", path, err)
		}
		for _, o := range objs {
			found = true
			name := o.Name
			if o.Prefix != "" {
				name = strings.TrimSuffix(o.Prefix, "/")
			}
			if p, ok := d.pathOf(name); ok {
				children = append(children, p)
			}
		}
		if next == "" {
			break
		}
	}
	if path != "/" && !found {
		return nil, &driver.PathNotFoundError{Path: path, DriverName: DriverName}
	}
	sort.Strings(children)
	// An object "a/b" next to objects under "a/b/" (any GCS client can make
	// both) would name the child twice.
	children = slices.Compact(children)
	if children == nil {
		children = []string{}
	}
	return children, nil
}
