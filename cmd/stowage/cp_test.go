package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	s3sdk "github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/internal/testenv"
	"github.com/stowage-dev/stowage/layout"
	"github.com/stowage-dev/stowage/registry"
	"github.com/stowage-dev/stowage/transport"
)

// sideArgs are s's backend flags for one side of cp ("from" or "to").
func (s *storeCLI) sideArgs(side string) []string {
	out := make([]string, len(s.args))
	for i, a := range s.args {
		if a == "--backend" || a == "--param" {
			a = "--" + side + "-" + a[2:]
		}
		out[i] = a
	}
	return out
}

// cpTree writes a complete generated registry to d and returns it.
func cpTree(t *testing.T, d driver.StorageDriver, seed uint64) *layout.Tree {
	t.Helper()
	tree, err := layout.Generate(layout.Spec{Repository: "library/app", Manifests: 6, Tags: 2, LayersPerManifest: 2, LayerSize: 64 << 10, Seed: seed, Complete: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := tree.Write(context.Background(), d, 8, nil); err != nil {
		t.Fatal(err)
	}
	return tree
}

// jsonCp is the part of cp's --json output the tests read.
type jsonCp struct {
	OK bool `json:"ok"`
	registry.CopyReport
}

// runCpJSON runs cp from src to dst in process, with wrapClient (when
// set) around the HTTP client each side's driver gets.
func runCpJSON(t *testing.T, src, dst *storeCLI, wrapClient func(*http.Client) *http.Client, extra ...string) (int, jsonCp, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	a := &app{stdout: &stdout, stderr: &stderr, open: func(ctx context.Context, name string, params map[string]any) (driver.StorageDriver, error) {
		if c, ok := params[driver.HTTPClientParam].(*http.Client); ok && wrapClient != nil {
			params[driver.HTTPClientParam] = wrapClient(c)
		}
		return driver.Open(ctx, name, params)
	}}
	args := append(append(append([]string{"cp", "--json", "--progress", "never"}, src.sideArgs("from")...), dst.sideArgs("to")...), extra...)
	code := run(context.Background(), args, a)
	var r jsonCp
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		t.Fatalf("exit %d: %v in %q; stderr %s", code, err, stdout.String(), stderr.String())
	}
	return code, r, stderr.String()
}

// verifyOK fails t unless the registry on d verifies.
func verifyOK(t *testing.T, d driver.StorageDriver, blobs int) {
	t.Helper()
	rep, err := registry.Verify(context.Background(), d, registry.VerifyOptions{})
	if err != nil || !rep.OK() || rep.Blobs != blobs || rep.Hashed != blobs {
		t.Fatalf("verify on the destination: %v, %+v", err, rep)
	}
}

// blobsOf counts a tree's blobs.
func blobsOf(tree *layout.Tree) int {
	n := 0
	for _, f := range tree.Files {
		if strings.Contains(f.Path, "/blobs/") {
			n++
		}
	}
	return n
}

// otherS3Bucket creates (once) a second bucket on testenv's MinIO and
// returns the parameters of a driver in it.
func otherS3Bucket(t *testing.T) map[string]any {
	t.Helper()
	params := testenv.Params(t, "s3", "")
	env := testenv.S3(t)
	client := s3sdk.New(s3sdk.Options{
		Region: env.Region, BaseEndpoint: aws.String(env.Endpoint), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(env.AccessKey, env.SecretKey, ""),
	})
	const bucket = "stowage-test-cp"
	_, err := client.CreateBucket(context.Background(), &s3sdk.CreateBucketInput{Bucket: aws.String(bucket)})
	var owned *s3types.BucketAlreadyOwnedByYou
	if err != nil && !errors.As(err, &owned) {
		t.Fatalf("creating bucket %s: %v", bucket, err)
	}
	params["bucket"] = bucket
	return params
}

func TestCpServerSideBetweenS3Buckets(t *testing.T) {
	src, dst := newStoreCLI(t, "s3"), newStoreCLIWith(t, "s3", otherS3Bucket(t))
	tree := cpTree(t, src.drv, 1)
	code, r, errOut := runCpJSON(t, src, dst, nil)
	n := len(tree.Files)
	if code != 0 || !r.OK || r.Planned != n || r.Copied != n || r.ServerSide != n || r.StreamedBytes != 0 || r.Bytes != tree.Size() {
		t.Fatalf("exit %d %+v, want %d files server-side, 0 bytes streamed; %s", code, r, n, errOut)
	}
	verifyOK(t, dst.drv, blobsOf(tree))
}

func TestCpStreamsAcrossBackends(t *testing.T) {
	src, dst := newStoreCLI(t, "s3"), newStoreCLI(t, "gcs")
	tree := cpTree(t, src.drv, 2)
	// A layer above smallFile streams through a Writer.
	big, err := layout.Generate(layout.Spec{Repository: "library/big", Manifests: 1, LayersPerManifest: 1, LayerSize: 9 << 20, Seed: 99, Complete: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := big.Write(context.Background(), src.drv, 4, nil); err != nil {
		t.Fatal(err)
	}
	n := len(tree.Files) + len(big.Files)
	code, r, errOut := runCpJSON(t, src, dst, nil)
	if code != 0 || !r.OK || r.Copied != n || r.ServerSide != 0 || r.StreamedBytes != tree.Size()+big.Size() {
		t.Fatalf("exit %d %+v; %s", code, r, errOut)
	}
	verifyOK(t, dst.drv, blobsOf(tree)+blobsOf(big))
	// A rerun finds everything there.
	if code, r, _ := runCpJSON(t, src, dst, nil); code != 0 || r.Skipped != n || r.Copied != 0 {
		t.Fatalf("rerun: exit %d %+v", code, r)
	}
}

func TestCpUnderFaults(t *testing.T) {
	src, dst := newStoreCLI(t, "s3"), newStoreCLI(t, "gcs")
	tree := cpTree(t, src.drv, 3)
	var seed atomic.Uint64
	var injected atomic.Int64
	var faults []*transport.Faults
	wrap := func(c *http.Client) *http.Client {
		f := &transport.Faults{Base: c.Transport, Seed: seed.Add(1), Rate: 0.1,
			Kinds: []transport.FaultKind{transport.FaultStatus, transport.FaultReset, transport.FaultResetAfter, transport.FaultCutBody}}
		faults = append(faults, f)
		return &http.Client{Transport: f}
	}
	code, r, errOut := runCpJSON(t, src, dst, wrap)
	for _, f := range faults {
		injected.Add(int64(f.Total()))
	}
	n := len(tree.Files)
	if code != 0 || !r.OK || r.Copied+r.Skipped != n || len(r.Failed) != 0 {
		t.Fatalf("exit %d %+v; %s", code, r, errOut)
	}
	if injected.Load() == 0 {
		t.Fatal("no fault injected")
	}
	t.Logf("%d faults injected, %d retries by cp", injected.Load(), r.Retries)
	verifyOK(t, dst.drv, blobsOf(tree))
}

// cpChildEnv makes the test binary run cp and SIGKILL itself after that
// many files are committed on the destination.
const cpChildEnv = "STOWAGE_CP_KILL_AFTER"

// killingDriver SIGKILLs the process (or, with stop set, calls stop)
// once after commits Commits.
type killingDriver struct {
	driver.StorageDriver
	after   int64
	commits *atomic.Int64
	stop    func()
}

func (k killingDriver) Writer(ctx context.Context, p string, append bool) (driver.FileWriter, error) {
	w, err := k.StorageDriver.Writer(ctx, p, append)
	return killingWriter{w, k}, err
}

func (k killingDriver) PutContent(ctx context.Context, p string, content []byte) error {
	err := k.StorageDriver.PutContent(ctx, p, content)
	k.committed()
	return err
}

// committed counts one file written and kills the process at k.after.
func (k killingDriver) committed() {
	if k.commits.Add(1) == k.after {
		if k.stop != nil {
			k.stop()
			return
		}
		_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {}
	}
}

type killingWriter struct {
	driver.FileWriter
	k killingDriver
}

func (w killingWriter) Commit(ctx context.Context) error {
	err := w.FileWriter.Commit(ctx)
	w.k.committed()
	return err
}

func TestCpKilledMidwayResumes(t *testing.T) {
	if after := os.Getenv(cpChildEnv); after != "" {
		k, _ := strconv.ParseInt(after, 10, 64)
		var commits atomic.Int64
		a := &app{stdout: os.Stdout, stderr: os.Stderr, open: func(ctx context.Context, name string, params map[string]any) (driver.StorageDriver, error) {
			d, err := driver.Open(ctx, name, params)
			if name == "gcs" && err == nil {
				return killingDriver{d, k, &commits, nil}, nil
			}
			return d, err
		}}
		os.Exit(run(context.Background(), strings.Fields(os.Getenv("STOWAGE_CP_ARGS")), a))
	}
	src, dst := newStoreCLI(t, "s3"), newStoreCLI(t, "gcs")
	tree := cpTree(t, src.drv, 4)
	args := append(append([]string{"cp", "--concurrency", "1", "--progress", "never"}, src.sideArgs("from")...), dst.sideArgs("to")...)
	cmd := exec.Command(os.Args[0], "-test.run=^TestCpKilledMidwayResumes$")
	cmd.Env = append(os.Environ(), cpChildEnv+"=10", "STOWAGE_CP_ARGS="+strings.Join(args, " "))
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("child: %v, want killed by SIGKILL; output %s", err, out)
	}
	code, r, errOut := runCpJSON(t, src, dst, nil)
	n := len(tree.Files)
	if code != 0 || !r.OK || r.Skipped < 10 || r.Copied+r.Skipped != n {
		t.Fatalf("rerun after the kill: exit %d %+v, want at least the 10 files committed before skipped; %s", code, r, errOut)
	}
	verifyOK(t, dst.drv, blobsOf(tree))
}

func TestCpRefusesBadBlob(t *testing.T) {
	src, dst := newStoreCLI(t, "filesystem"), newStoreCLI(t, "filesystem")
	tree := cpTree(t, src.drv, 5)
	bad := tree.Manifests[0].LayerBlobs[0]
	if err := src.drv.PutContent(context.Background(), bad, make([]byte, 64<<10)); err != nil {
		t.Fatal(err)
	}
	code, r, _ := runCpJSON(t, src, dst, nil, "--attempts", "2")
	if code != exitFailure || r.OK || len(r.Failed) != 1 || r.Failed[0].Path != bad || !strings.Contains(r.Failed[0].Error, "does not match its digest") {
		t.Fatalf("exit %d %+v", code, r)
	}
	if r.Copied+r.Skipped+len(r.Failed) != r.Planned || r.Retries != 1 {
		t.Fatalf("accounting %+v", r)
	}
	if _, err := dst.drv.Stat(context.Background(), bad); !driver.IsNotFound(err) {
		t.Fatalf("the bad blob was written to the destination: %v", err)
	}
}

// TestCpServerSideSameAccount copies between two roots of one account on
// each backend that copies server-side (s3 between buckets above).
func TestCpServerSideSameAccount(t *testing.T) {
	for _, backend := range []string{"gcs", "azure", "swift"} {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			src, dst := newStoreCLI(t, backend), newStoreCLI(t, backend)
			tree := cpTree(t, src.drv, 6)
			code, r, errOut := runCpJSON(t, src, dst, nil)
			n := len(tree.Files)
			if code != 0 || !r.OK || r.Copied != n || r.ServerSide != n || r.StreamedBytes != 0 {
				t.Fatalf("exit %d %+v, want %d files server-side, 0 bytes streamed; %s", code, r, n, errOut)
			}
			verifyOK(t, dst.drv, blobsOf(tree))
		})
	}
}

// TestCpInterrupted stops a copy as Ctrl-C does (the command's context
// ends) after 5 files and checks that it exits 130 and prints what it did.
func TestCpInterrupted(t *testing.T) {
	src, dst := newStoreCLI(t, "filesystem"), newStoreCLI(t, "filesystem")
	tree := cpTree(t, src.drv, 7)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var commits atomic.Int64
	var stdout, stderr bytes.Buffer
	first := true
	a := &app{stdout: &stdout, stderr: &stderr, open: func(ctx context.Context, name string, params map[string]any) (driver.StorageDriver, error) {
		d, err := driver.Open(ctx, name, params)
		if err == nil && !first {
			return killingDriver{d, 5, &commits, cancel}, nil // the destination
		}
		first = false
		return d, err
	}}
	args := append(append([]string{"cp", "--json", "--concurrency", "1", "--progress", "never"}, src.sideArgs("from")...), dst.sideArgs("to")...)
	code := run(ctx, args, a)
	var r jsonCp
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		t.Fatalf("exit %d: %v in %q", code, err, stdout.String())
	}
	if code != exitInterrupted || r.OK || r.Copied < 4 || r.Copied >= len(tree.Files) || !strings.Contains(stderr.String(), "interrupted") {
		t.Fatalf("exit %d, report %+v, stderr %s", code, r, stderr.String())
	}
}
