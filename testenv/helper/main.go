// Command helper is the small, standard-library-only tool that testenv/up and
// testenv/down use where bash alone would be awkward: picking free loopback
// ports, probing each test server, and creating the bucket or container the
// tests use. It has no dependency outside the standard library so that it
// builds in a second, before any SDK is downloaded.
//
// Usage:
//
//	helper ports N           print N distinct free TCP ports on 127.0.0.1
//	helper health BACKEND    exit 0 when the server answers (one attempt)
//	helper create BACKEND    create the bucket/container (idempotent)
//	helper check BACKEND     exit 0 when the server answers and the bucket exists
//	helper cert DIR          write a self-signed certificate for 127.0.0.1 and
//	                         its key to DIR/cert.pem and DIR/key.pem
//
// BACKEND is one of s3, gcs, azure, azure-oauth, swift. The server settings
// are read from the same STOWAGE_* environment variables that testenv/up
// prints.
package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "testenv helper:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) != 2 {
		return errors.New("usage: helper ports N | helper cert DIR | helper health|create|check s3|gcs|azure|azure-oauth|swift")
	}
	if args[0] == "cert" {
		return writeCert(args[1])
	}
	if args[0] == "ports" {
		n, err := strconv.Atoi(args[1])
		if err != nil || n < 1 || n > 64 {
			return fmt.Errorf("ports: bad count %q", args[1])
		}
		return printPorts(n)
	}
	b, ok := backends[args[1]]
	if !ok {
		return fmt.Errorf("unknown backend %q", args[1])
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	switch args[0] {
	case "health":
		return b.health(ctx)
	case "create":
		return b.create(ctx)
	case "check":
		if err := b.health(ctx); err != nil {
			return err
		}
		return b.exists(ctx)
	}
	return fmt.Errorf("unknown command %q", args[0])
}

// printPorts holds n listeners open at once, so the ports are distinct, then
// closes them and prints their numbers, one a line.
func printPorts(n int) error {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		ls = append(ls, l)
	}
	for _, l := range ls {
		fmt.Println(l.Addr().(*net.TCPAddr).Port)
	}
	return nil
}

type backend struct {
	health, create, exists func(context.Context) error
}

var backends = map[string]backend{
	"s3":          {s3Health, s3Create, s3Exists},
	"gcs":         {gcsHealth, gcsCreate, gcsExists},
	"azure":       azurite(azureDo, "STOWAGE_AZURE_CONTAINER"),
	"azure-oauth": azurite(oauthDo, "STOWAGE_AZURE_OAUTH_CONTAINER"),
	"swift":       {swiftHealth, swiftCreate, swiftExists},
}

var client = &http.Client{Timeout: 5 * time.Second}

func env(name string) string { return os.Getenv(name) }

// do sends req and fails unless the status is one of want. It returns the
// response with its body read into memory.
func do(req *http.Request, want ...int) (*http.Response, []byte, error) {
	return doWith(client, req, want...)
}

// doWith is do with the client c.
func doWith(c *http.Client, req *http.Request, want ...int) (*http.Response, []byte, error) {
	resp, err := c.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	for _, w := range want {
		if resp.StatusCode == w {
			return resp, body, nil
		}
	}
	return resp, body, fmt.Errorf("%s %s: status %s: %s", req.Method, req.URL.Redacted(), resp.Status, bytes.TrimSpace(body))
}

func newRequest(ctx context.Context, method, u string, body []byte) (*http.Request, error) {
	return http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
}

// --- S3 (MinIO) ---

func s3Health(ctx context.Context) error {
	req, err := newRequest(ctx, http.MethodGet, env("STOWAGE_S3_ENDPOINT")+"/minio/health/live", nil)
	if err != nil {
		return err
	}
	_, _, err = do(req, http.StatusOK)
	return err
}

func s3Create(ctx context.Context) error {
	req, err := newRequest(ctx, http.MethodPut, env("STOWAGE_S3_ENDPOINT")+"/"+env("STOWAGE_S3_BUCKET"), nil)
	if err != nil {
		return err
	}
	signV4(req, nil, time.Now())
	resp, body, err := do(req, http.StatusOK, http.StatusConflict)
	if err == nil && resp.StatusCode == http.StatusConflict && !bytes.Contains(body, []byte("BucketAlreadyOwnedByYou")) {
		return fmt.Errorf("create bucket: %s", bytes.TrimSpace(body))
	}
	return err
}

func s3Exists(ctx context.Context) error {
	req, err := newRequest(ctx, http.MethodHead, env("STOWAGE_S3_ENDPOINT")+"/"+env("STOWAGE_S3_BUCKET"), nil)
	if err != nil {
		return err
	}
	signV4(req, nil, time.Now())
	_, _, err = do(req, http.StatusOK)
	return err
}

// signV4 signs req with AWS Signature Version 4 for service s3. It handles
// what the helper sends: no query string, a body held in memory.
func signV4(req *http.Request, body []byte, now time.Time) {
	region := env("STOWAGE_S3_REGION")
	amzDate := now.UTC().Format("20060102T150405Z")
	day := amzDate[:8]
	payload := sha256Hex(body)
	req.Header.Set("X-Amz-Date", amzDate)
	req.Header.Set("X-Amz-Content-Sha256", payload)

	headers := map[string]string{
		"host":                 req.URL.Host,
		"x-amz-content-sha256": payload,
		"x-amz-date":           amzDate,
	}
	names := make([]string, 0, len(headers))
	for k := range headers {
		names = append(names, k)
	}
	sort.Strings(names)
	var canonHeaders strings.Builder
	for _, k := range names {
		canonHeaders.WriteString(k + ":" + headers[k] + "\n")
	}
	signed := strings.Join(names, ";")
	path := req.URL.EscapedPath()
	if path == "" {
		path = "/"
	}
	canonical := strings.Join([]string{req.Method, path, req.URL.RawQuery, canonHeaders.String(), signed, payload}, "\n")
	scope := day + "/" + region + "/s3/aws4_request"
	toSign := "AWS4-HMAC-SHA256\n" + amzDate + "\n" + scope + "\n" + sha256Hex([]byte(canonical))

	key := hmacSHA256([]byte("AWS4"+env("STOWAGE_S3_SECRET_KEY")), day)
	key = hmacSHA256(key, region)
	key = hmacSHA256(key, "s3")
	key = hmacSHA256(key, "aws4_request")
	sig := hex.EncodeToString(hmacSHA256(key, toSign))
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+env("STOWAGE_S3_ACCESS_KEY")+"/"+scope+
		", SignedHeaders="+signed+", Signature="+sig)
}

func sha256Hex(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func hmacSHA256(key []byte, msg string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

// --- GCS (fake-gcs-server) ---

func gcsHealth(ctx context.Context) error {
	req, err := newRequest(ctx, http.MethodGet, env("STOWAGE_GCS_ENDPOINT")+"b?project=stowage", nil)
	if err != nil {
		return err
	}
	_, _, err = do(req, http.StatusOK)
	return err
}

func gcsCreate(ctx context.Context) error {
	body := []byte(`{"name":` + strconv.Quote(env("STOWAGE_GCS_BUCKET")) + `}`)
	req, err := newRequest(ctx, http.MethodPost, env("STOWAGE_GCS_ENDPOINT")+"b?project=stowage", body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	_, _, err = do(req, http.StatusOK, http.StatusConflict)
	return err
}

func gcsExists(ctx context.Context) error {
	req, err := newRequest(ctx, http.MethodGet, env("STOWAGE_GCS_ENDPOINT")+"b/"+url.PathEscape(env("STOWAGE_GCS_BUCKET")), nil)
	if err != nil {
		return err
	}
	_, _, err = do(req, http.StatusOK)
	return err
}

// --- Azure (Azurite) ---

const azureVersion = "2021-12-02"

// azurite is the backend of an Azurite whose requests do signs (a shared
// key, or a bearer token), with the container named by the environment
// variable containerVar. Its health check is an authenticated list of
// containers: it proves both that Azurite answers and that it takes the
// credentials.
func azurite(do func(ctx context.Context, method, path string, query url.Values, want ...int) error, containerVar string) backend {
	container := func() string { return "/" + env(containerVar) }
	restype := url.Values{"restype": {"container"}}
	return backend{
		health: func(ctx context.Context) error {
			return do(ctx, http.MethodGet, "", url.Values{"comp": {"list"}}, http.StatusOK)
		},
		create: func(ctx context.Context) error {
			return do(ctx, http.MethodPut, container(), restype, http.StatusCreated, http.StatusConflict)
		},
		exists: func(ctx context.Context) error {
			return do(ctx, http.MethodGet, container(), restype, http.StatusOK)
		},
	}
}

// azureDo sends a body-less request signed with the account's Shared Key.
func azureDo(ctx context.Context, method, path string, query url.Values, want ...int) error {
	u, err := url.Parse(env("STOWAGE_AZURE_URL") + path)
	if err != nil {
		return err
	}
	u.RawQuery = query.Encode()
	req, err := http.NewRequestWithContext(ctx, method, u.String(), nil)
	if err != nil {
		return err
	}
	req.Header.Set("x-ms-date", time.Now().UTC().Format(http.TimeFormat))
	req.Header.Set("x-ms-version", azureVersion)
	if err := signSharedKey(req); err != nil {
		return err
	}
	_, _, err = do(req, want...)
	return err
}

// signSharedKey adds a Shared Key Authorization header to a body-less request
// (https://learn.microsoft.com/rest/api/storageservices/authorize-with-shared-key).
func signSharedKey(req *http.Request) error {
	account := env("STOWAGE_AZURE_ACCOUNT")
	key, err := base64.StdEncoding.DecodeString(env("STOWAGE_AZURE_KEY"))
	if err != nil {
		return fmt.Errorf("STOWAGE_AZURE_KEY: %w", err)
	}
	var xms []string
	for k := range req.Header {
		if lk := strings.ToLower(k); strings.HasPrefix(lk, "x-ms-") {
			xms = append(xms, lk)
		}
	}
	sort.Strings(xms)
	var canonHeaders strings.Builder
	for _, k := range xms {
		canonHeaders.WriteString(k + ":" + req.Header.Get(k) + "\n")
	}
	resource := "/" + account + req.URL.EscapedPath()
	q := req.URL.Query()
	qk := make([]string, 0, len(q))
	for k := range q {
		qk = append(qk, k)
	}
	sort.Strings(qk)
	for _, k := range qk {
		resource += "\n" + strings.ToLower(k) + ":" + strings.Join(q[k], ",")
	}
	// Verb, then Content-Encoding, -Language, -Length, -MD5, -Type, Date,
	// If-Modified-Since, If-Match, If-None-Match, If-Unmodified-Since, Range:
	// all empty for the requests the helper sends.
	toSign := req.Method + "\n" + strings.Repeat("\n", 11) + canonHeaders.String() + resource
	m := hmac.New(sha256.New, key)
	m.Write([]byte(toSign))
	req.Header.Set("Authorization", "SharedKey "+account+":"+base64.StdEncoding.EncodeToString(m.Sum(nil)))
	return nil
}

// --- Azure with OAuth (Azurite over https, --oauth basic) ---

// oauthDo sends a body-less request with a bearer token that Azurite's basic
// OAuth accepts: an unsigned JWT for the storage audience from a Microsoft
// Entra issuer, valid now (Azurite checks issuer, audience and lifetime, not
// the signature).
func oauthDo(ctx context.Context, method, path string, query url.Values, want ...int) error {
	c, err := oauthClient()
	if err != nil {
		return err
	}
	u, err := url.Parse(env("STOWAGE_AZURE_OAUTH_URL") + path)
	if err != nil {
		return err
	}
	u.RawQuery = query.Encode()
	req, err := http.NewRequestWithContext(ctx, method, u.String(), nil)
	if err != nil {
		return err
	}
	now := time.Now()
	claims, err := json.Marshal(map[string]any{
		"aud": "https://storage.azure.com", "iss": "https://sts.windows.net/00000000-0000-0000-0000-000000000000/",
		"iat": now.Unix(), "nbf": now.Add(-time.Minute).Unix(), "exp": now.Add(time.Hour).Unix(),
	})
	if err != nil {
		return err
	}
	enc := base64.RawURLEncoding.EncodeToString
	req.Header.Set("Authorization", "Bearer "+enc([]byte(`{"alg":"none","typ":"JWT"}`))+"."+enc(claims)+".")
	req.Header.Set("x-ms-date", now.UTC().Format(http.TimeFormat))
	req.Header.Set("x-ms-version", azureVersion)
	_, _, err = doWith(c, req, want...)
	return err
}

// oauthClient is client trusting only the certificate in
// STOWAGE_AZURE_OAUTH_CA.
func oauthClient() (*http.Client, error) {
	pemBytes, err := os.ReadFile(env("STOWAGE_AZURE_OAUTH_CA"))
	if err != nil {
		return nil, fmt.Errorf("STOWAGE_AZURE_OAUTH_CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemBytes) {
		return nil, fmt.Errorf("STOWAGE_AZURE_OAUTH_CA: no certificate in %s", env("STOWAGE_AZURE_OAUTH_CA"))
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return &http.Client{Timeout: client.Timeout, Transport: t}, nil
}

// writeCert writes a self-signed ECDSA P-256 certificate for 127.0.0.1 and
// localhost, valid for a year and usable as its own CA, to dir/cert.pem,
// and its PKCS #8 key to dir/key.pem (mode 0600).
func writeCert(dir string) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "stowage testenv 127.0.0.1", Organization: []string{"stowage testenv"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "key.pem"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "cert.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
}

// --- Swift ---

// swiftAuth signs in with tempauth (v1.0) and returns the storage URL and token.
func swiftAuth(ctx context.Context) (storageURL, token string, err error) {
	req, err := newRequest(ctx, http.MethodGet, env("STOWAGE_SWIFT_AUTH_URL"), nil)
	if err != nil {
		return "", "", err
	}
	req.Header.Set("X-Storage-User", env("STOWAGE_SWIFT_USER"))
	req.Header.Set("X-Storage-Pass", env("STOWAGE_SWIFT_KEY"))
	resp, _, err := do(req, http.StatusOK)
	if err != nil {
		return "", "", err
	}
	storageURL, token = resp.Header.Get("X-Storage-Url"), resp.Header.Get("X-Auth-Token")
	if storageURL == "" || token == "" {
		return "", "", errors.New("swift auth: answer without X-Storage-Url or X-Auth-Token")
	}
	return storageURL, token, nil
}

func swiftHealth(ctx context.Context) error {
	_, _, err := swiftAuth(ctx)
	return err
}

// swiftCreate creates the container and the <container>_segments container
// that ncw/swift's large-object writers use.
func swiftCreate(ctx context.Context) error {
	storageURL, token, err := swiftAuth(ctx)
	if err != nil {
		return err
	}
	c := env("STOWAGE_SWIFT_CONTAINER")
	for _, name := range []string{c, c + "_segments"} {
		req, err := newRequest(ctx, http.MethodPut, storageURL+"/"+url.PathEscape(name), nil)
		if err != nil {
			return err
		}
		req.Header.Set("X-Auth-Token", token)
		if _, _, err := do(req, http.StatusCreated, http.StatusAccepted); err != nil {
			return err
		}
	}
	return nil
}

func swiftExists(ctx context.Context) error {
	storageURL, token, err := swiftAuth(ctx)
	if err != nil {
		return err
	}
	req, err := newRequest(ctx, http.MethodHead, storageURL+"/"+url.PathEscape(env("STOWAGE_SWIFT_CONTAINER")), nil)
	if err != nil {
		return err
	}
	req.Header.Set("X-Auth-Token", token)
	_, _, err = do(req, http.StatusNoContent, http.StatusOK)
	return err
}
