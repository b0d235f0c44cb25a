package driver

import (
	"time"
)

// Observer receives the events of a driver that its StorageDriver methods
// do not show: retries, rate-limit waits and bulk-delete batches. Package
// instrument implements it (Prometheus metrics); give one to a backend
// with CommonConfig.Observer or the "observer" parameter (ObserverParam).
// Every method must be safe for concurrent use and return quickly.
type Observer interface {
	// Retried is called before a failed attempt is tried again, by the
	// backend's SDK or by stowage's own retry loops; err is the failure.
	Retried(driverName string, err error)
	// RateLimited is called after a request waited for the driver's rate
	// limiter (CommonConfig.MaxRequestsPerSecond) for waited.
	RateLimited(driverName string, waited time.Duration)
	// DeleteBatch is called after each bulk-delete request (DeleteFiles,
	// Delete) with the number of objects it named and how many of them
	// it failed to delete (transient failures retried later included).
	DeleteBatch(driverName string, size, failed int)
}

// ObserverParam is the parameter under which an Observer may be passed
// to a backend's FromParameters, in Go code: the "observer" parameter.
const ObserverParam = "observer"

// LoggerParam is the parameter under which a *slog.Logger may be passed
// to a backend's FromParameters, in Go code: the driver's warnings and
// debug logs go to it (CommonConfig.Logger).
const LoggerParam = "logger"

// noObserver is the Observer of a driver that has none.
type noObserver struct{}

func (noObserver) Retried(string, error)                   {}
func (noObserver) RateLimited(string, time.Duration)       {}
func (noObserver) DeleteBatch(driverName string, _, _ int) {}

// Events returns c.Observer, or an Observer that drops every event.
func (c CommonConfig) Events() Observer {
	if c.Observer == nil {
		return noObserver{}
	}
	return c.Observer
}
