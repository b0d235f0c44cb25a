package s3

import (
	"context"
	"errors"
	"fmt"
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

// Per-key DeleteObjects error codes worth another try.
var transientDeleteCodes = map[string]bool{
	"InternalError":      true,
	"SlowDown":           true,
	"ServiceUnavailable": true,
	"RequestTimeout":     true,
	"OperationAborted":   true,
}

// errorCode returns the S3 error code of err, or "".
func errorCode(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode()
	}
	return ""
}

// httpStatus returns the HTTP status of the response behind err, or 0.
func httpStatus(err error) int {
	var re interface{ HTTPStatusCode() int }
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

// isNotFound reports whether err says the object does not exist.
func isNotFound(err error) bool {
	code := errorCode(err)
	if code == "NoSuchBucket" {
		return false
	}
	return notFoundCodes[code] || httpStatus(err) == http.StatusNotFound
}

// isThrottle reports whether err is a rate limit.
func isThrottle(err error) bool {
	return throttleCodes[errorCode(err)] || httpStatus(err) == http.StatusTooManyRequests
}

// wrap maps an SDK error of operation op on path to the driver's errors:
// a missing object becomes *driver.PathNotFoundError, a rate limit left
// after the retries *driver.TooManyRequestsError, and a cancelled context
// an error matching ctx.Err(); anything else is wrapped with the driver's
// name, the operation and the path.
func (d *Driver) wrap(ctx context.Context, op, path string, err error) error {
	if err == nil {
		return nil
	}
	if cerr := ctx.Err(); cerr != nil {
		if errors.Is(err, cerr) {
			return fmt.Errorf("%s: %s %s: %w", DriverName, op, path, err)
		}
		return fmt.Errorf("%s: %s %s: %w (%v)", DriverName, op, path, cerr, err)
	}
	var nf *driver.PathNotFoundError
	if errors.As(err, &nf) {
		return err
	}
	switch {
	case isNotFound(err):
		return &driver.PathNotFoundError{Path: path, DriverName: DriverName}
	case isThrottle(err):
		return &driver.TooManyRequestsError{DriverName: DriverName, Cause: fmt.Errorf("%s %s: %w", op, path, err)}
	}
	return fmt.Errorf("%s: %s %s: %w", DriverName, op, path, err)
}

// deleteError maps one per-key error of a DeleteObjects response.
func deleteError(path, code, message string) error {
	err := &keyError{Code: code, Message: message}
	if throttleCodes[code] {
		return &driver.TooManyRequestsError{DriverName: DriverName, Cause: fmt.Errorf("delete %s: %w", path, err)}
	}
	return fmt.Errorf("%s: delete %s: %w", DriverName, path, err)
}

// keyError is one per-key error of a DeleteObjects response. It matches
// smithy.APIError, so errorCode sees its code.
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
