package driver

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// WriterState is the FileWriter state machine, written once for every
// backend. A backend's writer embeds it and asks it before each operation;
// the answer is nil or an error naming the driver that matches
// ErrWriterClosed, ErrWriterCommitted or ErrWriterCancelled.
type WriterState struct {
	DriverName string

	mu    sync.Mutex
	state writerPhase
}

type writerPhase int

const (
	phaseOpen writerPhase = iota
	phaseClosed
	phaseCommitted
	phaseCancelled
)

func (s *WriterState) stateErr() error {
	var base error
	switch s.state {
	case phaseClosed:
		base = ErrWriterClosed
	case phaseCommitted:
		base = ErrWriterCommitted
	case phaseCancelled:
		base = ErrWriterCancelled
	default:
		return nil
	}
	return fmt.Errorf("%s: %w", s.DriverName, base)
}

// CheckWrite returns nil while the writer is open.
func (s *WriterState) CheckWrite() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stateErr()
}

// Close moves an open writer to closed and reports whether the backend
// should keep its uncommitted state (true: it was open). After Commit or
// Cancel it returns (false, nil): Close only releases resources. A second
// Close returns ErrWriterClosed.
func (s *WriterState) Close() (wasOpen bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch s.state {
	case phaseOpen:
		s.state = phaseClosed
		return true, nil
	case phaseClosed:
		return false, s.stateErr()
	default:
		s.state = phaseClosed
		return false, nil
	}
}

// BeginCommit returns nil while open. The backend then commits and calls
// Committed on success (or nothing, to stay open after a failure).
func (s *WriterState) BeginCommit() error { return s.CheckWrite() }

// BeginCancel returns nil while open; see BeginCommit.
func (s *WriterState) BeginCancel() error { return s.CheckWrite() }

// Committed records a successful Commit.
func (s *WriterState) Committed() {
	s.mu.Lock()
	s.state = phaseCommitted
	s.mu.Unlock()
}

// Cancelled records a successful Cancel.
func (s *WriterState) Cancelled() {
	s.mu.Lock()
	s.state = phaseCancelled
	s.mu.Unlock()
}

// IsOpen reports whether the writer is still open.
func (s *WriterState) IsOpen() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state == phaseOpen
}

// CloseTimeout bounds the work a backend's FileWriter.Close does to persist
// what was written (an upload's last part, a tail object, a block list).
const CloseTimeout = 2 * time.Minute

// CloseContext returns the context a backend's Close runs under: ctx (the
// one given to Writer) with its values but without its cancellation or
// deadline, bounded by CloseTimeout. A registry closes its writer after the
// request's context has ended, and the bytes already received must still be
// kept for a resume.
func CloseContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), CloseTimeout)
}
