package instrument_test

import (
	"bytes"
	"context"
	"fmt"
	"log"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/inmemory"
	"github.com/stowage-dev/stowage/instrument"
)

// An Instrument is both the backend's observer and the decorator of the
// driver. A cloud backend gets it as its "observer" parameter, e.g.
//
//	d, err := driver.Open(ctx, "s3", map[string]any{
//		"bucket": "registry", "region": "us-east-1",
//		driver.ObserverParam: in,
//	})
//
// so that its retries, rate-limit waits and delete batches are counted;
// the in-memory backend here has none of those.
func ExampleNew() {
	registry := prometheus.NewRegistry() // or prometheus.DefaultRegisterer
	in := instrument.New(instrument.Options{Registerer: registry})

	var d driver.StorageDriver = inmemory.New()
	d = in.Wrap(d)

	ctx := context.Background()
	if err := d.PutContent(ctx, "/docker/registry/v2/blobs/a", []byte("layer")); err != nil {
		log.Fatal(err)
	}
	if _, err := d.Stat(ctx, "/docker/registry/v2/blobs/b"); !driver.IsNotFound(err) {
		log.Fatal(err)
	}
	if _, err := d.DeleteFiles(ctx, []string{"/docker/registry/v2/blobs/a"}); err != nil {
		log.Fatal(err)
	}

	// Serve registry with promhttp.HandlerFor, or print the counters:
	var b bytes.Buffer
	if err := in.WriteText(&b); err != nil {
		log.Fatal(err)
	}
	for _, line := range strings.Split(b.String(), "\n") {
		if strings.HasPrefix(line, "stowage_operation") && !strings.Contains(line, "duration") ||
			strings.HasPrefix(line, "stowage_written") || strings.HasPrefix(line, "stowage_delete") {
			fmt.Println(line)
		}
	}
	// Output:
	// stowage_delete_files_paths_total{driver="inmemory"} 1
	// stowage_operation_errors_total{driver="inmemory",kind="not_found",operation="Stat"} 1
	// stowage_operations_total{driver="inmemory",operation="DeleteFiles"} 1
	// stowage_operations_total{driver="inmemory",operation="PutContent"} 1
	// stowage_operations_total{driver="inmemory",operation="Stat"} 1
	// stowage_written_bytes_total{driver="inmemory",operation="PutContent"} 5
}
