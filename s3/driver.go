// Package s3 is the stowage backend for Amazon S3 and S3-compatible servers
// (MinIO, Ceph RGW, ...), built on aws-sdk-go-v2.
//
// It is registered as "s3": import it for its side effect and call
// driver.Open(ctx, "s3", params) with distribution-style parameters (see
// FromParameters), or build a Config and call New.
//
// Paths map to keys by dropping the leading "/" and prefixing the root
// directory: with rootdirectory "registry", "/docker/x" is the key
// "registry/docker/x". DeleteFiles sends DeleteObjects requests of up to
// 1,000 keys, Delete and Walk list flat (one ListObjectsV2 per 1,000 keys),
// Writer uploads in multipart parts that survive the process, and Move
// copies server-side.
//
// Uncommitted writer state lives in the multipart upload itself plus, when
// the session ended with fewer bytes than a part needs, a small "tail"
// object under <root>/~stowage/. No valid path can reach that name ("~" is
// not a path character), and List, Walk and Stat leave it out.
package s3

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/stowage-dev/stowage/driver"
)

// DriverName is the name the backend is registered under and that its
// errors carry.
const DriverName = "s3"

// hiddenDir is the directory, directly under the root, that holds the
// driver's bookkeeping objects. "~" is outside the path alphabet, so no
// valid path names it, and it sorts after every valid name.
const hiddenDir = "~stowage"

// Driver is the S3 StorageDriver. It is safe for concurrent use.
type Driver struct {
	cfg     Config
	client  *s3.Client
	presign *s3.PresignClient
	bucket  string
	prefix  string // rootdirectory + "/", or "" for the bucket's root
}

var _ driver.StorageDriver = (*Driver)(nil)

// New builds a Driver from c. It sends no request: a wrong bucket or
// credentials show up on first use.
func New(ctx context.Context, c Config) (*Driver, error) {
	c, err := c.normalize()
	if err != nil {
		return nil, err
	}
	client, err := newClient(ctx, c)
	if err != nil {
		return nil, err
	}
	d := &Driver{cfg: c, client: client, presign: s3.NewPresignClient(client), bucket: c.Bucket}
	if c.RootDirectory != "" {
		d.prefix = c.RootDirectory + "/"
	}
	return d, nil
}

// Name implements driver.StorageDriver.
func (d *Driver) Name() string { return DriverName }

// Client returns the SDK client the driver uses, for operations stowage
// does not cover.
func (d *Driver) Client() *s3.Client { return d.client }

// key maps a valid path (not "/") to its object key.
func (d *Driver) key(path string) string { return d.prefix + path[1:] }

// dirPrefix maps a valid directory path ("/" included) to the key prefix
// of everything under it.
func (d *Driver) dirPrefix(path string) string {
	if path == "/" {
		return d.prefix
	}
	return d.prefix + path[1:] + "/"
}

// pathOf maps a key under the root back to its path; ok is false for a key
// that is not a valid path (the driver's own bookkeeping, or foreign keys
// such as "a//b" or "a/b/" markers), which listings leave out.
func (d *Driver) pathOf(key string) (string, bool) {
	rel, found := strings.CutPrefix(key, d.prefix)
	if !found || rel == "" {
		return "", false
	}
	p := "/" + rel
	if driver.ValidatePath(DriverName, p) != nil {
		return "", false
	}
	return p, true
}

// GetContent implements driver.StorageDriver.
func (d *Driver) GetContent(ctx context.Context, path string) ([]byte, error) {
	rc, err := d.Reader(ctx, path, 0)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		return nil, d.wrap(ctx, "GetContent", path, err)
	}
	return b, nil
}

// PutContent implements driver.StorageDriver with one PutObject, which S3
// makes visible atomically.
func (d *Driver) PutContent(ctx context.Context, path string, content []byte) error {
	if err := driver.ValidatePath(DriverName, path); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	in := &s3.PutObjectInput{
		Bucket:        aws.String(d.bucket),
		Key:           aws.String(d.key(path)),
		Body:          bytes.NewReader(content),
		ContentLength: aws.Int64(int64(len(content))),
		ContentType:   aws.String("application/octet-stream"),
	}
	d.putOptions(&in.StorageClass, &in.ServerSideEncryption, &in.SSEKMSKeyId)
	if _, err := d.client.PutObject(ctx, in); err != nil {
		return d.wrap(ctx, "PutContent", path, err)
	}
	return nil
}

// putOptions fills the storage class and encryption fields every object
// creating request shares.
func (d *Driver) putOptions(class *types.StorageClass, sse *types.ServerSideEncryption, keyID **string) {
	if d.cfg.StorageClass != "" {
		*class = types.StorageClass(d.cfg.StorageClass)
	}
	if d.cfg.Encrypt {
		if d.cfg.KeyID != "" {
			*sse = types.ServerSideEncryptionAwsKms
			*keyID = aws.String(d.cfg.KeyID)
		} else {
			*sse = types.ServerSideEncryptionAes256
		}
	}
}

// Reader implements driver.StorageDriver with a ranged GetObject.
func (d *Driver) Reader(ctx context.Context, path string, offset int64) (io.ReadCloser, error) {
	if err := driver.ValidatePath(DriverName, path); err != nil {
		return nil, err
	}
	if offset < 0 {
		return nil, &driver.InvalidOffsetError{Path: path, Offset: offset, DriverName: DriverName}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	in := &s3.GetObjectInput{Bucket: aws.String(d.bucket), Key: aws.String(d.key(path))}
	if offset > 0 {
		in.Range = aws.String(fmt.Sprintf("bytes=%d-", offset))
	}
	out, err := d.client.GetObject(ctx, in)
	if err == nil {
		end := int64(-1)
		if out.ContentLength != nil {
			end = offset + *out.ContentLength
		}
		return d.resumable(ctx, path, out.ETag, offset, end, out.Body), nil
	}
	if offset > 0 && errorCode(err) == "InvalidRange" {
		// The offset is at or beyond the end: find out which.
		head, herr := d.head(ctx, "Reader", path)
		if herr != nil {
			return nil, herr
		}
		if offset == aws.ToInt64(head.ContentLength) {
			return io.NopCloser(bytes.NewReader(nil)), nil
		}
		return nil, &driver.InvalidOffsetError{Path: path, Offset: offset, DriverName: DriverName}
	}
	return nil, d.wrap(ctx, "Reader", path, err)
}

// head sends HeadObject for the file at path on behalf of operation op.
func (d *Driver) head(ctx context.Context, op, path string) (*s3.HeadObjectOutput, error) {
	out, err := d.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(d.bucket), Key: aws.String(d.key(path))})
	if err != nil {
		return nil, d.wrap(ctx, op, path, err)
	}
	return out, nil
}

// Stat implements driver.StorageDriver: HeadObject for a file, then one
// ListObjectsV2 of at most one key for a directory. The root always exists.
func (d *Driver) Stat(ctx context.Context, path string) (driver.FileInfo, error) {
	if err := driver.ValidateDirPath(DriverName, path); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if path == "/" {
		return driver.FileInfoFields{FilePath: "/", Dir: true}, nil
	}
	out, err := d.head(ctx, "Stat", path)
	if err == nil {
		return driver.FileInfoFields{
			FilePath:    path,
			FileSize:    aws.ToInt64(out.ContentLength),
			FileModTime: aws.ToTime(out.LastModified),
		}, nil
	}
	var nf *driver.PathNotFoundError
	if !errors.As(err, &nf) {
		return nil, err
	}
	isDir, err := d.dirExists(ctx, path)
	if err != nil {
		return nil, err
	}
	if !isDir {
		return nil, &driver.PathNotFoundError{Path: path, DriverName: DriverName}
	}
	return driver.FileInfoFields{FilePath: path, Dir: true}, nil
}

// dirExists reports whether any key lies under the directory path.
func (d *Driver) dirExists(ctx context.Context, path string) (bool, error) {
	out, err := d.client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{
		Bucket:  aws.String(d.bucket),
		Prefix:  aws.String(d.dirPrefix(path)),
		MaxKeys: aws.Int32(1),
	})
	if err != nil {
		return false, d.wrap(ctx, "Stat", path, err)
	}
	return len(out.Contents) > 0, nil
}
