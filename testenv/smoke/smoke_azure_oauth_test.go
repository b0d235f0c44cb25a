package smoke_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"

	"github.com/stowage-dev/stowage/internal/testenv"
)

// staticToken is an azcore.TokenCredential handing out one bearer token.
type staticToken string

func (s staticToken) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{Token: string(s), ExpiresOn: time.Now().Add(time.Hour)}, nil
}

// unsignedToken is a JWT, unsigned, with the claims Azurite's --oauth
// basic checks: an Entra issuer, the audience aud, and a lifetime around
// now.
func unsignedToken(aud string) staticToken {
	enc := base64.RawURLEncoding.EncodeToString
	now := time.Now()
	claims, _ := json.Marshal(map[string]any{
		"aud": aud, "iss": "https://sts.windows.net/00000000-0000-0000-0000-000000000000/",
		"iat": now.Unix(), "nbf": now.Add(-time.Minute).Unix(), "exp": now.Add(time.Hour).Unix(),
	})
	return staticToken(enc([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + enc(claims) + ".")
}

// TestAzureOAuth checks the azure-oauth server (Azurite over https with
// --oauth basic) with azblob and a bearer token: a client trusting its
// certificate puts, gets, lists and deletes a blob; a token for another
// audience is refused.
func TestAzureOAuth(t *testing.T) {
	s := testenv.AzureOAuth(t)
	ctx := testContext(t)
	where := "Azure Blob server with OAuth (Azurite) at " + s.URL

	pemBytes, err := os.ReadFile(s.CA)
	if err != nil {
		t.Fatalf("%s: CA: %v", where, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemBytes) {
		t.Fatalf("%s: no certificate in %s", where, s.CA)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	t.Cleanup(tr.CloseIdleConnections)
	opts := &azblob.ClientOptions{ClientOptions: azcore.ClientOptions{Transport: &http.Client{Transport: tr}}}
	newClient := func(aud string) *azblob.Client {
		c, err := azblob.NewClient(strings.TrimSuffix(s.URL, "/")+"/", unsignedToken(aud), opts)
		if err != nil {
			t.Fatalf("%s: new client: %v", where, err)
		}
		return c
	}
	client := newClient("https://storage.azure.com")

	azureRoundTrip(ctx, t, where, client, s.Container, func(name string) {
		wrong := newClient("https://management.azure.com")
		if _, err := wrong.DownloadStream(ctx, s.Container, name, nil); !bloberror.HasCode(err, bloberror.AuthenticationFailed) {
			t.Fatalf("%s: get with a token for another audience: got %v, want AuthenticationFailed", where, err)
		}
	})
}
