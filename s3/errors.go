package s3

import (
	"context"
	"errors"
	"net/http"

	"github.com/aws/smithy-go"

	"github.com/stowage-dev/stowage/driver"
)

// Error codes S3 uses for a missing object, key or upload.
var notFoundCodes = map[string]bool{
	"NoSuchKey":    true,
	"NotFound":     true,
	"NoSuchUpload": true,
}

// Error codes of a rate limit.
var throttleCodes = map[string]bool{
	"SlowDown":                 true,
	"Throttling":               true,
	"ThrottlingException":      true,
	"TooManyRequests":          true,
	"TooManyRequestsException": true,
	"RequestLimitExceeded":     true,
	"RequestThrottled":         true,
}

// Error codes worth another try, also per key in a DeleteObjects response.
var transientCodes = map[string]bool{
	"InternalError":      true,
	"ServiceUnavailable": true,
	"RequestTimeout":     true,
	"OperationAborted":   true,
}

// Classify says what an error of the S3 SDK (or one per-key error of a
// DeleteObjects response) means: a missing object, key or upload is
// driver.KindNotFound (a missing bucket is not), a rate limit
// driver.KindThrottled, InvalidRange driver.KindInvalidRange, and the
// codes of a server-side hiccup or a 5xx status driver.KindTransient.
// A rate limit is a throttling code (SlowDown, ...), status 429, or status
// 503, S3's answer when it throttles a prefix (SlowDown, or
// ServiceUnavailable "Reduce your request rate", and a HEAD's 503 that
// has no body to carry a code).
func Classify(err error) driver.ErrorKind {
	code := errorCode(err)
	status := 0
	var re interface{ HTTPStatusCode() int }
	if errors.As(err, &re) {
		status = re.HTTPStatusCode()
	}
	switch {
	case code == "NoSuchBucket":
		return driver.KindOther
	case notFoundCodes[code] || status == http.StatusNotFound:
		return driver.KindNotFound
	case throttleCodes[code] || status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable:
		return driver.KindThrottled
	case code == "InvalidRange":
		return driver.KindInvalidRange
	case transientCodes[code] || status >= 500:
		return driver.KindTransient
	}
	return driver.KindOther
}

// errorCode returns the S3 error code of err, "" for none.
func errorCode(err error) string {
	if apiErr, ok := errors.AsType[smithy.APIError](err); ok {
		return apiErr.ErrorCode()
	}
	return ""
}

// preconditionFailed reports whether err is S3's 412 answer to a condition
// (If-Match, x-amz-copy-source-if-match) that did not hold.
func preconditionFailed(err error) bool {
	var re interface{ HTTPStatusCode() int }
	return errorCode(err) == "PreconditionFailed" || errors.As(err, &re) && re.HTTPStatusCode() == http.StatusPreconditionFailed
}

// wrap maps an SDK error of operation op on path to the driver's errors,
// for the code that runs outside the Store's calls (the writer, Move's
// part copies).
func wrap(ctx context.Context, op, path string, err error) error {
	return driver.WrapError(ctx, DriverName, op, path, err, Classify)
}

// keyError is one per-key error of a DeleteObjects response. It matches
// smithy.APIError, so Classify sees its code.
type keyError struct {
	Code    string
	Message string
}

func (e *keyError) Error() string { return e.Code + ": " + e.Message }

// ErrorCode implements smithy.APIError.
func (e *keyError) ErrorCode() string { return e.Code }

// ErrorMessage implements smithy.APIError.
func (e *keyError) ErrorMessage() string { return e.Message }

// ErrorFault implements smithy.APIError.
func (e *keyError) ErrorFault() smithy.ErrorFault { return smithy.FaultServer }
