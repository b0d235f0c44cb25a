package distribution_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/distribution/distribution/v3/registry/storage/driver/factory"

	_ "github.com/stowage-dev/stowage/distribution"
)

// A registry names a stowage backend as its storage driver; distribution's
// factory builds it with the backend's own parameters.
func Example() {
	ctx := context.Background()
	root, err := os.MkdirTemp("", "stowage-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(root)

	d, err := factory.Create(ctx, "stowage-filesystem", map[string]any{"rootdirectory": root})
	if err != nil {
		log.Fatal(err)
	}
	if err := d.PutContent(ctx, "/docker/registry/v2/hello", []byte("hello, registry")); err != nil {
		log.Fatal(err)
	}
	b, err := d.GetContent(ctx, "/docker/registry/v2/hello")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(d.Name(), string(b))

	_, err = d.Stat(ctx, "/docker/registry/v2/missing")
	fmt.Println(err)
	// Output:
	// stowage-filesystem hello, registry
	// stowage-filesystem: Path not found: /docker/registry/v2/missing
}
