package distribution

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Repositories of the image set.
const (
	repoAlpha = "e2e/alpha"
	repoBeta  = "e2e/beta"
)

// bigLayerSize is the size of the layer uploaded in chunks: above every
// backend's default part/block/segment size (s3 10 MiB, gcs 16 MiB, azure
// 8 MiB, swift 20 MiB), and not a multiple of anything.
const bigLayerSize = 24<<20 + 12345

// testImage is one image of the set, with everything needed to verify it.
type testImage struct {
	repo    string
	tags    [2]string
	img     v1.Image
	digest  v1.Hash
	config  v1.Descriptor
	layers  []v1.Descriptor
	deleted bool // deleted by digest before the garbage collection
	// bigLayer is the data of the layer pushed by a chunked upload, if the
	// image has one.
	bigLayer []byte
}

// blobs returns the digests of every blob the image uses (manifest, config
// and layers) with their sizes.
func (im *testImage) blobs() map[v1.Hash]int64 {
	raw, _ := im.img.RawManifest()
	m := map[v1.Hash]int64{im.digest: int64(len(raw)), im.config.Digest: im.config.Size}
	for _, l := range im.layers {
		m[l.Digest] = l.Size
	}
	return m
}

// ref returns the image's reference by digest on r.
func (im *testImage) ref(t *testing.T, r *testRegistry) name.Digest {
	t.Helper()
	d, err := name.NewDigest(r.repo(t, im.repo).String()+"@"+im.digest.String(), name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// tagRef returns the image's reference by its i-th tag on r.
func (im *testImage) tagRef(t *testing.T, r *testRegistry, i int) name.Tag {
	t.Helper()
	return r.repo(t, im.repo).Tag(im.tags[i])
}

func (im *testImage) String() string {
	return fmt.Sprintf("%s@%s (%s, %s)", im.repo, im.digest, im.tags[0], im.tags[1])
}

// imageSet builds the six images of the suite over two repositories:
//
//	#  repo   layers                 fate
//	0  alpha  base, u0, big          kept   (big: 24 MiB, chunked upload)
//	1  alpha  base, u1, cross        deleted (cross is also in #4: stays)
//	2  alpha  base, u2, pair         deleted (pair is only in #2 and #5: goes)
//	3  beta   base, u3               kept
//	4  beta   base, u4, cross        kept
//	5  beta   base, u5, pair         deleted
//
// The base layer is in every image, in both repositories. Contents are
// pseudo-random from a fixed seed; each image has two tags.
func imageSet(t *testing.T) []*testImage {
	t.Helper()
	rng := rand.NewChaCha8([32]byte{'s', 't', 'o', 'w', 'a', 'g', 'e'})
	data := func(n int) []byte {
		b := make([]byte, n)
		_, _ = rng.Read(b) // never fails
		return b
	}
	layer := func(b []byte) v1.Layer { return static.NewLayer(b, types.OCIUncompressedLayer) }

	base := layer(data(1<<20 + 17))
	cross := layer(data(300<<10 + 3))
	pair := layer(data(200<<10 + 5))
	big := data(bigLayerSize)

	type spec struct {
		repo    string
		extra   []v1.Layer
		deleted bool
		big     bool
	}
	specs := []spec{
		{repo: repoAlpha, big: true},
		{repo: repoAlpha, extra: []v1.Layer{cross}, deleted: true},
		{repo: repoAlpha, extra: []v1.Layer{pair}, deleted: true},
		{repo: repoBeta},
		{repo: repoBeta, extra: []v1.Layer{cross}},
		{repo: repoBeta, extra: []v1.Layer{pair}, deleted: true},
	}
	var out []*testImage
	for i, s := range specs {
		layers := []v1.Layer{base, layer(data(64<<10 + 100*i))}
		layers = append(layers, s.extra...)
		im := &testImage{repo: s.repo, tags: [2]string{fmt.Sprintf("v%d", i), fmt.Sprintf("img%d-alt", i)}, deleted: s.deleted}
		if s.big {
			im.bigLayer = big
			layers = append(layers, layer(big))
		}
		img, err := mutate.AppendLayers(empty.Image, layers...)
		if err != nil {
			t.Fatal(err)
		}
		img = mutate.MediaType(img, types.OCIManifestSchema1)
		img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
		m, err := img.Manifest()
		if err != nil {
			t.Fatal(err)
		}
		im.img = img
		im.config = m.Config
		im.layers = m.Layers
		if im.digest, err = img.Digest(); err != nil {
			t.Fatal(err)
		}
		out = append(out, im)
	}
	return out
}

// blobSets returns the blobs of the kept images and those only deleted
// images use: what garbage collection must keep and remove.
func blobSets(images []*testImage) (kept, gone, all map[v1.Hash]int64) {
	kept, gone, all = map[v1.Hash]int64{}, map[v1.Hash]int64{}, map[v1.Hash]int64{}
	for _, im := range images {
		for d, n := range im.blobs() {
			all[d] = n
			if !im.deleted {
				kept[d] = n
			}
		}
	}
	for d, n := range all {
		if _, ok := kept[d]; !ok {
			gone[d] = n
		}
	}
	return kept, gone, all
}

// pushImage pushes im to r under both its tags with go-containerregistry.
func pushImage(t *testing.T, ctx context.Context, r *testRegistry, im *testImage) {
	t.Helper()
	opts := r.remoteOptions(ctx)
	if err := remote.Write(im.tagRef(t, r, 0), im.img, opts...); err != nil {
		t.Fatalf("push %s: %v", im, err)
	}
	if err := remote.Tag(im.tagRef(t, r, 1), im.img, opts...); err != nil {
		t.Fatalf("tag %s: %v", im, err)
	}
}

// verifyImage pulls im from r by ref with go-containerregistry and checks
// the sha256 of its manifest, config and every layer.
func verifyImage(t *testing.T, ctx context.Context, r *testRegistry, im *testImage, ref name.Reference) {
	t.Helper()
	img, err := remote.Image(ref, r.remoteOptions(ctx)...)
	if err != nil {
		t.Fatalf("pull %s as %s: %v", im, ref, err)
	}
	raw, err := img.RawManifest()
	if err != nil {
		t.Fatalf("pull %s: manifest: %v", ref, err)
	}
	if got := sha256Hash(raw); got != im.digest {
		t.Fatalf("pull %s: manifest sha256 %s, want %s", ref, got, im.digest)
	}
	cfg, err := img.RawConfigFile()
	if err != nil {
		t.Fatalf("pull %s: config: %v", ref, err)
	}
	if got := sha256Hash(cfg); got != im.config.Digest || int64(len(cfg)) != im.config.Size {
		t.Fatalf("pull %s: config sha256 %s (%d bytes), want %s (%d)", ref, got, len(cfg), im.config.Digest, im.config.Size)
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatalf("pull %s: layers: %v", ref, err)
	}
	if len(layers) != len(im.layers) {
		t.Fatalf("pull %s: %d layers, want %d", ref, len(layers), len(im.layers))
	}
	for i, l := range layers {
		rc, err := l.Compressed()
		if err != nil {
			t.Fatalf("pull %s: layer %d (%s): %v", ref, i, im.layers[i].Digest, err)
		}
		h := sha256.New()
		n, err := io.Copy(h, rc)
		rc.Close()
		if err != nil {
			t.Fatalf("pull %s: layer %d (%s): read after %d bytes: %v", ref, i, im.layers[i].Digest, n, err)
		}
		got := v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(h.Sum(nil))}
		if got != im.layers[i].Digest || n != im.layers[i].Size {
			t.Fatalf("pull %s: layer %d: sha256 %s (%d bytes), want %s (%d)", ref, i, got, n, im.layers[i].Digest, im.layers[i].Size)
		}
	}
}

// verifyTag checks that tag i of im resolves to im's digest on r.
func verifyTag(t *testing.T, ctx context.Context, r *testRegistry, im *testImage, i int) {
	t.Helper()
	desc, err := remote.Head(im.tagRef(t, r, i), r.remoteOptions(ctx)...)
	if err != nil {
		t.Fatalf("HEAD %s:%s: %v", im.repo, im.tags[i], err)
	}
	if desc.Digest != im.digest {
		t.Fatalf("%s:%s resolves to %s, want %s", im.repo, im.tags[i], desc.Digest, im.digest)
	}
}

func sha256Hash(b []byte) v1.Hash {
	s := sha256.Sum256(b)
	return v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(s[:])}
}
