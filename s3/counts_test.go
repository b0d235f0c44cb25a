package s3_test

import (
	"testing"

	"github.com/stowage-dev/stowage/internal/cloudtest"
)

// DeleteFiles of 2,000 distinct paths: exactly 2 DeleteObjects requests and
// nothing else, and the keys are gone for an independent client.
func TestCountDeleteFiles2000(t *testing.T) {
	cloudtest.CountDeleteFiles2000(t, backend(), map[string]int{"DeleteObjects": 2})
}

// DeleteFiles with one invalid path sends no request and deletes nothing.
func TestCountDeleteFilesInvalidPath(t *testing.T) {
	cloudtest.CountDeleteFilesInvalidPath(t, backend())
}

// Walk over 2,500 keys sends 3 list requests; List of their parent one;
// Delete of the directory holding them sends 3 ListObjectsV2 and 3
// DeleteObjects and leaves the prefix siblings.
func TestCountWalkAndDelete2500(t *testing.T) {
	cloudtest.CountWalkAndDelete2500(t, backend(), cloudtest.WalkDeleteCounts{
		Walk:   map[string]int{"ListObjectsV2": 3},
		List:   map[string]int{"ListObjectsV2": 1},
		Delete: map[string]int{"ListObjectsV2": 3, "DeleteObjects": 3},
	})
}

// A directory skipped with ErrSkipDir that spans pages (of 1,000 keys) is
// jumped over with a new StartAfter, not paged through; a start-after hint
// goes to the server as StartAfter.
func TestWalkSkipJumpsAhead(t *testing.T) {
	cloudtest.WalkSkipJumpsAhead(t, backend(), 2500, 2000, "ListObjectsV2")
}
