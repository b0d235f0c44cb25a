package conformance

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stowage-dev/stowage/driver"
)

func (s *suite) testDeleteFiles(t *testing.T) {
	s.leaf(t, "Empty", func(f *fixture) {
		f.putFiles("/keep")
		for _, paths := range [][]string{nil, {}} {
			f.wantDeleteFiles(paths, 0)
		}
		f.wantString("/keep", "/keep")
	})
	s.leaf(t, "Single", func(f *fixture) {
		f.putFiles("/d/f", "/d/g")
		f.wantDeleteFiles([]string{"/d/f"}, 1)
		f.wantAbsent("/d/f")
		f.wantList("/d", "/d/g")
	})
	s.leaf(t, "Several", func(f *fixture) {
		files := []string{"/a", "/b/c", "/b/d", "/e/f/g", "/e/f/h", "/e/i"}
		f.putFiles(append(files, "/keep/x", "/e/keep")...)
		f.wantDeleteFiles(files, len(files))
		for _, p := range files {
			f.wantAbsent(p)
		}
		f.wantList("/", "/e", "/keep")
		f.wantList("/e", "/e/keep")
	})
	s.leaf(t, "Duplicates", func(f *fixture) {
		f.putFiles("/a", "/b", "/keep")
		f.wantDeleteFiles([]string{"/a", "/a", "/b", "/a", "/b"}, 2)
		f.wantAbsent("/a")
		f.wantAbsent("/b")
		f.wantList("/", "/keep")
	})
	s.leaf(t, "MissingCountAsDeleted", func(f *fixture) {
		f.putFiles("/d/f", "/keep")
		f.wantDeleteFiles([]string{"/missing", "/d/missing", "/d/f", "/other/missing"}, 4)
		f.wantAbsent("/d/f")
		f.wantList("/", "/keep")
	})
	s.leaf(t, "AllMissing", func(f *fixture) {
		f.putFiles("/keep")
		f.wantDeleteFiles([]string{"/x", "/y/z"}, 2)
		f.wantList("/", "/keep")
	})
	s.leaf(t, "UnderFile", func(f *fixture) {
		f.putFiles("/f")
		f.wantDeleteFiles([]string{"/f/x", "/f/x/y"}, 2)
		f.wantString("/f", "/f")
	})
	s.leaf(t, "DirectoryLeftAlone", func(f *fixture) {
		f.putFiles("/d/a", "/d/b/c", "/e")
		f.wantDeleteFiles([]string{"/d", "/d/b", "/e"}, 3)
		f.wantString("/d/a", "/d/a")
		f.wantString("/d/b/c", "/d/b/c")
		f.wantAbsent("/e")
		f.wantList("/", "/d")
	})
	s.leaf(t, "PrefixSiblingsUntouched", func(f *fixture) {
		f.putFiles(prefixSiblings...)
		before := f.snapshot()
		f.wantDeleteFiles([]string{"/a/b"}, 1)
		f.wantSnapshot("DeleteFiles([/a/b])", before)
	})
	t.Run("InvalidRejectsAll", func(t *testing.T) {
		for _, c := range []struct{ name, bad string }{
			{"Traversal", "/x/../a"},
			{"Root", "/"},
			{"Empty", ""},
			{"Relative", "a"},
			{"TrailingSlash", "/a/"},
			{"Space", "/a b"},
		} {
			s.leaf(t, c.name, func(f *fixture) {
				f.putFiles("/a", "/b/c", "/d")
				before := f.snapshot()
				var (
					n   int
					err error
				)
				f.wantNoRequests("DeleteFiles with an invalid path", func() {
					n, err = f.d.DeleteFiles(f.ctx, []string{"/a", "/b/c", c.bad, "/d"})
				})
				wantInvalidPath(f.t, f.d, err, fmt.Sprintf("DeleteFiles with %q", c.bad))
				if n != 0 {
					f.t.Errorf("DeleteFiles with an invalid path = %d, want 0", n)
				}
				f.wantSnapshot("DeleteFiles with an invalid path", before)
			})
		}
	})
	s.leaf(t, "EmptyParentsPruned", func(f *fixture) {
		f.putFiles("/p/q/a", "/p/q/b", "/p/r/c", "/p2/x", "/p/qq")
		f.wantDeleteFiles([]string{"/p/q/a", "/p/q/b"}, 2)
		f.wantAbsent("/p/q")
		f.wantList("/p", "/p/qq", "/p/r")
		f.wantDeleteFiles([]string{"/p/r/c", "/p/qq"}, 2)
		f.wantAbsent("/p/r")
		f.wantAbsent("/p")
		f.wantList("/", "/p2")
	})
	s.leaf(t, "DeepParentsPruned", func(f *fixture) {
		f.putFiles("/a/b/c/d/e/f")
		f.wantDeleteFiles([]string{"/a/b/c/d/e/f"}, 1)
		for _, p := range []string{"/a/b/c/d/e", "/a/b/c", "/a"} {
			f.wantAbsent(p)
		}
	})
	s.leaf(t, "RootStaysUsable", func(f *fixture) {
		f.putFiles("/a", "/b/c")
		f.wantDeleteFiles([]string{"/a", "/b/c"}, 2)
		f.puts("/again", "x")
		f.wantList("/", "/again")
	})
	// Request counts apply only to backends that send HTTP requests.
	if s.h.Caps.HTTP {
		s.leaf(t, "RequestCount", func(f *fixture) {
			files := numbered("/d", "f", 10)
			f.putMany(files, func(int) []byte { return nil })
			paths := append(append([]string{}, files...), files[:5]...) // duplicates too
			var n int
			reqs := f.requestsDuring(func() { n = f.deleteFiles(paths) })
			if n != len(files) {
				f.t.Errorf("DeleteFiles = %d, want %d", n, len(files))
			}
			if want := ceilDiv(len(files), f.s.h.Caps.DeleteBatchSize); reqs != want {
				f.t.Errorf("DeleteFiles of %d paths sent %d requests, want %d (no list, no stat)", len(files), reqs, want)
			}
		})
	}
	s.heavyLeaf(t, "Many", func(f *fixture) {
		var files []string
		for d := 0; d < 5; d++ {
			files = append(files, numbered(fmt.Sprintf("/big/d%d", d), "f", bulkFiles/5)...)
		}
		f.putMany(files, func(int) []byte { return []byte("x") })
		f.puts("/big/keep", "keep")
		var n int
		reqs := f.requestsDuring(func() { n = f.deleteFiles(files) })
		if n != bulkFiles {
			f.t.Errorf("DeleteFiles = %d, want %d", n, bulkFiles)
		}
		if caps := f.s.h.Caps; caps.HTTP {
			if want := ceilDiv(bulkFiles, caps.DeleteBatchSize); reqs != want {
				f.t.Errorf("DeleteFiles of %d paths sent %d requests, want ceil(%d/%d) = %d",
					bulkFiles, reqs, bulkFiles, caps.DeleteBatchSize, want)
			}
		}
		f.wantList("/big", "/big/keep")
		f.wantAbsent(files[0])
		f.wantAbsent(files[len(files)-1])
	})
	s.heavyLeaf(t, "CancelledMidway", func(f *fixture) {
		f.checkCancelledMidway()
	})
}

// wantDeleteFiles fails the test unless DeleteFiles(paths) returns (n, nil).
func (f *fixture) wantDeleteFiles(paths []string, n int) {
	f.t.Helper()
	var got int
	reqs := f.requestsDuring(func() { got = f.deleteFiles(paths) })
	if got != n {
		f.t.Errorf("DeleteFiles(%q) = %d, want %d", paths, got, n)
	}
	if caps := f.s.h.Caps; caps.HTTP {
		if want := ceilDiv(n, caps.DeleteBatchSize); reqs != want {
			f.t.Errorf("DeleteFiles(%q) sent %d requests, want %d", paths, reqs, want)
		}
	}
}

// deleteFiles calls DeleteFiles, which must not fail.
func (f *fixture) deleteFiles(paths []string) int {
	f.t.Helper()
	n, err := f.d.DeleteFiles(f.ctx, paths)
	if err != nil {
		f.t.Fatalf("DeleteFiles(%d paths): %v", len(paths), err)
	}
	return n
}

// cancelMidwayBatch is the delete batch size DeleteFiles/CancelledMidway
// asks the harness for (Env.DeleteBatchSize), so that three batches cost
// 201 files.
const cancelMidwayBatch = 100

// maxLooks bounds the search of the non-HTTP CancelledMidway for the
// look at the context (a call of Done or Err) at which a cancellation
// deletes something: a wrapper may look many times per path (the
// consistency wrapper's waits) before the first batch goes out.
const maxLooks = 1 << 20

// nearby is how far round the boundary the non-HTTP CancelledMidway looks
// one k at a time when the bisection found none that deletes part.
const nearby = 16

// checkCancelledMidway cancels a DeleteFiles of three batches' worth of
// paths between its batches, deterministically, and checks that the
// deletion stopped part way and that nothing is lost silently: n plus the
// failures is the number of unique paths, every path not listed as failed
// is gone, and a DeleteFilesError matches context.Canceled.
//
// It runs on a second driver over the leaf's Root built with
// Env.DeleteBatchSize = cancelMidwayBatch; a harness that ignores that
// field keeps the backend's batch size, and the leaf then writes
// 2×batch+1 files, up to bulkFiles. Where even that is a single batch
// (Swift's 10,000 without the field), a partial deletion cannot be
// forced: the leaf checks only the report's consistency and says so in
// the log.
//
// How the cancellation lands between batches:
//   - HTTP backends (Caps.HTTP): the Env's transport passes the first
//     state-changing request (a bulk delete is never GET or HEAD) to the
//     server, buffering its answer, and cancels the context when a second
//     one is sent, which then fails without reaching the server. Batches
//     sent at once wait for the first to be answered. Exactly one batch
//     reaches the server.
//   - Other backends: a context that cancels itself the k-th time
//     DeleteFiles consults it (Done or Err), searching (doubling, then
//     bisecting) for the smallest k at which a round deletes anything.
//     The calls are the only thing a backend without requests shows of
//     its progress, and a cancellation at the moment it looks is one a
//     real caller could cause. Every round is checked for consistency
//     and the deleted files are put back before the next. At that k a
//     backend that stops between batches has deleted part of the paths;
//     one that stops consulting its context once it started deleting has
//     deleted them all, and fails the leaf.
func (f *fixture) checkCancelledMidway() {
	env := f.env
	env.DeleteBatchSize = cancelMidwayBatch
	// The same Root: f.d sees the same files and cleans up after the leaf.
	g := &fixture{s: f.s, t: f.t, env: env, d: f.s.h.New(f.t, env), ctx: f.ctx}
	if g.d == nil {
		f.t.Fatalf("conformance: %s: Harness.New returned nil", f.s.h.Name)
	}
	batch := driver.CapabilitiesOf(g.d).DeleteBatchSize
	if batch <= 0 {
		batch = f.s.h.Caps.DeleteBatchSize
	}
	if batch <= 0 {
		batch = 1000 // unknown: assume inmemory's
	}
	count := min(2*batch+1, bulkFiles)
	several := count > batch
	files := numbered("/m", "f", count)
	g.putMany(files, func(int) []byte { return []byte("x") })
	paths := append(append([]string{}, files...), files[:10]...) // duplicates too
	partial := func(n int) bool { return n > 0 && n < count }

	if hook := f.hook(); f.s.h.Caps.HTTP && hook != nil {
		ctx, cancel := context.WithCancel(f.ctx)
		defer cancel()
		hook.set(&cancelAtSecondChange{ctx: ctx, cancel: cancel})
		n, err := g.d.DeleteFiles(ctx, paths)
		hook.set(nil)
		g.checkDeleteReport(files, n, err)
		switch {
		case !several:
			f.t.Logf("DeleteFiles of %d paths is one batch of up to %d: no partial deletion to check (the harness can set Env.DeleteBatchSize)", count, batch)
		case !partial(n):
			f.t.Errorf("DeleteFiles of %d paths in batches of %d, cancelled when its second batch was sent = %d, %v; want a partial deletion", count, batch, n, err)
		}
		f.t.Logf("DeleteFiles cancelled midway: n=%d of %d, batches of %d", n, count, batch)
		return
	}
	// probe runs one DeleteFiles cancelled at its k-th look at the
	// context, checks its report and puts back what it deleted.
	probe := func(k int) int {
		ctx := newCancelAtLook(f.ctx, k)
		n, err := g.d.DeleteFiles(ctx, paths)
		ctx.cancel()
		remaining := g.checkDeleteReport(files, n, err)
		var gone []string
		for _, p := range files {
			if !remaining[p] {
				gone = append(gone, p)
			}
		}
		if !f.t.Failed() && len(gone) > 0 {
			g.putMany(gone, func(int) []byte { return []byte("x") })
		}
		return n
	}
	// The smallest k at which something is deleted: doubling k until a
	// round deletes, then halving the gap. At that k a driver that stops
	// between batches has deleted one batch; one that does not has
	// deleted everything.
	// The doubling runs twice: a wrapper with a cache (consistency over
	// the eventual simulator) looks less often once a round that deleted
	// and put back has filled it, and stays so for the rounds after.
	var lo, hi, n int // probe(lo) deleted nothing; probe(hi) = n
	for pass := 0; pass < 2 && !f.t.Failed(); pass++ {
		for lo, hi = 0, 1; ; lo, hi = hi, 2*hi {
			if n = probe(hi); f.t.Failed() || n > 0 {
				break
			}
			if hi >= maxLooks {
				f.t.Errorf("DeleteFiles of %d paths deleted nothing in any round cancelled at up to its %d-th look at the context", count, maxLooks)
				return
			}
		}
	}
	for !f.t.Failed() && hi-lo > 1 {
		mid := (lo + hi) / 2
		if m := probe(mid); m > 0 {
			hi, n = mid, m
		} else {
			lo = mid
		}
	}
	// A backend or wrapper whose looks depend on its state (a cache that
	// the rounds fill) moves the boundary between rounds: look again
	// round it, one k at a time, before calling it a failure.
	for k, last := lo+1, hi+nearby; several && !f.t.Failed() && n == count && k <= last; k++ {
		if m := probe(k); m > 0 {
			hi, n = k, m
		}
	}
	switch {
	case f.t.Failed():
	case !several:
		f.t.Logf("DeleteFiles of %d paths is one batch of up to %d: no partial deletion to check", count, batch)
	case !partial(n):
		f.t.Errorf("DeleteFiles of %d paths in batches of %d, cancelled at its look %d at the context, deleted everything (n=%d); cancelled one look earlier it deleted nothing: it does not stop between batches", count, batch, hi, n)
	default:
		f.t.Logf("DeleteFiles cancelled at its look %d at the context: n=%d of %d, batches of %d", hi, n, count, batch)
	}
}

// checkDeleteReport checks what DeleteFiles of the unique paths files,
// cancelled, returned: n with nil, n with a *DeleteFilesError that adds up
// and matches context.Canceled, or 0 with a plain context.Canceled when
// nothing was deleted. It fails the test when a path counted as deleted
// still exists, and returns the files that still exist.
func (f *fixture) checkDeleteReport(files []string, n int, err error) map[string]bool {
	f.t.Helper()
	failed := map[string]bool{}
	plain := false
	var dfe *driver.DeleteFilesError
	switch {
	case err == nil:
		if n != len(files) {
			f.t.Errorf("DeleteFiles = %d, nil; want %d", n, len(files))
		}
	case errors.As(err, &dfe):
		for _, fl := range dfe.Failures {
			if failed[fl.Path] {
				f.t.Errorf("DeleteFilesError lists %s twice", fl.Path)
			}
			failed[fl.Path] = true
			if fl.Err == nil {
				f.t.Errorf("DeleteFilesError lists %s without a cause", fl.Path)
			}
		}
		if n+len(dfe.Failures) != len(files) {
			f.t.Errorf("DeleteFiles = %d with %d failures, want them to add up to %d", n, len(dfe.Failures), len(files))
		}
		if !errors.Is(err, context.Canceled) {
			f.t.Errorf("DeleteFilesError %v does not match context.Canceled", err)
		}
		if dfe.DriverName != f.d.Name() {
			f.t.Errorf("DeleteFilesError.DriverName = %q, want %q", dfe.DriverName, f.d.Name())
		}
	default:
		// Cancelled before anything started: nothing may be deleted.
		wantIs(f.t, err, context.Canceled, "cancelled DeleteFiles")
		if n != 0 {
			f.t.Errorf("DeleteFiles = %d with error %v, want 0 or a DeleteFilesError", n, err)
		}
		for _, p := range files {
			failed[p] = true
		}
		plain = true
	}
	remaining := map[string]bool{}
	if got, err := f.d.List(f.ctx, "/m"); err == nil {
		for _, p := range got {
			remaining[p] = true
		}
	} else if !driver.IsNotFound(err) {
		f.t.Fatalf("List(/m): %v", err)
	}
	lost := 0
	for _, p := range files {
		if remaining[p] && !failed[p] {
			if lost == 0 {
				f.t.Errorf("%s was counted as deleted but still exists", p)
			}
			lost++
		}
	}
	if lost > 0 {
		f.t.Errorf("%d paths counted as deleted still exist (DeleteFiles = %d, %v)", lost, n, err)
	}
	if plain && len(remaining) != len(files) {
		f.t.Errorf("DeleteFiles failed with %v without reporting the %d files it deleted", err, len(files)-len(remaining))
	}
	return remaining
}

// cancelAtSecondChange is the http.RoundTripper of an HTTP backend's
// CancelledMidway: it passes GET and HEAD requests and the first other
// one (the first bulk delete) to the server, and cancels ctx when a second
// state-changing request comes, which it fails with ctx's error without
// sending it. One that comes while the first is still out waits for the
// first's answer first. The first answer is read into memory before it is
// returned, so that the cancellation cannot cut it short. A first request
// that fails in transit or is answered 408, 429 or 5xx does not count:
// the next state-changing request (the client's retry of it, which SDKs
// send for those, and which a loaded test server can cause; or another
// batch) is sent as the first in its place.
type cancelAtSecondChange struct {
	ctx    context.Context
	cancel context.CancelFunc

	mu       sync.Mutex
	answered bool          // the first batch has its answer
	out      chan struct{} // while a first is out: closed when it ends

	// onWait, if set, is called when a request starts waiting for the
	// first's answer (for this type's own test).
	onWait func()
}

func (c *cancelAtSecondChange) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method == http.MethodGet || req.Method == http.MethodHead {
		return http.DefaultTransport.RoundTrip(req)
	}
	for {
		c.mu.Lock()
		answered, out := c.answered, c.out
		if !answered && out == nil {
			c.out = make(chan struct{})
			c.mu.Unlock()
			return c.sendFirst(req)
		}
		c.mu.Unlock()
		if answered {
			return c.refuse(req)
		}
		if c.onWait != nil {
			c.onWait()
		}
		select {
		case <-out: // answered, or failed: look again
		case <-req.Context().Done():
			return c.refuse(req)
		}
	}
}

// refuse fails req without sending it and cancels the DeleteFiles.
func (c *cancelAtSecondChange) refuse(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		req.Body.Close()
	}
	c.cancel()
	return nil, fmt.Errorf("conformance: %s %s not sent, DeleteFiles cancelled after its first batch: %w", req.Method, req.URL.Path, c.ctx.Err())
}

// sendFirst sends req as the first batch and records whether it was
// answered (an answer clients do not retry).
func (c *cancelAtSecondChange) sendFirst(req *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(req)
	var body []byte
	if err == nil {
		body, err = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	c.mu.Lock()
	c.answered = err == nil && !retried(resp.StatusCode)
	close(c.out)
	c.out = nil
	c.mu.Unlock()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp, nil
}

// retried reports whether an answer with this status is one HTTP clients
// retry: 408, 429 and every 5xx.
func retried(status int) bool {
	return status == http.StatusRequestTimeout || status == http.StatusTooManyRequests || status >= 500
}

// cancelAtLook is a context that cancels itself the k-th time its Done or
// Err method is called, and with its parent.
type cancelAtLook struct {
	context.Context // a child of the parent, cancelled by cancel
	cancel          context.CancelFunc
	left            atomic.Int64
}

func newCancelAtLook(parent context.Context, k int) *cancelAtLook {
	ctx, cancel := context.WithCancel(parent)
	c := &cancelAtLook{Context: ctx, cancel: cancel}
	c.left.Store(int64(k))
	return c
}

func (c *cancelAtLook) look() {
	if c.left.Add(-1) == 0 {
		c.cancel()
	}
}

func (c *cancelAtLook) Done() <-chan struct{} {
	c.look()
	return c.Context.Done()
}

func (c *cancelAtLook) Err() error {
	c.look()
	return c.Context.Err()
}
