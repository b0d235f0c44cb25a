package instrument_test

import (
	"maps"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/stowage-dev/stowage/instrument"
)

// newInstrument returns an Instrument with its own registry and a
// recorder of its spans.
func newInstrument(t *testing.T) (*instrument.Instrument, *tracetest.SpanRecorder) {
	t.Helper()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	return instrument.New(instrument.Options{TracerProvider: tp}), rec
}

// sample is one gathered series: a counter's value, or a histogram's
// count and sum.
type sample struct {
	value, count, sum float64
	found             bool
}

// scrape gathers g and returns the series of metric name whose labels
// are exactly labels.
func scrape(t *testing.T, g prometheus.Gatherer, name string, labels map[string]string) sample {
	t.Helper()
	families, err := g.Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			got := map[string]string{}
			for _, l := range m.GetLabel() {
				got[l.GetName()] = l.GetValue()
			}
			if !maps.Equal(got, labels) {
				continue
			}
			s := sample{found: true}
			switch {
			case m.Counter != nil:
				s.value = m.Counter.GetValue()
			case m.Histogram != nil:
				s.count = float64(m.Histogram.GetSampleCount())
				s.sum = m.Histogram.GetSampleSum()
			}
			return s
		}
	}
	return sample{}
}

// value is the value of a counter series, 0 when there is none.
func value(t *testing.T, g prometheus.Gatherer, name string, labels map[string]string) float64 {
	t.Helper()
	return scrape(t, g, name, labels).value
}

// lbl builds a label set from pairs.
func lbl(kv ...string) map[string]string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}
