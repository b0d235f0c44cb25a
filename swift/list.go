package swift

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/internal/wait"
)

// errContainerNotFound is matched by listing errors of a missing container.
var errContainerNotFound = errors.New("container not found")

// object is one entry of a JSON container listing.
type object struct {
	Name         string `json:"name"`
	Bytes        int64  `json:"bytes"`
	Hash         string `json:"hash"`
	LastModified string `json:"last_modified"`
	SLOEtag      string `json:"slo_etag"`
	Subdir       string `json:"subdir"`
}

// modTime parses the listing's last_modified (UTC, no zone).
func (o object) modTime() time.Time {
	t, err := time.Parse("2006-01-02T15:04:05.999999", strings.TrimSuffix(o.LastModified, "Z"))
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}

// listOpts are the parameters of one listing request.
type listOpts struct {
	prefix    string
	marker    string
	delimiter string
	limit     int // 0 means ListPageSize
}

// listPage sends one GET of a container listing in JSON.
func (d *Driver) listPage(ctx context.Context, op, path, container string, o listOpts) ([]object, error) {
	q := url.Values{"format": {"json"}}
	if o.limit <= 0 {
		o.limit = d.cfg.ListLimit
	}
	q.Set("limit", strconv.Itoa(o.limit))
	if o.prefix != "" {
		q.Set("prefix", o.prefix)
	}
	if o.marker != "" {
		q.Set("marker", o.marker)
	}
	if o.delimiter != "" {
		q.Set("delimiter", o.delimiter)
	}
	var out []object
	r := request{op: op, path: path, method: http.MethodGet, container: container, query: q, keep: true}
	// The body is read inside the retry loop: a listing cut short is
	// asked for again.
	for attempt := 0; ; attempt++ {
		resp, _, err := d.do(ctx, r)
		if err != nil {
			if isNotFound(err) {
				return nil, fmt.Errorf("%s: %s %s: container %q: %w", DriverName, op, path, container, errContainerNotFound)
			}
			return nil, err
		}
		b, err := readAll(resp)
		if err == nil && resp.StatusCode == http.StatusNoContent {
			return nil, nil
		}
		if err == nil {
			out = out[:0]
			if err = json.Unmarshal(b, &out); err == nil {
				return out, nil
			}
		}
		if ctx.Err() != nil || attempt >= d.cfg.MaxRetries {
			return nil, d.wrap(ctx, op, path, err)
		}
		if werr := wait.Sleep(ctx, d.backoff(attempt+1)); werr != nil {
			return nil, d.wrap(ctx, op, path, werr)
		}
	}
}

// List implements driver.StorageDriver with a listing using the "/"
// delimiter: one request per 10,000 direct children.
func (d *Driver) List(ctx context.Context, path string) ([]string, error) {
	if err := driver.ValidateDirPath(DriverName, path); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	prefix := d.dirPrefix(path)
	var (
		children []string
		found    bool
		marker   string
	)
	for {
		page, err := d.listPage(ctx, "List", path, d.cfg.Container, listOpts{prefix: prefix, marker: marker, delimiter: "/"})
		if err != nil {
			return nil, err
		}
		for _, o := range page {
			found = true
			name := o.Name
			if o.Subdir != "" {
				name = strings.TrimSuffix(o.Subdir, "/")
				marker = o.Subdir
			} else {
				marker = o.Name
			}
			if p, ok := d.pathOf(name); ok {
				children = append(children, p)
			}
		}
		if len(page) < d.cfg.ListLimit {
			break
		}
	}
	if path != "/" && !found {
		return nil, &driver.PathNotFoundError{Path: path, DriverName: DriverName}
	}
	sort.Strings(children)
	children = slices.Compact(children)
	if children == nil {
		children = []string{}
	}
	return children, nil
}
