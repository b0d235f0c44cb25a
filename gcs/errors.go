package gcs

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"cloud.google.com/go/storage"
	"google.golang.org/api/googleapi"

	"github.com/stowage-dev/stowage/driver"
)

// httpStatus returns the HTTP status of the response behind err, or 0.
func httpStatus(err error) int {
	var ge *googleapi.Error
	if errors.As(err, &ge) {
		return ge.Code
	}
	var ie *itemError
	if errors.As(err, &ie) {
		return ie.Code
	}
	return 0
}

// bucketMissingMessage is the message of GCS's 404 for a request to a
// bucket that does not exist ("The specified bucket does not exist.",
// reason "notFound"), as it answers object requests, list requests and the
// calls of a batch alike; a missing object's 404 says "No such object:
// BUCKET/NAME" with the same reason. The message is the only part of the
// answer that tells the two apart (see
// https://cloud.google.com/storage/docs/json_api/v1/status-codes).
const bucketMissingMessage = "The specified bucket does not exist."

// bucketMissing reports whether err is GCS's answer for a missing bucket:
// storage.ErrBucketNotExist (what the SDK makes of any 404 to a bucket
// request or a listing), or a 404 whose JSON error message is
// bucketMissingMessage (an object request or a batch call).
func bucketMissing(err error) bool {
	if errors.Is(err, storage.ErrBucketNotExist) {
		return true
	}
	var ge *googleapi.Error
	return errors.As(err, &ge) && ge.Code == http.StatusNotFound && ge.Message == bucketMissingMessage
}

// Classify implements driver.Backend for the SDK's errors and the batch
// client's: a missing object (not a missing bucket: that is a
// configuration error, as NoSuchBucket is for s3 and ContainerNotFound for
// azure; nor is a Move's or CopyFrom's source that changed under it) is
// driver.KindNotFound; 429 and 503 are a rate limit (GCS answers them to
// a bucket whose request rate grows faster than it scales, see
// FromParameters), a *driver.TooManyRequestsError once the retries are
// spent; 416 is an offset beyond the end, and 408, the other 5xx and the
// connection errors the SDK retries are transient (so is a batch call the
// batch response did not answer).
func (b *backend) Classify(err error) driver.ErrorKind {
	var ie *itemError
	switch code := httpStatus(err); {
	case bucketMissing(err), errors.Is(err, errSourceChanged), errors.Is(err, errCopySourceChanged):
		return driver.KindOther
	case errors.As(err, &ie) && ie.whole && code == http.StatusNotFound:
		return driver.KindOther // the batch endpoint is missing, not an object
	case errors.Is(err, storage.ErrObjectNotExist), code == http.StatusNotFound:
		return driver.KindNotFound
	case errors.As(err, &ie) && ie.Message == errNoAnswer.Error():
		return driver.KindTransient
	case code == http.StatusTooManyRequests, code == http.StatusServiceUnavailable:
		return driver.KindThrottled
	case code == http.StatusRequestedRangeNotSatisfiable:
		return driver.KindInvalidRange
	case code == http.StatusRequestTimeout, code >= 500, code == 0 && storage.ShouldRetry(err):
		return driver.KindTransient
	}
	return driver.KindOther
}

// wrap maps an error of the writer's operation op on path (see
// driver.WrapError).
func (b *backend) wrap(ctx context.Context, op, path string, err error) error {
	return driver.WrapError(ctx, DriverName, op, path, err, b.Classify)
}

// itemError is the error of one call in a batch response, or of a batch
// request answered with an error status as a whole (whole set). One that
// says the bucket does not exist matches storage.ErrBucketNotExist.
type itemError struct {
	Code    int
	Message string
	whole   bool
}

// Unwrap returns storage.ErrBucketNotExist for GCS's 404 of a missing
// bucket, so that errors.Is finds it as it does in the SDK's errors.
func (e *itemError) Unwrap() error {
	if e.Code == http.StatusNotFound && e.Message == bucketMissingMessage {
		return storage.ErrBucketNotExist
	}
	return nil
}

func (e *itemError) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("HTTP %d %s", e.Code, http.StatusText(e.Code))
	}
	return fmt.Sprintf("HTTP %d: %s", e.Code, e.Message)
}
