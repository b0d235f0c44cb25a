package s3_test

import (
	"bytes"
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/stowage-dev/stowage/internal/cloudtest"
	"github.com/stowage-dev/stowage/s3"
)

// After DeleteFiles and Delete, minio-go lists exactly what must be left:
// the driver cannot agree with itself by mistake.
func TestCrossCheckDeletes(t *testing.T) {
	cloudtest.CrossCheckDeletes(t, backend())
}

// Objects written by another client are read, listed and walked; keys that
// are not valid paths (directory markers, empty components, spaces) are
// left out of listings but deleted with their directory.
func TestCrossCheckForeignObjects(t *testing.T) {
	cloudtest.CrossCheckForeignObjects(t, backend(), []string{"/dir/", "/dir/with space", "/dir/sub/", "/dir/sub/x+y"})
}

// Move above the multipart threshold copies in parallel parts; minio-go
// reads the copy back.
func TestMoveMultipartCopy(t *testing.T) {
	root := freshRoot(t)
	m := newIndependent(t)
	hc, _, o := cloudtest.CountingClient(nil, opName)
	cfg := testConfig(t, root, hc)
	cfg.MultipartCopyThresholdSize = 5 * mib
	cfg.MultipartCopyChunkSize = 5 * mib
	d := newDriver(t, cfg)
	ctx := context.Background()
	small, big := cloudtest.PatternBytes(5*mib), cloudtest.PatternBytes(12*mib+7)
	m.put(root+"/small", small)
	m.put(root+"/big", big)

	if err := d.Move(ctx, "/small", "/moved/small"); err != nil {
		t.Fatal(err)
	}
	cloudtest.WantOps(t, "Move at the threshold", o.Take(), map[string]int{"HeadObject": 1, "CopyObject": 1, "DeleteObject": 1})
	if err := d.Move(ctx, "/big", "/moved/big"); err != nil {
		t.Fatal(err)
	}
	cloudtest.WantOps(t, "Move above the threshold", o.Take(), map[string]int{
		"HeadObject": 1, "CreateMultipartUpload": 1, "UploadPartCopy": 3, "CompleteMultipartUpload": 1, "DeleteObject": 1})
	if got := m.get(root + "/moved/big"); !bytes.Equal(got, big) {
		t.Errorf("minio reads %d bytes of the multipart copy, want %d", len(got), len(big))
	}
	if got := m.get(root + "/moved/small"); !bytes.Equal(got, small) {
		t.Errorf("minio reads %d bytes of the copy, want %d", len(got), len(small))
	}
	if left := m.keys(root + "/"); !slices.Equal(left, cloudtest.KeysOf(root, []string{"/moved/big", "/moved/small"})) {
		t.Errorf("minio lists %v after the moves", left)
	}
}

// Every checksum mode works against MinIO for the operations it changes:
// DeleteObjects (a required checksum), uploads and multipart uploads.
func TestChecksumModes(t *testing.T) {
	for _, mode := range []string{s3.ChecksumWhenRequired, s3.ChecksumWhenSupported, s3.ChecksumMD5} {
		t.Run(mode, func(t *testing.T) {
			root := freshRoot(t)
			m := newIndependent(t)
			hc, _, o := cloudtest.CountingClient(nil, opName)
			cfg := testConfig(t, root, hc)
			cfg.Checksum = mode
			cfg.ChunkSize = 5 * mib
			d := newDriver(t, cfg)
			ctx := context.Background()

			small := cloudtest.PatternBytes(1000)
			if err := d.PutContent(ctx, "/small", small); err != nil {
				t.Fatal(err)
			}
			big := cloudtest.PatternBytes(11 * mib)
			w, err := d.Writer(ctx, "/big", false)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.Write(big[:6*mib]); err != nil {
				t.Fatal(err)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if w, err = d.Writer(ctx, "/big", true); err != nil {
				t.Fatal(err)
			}
			if _, err := w.Write(big[6*mib:]); err != nil {
				t.Fatal(err)
			}
			if err := w.Commit(ctx); err != nil {
				t.Fatalf("Commit: %v", err)
			}
			put := o.Header("UploadPart")
			// Continued server-side, into an upload without a checksum
			// algorithm (MinIO copies no part into one that has one).
			if w, err = d.Writer(ctx, "/big", true); err != nil {
				t.Fatal(err)
			}
			for _, more := range []string{"more", "!"} {
				if w == nil {
					if w, err = d.Writer(ctx, "/big", true); err != nil {
						t.Fatalf("resuming a continuation: %v", err)
					}
				}
				if _, err := w.Write([]byte(more)); err != nil {
					t.Fatal(err)
				}
				big = append(big, more...)
				if more == "more" {
					if err := w.Close(); err != nil {
						t.Fatal(err)
					}
					w = nil
				}
			}
			if err := w.Commit(ctx); err != nil {
				t.Fatalf("Commit of a continuation: %v", err)
			}
			for p, want := range map[string][]byte{"/small": small, "/big": big} {
				if got := m.get(root + p); !bytes.Equal(got, want) {
					t.Errorf("minio reads %d bytes of %s, want %d", len(got), p, len(want))
				}
				if got, err := d.GetContent(ctx, p); err != nil || !bytes.Equal(got, want) {
					t.Errorf("GetContent(%s) = %d bytes, %v", p, len(got), err)
				}
			}
			o.Take()
			n, err := d.DeleteFiles(ctx, []string{"/small", "/big"})
			if err != nil || n != 2 {
				t.Fatalf("DeleteFiles = %d, %v", n, err)
			}
			// The checksum headers each mode must send.
			del, contPut := o.Header("DeleteObjects"), o.Header("UploadPart")
			switch mode {
			case s3.ChecksumMD5:
				if del.Get("Content-Md5") == "" || checksumHeader(del) != "" {
					t.Errorf("md5 mode: DeleteObjects sent Content-MD5 %q and %q", del.Get("Content-Md5"), checksumHeader(del))
				}
			default:
				if checksumHeader(del) == "" {
					t.Errorf("%s mode: DeleteObjects sent no x-amz-checksum-* header", mode)
				}
			}
			if hasSum := checksumHeader(put) != ""; hasSum != (mode == s3.ChecksumWhenSupported) {
				t.Errorf("%s mode: UploadPart checksum header %q", mode, checksumHeader(put))
			}
			if h := checksumHeader(contPut); h != "" {
				t.Errorf("%s mode: UploadPart of a continuation sent %q", mode, h)
			}
			cloudtest.WantOps(t, "DeleteFiles", o.Take(), map[string]int{"DeleteObjects": 1})
			if left := m.keys(root + "/"); len(left) != 0 {
				t.Errorf("minio lists %v after DeleteFiles", left)
			}
		})
	}
}

// checksumHeader returns the first x-amz-checksum-<algorithm> header of h.
func checksumHeader(h http.Header) string {
	for k := range h {
		if lk := strings.ToLower(k); strings.HasPrefix(lk, "x-amz-checksum-") && lk != "x-amz-checksum-mode" {
			return k
		}
	}
	return ""
}
