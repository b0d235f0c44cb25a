package layout_test

import (
	"context"
	"fmt"

	"github.com/stowage-dev/stowage/inmemory"
	"github.com/stowage-dev/stowage/layout"
)

// A registry tree of 2 manifests with 3 tags each: a garbage collector
// deleting both manifests removes 2 revision links and 6 tag index links.
func ExampleGenerate() {
	tree, err := layout.Generate(layout.Spec{
		Repository:        "library/app",
		Manifests:         2,
		Tags:              3,
		LayersPerManifest: 1,
		Seed:              1,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("files:", len(tree.Files), "GC paths:", len(tree.GCPaths()))

	ctx := context.Background()
	d := inmemory.New()
	if err := tree.Write(ctx, d, 4, nil); err != nil {
		fmt.Println(err)
		return
	}
	n, err := tree.DeleteBatched(ctx, d)
	fmt.Println("deleted:", n, err)

	left, _ := d.List(ctx, "/docker/registry/v2/repositories/library/app")
	fmt.Println(left)
	// Output:
	// files: 14 GC paths: 8
	// deleted: 8 <nil>
	// [/docker/registry/v2/repositories/library/app/_layers]
}
