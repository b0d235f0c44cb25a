package s3

import (
	"context"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/stowage-dev/stowage/driver"
)

// Walk implements driver.StorageDriver with driver.WalkFlat over a flat
// ListObjectsV2 (no delimiter): one request per 1,000 keys whatever the
// depth of the tree.
func (d *Driver) Walk(ctx context.Context, path string, f driver.WalkFn, opts ...driver.WalkOption) error {
	return driver.WalkFlat(ctx, DriverName, path, f, opts, d.listFlat)
}

// listFlat is Walk's driver.ListFlatFunc: startAfter goes to S3 as
// StartAfter, the token as ContinuationToken. A listing of "/" ends at the
// driver's own objects, which sort last.
func (d *Driver) listFlat(ctx context.Context, dir, startAfter, token string) (driver.ListPage, error) {
	in := &s3.ListObjectsV2Input{Bucket: aws.String(d.bucket), Prefix: aws.String(d.dirPrefix(dir))}
	if token != "" {
		in.ContinuationToken = aws.String(token)
	} else if startAfter != "" {
		in.StartAfter = aws.String(d.prefix + startAfter[1:])
	}
	out, err := d.client.ListObjectsV2(ctx, in)
	if err != nil {
		return driver.ListPage{}, d.wrap(ctx, "Walk", dir, err)
	}
	hidden := d.prefix + hiddenDir + "/"
	var page driver.ListPage
	for _, obj := range out.Contents {
		key := aws.ToString(obj.Key)
		if dir == "/" && strings.HasPrefix(key, hidden) {
			return page, nil // the end: nothing after the driver's own objects
		}
		if p, ok := d.pathOf(key); ok {
			page.Files = append(page.Files, driver.FileInfoFields{
				FilePath:    p,
				FileSize:    aws.ToInt64(obj.Size),
				FileModTime: aws.ToTime(obj.LastModified),
			})
		}
	}
	if aws.ToBool(out.IsTruncated) {
		page.Next = aws.ToString(out.NextContinuationToken)
	}
	return page, nil
}
