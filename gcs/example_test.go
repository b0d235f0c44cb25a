package gcs_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/gcs"
)

// Open the backend from a registry's storage parameters, here for
// fake-gcs-server. Building the driver sends no request.
func Example() {
	ctx := context.Background()
	d, err := driver.Open(ctx, "gcs", map[string]any{
		"bucket":        "registry",
		"endpoint":      "http://127.0.0.1:4443/storage/v1/", // an emulator: no credentials
		"rootdirectory": "/docker",
		"chunksize":     "16mb",
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(d.Name())
	_, err = d.URLFor(ctx, "/registry/v2/blobs/sha256/ab/abcd/data", nil)
	fmt.Println(errors.Is(err, driver.ErrUnsupportedMethod)) // no key to sign with
	// Output:
	// gcs
	// true
}

// FromParameters shows the settings a parameter map resolves to.
func ExampleFromParameters() {
	c, err := gcs.FromParameters(map[string]any{
		"bucket":          "registry",
		"rootdirectory":   "/docker/",
		"deletebatchsize": 1000, // capped at the JSON batch limit
		"maxretries":      "8",
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(c.Endpoint, c.RootDirectory)
	fmt.Println(c.ChunkSize>>20, "MiB parts,", c.DeleteBatchSize, "deletes per batch,", c.MaxRetries, "retries")
	// Output:
	// https://storage.googleapis.com/storage/v1/ docker
	// 16 MiB parts, 100 deletes per batch, 8 retries
}

// DeleteFiles removes many files in JSON batch requests of 100 deletes and
// reports each path it could not delete.
func ExampleDriver_DeleteFiles() {
	ctx := context.Background()
	d, err := gcs.New(ctx, gcs.Config{Bucket: "registry", KeyFile: "/etc/registry/gcs-key.json"})
	if err != nil {
		log.Fatal(err)
	}
	paths := []string{
		"/registry/v2/repositories/app/_manifests/revisions/sha256/aa/link",
		"/registry/v2/repositories/app/_manifests/tags/v1/index/sha256/aa/link",
	}
	n, err := d.DeleteFiles(ctx, paths)
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
