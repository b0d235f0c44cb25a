package layout

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/inmemory"
)

var (
	revisionRE = regexp.MustCompile(`^/docker/registry/v2/repositories/bench/app/_manifests/revisions/sha256/([0-9a-f]{64})/link$`)
	tagLinkRE  = regexp.MustCompile(`^/docker/registry/v2/repositories/bench/app/_manifests/tags/v\d+\.\d+/index/sha256/([0-9a-f]{64})/link$`)
	layerRE    = regexp.MustCompile(`^/docker/registry/v2/repositories/bench/app/_layers/sha256/([0-9a-f]{64})/link$`)
	blobRE     = regexp.MustCompile(`^/docker/registry/v2/blobs/sha256/([0-9a-f]{2})/([0-9a-f]{64})/data$`)
)

func mustLayout(t *testing.T, l Spec) *Tree {
	t.Helper()
	tree, err := Generate(l)
	if err != nil {
		t.Fatalf("Generate(%+v): %v", l, err)
	}
	return tree
}

func TestLayoutShapeAndCounts(t *testing.T) {
	for _, c := range []struct{ m, tags, layers int }{{0, 0, 0}, {1, 0, 0}, {1, 1, 1}, {10, 1, 2}, {100, 20, 1}} {
		t.Run(fmt.Sprintf("%dx%dx%d", c.m, c.tags, c.layers), func(t *testing.T) {
			tree := mustLayout(t, Spec{Manifests: c.m, Tags: c.tags, LayersPerManifest: c.layers, Seed: 9})
			var revs, tags, layers, blobs int
			for _, f := range tree.Files {
				if err := driver.ValidatePath("test", f.Path); err != nil {
					t.Fatalf("invalid path: %v", err)
				}
				switch {
				case revisionRE.MatchString(f.Path):
					revs++
				case tagLinkRE.MatchString(f.Path):
					tags++
				case layerRE.MatchString(f.Path):
					layers++
				case blobRE.MatchString(f.Path):
					blobs++
				default:
					t.Fatalf("unexpected path %s", f.Path)
				}
			}
			if revs != c.m || tags != c.m*c.tags || layers != c.m*c.layers || blobs != c.m+c.m*c.layers {
				t.Fatalf("revisions %d, tag links %d, layer links %d, blobs %d", revs, tags, layers, blobs)
			}
			paths := tree.Paths()
			if !slices.IsSorted(paths) || len(slices.Compact(slices.Clone(paths))) != len(paths) {
				t.Fatalf("paths not sorted and unique")
			}
			gc := tree.GCPaths()
			if len(gc) != (DeleteCell{c.m, c.tags}).Files() {
				t.Fatalf("%d GC paths, want M + M·T = %d", len(gc), c.m+c.m*c.tags)
			}
			for _, p := range gc {
				if !revisionRE.MatchString(p) && !tagLinkRE.MatchString(p) {
					t.Fatalf("GC path %s is neither a revision nor a tag index link", p)
				}
				if !slices.Contains(paths, p) {
					t.Fatalf("GC path %s is not in the tree", p)
				}
			}
			if len(tree.GCFiles()) != len(gc) {
				t.Fatalf("GCFiles has %d files, GCPaths %d", len(tree.GCFiles()), len(gc))
			}
		})
	}
}

func TestLayoutDigestsAreReal(t *testing.T) {
	tree := mustLayout(t, Spec{Manifests: 5, Tags: 2, LayersPerManifest: 2, LayerSize: 100, Seed: 3})
	content := map[string][]byte{}
	for _, f := range tree.Files {
		content[f.Path] = f.Content
	}
	for _, f := range tree.Files {
		if m := blobRE.FindStringSubmatch(f.Path); m != nil {
			sum := sha256.Sum256(f.Content)
			if hex.EncodeToString(sum[:]) != m[2] || m[2][:2] != m[1] {
				t.Fatalf("blob %s does not hold content with that digest", f.Path)
			}
			continue
		}
		// Every link names the digest in its path and points at a blob.
		h := f.Path[strings.LastIndex(f.Path[:len(f.Path)-len("/link")], "/")+1 : len(f.Path)-len("/link")]
		if string(f.Content) != "sha256:"+h {
			t.Fatalf("link %s holds %q", f.Path, f.Content)
		}
		if _, ok := content["/docker/registry/v2/blobs/sha256/"+h[:2]+"/"+h+"/data"]; !ok {
			t.Fatalf("link %s points at a missing blob", f.Path)
		}
	}
	for _, m := range tree.Manifests {
		if len(m.LayerBlobs) != 2 || len(content[m.LayerBlobs[0]]) != 100 {
			t.Fatalf("manifest %s: layers %v", m.Digest, m.LayerBlobs)
		}
		if !strings.Contains(string(content[m.BlobPath]), strings.TrimPrefix(m.LayerBlobs[0], "/docker/registry/v2/blobs/sha256/")[3:67]) {
			t.Fatalf("manifest %s does not reference its layer", m.Digest)
		}
	}
}

func TestLayoutDeterministic(t *testing.T) {
	l := Spec{Manifests: 10, Tags: 3, LayersPerManifest: 1, Seed: 5}
	a, b := mustLayout(t, l), mustLayout(t, l)
	l.Seed = 6
	c := mustLayout(t, l)
	if !slices.Equal(a.Paths(), b.Paths()) {
		t.Fatal("same layout generated different paths")
	}
	for i := range a.Files {
		if string(a.Files[i].Content) != string(b.Files[i].Content) {
			t.Fatalf("same layout, different content at %s", a.Files[i].Path)
		}
	}
	if slices.Equal(a.GCPaths(), c.GCPaths()) {
		t.Fatal("different seeds generated the same digests")
	}
}

func TestLayoutPrefixAndRepository(t *testing.T) {
	tree := mustLayout(t, Spec{Prefix: "/bench-1", Repository: "library/app", Manifests: 1, Tags: 1})
	for _, p := range tree.Paths() {
		if !strings.HasPrefix(p, "/bench-1/docker/registry/v2/") {
			t.Fatalf("path %s not under the prefix", p)
		}
	}
	if !strings.HasPrefix(tree.GCPaths()[0], "/bench-1/docker/registry/v2/repositories/library/app/_manifests/tags/v0.0/index/sha256/") {
		t.Fatalf("tag link %s", tree.GCPaths()[0])
	}
	for _, bad := range []Spec{{Prefix: "bench"}, {Prefix: "/a/../b"}, {Prefix: "/"}, {Repository: "a//b"}, {Repository: "../x"}, {Manifests: -1}, {Tags: -1}, {LayersPerManifest: -1}} {
		if _, err := Generate(bad); err == nil {
			t.Errorf("Generate(%+v) succeeded", bad)
		}
	}
}

// recorder logs the Stat and Delete calls passing through to a driver.
type recorder struct {
	driver.StorageDriver
	mu    sync.Mutex
	calls []string
}

func (r *recorder) log(s string) {
	r.mu.Lock()
	r.calls = append(r.calls, s)
	r.mu.Unlock()
}

func (r *recorder) Stat(ctx context.Context, p string) (driver.FileInfo, error) {
	r.log("stat " + p)
	return r.StorageDriver.Stat(ctx, p)
}

func (r *recorder) Delete(ctx context.Context, p string) error {
	r.log("delete " + p)
	return r.StorageDriver.Delete(ctx, p)
}

func (r *recorder) DeleteFiles(ctx context.Context, paths []string) (int, error) {
	r.log(fmt.Sprintf("deletefiles %d", len(paths)))
	return r.StorageDriver.DeleteFiles(ctx, paths)
}

// remaining returns the files left in d.
func remaining(t *testing.T, d driver.StorageDriver) []string {
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

// withoutGC returns the tree's paths that are not GC paths.
func withoutGC(tree *Tree) []string {
	gc := tree.GCPaths()
	var out []string
	for _, p := range tree.Paths() {
		if !slices.Contains(gc, p) {
			out = append(out, p)
		}
	}
	return out
}

func TestLayoutWriteAndDeleteOneByOne(t *testing.T) {
	ctx := context.Background()
	tree := mustLayout(t, Spec{Manifests: 2, Tags: 2, LayersPerManifest: 1, Seed: 1})
	mem := inmemory.New()
	var calls []int
	var mu sync.Mutex
	if err := tree.Write(ctx, mem, 4, func(done int) { mu.Lock(); calls = append(calls, done); mu.Unlock() }); err != nil {
		t.Fatal(err)
	}
	if got := remaining(t, mem); !slices.Equal(got, tree.Paths()) {
		t.Fatalf("written %v, want %v", got, tree.Paths())
	}
	slices.Sort(calls)
	if len(calls) != len(tree.Files) || calls[len(calls)-1] != len(tree.Files) {
		t.Fatalf("progress calls %v for %d files", calls, len(tree.Files))
	}
	for i, f := range tree.Files {
		got, err := mem.GetContent(ctx, f.Path)
		if err != nil || string(got) != string(f.Content) {
			t.Fatalf("file %d %s: %v", i, f.Path, err)
		}
	}

	rec := &recorder{StorageDriver: mem}
	var last int
	n, err := tree.DeleteOneByOne(ctx, rec, func(done int) { last = done })
	if err != nil || n != 6 || last != 6 {
		t.Fatalf("DeleteOneByOne = %d, %v (progress %d); want 6", n, err, last)
	}
	var want []string
	for _, m := range tree.Manifests {
		for _, p := range m.TagLinks {
			want = append(want, "stat "+p, "delete "+p)
		}
		want = append(want, "delete "+m.Revision)
	}
	if !slices.Equal(rec.calls, want) {
		t.Fatalf("calls\n  %q\nwant\n  %q", rec.calls, want)
	}
	if got := remaining(t, mem); !slices.Equal(got, withoutGC(tree)) {
		t.Fatalf("left %v, want %v", got, withoutGC(tree))
	}
}

func TestLayoutDeleteOneByOneSkipsGoneTagLinks(t *testing.T) {
	ctx := context.Background()
	tree := mustLayout(t, Spec{Manifests: 1, Tags: 3})
	mem := inmemory.New()
	if err := tree.Write(ctx, mem, 1, nil); err != nil {
		t.Fatal(err)
	}
	if err := mem.Delete(ctx, tree.Manifests[0].TagLinks[1]); err != nil {
		t.Fatal(err)
	}
	n, err := tree.DeleteOneByOne(ctx, mem, nil)
	if err != nil || n != 3 {
		t.Fatalf("DeleteOneByOne = %d, %v; want 3 (one tag link was already gone)", n, err)
	}
	if got := remaining(t, mem); len(got) != 1 || got[0] != tree.Manifests[0].BlobPath {
		t.Fatalf("left %v", got)
	}
	// The revision link is gone now: a second pass fails on it.
	if _, err := tree.DeleteOneByOne(ctx, mem, nil); !driver.IsNotFound(err) {
		t.Fatalf("second DeleteOneByOne: %v, want PathNotFoundError", err)
	}
}

func TestLayoutDeleteBatched(t *testing.T) {
	ctx := context.Background()
	tree := mustLayout(t, Spec{Manifests: 10, Tags: 2, LayersPerManifest: 1, Seed: 2})
	mem := inmemory.New()
	if err := tree.Write(ctx, mem, 8, nil); err != nil {
		t.Fatal(err)
	}
	rec := &recorder{StorageDriver: mem}
	n, err := tree.DeleteBatched(ctx, rec)
	if err != nil || n != 30 {
		t.Fatalf("DeleteBatched = %d, %v; want 30", n, err)
	}
	if !slices.Equal(rec.calls, []string{"deletefiles 30"}) {
		t.Fatalf("calls %v, want one DeleteFiles", rec.calls)
	}
	if got := remaining(t, mem); !slices.Equal(got, withoutGC(tree)) {
		t.Fatalf("left %v, want %v", got, withoutGC(tree))
	}
	// Writing the GC files back restores the whole tree.
	if err := WriteFiles(ctx, mem, tree.GCFiles(), 3, nil); err != nil {
		t.Fatal(err)
	}
	if got := remaining(t, mem); !slices.Equal(got, tree.Paths()) {
		t.Fatalf("after rewriting the GC files: %d files, want %d", len(got), len(tree.Paths()))
	}
}

// failing fails PutContent for one path.
type failing struct {
	driver.StorageDriver
	bad string
}

var errInjected = errors.New("injected")

func (f failing) PutContent(ctx context.Context, p string, c []byte) error {
	if p == f.bad {
		return errInjected
	}
	return f.StorageDriver.PutContent(ctx, p, c)
}

func TestWriteFilesStopsAtFirstError(t *testing.T) {
	tree := mustLayout(t, Spec{Manifests: 50, Tags: 1})
	bad := tree.Files[3].Path
	err := tree.Write(context.Background(), failing{inmemory.New(), bad}, 4, nil)
	if !errors.Is(err, errInjected) || !strings.Contains(err.Error(), bad) {
		t.Fatalf("Write = %v, want the injected error naming %s", err, bad)
	}
}

func TestWriteFilesCancelled(t *testing.T) {
	tree := mustLayout(t, Spec{Manifests: 50, Tags: 1})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	mem := inmemory.New()
	if err := tree.Write(ctx, mem, 4, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("Write with a cancelled context = %v", err)
	}
	if got := remaining(t, mem); len(got) != 0 {
		t.Fatalf("a cancelled Write wrote %d files", len(got))
	}
}

func TestDeleteCell(t *testing.T) {
	c := DeleteCell{Manifests: 100, Tags: 20}
	if c.String() != "100x20" || c.Files() != 2100 {
		t.Fatalf("%s: %d files", c, c.Files())
	}
	if len(DefaultDeleteMatrix) != 7 || DefaultDeleteMatrix[6] != c {
		t.Fatalf("DefaultDeleteMatrix = %v", DefaultDeleteMatrix)
	}
}

func TestLayoutComplete(t *testing.T) {
	plain := mustLayout(t, Spec{Manifests: 3, Tags: 2, LayersPerManifest: 1, Seed: 5})
	full := mustLayout(t, Spec{Manifests: 3, Tags: 2, LayersPerManifest: 1, Seed: 5, Complete: true})
	// One config blob per manifest and one current link per tag more.
	if got, want := len(full.Files)-len(plain.Files), 3+3*2; got != want {
		t.Fatalf("Complete adds %d files, want %d", got, want)
	}
	if !slices.Equal(full.GCPaths(), plain.GCPaths()) {
		t.Fatal("Complete changes the GC paths")
	}
	var current int
	for _, f := range full.Files {
		if strings.HasSuffix(f.Path, "/current/link") {
			current++
		}
	}
	if current != 6 {
		t.Fatalf("%d current links, want 6", current)
	}
}
