package transport

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// server answers every request with body and counts the requests it saw.
func server(t *testing.T, body string) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var hits atomic.Int64
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(s.Close)
	return s, &hits
}

func get(t *testing.T, c *http.Client, url string) (int, string, error) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

func TestLatencyDelaysEachRequest(t *testing.T) {
	s, hits := server(t, "ok")
	const delay = 30 * time.Millisecond
	c := &http.Client{Transport: &Latency{Delay: delay}}
	for i := 0; i < 3; i++ {
		start := time.Now()
		code, body, err := get(t, c, s.URL)
		if err != nil || code != 200 || body != "ok" {
			t.Fatalf("get: %d %q %v", code, body, err)
		}
		if el := time.Since(start); el < delay {
			t.Fatalf("request %d took %v, want at least %v", i, el, delay)
		}
	}
	if hits.Load() != 3 {
		t.Fatalf("server saw %d requests, want 3", hits.Load())
	}
}

func TestLatencyCancelledWhileWaiting(t *testing.T) {
	s, hits := server(t, "ok")
	c := &http.Client{Transport: &Latency{Delay: time.Hour}}
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL, nil)
	done := make(chan error, 1)
	go func() {
		resp, err := c.Do(req)
		if resp != nil {
			resp.Body.Close()
		}
		done <- err
	}()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if hits.Load() != 0 {
		t.Fatalf("a cancelled request reached the server")
	}
}

func TestFaultsRateZeroPassesEverything(t *testing.T) {
	s, hits := server(t, "ok")
	f := &Faults{Seed: 1, Rate: 0}
	c := &http.Client{Transport: f}
	for i := 0; i < 50; i++ {
		if code, _, err := get(t, c, s.URL); err != nil || code != 200 {
			t.Fatalf("request %d: %d %v", i, code, err)
		}
	}
	if f.Total() != 0 || hits.Load() != 50 || f.Seen() != 50 {
		t.Fatalf("injected %d, server saw %d, seen %d", f.Total(), hits.Load(), f.Seen())
	}
}

func TestFaultsStatusAnswer(t *testing.T) {
	s, hits := server(t, "ok")
	f := &Faults{
		Seed:   7,
		Rate:   1,
		Header: http.Header{"Retry-After": {"1"}},
		Body:   SlowDownBody,
	}
	c := &http.Client{Transport: f}
	resp, err := c.Get(s.URL + "/bucket/a&b")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("status %d, want 503", resp.StatusCode)
	}
	if resp.Header.Get("Retry-After") != "1" {
		t.Fatalf("Retry-After = %q", resp.Header.Get("Retry-After"))
	}
	if !strings.Contains(string(b), "<Code>SlowDown</Code>") || !strings.Contains(string(b), "/bucket/a&amp;b") {
		t.Fatalf("body %q", b)
	}
	if resp.ContentLength != int64(len(b)) {
		t.Fatalf("ContentLength %d, body %d bytes", resp.ContentLength, len(b))
	}
	if hits.Load() != 0 {
		t.Fatalf("server saw an answered-by-fault request")
	}
	if got := f.Injected(); got[FaultStatus] != 1 || len(got) != 1 {
		t.Fatalf("Injected() = %v", got)
	}
}

func TestFaultsCustomStatus(t *testing.T) {
	s, _ := server(t, "ok")
	c := &http.Client{Transport: &Faults{Rate: 1, Status: http.StatusTooManyRequests}}
	code, body, err := get(t, c, s.URL)
	if err != nil || code != 429 || body != "" {
		t.Fatalf("got %d %q %v, want 429 with an empty body", code, body, err)
	}
}

func TestFaultsResetBeforeSending(t *testing.T) {
	s, hits := server(t, "ok")
	f := &Faults{Rate: 1, Kinds: []FaultKind{FaultReset}}
	_, _, err := get(t, &http.Client{Transport: f}, s.URL)
	if !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("err = %v, want ECONNRESET", err)
	}
	if hits.Load() != 0 {
		t.Fatalf("server saw the reset request")
	}
}

func TestFaultsResetAfterSending(t *testing.T) {
	s, hits := server(t, "ok")
	f := &Faults{Rate: 1, Kinds: []FaultKind{FaultResetAfter}}
	req, _ := http.NewRequest(http.MethodPut, s.URL, strings.NewReader("payload"))
	resp, err := (&http.Client{Transport: f}).Do(req)
	if resp != nil {
		resp.Body.Close()
	}
	if !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("err = %v, want ECONNRESET", err)
	}
	if hits.Load() != 1 {
		t.Fatalf("server saw %d requests, want 1 (the work is done, the answer lost)", hits.Load())
	}
}

func TestFaultsCutBody(t *testing.T) {
	body := strings.Repeat("0123456789", 100)
	s, hits := server(t, body)
	f := &Faults{Rate: 1, Kinds: []FaultKind{FaultCutBody}}
	code, got, err := get(t, &http.Client{Transport: f}, s.URL)
	if code != 200 {
		t.Fatalf("status %d", code)
	}
	if !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("read err = %v, want ECONNRESET", err)
	}
	if len(got) != len(body)/2 || got != body[:len(body)/2] {
		t.Fatalf("read %d bytes before the cut, want %d", len(got), len(body)/2)
	}
	if hits.Load() != 1 {
		t.Fatalf("server saw %d requests", hits.Load())
	}
}

func TestFaultsCutEmptyBodyFailsAtOnce(t *testing.T) {
	s, _ := server(t, "")
	f := &Faults{Rate: 1, Kinds: []FaultKind{FaultCutBody}}
	_, got, err := get(t, &http.Client{Transport: f}, s.URL)
	if got != "" || !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("got %q, %v; want nothing and ECONNRESET", got, err)
	}
}

// decisions runs n requests through a fresh Faults built by mk and returns
// which failed ('x') and which passed ('.').
func decisions(t *testing.T, url string, n int, mk func() *Faults) (string, *Faults) {
	t.Helper()
	f := mk()
	c := &http.Client{Transport: f}
	var b strings.Builder
	for i := 0; i < n; i++ {
		code, _, err := get(t, c, url)
		if err != nil {
			t.Fatal(err)
		}
		if code == 503 {
			b.WriteByte('x')
		} else {
			b.WriteByte('.')
		}
	}
	return b.String(), f
}

func TestFaultsDeterministicFromSeed(t *testing.T) {
	s, _ := server(t, "ok")
	mk := func(seed uint64) func() *Faults {
		return func() *Faults { return &Faults{Seed: seed, Rate: 0.3} }
	}
	a, fa := decisions(t, s.URL, 200, mk(42))
	b, _ := decisions(t, s.URL, 200, mk(42))
	c, _ := decisions(t, s.URL, 200, mk(43))
	if a != b {
		t.Fatalf("same seed, different faults:\n%s\n%s", a, b)
	}
	if a == c {
		t.Fatalf("different seeds gave the same 200 decisions")
	}
	n := strings.Count(a, "x")
	if n != fa.Total() {
		t.Fatalf("saw %d faults, Total() = %d", n, fa.Total())
	}
	if n < 30 || n > 90 {
		t.Fatalf("%d of 200 requests failed at rate 0.3", n)
	}
}

func TestFaultsMax(t *testing.T) {
	s, hits := server(t, "ok")
	got, f := decisions(t, s.URL, 10, func() *Faults { return &Faults{Rate: 1, Max: 2} })
	if got != "xx........" {
		t.Fatalf("decisions %s, want the first two failed", got)
	}
	if f.Total() != 2 || hits.Load() != 8 {
		t.Fatalf("Total %d, server saw %d", f.Total(), hits.Load())
	}
}

func TestFaultsMatchLimitsEligibleRequests(t *testing.T) {
	s, hits := server(t, "ok")
	f := &Faults{Rate: 1, Match: func(r *http.Request) bool { return r.Method == http.MethodDelete }}
	c := &http.Client{Transport: f}
	if code, _, err := get(t, c, s.URL); err != nil || code != 200 {
		t.Fatalf("GET: %d %v", code, err)
	}
	req, _ := http.NewRequest(http.MethodDelete, s.URL, nil)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 503 {
		t.Fatalf("DELETE answered %d, want the injected 503", resp.StatusCode)
	}
	if f.Seen() != 1 || f.Total() != 1 || hits.Load() != 1 {
		t.Fatalf("seen %d, injected %d, server saw %d", f.Seen(), f.Total(), hits.Load())
	}
}

func TestFaultsKindsMixAndCount(t *testing.T) {
	s, _ := server(t, "ok")
	f := &Faults{Seed: 3, Rate: 1, Kinds: []FaultKind{FaultStatus, FaultReset}}
	c := &http.Client{Transport: f}
	var status, reset int
	for i := 0; i < 100; i++ {
		code, _, err := get(t, c, s.URL)
		switch {
		case errors.Is(err, syscall.ECONNRESET):
			reset++
		case err == nil && code == 503:
			status++
		default:
			t.Fatalf("request %d: %d %v", i, code, err)
		}
	}
	inj := f.Injected()
	if inj[FaultStatus] != status || inj[FaultReset] != reset || status == 0 || reset == 0 {
		t.Fatalf("saw %d status and %d resets; Injected() = %v", status, reset, inj)
	}
}

func TestFaultKindString(t *testing.T) {
	for k, want := range map[FaultKind]string{FaultStatus: "status", FaultReset: "reset", FaultResetAfter: "reset-after", FaultCutBody: "cut-body", 9: "FaultKind(9)"} {
		if got := k.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", int(k), got, want)
		}
	}
}

// One Counter counts the requests of several clients through Wrap, each
// sent on to its own transport.
func TestCounterWrap(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer srv.Close()
	c := &Counter{}
	var inner [2]Counter
	clients := []*http.Client{{Transport: c.Wrap(&inner[0])}, {Transport: c.Wrap(&inner[1])}}
	for i, method := range []string{http.MethodGet, http.MethodPut, http.MethodGet} {
		req, _ := http.NewRequest(method, srv.URL, nil)
		resp, err := clients[i%2].Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if c.Total() != 3 || c.ByMethod()[http.MethodGet] != 2 || c.ByMethod()[http.MethodPut] != 1 {
		t.Errorf("counted %d %v, want 3: GET 2, PUT 1", c.Total(), c.ByMethod())
	}
	if inner[0].Total() != 2 || inner[1].Total() != 1 {
		t.Errorf("sent on %d and %d, want 2 and 1", inner[0].Total(), inner[1].Total())
	}
}
