package registry_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/inmemory"
	"github.com/stowage-dev/stowage/layout"
	"github.com/stowage-dev/stowage/registry"
)

// registryTree writes a complete generated registry (3 manifests with 2
// tags and 2 layers each, in two repositories) to a fresh inmemory
// driver.
func registryTree(t *testing.T) (driver.StorageDriver, []*layout.Tree) {
	t.Helper()
	d := inmemory.New()
	var trees []*layout.Tree
	for i, repo := range []string{"library/app", "team/tool"} {
		tree, err := layout.Generate(layout.Spec{Repository: repo, Manifests: 3, Tags: 2, LayersPerManifest: 2, LayerSize: 1000, Seed: uint64(i + 1), Complete: true})
		if err != nil {
			t.Fatal(err)
		}
		if err := tree.Write(context.Background(), d, 4, nil); err != nil {
			t.Fatal(err)
		}
		trees = append(trees, tree)
	}
	return d, trees
}

func verify(t *testing.T, d driver.StorageDriver, o registry.VerifyOptions) registry.Report {
	t.Helper()
	rep, err := registry.Verify(context.Background(), d, o)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	return rep
}

// kinds lists the report's problems as "kind path".
func kinds(rep registry.Report) []string {
	var out []string
	for _, p := range rep.Problems {
		out = append(out, string(p.Kind)+" "+p.Path)
	}
	return out
}

func put(t *testing.T, d driver.StorageDriver, path string, content []byte) {
	t.Helper()
	if err := d.PutContent(context.Background(), path, content); err != nil {
		t.Fatal(err)
	}
}

func TestVerifyCleanRegistry(t *testing.T) {
	d, trees := registryTree(t)
	rep := verify(t, d, registry.VerifyOptions{})
	if !rep.OK() || len(rep.Problems) != 0 {
		t.Fatalf("problems on a clean registry: %v", kinds(rep))
	}
	// Per repository: 3 manifests, 3 configs, 6 layers; links: 6 layer,
	// 3 revision, 6 tag index, 6 current.
	if rep.Repositories != 2 || rep.Blobs != 24 || rep.Hashed != 24 || rep.Manifests != 6 || rep.Links != 42 {
		t.Fatalf("report %+v", rep)
	}
	if want := trees[0].Size() + trees[1].Size(); rep.HashedBytes >= want || rep.HashedBytes != rep.BlobBytes {
		t.Fatalf("hashed %d bytes of %d blob bytes (tree with links: %d)", rep.HashedBytes, rep.BlobBytes, want)
	}
}

func TestVerifyFindsEachProblem(t *testing.T) {
	d, trees := registryTree(t)
	m := trees[0].Manifests
	truncated, overwritten, deleted := m[0].LayerBlobs[0], m[1].LayerBlobs[0], m[2].LayerBlobs[1]
	ctx := context.Background()
	put(t, d, truncated, []byte("short"))
	put(t, d, overwritten, make([]byte, 1000))
	if err := d.Delete(ctx, strings.TrimSuffix(deleted, "/data")); err != nil {
		t.Fatal(err)
	}
	emptied := trees[1].Manifests[0].LayerBlobs[0]
	put(t, d, emptied, nil)
	badLink := trees[1].Manifests[1].TagLinks[0]
	put(t, d, badLink, []byte("sha256:nothex"))

	rep := verify(t, d, registry.VerifyOptions{})
	if rep.OK() {
		t.Fatal("OK on a damaged registry")
	}
	deletedHex := strings.Split(deleted, "/")[7]
	layerLink := layout.RegistryRoot + "/repositories/library/app/_layers/sha256/" + deletedHex + "/link"
	want := []string{
		"bad-link " + badLink,
		"dangling-link " + layerLink,
		"empty " + emptied,
		"missing-reference " + m[2].BlobPath,
		"mismatched " + overwritten,
		"truncated " + truncated,
	}
	slices.Sort(want)
	got := kinds(rep)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("problems\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	if c := rep.ByKind(); c[registry.Truncated] != 1 || c[registry.Mismatched] != 1 {
		t.Fatalf("by kind %v", c)
	}
}

func TestVerifyMisplacedBlob(t *testing.T) {
	d, trees := registryTree(t)
	ctx := context.Background()
	blob := trees[0].Manifests[0].LayerBlobs[0]
	parts := strings.Split(blob, "/")
	wrong := strings.Replace(blob, "/"+parts[6]+"/", "/zz/", 1)
	if err := d.Move(ctx, blob, wrong); err != nil {
		t.Fatal(err)
	}
	got := kinds(verify(t, d, registry.VerifyOptions{}))
	slices.Sort(got)
	if len(got) != 3 || got[0] != "dangling-link "+layout.RegistryRoot+"/repositories/library/app/_layers/sha256/"+parts[7]+"/link" ||
		got[1] != "misplaced "+wrong || got[2] != "missing-reference "+trees[0].Manifests[0].BlobPath {
		t.Fatalf("problems %q", got)
	}
}

// blobOf writes content as a blob and returns its digest.
func blobOf(t *testing.T, d driver.StorageDriver, content []byte) string {
	t.Helper()
	sum := sha256.Sum256(content)
	h := hex.EncodeToString(sum[:])
	put(t, d, registry.BlobPath(registry.RootPath, registry.Digest("sha256:"+h)), content)
	return "sha256:" + h
}

// revision links manifest digest dg in repository repo.
func revision(t *testing.T, d driver.StorageDriver, repo, dg string) {
	t.Helper()
	put(t, d, registry.RootPath+"/repositories/"+repo+"/_manifests/revisions/sha256/"+strings.TrimPrefix(dg, "sha256:")+"/link", []byte(dg))
}

func TestVerifyIndexesAndManifestKinds(t *testing.T) {
	d := inmemory.New()
	config := blobOf(t, d, []byte(`{}`))
	layer := blobOf(t, d, []byte("layer"))
	childJSON := fmt.Appendf(nil, `{"schemaVersion":2,"mediaType":%q,"config":{"digest":%q,"size":2},"layers":[{"digest":%q,"size":5},{"digest":"sha256:%064x","size":9,"urls":["https://example.com/foreign"]}]}`,
		registry.MediaTypeDockerManifest, config, layer, 7)
	child := blobOf(t, d, childJSON)
	missingChild := fmt.Sprintf("sha256:%064x", 1)
	index := blobOf(t, d, fmt.Appendf(nil, `{"schemaVersion":2,"mediaType":%q,"manifests":[{"digest":%q,"size":%d},{"digest":%q,"size":1}]}`,
		registry.MediaTypeOCIIndex, child, len(childJSON), missingChild))
	schema1 := blobOf(t, d, fmt.Appendf(nil, `{"schemaVersion":1,"fsLayers":[{"blobSum":%q},{"blobSum":"sha256:%064x"}]}`, layer, 2))
	unknown := blobOf(t, d, []byte(`{"schemaVersion":2,"mediaType":"application/x-unknown"}`))
	// Only the index is linked: its child is found through it.
	for _, dg := range []string{index, schema1, unknown} {
		revision(t, d, "r", dg)
	}
	rep := verify(t, d, registry.VerifyOptions{})
	got := kinds(rep)
	slices.Sort(got)
	want := []string{
		"missing-reference " + registry.BlobPath(registry.RootPath, registry.Digest(index)),
		"missing-reference " + registry.BlobPath(registry.RootPath, registry.Digest(schema1)),
		"unknown-manifest " + registry.BlobPath(registry.RootPath, registry.Digest(unknown)),
	}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("problems\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	if rep.Manifests != 4 {
		t.Fatalf("%d manifests parsed, want 4 (the child through the index)", rep.Manifests)
	}
	// An unknown manifest alone is a warning.
	if (registry.Report{Problems: []registry.Problem{{Kind: registry.UnknownManifest}}}).OK() != true {
		t.Fatal("a warning makes the report fail")
	}
}

func TestVerifyRepositoryOnly(t *testing.T) {
	d, trees := registryTree(t)
	put(t, d, trees[1].Manifests[0].LayerBlobs[0], []byte("other repository's broken blob"))
	rep := verify(t, d, registry.VerifyOptions{Repository: "library/app"})
	if !rep.OK() || rep.Repositories != 1 || rep.Links != 21 || rep.Hashed != 12 {
		t.Fatalf("report %+v, problems %v", rep, kinds(rep))
	}
	rep = verify(t, d, registry.VerifyOptions{Repository: "team/tool"})
	if rep.OK() {
		t.Fatal("team/tool's broken blob not found")
	}
	if _, err := registry.Verify(context.Background(), d, registry.VerifyOptions{Repository: "no/such"}); !driver.IsNotFound(err) {
		t.Fatalf("missing repository: %v, want a not-found error", err)
	}
	if _, err := registry.Verify(context.Background(), d, registry.VerifyOptions{Repository: "../x"}); err == nil {
		t.Fatal("repository ../x accepted")
	}
}

func TestVerifySample(t *testing.T) {
	d, _ := registryTree(t)
	a := verify(t, d, registry.VerifyOptions{Sample: 0.5, Seed: 7})
	b := verify(t, d, registry.VerifyOptions{Sample: 0.5, Seed: 7})
	// The 6 manifests are always hashed; of the 18 other blobs about half.
	if a.Hashed != b.Hashed || a.HashedBytes != b.HashedBytes {
		t.Fatalf("same seed hashed %d then %d blobs", a.Hashed, b.Hashed)
	}
	if a.Hashed <= 6 || a.Hashed >= 24 {
		t.Fatalf("sample 0.5 hashed %d of 24 blobs (6 manifests always)", a.Hashed)
	}
	for _, s := range []float64{-0.1, 1.5} {
		if _, err := registry.Verify(context.Background(), d, registry.VerifyOptions{Sample: s}); err == nil {
			t.Fatalf("sample %v accepted", s)
		}
	}
}

// failingReads fails Reader and GetContent of one path.
type failingReads struct {
	driver.StorageDriver
	path  string
	reads atomic.Int32
}

var errBroken = errors.New("broken disk")

func (f *failingReads) GetContent(ctx context.Context, p string) ([]byte, error) {
	f.reads.Add(1)
	if p == f.path {
		return nil, errBroken
	}
	return f.StorageDriver.GetContent(ctx, p)
}

func TestVerifyUnreadableIsAProblem(t *testing.T) {
	d, trees := registryTree(t)
	f := &failingReads{StorageDriver: d, path: trees[0].Manifests[0].Revision}
	rep := verify(t, f, registry.VerifyOptions{})
	if got := kinds(rep); len(got) != 1 || got[0] != "unreadable "+f.path {
		t.Fatalf("problems %q", got)
	}
}

func TestVerifyCancelled(t *testing.T) {
	d, _ := registryTree(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := registry.Verify(ctx, d, registry.VerifyOptions{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Verify after cancel: %v", err)
	}
}

func TestVerifyEmptyStore(t *testing.T) {
	rep := verify(t, inmemory.New(), registry.VerifyOptions{})
	if !rep.OK() || rep.Blobs != 0 || rep.Links != 0 {
		t.Fatalf("report %+v", rep)
	}
}
