package driver

import (
	"context"
	"errors"
	"time"

	"github.com/stowage-dev/stowage/internal/wait"
)

// Backoff is the full-jitter exponential backoff of the retry loops
// stowage runs itself: attempt n (from 1) waits a random time in
// [0, min(Max, Base*2^(n-1))).
type Backoff struct {
	Base, Max time.Duration
}

// Delay returns the wait before the retry after attempt.
func (b Backoff) Delay(attempt int) time.Duration { return wait.Jitter(b.Base, b.Max, attempt) }

// Sleep waits Delay(attempt), or until ctx ends (then it returns ctx's
// error).
func (b Backoff) Sleep(ctx context.Context, attempt int) error {
	return wait.Sleep(ctx, b.Delay(attempt))
}

// RetryableError marks an error after which sending the same request again
// is safe and worthwhile (see Backend.DeleteBatch).
type RetryableError struct{ Err error }

func (e *RetryableError) Error() string { return e.Err.Error() }

// Unwrap returns the error marked.
func (e *RetryableError) Unwrap() error { return e.Err }

// Retryable marks err as a RetryableError.
func Retryable(err error) error { return &RetryableError{Err: err} }

// IsRetryable reports whether err is marked with Retryable.
func IsRetryable(err error) bool {
	var re *RetryableError
	return errors.As(err, &re)
}
