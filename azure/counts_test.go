package azure_test

import (
	"context"
	"slices"
	"testing"

	"github.com/stowage-dev/stowage/internal/cloudtest"
)

// DeleteFiles of 2,000 distinct paths: exactly ceil(2000/256) = 8 blob
// batch requests and nothing else, and the blobs are gone for an
// independent client. 256 paths take one batch, 257 take two.
func TestCountDeleteFiles(t *testing.T) {
	d, o := cloudtest.CountDeleteFiles2000(t, backend(), map[string]int{"SubmitBatch": 8})
	for _, tc := range []struct{ n, batches int }{{256, 1}, {257, 2}} {
		// Absent paths count as deleted: no need to create them.
		n, err := d.DeleteFiles(context.Background(), cloudtest.Numbered("/absent", tc.n))
		if err != nil || n != tc.n {
			t.Fatalf("DeleteFiles(%d absent paths) = %d, %v", tc.n, n, err)
		}
		cloudtest.WantOps(t, "DeleteFiles of absent paths", o.Take(), map[string]int{"SubmitBatch": tc.batches})
	}
}

// DeleteFiles with one invalid path sends no request and deletes nothing.
func TestCountDeleteFilesInvalidPath(t *testing.T) {
	cloudtest.CountDeleteFilesInvalidPath(t, backend())
}

// Walk over 2,500 blobs sends one list request (pages of 5,000), List of
// their parent one; Delete of the directory holding them sends one List
// Blobs and ceil(2500/256) = 10 batches and leaves the prefix siblings.
func TestCountWalkAndDelete2500(t *testing.T) {
	cloudtest.CountWalkAndDelete2500(t, backend(), cloudtest.WalkDeleteCounts{
		Walk:   map[string]int{"ListBlobs": 1},
		List:   map[string]int{"ListBlobs": 1},
		Delete: map[string]int{"ListBlobs": 1, "SubmitBatch": 10},
	})
}

// A directory skipped with ErrSkipDir that spans pages (of 5,000 blobs)
// is jumped over with a new StartFrom, not paged through; a start-after
// hint (past 5,500 files) goes to the server as StartFrom.
func TestWalkSkipJumpsAhead(t *testing.T) {
	if testing.Short() {
		t.Skip("stores 6,000 blobs")
	}
	cloudtest.WalkSkipJumpsAhead(t, backend(), 6000, 5500, "ListBlobs")
}

// Single-blob operations cost one request each; Move three (the source's
// ETag, the pinned copy, the conditional delete); URLFor none.
func TestCountSingleOps(t *testing.T) {
	root := freshRoot(t)
	d, _, o := backend().Counting(t, root)
	ctx := context.Background()
	check := func(what string, err error, want map[string]int) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		cloudtest.WantOps(t, what, o.Take(), want)
	}
	check("PutContent", d.PutContent(ctx, "/d/f", []byte("content")), map[string]int{"PutBlob": 1})
	_, err := d.GetContent(ctx, "/d/f")
	check("GetContent", err, map[string]int{"GetBlob": 1})
	_, err = d.Stat(ctx, "/d/f")
	check("Stat of a file", err, map[string]int{"GetBlobProperties": 1})
	_, err = d.Stat(ctx, "/d")
	check("Stat of a directory", err, map[string]int{"GetBlobProperties": 1, "ListBlobs": 1})
	rc, err := d.Reader(ctx, "/d/f", 7)
	if err == nil {
		rc.Close()
	}
	check("Reader at the end", err, map[string]int{"GetBlob": 1})
	_, err = d.URLFor(ctx, "/d/f", nil)
	check("URLFor", err, map[string]int{})
	check("Move", d.Move(ctx, "/d/f", "/e/g"), map[string]int{"GetBlobProperties": 1, "CopyBlob": 1, "DeleteBlob": 1})
	if got, want := newIndependent(t).names(root+"/"), []string{root + "/e/g"}; !slices.Equal(got, want) {
		t.Errorf("azblob lists %v after Move, want %v", got, want)
	}
}
