package smoke_test

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/stowage-dev/stowage/internal/testenv"
)

// TestS3 checks the S3 server (MinIO) with aws-sdk-go-v2.
func TestS3(t *testing.T) {
	s := testenv.S3(t)
	ctx := testContext(t)
	where := "S3 server (MinIO) at " + s.Endpoint

	// Built from explicit options, not config.LoadDefaultConfig, so that
	// nothing in the developer's ~/.aws or AWS_* environment leaks in.
	client := s3.New(s3.Options{
		Region:       s.Region,
		BaseEndpoint: aws.String(s.Endpoint),
		UsePathStyle: true, // MinIO on loopback has no virtual-host DNS
		Credentials:  credentials.NewStaticCredentialsProvider(s.AccessKey, s.SecretKey, ""),
		// The SDK's default CRC checksums are not accepted by every
		// S3-compatible server; send them only where the API requires them.
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	})

	name := objectName(t)
	data := content(name)
	if _, err := client.PutObject(ctx, &s3.PutObjectInput{
		Bucket: &s.Bucket, Key: &name, Body: bytes.NewReader(data),
	}); err != nil {
		t.Fatalf("%s: put %s/%s: %v", where, s.Bucket, name, err)
	}
	deleted := false
	t.Cleanup(func() {
		if !deleted {
			client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &s.Bucket, Key: &name}) //nolint:errcheck // best effort
		}
	})

	out, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: &s.Bucket, Key: &name})
	if err != nil {
		t.Fatalf("%s: get: %v", where, err)
	}
	got, err := io.ReadAll(out.Body)
	out.Body.Close()
	if err != nil {
		t.Fatalf("%s: read: %v", where, err)
	}
	checkRoundTrip(t, where, got, data)

	list, err := client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: &s.Bucket, Prefix: &name})
	if err != nil {
		t.Fatalf("%s: list: %v", where, err)
	}
	var names []string
	for _, o := range list.Contents {
		names = append(names, aws.ToString(o.Key))
	}
	checkListed(t, where, names, name)

	if _, err := client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &s.Bucket, Key: &name}); err != nil {
		t.Fatalf("%s: delete: %v", where, err)
	}
	deleted = true
	_, err = client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &s.Bucket, Key: &name})
	var nf *types.NotFound
	if !errors.As(err, &nf) {
		t.Fatalf("%s: head after delete: got %v, want NotFound", where, err)
	}
}
