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

// CancelledMidway's transport counts only an answered first batch: a first
// request answered 503 (which an SDK retries) is not the one batch that
// reaches the server, its retry is; the next state-changing request after
// that is not sent and cancels the context. A batch that waited for a
// failed first goes in its place.
func TestCancelAtSecondChangeLetsTheRetryThrough(t *testing.T) {
	var posts atomic.Int32
	release, slowIn := make(chan struct{}), make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch n := posts.Add(1); {
		case r.URL.Path == "/slow":
			close(slowIn)
			<-release
			w.WriteHeader(http.StatusServiceUnavailable)
		case n == 1:
			w.WriteHeader(http.StatusServiceUnavailable)
		default:
			w.WriteHeader(http.StatusAccepted)
		}
	}))
	defer srv.Close()

	post := func(rt http.RoundTripper, path string) (int, error) {
		req, err := http.NewRequest(http.MethodPost, srv.URL+path, strings.NewReader("batch"))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := rt.RoundTrip(req)
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}

	t.Run("Retry", func(t *testing.T) {
		posts.Store(0)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		c := &cancelAtSecondChange{ctx: ctx, cancel: cancel}
		if code, err := post(c, "/batch"); code != http.StatusServiceUnavailable || err != nil {
			t.Fatalf("first POST = %d, %v; want the server's 503", code, err)
		}
		if code, err := post(c, "/batch"); code != http.StatusAccepted || err != nil || ctx.Err() != nil {
			t.Fatalf("its retry = %d, %v (ctx %v); want it sent and answered 202", code, err, ctx.Err())
		}
		if _, err := post(c, "/batch"); !errors.Is(err, context.Canceled) || ctx.Err() == nil {
			t.Fatalf("second batch = %v (ctx %v); want it refused and the context cancelled", err, ctx.Err())
		}
		if n := posts.Load(); n != 2 {
			t.Errorf("%d POSTs reached the server, want 2", n)
		}
	})

	t.Run("WaiterGoesInstead", func(t *testing.T) {
		posts.Store(1) // past the first-503 rule: only /slow fails
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		waiting := make(chan struct{}, 1)
		c := &cancelAtSecondChange{ctx: ctx, cancel: cancel, onWait: func() { waiting <- struct{}{} }}
		first := make(chan int)
		go func() {
			code, _ := post(c, "/slow")
			first <- code
		}()
		<-slowIn // /slow is out
		waiter := make(chan error)
		go func() {
			code, err := post(c, "/batch")
			if err == nil && code != http.StatusAccepted {
				err = errors.New(http.StatusText(code))
			}
			waiter <- err
		}()
		<-waiting // the batch waits for /slow's answer
		close(release)
		if code := <-first; code != http.StatusServiceUnavailable {
			t.Fatalf("/slow = %d, want 503", code)
		}
		if err := <-waiter; err != nil || ctx.Err() != nil {
			t.Fatalf("the batch that waited = %v (ctx %v); want it sent after the failed first, and answered", err, ctx.Err())
		}
		if _, err := post(c, "/batch"); !errors.Is(err, context.Canceled) {
			t.Fatalf("the next batch = %v, want it refused", err)
		}
		if n := posts.Load(); n != 3 {
			t.Errorf("%d POSTs counted, want 3 (the offset 1, /slow, the waiter)", n)
		}
	})
}
