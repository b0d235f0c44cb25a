package driver

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestForEachBoundsAndStopsAtFirstError(t *testing.T) {
	var running, peak, calls atomic.Int32
	boom := errors.New("boom")
	gate := make(chan struct{})
	err := ForEach(context.Background(), 50, 3, func(ctx context.Context, i int) error {
		calls.Add(1)
		n := running.Add(1)
		defer running.Add(-1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		if i == 2 {
			close(gate)
			return boom
		}
		if i < 2 {
			<-gate
		}
		return nil
	})
	if !errors.Is(err, boom) {
		t.Fatalf("ForEach = %v, want boom", err)
	}
	if p := peak.Load(); p > 3 {
		t.Errorf("%d calls ran at once, limit 3", p)
	}
	if c := calls.Load(); c == 50 {
		t.Errorf("all %d calls ran after the first error", c)
	}
}

func TestForEachCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var calls atomic.Int32
	err := ForEach(ctx, 10, 2, func(context.Context, int) error { calls.Add(1); return nil })
	if !errors.Is(err, context.Canceled) || calls.Load() != 0 {
		t.Fatalf("ForEach on a cancelled ctx = %v after %d calls, want Canceled after none", err, calls.Load())
	}
}

// fakeBackend is a Backend whose DeleteBatch answers from a script, to
// test BatchDeleter's rounds; its other methods are not called.
type fakeBackend struct {
	Backend
	mu     sync.Mutex
	rounds [][]string // keys of each DeleteBatch call
	answer func(round int, key string) error
	whole  func(round int) error
}

var (
	errTransient = errors.New("transient")
	errMissing   = errors.New("missing")
	errFatal     = errors.New("fatal")
)

func (b *fakeBackend) Classify(err error) ErrorKind {
	switch {
	case errors.Is(err, errTransient):
		return KindTransient
	case errors.Is(err, errMissing):
		return KindNotFound
	}
	return KindOther
}

func (b *fakeBackend) DeleteBatch(_ context.Context, objs []Object) ([]error, error) {
	b.mu.Lock()
	round := len(b.rounds)
	keys := make([]string, len(objs))
	for i, o := range objs {
		keys[i] = o.Key
	}
	b.rounds = append(b.rounds, keys)
	b.mu.Unlock()
	if b.whole != nil {
		if err := b.whole(round); err != nil {
			return nil, err
		}
	}
	errs := make([]error, len(objs))
	for i, o := range objs {
		errs[i] = b.answer(round, o.Key)
	}
	return errs, nil
}

func testDeleter(b Backend, retries int) BatchDeleter {
	cfg := CommonConfig{MaxRetries: retries, RetryBaseDelay: time.Microsecond}
	if err := cfg.Normalize("fake", 10); err != nil {
		panic(err)
	}
	return BatchDeleter{DriverName: "fake", Backend: b, Keys: NewKeyMap("root"), BatchSize: 10, Config: cfg}
}

func objects(keys ...string) []Object {
	out := make([]Object, len(keys))
	for i, k := range keys {
		out[i] = Object{Key: k}
	}
	return out
}

func TestBatchDeleterRetriesOnlyTransientItems(t *testing.T) {
	b := &fakeBackend{answer: func(round int, key string) error {
		switch {
		case key == "root/t" && round < 2:
			return errTransient
		case key == "root/m":
			return errMissing
		case key == "root/f":
			return errFatal
		}
		return nil
	}}
	failures := testDeleter(b, 5).Batch(context.Background(), "DeleteFiles", objects("root/a", "root/t", "root/m", "root/f"))
	if len(failures) != 1 || failures[0].Path != "/f" || !errors.Is(failures[0].Err, errFatal) {
		t.Fatalf("failures = %v, want only /f with its cause", failures)
	}
	var op *OpError
	if !errors.As(failures[0].Err, &op) || op.Op != "DeleteFiles" || op.Path != "/f" {
		t.Errorf("failure %v is no *OpError naming DeleteFiles /f", failures[0].Err)
	}
	want := [][]string{{"root/a", "root/t", "root/m", "root/f"}, {"root/t"}, {"root/t"}}
	if len(b.rounds) != len(want) {
		t.Fatalf("rounds = %q, want %q", b.rounds, want)
	}
	for i := range want {
		if len(b.rounds[i]) != len(want[i]) || b.rounds[i][0] != want[i][0] {
			t.Errorf("round %d = %q, want %q", i, b.rounds[i], want[i])
		}
	}
}

func TestBatchDeleterGivesUpAfterMaxRetries(t *testing.T) {
	b := &fakeBackend{answer: func(int, string) error { return errTransient }}
	failures := testDeleter(b, 2).Batch(context.Background(), "Delete", objects("root/a"))
	if len(failures) != 1 || !errors.Is(failures[0].Err, errTransient) {
		t.Fatalf("failures = %v, want /a failed transiently", failures)
	}
	if len(b.rounds) != 3 {
		t.Errorf("%d rounds, want 1 + 2 retries", len(b.rounds))
	}
}

func TestBatchDeleterWholeBatchRetriedOnlyWhenRetryable(t *testing.T) {
	for _, tc := range []struct {
		name   string
		err    error
		rounds int
		failed int
	}{
		{"retryable", Retryable(errTransient), 2, 0},
		{"plain", errTransient, 1, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := &fakeBackend{
				answer: func(int, string) error { return nil },
				whole: func(round int) error {
					if round == 0 {
						return tc.err
					}
					return nil
				},
			}
			failures := testDeleter(b, 5).Batch(context.Background(), "DeleteFiles", objects("root/a", "root/b"))
			if len(b.rounds) != tc.rounds || len(failures) != tc.failed {
				t.Fatalf("%d rounds and failures %v, want %d rounds and %d failures", len(b.rounds), failures, tc.rounds, tc.failed)
			}
		})
	}
}

func TestBatchDeleterAllReportsEveryFailure(t *testing.T) {
	b := &fakeBackend{answer: func(_ int, key string) error {
		if key == "root/x3" || key == "root/x17" {
			return errFatal
		}
		return nil
	}}
	var objs []Object
	for i := range 25 {
		objs = append(objs, Object{Key: "root/x" + strconv.Itoa(i)})
	}
	err := testDeleter(b, 0).All(context.Background(), "Delete", objs)
	var dfe *DeleteFilesError
	if !errors.As(err, &dfe) || len(dfe.Failures) != 2 {
		t.Fatalf("All = %v, want a DeleteFilesError of 2", err)
	}
	if len(b.rounds) != 3 {
		t.Errorf("%d batches for 25 objects of batch size 10, want 3", len(b.rounds))
	}
}

func TestWriteChunks(t *testing.T) {
	var stored [][]byte
	store := func(_ context.Context, c []byte) error {
		stored = append(stored, bytes.Clone(c))
		return nil
	}
	var s WriterState
	var buf []byte
	ctx := context.Background()
	for _, p := range []string{"ab", "cdefg", "h", "ijklmnopq"} {
		if n, err := s.WriteChunks(ctx, &buf, []byte(p), 4, store); n != len(p) || err != nil {
			t.Fatalf("WriteChunks(%q) = %d, %v", p, n, err)
		}
	}
	if got := string(bytes.Join(stored, []byte("|"))); got != "abcd|efgh|ijkl|mnop" || string(buf) != "q" {
		t.Fatalf("stored %q, buffered %q; want abcd|efgh|ijkl|mnop and q", got, buf)
	}

	fail := errors.New("upload failed")
	buf = nil
	n, err := s.WriteChunks(ctx, &buf, []byte("0123456789"), 4, func(context.Context, []byte) error { return fail })
	if n != 10 || !errors.Is(err, fail) || string(buf) != "0123456789" {
		t.Fatalf("failing store: %d, %v, buffered %q; want 10, the error, all bytes kept", n, err, buf)
	}

	s.Committed()
	if n, err := s.WriteChunks(ctx, &buf, []byte("x"), 4, store); n != 0 || !errors.Is(err, ErrWriterCommitted) {
		t.Fatalf("after Commit: %d, %v", n, err)
	}
}

func TestKeyMap(t *testing.T) {
	m := NewKeyMap("reg")
	if m.Key("/a/b") != "reg/a/b" || m.Dir("/a") != "reg/a/" || m.Dir("/") != "reg/" {
		t.Fatalf("Key/Dir: %q %q %q", m.Key("/a/b"), m.Dir("/a"), m.Dir("/"))
	}
	for key, want := range map[string]string{"reg/a/b": "/a/b", "reg/~stowage/x": "", "reg/a//b": "", "reg/a/": "", "other/a": "", "reg/": ""} {
		p, ok := m.Path(key)
		if p != want || ok != (want != "") {
			t.Errorf("Path(%q) = %q, %v; want %q", key, p, ok, want)
		}
	}
	if NewKeyMap("").Key("/a") != "a" || m.AnyPath("reg/a//b") != "/a//b" {
		t.Errorf("root-less Key or AnyPath wrong")
	}
}

func TestCommonConfig(t *testing.T) {
	var c CommonConfig
	p := Params{DriverName: "x", Values: map[string]any{"rootdirectory": "/r/", "maxretries": "0", "deletebatchsize": 5000}}
	if err := c.ReadParameters(p); err != nil {
		t.Fatal(err)
	}
	if err := c.Normalize("x", 1000); err != nil {
		t.Fatal(err)
	}
	if c.RootDirectory != "r" || c.MaxRetries != -1 || c.Retries() != 0 || c.DeleteBatchSize != 1000 || c.MaxConcurrency != DefaultMaxConcurrency {
		t.Fatalf("normalised %+v", c)
	}
	for _, bad := range []map[string]any{{"maxconcurrency": "0"}, {"deletebatchsize": -1}, {"maxretries": -2}, {"httpclient": "no"}} {
		var c CommonConfig
		err := c.ReadParameters(Params{DriverName: "x", Values: bad})
		var ce *ConfigError
		if !errors.As(err, &ce) {
			t.Errorf("ReadParameters(%v) = %v, want a *ConfigError", bad, err)
		}
	}
	c = CommonConfig{RootDirectory: "a//b"}
	if err := c.Normalize("x", 10); err == nil {
		t.Error("Normalize accepted an empty root component")
	}
}

func TestWrapError(t *testing.T) {
	classify := func(err error) ErrorKind {
		if errors.Is(err, io.EOF) {
			return KindNotFound
		}
		return KindThrottled
	}
	ctx := context.Background()
	if err := WrapError(ctx, "x", "Stat", "/p", io.EOF, classify); !IsNotFound(err) {
		t.Errorf("not found: %v", err)
	}
	var tm *TooManyRequestsError
	if err := WrapError(ctx, "x", "Stat", "/p", errors.New("slow"), classify); !errors.As(err, &tm) {
		t.Errorf("throttled: %v", err)
	}
	once := WrapError(ctx, "x", "Stat", "/p", errFatal, func(error) ErrorKind { return KindOther })
	if twice := WrapError(ctx, "x", "Reader", "/q", once, classify); twice != once {
		t.Errorf("an already mapped error was wrapped again: %v", twice)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := WrapError(cctx, "x", "Stat", "/p", io.EOF, classify); !errors.Is(err, context.Canceled) || IsNotFound(err) {
		t.Errorf("after cancel: %v, want Canceled", err)
	}
}

func TestCommonConfigRetry(t *testing.T) {
	cfg := CommonConfig{MaxRetries: 2, RetryBaseDelay: time.Microsecond}
	if err := cfg.Normalize("x", 10); err != nil {
		t.Fatal(err)
	}
	always := func(error) bool { return true }
	calls := 0
	err := cfg.Retry(context.Background(), "x", always, func() error { calls++; return errTransient })
	if !errors.Is(err, errTransient) || calls != 3 {
		t.Errorf("Retry of a lasting failure: %v after %d calls, want it after 1 + 2", err, calls)
	}
	calls = 0
	err = cfg.Retry(context.Background(), "x", func(e error) bool { return e == errTransient }, func() error {
		calls++
		if calls == 1 {
			return errTransient
		}
		return errFatal
	})
	if !errors.Is(err, errFatal) || calls != 2 {
		t.Errorf("Retry stopping at a failure not worth retrying: %v after %d calls", err, calls)
	}
	calls = 0
	if err := cfg.Retry(context.Background(), "x", always, func() error { calls++; return nil }); err != nil || calls != 1 {
		t.Errorf("Retry of a success: %v after %d calls", err, calls)
	}
	// The context ends in the hour-long backoff: Retry's debug log line,
	// written just before it, cancels it.
	ctx, cancel := context.WithCancel(context.Background())
	long := CommonConfig{MaxRetries: 5, RetryBaseDelay: time.Hour, RetryMaxBackoff: time.Hour,
		Logger: slog.New(cancelOnLog{cancel})}
	if err := long.Normalize("x", 10); err != nil {
		t.Fatal(err)
	}
	calls = 0
	err = long.Retry(ctx, "x", always, func() error { calls++; return errTransient })
	if !errors.Is(err, context.Canceled) || !errors.Is(err, errTransient) || calls != 1 {
		t.Errorf("Retry cancelled in its backoff: %v after %d calls, want Canceled naming the failure after 1", err, calls)
	}
}

// cancelOnLog is a slog.Handler that calls cancel on every record.
type cancelOnLog struct{ cancel context.CancelFunc }

func (h cancelOnLog) Enabled(context.Context, slog.Level) bool { return true }
func (h cancelOnLog) Handle(context.Context, slog.Record) error {
	h.cancel()
	return nil
}
func (h cancelOnLog) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h cancelOnLog) WithGroup(string) slog.Handler      { return h }

func TestValidatePaths(t *testing.T) {
	if err := ValidatePaths("x", "/a", "/b/c"); err != nil {
		t.Fatalf("valid paths: %v", err)
	}
	var ipe *InvalidPathError
	if err := ValidatePaths("x", "/a", "/b/../c", "bad"); !errors.As(err, &ipe) || ipe.Path != "/b/../c" {
		t.Fatalf("ValidatePaths = %v, want the first invalid path's InvalidPathError", err)
	}
}
