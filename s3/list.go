package s3

import (
	"context"
	"slices"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/stowage-dev/stowage/driver"
)

// List implements driver.StorageDriver with ListObjectsV2 and the "/"
// delimiter: one request per 1,000 direct children.
func (d *Driver) List(ctx context.Context, path string) ([]string, error) {
	if err := driver.ValidateDirPath(DriverName, path); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	prefix := d.dirPrefix(path)
	in := &s3.ListObjectsV2Input{
		Bucket:    aws.String(d.bucket),
		Prefix:    aws.String(prefix),
		Delimiter: aws.String("/"),
	}
	var (
		children []string
		found    bool // anything at all under the prefix, hidden or not
	)
	for pages := s3.NewListObjectsV2Paginator(d.client, in); pages.HasMorePages(); {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, d.wrap(ctx, "List", path, err)
		}
		for _, o := range page.Contents {
			found = true
			if p, ok := d.pathOf(aws.ToString(o.Key)); ok {
				children = append(children, p)
			}
		}
		for _, cp := range page.CommonPrefixes {
			found = true
			if p, ok := d.pathOf(strings.TrimSuffix(aws.ToString(cp.Prefix), "/")); ok {
				children = append(children, p)
			}
		}
	}
	if path != "/" && !found {
		return nil, &driver.PathNotFoundError{Path: path, DriverName: DriverName}
	}
	sort.Strings(children)
	// A key "a/b" next to keys under "a/b/" (any S3 client can make both)
	// would name the child twice.
	children = slices.Compact(children)
	if children == nil {
		children = []string{}
	}
	return children, nil
}
