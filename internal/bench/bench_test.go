package bench

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/inmemory"
	"github.com/stowage-dev/stowage/internal/progress"
	"github.com/stowage-dev/stowage/layout"
)

// counting counts every driver call as one "request", as an HTTP backend
// without retries or listing would send.
type counting struct {
	driver.StorageDriver
	n atomic.Int64
}

func (c *counting) Stat(ctx context.Context, p string) (driver.FileInfo, error) {
	c.n.Add(1)
	return c.StorageDriver.Stat(ctx, p)
}

func (c *counting) Delete(ctx context.Context, p string) error {
	c.n.Add(1)
	return c.StorageDriver.Delete(ctx, p)
}

func (c *counting) DeleteFiles(ctx context.Context, paths []string) (int, error) {
	c.n.Add(1)
	return c.StorageDriver.DeleteFiles(ctx, paths)
}

func (c *counting) Walk(ctx context.Context, p string, f driver.WalkFn, opts ...driver.WalkOption) error {
	c.n.Add(1)
	return c.StorageDriver.Walk(ctx, p, f, opts...)
}

func (c *counting) PutContent(ctx context.Context, p string, b []byte) error {
	c.n.Add(1)
	return c.StorageDriver.PutContent(ctx, p, b)
}

func (c *counting) GetContent(ctx context.Context, p string) ([]byte, error) {
	c.n.Add(1)
	return c.StorageDriver.GetContent(ctx, p)
}

func (c *counting) requests() int { return int(c.n.Load()) }

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// files returns every file in d.
func files(t *testing.T, d driver.StorageDriver) []string {
	t.Helper()
	var out []string
	err := d.Walk(context.Background(), "/", func(fi driver.FileInfo) error {
		if !fi.IsDir() {
			out = append(out, fi.Path())
		}
		return nil
	})
	if err != nil && !driver.IsNotFound(err) {
		t.Fatal(err)
	}
	return out
}

func smallConfig(d driver.StorageDriver) Config {
	return Config{
		Driver: d,
		Prefix: "/stowage-bench-test",
		Matrix: []layout.DeleteCell{{Manifests: 2, Tags: 1}, {Manifests: 3, Tags: 0}},
		Walk:   layout.Spec{Manifests: 3, Tags: 2, LayersPerManifest: 1},
		Sizes:  []Size{{Bytes: 1 << 10, Count: 3}, {Bytes: 4 << 10, Count: 1}},
		Logger: quiet,
		Runs:   1,
	}
}

func TestRunReportsEveryWorkloadAndCleansUp(t *testing.T) {
	ctx := context.Background()
	mem := inmemory.New()
	const outside = "/registry/keep/data"
	if err := mem.PutContent(ctx, outside, []byte("not ours")); err != nil {
		t.Fatal(err)
	}
	c := &counting{StorageDriver: mem}
	cfg := smallConfig(c)
	cfg.Requests = c.requests
	cfg.Progress = &progress.Progress{}
	rep, err := Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got := files(t, mem); !slices.Equal(got, []string{outside}) {
		t.Fatalf("after the run the store holds %v, want only %s", got, outside)
	}
	if rep.Backend != "inmemory" || rep.Prefix != cfg.Prefix || rep.Runs != 1 || !rep.Counted {
		t.Fatalf("report header %+v", rep)
	}

	if len(rep.Delete) != 2 {
		t.Fatalf("%d delete cells", len(rep.Delete))
	}
	d := rep.Delete[0]
	if d.Cell != "2x1" || d.Files != 4 || d.Manifests != 2 || d.Tags != 1 {
		t.Fatalf("cell %+v", d)
	}
	// One at a time: Stat and Delete per tag link, Delete per revision.
	if d.OneByOne.Requests == nil || *d.OneByOne.Requests != 2*2+2 {
		t.Fatalf("one-by-one requests %v, want 6", d.OneByOne.Requests)
	}
	if d.DeleteFiles.Requests == nil || *d.DeleteFiles.Requests != 1 {
		t.Fatalf("DeleteFiles requests %v, want 1", d.DeleteFiles.Requests)
	}
	if d.RequestRatio == nil || *d.RequestRatio != 6 {
		t.Fatalf("request ratio %v, want 6", d.RequestRatio)
	}
	if d.OneByOne.Seconds <= 0 || d.DeleteFiles.Seconds <= 0 || d.Speedup != d.OneByOne.Seconds/d.DeleteFiles.Seconds {
		t.Fatalf("times %+v %+v speedup %v", d.OneByOne, d.DeleteFiles, d.Speedup)
	}
	if rep.Delete[1].Cell != "3x0" || rep.Delete[1].Files != 3 || *rep.Delete[1].OneByOne.Requests != 3 {
		t.Fatalf("cell %+v", rep.Delete[1])
	}

	w := rep.Walk
	// 3 manifests: 3 revision links, 6 tag links, 3 layer links, 6 blobs.
	if w == nil || w.Tree != "3x2" || w.Files != 18 || w.Walk.Requests == nil || *w.Walk.Requests != 1 {
		t.Fatalf("walk %+v", w)
	}
	if w.Entries <= w.Files {
		t.Fatalf("walk visited %d entries for %d files: directories missing", w.Entries, w.Files)
	}

	if len(rep.Throughput) != 4 {
		t.Fatalf("throughput %+v", rep.Throughput)
	}
	for i, want := range []struct {
		op, size string
		count    int
	}{{"put", "1KiB", 3}, {"get", "1KiB", 3}, {"put", "4KiB", 1}, {"get", "4KiB", 1}} {
		got := rep.Throughput[i]
		if got.Op != want.op || got.Size != want.size || got.Count != want.count || *got.Requests != want.count || got.MBPerSecond <= 0 {
			t.Fatalf("throughput %d: %+v, want %+v", i, got, want)
		}
	}

	// The planned work matches what was done.
	if s := cfg.Progress.Snapshot(); s.Done != s.Total || s.Total == 0 {
		t.Fatalf("progress %d/%d at the end", s.Done, s.Total)
	}
}

func TestRunWithoutRequestCounting(t *testing.T) {
	cfg := smallConfig(inmemory.New())
	cfg.Workloads = []string{WorkloadDelete}
	rep, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Counted || rep.Walk != nil || rep.Throughput != nil {
		t.Fatalf("report %+v", rep)
	}
	for _, d := range rep.Delete {
		if d.OneByOne.Requests != nil || d.DeleteFiles.Requests != nil || d.RequestRatio != nil {
			t.Fatalf("requests reported without counting: %+v", d)
		}
	}
}

func TestRunSeveralRuns(t *testing.T) {
	c := &counting{StorageDriver: inmemory.New()}
	cfg := smallConfig(c)
	cfg.Requests = c.requests
	cfg.Runs = 3
	cfg.Progress = &progress.Progress{}
	rep, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []Measure{rep.Delete[0].OneByOne, rep.Delete[0].DeleteFiles, rep.Walk.Walk, rep.Throughput[0].Measure} {
		if len(m.samples) != 3 || !(m.MinSeconds <= m.Seconds && m.Seconds <= m.MaxSeconds) || m.MinSeconds <= 0 {
			t.Fatalf("measure %+v", m)
		}
	}
	if *rep.Delete[0].OneByOne.Requests != 6 {
		t.Fatalf("median requests %d", *rep.Delete[0].OneByOne.Requests)
	}
	if s := cfg.Progress.Snapshot(); s.Done != s.Total {
		t.Fatalf("progress %d/%d", s.Done, s.Total)
	}
}

func TestRunRefusesAPrefixInUse(t *testing.T) {
	ctx := context.Background()
	mem := inmemory.New()
	cfg := smallConfig(mem)
	theirs := cfg.Prefix + "/someone/else"
	if err := mem.PutContent(ctx, theirs, []byte("x")); err != nil {
		t.Fatal(err)
	}
	_, err := Run(ctx, cfg)
	if !errors.Is(err, ErrPrefixInUse) {
		t.Fatalf("Run = %v, want ErrPrefixInUse", err)
	}
	if got := files(t, mem); !slices.Equal(got, []string{theirs}) {
		t.Fatalf("store holds %v after a refused run", got)
	}
	// A prefix naming a file is in use too.
	cfg.Prefix = theirs
	if _, err := Run(ctx, cfg); !errors.Is(err, ErrPrefixInUse) {
		t.Fatalf("Run over a file = %v, want ErrPrefixInUse", err)
	}
}

func TestRunInterruptedCleansUp(t *testing.T) {
	mem := inmemory.New()
	const outside = "/keep"
	if err := mem.PutContent(context.Background(), outside, []byte("x")); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg := smallConfig(mem)
	cfg.Matrix = []layout.DeleteCell{{Manifests: 100, Tags: 20}}
	var once sync.Once
	cfg.Progress = &progress.Progress{Notify: func(s progress.Snapshot) {
		// Interrupt in the middle of the first cell's setup.
		if s.Done >= 500 {
			once.Do(cancel)
		}
	}}
	rep, err := Run(ctx, cfg)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v, want context.Canceled", err)
	}
	if rep == nil || len(rep.Delete) != 0 {
		t.Fatalf("report of an interrupted run: %+v", rep)
	}
	if got := files(t, mem); !slices.Equal(got, []string{outside}) {
		t.Fatalf("after the interrupted run the store holds %d files, want only %s", len(got), outside)
	}
}

// failingDelete fails Delete of every path.
type failingDelete struct{ driver.StorageDriver }

var errBroken = errors.New("broken")

func (failingDelete) Delete(context.Context, string) error { return errBroken }

func TestRunFailureStillCleansUp(t *testing.T) {
	mem := inmemory.New()
	cfg := smallConfig(failingDelete{mem})
	_, err := Run(context.Background(), cfg)
	if !errors.Is(err, errBroken) {
		t.Fatalf("Run = %v, want the Delete failure", err)
	}
	if got := files(t, mem); len(got) != 0 {
		t.Fatalf("after the failed run the store holds %v", got)
	}
}

func TestRunRejectsBadConfig(t *testing.T) {
	for name, cfg := range map[string]Config{
		"no driver":   {Prefix: "/p"},
		"bad prefix":  {Driver: inmemory.New(), Prefix: "p"},
		"root prefix": {Driver: inmemory.New(), Prefix: "/"},
		"workload":    {Driver: inmemory.New(), Prefix: "/p", Workloads: []string{"nope"}},
	} {
		if _, err := Run(context.Background(), cfg); err == nil {
			t.Errorf("%s: Run succeeded", name)
		}
	}
}

func TestNewPrefix(t *testing.T) {
	a, err := NewPrefix()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := NewPrefix()
	if a == b || len(a) != len("/stowage-bench-")+16 {
		t.Fatalf("prefixes %q %q", a, b)
	}
	if err := driver.ValidatePath("test", a); err != nil {
		t.Fatal(err)
	}
}

func TestRunLeavesForeignFilesUnderItsPrefix(t *testing.T) {
	mem := inmemory.New()
	cfg := smallConfig(mem)
	foreign := cfg.Prefix + "/delete-2x1/docker/registry/v2/blobs/theirs"
	var once sync.Once
	cfg.Progress = &progress.Progress{Notify: func(s progress.Snapshot) {
		// Someone else writes under the prefix while the run is going.
		if s.Done > 0 {
			once.Do(func() {
				if err := mem.PutContent(context.Background(), foreign, []byte("x")); err != nil {
					t.Error(err)
				}
			})
		}
	}}
	var logs bytes.Buffer
	cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	if _, err := Run(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	if got := files(t, mem); !slices.Equal(got, []string{foreign}) {
		t.Fatalf("after the run the store holds %v, want only %s", got, foreign)
	}
	if !strings.Contains(logs.String(), "did not write") {
		t.Fatalf("no warning about the foreign file in %q", logs.String())
	}
}
