package conformance_test

import (
	"context"
	"fmt"
	"net/http"

	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/inmemory"
)

// remoteBatch is the remote's delete batch size, unless Env.DeleteBatchSize
// lowers it.
const remoteBatch = 100

// remote makes an inmemory store look like an HTTP backend to the suite,
// so that the self test can prove the leaves that only run with
// Capabilities.HTTP (request counts, requests that fail): it reports
// HTTP: true, and where an object store sends a state-changing request it
// sends one through the Env's HTTPClient to a local server that answers
// 204, and changes the store only when that request succeeded. The
// counting is honest: Env.Requests counts exactly the requests it sends.
//
//   - DeleteFiles: one POST per batch of remoteBatch (or
//     Env.DeleteBatchSize) unique paths, up to four at once; a batch whose
//     request fails is reported failed, nothing in it deleted.
//   - Move: a PUT for the copy, then a DELETE for the source; the
//     destination is written only after the PUT succeeded, the source
//     removed only after the DELETE did.
//
// Every other method sends nothing, which the leaves allow: with
// ListPageSize 0 no leaf counts Walk's or Delete's requests.
type remote struct {
	*inmemory.Driver
	client *http.Client
	url    string
	batch  int
}

// Capabilities implements the suite's capability probe.
func (r *remote) Capabilities() driver.Capabilities {
	return driver.Capabilities{DeleteBatchSize: r.batch, HTTP: true}
}

// send sends one request to the server.
func (r *remote) send(ctx context.Context, method, what string) error {
	req, err := http.NewRequestWithContext(ctx, method, r.url+"/"+what, nil)
	if err != nil {
		return err
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return fmt.Errorf("remote: %s %s: %w", method, what, err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("remote: %s %s: %s", method, what, resp.Status)
	}
	return nil
}

// DeleteFiles implements driver.StorageDriver: one request per batch.
func (r *remote) DeleteFiles(ctx context.Context, paths []string) (int, error) {
	return driver.DeleteInBatches(ctx, inmemory.DriverName, paths, r.batch, 4, func(ctx context.Context, batch []string) []driver.DeleteFailure {
		if err := r.send(ctx, http.MethodPost, "delete"); err != nil {
			out := make([]driver.DeleteFailure, len(batch))
			for i, p := range batch {
				out[i] = driver.DeleteFailure{Path: p, Err: err}
			}
			return out
		}
		// The server did it: the store follows whatever ctx says now.
		if _, err := r.Driver.DeleteFiles(context.WithoutCancel(ctx), batch); err != nil {
			panic(err) // valid, unique paths: inmemory cannot fail
		}
		return nil
	})
}

// Move implements driver.StorageDriver: a copy request, then a delete
// request.
func (r *remote) Move(ctx context.Context, src, dst string) error {
	for _, p := range []string{src, dst} {
		if err := driver.ValidatePath(inmemory.DriverName, p); err != nil {
			return err
		}
	}
	content, err := r.Driver.GetContent(ctx, src)
	if err != nil {
		return err
	}
	if src == dst {
		return nil
	}
	if err := r.send(ctx, http.MethodPut, "copy"); err != nil {
		return err
	}
	if err := r.Driver.PutContent(context.WithoutCancel(ctx), dst, content); err != nil {
		return err
	}
	if err := r.send(ctx, http.MethodDelete, "source"); err != nil {
		return err
	}
	return r.Driver.Delete(context.WithoutCancel(ctx), src)
}
