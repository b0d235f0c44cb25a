package distribution

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"path"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/distribution/distribution/v3/registry/storage"
	storagedriver "github.com/distribution/distribution/v3/registry/storage/driver"
	"github.com/distribution/distribution/v3/registry/storage/driver/factory"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/stowage-dev/stowage/gc"
	"github.com/stowage-dev/stowage/registry"
)

// Repositories of the oracle's registry.
const (
	oracleRepoA = "oracle/a"
	oracleRepoB = "oracle/b"
	oracleRepoC = "oracle/c"
)

// TestGCOracle checks package gc against distribution's own collector on
// every backend: one registry is filled through the registry API with a
// tree that has every kind of garbage (a manifest deleted by digest, an
// untagged manifest, a manifest a moved tag left behind with a tag index
// entry, an OCI index and a Docker manifest list with their children,
// layers shared across repositories), the tree is copied to fresh roots,
// storage.MarkAndSweep collects one copy and gc.Run another, with and
// without untagged deletion, and the files each deleted are compared: the
// blob data files, revision links, tag index entries and every other file
// must be the same; gc's layer-link deletions must be a subset of
// distribution's, whose extra ones must name blobs both kept (the
// difference gc/doc.go documents). A registry on gc's copy then serves
// every image that should be left, verified by sha256, and answers 404
// for the manifests that should be gone.
//
// Copies: on the backends with a server, each copy is a fresh root with
// the same parameters. inmemory instances do not share a store (a second
// instance opened with the same parameters is empty), so its copies go to
// other instances rather than other prefixes: distribution's copy to a
// fresh instance from the factory, gc's copy to the instance the
// verifying registry built (captured), which is what it then serves.
func TestGCOracle(t *testing.T) {
	for _, be := range e2eBackends {
		t.Run(be.name, func(t *testing.T) { runGCOracle(t, be) })
	}
}

func runGCOracle(t *testing.T, be e2eBackend) {
	srcParams := be.params(t) // skips, or fails when required, without a server
	start := time.Now()
	t.Cleanup(func() { t.Logf("%s gc oracle: %v", be.name, time.Since(start).Round(time.Millisecond)) })
	ctx := t.Context()

	src := startRegistry(t, NamePrefix+be.name, srcParams, true)
	srcDriver := capturedDriver(t, src.slot)
	t.Cleanup(func() { cleanRoot(t, be, srcDriver, srcParams) })
	set := pushOracleSet(t, ctx, src)
	tree := driverFiles(t, ctx, srcDriver)
	t.Logf("%s: source tree of %d files", be.name, len(tree))

	for _, untagged := range []bool{false, true} {
		t.Run(fmt.Sprintf("untagged=%v", untagged), func(t *testing.T) {
			// Copy A: distribution's collector.
			paramsA := be.params(t)
			da := openCopy(t, be, paramsA)
			t.Cleanup(func() { cleanRoot(t, be, da, paramsA) })
			copyTree(t, ctx, srcDriver, da, tree)

			// Copy B: gc, on the store of the registry that verifies it.
			paramsB := be.params(t)
			regB := startRegistry(t, NamePrefix+be.name, paramsB, true)
			db := storeDriver(t, be, paramsB, regB.slot)
			t.Cleanup(func() { cleanRoot(t, be, db, paramsB) })
			copyTree(t, ctx, srcDriver, db, tree)

			beforeA, beforeB := driverFiles(t, ctx, da), driverFiles(t, ctx, db)
			if d := diffSets(beforeA, tree); len(d) > 0 {
				t.Fatalf("copy A differs from the source tree:\n%s", strings.Join(d, "\n"))
			}
			if d := diffSets(beforeB, tree); len(d) > 0 {
				t.Fatalf("copy B differs from the source tree:\n%s", strings.Join(d, "\n"))
			}

			reg, err := storage.NewRegistry(ctx, da)
			if err != nil {
				t.Fatalf("storage.NewRegistry: %v", err)
			}
			if err := storage.MarkAndSweep(ctx, da, reg, storage.GCOpts{Quiet: true, RemoveUntagged: untagged}); err != nil {
				t.Fatalf("MarkAndSweep: %v", err)
			}
			sb, ok := db.(*Driver)
			if !ok {
				t.Fatalf("driver of copy B is a %T, want *Driver", db)
			}
			rep, err := gc.Run(ctx, sb.Stowage(), gc.Options{Delete: true, MinAge: gc.NoMinAge, DeleteUntagged: untagged})
			if err != nil {
				t.Fatalf("gc.Run: %v", err)
			}
			if len(rep.Failed) > 0 || len(rep.Problems) > 0 || len(rep.DanglingLinks) > 0 {
				t.Errorf("gc report: failed %v, problems %v, dangling links %v", rep.Failed, rep.Problems, rep.DanglingLinks)
			}

			delA := minus(beforeA, driverFiles(t, ctx, da))
			delB := minus(beforeB, driverFiles(t, ctx, db))
			t.Logf("distribution deleted %d files, gc %d (report: %d deleted, %d blobs)", len(delA), len(delB), rep.Deleted, rep.DeletedBlobs)
			if rep.Deleted != len(delB) {
				t.Errorf("gc reports %d files deleted; %d are gone", rep.Deleted, len(delB))
			}
			d, extra := compareDeletions(tree, delA, delB)
			t.Logf("layer links to kept blobs only distribution deleted (documented): %d", extra)
			if extra == 0 {
				t.Error("the set does not exercise the documented layer-link difference: distribution deleted no link to a kept blob")
			}
			if len(d) > 0 {
				t.Errorf("gc (B) and distribution (A) deleted different files (untagged=%v):\n%s\nsource tree:\n%s",
					untagged, strings.Join(d, "\n"), strings.Join(slices.Sorted(maps.Keys(tree)), "\n"))
			}
			checkOracleGarbage(t, set, untagged, delB)
			verifyOracleSet(t, ctx, regB, set, untagged)
		})
	}
}

// oracleSet is what pushOracleSet pushed.
type oracleSet struct {
	// kept are the images every collection keeps, each with the tag it
	// is pulled by ("" for by digest only: index children).
	kept []oracleRef
	// untagged are the manifests no tag points at (pushed by digest, and
	// the one a moved tag left): kept without untagged deletion only.
	untagged []*testImage
	// deleted is the manifest deleted by digest through the API.
	deleted *testImage
	// indexes are the tagged OCI index and Docker manifest list.
	indexes []oracleIndex
}

type oracleRef struct {
	im  *testImage
	tag string
}

type oracleIndex struct {
	repo, tag string
	digest    v1.Hash
	children  []*testImage
}

// pushOracleSet pushes, through r, small images over three repositories
// sharing one base layer:
//
//	repo a: a1 tagged v1 and latest; u pushed by digest (untagged);
//	        old tagged moving, then new tagged moving (old keeps a tag
//	        index entry, no current tag)
//	repo b: b1 tagged v1; gone tagged gone, then deleted by digest;
//	        a Docker manifest list tagged list over two Docker images
//	repo c: an OCI index tagged multi over two OCI images, one of which
//	        has gone's own layer (see shared below)
func pushOracleSet(t *testing.T, ctx context.Context, r *testRegistry) *oracleSet {
	t.Helper()
	rng := rand.NewChaCha8([32]byte{'o', 'r', 'a', 'c', 'l', 'e'})
	data := func(n int) []byte {
		b := make([]byte, n)
		_, _ = rng.Read(b) // never fails
		return b
	}
	base := data(4<<10 + 1)
	// shared is the own layer of the manifest deleted by digest in repo b
	// and of an OCI index child in repo c: distribution, walking b before
	// c, deletes b's link to it; gc keeps a link to a kept blob.
	shared := data(3<<10 + 7)
	n := 0
	mk := func(repo string, docker bool, own ...[]byte) *testImage {
		t.Helper()
		n++
		lt, mt, ct := types.OCIUncompressedLayer, types.OCIManifestSchema1, types.OCIConfigJSON
		if docker {
			lt, mt, ct = types.DockerLayer, types.DockerManifestSchema2, types.DockerConfigJSON
		}
		if len(own) == 0 {
			own = [][]byte{data(2<<10 + n)}
		}
		layers := []v1.Layer{static.NewLayer(base, lt)}
		for _, b := range own {
			layers = append(layers, static.NewLayer(b, lt))
		}
		img, err := mutate.AppendLayers(empty.Image, layers...)
		if err != nil {
			t.Fatal(err)
		}
		img = mutate.ConfigMediaType(mutate.MediaType(img, mt), ct)
		m, err := img.Manifest()
		if err != nil {
			t.Fatal(err)
		}
		im := &testImage{repo: repo, img: img, config: m.Config, layers: m.Layers}
		if im.digest, err = img.Digest(); err != nil {
			t.Fatal(err)
		}
		return im
	}
	opts := r.remoteOptions(ctx)
	push := func(im *testImage, tag string) {
		t.Helper()
		var ref name.Reference = r.repo(t, im.repo).Tag(tag)
		if tag == "" {
			ref = im.ref(t, r)
		}
		if err := remote.Write(ref, im.img, opts...); err != nil {
			t.Fatalf("push %s as %s: %v", im.repo, ref, err)
		}
	}
	set := &oracleSet{}

	a1 := mk(oracleRepoA, false)
	push(a1, "v1")
	if err := remote.Tag(r.repo(t, oracleRepoA).Tag("latest"), a1.img, opts...); err != nil {
		t.Fatalf("tag %s:latest: %v", oracleRepoA, err)
	}
	set.kept = append(set.kept, oracleRef{a1, "v1"}, oracleRef{a1, "latest"})
	u := mk(oracleRepoA, false)
	push(u, "")
	old, cur := mk(oracleRepoA, false), mk(oracleRepoA, false)
	push(old, "moving")
	push(cur, "moving")
	set.untagged = append(set.untagged, u, old)
	set.kept = append(set.kept, oracleRef{cur, "moving"})

	b1 := mk(oracleRepoB, false)
	push(b1, "v1")
	set.kept = append(set.kept, oracleRef{b1, "v1"})
	gone := mk(oracleRepoB, false, shared)
	push(gone, "gone")
	r.expect(t, ctx, http.StatusAccepted, http.MethodDelete, "/v2/"+gone.repo+"/manifests/"+gone.digest.String(), nil, nil)
	set.deleted = gone

	index := func(repo, tag string, mt types.MediaType, docker bool, own ...[]byte) {
		t.Helper()
		children := []*testImage{mk(repo, docker), mk(repo, docker, own...)}
		idx := mutate.IndexMediaType(empty.Index, mt)
		for i, c := range children {
			idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: c.img, Descriptor: v1.Descriptor{
				Platform: &v1.Platform{OS: "linux", Architecture: []string{"amd64", "arm64"}[i]},
			}})
			set.kept = append(set.kept, oracleRef{c, ""})
		}
		if err := remote.WriteIndex(r.repo(t, repo).Tag(tag), idx, opts...); err != nil {
			t.Fatalf("push index %s:%s: %v", repo, tag, err)
		}
		d, err := idx.Digest()
		if err != nil {
			t.Fatal(err)
		}
		set.indexes = append(set.indexes, oracleIndex{repo: repo, tag: tag, digest: d, children: children})
	}
	index(oracleRepoB, "list", types.DockerManifestList, true)
	index(oracleRepoC, "multi", types.OCIImageIndex, false, shared, data(1<<10+3))
	return set
}

// checkOracleGarbage checks that gc deleted what the set makes garbage:
// the deleted manifest's blob, and with untagged deletion the untagged
// manifests' revision links.
func checkOracleGarbage(t *testing.T, set *oracleSet, untagged bool, deleted map[string]bool) {
	t.Helper()
	if !deleted[blobDataPath(set.deleted.digest)] {
		t.Errorf("gc left the blob of the manifest deleted by digest, %s", set.deleted.digest)
	}
	for _, im := range set.untagged {
		p := revisionLinkPath(im.repo, im.digest)
		if deleted[p] != untagged {
			t.Errorf("untagged manifest %s@%s: revision link deleted %v, want %v", im.repo, im.digest, deleted[p], untagged)
		}
	}
}

// revisionLinkPath is the driver path of a manifest's revision link.
func revisionLinkPath(repo string, d v1.Hash) string {
	return path.Join("/docker/registry/v2/repositories", repo, "_manifests/revisions", d.Algorithm, d.Hex, "link")
}

// verifyOracleSet pulls from r every image of set that must be left and
// checks that the manifests that must be gone answer 404.
func verifyOracleSet(t *testing.T, ctx context.Context, r *testRegistry, set *oracleSet, untagged bool) {
	t.Helper()
	for _, k := range set.kept {
		verifyImage(t, ctx, r, k.im, k.im.ref(t, r))
		if k.tag != "" {
			verifyImage(t, ctx, r, k.im, r.repo(t, k.im.repo).Tag(k.tag))
		}
	}
	for _, x := range set.indexes {
		idx, err := remote.Index(r.repo(t, x.repo).Tag(x.tag), r.remoteOptions(ctx)...)
		if err != nil {
			t.Fatalf("pull index %s:%s: %v", x.repo, x.tag, err)
		}
		raw, err := idx.RawManifest()
		if err != nil {
			t.Fatalf("index %s:%s: %v", x.repo, x.tag, err)
		}
		if got := sha256Hash(raw); got != x.digest {
			t.Fatalf("index %s:%s: sha256 %s, want %s", x.repo, x.tag, got, x.digest)
		}
		for _, c := range x.children {
			img, err := idx.Image(c.digest)
			if err != nil {
				t.Fatalf("index %s:%s: child %s: %v", x.repo, x.tag, c.digest, err)
			}
			if d, err := img.Digest(); err != nil || d != c.digest {
				t.Fatalf("index %s:%s: child digest %s, %v; want %s", x.repo, x.tag, d, err, c.digest)
			}
		}
	}
	gone := []*testImage{set.deleted}
	if untagged {
		gone = append(gone, set.untagged...)
	} else {
		for _, im := range set.untagged {
			verifyImage(t, ctx, r, im, im.ref(t, r))
		}
	}
	accept := http.Header{"Accept": {strings.Join([]string{
		string(types.OCIManifestSchema1), string(types.DockerManifestSchema2),
		string(types.OCIImageIndex), string(types.DockerManifestList),
	}, ", ")}}
	for _, im := range gone {
		if got := r.status(t, ctx, http.MethodGet, "/v2/"+im.repo+"/manifests/"+im.digest.String(), accept); got != http.StatusNotFound {
			t.Errorf("GET manifest %s@%s after gc: status %d, want 404", im.repo, im.digest, got)
		}
	}
}

// openCopy opens a driver on a fresh root with params (for inmemory, a
// fresh store).
func openCopy(t *testing.T, be e2eBackend, params map[string]any) storagedriver.StorageDriver {
	t.Helper()
	d, err := factory.Create(context.Background(), NamePrefix+be.name, maps.Clone(params))
	if err != nil {
		t.Fatalf("factory.Create(%s%s): %v", NamePrefix, be.name, err)
	}
	return d
}

// driverFiles returns the path of every file under d's root.
func driverFiles(t *testing.T, ctx context.Context, d storagedriver.StorageDriver) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	err := d.Walk(ctx, "/", func(fi storagedriver.FileInfo) error {
		if !fi.IsDir() {
			out[fi.Path()] = true
		}
		return nil
	})
	var nf storagedriver.PathNotFoundError
	if err != nil && !errors.As(err, &nf) {
		t.Fatalf("Walk(/): %v", err)
	}
	return out
}

// copyTree copies the files named from src to dst, at the same paths.
func copyTree(t *testing.T, ctx context.Context, src, dst storagedriver.StorageDriver, files map[string]bool) {
	t.Helper()
	for _, p := range slices.Sorted(maps.Keys(files)) {
		b, err := src.GetContent(ctx, p)
		if err != nil {
			t.Fatalf("copy: GetContent(%s): %v", p, err)
		}
		if err := dst.PutContent(ctx, p, b); err != nil {
			t.Fatalf("copy: PutContent(%s): %v", p, err)
		}
	}
}

// minus returns the elements of a not in b.
func minus(a, b map[string]bool) map[string]bool {
	out := map[string]bool{}
	for p := range a {
		if !b[p] {
			out[p] = true
		}
	}
	return out
}

// diffSets lists, path by path, how got differs from want.
func diffSets(got, want map[string]bool) []string {
	var out []string
	for _, p := range slices.Sorted(maps.Keys(minus(want, got))) {
		out = append(out, "  missing    "+p)
	}
	for _, p := range slices.Sorted(maps.Keys(minus(got, want))) {
		out = append(out, "  unexpected "+p)
	}
	return out
}

// compareDeletions compares the files distribution deleted (dist) and
// those gc deleted (ours), and lists every difference but the documented
// one, path by path: a layer link only distribution deleted, to a blob
// both kept.
func compareDeletions(tree, dist, ours map[string]bool) (out []string, extraLinks int) {
	for _, p := range slices.Sorted(maps.Keys(minus(ours, dist))) {
		out = append(out, "  only gc deleted:           "+p)
	}
	for _, p := range slices.Sorted(maps.Keys(minus(dist, ours))) {
		l, ok := registry.ParseLink(registry.RootPath, p)
		if !ok || l.Kind != registry.LayerLink {
			out = append(out, "  only distribution deleted: "+p)
			continue
		}
		d, data := l.Named, registry.BlobPath(registry.RootPath, l.Named)
		if !tree[data] || dist[data] || ours[data] {
			out = append(out, fmt.Sprintf("  only distribution deleted: %s (a layer link to blob %s: stored %v, deleted by distribution %v, by gc %v)", p, d, tree[data], dist[data], ours[data]))
			continue
		}
		extraLinks++
	}
	return out, extraLinks
}
