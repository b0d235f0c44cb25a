package swift

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/ncw/swift/v2"

	"github.com/stowage-dev/stowage/driver"
)

// DeleteBatch implements driver.Backend for b's container: one bulk-delete
// request (POST ?bulk-delete) for the plain objects of objs. Static large
// objects (files committed above MaxFileSize, listed with an slo_etag, or
// found in the SLO index by DeleteFiles) are deleted one by one with
// multipart-manifest=delete (deleteLarge), so their segments go too; so is
// every object when the cluster has no bulk-delete middleware
// (the batch limit is then 1). Those single DELETEs are sent once each: the
// Store retries the transient failures.
func (b *backend) DeleteBatch(ctx context.Context, objs []driver.Object) ([]error, error) {
	errs := make([]error, len(objs))
	var bulk, single []int // indexes of objs
	for i, o := range objs {
		if _, slo := o.Detail.(largeObject); slo || !b.info.bulkDelete {
			single = append(single, i)
		} else {
			bulk = append(bulk, i)
		}
	}
	if len(bulk) > 0 {
		if err := b.bulkDelete(ctx, objs, bulk, errs); err != nil {
			return nil, err
		}
	}
	for _, i := range single {
		if _, slo := objs[i].Detail.(largeObject); slo {
			errs[i] = b.deleteLarge(ctx, objs[i].Key)
			continue
		}
		_, _, errs[i] = b.do(ctx, request{method: http.MethodDelete, container: b.container, object: objs[i].Key, once: true})
	}
	return errs, nil
}

// bulkDelete deletes objs[i] for each i of bulk with one bulk-delete
// request (retried as a whole on transient failures) and sets errs[i] for
// the names the server reports as failed or did not come to.
func (b *backend) bulkDelete(ctx context.Context, objs []driver.Object, bulk []int, errs []error) error {
	keys := make([]string, len(bulk))
	index := make(map[string]int, len(bulk)) // "container/name" to the index in objs
	for j, i := range bulk {
		keys[j] = b.container + "/" + objs[i].Key
		index[keys[j]] = i
	}
	res, err := b.bulkRequest(ctx, keys)
	if err != nil {
		return err
	}
	reported := map[string]bool{}
	for _, e := range res.Errors {
		if len(e) != 2 {
			continue
		}
		k, uerr := url.PathUnescape(strings.TrimPrefix(e[0], "/"))
		if uerr != nil {
			k = strings.TrimPrefix(e[0], "/")
		}
		if i, ok := index[k]; ok {
			reported[k] = true
			code, text := parseStatus(e[1])
			errs[i] = &statusError{code: code, text: text}
		}
	}
	if code, text := parseStatus(res.Status); (code < 200 || code > 299) && res.NotFound+res.Deleted+len(res.Errors) < len(keys) {
		// The server stopped before it came to some names (e.g. too many
		// failures): they fail with the request's status, and are sent
		// again when that is transient or other names' failures stopped it.
		for _, k := range keys {
			if !reported[k] {
				errs[index[k]] = &statusError{code: code, text: strings.TrimSpace(text + " " + res.Body), stopped: len(res.Errors) > 0}
			}
		}
	}
	return nil
}

// bulkResult is the JSON answer of a bulk delete.
type bulkResult struct {
	NotFound int        `json:"Number Not Found"`
	Deleted  int        `json:"Number Deleted"`
	Status   string     `json:"Response Status"`
	Body     string     `json:"Response Body"`
	Errors   [][]string `json:"Errors"`
}

// parseStatus parses "503 Service Unavailable".
func parseStatus(s string) (int, string) {
	code, text, _ := strings.Cut(strings.TrimSpace(s), " ")
	n, err := strconv.Atoi(code)
	if err != nil {
		return 0, s
	}
	return n, text
}

// bulkRequest sends one bulk-delete request for keys ("container/name")
// and decodes its answer, retrying the whole request on transient
// failures, an answer cut short included (a retried batch finds the names
// it deleted gone: 404, counted as deleted).
func (b *backend) bulkRequest(ctx context.Context, keys []string) (bulkResult, error) {
	var body strings.Builder
	for _, k := range keys {
		body.WriteString((&url.URL{Path: "/" + k}).EscapedPath())
		body.WriteByte('\n')
	}
	var res bulkResult
	_, _, err := b.do(ctx, request{method: http.MethodPost, query: url.Values{"bulk-delete": {"1"}},
		headers: swift.Headers{"Accept": "application/json", "Content-Type": "text/plain"},
		body:    []byte(body.String()),
		read: func(b []byte) error {
			res = bulkResult{}
			if err := json.Unmarshal(b, &res); err != nil {
				return fmt.Errorf("decoding the bulk-delete answer %.200q: %w", b, err)
			}
			return nil
		}})
	return res, err
}

// segments returns the BatchDeleter of the segments container, for the
// writer's own objects: a copy of b whose DeleteBatch deletes from there.
func (b *backend) segments() driver.BatchDeleter {
	sb := *b
	sb.container = b.cfg.SegmentsContainer
	return driver.BatchDeleter{DriverName: DriverName, Backend: &sb, Keys: b.keys, BatchSize: b.batch, Config: b.cfg.CommonConfig}
}
