package swift

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/stowage-dev/stowage/driver"
)

// object is one entry of a JSON container listing.
type object struct {
	Name         string `json:"name"`
	Bytes        int64  `json:"bytes"`
	Hash         string `json:"hash"`
	LastModified string `json:"last_modified"`
	SLOEtag      string `json:"slo_etag"`
	ContentType  string `json:"content_type"`
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
	limit     int // 0 (or more than Config.ListLimit) means Config.ListLimit
}

// listPage sends one GET of a container listing in JSON. A missing
// container is an error matching errContainerNotFound.
func (b *backend) listPage(ctx context.Context, container string, o listOpts) ([]object, error) {
	q := url.Values{"format": {"json"}}
	if o.limit <= 0 || o.limit > b.cfg.ListLimit {
		o.limit = b.cfg.ListLimit
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
	// The body is read inside the retry loop: a listing cut short is
	// asked for again. A 204 has none.
	_, _, err := b.do(ctx, request{method: http.MethodGet, container: container, query: q,
		read: func(body []byte) error {
			out = out[:0]
			if len(body) == 0 {
				return nil
			}
			return json.Unmarshal(body, &out)
		}})
	if statusOf(err) == http.StatusNotFound {
		return nil, fmt.Errorf("container %q: %w", container, errContainerNotFound)
	}
	return out, err
}

// listEach calls fn for every object of the segments container under
// prefix, paging until an empty page (see List). A missing segments
// container has none.
func (b *backend) listEach(ctx context.Context, prefix string, fn func(object)) error {
	lo := listOpts{prefix: prefix}
	for {
		page, err := b.listPage(ctx, b.cfg.SegmentsContainer, lo)
		if errors.Is(err, errContainerNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if len(page) == 0 {
			return nil // only an empty page ends a listing (see List)
		}
		for _, o := range page {
			fn(o)
		}
		lo.marker = page[len(page)-1].Name
	}
}

// List implements driver.Backend with one listing request of the
// container: with Delimiter, Swift's "subdir" entries are the prefixes.
// Swift's marker is a start-after, so both StartAfter and Token (the last
// name, or subdir, of the previous page) become the marker.
//
// Only an empty page ends a listing: Next is the last name of every page
// that has one, however short. Swift has no end-of-listing marker, and a
// page shorter than the limit asked for is not the end everywhere: Ceph
// RGW capped Swift listings at 1,000 entries whatever the limit
// (https://tracker.ceph.com/issues/44554; clients that stopped at a short
// page lost names, https://github.com/ncw/swift/pull/167), and a proxy may
// return less than asked. Taking a short page for the last one
// would truncate Walk, List and Delete silently (and a garbage
// collector's mark phase over such a Walk would sweep live blobs), so a
// listing costs one request more than ceil(names/limit): the empty page
// that ends it.
func (b *backend) List(ctx context.Context, q driver.ListQuery) (driver.ObjectPage, error) {
	lo := listOpts{prefix: q.Prefix, marker: q.Token, limit: q.Limit}
	if lo.marker == "" {
		lo.marker = q.StartAfter
	}
	if q.Delimiter {
		lo.delimiter = "/"
	}
	objs, err := b.listPage(ctx, b.cfg.Container, lo)
	if err != nil {
		return driver.ObjectPage{}, err
	}
	var page driver.ObjectPage
	last := ""
	for _, o := range objs {
		if o.Subdir != "" {
			page.Prefixes = append(page.Prefixes, o.Subdir)
			last = o.Subdir
			continue
		}
		obj := driver.Object{Key: o.Name, Size: o.Bytes, ModTime: o.modTime()}
		if o.SLOEtag != "" {
			obj.Detail = largeObject(o.SLOEtag)
		}
		page.Objects = append(page.Objects, obj)
		last = o.Name
	}
	page.Next = last // "" only for an empty page
	return page, nil
}

// largeObject is the Object.Detail of a static large object listed: its
// slo_etag. DeleteBatch deletes it with its segments.
type largeObject string
