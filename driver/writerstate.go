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

// BeginCommit returns nil while the writer is open and ctx has not ended.
// The backend then commits and calls Committed on success (or nothing, to
// stay open after a failure).
func (s *WriterState) BeginCommit(ctx context.Context) error {
	if err := s.CheckWrite(); err != nil {
		return err
	}
	return ctx.Err()
}

// BeginCancel is BeginCommit for Cancel.
func (s *WriterState) BeginCancel(ctx context.Context) error { return s.BeginCommit(ctx) }

// BeginClose is the start of a backend writer's Close: it moves the writer
// to closed (see Close) and, when the writer was open and so must persist
// what was written, returns open set and the context to persist it under
// (CloseContext of writerCtx, the Writer's ctx) with its cancel function.
// Otherwise it returns Close's answer as err, and cancel is a no-op.
func (s *WriterState) BeginClose(writerCtx context.Context) (ctx context.Context, cancel context.CancelFunc, open bool, err error) {
	wasOpen, err := s.Close()
	if err != nil || !wasOpen {
		return writerCtx, func() {}, false, err
	}
	ctx, cancel = CloseContext(writerCtx)
	return ctx, cancel, true, nil
}

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

// WriteChunks is the body of a chunked backend writer's Write: it checks
// that the writer is open and ctx has not ended, appends p to *buf and
// hands every full chunk of chunkSize bytes to store (the backend's part
// upload) before returning. When p alone holds a chunk or more and nothing
// is buffered, chunks go to store straight from p. When store fails, the
// bytes not stored stay in *buf (a FileWriter's Size counts them) and
// WriteChunks returns len(p) with the error.
func (s *WriterState) WriteChunks(ctx context.Context, buf *[]byte, p []byte, chunkSize int64, store func(ctx context.Context, chunk []byte) error) (int, error) {
	if err := s.CheckWrite(); err != nil {
		return 0, err
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	chunk := int(chunkSize)
	if len(*buf) == 0 && len(p) >= chunk {
		n := 0
		for len(p)-n >= chunk {
			if err := store(ctx, p[n:n+chunk]); err != nil {
				*buf = append(*buf, p[n:]...)
				return len(p), err
			}
			n += chunk
		}
		*buf = append(*buf, p[n:]...)
		return len(p), nil
	}
	*buf = append(*buf, p...)
	for len(*buf) >= chunk {
		if err := store(ctx, (*buf)[:chunk]); err != nil {
			return len(p), err
		}
		*buf = append((*buf)[:0], (*buf)[chunk:]...)
	}
	return len(p), nil
}
