package s3

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/stowage-dev/stowage/driver"
)

// DeleteBatch implements driver.Backend with one DeleteObjects request in
// Quiet mode. S3 deletes a missing key without complaint; a per-key error
// comes back as a *keyError, which Classify reads like any S3 error. A
// failed request is not marked driver.Retryable: the SDK has retried it.
func (b *backend) DeleteBatch(ctx context.Context, objs []driver.Object) ([]error, error) {
	ids := make([]types.ObjectIdentifier, len(objs))
	for i, o := range objs {
		ids[i] = types.ObjectIdentifier{Key: aws.String(o.Key)}
	}
	out, err := b.client.DeleteObjects(ctx, &s3.DeleteObjectsInput{
		Bucket: aws.String(b.bucket),
		Delete: &types.Delete{Objects: ids, Quiet: aws.Bool(true)},
	}, b.checksumOptions)
	if err != nil {
		return nil, err
	}
	failed := make(map[string]error, len(out.Errors))
	for _, e := range out.Errors {
		failed[aws.ToString(e.Key)] = &keyError{Code: aws.ToString(e.Code), Message: aws.ToString(e.Message)}
	}
	errs := make([]error, len(objs))
	for i, o := range objs {
		errs[i] = failed[o.Key] // nil unless S3 reported the key; keys not asked for are ignored
	}
	return errs, nil
}

// checksumOptions makes DeleteObjects send Content-MD5 in ChecksumMD5
// mode; otherwise the SDK's required x-amz-checksum-crc32 header goes out.
func (b *backend) checksumOptions(o *s3.Options) {
	if b.cfg.Checksum == ChecksumMD5 {
		o.APIOptions = append(o.APIOptions, contentMD5)
	}
}
