package filesystem_test

import (
	"testing"

	"github.com/stowage-dev/stowage/conformance"
)

func BenchmarkFilesystem(b *testing.B) {
	conformance.Benchmark(b, harness())
}
