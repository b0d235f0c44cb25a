package s3

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/stowage-dev/stowage/driver"
)

// URLFor implements driver.StorageDriver with a presigned GET or HEAD
// (option "method", default GET) valid until option "expiry" (a time.Time;
// default DefaultURLExpiry from now). It sends no request: it does not
// check that the file exists. Any other method gives an error matching
// driver.ErrUnsupportedMethod.
func (d *Driver) URLFor(ctx context.Context, path string, options map[string]any) (string, error) {
	if err := driver.ValidatePath(DriverName, path); err != nil {
		return "", err
	}
	if err := ctx.Err(); err != nil {
		return "", err
	}
	method := http.MethodGet
	if v, ok := options["method"]; ok && v != nil {
		s, ok := v.(string)
		if !ok {
			return "", fmt.Errorf("%s: URLFor %s: option method: want a string, got %T", DriverName, path, v)
		}
		method = strings.ToUpper(s)
	}
	expires := DefaultURLExpiry
	if v, ok := options["expiry"]; ok && v != nil {
		t, ok := v.(time.Time)
		if !ok {
			return "", fmt.Errorf("%s: URLFor %s: option expiry: want a time.Time, got %T", DriverName, path, v)
		}
		expires = time.Until(t)
		if expires <= 0 {
			return "", fmt.Errorf("%s: URLFor %s: expiry %v is not in the future", DriverName, path, t)
		}
	}
	opt := s3.WithPresignExpires(expires)
	bucket, key := aws.String(d.bucket), aws.String(d.key(path))
	var (
		url string
		err error
	)
	switch method {
	case http.MethodGet:
		req, perr := d.presign.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: bucket, Key: key}, opt)
		if perr == nil {
			url = req.URL
		}
		err = perr
	case http.MethodHead:
		req, perr := d.presign.PresignHeadObject(ctx, &s3.HeadObjectInput{Bucket: bucket, Key: key}, opt)
		if perr == nil {
			url = req.URL
		}
		err = perr
	default:
		return "", &driver.UnsupportedMethodError{DriverName: DriverName, Method: "URLFor " + method}
	}
	if err != nil {
		return "", d.wrap(ctx, "URLFor", path, err)
	}
	return url, nil
}
