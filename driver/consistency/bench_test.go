package consistency_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/driver/consistency"
	"github.com/stowage-dev/stowage/inmemory"
)

// BenchmarkOverhead measures what the wrapper costs over plain inmemory,
// which is strongly consistent, so that no call ever waits: each case runs
// on the bare driver and through the wrapper. "recorded" means the files
// were written through the wrapper within its window, so that reads check
// them and listings merge them; "unrecorded" means the wrapper knows
// nothing under the path and passes the call straight through.
func BenchmarkOverhead(b *testing.B) {
	ctx := context.Background()
	// make returns the driver to measure and the store under it, which
	// setup may fill behind the wrapper's back.
	drivers := []struct {
		name string
		make func() (d, store driver.StorageDriver)
	}{
		{"bare", func() (driver.StorageDriver, driver.StorageDriver) {
			m := inmemory.New()
			return m, m
		}},
		{"wrapped", func() (driver.StorageDriver, driver.StorageDriver) {
			m := inmemory.New()
			return consistency.Wrap(m, consistency.Options{}), m
		}},
	}
	files := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf("/d/sub%02d/f%04d", i%10, i)
		}
		return out
	}
	fill := func(b *testing.B, d driver.StorageDriver, paths []string) {
		for _, p := range paths {
			if err := d.PutContent(ctx, p, []byte(p)); err != nil {
				b.Fatal(err)
			}
		}
	}
	cases := []struct {
		name  string
		setup func(b *testing.B, d, store driver.StorageDriver)
		op    func(b *testing.B, d driver.StorageDriver, i int)
	}{
		{
			name: "PutContent1KiB",
			op: func(b *testing.B, d driver.StorageDriver, i int) {
				if err := d.PutContent(ctx, fmt.Sprintf("/p/f%d", i%1000), make([]byte, 1024)); err != nil {
					b.Fatal(err)
				}
			},
		},
		{
			name:  "GetContent1KiB/recorded",
			setup: func(b *testing.B, d, store driver.StorageDriver) { mustPut(b, d, "/f", make([]byte, 1024)) },
			op: func(b *testing.B, d driver.StorageDriver, i int) {
				if _, err := d.GetContent(ctx, "/f"); err != nil {
					b.Fatal(err)
				}
			},
		},
		{
			name:  "Stat/recorded",
			setup: func(b *testing.B, d, store driver.StorageDriver) { mustPut(b, d, "/f", make([]byte, 1024)) },
			op: func(b *testing.B, d driver.StorageDriver, i int) {
				if _, err := d.Stat(ctx, "/f"); err != nil {
					b.Fatal(err)
				}
			},
		},
		{
			name:  "Stat/unrecorded",
			setup: func(b *testing.B, d, store driver.StorageDriver) { mustPut(b, store, "/f", make([]byte, 1024)) },
			op: func(b *testing.B, d driver.StorageDriver, i int) {
				if _, err := d.Stat(ctx, "/f"); err != nil {
					b.Fatal(err)
				}
			},
		},
		{
			name:  "List1000/recorded",
			setup: func(b *testing.B, d, store driver.StorageDriver) { fill(b, d, files(1000)) },
			op: func(b *testing.B, d driver.StorageDriver, i int) {
				if _, err := d.List(ctx, "/d/sub03"); err != nil {
					b.Fatal(err)
				}
			},
		},
		{
			name: "List1000/recordedDeletes",
			setup: func(b *testing.B, d, store driver.StorageDriver) {
				fs := files(1000)
				fill(b, d, fs)
				if _, err := d.DeleteFiles(ctx, fs[:50]); err != nil {
					b.Fatal(err)
				}
			},
			op: func(b *testing.B, d driver.StorageDriver, i int) {
				if _, err := d.List(ctx, "/d"); err != nil {
					b.Fatal(err)
				}
			},
		},
		{
			name:  "List1000/unrecorded",
			setup: func(b *testing.B, d, store driver.StorageDriver) { fill(b, store, files(1000)) },
			op: func(b *testing.B, d driver.StorageDriver, i int) {
				if _, err := d.List(ctx, "/d/sub03"); err != nil {
					b.Fatal(err)
				}
			},
		},
		{
			name:  "Walk1000/unrecorded",
			setup: func(b *testing.B, d, store driver.StorageDriver) { fill(b, store, files(1000)) },
			op: func(b *testing.B, d driver.StorageDriver, i int) {
				if err := d.Walk(ctx, "/d", func(driver.FileInfo) error { return nil }); err != nil {
					b.Fatal(err)
				}
			},
		},
		{
			name:  "Walk1000/recorded",
			setup: func(b *testing.B, d, store driver.StorageDriver) { fill(b, d, files(1000)) },
			op: func(b *testing.B, d driver.StorageDriver, i int) {
				if err := d.Walk(ctx, "/d", func(driver.FileInfo) error { return nil }); err != nil {
					b.Fatal(err)
				}
			},
		},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			for _, dr := range drivers {
				b.Run(dr.name, func(b *testing.B) {
					d, store := dr.make()
					if c.setup != nil {
						c.setup(b, d, store)
					}
					b.ReportAllocs()
					b.ResetTimer()
					for i := 0; b.Loop(); i++ {
						c.op(b, d, i)
					}
				})
			}
		})
	}
}

func mustPut(b *testing.B, d driver.StorageDriver, p string, content []byte) {
	if err := d.PutContent(context.Background(), p, content); err != nil {
		b.Fatal(err)
	}
}
