package bench

import (
	"slices"
	"testing"
	"time"

	"github.com/stowage-dev/stowage/layout"
)

func TestParseMatrix(t *testing.T) {
	got, err := ParseMatrix("1x0, 100x20,10x1")
	want := []layout.DeleteCell{{Manifests: 1, Tags: 0}, {Manifests: 100, Tags: 20}, {Manifests: 10, Tags: 1}}
	if err != nil || !slices.Equal(got, want) {
		t.Fatalf("ParseMatrix = %v, %v", got, err)
	}
	for _, bad := range []string{"", ",", "1", "x1", "1x", "0x1", "1x-1", "axb", "1x1x1", "1X1"} {
		if _, err := ParseMatrix(bad); err == nil {
			t.Errorf("ParseMatrix(%q) succeeded", bad)
		}
	}
}

func TestParseTree(t *testing.T) {
	l, err := ParseTree("50x4")
	if err != nil || l.Manifests != 50 || l.Tags != 4 || l.LayersPerManifest != 2 {
		t.Fatalf("ParseTree = %+v, %v", l, err)
	}
	if _, err := ParseTree("1x1,2x2"); err == nil {
		t.Fatal("ParseTree accepted two trees")
	}
}

func TestParseSizes(t *testing.T) {
	got, err := ParseSizes("1KiB:200,1m:3, 512:1,2GiB:1")
	want := []Size{{1 << 10, 200}, {1 << 20, 3}, {512, 1}, {2 << 30, 1}}
	if err != nil || !slices.Equal(got, want) {
		t.Fatalf("ParseSizes = %v, %v", got, err)
	}
	for _, bad := range []string{"", "1KiB", "1KiB:0", "0:1", "1XB:1", "-1:1", "1KiB:x"} {
		if _, err := ParseSizes(bad); err == nil {
			t.Errorf("ParseSizes(%q) succeeded", bad)
		}
	}
}

func TestFormatBytes(t *testing.T) {
	for n, want := range map[int64]string{1024: "1KiB", 64 << 20: "64MiB", 1 << 30: "1GiB", 1000: "1000B", 1536: "1536B", 0: "0B"} {
		if got := FormatBytes(n); got != want {
			t.Errorf("FormatBytes(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestParseWorkloads(t *testing.T) {
	for in, want := range map[string][]string{
		"all":              Workloads,
		"walk":             {"walk"},
		"walk,delete,walk": {"walk", "delete"},
		"delete,all":       {"delete", "walk", "throughput"},
		"gc":               {"gc"},
		"all,gc":           {"delete", "walk", "throughput", "gc"},
	} {
		got, err := ParseWorkloads(in)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("ParseWorkloads(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "gcs", "delete,nope"} {
		if _, err := ParseWorkloads(bad); err == nil {
			t.Errorf("ParseWorkloads(%q) succeeded", bad)
		}
	}
}

func TestMeasureMedian(t *testing.T) {
	var m Measure
	for _, s := range []struct {
		d time.Duration
		r int
	}{{3 * time.Millisecond, 7}, {time.Millisecond, 5}, {10 * time.Millisecond, 9}, {2 * time.Millisecond, 6}} {
		m.add(sample{d: s.d, requests: s.r, counted: true})
	}
	m.finish()
	if m.Median() != 2500*time.Microsecond || m.MinSeconds != 0.001 || m.MaxSeconds != 0.01 || *m.Requests != 7 {
		t.Fatalf("measure %+v (median %v, requests %d)", m, m.Median(), *m.Requests)
	}
}

func TestParseGCShape(t *testing.T) {
	got, err := ParseGCShape("20x50x3x5")
	if err != nil || got != DefaultGCShape || got.String() != "20x50x3x5" || got.Files() != 19000 {
		t.Fatalf("ParseGCShape = %+v, %v (files %d)", got, err, got.Files())
	}
	if got, err := ParseGCShape("1x1x0x0"); err != nil || got != (GCShape{1, 1, 0, 0}) {
		t.Fatalf("ParseGCShape(1x1x0x0) = %+v, %v", got, err)
	}
	for _, bad := range []string{"", "20x50x3", "0x50x3x5", "20x0x3x5", "20x50x-1x5", "20x50x3x5x1", "axbxcxd"} {
		if _, err := ParseGCShape(bad); err == nil {
			t.Errorf("ParseGCShape(%q) succeeded", bad)
		}
	}
}
