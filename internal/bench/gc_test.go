package bench

import (
	"context"
	"reflect"
	"testing"

	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/inmemory"
)

// paging is counting with a listing and a bulk delete that each take one
// request whatever their size, as counting counts them.
type paging struct{ *counting }

func (p paging) Capabilities() driver.Capabilities {
	return driver.Capabilities{ListPageSize: 1 << 30, DeleteBatchSize: 1 << 30}
}

func TestRunGCWorkload(t *testing.T) {
	c := &counting{StorageDriver: inmemory.New()}
	d := paging{c}
	shape := GCShape{Repositories: 2, Manifests: 4, Tags: 2, Layers: 2}
	rep, err := Run(context.Background(), Config{
		Driver: d, Requests: c.requests, Prefix: "/bench", Workloads: []string{WorkloadGC},
		GC: shape, Runs: 2, Concurrency: 4, Logger: quiet,
	})
	if err != nil {
		t.Fatal(err)
	}
	g := rep.GC
	if g == nil || rep.Delete != nil || rep.Walk != nil || rep.Throughput != nil {
		t.Fatalf("report %+v", rep)
	}
	// 8 manifests of 11 files each (manifest, config, 2 layers, 2 layer
	// links, a revision link, 2 index and 2 current links); 4 are garbage,
	// their 5 revision and tag links deleted before gc runs.
	want := GCResult{
		Shape: "2x4x2x2", GCShape: shape, Keys: 88 - 20, Links: 36, Blobs: 32, ManifestsRead: 4, Garbage: 4,
		DeletedLinks: 8, DeletedBlobs: 16, ListPageSize: 1 << 30, DeleteBatchSize: 1 << 30,
		ExpectedMark: 1 + 4, ExpectedSweep: 2,
	}
	got := *g
	got.Mark, got.Sweep, got.Phases = Measure{}, Measure{}, nil
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("gc result\n got %+v\nwant %+v", got, want)
	}
	if g.Mark.Requests == nil || *g.Mark.Requests != g.ExpectedMark || g.Sweep.Requests == nil || *g.Sweep.Requests != g.ExpectedSweep {
		t.Fatalf("requests: mark %v, sweep %v; want %d and %d", g.Mark.Requests, g.Sweep.Requests, g.ExpectedMark, g.ExpectedSweep)
	}
	if len(g.Mark.samples) != 2 || len(g.Phases) != 4 {
		t.Fatalf("%d mark samples, phases %+v", len(g.Mark.samples), g.Phases)
	}
	if left := files(t, d); len(left) != 0 {
		t.Fatalf("left behind: %v", left)
	}
}

func TestRunGCWorkloadOnTheRealInmemoryBackend(t *testing.T) {
	d := inmemory.New()
	rep, err := Run(context.Background(), Config{
		Driver: d, Prefix: "/bench", Workloads: []string{WorkloadGC},
		GC: GCShape{Repositories: 3, Manifests: 5, Tags: 1, Layers: 3}, Logger: quiet,
	})
	if err != nil {
		t.Fatal(err)
	}
	// 15 manifests, 6 of them garbage (the odd ones: 2 per repository).
	g := rep.GC
	if g.Garbage != 6 || g.ManifestsRead != 9 || g.DeletedBlobs != 6*5 || g.DeletedLinks != 6*3 || g.Mark.Requests != nil {
		t.Fatalf("gc result %+v", g)
	}
	if left := files(t, d); len(left) != 0 {
		t.Fatalf("left behind: %v", left)
	}
}
