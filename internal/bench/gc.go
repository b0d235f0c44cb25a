package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/gc"
	"github.com/stowage-dev/stowage/layout"
	"github.com/stowage-dev/stowage/registry"
)

// WorkloadGC is the garbage collection workload: a gc.Mark and gc.Sweep of
// a registry of GCShape.Repositories repositories, half of whose manifests
// are garbage. It is heavy (the default registry holds 19,000 files), so
// "all" leaves it out: it runs only when named.
const WorkloadGC = "gc"

// OptInWorkloads are the workloads that run only when named: neither a nil
// Config.Workloads nor "all" includes them.
var OptInWorkloads = []string{WorkloadGC}

// GCShape is the registry of the gc workload: Repositories repositories of
// Manifests manifests each, every manifest with Tags tags and Layers
// layers (each with its config blob and tag current links: a complete
// registry).
type GCShape struct {
	Repositories int `json:"repositories"`
	Manifests    int `json:"manifests"`
	Tags         int `json:"tags"`
	Layers       int `json:"layers"`
}

// DefaultGCShape is the default registry of the gc workload: 20
// repositories x 50 manifests x 3 tags x 5 layers (19,000 files).
var DefaultGCShape = GCShape{Repositories: 20, Manifests: 50, Tags: 3, Layers: 5}

// String writes the shape as ParseGCShape reads it, "RxMxTxL".
func (s GCShape) String() string {
	return fmt.Sprintf("%dx%dx%dx%d", s.Repositories, s.Manifests, s.Tags, s.Layers)
}

// Files is the number of files of the registry before garbage is made:
// per manifest its blob, its config blob, a blob and a layer link per
// layer, a revision link and an index and a current link per tag.
func (s GCShape) Files() int {
	return s.Repositories * s.Manifests * (3 + 2*s.Layers + 2*s.Tags)
}

// ParseGCShape parses a gc registry such as "20x50x3x5": repositories x
// manifests x tags x layers, repositories and manifests at least 1, tags
// and layers at least 0.
func ParseGCShape(s string) (GCShape, error) {
	f := strings.Split(strings.TrimSpace(s), "x")
	bad := fmt.Errorf("bad gc shape %q: want RxMxTxL (repositories x manifests x tags x layers), e.g. 20x50x3x5, with R and M >= 1", s)
	if len(f) != 4 {
		return GCShape{}, bad
	}
	var n [4]int
	for i, x := range f {
		v, err := strconv.Atoi(x)
		if err != nil || v < 0 || (i < 2 && v < 1) {
			return GCShape{}, bad
		}
		n[i] = v
	}
	return GCShape{Repositories: n[0], Manifests: n[1], Tags: n[2], Layers: n[3]}, nil
}

// GCResult is the gc workload: what the registry held, what gc found and
// deleted, and the time and requests of its two phases against what they
// are expected to cost.
type GCResult struct {
	Shape string `json:"shape"`
	GCShape
	// Keys is the number of files gc's walk lists (the registry after the
	// garbage's links were deleted); Links and Blobs those of them that
	// are links and blobs, as the plan counts them.
	Keys  int `json:"keys"`
	Links int `json:"links"`
	Blobs int `json:"blobs"`
	// ManifestsRead is the number of manifests Mark read; Garbage the
	// manifests made garbage (half of each repository's).
	ManifestsRead int `json:"manifests_read"`
	Garbage       int `json:"garbage_manifests"`
	// DeletedLinks and DeletedBlobs are what Sweep deleted: the garbage's
	// layer links, and its manifest, config and layer blobs.
	DeletedLinks int `json:"deleted_links"`
	DeletedBlobs int `json:"deleted_blobs"`
	// ListPageSize and DeleteBatchSize are the backend's (Capabilities).
	ListPageSize    int `json:"list_page_size"`
	DeleteBatchSize int `json:"delete_batch_size"`
	// ExpectedMark is ceil(Keys/ListPageSize) (one more for a backend
	// whose listing ends with an empty page) + ManifestsRead;
	// ExpectedSweep is ceil(DeletedLinks/B) + ceil(DeletedBlobs/B) for B
	// the DeleteBatchSize.
	ExpectedMark  int `json:"expected_mark_requests"`
	ExpectedSweep int `json:"expected_sweep_requests"`
	// Mark times gc.Mark, Sweep gc.Sweep.
	Mark  Measure `json:"mark"`
	Sweep Measure `json:"sweep"`
	// Phases are gc's own phases (walk, read manifests, delete links,
	// delete blobs) of the first run.
	Phases []gc.Phase `json:"phases"`
}

func (g *GCResult) add(s gcSample) {
	g.Mark.add(s.mark)
	g.Sweep.add(s.sweep)
}

type gcSample struct {
	mark, sweep sample
	result      GCResult // the counts; its measures are unset
}

func ceilDiv(n, d int) int {
	if d < 1 {
		d = 1
	}
	return (n + d - 1) / d
}

// gcRun builds the registry, deletes the links of half its manifests
// (untimed), measures gc.Mark and gc.Sweep, and checks that gc deleted
// exactly the garbage: its layer links and its blobs.
func (r *runner) gcRun(ctx context.Context, run int) (gcSample, error) {
	d, p, shape := r.cfg.Driver, r.cfg.Progress, r.cfg.GC
	prefix := r.cfg.Prefix + "/gc"
	root := prefix + layout.RegistryRoot
	var (
		all          []layout.File
		garbageLinks []string // the links the workload deletes
		wantLinks    []string // the layer links gc must delete
		wantBlobs    []string // the blobs gc must delete
		garbage      int
	)
	for i := 0; i < shape.Repositories; i++ {
		repo := fmt.Sprintf("bench/repo%d", i)
		tree, err := layout.Generate(layout.Spec{
			Prefix:            prefix,
			Repository:        repo,
			Manifests:         shape.Manifests,
			Tags:              shape.Tags,
			LayersPerManifest: shape.Layers,
			Seed:              uint64(run*shape.Repositories + i + 1),
			Complete:          true,
		})
		if err != nil {
			return gcSample{}, err
		}
		all = append(all, tree.Files...)
		content := map[string][]byte{}
		for _, f := range tree.Files {
			content[f.Path] = f.Content
		}
		repoPath := root + "/repositories/" + repo
		for m, mp := range tree.Manifests {
			if m%2 == 0 {
				continue // kept
			}
			garbage++
			garbageLinks = append(garbageLinks, mp.Revision)
			garbageLinks = append(garbageLinks, mp.TagLinks...)
			for t := range mp.TagLinks {
				garbageLinks = append(garbageLinks, repoPath+"/_manifests/tags/"+layout.TagName(m, t)+"/current/link")
			}
			var man struct {
				Config struct {
					Digest string `json:"digest"`
				} `json:"config"`
			}
			if err := json.Unmarshal(content[mp.BlobPath], &man); err != nil {
				return gcSample{}, fmt.Errorf("bench: gc: manifest %s: %w", mp.Digest, err)
			}
			wantBlobs = append(wantBlobs, mp.BlobPath, registry.BlobPath(root, registry.Digest(man.Config.Digest)))
			for _, b := range mp.LayerBlobs {
				wantBlobs = append(wantBlobs, b)
				wantLinks = append(wantLinks, repoPath+"/_layers/sha256/"+path.Base(path.Dir(b))+"/link")
			}
		}
	}
	slices.Sort(wantLinks)
	slices.Sort(wantBlobs)
	caps := driver.CapabilitiesOf(d)
	out := gcSample{result: GCResult{
		Shape: shape.String(), GCShape: shape, Keys: len(all) - len(garbageLinks), Garbage: garbage,
		ListPageSize: caps.ListPageSize, DeleteBatchSize: max(caps.DeleteBatchSize, 1),
	}}
	res := &out.result

	p.SetStage("gc setup")
	if err := r.write(ctx, all); err != nil {
		return out, fmt.Errorf("bench: gc: %w", err)
	}
	p.SetStage("gc garbage")
	if err := r.remove(ctx, garbageLinks); err != nil {
		return out, fmt.Errorf("bench: gc: %w", err)
	}

	opts := gc.Options{Root: root, MinAge: gc.NoMinAge, Concurrency: r.cfg.Concurrency}
	if r.cfg.Requests != nil {
		opts.Requests = func() map[string]int { return map[string]int{"requests": r.cfg.Requests()} }
	}
	p.SetStage("gc mark")
	var (
		plan   *gc.Plan
		phases []gc.Phase
		err    error
	)
	out.mark, err = r.measure(func() error {
		plan, phases, err = gc.Mark(ctx, d, opts)
		return err
	})
	if err != nil {
		return out, fmt.Errorf("bench: gc: mark: %w", err)
	}
	p.Add(int64(res.Keys))
	res.Links, res.Blobs, res.ManifestsRead = plan.Links, plan.Blobs, plan.ManifestsRead
	if len(plan.Problems) > 0 {
		return out, fmt.Errorf("bench: gc: mark found %d problems in a sound registry (first: %s)", len(plan.Problems), plan.Problems[0])
	}
	links, blobs := plan.LinkPaths(), plan.BlobPaths()
	if err := sameSet("links", links, wantLinks); err != nil {
		return out, fmt.Errorf("bench: gc: the plan does not delete exactly the garbage: %w", err)
	}
	if err := sameSet("blobs", blobs, wantBlobs); err != nil {
		return out, fmt.Errorf("bench: gc: the plan does not delete exactly the garbage: %w", err)
	}

	p.SetStage("gc sweep")
	var rep *gc.Report
	out.sweep, err = r.measure(func() error {
		rep, err = gc.Sweep(ctx, d, plan, opts)
		return err
	})
	if rep != nil {
		r.written.remove(links...)
		r.written.remove(blobs...)
		for _, f := range rep.Failed {
			r.written.add(f.Path) // still there, or may be
		}
	}
	if err != nil {
		return out, fmt.Errorf("bench: gc: sweep: %w", err)
	}
	p.Add(int64(len(links) + len(blobs)))
	res.DeletedLinks, res.DeletedBlobs = rep.Deleted-rep.DeletedBlobs, rep.DeletedBlobs
	if rep.Deleted != len(links)+len(blobs) || rep.DeletedBlobs != len(blobs) {
		return out, fmt.Errorf("bench: gc: sweep deleted %d files (%d blobs), want %d (%d blobs)",
			rep.Deleted, rep.DeletedBlobs, len(links)+len(blobs), len(blobs))
	}
	res.Phases = append(phases, rep.Phases...)

	// What is left must be the registry without the garbage.
	p.SetStage("gc check")
	deleted := map[string]bool{}
	for _, l := range slices.Concat(garbageLinks, links, blobs) {
		deleted[l] = true
	}
	var want, got []string
	for _, f := range all {
		if !deleted[f.Path] {
			want = append(want, f.Path)
		}
	}
	err = d.Walk(ctx, prefix, func(fi driver.FileInfo) error {
		if !fi.IsDir() {
			got = append(got, fi.Path())
		}
		return nil
	})
	if err != nil && !driver.IsNotFound(err) {
		return out, fmt.Errorf("bench: gc: listing what is left: %w", err)
	}
	slices.Sort(want)
	slices.Sort(got)
	if err := sameSet("files left", got, want); err != nil {
		return out, fmt.Errorf("bench: gc: after the sweep: %w", err)
	}

	res.ExpectedMark = ceilDiv(res.Keys, res.ListPageSize) + res.ManifestsRead
	if caps.ListEndsEmpty {
		res.ExpectedMark++
	}
	res.ExpectedSweep = ceilDiv(len(links), res.DeleteBatchSize) + ceilDiv(len(blobs), res.DeleteBatchSize)
	r.log.Debug("gc", "shape", res.Shape, "keys", res.Keys, "mark", out.mark.d, "mark requests", out.mark.requests,
		"sweep", out.sweep.d, "sweep requests", out.sweep.requests)

	p.SetStage("gc cleanup")
	return out, r.remove(ctx, want)
}

// sameSet compares two sorted path lists.
func sameSet(what string, got, want []string) error {
	if slices.Equal(got, want) {
		return nil
	}
	in := map[string]bool{}
	for _, g := range got {
		in[g] = true
	}
	for _, w := range want {
		if !in[w] {
			return fmt.Errorf("%s: %d, want %d; missing %s", what, len(got), len(want), w)
		}
		delete(in, w)
	}
	for g := range in {
		return fmt.Errorf("%s: %d, want %d; unexpected %s", what, len(got), len(want), g)
	}
	return fmt.Errorf("%s: %d, want %d (duplicates)", what, len(got), len(want))
}
