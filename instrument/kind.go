package instrument

import (
	"context"
	"errors"

	"github.com/stowage-dev/stowage/driver"
)

// The kinds of error, the values of the kind label.
const (
	KindCanceled        = "canceled"
	KindNotFound        = "not_found"
	KindInvalidPath     = "invalid_path"
	KindInvalidOffset   = "invalid_offset"
	KindInvalidUpload   = "invalid_upload"
	KindFileTooLarge    = "file_too_large"
	KindTooManyRequests = "too_many_requests"
	KindUnsupported     = "unsupported"
	KindConfig          = "config"
	KindOther           = "other"
)

// ErrorKind returns the kind of err as the metrics label it (see the
// package documentation), or "" for nil.
func ErrorKind(err error) string {
	var (
		nf  *driver.PathNotFoundError
		ip  *driver.InvalidPathError
		io  *driver.InvalidOffsetError
		iu  *driver.InvalidUploadError
		tm  *driver.TooManyRequestsError
		cfg *driver.ConfigError
	)
	switch {
	case err == nil:
		return ""
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return KindCanceled
	case errors.As(err, &nf):
		return KindNotFound
	case errors.As(err, &ip):
		return KindInvalidPath
	case errors.As(err, &io):
		return KindInvalidOffset
	case errors.As(err, &iu):
		return KindInvalidUpload
	case errors.Is(err, driver.ErrFileTooLarge):
		return KindFileTooLarge
	case errors.As(err, &tm):
		return KindTooManyRequests
	case errors.Is(err, driver.ErrUnsupportedMethod):
		return KindUnsupported
	case errors.As(err, &cfg):
		return KindConfig
	}
	return KindOther
}
