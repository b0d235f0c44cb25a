package s3

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/stowage-dev/stowage/driver"
)

var _ driver.ServerSideCopier = (*Driver)(nil)

// CopyFrom implements driver.ServerSideCopier: it copies srcPath of src,
// another s3 Driver (another bucket or root directory), to dstPath
// server-side, as Move copies (CopyObject, or a multipart copy above
// MultipartCopyThresholdSize), pinned to the ETag the source has when
// the copy starts. It copies only when both drivers talk to the same
// endpoint and region with the same static credentials (or both with the
// SDK's default chain): the destination's credentials must be able to read
// the source bucket, and nothing else tells that they can. Otherwise it
// returns false and does nothing.
func (d *Driver) CopyFrom(ctx context.Context, src driver.StorageDriver, srcPath, dstPath string) (bool, error) {
	s, ok := src.(*Driver)
	if !ok || !d.b.sameAccount(s.b) {
		return false, nil
	}
	if err := driver.ValidatePaths(DriverName, srcPath, dstPath); err != nil {
		return false, err
	}
	head, err := s.b.head(ctx, srcPath)
	if err != nil {
		return false, wrap(ctx, "CopyFrom", srcPath, err)
	}
	size := aws.ToInt64(head.ContentLength)
	if size > d.b.cfg.MultipartCopyThresholdSize {
		return true, d.b.multipartCopy(ctx, s.b, srcPath, dstPath, size, head.ContentType, head.ETag)
	}
	in := &s3.CopyObjectInput{
		Bucket:            aws.String(d.b.bucket),
		Key:               aws.String(d.b.keys.Key(dstPath)),
		CopySource:        aws.String(s.b.copySource(srcPath)),
		CopySourceIfMatch: head.ETag,
	}
	d.b.putOptions(&in.ACL, &in.StorageClass, &in.ServerSideEncryption, &in.SSEKMSKeyId)
	if _, err := d.b.client.CopyObject(ctx, in); err != nil {
		return true, wrap(ctx, "CopyFrom", dstPath, err)
	}
	return true, nil
}

// sameAccount reports whether o reaches the same server with the same
// credentials as b.
func (b *backend) sameAccount(o *backend) bool {
	c, oc := b.cfg, o.cfg
	return c.RegionEndpoint == oc.RegionEndpoint && c.Region == oc.Region &&
		c.AccessKey == oc.AccessKey && c.SecretKey == oc.SecretKey && c.SessionToken == oc.SessionToken
}
