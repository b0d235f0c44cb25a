package distribution

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"testing"
	"time"

	storagedriver "github.com/distribution/distribution/v3/registry/storage/driver"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// TestE2E runs distribution's registry, in process, on each stowage
// backend through the adapter, and drives it with go-containerregistry
// and the raw registry API: pushes (one layer in a chunked upload), pulls
// verified by sha256, catalog and tag listing, deletes by digest,
// distribution's own garbage collector, a resumed upload and redirects.
// Backends run one after the other: the machine is small and shared.
func TestE2E(t *testing.T) {
	for _, be := range e2eBackends {
		t.Run(be.name, func(t *testing.T) { runE2E(t, be) })
	}
}

func runE2E(t *testing.T, be e2eBackend) {
	params := be.params(t) // skips, or fails when required, without a server
	start := time.Now()
	t.Cleanup(func() { t.Logf("%s end-to-end: %v", be.name, time.Since(start).Round(time.Millisecond)) })
	ctx := t.Context()

	// Redirects are disabled for the main run: the registry serves every
	// blob itself, so every pull below reads through the adapter's Reader
	// rather than straight from the backend's server (the redirect step
	// at the end covers RedirectURL).
	reg := startRegistry(t, NamePrefix+be.name, params, true)
	if got := capturedDriver(t, reg.slot).Stowage().Name(); got != be.name {
		t.Fatalf("registry stores on stowage backend %q, want %q", got, be.name)
	}
	sd := storeDriver(t, be, params, reg.slot)
	t.Cleanup(func() { cleanRoot(t, be, sd, params) })

	images := imageSet(t)
	kept, gone, all := blobSets(images)
	checkImageSet(t, images, kept, gone)

	step := func(name string, f func(t *testing.T)) {
		t.Helper()
		if !t.Run(name, f) {
			t.FailNow() // later steps depend on this one
		}
	}

	step("push", func(t *testing.T) {
		// The big layer goes up first by a chunked upload, several PATCH
		// requests each resuming the upload's writer; go-containerregistry
		// then finds it present and pushes the rest (one streaming PATCH
		// per blob).
		big := images[0]
		bigDesc := big.layers[len(big.layers)-1]
		if patches := uploadChunked(t, ctx, reg, big.repo, big.bigLayer, bigDesc.Digest); patches < 2 {
			t.Fatalf("chunked upload took %d PATCH requests, want several", patches)
		}
		if got := reg.status(t, ctx, http.MethodHead, "/v2/"+big.repo+"/blobs/"+bigDesc.Digest.String(), nil); got != http.StatusOK {
			t.Fatalf("HEAD of the chunk-uploaded blob: status %d, want 200", got)
		}
		for _, im := range images {
			pushImage(t, ctx, reg, im)
		}
	})

	step("pull", func(t *testing.T) {
		for _, im := range images {
			verifyImage(t, ctx, reg, im, im.tagRef(t, reg, 0))
			verifyTag(t, ctx, reg, im, 1)
			if _, err := remote.Head(im.ref(t, reg), reg.remoteOptions(ctx)...); err != nil {
				t.Fatalf("HEAD %s by digest: %v", im, err)
			}
		}
	})

	step("catalog and tags", func(t *testing.T) {
		checkCatalog(t, ctx, reg, []string{repoAlpha, repoBeta})
		checkTags(t, ctx, reg, images, false)
	})

	step("store before gc", func(t *testing.T) {
		if diff := diffBlobs(storedBlobs(t, ctx, sd), all); len(diff) > 0 {
			t.Fatalf("blob store after the pushes differs from the pushed blobs: %v", diff)
		}
	})

	step("delete", func(t *testing.T) {
		for _, im := range images {
			if im.deleted {
				reg.expect(t, ctx, http.StatusAccepted, http.MethodDelete, "/v2/"+im.repo+"/manifests/"+im.digest.String(), nil, nil)
			}
		}
		for _, im := range images {
			checkManifest(t, ctx, reg, im)
		}
		checkTags(t, ctx, reg, images, true)
	})

	step("gc", func(t *testing.T) {
		garbageCollect(t, ctx, sd)
		after := storedBlobs(t, ctx, sd)
		removed := map[v1.Hash]int64{}
		for d, n := range all {
			if _, ok := after[d]; !ok {
				removed[d] = n
			}
		}
		if diff := diffBlobs(removed, gone); len(diff) > 0 {
			t.Errorf("garbage collection removed other blobs than those only deleted images used: %v", diff)
		}
		if diff := diffBlobs(after, kept); len(diff) > 0 {
			t.Errorf("blob store after garbage collection differs from the kept images' blobs: %v", diff)
		}
		for d, n := range kept {
			fi, err := sd.Stat(ctx, blobDataPath(d))
			if err != nil || fi.Size() != n {
				t.Errorf("kept blob %s: Stat(%s) = %v, %v; want %d bytes", d, blobDataPath(d), fi, err, n)
			}
		}
		for d := range gone {
			var nf storagedriver.PathNotFoundError
			if _, err := sd.Stat(ctx, blobDataPath(d)); !errors.As(err, &nf) {
				t.Errorf("collected blob %s: Stat(%s) error %v, want PathNotFoundError", d, blobDataPath(d), err)
			}
		}
	})

	step("after gc", func(t *testing.T) {
		for _, im := range images {
			for d := range im.blobs() {
				if d == im.digest {
					continue // manifests are not blobs of the repository's blob API
				}
				want := http.StatusOK
				if _, ok := gone[d]; ok {
					want = http.StatusNotFound
				} else if im.deleted {
					continue // a blob of a deleted image that a kept one shares; checked there
				}
				if got := reg.status(t, ctx, http.MethodHead, "/v2/"+im.repo+"/blobs/"+d.String(), nil); got != want {
					t.Errorf("HEAD blob %s in %s after gc: status %d, want %d", d, im.repo, got, want)
				}
			}
		}
		for _, im := range images {
			if im.deleted {
				checkManifest(t, ctx, reg, im)
				continue
			}
			verifyImage(t, ctx, reg, im, im.ref(t, reg))
			verifyTag(t, ctx, reg, im, 0)
			verifyTag(t, ctx, reg, im, 1)
		}
	})

	step("resumed upload", func(t *testing.T) {
		data := make([]byte, 5<<20+777)
		for i := range data {
			data[i] = byte(i*7 + i>>13)
		}
		dgst := sha256Hash(data)
		const first, cut = 2<<20 + 3, 2<<20 + 5
		off := uploadResumed(t, ctx, reg, "e2e/resume", data, first, cut, dgst)
		t.Logf("upload of %d bytes, then %d of a cut-off PATCH, resumed at offset %d", first, cut, off)
		fetchBlob(t, ctx, reg, "e2e/resume", dgst, int64(len(data)))
		fi, err := sd.Stat(ctx, blobDataPath(dgst))
		if err != nil || fi.Size() != int64(len(data)) {
			t.Fatalf("resumed blob in the store: Stat = %v, %v; want %d bytes", fi, err, len(data))
		}
	})

	step("redirect", func(t *testing.T) {
		checkRedirect(t, ctx, be, params)
	})
}

// cleanRoot deletes what the test stored under its root on a shared
// server, unless the test failed (the root is logged then, to look at).
func cleanRoot(t *testing.T, be e2eBackend, sd storagedriver.StorageDriver, params map[string]any) {
	if be.sharedInstance {
		return // the store goes with the driver
	}
	if t.Failed() {
		t.Logf("%s: the test's files are left in place under root %v", be.name, params["rootdirectory"])
		return
	}
	ctx := context.Background()
	entries, err := sd.List(ctx, "/")
	if err != nil {
		t.Errorf("cleaning up: List(/): %v", err)
		return
	}
	for _, p := range entries {
		if err := sd.Delete(ctx, p); err != nil {
			t.Errorf("cleaning up: Delete(%s): %v", p, err)
		}
	}
}

// checkImageSet checks that the image set exercises what the suite means
// to: a base layer in every image, a layer a deleted image shares with a
// kept one, and blobs only deleted images use.
func checkImageSet(t *testing.T, images []*testImage, kept, gone map[v1.Hash]int64) {
	t.Helper()
	base := images[0].layers[0].Digest
	repos := map[string]bool{}
	for _, im := range images {
		if im.layers[0].Digest != base {
			t.Fatalf("image %s does not share the base layer", im)
		}
		repos[im.repo] = true
	}
	if len(images) < 6 || len(repos) < 2 {
		t.Fatalf("image set has %d images in %d repositories, want at least 6 in 2", len(images), len(repos))
	}
	cross := images[1].layers[2].Digest
	if _, ok := kept[cross]; !ok || !images[1].deleted {
		t.Fatal("image set lacks a layer shared by a deleted and a kept image")
	}
	if len(gone) < 4 {
		t.Fatalf("only %d blobs are used by deleted images alone", len(gone))
	}
}

// checkManifest checks that im's manifest answers by digest and by both
// tags: 200 for a kept image, 404 for a deleted one.
func checkManifest(t *testing.T, ctx context.Context, r *testRegistry, im *testImage) {
	t.Helper()
	want := http.StatusOK
	if im.deleted {
		want = http.StatusNotFound
	}
	accept := http.Header{"Accept": {"application/vnd.oci.image.manifest.v1+json"}}
	for _, ref := range []string{im.digest.String(), im.tags[0], im.tags[1]} {
		if got := r.status(t, ctx, http.MethodGet, "/v2/"+im.repo+"/manifests/"+ref, accept); got != want {
			t.Errorf("GET manifest %s:%s: status %d, want %d", im.repo, ref, got, want)
		}
	}
}

// checkCatalog checks the registry's catalog in full and a page at a time
// (which walks with a start-after hint and stops with ErrFilledBuffer).
func checkCatalog(t *testing.T, ctx context.Context, r *testRegistry, want []string) {
	t.Helper()
	var full struct{ Repositories []string }
	_, b := r.expect(t, ctx, http.StatusOK, http.MethodGet, "/v2/_catalog", nil, nil)
	if err := json.Unmarshal(b, &full); err != nil {
		t.Fatalf("catalog: %v: %s", err, b)
	}
	if !slices.Equal(full.Repositories, want) {
		t.Fatalf("catalog %v, want %v", full.Repositories, want)
	}
	var paged []string
	target := "/v2/_catalog?n=1"
	for i := 0; target != "" && i <= len(want); i++ {
		resp, b := r.expect(t, ctx, http.StatusOK, http.MethodGet, target, nil, nil)
		var page struct{ Repositories []string }
		if err := json.Unmarshal(b, &page); err != nil {
			t.Fatalf("catalog page: %v: %s", err, b)
		}
		paged = append(paged, page.Repositories...)
		target = nextLink(resp.Header.Get("Link"))
	}
	if !slices.Equal(paged, want) {
		t.Fatalf("catalog by pages of 1: %v, want %v", paged, want)
	}
}

// nextLink returns the target of a Link: <...>; rel="next" header.
func nextLink(h string) string {
	if len(h) < 2 || h[0] != '<' {
		return ""
	}
	end := 1
	for end < len(h) && h[end] != '>' {
		end++
	}
	return h[1:end]
}

// checkTags checks each repository's tag list: every image's two tags, or,
// after the deletes, the kept images' only.
func checkTags(t *testing.T, ctx context.Context, r *testRegistry, images []*testImage, afterDelete bool) {
	t.Helper()
	want := map[string][]string{}
	for _, im := range images {
		if _, ok := want[im.repo]; !ok {
			want[im.repo] = []string{}
		}
		if afterDelete && im.deleted {
			continue
		}
		want[im.repo] = append(want[im.repo], im.tags[0], im.tags[1])
	}
	for repo, tags := range want {
		slices.Sort(tags)
		_, b := r.expect(t, ctx, http.StatusOK, http.MethodGet, "/v2/"+repo+"/tags/list", nil, nil)
		var got struct{ Tags []string }
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("tags of %s: %v: %s", repo, err, b)
		}
		slices.Sort(got.Tags)
		if !slices.Equal(got.Tags, tags) {
			t.Errorf("tags of %s: %v, want %v", repo, got.Tags, tags)
		}
	}
}
