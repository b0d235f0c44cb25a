package storereport

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/driver/consistency"
)

// Poll back-off of the lag probes: the resolution of a measured lag is
// at most maxPoll.
const (
	firstPoll = 10 * time.Millisecond
	maxPoll   = 250 * time.Millisecond
)

// cleanupTimeout bounds the cleanup after ctx has ended.
const cleanupTimeout = time.Minute

// prober holds the state of one Run.
type prober struct {
	d        driver.StorageDriver
	o        Options
	caps     driver.Capabilities
	contract contract
	base     string
	// counted is set when requests can be counted: a counter and a
	// backend whose requests all go through it.
	counted bool

	mu      sync.Mutex
	written map[string]bool // files that may exist and need deleting

	counts []OpCount
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return hex.EncodeToString(b)
}

// mark records paths that may exist once written.
func (p *prober) mark(paths ...string) {
	p.mu.Lock()
	for _, q := range paths {
		p.written[q] = true
	}
	p.mu.Unlock()
}

// unmark forgets paths that are gone.
func (p *prober) unmark(paths ...string) {
	p.mu.Lock()
	for _, q := range paths {
		delete(p.written, q)
	}
	p.mu.Unlock()
}

// cleanup deletes every file written and not deleted yet, by name (a
// listing may lag), then the base directory (whatever a listing shows).
func (p *prober) cleanup(ctx context.Context) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	p.mu.Lock()
	paths := make([]string, 0, len(p.written))
	for q := range p.written {
		paths = append(paths, q)
	}
	p.mu.Unlock()
	slices.Sort(paths)
	if len(paths) > 0 {
		if _, err := p.d.DeleteFiles(cctx, paths); err != nil {
			p.o.Logger.Warn("storereport: cleanup: DeleteFiles", "files", len(paths), "error", err)
		}
	}
	if err := p.d.Delete(cctx, p.base); err != nil && !notFound(err) {
		p.o.Logger.Warn("storereport: cleanup: Delete", "path", p.base, "error", err)
	}
}

// requests returns the request count so far (0 without counting).
func (p *prober) requests() int {
	if !p.counted {
		return 0
	}
	return p.o.Requests.Total()
}

// count records the requests of one operation.
func (p *prober) count(op string, since, expected int) int {
	if !p.counted {
		return 0
	}
	n := p.o.Requests.Total() - since
	p.counts = append(p.counts, OpCount{Op: op, Requests: n, Expected: expected})
	return n
}

// check is one condition a lag probe waits for.
type check func(ctx context.Context) (bool, error)

// seen is when a check first held.
type seen struct {
	ok    bool          // it held within MaxLag
	after time.Duration // since the change
	polls int           // checks made, the one that held included
	err   error         // the error that stopped it
}

// atOnce reports whether the check held at the first look.
func (s seen) atOnce() bool { return s.ok && s.polls == 1 }

// watch runs every check at once and then again, backing off, until
// each has held once or MaxLag has passed since t0.
func (p *prober) watch(ctx context.Context, t0 time.Time, checks ...check) []seen {
	out := make([]seen, len(checks))
	done := make([]bool, len(checks))
	pause := firstPoll
	for {
		left := 0
		for i, c := range checks {
			if done[i] {
				continue
			}
			out[i].polls++
			ok, err := c(ctx)
			switch {
			case err != nil:
				out[i].err, done[i] = err, true
			case ok:
				out[i].ok, out[i].after, done[i] = true, p.o.Clock.Now().Sub(t0), true
			default:
				left++
			}
		}
		if left == 0 {
			return out
		}
		if p.o.Clock.Now().Sub(t0) >= p.o.MaxLag {
			for i := range out {
				if !done[i] {
					out[i].after = p.o.Clock.Now().Sub(t0)
				}
			}
			return out
		}
		if err := p.o.Clock.Sleep(ctx, pause); err != nil {
			for i := range out {
				if !done[i] {
					out[i].err = err
				}
			}
			return out
		}
		pause = min(2*pause, maxPoll)
	}
}

// readsContent holds when GetContent of path returns want.
func readsContent(d driver.StorageDriver, path string, want []byte) check {
	return func(ctx context.Context) (bool, error) {
		got, err := d.GetContent(ctx, path)
		switch {
		case notFound(err):
			return false, nil
		case err != nil:
			return false, err
		}
		return bytes.Equal(got, want), nil
	}
}

// readsGone holds when GetContent of path finds nothing.
func readsGone(d driver.StorageDriver, path string) check {
	return func(ctx context.Context) (bool, error) {
		_, err := d.GetContent(ctx, path)
		switch {
		case notFound(err):
			return true, nil
		case err != nil:
			return false, err
		}
		return false, nil
	}
}

// listed holds when List of path's directory shows path (want true) or
// does not (want false).
func listed(d driver.StorageDriver, path string, want bool) check {
	return func(ctx context.Context) (bool, error) {
		children, err := d.List(ctx, driver.ParentDir(path))
		switch {
		case notFound(err):
			return !want, nil
		case err != nil:
			return false, err
		}
		return slices.Contains(children, path) == want, nil
	}
}

// lagResult is what the lag probe saw on the bare driver.
type lagResult struct {
	p                  *prober
	err                error // the write failed
	read, list         seen  // after the write
	delErr             error // the delete failed
	goneRead, goneList seen  // after the delete
	wrapperNote        string
}

// lagProbe writes a file and waits for reads and listings to show it,
// then deletes it and waits for them to stop.
func (p *prober) lagProbe(ctx context.Context) *lagResult {
	r := &lagResult{p: p}
	path := p.base + "/lag/file"
	content := []byte("storereport lag " + randomHex(8))
	p.mark(path)
	p.o.Logger.Debug("storereport: lag probe", "path", path)
	if err := p.d.PutContent(ctx, path, content); err != nil {
		r.err = err
		return r
	}
	s := p.watch(ctx, p.o.Clock.Now(), readsContent(p.d, path, content), listed(p.d, path, true))
	r.read, r.list = s[0], s[1]
	if err := p.d.Delete(ctx, path); err != nil {
		r.delErr = err
		return r
	}
	p.unmark(path)
	s = p.watch(ctx, p.o.Clock.Now(), readsGone(p.d, path), listed(p.d, path, false))
	r.goneRead, r.goneList = s[0], s[1]
	return r
}

// lagText says when a check held.
func lagText(s seen, what string) string {
	switch {
	case s.err != nil:
		return "could not tell: " + s.err.Error()
	case s.atOnce():
		return what + " at once"
	case s.ok:
		return what + " after " + human(s.after)
	}
	return "not " + what + " after " + human(s.after)
}

// lagItem makes the item of one or two checks; documented is set when
// the provider documents this lag.
func (p *prober) lagItem(name, what string, documented bool, checks ...seen) Item {
	it := Item{Name: name, Status: StatusOK, Expected: p.contract.consistency, Unit: "ms"}
	var texts []string
	for i, s := range checks {
		w := what
		if len(checks) == 2 {
			w = []string{what + " to reads", what + " to listings"}[i]
		}
		texts = append(texts, lagText(s, w))
		switch {
		case s.err != nil:
			if it.Status == StatusOK {
				it.Status = StatusUnknown
			}
		case !s.atOnce():
			if !documented || (len(checks) == 2 && i == 0) {
				it.Status = StatusDiffers
			}
			it.Value = max(it.Value, s.after.Milliseconds())
		}
	}
	it.Measured = joinText(texts)
	if it.Status == StatusOK && it.Value > 0 {
		it.Detail = "a lag the provider documents"
	}
	return it
}

func joinText(s []string) string {
	switch len(s) {
	case 0:
		return ""
	case 1:
		return s[0]
	}
	out := s[0]
	for _, t := range s[1 : len(s)-1] {
		out += ", " + t
	}
	return out + " and " + s[len(s)-1]
}

// items returns the read-after-write, list-after-write and
// delete-visibility items.
func (r *lagResult) items() []Item {
	p := r.p
	if r.err != nil {
		var out []Item
		for _, n := range []string{ReadAfterWrite, ListAfterWrite, DeleteVisibility} {
			out = append(out, Item{Name: n, Status: StatusUnknown, Expected: p.contract.consistency,
				Detail: "PutContent failed: " + r.err.Error()})
		}
		return out
	}
	read := p.lagItem(ReadAfterWrite, "visible", false, r.read)
	read.Detail = appendDetail(read.Detail, "GetContent polled after PutContent returned, backing off from 10ms to 250ms")
	list := p.lagItem(ListAfterWrite, "listed", p.contract.eventual, r.list)
	list.Detail = appendDetail(list.Detail, "List of the parent directory polled after PutContent returned")
	var del Item
	if r.delErr != nil {
		del = Item{Name: DeleteVisibility, Status: StatusUnknown, Expected: p.contract.consistency,
			Detail: "Delete failed: " + r.delErr.Error()}
	} else {
		del = p.lagItem(DeleteVisibility, "gone", p.contract.eventual, r.goneRead, r.goneList)
		del.Detail = appendDetail(del.Detail, "GetContent and List polled after Delete returned")
	}
	for _, it := range []*Item{&read, &list, &del} {
		if it.Status == StatusDiffers && r.wrapperNote != "" {
			it.Detail = appendDetail(it.Detail, r.wrapperNote)
		}
	}
	return []Item{read, list, del}
}

func appendDetail(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// lagged reports whether any lag was measured.
func (r *lagResult) lagged() bool {
	if r.err != nil {
		return false
	}
	for _, s := range []seen{r.read, r.list, r.goneRead, r.goneList} {
		if s.err == nil && !s.atOnce() {
			return true
		}
	}
	return false
}

// wrapperProbe repeats the lag probe through consistency.Wrap, without
// waiting: each read and listing must agree with the write or delete
// right away (the wrapper itself may wait, up to MaxLag).
func (p *prober) wrapperProbe(ctx context.Context, lag *lagResult) Item {
	it := Item{
		Name:     ConsistencyWrapper,
		Expected: "consistency.Wrap gives read-after-write, list-after-write and read/list-after-delete within the process",
		Unit:     "ms",
	}
	w := consistency.Wrap(p.d, consistency.Options{
		Window:  max(consistency.DefaultWindow, 4*p.o.MaxLag),
		MaxWait: p.o.MaxLag,
		Clock:   p.o.Clock,
		Logger:  p.o.Logger,
	})
	path := p.base + "/wrapped/file"
	content := []byte("storereport wrapped " + randomHex(8))
	p.mark(path)
	if err := w.PutContent(ctx, path, content); err != nil {
		it.Status, it.Detail = StatusUnknown, "PutContent through the wrapper failed: "+err.Error()
		return it
	}
	var failed []string
	t0 := p.o.Clock.Now()
	got, err := w.GetContent(ctx, path)
	readWait := p.o.Clock.Now().Sub(t0)
	switch {
	case err != nil:
		failed = append(failed, "GetContent after PutContent: "+err.Error())
	case !bytes.Equal(got, content):
		failed = append(failed, "GetContent after PutContent returned other content")
	}
	if ok, err := listed(w, path, true)(ctx); err != nil || !ok {
		failed = append(failed, fmt.Sprintf("List after PutContent does not show the file (%v)", err))
	}
	if err := w.Delete(ctx, path); err != nil {
		failed = append(failed, "Delete: "+err.Error())
	} else {
		p.unmark(path)
		if ok, err := readsGone(w, path)(ctx); err != nil || !ok {
			failed = append(failed, fmt.Sprintf("GetContent after Delete still finds the file (%v)", err))
		}
		if ok, err := listed(w, path, false)(ctx); err != nil || !ok {
			failed = append(failed, fmt.Sprintf("List after Delete still shows the file (%v)", err))
		}
	}
	it.Value = readWait.Milliseconds()
	switch {
	case len(failed) > 0:
		it.Status = StatusDiffers
		it.Measured = "does not hide the lag"
		it.Detail = joinText(failed)
		lag.wrapperNote = "not hidden by consistency.Wrap (MaxWait " + human(p.o.MaxLag) + "): " + joinText(failed)
	case lag.lagged():
		it.Status = StatusOK
		it.Measured = "hides the lag measured (a read through it waited " + human(readWait) + ")"
		lag.wrapperNote = "hidden by consistency.Wrap: through it a read waited " + human(readWait) +
			" for the new content and listings and deletes agreed at once (needs Options.MaxWait and Window above the lag)"
	default:
		it.Status = StatusOK
		it.Measured = "no lag to hide; reads, listings and deletes agree through it"
	}
	return it
}

// plural is "1 request", "3 requests".
func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return thousands(n) + " " + what + "s"
}

// ceilDiv is ceil(n/b) for b > 0.
func ceilDiv(n, b int) int { return (n + b - 1) / b }

// keyPaths returns the listing probe's paths, sorted.
func (p *prober) keyPaths() []string {
	paths := make([]string, p.o.Keys)
	for i := range paths {
		paths[i] = fmt.Sprintf("%s/keys/k%06d", p.base, i)
	}
	return paths
}

// keysProbe writes Keys files, walks and lists them counting requests
// and page sizes, then deletes them with one DeleteFiles counting
// requests.
func (p *prober) keysProbe(ctx context.Context) (listing, bulk Item) {
	listing = Item{Name: ListPageSize, Expected: p.contract.listPage, Unit: "keys"}
	bulk = Item{Name: BulkDelete, Expected: p.contract.bulkDelete, Unit: "keys"}
	n := p.o.Keys
	paths := p.keyPaths()
	dir := p.base + "/keys"
	p.mark(paths...)
	p.o.Logger.Debug("storereport: writing files", "files", n, "dir", dir)
	since := p.requests()
	err := driver.ForEach(ctx, n, p.o.Concurrency, func(ctx context.Context, i int) error {
		return p.d.PutContent(ctx, paths[i], []byte(paths[i]))
	})
	p.count(fmt.Sprintf("PutContent of %s files", thousands(n)), since, n)
	if err != nil {
		listing.Status, listing.Detail = StatusUnknown, "PutContent failed: "+err.Error()
		bulk.Status, bulk.Detail = StatusUnknown, "PutContent failed: "+err.Error()
		return listing, bulk
	}
	p.probeStatGet(ctx, paths[0])
	p.listingItem(ctx, &listing, dir, paths)
	p.bulkItem(ctx, &bulk, paths)
	return listing, bulk
}

// probeStatGet counts Stat and GetContent of one file.
func (p *prober) probeStatGet(ctx context.Context, path string) {
	since := p.requests()
	if _, err := p.d.Stat(ctx, path); err == nil {
		p.count("Stat of a file", since, 1)
	}
	since = p.requests()
	if _, err := p.d.GetContent(ctx, path); err == nil {
		p.count("GetContent of a small file", since, 1)
	}
}

// expectedListRequests is what listing n keys costs.
func (p *prober) expectedListRequests(n int) int {
	if p.caps.ListPageSize <= 0 {
		return 0
	}
	e := max(1, ceilDiv(n, p.caps.ListPageSize))
	if p.caps.ListEndsEmpty {
		e++ // Swift: only an empty page ends a listing
	}
	return e
}

// listingItem walks dir until it shows every file (a listing may lag),
// noting how many files each list request delivered, then lists it once.
func (p *prober) listingItem(ctx context.Context, it *Item, dir string, paths []string) {
	n := len(paths)
	var (
		pages   map[int]int // request count at delivery -> files
		walkReq int
		files   int
	)
	walk := func(ctx context.Context) (bool, error) {
		pages, files = map[int]int{}, 0
		since := p.requests()
		err := p.d.Walk(ctx, dir, func(fi driver.FileInfo) error {
			if !fi.IsDir() {
				files++
				pages[p.requests()]++
			}
			return nil
		})
		walkReq = p.requests() - since
		if notFound(err) {
			return false, nil
		}
		return files == n, err
	}
	s := p.watch(ctx, p.o.Clock.Now(), walk)[0]
	switch {
	case s.err != nil:
		it.Status, it.Detail = StatusUnknown, "Walk failed: "+s.err.Error()
		return
	case !s.ok:
		it.Status = StatusDiffers
		it.Measured = fmt.Sprintf("Walk shows %s of %s files after %s", thousands(files), thousands(n), human(s.after))
		return
	}
	expected := p.expectedListRequests(n)
	if p.counted {
		p.counts = append(p.counts, OpCount{Op: fmt.Sprintf("Walk of %s files", thousands(n)), Requests: walkReq, Expected: expected})
	}
	since := p.requests()
	if _, err := p.d.List(ctx, dir); err == nil {
		p.count(fmt.Sprintf("List of a directory of %s files", thousands(n)), since, expected)
	}

	if !p.counted {
		switch {
		case p.caps.HTTP:
			it.Status = StatusUnknown
			it.Measured = fmt.Sprintf("Walk listed all %s files", thousands(n))
			it.Detail = "no request counter (Options.Requests): pages not counted"
		case p.caps.ListPageSize == 0:
			it.Status = StatusOK
			it.Measured = fmt.Sprintf("Walk listed all %s files; no pages (no HTTP requests)", thousands(n))
		default:
			it.Status = StatusUnknown
			it.Measured = fmt.Sprintf("Walk listed all %s files", thousands(n))
			it.Detail = "the backend's requests cannot be counted (Capabilities.HTTP false)"
		}
		return
	}
	page := 0
	for _, c := range pages {
		page = max(page, c)
	}
	it.Value = int64(page)
	P := p.caps.ListPageSize
	req := fmt.Sprintf("%s for %s files", plural(walkReq, "list request"), thousands(n))
	switch {
	case P <= 0:
		it.Status = StatusUnknown
		it.Measured = fmt.Sprintf("up to %s keys per page (%s)", thousands(page), req)
		it.Detail = "the driver reports no page size (Capabilities.ListPageSize 0)"
	case page == P && walkReq == expected:
		it.Status = StatusOK
		it.Measured = fmt.Sprintf("%s keys per page (%s)", thousands(page), req)
	case n < P && page == n && walkReq == expected:
		it.Status = StatusOK
		it.Measured = fmt.Sprintf("all %s keys in one page (a cap above %s would not show; %s)", thousands(n), thousands(n), req)
	default:
		it.Status = StatusDiffers
		it.Measured = fmt.Sprintf("%s keys per page (%s, expected %s)", thousands(page), req, thousands(expected))
		it.Detail = fmt.Sprintf("the driver asks for %s keys per page (Capabilities.ListPageSize); the store answered at most %s: "+
			"listings cost %s times the requests", thousands(P), thousands(page), fmt.Sprintf("%.1f", float64(walkReq)/float64(max(expected, 1))))
	}
}

// bulkItem deletes paths with one DeleteFiles and counts its requests.
func (p *prober) bulkItem(ctx context.Context, it *Item, paths []string) {
	n := len(paths)
	B := p.caps.DeleteBatchSize
	expected := n
	if B > 1 {
		expected = ceilDiv(n, B)
	}
	since := p.requests()
	deleted, err := p.d.DeleteFiles(ctx, paths)
	req := p.count(fmt.Sprintf("DeleteFiles of %s files", thousands(n)), since, expected)
	if err == nil {
		p.unmark(paths...)
	} else {
		var dfe *driver.DeleteFilesError
		if errors.As(err, &dfe) {
			failed := map[string]bool{}
			for _, f := range dfe.Failures {
				failed[f.Path] = true
			}
			for _, q := range paths {
				if !failed[q] {
					p.unmark(q)
				}
			}
		}
		it.Status = StatusDiffers
		it.Measured = fmt.Sprintf("DeleteFiles removed %s of %s files", thousands(deleted), thousands(n))
		it.Detail = "DeleteFiles failed: " + err.Error()
		return
	}
	if !p.counted {
		it.Measured = fmt.Sprintf("DeleteFiles removed all %s files", thousands(deleted))
		switch {
		case p.caps.HTTP:
			it.Status, it.Detail = StatusUnknown, "no request counter (Options.Requests): batches not counted"
		default:
			it.Status = StatusOK
			it.Detail = "no HTTP requests to count"
		}
		if B > 0 {
			it.Value = int64(B)
		}
		return
	}
	batch := ceilDiv(n, max(req, 1))
	it.Value = int64(batch)
	reqs := fmt.Sprintf("%s for %s files", plural(req, "request"), thousands(n))
	switch {
	case B <= 1 && req == n:
		it.Status = StatusUnsupported
		it.Measured = "one request per file (" + reqs + ")"
		it.Expected = "one request per file: no bulk delete (Capabilities.DeleteBatchSize 1); provider: " + p.contract.bulkDelete
		it.Value = 1
	case req == expected:
		it.Status = StatusOK
		it.Measured = fmt.Sprintf("up to %s files per request (%s)", thousands(B), reqs)
		it.Expected = fmt.Sprintf("ceil(N/B) = %s, B = %s (Capabilities.DeleteBatchSize); provider: %s",
			plural(expected, "request"), thousands(B), p.contract.bulkDelete)
	default:
		it.Status = StatusDiffers
		it.Measured = fmt.Sprintf("about %s files per request (%s)", thousands(batch), reqs)
		it.Expected = fmt.Sprintf("ceil(N/B) = %s, B = %s (Capabilities.DeleteBatchSize); provider: %s",
			plural(expected, "request"), thousands(B), p.contract.bulkDelete)
		if req == n {
			it.Detail = "one request per file: the store or the driver does not batch"
		} else {
			it.Detail = "more requests than the batch size allows: smaller batches, or retried ones"
		}
	}
}

// multipartProbe writes a file with a Writer in three segments, closed
// and resumed between them, commits it and reads it back.
func (p *prober) multipartProbe(ctx context.Context) Item {
	it := Item{
		Name: Multipart,
		Expected: "Close keeps an upload, Writer(append) resumes it, Commit makes it visible; provider: " +
			p.contract.multipart,
		Unit: "bytes",
	}
	path := p.base + "/upload/blob"
	rng := mrand.New(mrand.NewChaCha8([32]byte{'s', 't', 'o', 'w'}))
	segs := [][]byte{make([]byte, p.o.PartBytes), make([]byte, 64<<10), make([]byte, 1<<10)}
	sum := sha256.New()
	total := 0
	for _, s := range segs {
		for i := range s {
			s[i] = byte(rng.Uint32())
		}
		sum.Write(s)
		total += len(s)
	}
	want := sum.Sum(nil)
	p.mark(path)
	since := p.requests()
	var fw driver.FileWriter
	fail := func(status, format string, args ...any) Item {
		if fw != nil {
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
			_ = fw.Cancel(cctx)
			cancel()
		}
		it.Status, it.Detail = status, fmt.Sprintf(format, args...)
		if it.Measured == "" {
			it.Measured = "resumable upload failed"
		}
		return it
	}
	written := 0
	for i, s := range segs {
		var err error
		fw, err = p.d.Writer(ctx, path, i > 0)
		if err != nil {
			fw = nil
			return fail(StatusDiffers, "Writer(append %v) after %d bytes: %v", i > 0, written, err)
		}
		if got := fw.Size(); got != int64(written) {
			return fail(StatusDiffers, "resumed writer's Size is %d, want %d", got, written)
		}
		if _, err := fw.Write(s); err != nil {
			return fail(StatusDiffers, "Write of segment %d: %v", i+1, err)
		}
		written += len(s)
		if i < len(segs)-1 {
			if err := fw.Close(); err != nil {
				return fail(StatusDiffers, "Close after %d bytes: %v", written, err)
			}
			continue
		}
		if err := fw.Commit(ctx); err != nil {
			return fail(StatusDiffers, "Commit of %d bytes: %v", written, err)
		}
		if err := fw.Close(); err != nil {
			return fail(StatusDiffers, "Close after Commit: %v", err)
		}
	}
	fw = nil
	req := p.requests() - since
	intact := func(ctx context.Context) (bool, error) {
		rc, err := p.d.Reader(ctx, path, 0)
		switch {
		case notFound(err):
			return false, nil
		case err != nil:
			return false, err
		}
		defer rc.Close()
		h := sha256.New()
		if _, err := io.Copy(h, rc); err != nil {
			return false, err
		}
		return bytes.Equal(h.Sum(nil), want), nil
	}
	s := p.watch(ctx, p.o.Clock.Now(), intact)[0]
	switch {
	case s.err != nil:
		return fail(StatusDiffers, "reading the committed file back: %v", s.err)
	case !s.ok:
		return fail(StatusDiffers, "the committed file does not read back intact after %s", human(s.after))
	}
	it.Status = StatusOK
	it.Value = int64(total)
	it.Measured = fmt.Sprintf("%s bytes in 3 segments, closed and resumed twice, committed and read back intact", thousands(total))
	if p.counted {
		it.Measured += fmt.Sprintf(" (%d requests to write)", req)
	}
	if cs, ok := p.d.(interface{ ChunkSize() int64 }); ok {
		it.Detail = fmt.Sprintf("part size %s bytes", thousands(int(cs.ChunkSize())))
	} else {
		it.Detail = "the driver reports no part size"
	}
	return it
}

// signedProbe asks URLFor for a GET and a HEAD URL and fetches them with
// plain HTTP.
func (p *prober) signedProbe(ctx context.Context) Item {
	it := Item{Name: SignedURLs, Expected: p.contract.signed}
	if !p.caps.SignedURLs {
		it.Expected = "none (Capabilities.SignedURLs false); provider: " + p.contract.signed
	} else if p.caps.MaxURLExpiry > 0 {
		it.Expected += fmt.Sprintf(" (Capabilities.MaxURLExpiry %s)", p.caps.MaxURLExpiry)
	}
	path := p.base + "/signed/file"
	content := []byte("storereport signed " + randomHex(8))
	p.mark(path)
	if err := p.d.PutContent(ctx, path, content); err != nil {
		it.Status, it.Detail = StatusUnknown, "PutContent failed: "+err.Error()
		return it
	}
	u, err := p.d.URLFor(ctx, path, map[string]any{"method": http.MethodGet})
	switch {
	case errors.Is(err, driver.ErrUnsupportedMethod) && !p.caps.SignedURLs:
		it.Status, it.Measured = StatusUnsupported, "URLFor: unsupported, as the driver says"
		return it
	case errors.Is(err, driver.ErrUnsupportedMethod):
		it.Status, it.Measured = StatusDiffers, "URLFor: unsupported"
		it.Detail = "the driver's Capabilities say SignedURLs: " + err.Error()
		return it
	case err != nil:
		it.Status, it.Measured, it.Detail = StatusDiffers, "URLFor failed", err.Error()
		return it
	}
	// The store may lag behind the write; a signed URL goes around the
	// wrapper, so wait as the lag probe does.
	var last string
	get := func(ctx context.Context) (bool, error) {
		body, status, err := p.fetch(ctx, http.MethodGet, u)
		if err != nil {
			return false, err
		}
		last = fmt.Sprintf("GET answered %d", status)
		return status == http.StatusOK && bytes.Equal(body, content), nil
	}
	s := p.watch(ctx, p.o.Clock.Now(), get)[0]
	switch {
	case s.err != nil:
		it.Status, it.Measured, it.Detail = StatusDiffers, "GET of the signed URL failed", s.err.Error()
		return it
	case !s.ok:
		it.Status, it.Measured = StatusDiffers, "GET of the signed URL does not return the file"
		it.Detail = last
		return it
	}
	it.Status, it.Measured = StatusOK, "a plain GET of URLFor's URL returns the file"
	if hu, err := p.d.URLFor(ctx, path, map[string]any{"method": http.MethodHead}); err != nil {
		it.Status, it.Detail = StatusDiffers, "URLFor HEAD: "+err.Error()
	} else if _, status, err := p.fetch(ctx, http.MethodHead, hu); err != nil || status != http.StatusOK {
		it.Status, it.Detail = StatusDiffers, fmt.Sprintf("HEAD of the signed URL: status %d, %v", status, err)
	} else {
		it.Measured += "; HEAD works too"
	}
	if !p.caps.SignedURLs {
		it.Status = StatusDiffers
		it.Detail = appendDetail(it.Detail, "signed URLs work though the driver's Capabilities say SignedURLs false")
	}
	return it
}

// fetch sends one plain request to u.
func (p *prober) fetch(ctx context.Context, method, u string) ([]byte, int, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, nil)
	if err != nil {
		return nil, 0, err
	}
	resp, err := p.o.URLClient.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return body, resp.StatusCode, err
}

// countsItem sums up the counted operations.
func (p *prober) countsItem() Item {
	it := Item{
		Name:     RequestCounts,
		Expected: "one request per PutContent, Stat and GetContent; ceil(N/P) per listing; ceil(N/B) per DeleteFiles",
		Unit:     "requests",
	}
	if !p.counted {
		if p.caps.HTTP {
			it.Status, it.Measured = StatusUnknown, "not counted"
			it.Detail = "no request counter (Options.Requests)"
		} else {
			it.Status, it.Measured = StatusOK, "no HTTP requests (local backend)"
		}
		return it
	}
	var off []string
	total := 0
	for _, c := range p.counts {
		total += c.Requests
		if c.Requests != c.Expected {
			off = append(off, fmt.Sprintf("%s: %s requests, expected %s", c.Op, thousands(c.Requests), thousands(c.Expected)))
		}
	}
	it.Value = int64(total)
	if len(off) == 0 {
		it.Status = StatusOK
		it.Measured = fmt.Sprintf("as expected for all %d operations counted (%s requests)", len(p.counts), thousands(total))
		return it
	}
	it.Status = StatusDiffers
	it.Measured = fmt.Sprintf("%d of %d operations sent other counts", len(off), len(p.counts))
	it.Detail = joinText(off)
	return it
}
