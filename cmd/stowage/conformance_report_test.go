package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/stowage-dev/stowage/conformance"
	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/internal/cloudtest"
	"github.com/stowage-dev/stowage/internal/localstore"
	"github.com/stowage-dev/stowage/internal/storereport"
)

// The store report's tests: the report is measured after the suite,
// under the run's prefix, and --require turns chosen items into failures.

// reportDriverRoot matches the root directory of the driver the store
// report runs on: the run's prefix itself, where the suite's drivers sit
// one directory further down.
var reportDriverRoot = regexp.MustCompile(`/stowage-conformance-[0-9a-f]+$`)

// reportJSON is the part of --json output these tests read.
type reportJSON struct {
	OK              bool                `json:"ok"`
	Passed          int                 `json:"passed"`
	Failed          int                 `json:"failed"`
	Report          *storereport.Report `json:"report"`
	Required        []string            `json:"required"`
	RequiredFailing []storereport.Item  `json:"required_failing"`
	Cleanup         cleanupResult       `json:"cleanup"`
}

func decodeReport(t *testing.T, out string) reportJSON {
	t.Helper()
	var r reportJSON
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("not one JSON document: %v\n%s", err, out)
	}
	if r.Report == nil {
		t.Fatalf("no report in the JSON output:\n%s", out)
	}
	var names []string
	for _, it := range r.Report.Items {
		names = append(names, it.Name)
	}
	if !slices.Equal(names, storereport.ItemNames) {
		t.Errorf("report items %v, want %v", names, storereport.ItemNames)
	}
	return r
}

func reportItem(t *testing.T, r *storereport.Report, name string) storereport.Item {
	t.Helper()
	it, ok := r.Item(name)
	if !ok {
		t.Fatalf("no report item %s", name)
	}
	return it
}

// junitReportCases returns the StoreReport suite's testcases by name.
func junitReportCases(t *testing.T, j junitSuites, backend string) map[string]junitCase {
	t.Helper()
	for _, s := range j.Suites {
		if s.Name == "conformance/"+backend+"/StoreReport" {
			out := map[string]junitCase{}
			for _, c := range s.Cases {
				out[c.Name] = c
			}
			return out
		}
	}
	t.Fatalf("JUnit has no StoreReport suite: %+v", j.Suites)
	return nil
}

// TestConformanceReportNamesTheLag runs the command over a store that
// lags (conformance's eventual-consistency simulator in front of the
// filesystem backend, on the report's driver only, so that the suite's
// leaves see a consistent store): the report names the lags it measured
// and says the consistency wrapper hides them; requiring read-after-write
// fails the run with exit 1, and JUnit fails that item alone.
func TestConformanceReportNamesTheLag(t *testing.T) {
	const createLag, listLag = 300 * time.Millisecond, 500 * time.Millisecond
	root := t.TempDir()
	junit := filepath.Join(t.TempDir(), "junit.xml")
	wrapped := 0
	a := &app{open: func(ctx context.Context, name string, p map[string]any) (driver.StorageDriver, error) {
		d, err := driver.Open(ctx, name, p)
		if err != nil || !reportDriverRoot.MatchString(fmt.Sprint(p["rootdirectory"])) {
			return d, err
		}
		wrapped++
		return conformance.NewEventual(d, conformance.EventualOptions{CreateLag: createLag, ListLag: listLag, DeleteLag: createLag}), nil
	}}
	code, out, errs := runConformanceCmd(t, t.Context(), a, "--backend", "filesystem", "--param", "rootdirectory="+root,
		"--groups", "Paths", "--report-keys", "40", "--max-lag", "10s", "--require", "read-after-write,bulk-delete", "--junit", junit)
	if code != exitFailure {
		t.Fatalf("exit %d, want 1 (read-after-write required)\nstdout:\n%s\nstderr:\n%s", code, out, errs)
	}
	if wrapped != 1 {
		t.Fatalf("%d report drivers opened, want 1", wrapped)
	}
	for _, w := range []string{
		"store report: filesystem (40 keys)",
		"read-after-write     differs      visible after ",
		"list-after-write     differs      listed after ",
		"hidden by consistency.Wrap",
		"REQUIRED NOT OK: read-after-write is differs: visible after ",
		"FAIL: 23 tests passed; required report items not ok: read-after-write",
		"removed.",
	} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
	if strings.Contains(out, "REQUIRED NOT OK: bulk-delete") {
		t.Errorf("bulk-delete, which works, is reported as not ok:\n%s", out)
	}
	cases := junitReportCases(t, readJUnit(t, junit), "filesystem")
	for _, name := range storereport.ItemNames {
		c, ok := cases[name]
		switch {
		case !ok:
			t.Errorf("JUnit StoreReport has no testcase %s", name)
		case (c.Failure != nil) != (name == storereport.ReadAfterWrite):
			t.Errorf("JUnit testcase %s failure %+v; want a failure for read-after-write only", name, c.Failure)
		}
	}
	if c := cases[storereport.ListAfterWrite]; !strings.HasPrefix(c.SystemOut, "differs: listed after ") {
		t.Errorf("JUnit list-after-write output %q; want the measured lag", c.SystemOut)
	}
	if left := rootEntries(t, root); len(left) != 0 {
		t.Errorf("root holds %v, want the prefix gone", left)
	}

	// The same lag measured in JSON: at least the simulated lag.
	code, out, errs = runConformanceCmd(t, t.Context(), a, "--backend", "filesystem", "--param", "rootdirectory="+root,
		"--groups", "Paths", "--report-keys", "40", "--max-lag", "10s", "--json")
	if code != exitOK {
		t.Fatalf("exit %d without --require, want 0\nstdout:\n%s\nstderr:\n%s", code, out, errs)
	}
	r := decodeReport(t, out)
	for _, c := range []struct {
		name string
		lag  time.Duration
	}{{storereport.ReadAfterWrite, createLag}, {storereport.ListAfterWrite, listLag}} {
		it := reportItem(t, r.Report, c.name)
		if it.Status != storereport.StatusDiffers || it.Unit != "ms" || it.Value < c.lag.Milliseconds() {
			t.Errorf("%s: %s, %d %s; want differs by at least %v", c.name, it.Status, it.Value, it.Unit, c.lag)
		}
	}
	if it := reportItem(t, r.Report, storereport.ConsistencyWrapper); it.Status != storereport.StatusOK {
		t.Errorf("consistency-wrapper %s (%s); want ok: the wrapper hides the lag", it.Status, it.Measured)
	}
	if !r.OK || len(r.RequiredFailing) != 0 {
		t.Errorf("ok %v, required failing %+v; want ok, nothing required", r.OK, r.RequiredFailing)
	}
}

// TestConformanceReportNamesTheListingCap runs the command with the real
// s3 backend against the in-process S3 server behind a quirk proxy that
// caps listings at 100 keys (cloudtest.S3ListingCap: S3-compatible stores
// may answer fewer keys than asked): the report names the cap and the
// listings' request counts; --require list-page-size fails the run, and
// requiring only what works passes it.
func TestConformanceReportNamesTheListingCap(t *testing.T) {
	store, err := localstore.StartS3()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := store.Close(); err != nil {
			t.Error(err)
		}
	})
	params := store.Params()
	a := &app{open: func(ctx context.Context, name string, p map[string]any) (driver.StorageDriver, error) {
		hc, _ := p[driver.HTTPClientParam].(*http.Client)
		if hc != nil {
			p[driver.HTTPClientParam] = &http.Client{Transport: &cloudtest.S3ListingCap{
				Base: hc.Transport, Max: 100, Region: fmt.Sprint(params["region"]),
				Creds: aws.Credentials{AccessKeyID: fmt.Sprint(params["accesskey"]), SecretAccessKey: fmt.Sprint(params["secretkey"])},
			}}
		}
		return driver.Open(ctx, name, p)
	}}
	args := append([]string{"--backend", "s3", "--groups", "Paths", "--report-keys", "1200", "--json"}, paramArgs(params)...)
	code, out, errs := runConformanceCmd(t, t.Context(), a, append(args, "--require", "list-page-size")...)
	if code != exitFailure {
		t.Fatalf("exit %d, want 1 (list-page-size required)\nstdout:\n%s\nstderr:\n%s", code, out, errs)
	}
	r := decodeReport(t, out)
	page := reportItem(t, r.Report, storereport.ListPageSize)
	if page.Status != storereport.StatusDiffers || page.Value != 100 || !strings.HasPrefix(page.Measured, "100 keys per page (") ||
		!strings.Contains(page.Expected, "1,000 keys per page") {
		t.Errorf("list-page-size: %s, value %d, measured %q, expected %q; want 100 keys per page against 1,000",
			page.Status, page.Value, page.Measured, page.Expected)
	}
	if it := reportItem(t, r.Report, storereport.RequestCounts); it.Status != storereport.StatusDiffers {
		t.Errorf("request-counts %s (%s); want differs", it.Status, it.Measured)
	}
	// 1,200 keys in pages of 100 are 12 pages; the server may mark the
	// 12th truncated too, and an empty 13th ends the listing.
	listings := 0
	for _, c := range r.Report.Requests {
		if strings.HasPrefix(c.Op, "Walk of ") || strings.HasPrefix(c.Op, "List of ") {
			listings++
			if c.Requests < 12 || c.Requests > 13 || c.Expected != 2 {
				t.Errorf("%s: %d requests, expected %d; want 12 or 13 against 2", c.Op, c.Requests, c.Expected)
			}
		}
	}
	if listings != 2 {
		t.Errorf("request counts %+v; want a Walk and a List", r.Report.Requests)
	}
	for _, name := range []string{storereport.ReadAfterWrite, storereport.BulkDelete, storereport.Multipart, storereport.SignedURLs} {
		if it := reportItem(t, r.Report, name); it.Status != storereport.StatusOK {
			t.Errorf("%s: %s (%s %s); want ok", name, it.Status, it.Measured, it.Detail)
		}
	}
	if r.OK || r.Failed != 0 || !slices.Equal(r.Required, []string{"list-page-size"}) ||
		len(r.RequiredFailing) != 1 || r.RequiredFailing[0].Name != storereport.ListPageSize || !r.Cleanup.Removed {
		t.Errorf("ok %v, %d failed, required %v, failing %+v, cleanup %+v; want only list-page-size failing",
			r.OK, r.Failed, r.Required, r.RequiredFailing, r.Cleanup)
	}

	code, out, errs = runConformanceCmd(t, t.Context(), a, append(args, "--require", "bulk-delete,read-after-write,signed-urls")...)
	if code != exitOK {
		t.Fatalf("exit %d requiring what works, want 0\nstdout:\n%s\nstderr:\n%s", code, out, errs)
	}
	if r := decodeReport(t, out); !r.OK || len(r.RequiredFailing) != 0 || reportItem(t, r.Report, storereport.ListPageSize).Status != storereport.StatusDiffers {
		t.Errorf("ok %v, failing %+v; want ok with list-page-size still reported", r.OK, r.RequiredFailing)
	}
}

// TestConformanceReportUsageErrors: a --require that names no item, or
// one the run would not measure, is a usage error before anything runs.
func TestConformanceReportUsageErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--require", "bulk-delete,bulk-delet"}, "no report item named bulk-delet"},
		{[]string{"--require", "all", "--report=false"}, "--report=false skips the report"},
		{[]string{"--report-keys", "0"}, "must be positive"},
		{[]string{"--max-lag", "-1s"}, "must be positive"},
	} {
		opened := 0
		a := &app{open: func(ctx context.Context, name string, p map[string]any) (driver.StorageDriver, error) {
			opened++
			return driver.Open(ctx, name, p)
		}}
		code, out, errs := runConformanceCmd(t, t.Context(), a, append([]string{"--backend", "inmemory"}, c.args...)...)
		if code != exitUsage || !strings.Contains(errs, c.want) || out != "" || opened != 0 {
			t.Errorf("%q: exit %d, stdout %q, stderr %q, %d drivers opened; want 2, %q, nothing opened", c.args, code, out, errs, opened, c.want)
		}
	}
}
