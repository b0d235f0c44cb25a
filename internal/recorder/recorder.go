// Package recorder holds test doubles of the project's own hooks, for
// tests that check what a driver logs and what it tells its observer: Logs,
// a slog.Handler that keeps every record's message, and Events, a
// driver.Observer that keeps every event. It imports no stowage package,
// so package driver's own tests can use it too.
package recorder

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"
)

// Logs is a slog.Handler keeping the message of every record at MinLevel
// or above (the zero value keeps Info and above; set slog.LevelDebug for
// all). It is safe for concurrent use.
type Logs struct {
	MinLevel slog.Level

	mu      sync.Mutex
	records []record
}

// record is one kept record.
type record struct {
	level   slog.Level
	message string
}

// Logger returns a logger writing to l.
func (l *Logs) Logger() *slog.Logger { return slog.New(l) }

// Messages returns the messages kept so far, in order.
func (l *Logs) Messages() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]string, 0, len(l.records))
	for _, r := range l.records {
		out = append(out, r.message)
	}
	return out
}

// Matching returns, in order, the messages of records at exactly level
// that contain s ("" matches all).
func (l *Logs) Matching(level slog.Level, s string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, r := range l.records {
		if r.level == level && strings.Contains(r.message, s) {
			out = append(out, r.message)
		}
	}
	return out
}

// Enabled implements slog.Handler.
func (l *Logs) Enabled(_ context.Context, level slog.Level) bool { return level >= l.MinLevel }

// Handle implements slog.Handler.
func (l *Logs) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.records = append(l.records, record{r.Level, r.Message})
	return nil
}

// WithAttrs implements slog.Handler; attributes are not kept.
func (l *Logs) WithAttrs([]slog.Attr) slog.Handler { return l }

// WithGroup implements slog.Handler; groups are not kept.
func (l *Logs) WithGroup(string) slog.Handler { return l }

// Batch is one DeleteBatch event.
type Batch struct{ Size, Failed int }

// Events is a driver.Observer keeping every event, of every driver or,
// when DriverName is set, of that driver only. It is safe for concurrent
// use.
type Events struct {
	DriverName string

	mu      sync.Mutex
	retries []error
	waits   []time.Duration
	batches []Batch
}

func (e *Events) mine(driverName string) bool {
	return e.DriverName == "" || e.DriverName == driverName
}

// Retried implements driver.Observer.
func (e *Events) Retried(driverName string, err error) {
	if e.mine(driverName) {
		e.mu.Lock()
		defer e.mu.Unlock()
		e.retries = append(e.retries, err)
	}
}

// RateLimited implements driver.Observer.
func (e *Events) RateLimited(driverName string, waited time.Duration) {
	if e.mine(driverName) {
		e.mu.Lock()
		defer e.mu.Unlock()
		e.waits = append(e.waits, waited)
	}
}

// DeleteBatch implements driver.Observer.
func (e *Events) DeleteBatch(driverName string, size, failed int) {
	if e.mine(driverName) {
		e.mu.Lock()
		defer e.mu.Unlock()
		e.batches = append(e.batches, Batch{size, failed})
	}
}

// Retries returns the failures of the retries seen so far, in order.
func (e *Events) Retries() []error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.retries)
}

// Waits returns the rate-limit waits seen so far, in order.
func (e *Events) Waits() []time.Duration {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.waits)
}

// Batches returns the delete batches seen so far, in order.
func (e *Events) Batches() []Batch {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.batches)
}
