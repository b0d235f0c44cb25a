package azure

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/internal/testenv"
)

// TestWriterBlockLimitAtWrite: a Writer must refuse, at the Write, the
// bytes that would need a block beyond the blob's limit (Azure: 50,000
// committed blocks; lowered to 3 here), with ErrTooManyBlocks, and keep
// what fits committable. Failed before: the Write was taken and only
// Commit failed.
func TestWriterBlockLimitAtWrite(t *testing.T) {
	env := testenv.Azure(t)
	ctx := context.Background()
	var r [6]byte
	_, _ = rand.Read(r[:])
	d, err := New(ctx, Config{AccountName: env.Account, AccountKey: env.Key, Container: env.Container, ServiceURL: env.URL,
		ChunkSize: 4, CommonConfig: driver.CommonConfig{RootDirectory: "azlimit-" + hex.EncodeToString(r[:])}})
	if err != nil {
		t.Fatal(err)
	}
	d.b.maxBlocks = 3
	w, err := d.Writer(ctx, "/f", false)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := w.Write([]byte("0123456789")); n != 10 || err != nil {
		t.Fatalf("Write of 10 bytes (3 blocks of 4) = %d, %v", n, err)
	}
	n, err := w.Write([]byte("abcdef"))
	if !errors.Is(err, ErrTooManyBlocks) || n != 2 {
		t.Fatalf("Write past 3 blocks of 4 bytes = %d, %v; want 2, ErrTooManyBlocks", n, err)
	}
	if !errors.Is(err, driver.ErrFileTooLarge) {
		t.Errorf("Write past 3 blocks = %v, which does not match driver.ErrFileTooLarge", err)
	}
	if w.Size() != 12 {
		t.Errorf("Size after the refused Write = %d, want 12", w.Size())
	}
	if err := w.Commit(ctx); err != nil {
		t.Fatalf("Commit of the 12 bytes that fit: %v", err)
	}
	if got, err := d.GetContent(ctx, "/f"); err != nil || string(got) != "0123456789ab" {
		t.Errorf("GetContent = %q, %v", got, err)
	}
	if err := d.Delete(ctx, "/f"); err != nil {
		t.Errorf("cleanup: %v", err)
	}
}
