package azure

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"github.com/stowage-dev/stowage/driver"
)

// Error codes of a missing blob. ContainerNotFound is deliberately not one:
// a missing container is a configuration error, not a missing path.
var notFoundCodes = map[string]bool{
	"BlobNotFound":           true,
	"CannotVerifyCopySource": true,
	"ResourceNotFound":       true,
}

// Error codes of a rate limit (Azure Storage throttles with 503 ServerBusy).
var throttleCodes = map[string]bool{
	"ServerBusy":      true,
	"TooManyRequests": true,
}

// responseError returns the service's answer behind err, or nil.
func responseError(err error) *azcore.ResponseError {
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		return re
	}
	return nil
}

// httpStatus returns the HTTP status behind err, or 0.
func httpStatus(err error) int {
	if re := responseError(err); re != nil {
		return re.StatusCode
	}
	return 0
}

// classify says what an SDK error means: a missing blob (404, but not a
// missing container), a rate limit (429, or 503: Azure Storage answers
// "503 Server Busy" when an account or partition is throttled), a
// transient failure (408, other 5xx) or an offset at or beyond the end
// (416).
func classify(err error) driver.ErrorKind {
	re := responseError(err)
	if re == nil {
		return driver.KindOther
	}
	code, status := re.ErrorCode, re.StatusCode
	switch {
	case code == "ContainerNotFound":
		return driver.KindOther
	case notFoundCodes[code] || status == http.StatusNotFound:
		return driver.KindNotFound
	case code == "InvalidRange" || status == http.StatusRequestedRangeNotSatisfiable:
		return driver.KindInvalidRange
	case throttleCodes[code] || status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable:
		return driver.KindThrottled
	case status == http.StatusRequestTimeout || status >= 500:
		return driver.KindTransient
	}
	return driver.KindOther
}

// wrap maps an SDK error of operation op on path to the driver's errors,
// for the requests the Store does not wrap itself (the writer's, and Move's
// about the destination).
func wrap(ctx context.Context, op, path string, err error) error {
	return driver.WrapError(ctx, DriverName, op, path, err, classify)
}

// ErrTooManyBlocks is the cause (errors.Is) of a Writer's failure to take
// bytes that would need a block beyond the blob's limit of MaxBlocks
// committed blocks. Write takes the bytes that fit and refuses the rest;
// what was written can still be committed. A larger chunksize makes room.
// It wraps driver.ErrFileTooLarge, so errors.Is matches both.
var ErrTooManyBlocks = fmt.Errorf("azure: a block blob holds at most 50,000 blocks: %w", driver.ErrFileTooLarge)
