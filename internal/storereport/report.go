// Package storereport measures what a store does differently from its
// provider's documented contract and names the behaviour: read-after-write,
// list-after-write and delete visibility lag (and whether
// driver/consistency's wrapper hides it), the listing page size, bulk
// delete and its batch size, resumable multipart uploads, signed URLs, and
// the requests each operation costs against the ceil(N/B) the contract
// promises. It is the report `stowage conformance` prints next to the
// conformance suite's failing leaves: a leaf says "Walk/RequestCount
// failed", the report says "100 keys per page, the provider documents
// 1,000".
//
// Run works only below a directory of its own ("/storereport-<random>")
// under the driver's root, which the caller should make a fresh prefix, and
// deletes everything it wrote, also when a probe fails or ctx ends.
//
// Request budget, with Options.Keys = K (default 2,500), a page size P and
// a bulk-delete batch B: K writes, ceil(K/P) (+1) list requests per Walk
// and List, ceil(K/B) for DeleteFiles, one Stat and one GetContent, a
// handful for the multipart upload and the signed URL, and for each lag
// probe one or two requests per poll (polls back off from 10ms to 250ms,
// so a store that never catches up costs about 4 polls a second for
// Options.MaxLag, 30s by default). On a strongly consistent store with the
// defaults that is about 2,520 requests; on S3 about 2,530.
package storereport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/driver/consistency"
	"github.com/stowage-dev/stowage/internal/wait"
	"github.com/stowage-dev/stowage/transport"
)

// Defaults of Options' zero fields.
const (
	// DefaultKeys is above S3's and GCS's 1,000-key page and batch, so
	// that the listing and bulk-delete probes cross a page boundary.
	DefaultKeys = 2500
	// DefaultMaxLag is how long a probe waits for a change to show.
	DefaultMaxLag = 30 * time.Second
	// DefaultPartBytes is S3's minimum part size plus one byte, so that
	// the multipart probe's first segment holds a whole part.
	DefaultPartBytes = 5<<20 + 1
	// DefaultConcurrency is how many writes the listing probe sends at
	// once.
	DefaultConcurrency = 16
)

// The statuses of an Item.
const (
	// StatusOK: the store behaves as its provider documents.
	StatusOK = "ok"
	// StatusDiffers: the store does something else; Measured says what.
	StatusDiffers = "differs"
	// StatusUnsupported: the driver says it cannot do this (its
	// Capabilities) and indeed cannot. Not a difference from the contract,
	// but Failing counts it when the item is required.
	StatusUnsupported = "unsupported"
	// StatusUnknown: the probe could not tell (no request counter, an
	// error that stopped it); Detail says why.
	StatusUnknown = "unknown"
)

// The names of the items, in report order. They are stable: `--require`
// flags name them.
const (
	ReadAfterWrite     = "read-after-write"
	ListAfterWrite     = "list-after-write"
	DeleteVisibility   = "delete-visibility"
	ConsistencyWrapper = "consistency-wrapper"
	ListPageSize       = "list-page-size"
	BulkDelete         = "bulk-delete"
	Multipart          = "multipart"
	SignedURLs         = "signed-urls"
	RequestCounts      = "request-counts"
)

// ItemNames are the names of every item Run reports, in order.
var ItemNames = []string{
	ReadAfterWrite, ListAfterWrite, DeleteVisibility, ConsistencyWrapper,
	ListPageSize, BulkDelete, Multipart, SignedURLs, RequestCounts,
}

// Options tune Run. The zero value works.
type Options struct {
	// Requests counts the driver's HTTP requests: the transport.Counter
	// of the client the driver was built with. Nil for a local backend;
	// for an HTTP backend without it the counted items are "unknown".
	Requests *transport.Counter

	// Keys is the number of files the listing and bulk-delete probes
	// write (DefaultKeys).
	Keys int

	// MaxLag is how long a probe waits for a write or delete to become
	// visible (DefaultMaxLag). The consistency wrapper's probe waits as
	// long (consistency.Options.MaxWait).
	MaxLag time.Duration

	// PartBytes is the size of the multipart probe's first segment
	// (DefaultPartBytes); two small ones follow.
	PartBytes int

	// Concurrency is how many writes go out at once (DefaultConcurrency).
	Concurrency int

	// Clock tells the time and sleeps between polls; nil is the system
	// clock. Tests over conformance's eventual-consistency simulator pass
	// its conformance.ManualClock, so that waiting out a lag takes no time.
	Clock consistency.Clock

	// URLClient fetches signed URLs; nil is http.DefaultClient.
	URLClient *http.Client

	// Logger receives a debug record per probe; nil discards them.
	Logger *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.Keys <= 0 {
		o.Keys = DefaultKeys
	}
	if o.MaxLag <= 0 {
		o.MaxLag = DefaultMaxLag
	}
	if o.PartBytes <= 0 {
		o.PartBytes = DefaultPartBytes
	}
	if o.Concurrency <= 0 {
		o.Concurrency = DefaultConcurrency
	}
	if o.Clock == nil {
		o.Clock = systemClock{}
	}
	if o.URLClient == nil {
		o.URLClient = http.DefaultClient
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

func (systemClock) Sleep(ctx context.Context, d time.Duration) error { return wait.Sleep(ctx, d) }

// Item is one behaviour of the store.
type Item struct {
	// Name is the item's stable id (ItemNames).
	Name string `json:"name"`
	// Status is StatusOK, StatusDiffers, StatusUnsupported or
	// StatusUnknown.
	Status string `json:"status"`
	// Measured is what the probe saw: "visible after 2.06s", "100 keys
	// per page".
	Measured string `json:"measured"`
	// Expected is what the provider documents: "1,000 keys per page
	// (ListObjectsV2 MaxKeys)".
	Expected string `json:"expected"`
	// Detail says more: how it was measured, the error that stopped a
	// probe, whether the consistency wrapper hides a lag.
	Detail string `json:"detail,omitempty"`
	// Value is the measured number, in Unit, when there is one: a lag in
	// milliseconds, a page or batch size in keys.
	Value int64  `json:"value,omitempty"`
	Unit  string `json:"unit,omitempty"`
}

// OpCount is the requests one operation of the probes sent.
type OpCount struct {
	// Op is the operation and how many paths it covered: "DeleteFiles of
	// 2,500 files".
	Op string `json:"op"`
	// Requests is how many HTTP requests it sent.
	Requests int `json:"requests"`
	// Expected is what the contract allows: ceil(N/B) for DeleteFiles.
	Expected int `json:"expected"`
}

// Report is what Run found.
type Report struct {
	// Backend is the driver's name.
	Backend string `json:"backend"`
	// Keys is the number of files of the listing and bulk-delete probes.
	Keys int `json:"keys"`
	// Items are the behaviours, in ItemNames order.
	Items []Item `json:"items"`
	// Requests are the counted operations (empty without a counter).
	Requests []OpCount `json:"requests,omitempty"`
	// TotalRequests is every request Run sent, cleanup included (0
	// without a counter).
	TotalRequests int `json:"total_requests,omitempty"`
}

// Item returns the item named name, or false.
func (r *Report) Item(name string) (Item, bool) {
	for _, it := range r.Items {
		if it.Name == name {
			return it, true
		}
	}
	return Item{}, false
}

// Failing returns the items named in require whose Status is not
// StatusOK, in report order: the items a CI asked for (`--require
// bulk-delete,signed-urls`) that the store does not deliver. Requiring an
// item means requiring it to work, so StatusUnsupported and StatusUnknown
// fail too. A name that is no item is an error (a typo must not pass CI
// silently); the name "all" requires every item.
func (r *Report) Failing(require []string) ([]Item, error) {
	want := map[string]bool{}
	var unknown []string
	for _, n := range require {
		n = strings.TrimSpace(n)
		switch {
		case n == "":
		case n == "all":
			for _, m := range ItemNames {
				want[m] = true
			}
		case slices.Contains(ItemNames, n):
			want[n] = true
		default:
			unknown = append(unknown, n)
		}
	}
	if len(unknown) > 0 {
		return nil, fmt.Errorf("storereport: no report item named %s (items: %s)",
			strings.Join(unknown, ", "), strings.Join(ItemNames, ", "))
	}
	var out []Item
	for _, it := range r.Items {
		if want[it.Name] && it.Status != StatusOK {
			out = append(out, it)
		}
	}
	return out, nil
}

// WriteText writes the report for people: per item a line with its
// status and what was measured and one with what the provider documents,
// then the details of the items that are not ok, then the request counts.
func (r *Report) WriteText(w io.Writer) error {
	ew := &errWriter{w: w}
	fmt.Fprintf(ew, "store report: %s (%s keys)\n", r.Backend, thousands(r.Keys))
	width := 0
	for _, it := range r.Items {
		width = max(width, len(it.Name))
	}
	for _, it := range r.Items {
		fmt.Fprintf(ew, "  %-*s  %-11s  %s\n  %-*s  %-11s  expected: %s\n", width, it.Name, it.Status, it.Measured, width, "", "", it.Expected)
	}
	var details []Item
	for _, it := range r.Items {
		if it.Detail != "" && it.Status != StatusOK {
			details = append(details, it)
		}
	}
	if len(details) > 0 {
		fmt.Fprintln(ew, "details:")
		for _, it := range details {
			fmt.Fprintf(ew, "  %s: %s\n", it.Name, it.Detail)
		}
	}
	if len(r.Requests) > 0 {
		fmt.Fprintln(ew, "requests:")
		tw := tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
		for _, c := range r.Requests {
			mark := ""
			if c.Requests != c.Expected {
				mark = "  <- differs"
			}
			fmt.Fprintf(tw, "  %s\t%s\texpected %s%s\n", c.Op, thousands(c.Requests), thousands(c.Expected), mark)
		}
		tw.Flush()
		fmt.Fprintf(ew, "  total, cleanup included: %s\n", thousands(r.TotalRequests))
	}
	return ew.err
}

type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	if err != nil {
		e.err = err
	}
	return n, err
}

// Run probes d and returns the report. It writes only below
// "/storereport-<random>" and deletes all of it before it returns, with a
// context of its own when ctx has ended (at most a minute). A probe that
// fails makes its item StatusUnknown or StatusDiffers with the error in
// Detail; Run returns an error only when ctx ends (with the report so
// far) or when nothing can be written at all.
func Run(ctx context.Context, d driver.StorageDriver, opts Options) (*Report, error) {
	o := opts.withDefaults()
	caps := driver.CapabilitiesOf(d)
	p := &prober{
		d: d, o: o, caps: caps,
		contract: contractOf(d.Name(), caps),
		base:     "/storereport-" + randomHex(8),
		written:  map[string]bool{},
		counted:  o.Requests != nil && caps.HTTP,
	}
	r := &Report{Backend: d.Name(), Keys: o.Keys}
	start := 0
	if o.Requests != nil {
		start = o.Requests.Total()
	}
	defer func() {
		p.cleanup(ctx)
		if o.Requests != nil {
			r.TotalRequests = o.Requests.Total() - start
		}
	}()

	// A first write tells a store that takes nothing (wrong credentials, a
	// read-only bucket) from one with quirks.
	probe := p.base + "/probe"
	p.mark(probe)
	if err := d.PutContent(ctx, probe, []byte("storereport")); err != nil {
		return r, fmt.Errorf("storereport: cannot write to %s: %w", d.Name(), err)
	}

	lag := p.lagProbe(ctx)
	wrapper := p.wrapperProbe(ctx, lag)
	r.Items = append(r.Items, lag.items()...)
	r.Items = append(r.Items, wrapper)
	listing, bulk := p.keysProbe(ctx)
	r.Items = append(r.Items, listing, bulk)
	r.Items = append(r.Items, p.multipartProbe(ctx))
	r.Items = append(r.Items, p.signedProbe(ctx))
	r.Items = append(r.Items, p.countsItem())
	r.Requests = p.counts
	if err := ctx.Err(); err != nil {
		return r, fmt.Errorf("storereport: %w", err)
	}
	return r, nil
}

// notFound reports whether err says the path does not exist.
func notFound(err error) bool {
	var nf *driver.PathNotFoundError
	return errors.As(err, &nf)
}
