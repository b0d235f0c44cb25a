package azure_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/url"

	"github.com/stowage-dev/stowage/azure"
	"github.com/stowage-dev/stowage/driver"
)

// Open the backend from a registry's storage parameters, here for an
// Azurite emulator. Building the driver sends no request; URLFor only
// signs.
func Example() {
	ctx := context.Background()
	d, err := driver.Open(ctx, "azure", map[string]any{
		"accountname":     "devstoreaccount1",
		"accountkey":      "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==",
		"container":       "registry",
		"serviceurl":      "http://127.0.0.1:10000/devstoreaccount1",
		"rootdirectory":   "/docker",
		"chunksize":       "8mb",
		"deletebatchsize": 256,
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
	fmt.Println("permissions", u.Query().Get("sp"), "protocols", u.Query().Get("spr"))
	// Output:
	// azure
	// http://127.0.0.1:10000/devstoreaccount1/registry/docker/registry/v2/blobs/sha256/ab/abcd/data
	// permissions r protocols https,http
}

// FromParameters shows the settings a parameter map resolves to.
func ExampleFromParameters() {
	c, err := azure.FromParameters(map[string]any{
		"accountname":     "myaccount",
		"accountkey":      "c2VjcmV0",
		"container":       "registry",
		"deletebatchsize": 1000, // capped at the blob batch limit
		"maxretries":      "8",
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(c.ServiceURL)
	fmt.Println(c.ChunkSize>>20, "MiB blocks,", c.DeleteBatchSize, "blobs per batch,", c.MaxRetries, "retries")
	// Output:
	// https://myaccount.blob.core.windows.net
	// 8 MiB blocks, 256 blobs per batch, 8 retries
}

// DeleteFiles removes many files in blob batches of 256 deletes and
// reports each path it could not delete.
func ExampleDriver_DeleteFiles() {
	ctx := context.Background()
	d, err := azure.New(ctx, azure.Config{
		AccountName: "myaccount", AccountKey: "c2VjcmV0", Container: "registry",
		CommonConfig: driver.CommonConfig{RootDirectory: "docker"},
	})
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

// The credentials of distribution's azure driver: an AKS workload or
// managed identity (default_credentials), a service principal
// (client_secret), or a connection string. Parsing sends no request.
func ExampleFromParameters_credentials() {
	for _, params := range []map[string]any{
		{"accountname": "myaccount", "container": "registry",
			"credentials": map[string]any{"type": "default_credentials"}},
		{"accountname": "myaccount", "container": "registry",
			"credentials": map[string]any{"type": "client_secret", "tenantid": "t", "clientid": "c", "secret": "s"}},
		{"container": "registry",
			"connectionstring": "DefaultEndpointsProtocol=https;AccountName=myaccount;AccountKey=c2VjcmV0;EndpointSuffix=core.usgovcloudapi.net"},
		{"container": "registry", "connectionstring": "UseDevelopmentStorage=true"},
	} {
		c, err := azure.FromParameters(params)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%q %s key=%v\n", c.Credentials.Type, c.ServiceURL, c.AccountKey != "")
	}
	// Output:
	// "default_credentials" https://myaccount.blob.core.windows.net key=false
	// "client_secret" https://myaccount.blob.core.windows.net key=false
	// "" https://myaccount.blob.core.usgovcloudapi.net key=true
	// "" http://127.0.0.1:10000/devstoreaccount1 key=true
}
