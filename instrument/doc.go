// Package instrument adds Prometheus metrics and OpenTelemetry traces to any
// stowage driver, as an opt-in decorator: it is the only package of the
// module that imports Prometheus and OpenTelemetry.
//
// An Instrument does two jobs, and a driver needs both:
//
//   - Wrap decorates a StorageDriver: every method call is counted, timed,
//     classified when it fails, and traced in a span of its own;
//
//   - it is a driver.Observer, which a backend tells what its methods do
//     not show (retries, rate-limit waits, bulk-delete batches). Give the
//     same Instrument to the backend as its "observer" parameter
//     (driver.ObserverParam) or its Config's Observer, then wrap the
//     driver with it:
//
//     in := instrument.New(instrument.Options{Registerer: prometheus.DefaultRegisterer})
//     d, err := driver.Open(ctx, "s3", map[string]any{..., driver.ObserverParam: in})
//     ...
//     d = in.Wrap(d)
//
// # Metrics
//
// With the default namespace "stowage" (Options.Namespace replaces it):
//
//	stowage_operations_total{driver,operation}              calls of each method
//	stowage_operation_errors_total{driver,operation,kind}   failed calls, by kind (below)
//	stowage_operation_duration_seconds{driver,operation}    histogram of call latency
//	stowage_read_bytes_total{driver,operation}              bytes read: GetContent, Reader streams
//	stowage_written_bytes_total{driver,operation}           bytes written: PutContent, FileWriter writes
//	stowage_walk_entries_total{driver}                      entries Walk gave its callback
//	stowage_delete_files_paths_total{driver}                paths given to DeleteFiles
//	stowage_delete_files_failures_total{driver}             paths DeleteFiles reported failed (*driver.DeleteFilesError)
//	stowage_retries_total{driver}                           retries (Observer.Retried)
//	stowage_rate_limit_waits_total{driver}                  waits for the rate limiter (Observer.RateLimited)
//	stowage_rate_limit_wait_seconds_total{driver}           time spent waiting for it
//	stowage_delete_batch_size{driver}                       histogram of bulk-delete request sizes (Observer.DeleteBatch)
//	stowage_delete_batch_failures_total{driver}             objects bulk-delete requests failed to delete
//
// The operation label is the StorageDriver method's name ("GetContent",
// "DeleteFiles", ...), "Writer.Close", "Writer.Commit" and "Writer.Cancel"
// for a FileWriter's, and "CopyFrom", "StagedUploads" and
// "PurgeStagedUpload" for the optional interfaces. Reader and Writer are
// timed until the stream is returned; the bytes of the stream are counted
// as they pass (under operation "Reader" and "Writer"); a FileWriter's
// Write calls and a Reader's Read calls are no operations of their own.
//
// The kind of an error is found with errors.Is and errors.As, in this
// order: "canceled" (context.Canceled or context.DeadlineExceeded),
// "not_found" (*driver.PathNotFoundError), "invalid_path"
// (*driver.InvalidPathError), "invalid_offset"
// (*driver.InvalidOffsetError), "invalid_upload"
// (*driver.InvalidUploadError), "file_too_large"
// (driver.ErrFileTooLarge), "too_many_requests"
// (*driver.TooManyRequestsError), "unsupported"
// (driver.ErrUnsupportedMethod), "config" (*driver.ConfigError), and
// "other". A *driver.DeleteFilesError is classified by its causes (the
// first kind in that order that one of them has). An error a WalkFn
// returns, which Walk passes on, counts as one too.
//
// # Traces
//
// Every operation is one span named "stowage.<operation>" (e.g.
// "stowage.DeleteFiles"), of kind client, with the attributes
// stowage.driver and stowage.path (Move and CopyFrom: the source path,
// and stowage.dest_path), stowage.paths.count for DeleteFiles (and
// stowage.deleted.count after it), stowage.bytes for GetContent and
// PutContent, and stowage.offset for Reader. A failed operation's span has
// status Error and the error recorded as an event. The span's context is
// the one the wrapped driver gets, so the spans of an instrumented HTTP
// client nest under it.
//
// # Interfaces kept
//
// The driver Wrap returns reports the inner driver's Capabilities
// (driver.CapabilitiesOf), and implements driver.ServerSideCopier and
// driver.UploadStager exactly when the inner driver does, instrumented
// too. CopyFrom unwraps a source that Wrap returned, so that a backend
// recognises its own kind behind the decorator. Unwrap returns the inner
// driver.
package instrument
