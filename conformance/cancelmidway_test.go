package conformance

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// batchServer stands for a bulk-delete endpoint: /flaky answers 503 the
// first time and 202 after, /slow answers 503 once released is closed
// (closing slowIn when the request is in), any other path 202. posts
// counts the requests that reached it.
type batchServer struct {
	*httptest.Server
	posts            atomic.Int32
	flaky            atomic.Bool
	slowIn, released chan struct{}
}

func newBatchServer(t *testing.T) *batchServer {
	s := &batchServer{slowIn: make(chan struct{}), released: make(chan struct{})}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.posts.Add(1)
		switch {
		case r.URL.Path == "/slow":
			close(s.slowIn)
			<-s.released
			w.WriteHeader(http.StatusServiceUnavailable)
		case r.URL.Path == "/flaky" && s.flaky.CompareAndSwap(false, true):
			w.WriteHeader(http.StatusServiceUnavailable)
		default:
			w.WriteHeader(http.StatusAccepted)
		}
	}))
	t.Cleanup(s.Close)
	return s
}

// post sends a POST to path through rt and returns the answer's status.
func (s *batchServer) post(t *testing.T, rt http.RoundTripper, path string) (int, error) {
	req, err := http.NewRequest(http.MethodPost, s.URL+path, strings.NewReader("batch"))
	if err != nil {
		t.Error(err)
		return 0, err
	}
	resp, err := rt.RoundTrip(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// CancelledMidway's transport counts only an answered first batch: a first
// request answered 503 (which an SDK retries) is not the one batch that
// reaches the server, its retry is; the next state-changing request after
// that is not sent and cancels the context. A batch that waited for a
// failed first goes in its place.
func TestCancelAtSecondChangeLetsTheRetryThrough(t *testing.T) {
	t.Run("Retry", func(t *testing.T) {
		s := newBatchServer(t)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		c := &cancelAtSecondChange{ctx: ctx, cancel: cancel}
		if code, err := s.post(t, c, "/flaky"); code != http.StatusServiceUnavailable || err != nil {
			t.Fatalf("first POST = %d, %v; want the server's 503", code, err)
		}
		if code, err := s.post(t, c, "/flaky"); code != http.StatusAccepted || err != nil || ctx.Err() != nil {
			t.Fatalf("its retry = %d, %v (ctx %v); want it sent and answered 202", code, err, ctx.Err())
		}
		if _, err := s.post(t, c, "/batch"); !errors.Is(err, context.Canceled) || ctx.Err() == nil {
			t.Fatalf("second batch = %v (ctx %v); want it refused and the context cancelled", err, ctx.Err())
		}
		if n := s.posts.Load(); n != 2 {
			t.Errorf("%d POSTs reached the server, want 2", n)
		}
	})

	t.Run("WaiterGoesInstead", func(t *testing.T) {
		s := newBatchServer(t)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		waiting := make(chan struct{}, 1)
		c := &cancelAtSecondChange{ctx: ctx, cancel: cancel, onWait: func() { waiting <- struct{}{} }}
		first := make(chan int)
		go func() {
			code, _ := s.post(t, c, "/slow")
			first <- code
		}()
		<-s.slowIn // /slow is out
		waiter := make(chan error)
		go func() {
			code, err := s.post(t, c, "/batch")
			if err == nil && code != http.StatusAccepted {
				err = errors.New(http.StatusText(code))
			}
			waiter <- err
		}()
		<-waiting // the batch waits for /slow's answer
		close(s.released)
		if code := <-first; code != http.StatusServiceUnavailable {
			t.Fatalf("/slow = %d, want 503", code)
		}
		if err := <-waiter; err != nil || ctx.Err() != nil {
			t.Fatalf("the batch that waited = %v (ctx %v); want it sent after the failed first, and answered", err, ctx.Err())
		}
		if _, err := s.post(t, c, "/batch"); !errors.Is(err, context.Canceled) {
			t.Fatalf("the next batch = %v, want it refused", err)
		}
		if n := s.posts.Load(); n != 2 {
			t.Errorf("%d POSTs reached the server, want 2 (/slow and the waiter)", n)
		}
	})
}
