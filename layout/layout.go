// Package layout generates registry-shaped trees: the files a
// distribution-style registry keeps (blobs, revision, tag index and layer
// links) with real SHA-256 digests, written through any StorageDriver and
// deleted either one path at a time, as distribution's garbage collector
// does, or with DeleteFiles. The benchmarks, the stowage bench command and
// the tests build their workloads with it.
package layout

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"sync"

	"github.com/stowage-dev/stowage/driver"
)

// RegistryRoot is where a distribution-style registry keeps its data,
// relative to the storage driver's root.
const RegistryRoot = "/docker/registry/v2"

// Spec describes a registry-shaped tree: one repository holding Manifests
// image manifests, each with Tags tags of its own and LayersPerManifest
// layer blobs, laid out as distribution's registry lays them out:
//
//	<Prefix>/docker/registry/v2/repositories/<repo>/_manifests/revisions/sha256/<hex>/link
//	<Prefix>/docker/registry/v2/repositories/<repo>/_manifests/tags/<tag>/index/sha256/<hex>/link
//	<Prefix>/docker/registry/v2/repositories/<repo>/_layers/sha256/<hex>/link
//	<Prefix>/docker/registry/v2/blobs/sha256/<hex[:2]>/<hex>/data
//
// Digests are real: every blob's digest is the SHA-256 of its content, so a
// generated tree can also be verified. The same Spec (Seed included)
// always generates the same tree.
type Spec struct {
	// Prefix is prepended to every path: "" puts the registry at the
	// driver's root, "/bench-1" puts it under /bench-1. It must be empty or
	// a valid path.
	Prefix string
	// Repository is the repository name, e.g. "library/app"; "" means
	// "bench/app". Each component must be a valid path component.
	Repository string
	// Manifests is the number of image manifests (M).
	Manifests int
	// Tags is the number of tags per manifest (T); each manifest's tags are
	// its own, so the tree holds M·T tag index links.
	Tags int
	// LayersPerManifest is the number of layer blobs each manifest
	// references (with a _layers link each); 0 means none.
	LayersPerManifest int
	// LayerSize is the size of each layer blob in bytes; 0 means 64.
	LayerSize int
	// Seed makes the content (and so the digests) reproducible.
	Seed uint64
	// Complete also writes what a real push leaves besides the files a
	// garbage collector deletes: each manifest's config blob and each
	// tag's current link, so that the tree is a registry whose every
	// manifest resolves (registry.Verify passes on it). The delete and
	// walk workloads leave it off, so their file counts stay M + M·T.
	Complete bool
}

// File is one file of a generated tree.
type File struct {
	Path    string
	Content []byte
}

// Tree is a generated registry tree: the files to write and the
// subset a garbage collector deleting every manifest of the repository
// would remove.
type Tree struct {
	// Spec is what the tree was generated from.
	Spec Spec
	// Files is every file of the tree, sorted by path.
	Files []File
	// Manifests lists, per manifest, the paths distribution's garbage
	// collector removes when it deletes that manifest (see ManifestPaths).
	Manifests []ManifestPaths
}

// ManifestPaths are the paths a garbage collector removes for one manifest:
// the index link of each of its tags, then its revision link (the order of
// distribution's vacuum.RemoveManifest).
type ManifestPaths struct {
	// Digest is the manifest's digest, "sha256:<hex>".
	Digest string
	// TagLinks are the index links of the manifest's tags.
	TagLinks []string
	// Revision is the manifest's revision link.
	Revision string
	// BlobPath is the manifest blob's data file; the collector's blob
	// sweep removes it later, so it is not one of the GC paths.
	BlobPath string
	// LayerBlobs are the data files of the manifest's layers.
	LayerBlobs []string
}

// Generate builds the tree l describes. It fails only on a Prefix or
// Repository that would make invalid paths, or on negative counts.
func Generate(l Spec) (*Tree, error) {
	if l.Repository == "" {
		l.Repository = "bench/app"
	}
	if l.LayerSize == 0 {
		l.LayerSize = 64
	}
	if l.Manifests < 0 || l.Tags < 0 || l.LayersPerManifest < 0 || l.LayerSize < 0 {
		return nil, fmt.Errorf("layout: negative count in %+v", l)
	}
	if l.Prefix != "" {
		if err := driver.ValidatePath("layout", l.Prefix); err != nil {
			return nil, fmt.Errorf("layout: prefix: %w", err)
		}
	}
	base := l.Prefix + RegistryRoot
	repo := base + "/repositories/" + l.Repository
	if err := driver.ValidatePath("layout", repo); err != nil {
		return nil, fmt.Errorf("layout: repository: %w", err)
	}

	rng := rand.New(rand.NewPCG(l.Seed, 0x5707a9e))
	t := &Tree{Spec: l}
	blobs := map[string][]byte{} // digest hex -> content; layers may repeat
	links := map[string][]byte{}
	blobPath := func(hex string) string {
		return base + "/blobs/sha256/" + hex[:2] + "/" + hex + "/data"
	}
	for m := 0; m < l.Manifests; m++ {
		var layers []string
		for i := 0; i < l.LayersPerManifest; i++ {
			content := make([]byte, l.LayerSize)
			fillRandom(rng, content)
			h := digestHex(content)
			blobs[h] = content
			links[repo+"/_layers/sha256/"+h+"/link"] = []byte("sha256:" + h)
			layers = append(layers, h)
		}
		config := configJSON(m, l.Seed)
		manifest := manifestJSON(config, layers, l.LayerSize)
		mh := digestHex(manifest)
		blobs[mh] = manifest
		if l.Complete {
			blobs[digestHex(config)] = config
		}
		mp := ManifestPaths{
			Digest:   "sha256:" + mh,
			Revision: repo + "/_manifests/revisions/sha256/" + mh + "/link",
			BlobPath: blobPath(mh),
		}
		links[mp.Revision] = []byte(mp.Digest)
		for tag := 0; tag < l.Tags; tag++ {
			p := repo + "/_manifests/tags/" + TagName(m, tag) + "/index/sha256/" + mh + "/link"
			links[p] = []byte(mp.Digest)
			mp.TagLinks = append(mp.TagLinks, p)
			if l.Complete {
				links[repo+"/_manifests/tags/"+TagName(m, tag)+"/current/link"] = []byte(mp.Digest)
			}
		}
		for _, h := range layers {
			mp.LayerBlobs = append(mp.LayerBlobs, blobPath(h))
		}
		t.Manifests = append(t.Manifests, mp)
	}
	for h, c := range blobs {
		t.Files = append(t.Files, File{Path: blobPath(h), Content: c})
	}
	for p, c := range links {
		t.Files = append(t.Files, File{Path: p, Content: c})
	}
	sort.Slice(t.Files, func(i, j int) bool { return t.Files[i].Path < t.Files[j].Path })
	return t, nil
}

// TagName is the name of manifest m's tag number t in a generated tree.
func TagName(m, t int) string { return fmt.Sprintf("v%d.%d", m, t) }

func fillRandom(rng *rand.Rand, b []byte) {
	for i := 0; i < len(b); i += 8 {
		v := rng.Uint64()
		for j := 0; j < 8 && i+j < len(b); j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
}

func digestHex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// configJSON is manifest m's image config; the index and the seed make
// every manifest distinct even without layers.
func configJSON(m int, seed uint64) []byte {
	return fmt.Appendf(nil, `{"architecture":"amd64","os":"linux","config":{"Labels":{"dev.stowage.bench":"%d-%d"}}}`, seed, m)
}

// manifestJSON is a small OCI image manifest of the config and the layers
// (of layerSize bytes each).
func manifestJSON(config []byte, layers []string, layerSize int) []byte {
	type desc struct {
		MediaType string `json:"mediaType"`
		Digest    string `json:"digest"`
		Size      int    `json:"size"`
	}
	v := struct {
		SchemaVersion int    `json:"schemaVersion"`
		MediaType     string `json:"mediaType"`
		Config        desc   `json:"config"`
		Layers        []desc `json:"layers"`
	}{
		SchemaVersion: 2,
		MediaType:     "application/vnd.oci.image.manifest.v1+json",
		Config:        desc{MediaType: "application/vnd.oci.image.config.v1+json", Digest: "sha256:" + digestHex(config), Size: len(config)},
		Layers:        []desc{},
	}
	for _, h := range layers {
		v.Layers = append(v.Layers, desc{MediaType: "application/vnd.oci.image.layer.v1.tar+gzip", Digest: "sha256:" + h, Size: layerSize})
	}
	out, err := json.Marshal(v)
	if err != nil {
		panic(err) // plain structs always marshal
	}
	return out
}

// Paths returns the path of every file of the tree, sorted.
func (t *Tree) Paths() []string {
	out := make([]string, len(t.Files))
	for i, f := range t.Files {
		out[i] = f.Path
	}
	return out
}

// Size returns the total size of the tree's files in bytes.
func (t *Tree) Size() int64 {
	var n int64
	for _, f := range t.Files {
		n += int64(len(f.Content))
	}
	return n
}

// GCPaths returns the paths a garbage collector deleting every manifest
// removes: per manifest its tag index links and its revision link, M + M·T
// paths in all, in the collector's order.
func (t *Tree) GCPaths() []string {
	var out []string
	for _, m := range t.Manifests {
		out = append(out, m.TagLinks...)
		out = append(out, m.Revision)
	}
	return out
}

// GCFiles returns the files of GCPaths with their content, to write them
// back after a delete.
func (t *Tree) GCFiles() []File {
	gc := make(map[string]bool)
	for _, p := range t.GCPaths() {
		gc[p] = true
	}
	var out []File
	for _, f := range t.Files {
		if gc[f.Path] {
			out = append(out, f)
		}
	}
	return out
}

// WriteFiles writes files to d with PutContent, up to concurrency at once
// (at least 1), calling progress (when not nil) after each file with the
// number written so far. It stops at the first error and returns it, with
// the path that failed.
func WriteFiles(ctx context.Context, d driver.StorageDriver, files []File, concurrency int, progress func(done int)) error {
	var (
		mu   sync.Mutex
		done int
	)
	return driver.ForEach(ctx, len(files), concurrency, func(ctx context.Context, i int) error {
		if err := d.PutContent(ctx, files[i].Path, files[i].Content); err != nil {
			return fmt.Errorf("write %s: %w", files[i].Path, err)
		}
		if progress != nil {
			mu.Lock()
			done++
			progress(done)
			mu.Unlock()
		}
		return nil
	})
}

// Write writes every file of the tree to d; see WriteFiles.
func (t *Tree) Write(ctx context.Context, d driver.StorageDriver, concurrency int, progress func(done int)) error {
	return WriteFiles(ctx, d, t.Files, concurrency, progress)
}

// DeleteOneByOne deletes every manifest of the tree the way distribution's
// garbage collector does (vacuum.RemoveManifest): for each tag, Stat the
// tag's index link and Delete it; then Delete the revision link. One path
// per call, sequentially. progress (when not nil) is called after each
// deleted path with the number deleted so far. It returns the number of
// paths deleted; a path already gone is skipped, as the collector skips it,
// and not counted.
func (t *Tree) DeleteOneByOne(ctx context.Context, d driver.StorageDriver, progress func(done int)) (int, error) {
	n := 0
	del := func(p string) error {
		if err := d.Delete(ctx, p); err != nil {
			return fmt.Errorf("delete %s: %w", p, err)
		}
		n++
		if progress != nil {
			progress(n)
		}
		return nil
	}
	for _, m := range t.Manifests {
		for _, p := range m.TagLinks {
			if _, err := d.Stat(ctx, p); err != nil {
				var nf *driver.PathNotFoundError
				if errors.As(err, &nf) {
					continue
				}
				return n, fmt.Errorf("stat %s: %w", p, err)
			}
			if err := del(p); err != nil {
				return n, err
			}
		}
		if err := del(m.Revision); err != nil {
			return n, err
		}
	}
	return n, nil
}

// DeleteBatched deletes the same paths as DeleteOneByOne with one
// DeleteFiles call and returns its result.
func (t *Tree) DeleteBatched(ctx context.Context, d driver.StorageDriver) (int, error) {
	return d.DeleteFiles(ctx, t.GCPaths())
}

// DeleteCell is one cell of the delete matrix: Manifests manifests with
// Tags tags each, so Manifests + Manifests·Tags paths to delete.
type DeleteCell struct {
	Manifests int
	Tags      int
}

// String gives the cell as "MxT", e.g. "100x20".
func (c DeleteCell) String() string { return fmt.Sprintf("%dx%d", c.Manifests, c.Tags) }

// Files is the number of paths a garbage collector deletes for the cell:
// one revision link per manifest plus one index link per tag.
func (c DeleteCell) Files() int { return c.Manifests + c.Manifests*c.Tags }

// DefaultDeleteMatrix is the delete matrix of the reference measurement.
var DefaultDeleteMatrix = []DeleteCell{{1, 0}, {1, 1}, {10, 0}, {10, 1}, {100, 0}, {100, 1}, {100, 20}}
