package bench_test

import (
	"context"
	"fmt"

	"github.com/stowage-dev/stowage/inmemory"
	"github.com/stowage-dev/stowage/internal/bench"
	"github.com/stowage-dev/stowage/layout"
)

// Run measures the delete matrix on a backend and leaves nothing behind.
func ExampleRun() {
	ctx := context.Background()
	d := inmemory.New()
	rep, err := bench.Run(ctx, bench.Config{
		Driver:    d,
		Prefix:    "/stowage-bench-example",
		Workloads: []string{bench.WorkloadDelete},
		Matrix:    []layout.DeleteCell{{Manifests: 10, Tags: 1}, {Manifests: 100, Tags: 20}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, c := range rep.Delete {
		fmt.Println(c.Cell, c.Files, "files")
	}
	left, _ := d.List(ctx, "/")
	fmt.Println("left:", len(left))
	// Output:
	// 10x1 20 files
	// 100x20 2100 files
	// left: 0
}
