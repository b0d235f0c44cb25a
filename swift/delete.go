package swift

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/ncw/swift/v2"

	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/internal/wait"
)

// DeleteFiles implements driver.StorageDriver with bulk-delete requests
// (POST ?bulk-delete) of up to the server's max_deletes_per_request names
// (or Config.DeleteBatchSize, if lower), up to Config.MaxConcurrency at
// once, with no listing or HEAD first. Names the server reports as not
// found count as deleted, and so do directory paths (no object has their
// name). Names that fail with a transient status are sent again, up to
// Config.MaxRetries times. When the cluster has no bulk-delete middleware,
// each path costs one DELETE.
func (d *Driver) DeleteFiles(ctx context.Context, paths []string) (int, error) {
	if !d.info.bulkDelete {
		return driver.DeleteInBatches(ctx, DriverName, paths, 1, d.cfg.MaxConcurrency,
			func(ctx context.Context, batch []string) []driver.DeleteFailure {
				return d.deleteOne(ctx, batch[0], d.cfg.Container, d.name(batch[0]), false)
			})
	}
	return driver.DeleteInBatches(ctx, DriverName, paths, d.batch, d.cfg.MaxConcurrency,
		func(ctx context.Context, batch []string) []driver.DeleteFailure {
			names := make([]string, len(batch))
			for i, p := range batch {
				names[i] = d.name(p)
			}
			return d.bulkDelete(ctx, d.cfg.Container, names, batch)
		})
}

// deleteOne deletes one object; 404 counts as deleted. With manifest set,
// the object is a static large object deleted with its segments.
func (d *Driver) deleteOne(ctx context.Context, path, container, name string, manifest bool) []driver.DeleteFailure {
	r := request{op: "Delete", path: path, method: http.MethodDelete, container: container, object: name}
	if manifest {
		r.query = url.Values{"multipart-manifest": {"delete"}}
	}
	_, _, err := d.do(ctx, r)
	if err == nil || isNotFound(err) {
		return nil
	}
	return []driver.DeleteFailure{{Path: path, Err: err}}
}

// bulkResult is the JSON answer of a bulk delete.
type bulkResult struct {
	NotFound int        `json:"Number Not Found"`
	Deleted  int        `json:"Number Deleted"`
	Status   string     `json:"Response Status"`
	Body     string     `json:"Response Body"`
	Errors   [][]string `json:"Errors"`
}

// parseStatus parses "503 Service Unavailable".
func parseStatus(s string) (int, string) {
	code, text, _ := strings.Cut(strings.TrimSpace(s), " ")
	n, err := strconv.Atoi(code)
	if err != nil {
		return 0, s
	}
	return n, text
}

// bulkDelete deletes names (at most one bulk-delete batch) of container
// with one request, plus one more for each round of names that failed
// transiently. paths[i] names names[i] in the failures returned.
func (d *Driver) bulkDelete(ctx context.Context, container string, names, paths []string) []driver.DeleteFailure {
	pathOf := make(map[string]string, len(names))
	for i, n := range names {
		pathOf[container+"/"+n] = paths[i]
	}
	var failures []driver.DeleteFailure
	failAll := func(keys []string, err error) []driver.DeleteFailure {
		for _, k := range keys {
			failures = append(failures, driver.DeleteFailure{Path: pathOf[k], Err: err})
		}
		return failures
	}
	pending := make([]string, len(names))
	for i, n := range names {
		pending[i] = container + "/" + n
	}
	for attempt := 1; ; attempt++ {
		res, err := d.bulkRequest(ctx, pending)
		if err != nil {
			return failAll(pending, err)
		}
		var retry []string
		reported := map[string]bool{}
		for _, e := range res.Errors {
			if len(e) != 2 {
				continue
			}
			k, uerr := url.PathUnescape(strings.TrimPrefix(e[0], "/"))
			if uerr != nil {
				k = strings.TrimPrefix(e[0], "/")
			}
			p, ok := pathOf[k]
			if !ok {
				continue
			}
			reported[k] = true
			code, text := parseStatus(e[1])
			serr := &statusError{code: code, text: text}
			switch {
			case code == http.StatusNotFound:
				// Already gone: deleted, as far as the caller is concerned.
			case retryable(serr) && attempt <= d.cfg.MaxRetries:
				retry = append(retry, k)
			default:
				failures = append(failures, driver.DeleteFailure{Path: p, Err: d.wrap(ctx, "DeleteFiles", p, serr)})
			}
		}
		if code, text := parseStatus(res.Status); (code < 200 || code > 299) && res.NotFound+res.Deleted+len(res.Errors) < len(pending) {
			// The server stopped before it came to some names (e.g. too
			// many failures): they are sent again, or reported.
			serr := &statusError{code: code, text: strings.TrimSpace(text + " " + res.Body)}
			if len(res.Errors) == 0 && !retryable(serr) || attempt > d.cfg.MaxRetries {
				var rest []string
				for _, k := range pending {
					if !reported[k] {
						rest = append(rest, k)
					}
				}
				failAll(rest, d.wrap(ctx, "DeleteFiles", "", serr))
			} else {
				for _, k := range pending {
					if !reported[k] {
						retry = append(retry, k)
					}
				}
			}
		}
		if len(retry) == 0 {
			return failures
		}
		retry = inOrder(pending, retry)
		d.cfg.Logger.Debug("swift: retrying names bulk delete could not delete", "names", len(retry), "attempt", attempt)
		if err := wait.Sleep(ctx, d.backoff(attempt)); err != nil {
			return failAll(retry, err)
		}
		pending = retry
	}
}

// bulkRequest sends one bulk-delete request for keys ("container/name")
// and decodes its answer, retrying the whole request on transient
// failures (a retried batch finds the names it deleted gone: 404, counted
// as deleted).
func (d *Driver) bulkRequest(ctx context.Context, keys []string) (bulkResult, error) {
	var body strings.Builder
	for _, k := range keys {
		body.WriteString((&url.URL{Path: "/" + k}).EscapedPath())
		body.WriteByte('\n')
	}
	r := request{op: "DeleteFiles", method: http.MethodPost, query: url.Values{"bulk-delete": {"1"}},
		headers: swift.Headers{"Accept": "application/json", "Content-Type": "text/plain"},
		body:    []byte(body.String()), keep: true}
	for attempt := 0; ; attempt++ {
		var res bulkResult
		resp, _, err := d.do(ctx, r)
		if err != nil {
			return res, err
		}
		b, err := readAll(resp)
		if err == nil {
			if err = json.Unmarshal(b, &res); err != nil {
				err = fmt.Errorf("decoding the bulk-delete answer %.200q: %w", b, err)
			}
		}
		if err == nil {
			return res, nil
		}
		if ctx.Err() != nil || attempt >= d.cfg.MaxRetries {
			return res, d.wrap(ctx, "DeleteFiles", "", err)
		}
		if werr := wait.Sleep(ctx, d.backoff(attempt+1)); werr != nil {
			return res, d.wrap(ctx, "DeleteFiles", "", werr)
		}
	}
}

// Delete implements driver.StorageDriver. It lists flat with the prefix
// "a/b" (so the object "a/b" itself comes first), keeps only "a/b" and the
// names under "a/b/", and feeds them into bulk-delete batches while the
// listing goes on: one listing and one bulk delete per 10,000 names.
// Siblings such as "a/bc" are never deleted; when the listing meets
// siblings sorting before "a/b/" ("a/b-x", "a/b.x") and more pages remain,
// it continues at "a/b/" instead of paging through them, and it stops at
// the first name past "a/b/". Static large objects (files committed above
// MaxFileSize) are deleted one by one with multipart-manifest=delete, so
// their segments go too.
func (d *Driver) Delete(ctx context.Context, path string) error {
	if err := driver.ValidatePath(DriverName, path); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	k := d.name(path)
	dirPfx := k + "/"

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu       sync.Mutex
		failures []driver.DeleteFailure
		wg       sync.WaitGroup
		slots    = make(chan struct{}, max(d.cfg.MaxConcurrency, 1))
		batch    []string
		total    int
	)
	run := func(fn func() []driver.DeleteFailure, names ...string) {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			mu.Lock()
			for _, n := range names {
				failures = append(failures, driver.DeleteFailure{Path: "/" + strings.TrimPrefix(n, d.prefix), Err: ctx.Err()})
			}
			mu.Unlock()
			return
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			if f := fn(); len(f) > 0 {
				mu.Lock()
				failures = append(failures, f...)
				mu.Unlock()
			}
		}()
	}
	send := func(names []string) {
		if len(names) == 0 {
			return
		}
		paths := make([]string, len(names))
		for i, n := range names {
			paths[i] = "/" + strings.TrimPrefix(n, d.prefix)
		}
		if !d.info.bulkDelete {
			for i, n := range names {
				run(func() []driver.DeleteFailure { return d.deleteOne(ctx, paths[i], d.cfg.Container, n, false) }, n)
			}
			return
		}
		run(func() []driver.DeleteFailure { return d.bulkDelete(ctx, d.cfg.Container, names, paths) }, names...)
	}

	lo := listOpts{prefix: k}
	var listErr error
list:
	for {
		page, err := d.listPage(ctx, "Delete", path, d.cfg.Container, lo)
		if err != nil {
			listErr = err
			break
		}
		last := ""
		for _, o := range page {
			name := o.Name
			last = name
			switch {
			case name == k || strings.HasPrefix(name, dirPfx):
				total++
				if o.SLOEtag != "" {
					p := "/" + strings.TrimPrefix(name, d.prefix)
					run(func() []driver.DeleteFailure { return d.deleteOne(ctx, p, d.cfg.Container, name, true) }, name)
					continue
				}
				batch = append(batch, name)
				if len(batch) == d.batch {
					send(batch)
					batch = nil
				}
			case name > dirPfx:
				break list // past everything under path
			}
		}
		if len(page) < d.cfg.ListLimit {
			break
		}
		lo.marker = last
		if last < dirPfx && lo.prefix == k {
			// Skip the siblings before "a/b/": "a/b-x", "a/b.x".
			lo.marker = max(last, k+"."+driver.MaxPathSuffix)
		}
	}
	if listErr == nil {
		send(batch)
	}
	wg.Wait()
	if listErr != nil {
		return listErr
	}
	if len(failures) > 0 {
		return &driver.DeleteFilesError{DriverName: DriverName, Failures: failures}
	}
	if total == 0 {
		return &driver.PathNotFoundError{Path: path, DriverName: DriverName}
	}
	return nil
}

// inOrder returns the members of subset in the order of all.
func inOrder(all, subset []string) []string {
	in := make(map[string]bool, len(subset))
	for _, k := range subset {
		in[k] = true
	}
	out := make([]string, 0, len(subset))
	for _, k := range all {
		if in[k] {
			out = append(out, k)
			delete(in, k)
		}
	}
	return out
}
