package gc_test

import (
	"context"
	"fmt"

	"github.com/stowage-dev/stowage/gc"
	"github.com/stowage-dev/stowage/inmemory"
	"github.com/stowage-dev/stowage/layout"
)

// Collect a registry whose manifest was deleted: a dry run plans the
// deletions, a run with Delete carries them out.
func ExampleRun() {
	ctx := context.Background()
	d := inmemory.New()
	tree, _ := layout.Generate(layout.Spec{Repository: "library/app", Manifests: 2, Tags: 1, LayersPerManifest: 1, Seed: 1, Complete: true})
	if err := tree.Write(ctx, d, 4, nil); err != nil {
		fmt.Println(err)
		return
	}
	// Delete the first manifest as the registry API does: its revision
	// link and its tag.
	m := tree.Manifests[0]
	_, _ = d.DeleteFiles(ctx, append([]string{m.Revision}, m.TagLinks...))
	_ = d.Delete(ctx, "/docker/registry/v2/repositories/library/app/_manifests/tags/"+layout.TagName(0, 0))

	// The tree was written just now: NoMinAge judges it by references
	// alone (only while nothing is pushed).
	plan, err := gc.Run(ctx, d, gc.Options{MinAge: gc.NoMinAge})
	fmt.Println("plan:", len(plan.BlobPaths()), "blobs,", len(plan.LinkPaths()), "links,", plan.DeleteBytes() > 0, err)

	rep, err := gc.Run(ctx, d, gc.Options{MinAge: gc.NoMinAge, Delete: true})
	fmt.Println("deleted:", rep.Deleted, "files,", rep.DeletedBlobs, "blobs,", err)
	// Output:
	// plan: 3 blobs, 1 links, true <nil>
	// deleted: 4 files, 3 blobs, <nil>
}
