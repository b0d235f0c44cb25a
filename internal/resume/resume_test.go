package resume

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"
)

// breaking serves data but fails with errBroken after limit bytes.
type breaking struct {
	r     io.Reader
	limit int
}

var errBroken = errors.New("connection reset")

func (b *breaking) Read(p []byte) (int, error) {
	if b.limit <= 0 {
		return 0, errBroken
	}
	if len(p) > b.limit {
		p = p[:b.limit]
	}
	n, err := b.r.Read(p)
	b.limit -= n
	return n, err
}

func source(data []byte, off int64, limit int) io.ReadCloser {
	return io.NopCloser(&breaking{r: bytes.NewReader(data[off:]), limit: limit})
}

func TestResumesFromOffset(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789"), 100)
	var offsets []int64
	r := &Reader{
		Ctx: context.Background(), Body: source(data, 0, 300), End: int64(len(data)), MaxRetries: 5,
		Reopen: func(_ context.Context, off int64) (io.ReadCloser, error) {
			offsets = append(offsets, off)
			return source(data, off, 300), nil
		},
	}
	got, err := io.ReadAll(r)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read %d bytes, err %v", len(got), err)
	}
	if len(offsets) != 3 || offsets[0] != 300 || offsets[2] != 900 {
		t.Fatalf("reopened at %v", offsets)
	}
}

func TestGivesUpAfterMaxRetries(t *testing.T) {
	data := make([]byte, 1000)
	mapped := errors.New("mapped")
	r := &Reader{
		Ctx: context.Background(), Body: source(data, 0, 10), End: 1000, MaxRetries: 2,
		Reopen: func(_ context.Context, off int64) (io.ReadCloser, error) { return source(data, off, 10), nil },
		Fail:   func(err error) error { return errors.Join(mapped, err) },
	}
	got, err := io.ReadAll(r)
	if !errors.Is(err, mapped) || !errors.Is(err, errBroken) || len(got) != 30 {
		t.Fatalf("got %d bytes, err %v", len(got), err)
	}
	if _, again := r.Read(make([]byte, 1)); again != err {
		t.Fatal("the failure is not sticky")
	}
}

func TestShortBodyIsResumedAndNoReopenFails(t *testing.T) {
	data := []byte("abcdef")
	r := &Reader{Ctx: context.Background(), Body: io.NopCloser(bytes.NewReader(data[:3])), End: 6, MaxRetries: 1}
	if _, err := io.ReadAll(r); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("a short body without Reopen must fail, got %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r = &Reader{Ctx: ctx, Body: source(data, 0, 2), End: 6, MaxRetries: 3,
		Reopen: func(context.Context, int64) (io.ReadCloser, error) { t.Error("reopened after cancel"); return nil, nil }}
	if _, err := io.ReadAll(r); !errors.Is(err, errBroken) {
		t.Fatalf("cancelled: %v", err)
	}
	if err := r.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := r.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}
