package storereport_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stowage-dev/stowage/conformance"
	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/inmemory"
	"github.com/stowage-dev/stowage/internal/storereport"
	"github.com/stowage-dev/stowage/internal/testenv"
	_ "github.com/stowage-dev/stowage/s3"
	"github.com/stowage-dev/stowage/transport"
)

// item returns the item named name of r, failing t without it.
func item(t *testing.T, r *storereport.Report, name string) storereport.Item {
	t.Helper()
	it, ok := r.Item(name)
	if !ok {
		t.Fatalf("report has no item %q: %+v", name, r.Items)
	}
	return it
}

// wantStatus fails t unless the item named name has status want.
func wantStatus(t *testing.T, r *storereport.Report, name, want string) storereport.Item {
	t.Helper()
	it := item(t, r, name)
	if it.Status != want {
		t.Errorf("%s: status %q, want %q (measured %q, expected %q, detail %q)", name, it.Status, want, it.Measured, it.Expected, it.Detail)
	}
	return it
}

// files returns the files under "/" of d.
func files(t *testing.T, d driver.StorageDriver) []string {
	t.Helper()
	var out []string
	err := d.Walk(context.Background(), "/", func(fi driver.FileInfo) error {
		if !fi.IsDir() {
			out = append(out, fi.Path())
		}
		return nil
	})
	if err != nil {
		t.Fatalf("Walk /: %v", err)
	}
	return out
}

// text returns the report's text form.
func text(t *testing.T, r *storereport.Report) string {
	t.Helper()
	var b bytes.Buffer
	if err := r.WriteText(&b); err != nil {
		t.Fatalf("WriteText: %v", err)
	}
	return b.String()
}

func TestInmemory(t *testing.T) {
	d := inmemory.New()
	r, err := storereport.Run(context.Background(), d, storereport.Options{})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if len(r.Items) != len(storereport.ItemNames) {
		t.Errorf("%d items, want %d", len(r.Items), len(storereport.ItemNames))
	}
	for _, name := range storereport.ItemNames {
		want := storereport.StatusOK
		if name == storereport.SignedURLs {
			want = storereport.StatusUnsupported // inmemory has none, and says so
		}
		wantStatus(t, r, name, want)
	}
	if it := item(t, r, storereport.ReadAfterWrite); it.Measured != "visible at once" {
		t.Errorf("read-after-write measured %q, want \"visible at once\"", it.Measured)
	}
	if r.Keys != storereport.DefaultKeys || len(r.Requests) != 0 || r.TotalRequests != 0 {
		t.Errorf("Keys %d, Requests %v, TotalRequests %d: want %d keys and no counts", r.Keys, r.Requests, r.TotalRequests, storereport.DefaultKeys)
	}
	if left := files(t, d); len(left) != 0 {
		t.Errorf("Run left %d files: %v", len(left), left[:min(3, len(left))])
	}
	t.Log("\n" + text(t, r))
}

// openS3 returns an s3 driver on MinIO under a fresh root whose requests
// go through a counter over base.
func openS3(t *testing.T, base http.RoundTripper) (driver.StorageDriver, *transport.Counter) {
	t.Helper()
	params := testenv.Params(t, "s3", "")
	counter := &transport.Counter{Base: base}
	params[driver.HTTPClientParam] = &http.Client{Transport: counter}
	d, err := driver.Open(context.Background(), "s3", params)
	if err != nil {
		t.Fatalf("Open s3: %v", err)
	}
	return d, counter
}

func TestS3(t *testing.T) {
	d, counter := openS3(t, nil)
	r, err := storereport.Run(context.Background(), d, storereport.Options{Requests: counter})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	t.Log("\n" + text(t, r))
	for _, name := range storereport.ItemNames {
		wantStatus(t, r, name, storereport.StatusOK)
	}
	if it := item(t, r, storereport.ListPageSize); it.Value != 1000 {
		t.Errorf("list-page-size value %d, want 1000", it.Value)
	}
	if it := item(t, r, storereport.BulkDelete); it.Value != 834 || !strings.Contains(it.Measured, "(3 requests for 2,500 files)") {
		// ceil(2,500/3): three requests could not take fewer per batch.
		t.Errorf("bulk-delete: value %d, measured %q; want 834 and 3 requests", it.Value, it.Measured)
	}
	want := map[string]int{
		"PutContent of 2,500 files":          2500,
		"Stat of a file":                     1,
		"GetContent of a small file":         1,
		"Walk of 2,500 files":                3,
		"List of a directory of 2,500 files": 3,
		"DeleteFiles of 2,500 files":         3,
	}
	for _, c := range r.Requests {
		w, ok := want[c.Op]
		if !ok {
			t.Errorf("unexpected count %+v", c)
			continue
		}
		delete(want, c.Op)
		if c.Requests != w || c.Expected != w {
			t.Errorf("%s: %d requests, expected %d; want both %d", c.Op, c.Requests, c.Expected, w)
		}
	}
	for op := range want {
		t.Errorf("no count of %s", op)
	}
	if r.TotalRequests < 2500 || r.TotalRequests > 3000 {
		t.Errorf("%d requests in all, want a few more than 2,500", r.TotalRequests)
	}
	if left := files(t, d); len(left) != 0 {
		t.Errorf("Run left %d files: %v", len(left), left[:min(3, len(left))])
	}
}

func TestEventual(t *testing.T) {
	mem := inmemory.New()
	clock := conformance.NewManualClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	d := conformance.NewEventual(mem, conformance.EventualOptions{
		CreateLag: 2 * time.Second,
		ListLag:   3 * time.Second,
		DeleteLag: time.Second,
		Clock:     clock,
	})
	start := clock.Now()
	r, err := storereport.Run(context.Background(), d, storereport.Options{Clock: clock, Keys: 300})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	t.Log("\n" + text(t, r))
	// The probe polls with a back-off of at most 250ms, so it sees a lag
	// L at some time in [L, L+250ms].
	for _, c := range []struct {
		name string
		lag  time.Duration
	}{
		{storereport.ReadAfterWrite, 2 * time.Second},
		{storereport.ListAfterWrite, 3 * time.Second},
		{storereport.DeleteVisibility, 3 * time.Second}, // listings lag deletes by ListLag
	} {
		it := wantStatus(t, r, c.name, storereport.StatusDiffers)
		if it.Unit != "ms" || it.Value < c.lag.Milliseconds() || it.Value > (c.lag+250*time.Millisecond).Milliseconds() {
			t.Errorf("%s: value %d %s, want %v to %v", c.name, it.Value, it.Unit, c.lag, c.lag+250*time.Millisecond)
		}
		if !strings.Contains(it.Detail, "hidden by consistency.Wrap") {
			t.Errorf("%s: detail %q does not say the wrapper hides the lag", c.name, it.Detail)
		}
	}
	raw := item(t, r, storereport.ReadAfterWrite)
	if !strings.HasPrefix(raw.Measured, "visible after 2.") || !strings.Contains(raw.Expected, "at once") {
		t.Errorf("read-after-write: measured %q, expected %q", raw.Measured, raw.Expected)
	}
	del := item(t, r, storereport.DeleteVisibility)
	if !strings.Contains(del.Measured, "gone to reads after 1.") || !strings.Contains(del.Measured, "gone to listings after 3.") {
		t.Errorf("delete-visibility measured %q, want reads after 1s and listings after 3s", del.Measured)
	}
	w := wantStatus(t, r, storereport.ConsistencyWrapper, storereport.StatusOK)
	if !strings.HasPrefix(w.Measured, "hides the lag") || w.Value < 2000 {
		t.Errorf("consistency-wrapper: measured %q, value %d; want it to hide a read wait of 2s or more", w.Measured, w.Value)
	}
	for _, name := range []string{storereport.ListPageSize, storereport.BulkDelete, storereport.Multipart, storereport.RequestCounts} {
		wantStatus(t, r, name, storereport.StatusOK)
	}
	if clock.Now().Sub(start) > 2*time.Minute {
		t.Errorf("the probes waited %v of simulated time", clock.Now().Sub(start))
	}
	if left := files(t, mem); len(left) != 0 {
		t.Errorf("Run left %d files in the store: %v", len(left), left[:min(3, len(left))])
	}

	failing, err := r.Failing([]string{storereport.BulkDelete, storereport.ListAfterWrite})
	if err != nil {
		t.Fatalf("Failing: %v", err)
	}
	if len(failing) != 1 || failing[0].Name != storereport.ListAfterWrite {
		t.Errorf("Failing(bulk-delete, list-after-write) = %+v, want list-after-write only", failing)
	}
}

func TestFailing(t *testing.T) {
	r := &storereport.Report{Backend: "x", Items: []storereport.Item{
		{Name: storereport.ReadAfterWrite, Status: storereport.StatusOK},
		{Name: storereport.ListPageSize, Status: storereport.StatusDiffers},
		{Name: storereport.BulkDelete, Status: storereport.StatusOK},
		{Name: storereport.SignedURLs, Status: storereport.StatusUnsupported},
		{Name: storereport.RequestCounts, Status: storereport.StatusUnknown},
	}}
	names := func(items []storereport.Item) string {
		var s []string
		for _, it := range items {
			s = append(s, it.Name)
		}
		return strings.Join(s, ",")
	}
	for _, c := range []struct {
		require []string
		want    string
	}{
		{nil, ""},
		{[]string{"read-after-write", "bulk-delete"}, ""},
		{[]string{"bulk-delete", "list-page-size"}, "list-page-size"},
		{[]string{"signed-urls"}, "signed-urls"},
		{[]string{" request-counts ", ""}, "request-counts"},
		{[]string{"all"}, "list-page-size,signed-urls,request-counts"},
		// An item the report lacks (a probe that did not run) is no
		// failure; its name is still a known one.
		{[]string{"multipart"}, ""},
	} {
		got, err := r.Failing(c.require)
		if err != nil {
			t.Errorf("Failing(%q): %v", c.require, err)
			continue
		}
		if names(got) != c.want {
			t.Errorf("Failing(%q) = %q, want %q", c.require, names(got), c.want)
		}
	}
	if _, err := r.Failing([]string{"bulk-delete", "bulk-deletes"}); err == nil || !strings.Contains(err.Error(), "bulk-deletes") {
		t.Errorf("Failing with an unknown name: error %v, want one naming it", err)
	}
}

func TestWriteText(t *testing.T) {
	r := &storereport.Report{Backend: "s3", Keys: 2500,
		Items: []storereport.Item{
			{Name: storereport.ListPageSize, Status: storereport.StatusDiffers, Measured: "100 keys per page",
				Expected: "1,000 keys per page", Detail: "listings cost 8.3 times the requests"},
			{Name: storereport.BulkDelete, Status: storereport.StatusOK, Measured: "up to 1,000 files per request",
				Expected: "1,000 keys per DeleteObjects request", Detail: "not shown"},
		},
		Requests:      []storereport.OpCount{{Op: "Walk of 2,500 files", Requests: 25, Expected: 3}},
		TotalRequests: 2600,
	}
	got := text(t, r)
	for _, want := range []string{
		"store report: s3 (2,500 keys)\n",
		"  list-page-size  differs      100 keys per page\n",
		"expected: 1,000 keys per page\n",
		"  list-page-size: listings cost 8.3 times the requests\n",
		"Walk of 2,500 files  25  expected 3  <- differs\n",
		"total, cleanup included: 2,600\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("text lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "not shown") {
		t.Errorf("text shows the detail of an ok item:\n%s", got)
	}
}

// cancelling is a driver that ends a context after its n-th PutContent.
type cancelling struct {
	*inmemory.Driver
	cancel context.CancelFunc
	mu     sync.Mutex
	n      int
}

func (c *cancelling) PutContent(ctx context.Context, path string, content []byte) error {
	c.mu.Lock()
	if c.n--; c.n == 0 {
		c.cancel()
	}
	c.mu.Unlock()
	return c.Driver.PutContent(ctx, path, content)
}

func TestCancelledCleansUp(t *testing.T) {
	mem := inmemory.New()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	d := &cancelling{Driver: mem, cancel: cancel, n: 200} // inside the listing probe's writes
	r, err := storereport.Run(ctx, d, storereport.Options{})
	if !errors.Is(err, context.Canceled) || r == nil {
		t.Fatalf("Run = %v, %v; want a report and context.Canceled", r, err)
	}
	if left := files(t, mem); len(left) != 0 {
		t.Errorf("Run left %d files after the cancellation: %v", len(left), left[:min(3, len(left))])
	}
}
