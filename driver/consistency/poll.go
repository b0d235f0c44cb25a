package consistency

import (
	"container/list"
	"context"
	"fmt"
	"hash/maphash"
	"log/slog"
	"slices"
	"time"
)

// attempt is one look at the backend: done when it gave the answer (or
// when there is nothing to wait for), otherwise want and got describe what
// this process expects and what the backend answered; err is a failure
// that polling cannot cure.
type attempt func(ctx context.Context) (done bool, want, got string, err error)

// poll runs try until it is done or fails, pausing with exponential
// backoff in between. It gives up, with a *StaleError saying what was
// wanted and what the backend answered last, when a try that began
// Options.MaxWait or more after the first one still disagrees: the answer
// is the backend's state after MaxWait, however long each try takes.
func (w *wrapped) poll(ctx context.Context, op, p string, try attempt) error {
	var start, began time.Time
	delay := w.o.InitialBackoff
	for tries := 1; ; tries++ {
		if tries > 1 {
			began = w.clock.Now()
		}
		done, want, got, err := try(ctx)
		if err != nil {
			return err
		}
		if done {
			if tries > 1 {
				w.log.LogAttrs(ctx, slog.LevelDebug, "consistency: backend caught up",
					slog.String("driver", w.name), slog.String("op", op), slog.String("path", p),
					slog.Duration("waited", w.clock.Now().Sub(start)), slog.Int("tries", tries))
			}
			return nil
		}
		if tries == 1 {
			start = w.clock.Now()
		} else if began.Sub(start) >= w.o.MaxWait {
			waited := w.clock.Now().Sub(start)
			w.log.LogAttrs(ctx, slog.LevelWarn, "consistency: backend still stale, giving up",
				slog.String("driver", w.name), slog.String("op", op), slog.String("path", p),
				slog.String("want", want), slog.String("got", got),
				slog.Duration("waited", waited), slog.Int("tries", tries))
			return &StaleError{DriverName: w.name, Op: op, Path: p, Want: want, Got: got, Waited: waited}
		}
		if left := w.o.MaxWait - w.clock.Now().Sub(start); left > 0 {
			if err := w.clock.Sleep(ctx, min(delay, left)); err != nil {
				return err
			}
		}
		delay = min(2*delay, w.o.MaxBackoff)
	}
}

// describeRec says what a write record promises, for a StaleError.
func describeRec(r fileRec) string {
	if r.size < 0 {
		return "a file"
	}
	if r.hashed {
		return fmt.Sprintf("the %d bytes this process wrote", r.size)
	}
	return fmt.Sprintf("a file of %d bytes", r.size)
}

// describeContent says how content differs from what r promises.
func (w *wrapped) describeContent(r fileRec, b []byte) string {
	if r.size >= 0 && int64(len(b)) != r.size {
		return fmt.Sprintf("%d bytes", len(b))
	}
	return fmt.Sprintf("%d bytes of other content", len(b))
}

// matches reports whether content b is what r recorded.
func (w *wrapped) matches(r fileRec, b []byte) bool {
	if r.size >= 0 && int64(len(b)) != r.size {
		return false
	}
	return !r.hashed || maphash.Bytes(w.seed, b) == r.hash
}

// sortedUnique returns keys sorted without duplicates (a new slice).
func sortedUnique(keys []string) []string {
	out := slices.Clone(keys)
	slices.Sort(out)
	return slices.Compact(out)
}

// sessions keeps the running hash of uploads closed without Commit, so
// that a resumed writer can still record the hash of the whole file. It
// holds at most limit states, forgetting the oldest first.
type sessions struct {
	limit int
	byKey map[string]*list.Element
	order list.List // of *session, oldest first
}

type session struct {
	path string
	h    *maphash.Hash
	size int64
}

func newSessions(limit int) *sessions {
	return &sessions{limit: limit, byKey: map[string]*list.Element{}}
}

func (s *sessions) put(path string, h *maphash.Hash, size int64) {
	s.take(path)
	s.byKey[path] = s.order.PushBack(&session{path: path, h: h, size: size})
	for s.order.Len() > s.limit {
		old := s.order.Remove(s.order.Front()).(*session)
		delete(s.byKey, old.path)
	}
}

// take removes and returns the state saved for path, or nil.
func (s *sessions) take(path string) *session {
	e, ok := s.byKey[path]
	if !ok {
		return nil
	}
	delete(s.byKey, path)
	return s.order.Remove(e).(*session)
}

func (s *sessions) len() int { return s.order.Len() }
