package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stowage-dev/stowage/driver"
)

// CopyOptions configure Copy.
type CopyOptions struct {
	// Root is the registry root on both sides; "" means RootPath.
	Root string
	// Repository limits the copy to one repository's links and the blobs
	// its manifests reference.
	Repository string
	// Paths, when set, are the files to copy instead of a whole registry
	// or repository: paths, or digests ("sha256:<hex>") standing for
	// their blob's data file.
	Paths []string
	// Concurrency bounds the files copied at once; 0 means 16.
	Concurrency int
	// Attempts is how often one file is tried before it counts as failed;
	// 0 means 5. Backoff between attempts starts at RetryBaseDelay (0:
	// driver.DefaultRetryBaseDelay).
	Attempts       int
	RetryBaseDelay time.Duration
	// Progress, when set, follows the run.
	Progress Tracker
	// Logger logs the retries; nil means slog.Default().
	Logger *slog.Logger
}

// CopyFailure is a file Copy could not copy.
type CopyFailure struct {
	Path  string `json:"path"`
	Error string `json:"error"`
}

// CopyReport is what Copy did. Copied + Skipped + len(Failed) is Planned
// whenever Copy returns no error.
type CopyReport struct {
	Planned int `json:"planned"`
	Copied  int `json:"copied"`
	// Skipped were already on the destination with the source's size.
	Skipped int `json:"skipped"`
	// ServerSide of the copied went server-side; the others streamed.
	ServerSide int `json:"server_side"`
	// Bytes is the size of the copied files; StreamedBytes those that
	// passed through the client.
	Bytes         int64 `json:"bytes"`
	StreamedBytes int64 `json:"streamed_bytes"`
	// Retries counts the attempts after a first one that failed.
	Retries int           `json:"retries"`
	Failed  []CopyFailure `json:"failed"`
}

// ErrSizeMismatch is wrapped by the failure of a file whose bytes read
// differ in number from the source's size: nothing is written.
var ErrSizeMismatch = errors.New("registry: source size changed or read short")

// ErrContentMismatch is wrapped by the failure of a blob whose source
// content does not hash to its digest: Copy never writes such a blob.
var ErrContentMismatch = errors.New("registry: source content does not match its digest")

// Copy copies a registry (or one repository, or the files o.Paths names)
// from src to dst: blobs, link files and everything else under the root
// but uploads in progress (_uploads). Every blob streamed is hashed on the
// way and committed only when the hash is its digest (and every file only
// when its size is the source's); a blob copied
// server-side is read back and hashed on dst. Files already on dst with
// the source's size are skipped, so a rerun of an interrupted Copy
// finishes the job (writes commit whole, so a file on dst is complete);
// note that a blob of the right size but other content on dst is skipped
// too: run Verify on dst to check it. Each file is tried up to o.Attempts
// times with backoff; the files that still fail are listed in the report,
// never dropped. The error is for a run that could not finish (a listing
// failed, ctx ended); the report then holds what was done.
func Copy(ctx context.Context, src, dst driver.StorageDriver, o CopyOptions) (CopyReport, error) {
	root := o.Root
	if root == "" {
		root = RootPath
	}
	if err := driver.ValidateDirPath("registry", root); err != nil {
		return CopyReport{}, err
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 16
	}
	if o.Attempts <= 0 {
		o.Attempts = 5
	}
	if o.Progress == nil {
		o.Progress = nopTracker{}
	}
	o.Progress.SetStage("planning")
	plan, err := copyPlan(ctx, src, root, o)
	if err != nil {
		return CopyReport{}, err
	}
	c := &copier{src: src, dst: dst, root: root, o: o}
	if o.Paths == nil {
		// What dst has already, from one flat listing instead of a
		// Stat per file.
		o.Progress.SetStage("listing the destination")
		c.dstSizes = map[string]int64{}
		dir := root
		if o.Repository != "" {
			dir = root + "/repositories/" + o.Repository
		}
		if err := walkFiles(ctx, dst, dir, func(p string, n int64) { c.dstSizes[p] = n }); err != nil {
			return CopyReport{}, err
		}
		if o.Repository != "" {
			if err := walkFiles(ctx, dst, root+"/blobs", func(p string, n int64) { c.dstSizes[p] = n }); err != nil {
				return CopyReport{}, err
			}
		}
	}
	c.rep.Planned = len(plan)
	o.Progress.Plan(int64(len(plan)))
	o.Progress.SetStage("copying")
	retry := driver.CommonConfig{MaxRetries: o.Attempts - 1, RetryBaseDelay: o.RetryBaseDelay, Logger: o.Logger}
	if o.Attempts == 1 {
		retry.MaxRetries = -1 // 0 would mean the default
	}
	if err := retry.Normalize("registry", 1); err != nil {
		return CopyReport{}, err
	}
	err = driver.ForEach(ctx, len(plan), o.Concurrency, func(ctx context.Context, i int) error {
		defer o.Progress.Add(1)
		p := plan[i]
		attempt := 0
		err := retry.Retry(ctx, "registry", func(err error) bool { return !driver.IsNotFound(err) }, func() error {
			if attempt++; attempt > 1 {
				c.retries.Add(1)
			}
			return c.copyFile(ctx, p, attempt > 1)
		})
		if err != nil && ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			c.fail(p.path, err)
		}
		return nil
	})
	c.rep.Retries = int(c.retries.Load())
	slices.SortFunc(c.rep.Failed, func(a, b CopyFailure) int { return strings.Compare(a.Path, b.Path) })
	return c.rep, err
}

// copyItem is one file to copy: its path and, for a blob, its digest.
type copyItem struct {
	path   string
	digest Digest
	size   int64 // from the listing; -1 when not listed
}

// copyPlan lists what to copy.
func copyPlan(ctx context.Context, src driver.StorageDriver, root string, o CopyOptions) ([]copyItem, error) {
	var plan []copyItem
	add := func(p string, size int64) {
		it := copyItem{path: p, size: size}
		if rel, ok := strings.CutPrefix(p, root+"/blobs/"); ok {
			if bf, ok := parseBlobPath(rel); ok && !bf.misplaced {
				it.digest = bf.digest
			}
		}
		plan = append(plan, it)
	}
	switch {
	case o.Paths != nil:
		for _, p := range o.Paths {
			if d, err := ParseDigest(p); err == nil {
				p = BlobPath(root, d)
			}
			if err := driver.ValidatePath("registry", p); err != nil {
				return nil, err
			}
			add(p, -1)
		}
	case o.Repository != "":
		// The repository's files, and the blobs Verify finds it uses.
		v := &verifier{d: src, o: VerifyOptions{Repository: o.Repository, Concurrency: o.Concurrency, Progress: nopTracker{}}, root: root}
		v.expected, v.hashed, v.wanted, v.reported = map[Digest]int64{}, map[string]bool{}, map[Digest]bool{}, map[string]bool{}
		if err := v.listBlobs(ctx); err != nil {
			return nil, err
		}
		repoDir := root + "/repositories/" + o.Repository
		if err := walkFiles(ctx, src, repoDir, add); err != nil {
			return nil, err
		}
		links, err := v.listLinks(ctx)
		if err != nil {
			return nil, err
		}
		manifests, err := v.readLinks(ctx, links)
		if err != nil {
			return nil, err
		}
		if err := v.readManifests(ctx, manifests); err != nil {
			return nil, err
		}
		for _, f := range v.files {
			if v.wanted[f.digest] && !f.misplaced {
				add(f.path, f.size)
			}
		}
	default:
		if err := walkFiles(ctx, src, root, add); err != nil {
			return nil, err
		}
	}
	slices.SortFunc(plan, func(a, b copyItem) int { return strings.Compare(a.path, b.path) })
	plan = slices.CompactFunc(plan, func(a, b copyItem) bool { return a.path == b.path })
	return plan, nil
}

// walkFiles calls add for every file under dir but uploads in progress.
func walkFiles(ctx context.Context, d driver.StorageDriver, dir string, add func(string, int64)) error {
	err := d.Walk(ctx, dir, func(fi driver.FileInfo) error {
		switch {
		case fi.IsDir() && strings.HasSuffix(fi.Path(), "/_uploads"):
			return driver.ErrSkipDir
		case !fi.IsDir():
			add(fi.Path(), fi.Size())
		}
		return nil
	})
	if driver.IsNotFound(err) {
		return nil
	}
	return err
}

type copier struct {
	src, dst driver.StorageDriver
	root     string
	o        CopyOptions
	retries  atomic.Int64

	// dstSizes are the sizes of the files dst had when the copy began;
	// nil when it was not listed (o.Paths).
	dstSizes map[string]int64

	mu  sync.Mutex
	rep CopyReport
}

// smallFile is the size up to which Copy reads a file whole and writes
// it with one PutContent instead of streaming it through a Writer.
const smallFile = 8 << 20

func (c *copier) fail(path string, err error) {
	c.mu.Lock()
	c.rep.Failed = append(c.rep.Failed, CopyFailure{Path: path, Error: err.Error()})
	c.mu.Unlock()
}

func (c *copier) done(skipped, serverSide bool, size, streamed int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if skipped {
		c.rep.Skipped++
		return
	}
	c.rep.Copied++
	c.rep.Bytes += size
	c.rep.StreamedBytes += streamed
	if serverSide {
		c.rep.ServerSide++
	}
}

// copyFile copies one file, or skips it when dst has it already (from
// the listing of dst, or a Stat on a retry, whose earlier attempt may
// have committed).
func (c *copier) copyFile(ctx context.Context, it copyItem, retry bool) error {
	size := it.size
	if size < 0 || retry {
		// Unlisted, or the listing may be stale (a tag link rewritten
		// since): the source's size of now.
		fi, err := c.src.Stat(ctx, it.path)
		if err != nil {
			return err
		}
		size = fi.Size()
	}
	if n, listed := c.dstSizes[it.path]; c.dstSizes != nil && !retry {
		if listed && n == size {
			c.done(true, false, 0, 0)
			return nil
		}
	} else if fi, err := c.dst.Stat(ctx, it.path); err == nil && !fi.IsDir() && fi.Size() == size {
		c.done(true, false, 0, 0)
		return nil
	} else if err != nil && !driver.IsNotFound(err) {
		return err
	}
	if sc, ok := c.dst.(driver.ServerSideCopier); ok {
		copied, err := sc.CopyFrom(ctx, c.src, it.path, it.path)
		if err != nil {
			return err
		}
		if copied {
			if it.digest != "" {
				if err := c.checkDst(ctx, it); err != nil {
					return err
				}
			}
			c.done(false, true, size, 0)
			return nil
		}
	}
	var n int64
	var err error
	if size <= smallFile {
		n, err = c.copySmall(ctx, it, size)
	} else {
		n, err = c.stream(ctx, it, size)
	}
	if err != nil {
		return err
	}
	c.done(false, false, n, n)
	return nil
}

// copySmall copies a small file with one read and one PutContent, a blob
// only when it hashes to its digest.
func (c *copier) copySmall(ctx context.Context, it copyItem, size int64) (int64, error) {
	b, err := c.src.GetContent(ctx, it.path)
	if err != nil {
		return 0, err
	}
	if int64(len(b)) != size {
		return 0, fmt.Errorf("%s: read %d bytes, the source has %d: %w", it.path, len(b), size, ErrSizeMismatch)
	}
	if it.digest != "" {
		if got := it.digest.Of(b); got != it.digest {
			return 0, fmt.Errorf("%s: %w (hashes to %s)", it.path, ErrContentMismatch, got)
		}
	}
	return int64(len(b)), c.dst.PutContent(ctx, it.path, b)
}

// stream copies through the client, hashing a blob on the way; the
// destination is committed only when the hash is the blob's digest.
func (c *copier) stream(ctx context.Context, it copyItem, size int64) (int64, error) {
	r, err := c.src.Reader(ctx, it.path, 0)
	if err != nil {
		return 0, err
	}
	defer r.Close()
	w, err := c.dst.Writer(ctx, it.path, false)
	if err != nil {
		return 0, err
	}
	defer w.Close()
	var in io.Reader = r
	var h interface {
		io.Writer
		Sum([]byte) []byte
	}
	if it.digest != "" {
		h = it.digest.newHash()
		in = io.TeeReader(r, h)
	}
	n, err := io.Copy(w, in)
	if err == nil && n != size {
		err = fmt.Errorf("%s: read %d bytes, the source has %d: %w", it.path, n, size, ErrSizeMismatch)
	}
	if err == nil && h != nil {
		if got := Digest(it.digest.Algorithm() + ":" + fmt.Sprintf("%x", h.Sum(nil))); got != it.digest {
			err = fmt.Errorf("%s: %w (hashes to %s)", it.path, ErrContentMismatch, got)
		}
	}
	if err != nil {
		_ = w.Cancel(context.WithoutCancel(ctx))
		return n, err
	}
	if err := w.Commit(ctx); err != nil {
		return n, err
	}
	return n, nil
}

// checkDst hashes a blob copied server-side on dst.
func (c *copier) checkDst(ctx context.Context, it copyItem) error {
	r, err := c.dst.Reader(ctx, it.path, 0)
	if err != nil {
		return err
	}
	defer r.Close()
	h := it.digest.newHash()
	if _, err := io.Copy(h, r); err != nil {
		return err
	}
	if got := Digest(it.digest.Algorithm() + ":" + fmt.Sprintf("%x", h.Sum(nil))); got != it.digest {
		return fmt.Errorf("%s copied server-side: %w (hashes to %s)", it.path, ErrContentMismatch, got)
	}
	return nil
}
