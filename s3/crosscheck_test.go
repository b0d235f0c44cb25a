package s3_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/s3"
)

// After DeleteFiles and Delete, minio-go lists exactly what must be left:
// the driver cannot agree with itself by mistake.
func TestCrossCheckDeletes(t *testing.T) {
	root := freshRoot(t)
	m := newIndependent(t)
	d := newDriver(t, testConfig(t, root, nil))
	ctx := context.Background()
	files := []string{"/a/b/c", "/a/b/d/e", "/a/bc", "/a/b-c/f", "/a/b.d", "/a/c", "/q/r", "/q/rs", "/q/r-s", "/x/1", "/x/2", "/x/3"}
	putAll(t, d, files)

	n, err := d.DeleteFiles(ctx, []string{"/x/1", "/x/3", "/x/3", "/x/missing", "/a"})
	if err != nil || n != 4 {
		t.Fatalf("DeleteFiles = %d, %v; want 4 (3 unique files and a missing one; /a is a directory)", n, err)
	}
	want := keysOf(root, []string{"/a/b/c", "/a/b/d/e", "/a/bc", "/a/b-c/f", "/a/b.d", "/a/c", "/q/r", "/q/rs", "/q/r-s", "/x/2"})
	if got := m.keys(root + "/"); !slices.Equal(got, want) {
		t.Fatalf("minio lists %v after DeleteFiles, want %v", got, want)
	}

	// A directory, then a file, each with prefix siblings on both sides.
	if err := d.Delete(ctx, "/a/b"); err != nil {
		t.Fatal(err)
	}
	if err := d.Delete(ctx, "/q/r"); err != nil {
		t.Fatal(err)
	}
	want = keysOf(root, []string{"/a/bc", "/a/b-c/f", "/a/b.d", "/a/c", "/q/rs", "/q/r-s", "/x/2"})
	if got := m.keys(root + "/"); !slices.Equal(got, want) {
		t.Fatalf("minio lists %v after Delete(/a/b) and Delete(/q/r), want %v", got, want)
	}
	if err := d.Delete(ctx, "/a/b"); !isNotFound(err) {
		t.Errorf("second Delete(/a/b) = %v, want PathNotFoundError", err)
	}
}

// Objects written by another client are read, listed and walked; keys that
// are not valid paths (directory markers, empty components, spaces) are
// left out of listings but deleted with their directory.
func TestCrossCheckForeignObjects(t *testing.T) {
	root := freshRoot(t)
	m := newIndependent(t)
	d := newDriver(t, testConfig(t, root, nil))
	ctx := context.Background()
	content := patternBytes(100_000)
	m.put(root+"/dir/file", content)
	for _, junk := range []string{"/dir/", "/dir/with space", "/dir/sub/", "/dir/sub/x+y"} {
		m.put(root+junk, []byte("junk"))
	}
	got, err := d.GetContent(ctx, "/dir/file")
	if err != nil || !bytes.Equal(got, content) {
		t.Fatalf("GetContent of a minio-go object = %d bytes, %v", len(got), err)
	}
	if l, err := d.List(ctx, "/dir"); err != nil || !slices.Equal(l, []string{"/dir/file", "/dir/sub"}) {
		t.Errorf("List(/dir) = %v, %v", l, err)
	}
	var walked []string
	if err := d.Walk(ctx, "/", func(fi driver.FileInfo) error {
		walked = append(walked, driver.WalkKey(fi.Path(), fi.IsDir()))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if want := []string{"/dir/", "/dir/file"}; !slices.Equal(walked, want) {
		t.Errorf("Walk(/) = %v, want %v", walked, want)
	}
	if err := d.Delete(ctx, "/dir"); err != nil {
		t.Fatal(err)
	}
	if left := m.keys(root + "/"); len(left) != 0 {
		t.Errorf("minio lists %v after Delete(/dir)", left)
	}
}

// Move above the multipart threshold copies in parallel parts; minio-go
// reads the copy back.
func TestMoveMultipartCopy(t *testing.T) {
	root := freshRoot(t)
	m := newIndependent(t)
	hc, _, o := countingClient(nil)
	cfg := testConfig(t, root, hc)
	cfg.MultipartCopyThresholdSize = 5 * mib
	cfg.MultipartCopyChunkSize = 5 * mib
	d := newDriver(t, cfg)
	ctx := context.Background()
	small, big := patternBytes(5*mib), patternBytes(12*mib+7)
	m.put(root+"/small", small)
	m.put(root+"/big", big)

	if err := d.Move(ctx, "/small", "/moved/small"); err != nil {
		t.Fatal(err)
	}
	wantOps(t, "Move at the threshold", o.Take(), map[string]int{"HeadObject": 1, "CopyObject": 1, "DeleteObject": 1})
	if err := d.Move(ctx, "/big", "/moved/big"); err != nil {
		t.Fatal(err)
	}
	wantOps(t, "Move above the threshold", o.Take(), map[string]int{
		"HeadObject": 1, "CreateMultipartUpload": 1, "UploadPartCopy": 3, "CompleteMultipartUpload": 1, "DeleteObject": 1})
	if got := m.get(root + "/moved/big"); !bytes.Equal(got, big) {
		t.Errorf("minio reads %d bytes of the multipart copy, want %d", len(got), len(big))
	}
	if got := m.get(root + "/moved/small"); !bytes.Equal(got, small) {
		t.Errorf("minio reads %d bytes of the copy, want %d", len(got), len(small))
	}
	if left := m.keys(root + "/"); !slices.Equal(left, keysOf(root, []string{"/moved/big", "/moved/small"})) {
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
			hc, _, o := countingClient(nil)
			cfg := testConfig(t, root, hc)
			cfg.Checksum = mode
			cfg.ChunkSize = 5 * mib
			d := newDriver(t, cfg)
			ctx := context.Background()

			small := patternBytes(1000)
			if err := d.PutContent(ctx, "/small", small); err != nil {
				t.Fatal(err)
			}
			big := patternBytes(11 * mib)
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
			wantOps(t, "DeleteFiles", o.Take(), map[string]int{"DeleteObjects": 1})
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

func isNotFound(err error) bool {
	var nf *driver.PathNotFoundError
	return errors.As(err, &nf)
}
