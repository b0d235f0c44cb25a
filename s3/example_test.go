package s3_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/url"

	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/s3"
)

// Open the backend from a registry's storage parameters, here for a MinIO
// server. Building the driver sends no request; URLFor only signs.
func Example() {
	ctx := context.Background()
	d, err := driver.Open(ctx, "s3", map[string]any{
		"bucket":          "registry",
		"region":          "us-east-1",
		"regionendpoint":  "http://127.0.0.1:9000",
		"forcepathstyle":  true,
		"accesskey":       "minioadmin",
		"secretkey":       "minioadmin",
		"rootdirectory":   "/docker",
		"chunksize":       "10mb",
		"deletebatchsize": 1000,
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(d.Name())

	link, err := d.URLFor(ctx, "/registry/v2/blobs/sha256/ab/abcd/data", map[string]any{"method": "HEAD"})
	if err != nil {
		log.Fatal(err)
	}
	u, _ := url.Parse(link)
	fmt.Println(u.Scheme + "://" + u.Host + u.Path)
	fmt.Println("expires in", u.Query().Get("X-Amz-Expires"), "seconds")
	// Output:
	// s3
	// http://127.0.0.1:9000/registry/docker/registry/v2/blobs/sha256/ab/abcd/data
	// expires in 1200 seconds
}

// FromParameters shows the settings a parameter map resolves to.
func ExampleFromParameters() {
	c, err := s3.FromParameters(map[string]any{
		"bucket":          "registry",
		"regionendpoint":  "minio.internal:9000",
		"secure":          false,
		"deletebatchsize": 5000, // capped at S3's limit
		"maxretries":      "8",
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(c.RegionEndpoint, c.Region, c.ForcePathStyle)
	fmt.Println(c.ChunkSize>>20, "MiB parts,", c.DeleteBatchSize, "keys per delete,", c.MaxRetries, "retries")
	// Output:
	// http://minio.internal:9000 us-east-1 true
	// 10 MiB parts, 1000 keys per delete, 8 retries
}

// DeleteFiles removes many files in DeleteObjects requests of 1,000 keys
// and reports each path it could not delete.
func ExampleDriver_DeleteFiles() {
	ctx := context.Background()
	d, err := s3.New(ctx, s3.Config{Bucket: "registry", Region: "eu-west-1", CommonConfig: driver.CommonConfig{RootDirectory: "docker"}})
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
