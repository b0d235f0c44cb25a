package driver

import (
	"context"
	"errors"
	"fmt"
)

// OpError is a failed operation of a driver that has no more specific
// typed error: it names the driver, the operation and the path, and wraps
// the cause (match it with errors.As, and the cause with errors.Is/As).
type OpError struct {
	DriverName string
	Op         string
	Path       string
	Err        error
}

func (e *OpError) Error() string {
	if e.Path == "" {
		return fmt.Sprintf("%s: %s: %v", e.DriverName, e.Op, e.Err)
	}
	return fmt.Sprintf("%s: %s %s: %v", e.DriverName, e.Op, e.Path, e.Err)
}

// Unwrap returns the cause.
func (e *OpError) Unwrap() error { return e.Err }

// WrapError maps an error of operation op on path, as classify sees it,
// to the driver's errors, the same way for every backend:
//
//   - when ctx has ended, an *OpError matching ctx.Err() (and, when err is
//     not already the context's error, naming err too);
//   - errors already mapped (the driver's typed errors, an *OpError, the
//     writer state errors) unchanged;
//   - KindNotFound: *PathNotFoundError;
//   - KindThrottled: *TooManyRequestsError;
//   - anything else: an *OpError.
func WrapError(ctx context.Context, driverName, op, path string, err error, classify func(error) ErrorKind) error {
	if err == nil {
		return nil
	}
	if cerr := ctx.Err(); cerr != nil {
		if !errors.Is(err, cerr) {
			err = fmt.Errorf("%w (%v)", cerr, err)
		}
		return &OpError{DriverName: driverName, Op: op, Path: path, Err: err}
	}
	if mapped(err) {
		return err
	}
	switch classify(err) {
	case KindNotFound:
		return &PathNotFoundError{Path: path, DriverName: driverName}
	case KindThrottled:
		return &TooManyRequestsError{DriverName: driverName, Cause: &OpError{DriverName: driverName, Op: op, Path: path, Err: err}}
	}
	return &OpError{DriverName: driverName, Op: op, Path: path, Err: err}
}

// mapped reports whether err is one of the driver's errors already.
func mapped(err error) bool {
	var (
		op  *OpError
		nf  *PathNotFoundError
		ip  *InvalidPathError
		io  *InvalidOffsetError
		tm  *TooManyRequestsError
		um  *UnsupportedMethodError
		df  *DeleteFilesError
		cfg *ConfigError
	)
	return errors.As(err, &op) || errors.As(err, &nf) || errors.As(err, &ip) || errors.As(err, &io) ||
		errors.As(err, &tm) || errors.As(err, &um) || errors.As(err, &df) || errors.As(err, &cfg) ||
		errors.Is(err, ErrWriterClosed) || errors.Is(err, ErrWriterCommitted) || errors.Is(err, ErrWriterCancelled)
}

// IsNotFound reports whether err is, or wraps, a *PathNotFoundError.
func IsNotFound(err error) bool {
	var nf *PathNotFoundError
	return errors.As(err, &nf)
}
