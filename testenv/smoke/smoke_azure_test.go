package smoke_test

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"

	"github.com/stowage-dev/stowage/internal/testenv"
)

// TestAzure checks the Azure Blob server (Azurite) with azblob.
func TestAzure(t *testing.T) {
	s := testenv.Azure(t)
	ctx := testContext(t)
	where := "Azure Blob server (Azurite) at " + s.URL

	cred, err := azblob.NewSharedKeyCredential(s.Account, s.Key)
	if err != nil {
		t.Fatalf("%s: credential: %v", where, err)
	}
	client, err := azblob.NewClientWithSharedKeyCredential(strings.TrimSuffix(s.URL, "/")+"/", cred, nil)
	if err != nil {
		t.Fatalf("%s: new client: %v", where, err)
	}

	azureRoundTrip(ctx, t, where, client, s.Container, nil)
}

// azureRoundTrip puts a blob into container through client, gets it back,
// lists it, runs between (if not nil) with its name, deletes it and checks
// it is gone.
func azureRoundTrip(ctx context.Context, t *testing.T, where string, client *azblob.Client, container string, between func(name string)) {
	t.Helper()
	name := objectName(t)
	data := content(name)
	if _, err := client.UploadBuffer(ctx, container, name, data, nil); err != nil {
		t.Fatalf("%s: put %s/%s: %v", where, container, name, err)
	}
	deleted := false
	t.Cleanup(func() {
		if !deleted {
			client.DeleteBlob(ctx, container, name, nil) //nolint:errcheck // best effort
		}
	})

	resp, err := client.DownloadStream(ctx, container, name, nil)
	if err != nil {
		t.Fatalf("%s: get: %v", where, err)
	}
	got, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("%s: read: %v", where, err)
	}
	checkRoundTrip(t, where, got, data)

	var names []string
	pager := client.NewListBlobsFlatPager(container, &azblob.ListBlobsFlatOptions{Prefix: &name})
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatalf("%s: list: %v", where, err)
		}
		for _, b := range page.Segment.BlobItems {
			if b.Name != nil {
				names = append(names, *b.Name)
			}
		}
	}
	checkListed(t, where, names, name)
	if between != nil {
		between(name)
	}

	if _, err := client.DeleteBlob(ctx, container, name, nil); err != nil {
		t.Fatalf("%s: delete: %v", where, err)
	}
	deleted = true
	if _, err := client.DownloadStream(ctx, container, name, nil); !bloberror.HasCode(err, bloberror.BlobNotFound) {
		t.Fatalf("%s: get after delete: got %v, want BlobNotFound", where, err)
	}
}
