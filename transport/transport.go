package transport

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// Latency is an http.RoundTripper that simulates network distance: every
// request waits Delay before it is passed to Base (http.DefaultTransport
// when nil), so a server on loopback answers as a distant region would. It
// is a simulation for benchmarks, not a way to order events in tests. A
// request whose context ends while it waits fails with the context's error
// and is not sent.
type Latency struct {
	Base  http.RoundTripper
	Delay time.Duration
}

// RoundTrip waits Delay, then passes req to Base.
func (l *Latency) RoundTrip(req *http.Request) (*http.Response, error) {
	if l.Delay > 0 {
		timer := time.NewTimer(l.Delay)
		select {
		case <-timer.C:
		case <-req.Context().Done():
			timer.Stop()
			closeBody(req)
			return nil, req.Context().Err()
		}
	}
	return baseTransport(l.Base).RoundTrip(req)
}

// FaultKind is a kind of failure Faults injects.
type FaultKind int

const (
	// FaultStatus answers the request with Faults.Status (503 by default)
	// without sending it: the server never sees it.
	FaultStatus FaultKind = iota
	// FaultReset fails the request with a connection-reset error without
	// sending it.
	FaultReset
	// FaultResetAfter sends the request, then throws the response away and
	// fails with a connection-reset error: the server did the work but the
	// client cannot know it (the case idempotent retries exist for).
	FaultResetAfter
	// FaultCutBody sends the request and returns the response, but its
	// body fails with a connection-reset error after half of it (at once
	// for an empty body). A response that has no body at all (HEAD) fails
	// as FaultResetAfter does.
	FaultCutBody

	numFaultKinds = iota
)

// String names the kind.
func (k FaultKind) String() string {
	switch k {
	case FaultStatus:
		return "status"
	case FaultReset:
		return "reset"
	case FaultResetAfter:
		return "reset-after"
	case FaultCutBody:
		return "cut-body"
	}
	return "FaultKind(" + strconv.Itoa(int(k)) + ")"
}

// ErrConnectionReset is the error injected for a dropped connection. It
// wraps syscall.ECONNRESET in a *net.OpError, as a real reset arrives, so
// errors.Is(err, syscall.ECONNRESET) holds and SDK retryers treat it as
// transient.
var ErrConnectionReset error = &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}

// Faults is an http.RoundTripper that makes a share of the requests passing
// through it to Base (http.DefaultTransport when nil) fail, deterministically
// from Seed: the n-th eligible request gets the same decision on every run
// with the same settings. It counts what it injected.
//
// Set the fields before the first request and do not change them after.
type Faults struct {
	Base http.RoundTripper

	// Seed fixes the sequence of decisions.
	Seed uint64
	// Rate is the share of eligible requests that fail, from 0 (none) to
	// 1 (all).
	Rate float64
	// Max, when above 0, stops injecting after that many faults.
	Max int
	// Kinds are the failures to choose from, uniformly; nil means
	// FaultStatus only.
	Kinds []FaultKind
	// Match, when set, limits faults to the requests it accepts; the
	// others pass untouched and do not advance the sequence.
	Match func(req *http.Request) bool

	// Status is the status code of FaultStatus answers; 0 means 503.
	Status int
	// Header is added to FaultStatus answers (e.g. Retry-After).
	Header http.Header
	// Body, when set, returns the body of a FaultStatus answer to req
	// (SlowDownBody is an S3-style one); nil means an empty body.
	Body func(req *http.Request) []byte

	mu       sync.Mutex
	rng      *rand.Rand
	seen     int
	injected [numFaultKinds]int
}

// RoundTrip decides whether req fails and how, then fails it or passes it
// to Base.
func (f *Faults) RoundTrip(req *http.Request) (*http.Response, error) {
	kind, inject := f.decide(req)
	if !inject {
		return baseTransport(f.Base).RoundTrip(req)
	}
	switch kind {
	case FaultReset:
		closeBody(req)
		return nil, ErrConnectionReset
	case FaultResetAfter:
		resp, err := baseTransport(f.Base).RoundTrip(req)
		if err != nil {
			return nil, err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return nil, ErrConnectionReset
	case FaultCutBody:
		resp, err := baseTransport(f.Base).RoundTrip(req)
		if err != nil {
			return nil, err
		}
		if req.Method == http.MethodHead || resp.Body == http.NoBody {
			// No body to cut (a HEAD answer): the connection drops after
			// the server did the work, as with FaultResetAfter.
			resp.Body.Close()
			return nil, ErrConnectionReset
		}
		keep := resp.ContentLength / 2
		if resp.ContentLength < 0 {
			keep = 0
		}
		resp.Body = &cutBody{Reader: CutReader(resp.Body, keep, nil), body: resp.Body}
		return resp, nil
	default:
		closeBody(req)
		return f.statusResponse(req), nil
	}
}

func (f *Faults) decide(req *http.Request) (FaultKind, bool) {
	if f.Match != nil && !f.Match(req) {
		return 0, false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.rng == nil {
		f.rng = rand.New(rand.NewPCG(f.Seed, 0xfa017))
	}
	f.seen++
	// Draw both numbers on every request so the sequence depends only on
	// the request's position, not on earlier outcomes.
	p, k := f.rng.Float64(), f.rng.IntN(1<<30)
	if p >= f.Rate || (f.Max > 0 && f.total() >= f.Max) {
		return 0, false
	}
	kind := FaultStatus
	if len(f.Kinds) > 0 {
		kind = f.Kinds[k%len(f.Kinds)]
	}
	if kind < 0 || kind >= numFaultKinds {
		kind = FaultStatus
	}
	f.injected[kind]++
	return kind, true
}

func (f *Faults) statusResponse(req *http.Request) *http.Response {
	status := f.Status
	if status == 0 {
		status = http.StatusServiceUnavailable
	}
	var body []byte
	if f.Body != nil {
		body = f.Body(req)
	}
	h := http.Header{}
	for k, v := range f.Header {
		h[k] = append([]string(nil), v...)
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	return &http.Response{
		Status:        fmt.Sprintf("%d %s", status, http.StatusText(status)),
		StatusCode:    status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        h,
		Body:          io.NopCloser(bytes.NewReader(body)),
		ContentLength: int64(len(body)),
		Request:       req,
	}
}

// Injected returns the number of faults injected so far, by kind.
func (f *Faults) Injected() map[FaultKind]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[FaultKind]int{}
	for k, n := range f.injected {
		if n > 0 {
			out[FaultKind(k)] = n
		}
	}
	return out
}

// Total returns the number of faults injected so far.
func (f *Faults) Total() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.total()
}

// Seen returns the number of eligible requests (those Match accepted) so
// far, faulted or not.
func (f *Faults) Seen() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.seen
}

func (f *Faults) total() int {
	n := 0
	for _, c := range f.injected {
		n += c
	}
	return n
}

// SlowDownBody is an S3-style error document for a throttled request, for
// Faults.Body together with Status 503.
func SlowDownBody(req *http.Request) []byte {
	return []byte(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
		`<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message>` +
		`<Resource>` + xmlEscape(req.URL.Path) + `</Resource><RequestId>stowage-fault</RequestId></Error>`)
}

func xmlEscape(s string) string {
	var b bytes.Buffer
	for _, r := range s {
		switch r {
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '&':
			b.WriteString("&amp;")
		case '"':
			b.WriteString("&quot;")
		case '\'':
			b.WriteString("&apos;")
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// CutReader returns a reader that yields the first n bytes of r and then
// fails with err (ErrConnectionReset when err is nil), as a connection
// dropped midway does: it never ends cleanly, even when r ends first.
func CutReader(r io.Reader, n int64, err error) io.Reader {
	if err == nil {
		err = ErrConnectionReset
	}
	return &cutReader{r: r, left: n, err: err}
}

type cutReader struct {
	r    io.Reader
	left int64
	err  error
}

func (c *cutReader) Read(p []byte) (int, error) {
	if c.left <= 0 {
		return 0, c.err
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	if err == io.EOF {
		// r was shorter than announced; still fail, never a clean end.
		err = c.err
	}
	return n, err
}

// cutBody is a response body cut by CutReader.
type cutBody struct {
	io.Reader
	body io.ReadCloser
}

func (c *cutBody) Close() error { return c.body.Close() }

func baseTransport(rt http.RoundTripper) http.RoundTripper {
	if rt == nil {
		return http.DefaultTransport
	}
	return rt
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}
