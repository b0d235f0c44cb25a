package swift_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/swift"
)

// FromParameters shows the settings a registry's storage.swift section
// resolves to. It sends no request.
func ExampleFromParameters() {
	c, err := swift.FromParameters(map[string]any{
		"authurl":       "https://keystone.example/v3",
		"username":      "registry",
		"password":      "secret",
		"tenant":        "cloud",
		"domain":        "Default",
		"container":     "registry",
		"rootdirectory": "/docker",
		"chunksize":     "32mb",
		"maxretries":    "8",
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(c.Container, c.SegmentsContainer, c.RootDirectory)
	fmt.Println(c.ChunkSize>>20, "MiB segments,", c.MaxRetries, "retries, URLFor methods", c.TempURLMethods)
	// Output:
	// registry registry_segments docker
	// 32 MiB segments, 8 retries, URLFor methods [GET HEAD]
}

// Open the backend from a registry's storage parameters (it authenticates
// and reads /info), then delete many files in bulk-delete requests of up
// to 10,000 names, reporting each path that could not be deleted.
func Example() {
	ctx := context.Background()
	d, err := driver.Open(ctx, "swift", map[string]any{
		"authurl":   "http://127.0.0.1:8080/auth/v1.0",
		"username":  "test:tester",
		"password":  "testing",
		"container": "registry",
		"prefix":    "docker",
	})
	if err != nil {
		log.Fatal(err)
	}
	n, err := d.DeleteFiles(ctx, []string{
		"/registry/v2/repositories/app/_manifests/revisions/sha256/aa/link",
		"/registry/v2/repositories/app/_manifests/tags/v1/index/sha256/aa/link",
	})
	var failed *driver.DeleteFilesError
	if errors.As(err, &failed) {
		for _, f := range failed.Failures {
			log.Printf("not deleted: %s: %v", f.Path, f.Err)
		}
	} else if err != nil {
		log.Fatal(err)
	}
	fmt.Println(n, "deleted")
}
