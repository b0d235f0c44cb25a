package swift_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	ncw "github.com/ncw/swift/v2"

	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/internal/testenv"
	"github.com/stowage-dev/stowage/swift"
	"github.com/stowage-dev/stowage/transport"
)

// keystone is a loopback stand-in for the one call of Keystone that
// application-credential authentication makes, POST /v3/auth/tokens with
// the "application_credential" method, as the OpenStack Identity API v3
// reference documents it ("Authenticating with an Application
// Credential", https://docs.openstack.org/api-ref/identity/v3/#authenticating-with-an-application-credential):
// the credential is named by its id, or by its name together with its
// owner (user name and domain, or user id), with its secret; the answer is
// 201 Created with the token in the X-Subject-Token header and a body
// {"token": {..., "catalog": [{"type": "object-store", "endpoints":
// [{"interface": "public", "region": ..., "url": ...}]}]}}. No scope is
// sent: an application credential is bound to its project.
//
// It checks the credential against its own settings, then takes a real
// token and storage URL from the test Swift's tempauth (GET /auth/v1.0)
// and answers with them, so that the driver then talks to the real Swift.
// It is a stand-in for Keystone only, in front of a real Swift: the test
// environment has no Keystone.
type keystone struct {
	id, name, secret   string
	user, domain       string
	swiftAuth          string // tempauth URL of the real Swift
	swiftUser, swiftPW string

	mu      sync.Mutex
	calls   int
	refused int
}

func (k *keystone) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/v3/auth/tokens" {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	k.mu.Lock()
	k.calls++
	k.mu.Unlock()
	var req struct {
		Auth struct {
			Identity struct {
				Methods []string `json:"methods"`
				AppCred *struct {
					ID     string `json:"id"`
					Name   string `json:"name"`
					Secret string `json:"secret"`
					User   *struct {
						ID     string `json:"id"`
						Name   string `json:"name"`
						Domain *struct {
							ID   string `json:"id"`
							Name string `json:"name"`
						} `json:"domain"`
					} `json:"user"`
				} `json:"application_credential"`
			} `json:"identity"`
			Scope json.RawMessage `json:"scope"`
		} `json:"auth"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	id := req.Auth.Identity
	ac := id.AppCred
	refuse := func(why string) {
		k.mu.Lock()
		k.refused++
		k.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprintf(w, `{"error": {"code": 401, "title": "Unauthorized", "message": %q}}`, why)
	}
	switch {
	case len(id.Methods) != 1 || id.Methods[0] != "application_credential" || ac == nil:
		refuse(fmt.Sprintf("methods %v: want application_credential", id.Methods))
		return
	case len(req.Auth.Scope) > 0:
		// Keystone refuses a scope with an application credential.
		refuse("an application credential takes no scope")
		return
	case ac.Secret != k.secret:
		refuse("wrong secret")
		return
	case ac.ID != "":
		if ac.ID != k.id {
			refuse("unknown application credential id")
			return
		}
	case ac.Name != "":
		if ac.Name != k.name || ac.User == nil || ac.User.Name != k.user || ac.User.Domain == nil || ac.User.Domain.Name != k.domain {
			refuse("unknown application credential name for this user")
			return
		}
	default:
		refuse("neither id nor name")
		return
	}
	token, storageURL, err := k.tempauth(r.Context())
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	var body bytes.Buffer
	_ = json.NewEncoder(&body).Encode(map[string]any{"token": map[string]any{
		"methods":    []string{"application_credential"},
		"expires_at": time.Now().Add(time.Hour).UTC().Format(time.RFC3339),
		"catalog": []map[string]any{
			{"type": "identity", "endpoints": []map[string]any{{"interface": "public", "region": "RegionOne", "url": "http://" + r.Host + "/v3"}}},
			{"type": "object-store", "endpoints": []map[string]any{
				{"interface": "internal", "region": "RegionOne", "url": "http://127.0.0.1:1/v1/WRONG"},
				{"interface": "public", "region": "RegionOne", "url": storageURL},
			}},
		},
	}})
	w.Header().Set("X-Subject-Token", token)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	_, _ = w.Write(body.Bytes())
}

// tempauth takes a token and the storage URL from the real Swift.
func (k *keystone) tempauth(ctx context.Context) (token, storageURL string, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, k.swiftAuth, nil)
	if err != nil {
		return "", "", err
	}
	req.Header.Set("X-Storage-User", k.swiftUser)
	req.Header.Set("X-Storage-Pass", k.swiftPW)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", "", err
	}
	resp.Body.Close()
	token, storageURL = resp.Header.Get("X-Auth-Token"), resp.Header.Get("X-Storage-Url")
	if resp.StatusCode/100 != 2 || token == "" || storageURL == "" {
		return "", "", fmt.Errorf("tempauth: %s, token %q, storage URL %q", resp.Status, token, storageURL)
	}
	return token, storageURL, nil
}

func (k *keystone) counts() (calls, refused int) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.calls, k.refused
}

// startKeystone starts the stand-in in front of the test Swift.
func startKeystone(t *testing.T) (*keystone, string) {
	t.Helper()
	env := testenv.Swift(t)
	k := &keystone{id: "0a1b2c3d", name: "registry-cred", secret: "app-secret",
		user: "owner", domain: "Default", swiftAuth: env.AuthURL, swiftUser: env.User, swiftPW: env.Key}
	srv := httptest.NewServer(k)
	t.Cleanup(srv.Close)
	return k, srv.URL + "/v3"
}

// The driver authenticates with an application credential, by id and by
// name, through the configured client, and then stores, reads and
// bulk-deletes on the real Swift with the token Keystone gave it.
func TestApplicationCredentialsEndToEnd(t *testing.T) {
	container := testenv.Swift(t).Container
	for _, tc := range []struct {
		name  string
		creds map[string]any
	}{
		{"ByID", map[string]any{"applicationcredentialid": "0a1b2c3d", "applicationcredentialsecret": "app-secret"}},
		{"ByName", map[string]any{"applicationcredentialname": "registry-cred", "applicationcredentialsecret": "app-secret",
			"username": "owner", "domain": "Default"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ks, authURL := startKeystone(t)
			root := freshRoot(t)
			counter := &transport.Counter{}
			params := map[string]any{"authurl": authURL, "container": container, "prefix": root,
				driver.HTTPClientParam: &http.Client{Transport: counter}}
			for k, v := range tc.creds {
				params[k] = v
			}
			cfg, err := swift.FromParameters(params)
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			d, err := swift.New(ctx, cfg)
			if err != nil {
				t.Fatalf("New with application credentials: %v", err)
			}
			if calls, refused := ks.counts(); calls != 1 || refused != 0 {
				t.Fatalf("keystone saw %d token requests, refused %d; want 1, 0", calls, refused)
			}
			if counter.Total() == 0 {
				t.Fatal("no request went through the configured httpclient")
			}
			want := map[string][]byte{"/a/one": []byte("one"), "/a/two": []byte("two")}
			for p, b := range want {
				if err := d.PutContent(ctx, p, b); err != nil {
					t.Fatalf("PutContent(%s): %v", p, err)
				}
			}
			for p, b := range want {
				got, err := d.GetContent(ctx, p)
				if err != nil || !bytes.Equal(got, b) {
					t.Fatalf("GetContent(%s) = %q, %v; want %q", p, got, err, b)
				}
			}
			m := newIndependent(t)
			if got := m.get(root + "/a/one"); !bytes.Equal(got, want["/a/one"]) {
				t.Fatalf("the object in Swift holds %q", got)
			}
			n, err := d.DeleteFiles(ctx, []string{"/a/one", "/a/two"})
			if err != nil || n != 2 {
				t.Fatalf("DeleteFiles = %d, %v; want 2", n, err)
			}
			if left := m.keys(root + "/"); len(left) != 0 {
				t.Errorf("left after DeleteFiles: %v", left)
			}
		})
	}
}

// A wrong secret is refused by Keystone: New fails with ncw/swift's
// AuthorizationFailed, which stowage does not retry. (ncw/swift itself
// sends an authentication refused with 401 once more, "to try some
// alternate forms of the request", see Connection.authenticate: two
// token requests.)
func TestApplicationCredentialsWrongSecret(t *testing.T) {
	ks, authURL := startKeystone(t)
	cfg, err := swift.FromParameters(map[string]any{"authurl": authURL, "container": testenv.Swift(t).Container,
		"applicationcredentialid": "0a1b2c3d", "applicationcredentialsecret": "wrong"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = swift.New(context.Background(), cfg)
	if !errors.Is(err, ncw.AuthorizationFailed) {
		t.Fatalf("New with a wrong secret = %v, want ncw/swift's AuthorizationFailed", err)
	}
	if calls, refused := ks.counts(); calls != 2 || refused != 2 {
		t.Errorf("keystone saw %d token requests, refused %d; want 2, 2", calls, refused)
	}
}
