package conformance

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/stowage-dev/stowage/driver"
)

// ---- error checks ----------------------------------------------------------

// wantErrAs fails t unless errors.As finds a T in err; it returns what it
// found (the zero T when nothing).
func wantErrAs[T error](t testing.TB, err error, what string) T {
	t.Helper()
	var target T
	if err == nil {
		t.Errorf("%s: got no error, want %T", what, target)
		return target
	}
	if !errors.As(err, &target) {
		t.Errorf("%s: got error %v (%T), want %T", what, err, err, target)
	}
	return target
}

// wantNotFound fails t unless err is a *driver.PathNotFoundError.
func wantNotFound(t testing.TB, err error, what string) {
	t.Helper()
	wantErrAs[*driver.PathNotFoundError](t, err, what)
}

// wantInvalidPath fails t unless err is a *driver.InvalidPathError naming
// the driver.
func wantInvalidPath(t testing.TB, d driver.StorageDriver, err error, what string) {
	t.Helper()
	ipe := wantErrAs[*driver.InvalidPathError](t, err, what)
	if ipe != nil && ipe.DriverName != d.Name() {
		t.Errorf("%s: InvalidPathError.DriverName = %q, want %q", what, ipe.DriverName, d.Name())
	}
}

// wantIs fails t unless errors.Is(err, target).
func wantIs(t testing.TB, err, target error, what string) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: got error %v, want one matching %v", what, err, target)
	}
}

// ---- fixture operations that must succeed ---------------------------------

// put stores content at p.
func (f *fixture) put(p string, content []byte) {
	f.t.Helper()
	if err := f.d.PutContent(f.ctx, p, content); err != nil {
		f.t.Fatalf("PutContent(%s): %v", p, err)
	}
}

// puts stores the string s at p.
func (f *fixture) puts(p, s string) {
	f.t.Helper()
	f.put(p, []byte(s))
}

// putFiles stores each file of files, with its own path as content.
func (f *fixture) putFiles(files ...string) {
	f.t.Helper()
	for _, p := range files {
		f.puts(p, p)
	}
}

// putMany stores every path with content(i) using 16 goroutines.
func (f *fixture) putMany(paths []string, content func(i int) []byte) {
	f.t.Helper()
	const workers = 16
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
		next  = make(chan int)
	)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := f.d.PutContent(f.ctx, paths[i], content(i)); err != nil {
					mu.Lock()
					if first == nil {
						first = fmt.Errorf("PutContent(%s): %w", paths[i], err)
					}
					mu.Unlock()
				}
			}
		}()
	}
	for i := range paths {
		next <- i
	}
	close(next)
	wg.Wait()
	if first != nil {
		f.t.Fatal(first)
	}
}

// get returns the content at p.
func (f *fixture) get(p string) []byte {
	f.t.Helper()
	b, err := f.d.GetContent(f.ctx, p)
	if err != nil {
		f.t.Fatalf("GetContent(%s): %v", p, err)
	}
	return b
}

// wantContent fails the test unless p holds exactly want.
func (f *fixture) wantContent(p string, want []byte) {
	f.t.Helper()
	got, err := f.d.GetContent(f.ctx, p)
	if err != nil {
		f.t.Errorf("GetContent(%s): %v", p, err)
		return
	}
	if !bytes.Equal(got, want) {
		f.t.Errorf("GetContent(%s) = %s, want %s", p, describe(got), describe(want))
	}
}

// wantString is wantContent for a string.
func (f *fixture) wantString(p, want string) {
	f.t.Helper()
	f.wantContent(p, []byte(want))
}

// stat returns the FileInfo of p.
func (f *fixture) stat(p string) driver.FileInfo {
	f.t.Helper()
	fi, err := f.d.Stat(f.ctx, p)
	if err != nil {
		f.t.Fatalf("Stat(%s): %v", p, err)
	}
	return fi
}

// wantAbsent fails the test unless Stat(p) gives a *PathNotFoundError.
func (f *fixture) wantAbsent(p string) {
	f.t.Helper()
	fi, err := f.d.Stat(f.ctx, p)
	if err == nil {
		f.t.Errorf("Stat(%s) = {dir=%v size=%d}, want PathNotFoundError", p, fi.IsDir(), fi.Size())
		return
	}
	wantNotFound(f.t, err, "Stat("+p+")")
}

// wantFile fails the test unless Stat(p) describes a file of size n.
func (f *fixture) wantFile(p string, n int64) {
	f.t.Helper()
	fi, err := f.d.Stat(f.ctx, p)
	if err != nil {
		f.t.Errorf("Stat(%s): %v", p, err)
		return
	}
	if fi.IsDir() || fi.Size() != n || fi.Path() != p {
		f.t.Errorf("Stat(%s) = {path=%s dir=%v size=%d}, want a file of %d bytes", p, fi.Path(), fi.IsDir(), fi.Size(), n)
	}
}

// wantDir fails the test unless Stat(p) describes a directory.
func (f *fixture) wantDir(p string) {
	f.t.Helper()
	fi, err := f.d.Stat(f.ctx, p)
	if err != nil {
		f.t.Errorf("Stat(%s): %v", p, err)
		return
	}
	if !fi.IsDir() || fi.Path() != p {
		f.t.Errorf("Stat(%s) = {path=%s dir=%v}, want that directory", p, fi.Path(), fi.IsDir())
	}
}

// list returns List(p).
func (f *fixture) list(p string) []string {
	f.t.Helper()
	got, err := f.d.List(f.ctx, p)
	if err != nil {
		f.t.Fatalf("List(%s): %v", p, err)
	}
	return got
}

// wantList fails the test unless List(p) is exactly want (in that order).
func (f *fixture) wantList(p string, want ...string) {
	f.t.Helper()
	got, err := f.d.List(f.ctx, p)
	if err != nil {
		f.t.Errorf("List(%s): %v", p, err)
		return
	}
	if !slices.Equal(got, want) {
		f.t.Errorf("List(%s) = %q, want %q", p, got, want)
	}
}

// writer opens a writer for p.
func (f *fixture) writer(p string, appendMode bool) driver.FileWriter {
	f.t.Helper()
	w, err := f.d.Writer(f.ctx, p, appendMode)
	if err != nil {
		f.t.Fatalf("Writer(%s, append=%v): %v", p, appendMode, err)
	}
	if w == nil {
		f.t.Fatalf("Writer(%s, append=%v) returned a nil writer and no error", p, appendMode)
	}
	return w
}

// write writes s to w, which must accept all of it.
func (f *fixture) write(w driver.FileWriter, s string) {
	f.t.Helper()
	n, err := w.Write([]byte(s))
	if err != nil || n != len(s) {
		f.t.Fatalf("Write(%d bytes) = %d, %v", len(s), n, err)
	}
}

// commit commits and closes w.
func (f *fixture) commit(w driver.FileWriter) {
	f.t.Helper()
	if err := w.Commit(f.ctx); err != nil {
		f.t.Fatalf("Commit: %v", err)
	}
	if err := w.Close(); err != nil {
		f.t.Fatalf("Close after Commit: %v", err)
	}
}

// closeW closes w without committing.
func (f *fixture) closeW(w driver.FileWriter) {
	f.t.Helper()
	if err := w.Close(); err != nil {
		f.t.Fatalf("Close: %v", err)
	}
}

// discard resumes the uncommitted state of p and cancels it, so that no
// upload is left behind in the backend.
func (f *fixture) discard(p string) {
	f.t.Helper()
	w, err := f.d.Writer(f.ctx, p, true)
	if err != nil {
		f.t.Errorf("Writer(%s, append=true) to discard the upload: %v", p, err)
		return
	}
	if err := w.Cancel(f.ctx); err != nil {
		f.t.Errorf("Cancel of %s: %v", p, err)
	}
	if err := w.Close(); err != nil {
		f.t.Errorf("Close after Cancel of %s: %v", p, err)
	}
}

// requestsDuring returns how many HTTP requests fn sent.
func (f *fixture) requestsDuring(fn func()) int {
	before := f.env.Requests.Total()
	fn()
	return f.env.Requests.Total() - before
}

// wantNoRequests fails the test when, for an HTTP backend, fn sent any
// request.
func (f *fixture) wantNoRequests(what string, fn func()) {
	f.t.Helper()
	n := f.requestsDuring(fn)
	if f.s.h.Caps.HTTP && n != 0 {
		f.t.Errorf("%s sent %d HTTP requests, want 0", what, n)
	}
}

// cancelled returns a context that is already cancelled.
func (f *fixture) cancelled() context.Context {
	ctx, cancel := context.WithCancel(f.ctx)
	cancel()
	return ctx
}

// ---- walking and snapshots ------------------------------------------------

// entry is one visited FileInfo.
type entry struct {
	path  string
	isDir bool
	size  int64
}

func (e entry) key() string { return driver.WalkKey(e.path, e.isDir) }

func (e entry) String() string {
	if e.isDir {
		return e.path + "/"
	}
	return e.path
}

// walk returns the entries Walk(p) visits, in visiting order.
func (f *fixture) walk(p string, opts ...driver.WalkOption) []entry {
	f.t.Helper()
	var got []entry
	var mu sync.Mutex
	err := f.d.Walk(f.ctx, p, func(fi driver.FileInfo) error {
		mu.Lock()
		got = append(got, entry{fi.Path(), fi.IsDir(), fi.Size()})
		mu.Unlock()
		return nil
	}, opts...)
	if err != nil {
		f.t.Fatalf("Walk(%s): %v", p, err)
	}
	return got
}

// treeOf returns the entries a walk of root visits when the store holds
// files: the files and every directory between root and them, sorted by
// walk key.
func treeOf(root string, files []string) []entry {
	seen := map[string]bool{}
	var out []entry
	for _, p := range files {
		if !driver.IsUnder(p, root) {
			continue
		}
		out = append(out, entry{path: p})
		for dir := driver.ParentDir(p); dir != root && driver.IsUnder(dir, root); dir = driver.ParentDir(dir) {
			if !seen[dir] {
				seen[dir] = true
				out = append(out, entry{path: dir, isDir: true})
			}
		}
	}
	sortEntries(out)
	return out
}

// sortEntries sorts by walk key.
func sortEntries(es []entry) {
	sort.Slice(es, func(i, j int) bool { return es[i].key() < es[j].key() })
}

// filterEntries returns the entries keep accepts.
func filterEntries(es []entry, keep func(entry) bool) []entry {
	var out []entry
	for _, e := range es {
		if keep(e) {
			out = append(out, e)
		}
	}
	return out
}

// wantEntries fails the test unless got and want list the same paths and
// kinds in the same order.
func wantEntries(t testing.TB, what string, got, want []entry) {
	t.Helper()
	if len(got) == len(want) {
		same := true
		for i := range got {
			if got[i].path != want[i].path || got[i].isDir != want[i].isDir {
				same = false
				break
			}
		}
		if same {
			return
		}
	}
	t.Errorf("%s visits\n  %v\nwant\n  %v", what, got, want)
}

// snapshot describes every entry under "/": a directory maps to "dir", a
// file to its size and sha256. Use it on small trees only.
func (f *fixture) snapshot() map[string]string {
	f.t.Helper()
	out := map[string]string{}
	var paths []string
	err := f.d.Walk(f.ctx, "/", func(fi driver.FileInfo) error {
		if fi.IsDir() {
			out[fi.Path()] = "dir"
		} else {
			paths = append(paths, fi.Path())
		}
		return nil
	})
	if err != nil && !driver.IsNotFound(err) {
		f.t.Fatalf("Walk(/) for a snapshot: %v", err)
	}
	for _, p := range paths {
		b := f.get(p)
		sum := sha256.Sum256(b)
		out[p] = fmt.Sprintf("%d:%s", len(b), hex.EncodeToString(sum[:8]))
	}
	return out
}

// wantSnapshot fails the test unless the store still matches before.
func (f *fixture) wantSnapshot(what string, before map[string]string) {
	f.t.Helper()
	after := f.snapshot()
	var diffs []string
	for p, v := range before {
		if w, ok := after[p]; !ok {
			diffs = append(diffs, "removed "+p)
		} else if w != v {
			diffs = append(diffs, "changed "+p)
		}
	}
	for p := range after {
		if _, ok := before[p]; !ok {
			diffs = append(diffs, "created "+p)
		}
	}
	if len(diffs) > 0 {
		sort.Strings(diffs)
		f.t.Errorf("%s changed the store: %s", what, strings.Join(diffs, ", "))
	}
}

// ---- data -------------------------------------------------------------------

// splitmix64 is a tiny, good-enough mixing function for test data.
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// fillPattern fills p with the bytes at offset off of the endless
// pseudo-random stream named seed. Any range of the stream can be produced
// without the bytes before it, so large contents need not be held.
func fillPattern(seed uint64, off int64, p []byte) {
	i := 0
	for i < len(p) {
		pos := off + int64(i)
		word := splitmix64(seed ^ uint64(pos/8)*0x100000001b3)
		for shift := pos % 8; shift < 8 && i < len(p); shift++ {
			p[i] = byte(word >> (8 * shift))
			i++
		}
	}
}

// pattern returns n bytes of stream seed from offset 0.
func pattern(seed uint64, n int) []byte {
	p := make([]byte, n)
	fillPattern(seed, 0, p)
	return p
}

// patternReader streams n bytes of stream seed from offset off.
type patternReader struct {
	seed uint64
	off  int64
	left int64
}

func (r *patternReader) Read(p []byte) (int, error) {
	if r.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > r.left {
		p = p[:r.left]
	}
	fillPattern(r.seed, r.off, p)
	r.off += int64(len(p))
	r.left -= int64(len(p))
	return len(p), nil
}

// patternSum returns the sha256 of n bytes of stream seed from offset off.
func patternSum(seed uint64, off, n int64) [sha256.Size]byte {
	h := sha256.New()
	if _, err := io.CopyBuffer(h, &patternReader{seed: seed, off: off, left: n}, make([]byte, 1<<20)); err != nil {
		panic(err) // patternReader does not fail
	}
	var sum [sha256.Size]byte
	copy(sum[:], h.Sum(nil))
	return sum
}

// streamSum reads r to the end and returns the sha256 and length of what
// it read.
func streamSum(r io.Reader) ([sha256.Size]byte, int64, error) {
	h := sha256.New()
	n, err := io.CopyBuffer(h, r, make([]byte, 1<<20))
	var sum [sha256.Size]byte
	copy(sum[:], h.Sum(nil))
	return sum, n, err
}

// describe summarises content for a failure message.
func describe(b []byte) string {
	if len(b) <= 40 {
		return fmt.Sprintf("%q", b)
	}
	sum := sha256.Sum256(b)
	return fmt.Sprintf("%d bytes %q... (sha256 %x)", len(b), b[:16], sum[:8])
}

// numbered returns n paths dir/prefixNNNNN.
func numbered(dir, prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s/%s%05d", dir, prefix, i)
	}
	return out
}

// ceilDiv is ceil(a/b) for positive b.
func ceilDiv(a, b int) int { return (a + b - 1) / b }
