package registry_test

import (
	"context"
	"fmt"

	"github.com/stowage-dev/stowage/inmemory"
	"github.com/stowage-dev/stowage/layout"
	"github.com/stowage-dev/stowage/registry"
)

// Verify a registry, then damage one layer and verify again.
func ExampleVerify() {
	ctx := context.Background()
	d := inmemory.New()
	tree, _ := layout.Generate(layout.Spec{Repository: "library/app", Manifests: 2, Tags: 1, LayersPerManifest: 1, Seed: 1, Complete: true})
	if err := tree.Write(ctx, d, 4, nil); err != nil {
		fmt.Println(err)
		return
	}
	rep, err := registry.Verify(ctx, d, registry.VerifyOptions{})
	fmt.Println(rep.OK(), rep.Blobs, "blobs,", rep.Links, "links,", err)

	layer := tree.Manifests[0].LayerBlobs[0]
	_ = d.PutContent(ctx, layer, []byte("not the layer"))
	rep, _ = registry.Verify(ctx, d, registry.VerifyOptions{})
	for _, p := range rep.Problems {
		fmt.Println(p.Kind, p.Path == layer)
	}
	// Output:
	// true 6 blobs, 8 links, <nil>
	// truncated true
}
