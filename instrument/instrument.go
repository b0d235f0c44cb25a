package instrument

import (
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/trace"

	"github.com/stowage-dev/stowage/driver"
)

// DefaultNamespace is the prefix of every metric name when
// Options.Namespace is empty.
const DefaultNamespace = "stowage"

// tracerName is the instrumentation scope of the spans.
const tracerName = "github.com/stowage-dev/stowage/instrument"

// Options configure New.
type Options struct {
	// Registerer is where the metrics are registered as well, e.g.
	// prometheus.DefaultRegisterer. nil: only in the Instrument's own
	// registry (Registry). When the Registerer already holds an
	// identical collector (another Instrument of the same namespace),
	// that collector is used, so both count into the same series.
	Registerer prometheus.Registerer
	// TracerProvider makes the spans; nil: otel.GetTracerProvider().
	TracerProvider trace.TracerProvider
	// Namespace prefixes every metric name; "" is DefaultNamespace.
	Namespace string
}

// Instrument holds the metrics and the tracer. Wrap decorates drivers with
// it, and it is the driver.Observer to give those drivers' backends. All
// its methods are safe for concurrent use.
type Instrument struct {
	registry *prometheus.Registry
	tracer   trace.Tracer

	ops, opErrors    *prometheus.CounterVec
	duration         *prometheus.HistogramVec
	readBytes, wrote *prometheus.CounterVec
	walkEntries      *prometheus.CounterVec
	deletePaths      *prometheus.CounterVec
	deleteFailures   *prometheus.CounterVec
	retries          *prometheus.CounterVec
	rateWaits        *prometheus.CounterVec
	rateWaitSeconds  *prometheus.CounterVec
	batchSize        *prometheus.HistogramVec
	batchFailures    *prometheus.CounterVec
}

var _ driver.Observer = (*Instrument)(nil)

// durationBuckets span a fast local call to a slow multi-gigabyte commit.
var durationBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120}

// batchBuckets hold every provider's bulk-delete limit as a bound (GCS 100,
// Azure 256, S3 1,000, Swift 10,000).
var batchBuckets = []float64{1, 10, 50, 100, 256, 500, 1000, 2500, 5000, 10000}

// New returns an Instrument whose metrics are registered in its own
// registry and in opts.Registerer. It panics, as prometheus.MustRegister
// does, when opts.Registerer holds a different metric of the same name.
func New(opts Options) *Instrument {
	ns := opts.Namespace
	if ns == "" {
		ns = DefaultNamespace
	}
	tp := opts.TracerProvider
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	in := &Instrument{registry: prometheus.NewRegistry(), tracer: tp.Tracer(tracerName)}
	reg := func(c prometheus.Collector) prometheus.Collector {
		if opts.Registerer != nil {
			if err := opts.Registerer.Register(c); err != nil {
				var are prometheus.AlreadyRegisteredError
				if !errors.As(err, &are) {
					panic(fmt.Errorf("instrument: %w", err))
				}
				c = are.ExistingCollector
			}
		}
		in.registry.MustRegister(c)
		return c
	}
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		c := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: name, Help: help}, labels)
		existing, ok := reg(c).(*prometheus.CounterVec)
		if !ok {
			panic(fmt.Errorf("instrument: %s_%s is registered as another kind of metric", ns, name))
		}
		return existing
	}
	histogram := func(name, help string, buckets []float64, labels ...string) *prometheus.HistogramVec {
		h := prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: ns, Name: name, Help: help, Buckets: buckets}, labels)
		existing, ok := reg(h).(*prometheus.HistogramVec)
		if !ok {
			panic(fmt.Errorf("instrument: %s_%s is registered as another kind of metric", ns, name))
		}
		return existing
	}
	in.ops = counter("operations_total", "Storage driver operations, by driver and operation.", "driver", "operation")
	in.opErrors = counter("operation_errors_total", "Failed storage driver operations, by driver, operation and kind of error.", "driver", "operation", "kind")
	in.duration = histogram("operation_duration_seconds", "Latency of storage driver operations.", durationBuckets, "driver", "operation")
	in.readBytes = counter("read_bytes_total", "Bytes read by GetContent and from Reader streams.", "driver", "operation")
	in.wrote = counter("written_bytes_total", "Bytes written by PutContent and to FileWriters.", "driver", "operation")
	in.walkEntries = counter("walk_entries_total", "Entries Walk passed to its callback.", "driver")
	in.deletePaths = counter("delete_files_paths_total", "Paths given to DeleteFiles.", "driver")
	in.deleteFailures = counter("delete_files_failures_total", "Paths DeleteFiles reported it could not delete.", "driver")
	in.retries = counter("retries_total", "Retried requests and bulk-delete rounds, as the backend reports them.", "driver")
	in.rateWaits = counter("rate_limit_waits_total", "Requests that waited for the driver's rate limiter.", "driver")
	in.rateWaitSeconds = counter("rate_limit_wait_seconds_total", "Time requests spent waiting for the driver's rate limiter.", "driver")
	in.batchSize = histogram("delete_batch_size", "Objects named per bulk-delete request.", batchBuckets, "driver")
	in.batchFailures = counter("delete_batch_failures_total", "Objects bulk-delete requests failed to delete (transient failures retried later included).", "driver")
	return in
}

// Registry returns the Instrument's own registry, which holds its metrics
// and nothing else: serve it with promhttp.HandlerFor, or gather from it.
func (in *Instrument) Registry() *prometheus.Registry { return in.registry }

// Retried implements driver.Observer: it counts a retry.
func (in *Instrument) Retried(driverName string, _ error) {
	in.retries.WithLabelValues(driverName).Inc()
}

// RateLimited implements driver.Observer: it counts a wait for the rate
// limiter and its length.
func (in *Instrument) RateLimited(driverName string, waited time.Duration) {
	in.rateWaits.WithLabelValues(driverName).Inc()
	in.rateWaitSeconds.WithLabelValues(driverName).Add(waited.Seconds())
}

// DeleteBatch implements driver.Observer: it records the size of a
// bulk-delete request and counts the objects it failed to delete.
func (in *Instrument) DeleteBatch(driverName string, size, failed int) {
	in.batchSize.WithLabelValues(driverName).Observe(float64(size))
	if failed > 0 {
		in.batchFailures.WithLabelValues(driverName).Add(float64(failed))
	}
}
