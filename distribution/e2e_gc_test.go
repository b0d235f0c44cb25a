package distribution

import (
	"context"
	"path"
	"sort"
	"strings"
	"testing"

	"github.com/distribution/distribution/v3/registry/storage"
	storagedriver "github.com/distribution/distribution/v3/registry/storage/driver"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// blobsRoot is where distribution keeps blob data, under the driver's root.
const blobsRoot = "/docker/registry/v2/blobs"

// blobDataPath is the driver path of a blob's data.
func blobDataPath(d v1.Hash) string {
	return path.Join(blobsRoot, d.Algorithm, d.Hex[:2], d.Hex, "data")
}

// storedBlobs walks the blob store of d and returns every blob whose data
// file is there, with the data's size.
func storedBlobs(t *testing.T, ctx context.Context, d storagedriver.StorageDriver) map[v1.Hash]int64 {
	t.Helper()
	out := map[v1.Hash]int64{}
	err := d.Walk(ctx, blobsRoot, func(fi storagedriver.FileInfo) error {
		if fi.IsDir() || path.Base(fi.Path()) != "data" {
			return nil
		}
		// .../blobs/sha256/xx/<hex>/data
		parts := strings.Split(strings.TrimPrefix(fi.Path(), blobsRoot+"/"), "/")
		if len(parts) != 4 {
			t.Errorf("unexpected blob store entry %s", fi.Path())
			return nil
		}
		out[v1.Hash{Algorithm: parts[0], Hex: parts[2]}] = fi.Size()
		return nil
	})
	if err != nil {
		t.Fatalf("Walk(%s): %v", blobsRoot, err)
	}
	return out
}

// garbageCollect runs distribution's own mark-and-sweep over d, with a
// registry namespace of its own, as `registry garbage-collect` does.
func garbageCollect(t *testing.T, ctx context.Context, d storagedriver.StorageDriver) {
	t.Helper()
	reg, err := storage.NewRegistry(ctx, d)
	if err != nil {
		t.Fatalf("storage.NewRegistry: %v", err)
	}
	if err := storage.MarkAndSweep(ctx, d, reg, storage.GCOpts{Quiet: true}); err != nil {
		t.Fatalf("MarkAndSweep: %v", err)
	}
}

// diffBlobs describes how got differs from want: missing and unexpected
// blobs, and size mismatches. It is empty when they are equal.
func diffBlobs(got, want map[v1.Hash]int64) []string {
	var out []string
	for d, n := range want {
		m, ok := got[d]
		switch {
		case !ok:
			out = append(out, "missing "+d.String())
		case m != n:
			out = append(out, "wrong size "+d.String())
		}
	}
	for d := range got {
		if _, ok := want[d]; !ok {
			out = append(out, "unexpected "+d.String())
		}
	}
	sort.Strings(out)
	return out
}
