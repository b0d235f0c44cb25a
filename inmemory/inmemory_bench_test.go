package inmemory_test

import (
	"testing"

	"github.com/stowage-dev/stowage/conformance"
)

func BenchmarkInmemory(b *testing.B) {
	conformance.Benchmark(b, harness())
}
