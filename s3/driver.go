// Package s3 is the stowage backend for Amazon S3 and S3-compatible servers
// (MinIO, Ceph RGW, ...), built on aws-sdk-go-v2.
//
// It is registered as "s3": import it for its side effect and call
// driver.Open(ctx, "s3", params) with distribution-style parameters (see
// FromParameters), or build a Config and call New.
//
// The Driver is a driver.Store over this package's backend: the Store does
// the path and context checks, the error mapping, Stat, List, Walk,
// directory Delete, the batching and per-key retries of DeleteFiles and the
// URLFor options, and the backend sends the S3 requests. Paths map to keys
// with driver.KeyMap: with rootdirectory "registry", "/docker/x" is the key
// "registry/docker/x". DeleteFiles sends DeleteObjects requests of up to
// 1,000 keys, Delete and Walk list flat (one ListObjectsV2 per 1,000 keys),
// Writer uploads in multipart parts that survive the process, and Move
// copies server-side.
//
// Uncommitted writer state lives in the multipart upload itself plus, when
// the session ended with fewer bytes than a part needs, a small "tail"
// object under <root>/~stowage/. No valid path can reach that name ("~" is
// not a path character), and List, Walk and Stat leave it out.
// Driver.StagedUploads and Driver.PurgeStagedUpload (driver.UploadStager)
// list and remove that state, for stowage uploads.
package s3

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/stowage-dev/stowage/driver"
)

// DriverName is the name the backend is registered under and that its
// errors carry.
const DriverName = "s3"

// hiddenPrefix is the key prefix, relative to the root, of the driver's
// bookkeeping objects. "~" is outside the path alphabet, so no valid path
// names it, and it sorts after every valid name.
const hiddenPrefix = "~stowage/"

// Driver is the S3 StorageDriver: a driver.Store over the S3 backend. It is
// safe for concurrent use.
type Driver struct {
	*driver.Store
	b *backend
}

var _ driver.StorageDriver = (*Driver)(nil)

// New builds a Driver from c. It sends no request: a wrong bucket or
// credentials show up on first use. Every request goes through one
// client, c.CommonConfig.Client (the rate limit of MaxRequestsPerSecond,
// SkipVerify), and every retry of the SDK is reported to c.Observer.
func New(ctx context.Context, c Config) (*Driver, error) {
	c, err := c.normalize()
	if err != nil {
		return nil, err
	}
	client, err := newClient(ctx, c, c.CommonConfig.Client(DriverName, c.SkipVerify))
	if err != nil {
		return nil, err
	}
	presign := s3.NewPresignClient(client)
	if c.RedirectEndpoint != "" {
		u, _ := url.Parse(c.RedirectEndpoint) // checked by normalize
		presign = s3.NewPresignClient(client, func(o *s3.PresignOptions) {
			o.ClientOptions = append(o.ClientOptions, func(o *s3.Options) {
				o.APIOptions = append(o.APIOptions, redirectHost(u))
			})
		})
	}
	b := &backend{cfg: c, client: client, presign: presign, bucket: c.Bucket,
		keys: driver.NewKeyMap(c.RootDirectory), maxParts: MaxParts}
	if c.maxParts > 0 {
		b.maxParts = c.maxParts
	}
	caps := driver.Capabilities{
		HTTP:            true,
		DeleteBatchSize: MaxDeleteBatchSize,
		ListPageSize:    1000,
		StartAfter:      true,
		SignedURLs:      true,
		MaxURLExpiry:    MaxURLExpiry,
		HiddenPrefix:    hiddenPrefix,
	}
	return &Driver{Store: driver.NewStore(DriverName, b, b.keys, caps, c.CommonConfig), b: b}, nil
}

// Client returns the SDK client the driver uses, for operations stowage
// does not cover.
func (d *Driver) Client() *s3.Client { return d.b.client }

// backend is the driver.Backend of S3: one SDK request (or a few) per
// method.
type backend struct {
	cfg     Config
	client  *s3.Client
	presign *s3.PresignClient
	bucket  string
	keys    driver.KeyMap
	// maxParts is the most parts of a multipart upload: MaxParts, or
	// Config.maxParts in tests.
	maxParts int
	// noConditionalDelete is set once the server answered a DeleteObject
	// with If-Match 501 NotImplemented (see Move).
	noConditionalDelete atomic.Bool
}

var _ driver.Backend = (*backend)(nil)

// Classify implements driver.Backend.
func (b *backend) Classify(err error) driver.ErrorKind { return Classify(err) }

// Head implements driver.Backend with HeadObject.
func (b *backend) Head(ctx context.Context, path string) (driver.Object, error) {
	out, err := b.head(ctx, path)
	if err != nil {
		return driver.Object{}, err
	}
	return driver.Object{Size: aws.ToInt64(out.ContentLength), ModTime: aws.ToTime(out.LastModified)}, nil
}

// head sends HeadObject for the file at path.
func (b *backend) head(ctx context.Context, path string) (*s3.HeadObjectOutput, error) {
	return b.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(b.bucket), Key: aws.String(b.keys.Key(path))})
}

// Put implements driver.Backend with one PutObject, which S3 makes visible
// atomically.
func (b *backend) Put(ctx context.Context, path string, content []byte) error {
	in := &s3.PutObjectInput{
		Bucket:        aws.String(b.bucket),
		Key:           aws.String(b.keys.Key(path)),
		Body:          bytes.NewReader(content),
		ContentLength: aws.Int64(int64(len(content))),
		ContentType:   aws.String("application/octet-stream"),
	}
	b.putOptions(&in.ACL, &in.StorageClass, &in.ServerSideEncryption, &in.SSEKMSKeyId)
	_, err := b.client.PutObject(ctx, in)
	return err
}

// putOptions fills the ACL, storage class and encryption fields every
// object creating request shares. The ACL is left out when it is
// ACLPrivate, which S3 gives an object written without one (see
// Config.ObjectACL).
func (b *backend) putOptions(acl *types.ObjectCannedACL, class *types.StorageClass, sse *types.ServerSideEncryption, keyID **string) {
	if b.cfg.ObjectACL != "" && b.cfg.ObjectACL != ACLPrivate {
		*acl = types.ObjectCannedACL(b.cfg.ObjectACL)
	}
	if b.cfg.StorageClass != "" {
		*class = types.StorageClass(b.cfg.StorageClass)
	}
	if b.cfg.Encrypt {
		if b.cfg.KeyID != "" {
			*sse = types.ServerSideEncryptionAwsKms
			*keyID = aws.String(b.cfg.KeyID)
		} else {
			*sse = types.ServerSideEncryptionAes256
		}
	}
}

// Read implements driver.Backend with a ranged GetObject whose body
// resumes after a dropped connection (see resumable). An offset at or
// beyond the end fails with InvalidRange (driver.KindInvalidRange).
func (b *backend) Read(ctx context.Context, path string, offset int64) (io.ReadCloser, error) {
	in := &s3.GetObjectInput{Bucket: aws.String(b.bucket), Key: aws.String(b.keys.Key(path))}
	if offset > 0 {
		in.Range = aws.String(fmt.Sprintf("bytes=%d-", offset))
	}
	out, err := b.client.GetObject(ctx, in)
	if err != nil {
		return nil, err
	}
	end := int64(-1)
	if out.ContentLength != nil {
		end = offset + *out.ContentLength
	}
	return b.resumable(ctx, path, out.ETag, offset, end, out.Body), nil
}

// List implements driver.Backend with one ListObjectsV2 (with the "/"
// delimiter for q.Delimiter). S3 cannot stop before q.EndBefore.
func (b *backend) List(ctx context.Context, q driver.ListQuery) (driver.ObjectPage, error) {
	in := &s3.ListObjectsV2Input{Bucket: aws.String(b.bucket), Prefix: aws.String(q.Prefix)}
	if q.Delimiter {
		in.Delimiter = aws.String("/")
	}
	if q.Token != "" {
		in.ContinuationToken = aws.String(q.Token)
	}
	if q.StartAfter != "" {
		in.StartAfter = aws.String(q.StartAfter)
	}
	if q.Limit > 0 {
		in.MaxKeys = aws.Int32(int32(q.Limit))
	}
	out, err := b.client.ListObjectsV2(ctx, in)
	if err != nil {
		return driver.ObjectPage{}, err
	}
	var page driver.ObjectPage
	for _, o := range out.Contents {
		page.Objects = append(page.Objects, driver.Object{
			Key: aws.ToString(o.Key), Size: aws.ToInt64(o.Size), ModTime: aws.ToTime(o.LastModified)})
	}
	for _, cp := range out.CommonPrefixes {
		page.Prefixes = append(page.Prefixes, aws.ToString(cp.Prefix))
	}
	if aws.ToBool(out.IsTruncated) {
		page.Next = aws.ToString(out.NextContinuationToken)
	}
	return page, nil
}

// SignURL implements driver.Backend with a presigned GetObject or
// HeadObject, valid for the time until expires rounded to whole seconds
// (what a presigned URL can say), so the default expiry is exactly
// driver.DefaultURLExpiry. Below half a second it is not rounded: a zero
// duration would make the SDK sign for its default of 15 minutes. With
// Config.RedirectEndpoint the URL names, and is signed for, that scheme
// and host.
func (b *backend) SignURL(ctx context.Context, path, method string, expires time.Time) (string, error) {
	d := time.Until(expires)
	if r := d.Round(time.Second); r > 0 {
		d = r
	}
	opt := s3.WithPresignExpires(d)
	bucket, key := aws.String(b.bucket), aws.String(b.keys.Key(path))
	if method == http.MethodHead {
		req, err := b.presign.PresignHeadObject(ctx, &s3.HeadObjectInput{Bucket: bucket, Key: key}, opt)
		if err != nil {
			return "", err
		}
		return req.URL, nil
	}
	req, err := b.presign.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: bucket, Key: key}, opt)
	if err != nil {
		return "", err
	}
	return req.URL, nil
}
