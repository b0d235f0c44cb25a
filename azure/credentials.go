package azure

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
)

// CredentialsType names how the driver authenticates, as distribution's
// azure driver names it in its "credentials" parameter (type).
type CredentialsType string

// The credentials types of distribution's azure driver.
const (
	// CredentialsSharedKey signs every request with the account's shared
	// key (Config.AccountKey).
	CredentialsSharedKey CredentialsType = "shared_key"
	// CredentialsClientSecret is a Microsoft Entra service principal:
	// azidentity's ClientSecretCredential with Credentials.TenantID,
	// ClientID and Secret.
	CredentialsClientSecret CredentialsType = "client_secret"
	// CredentialsDefault is azidentity's DefaultAzureCredential: the
	// AZURE_* environment variables (a service principal), AKS workload
	// identity (AZURE_FEDERATED_TOKEN_FILE), managed identity (IMDS) and
	// the Azure CLI and Developer CLI, tried in that order.
	CredentialsDefault CredentialsType = "default_credentials"
)

// Credentials says how the driver authenticates when it is not with
// Config.AccountKey alone. Its zero value means: a shared key when
// Config.AccountKey is set, a SAS when Config.SASToken (or a SAS in
// Config.ServiceURL or Config.ConnectionString) is.
//
// With a token credential (Type CredentialsClientSecret or
// CredentialsDefault, or Token set) every request carries an OAuth bearer
// token for https://storage.azure.com, so the service URL must be https;
// the identity needs a data role on the container (Storage Blob Data
// Contributor), and, for URLFor, the permission to get a user delegation
// key (Storage Blob Delegator, included in the Contributor role).
type Credentials struct {
	// Type is the kind of credential; "" picks one from the other
	// settings (see Credentials).
	Type CredentialsType
	// TenantID is the Microsoft Entra tenant (directory) ID: required
	// for CredentialsClientSecret; for CredentialsDefault, the tenant of
	// workload identity and the CLIs (default: AZURE_TENANT_ID).
	TenantID string
	// ClientID is the application (client) ID of a CredentialsClientSecret
	// service principal.
	ClientID string
	// Secret is the client secret of a CredentialsClientSecret service
	// principal.
	Secret string

	// AuthorityHost is the Microsoft Entra authority of the token
	// requests, e.g. https://login.microsoftonline.us/ for Azure
	// Government; "" means AZURE_AUTHORITY_HOST, or the public cloud's
	// https://login.microsoftonline.com/.
	AuthorityHost string
	// DisableInstanceDiscovery skips the instance metadata request to
	// login.microsoft.com before authenticating: for disconnected or
	// private clouds (Azure Stack), whose AuthorityHost is then trusted
	// as it is.
	DisableInstanceDiscovery bool

	// Token, for Go callers, is any token credential (an azidentity
	// credential of another kind, a workload identity of one's own ...).
	// When set, Type must be "" and the fields above are unused.
	Token azcore.TokenCredential
}

// authMode is how a normalized Config authenticates.
type authMode int

const (
	authSharedKey authMode = iota
	authToken
	authSAS
)

// usesToken reports whether the credentials are a token credential.
func (c Credentials) usesToken() bool {
	return c.Token != nil || c.Type == CredentialsClientSecret || c.Type == CredentialsDefault
}

// connectionString is what a storage connection string says about the
// blob service.
type connectionString struct {
	accountName string
	accountKey  string
	serviceURL  string
	sas         string
}

// The development storage account (Azurite, the storage emulator) that
// "UseDevelopmentStorage=true" names.
const (
	devAccountName = "devstoreaccount1"
	devAccountKey  = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
	devServiceURL  = "http://127.0.0.1:10000/" + devAccountName
)

// connStringOtherKeys are connection string settings of other storage
// services, which the blob driver has no use for.
var connStringOtherKeys = map[string]bool{
	"queueendpoint": true, "tableendpoint": true, "fileendpoint": true,
	"dfsendpoint": true, "queuesecondaryendpoint": true, "tablesecondaryendpoint": true,
	"filesecondaryendpoint": true, "blobsecondaryendpoint": true,
}

// parseConnectionString reads a storage account connection string
// (https://learn.microsoft.com/azure/storage/common/storage-configure-connection-string):
// semicolon-separated Key=Value settings, keys in any case:
// DefaultEndpointsProtocol (default https), AccountName, AccountKey,
// EndpointSuffix (default core.windows.net), BlobEndpoint (overrides
// protocol, account and suffix), SharedAccessSignature, or
// UseDevelopmentStorage=true (the emulator's devstoreaccount1 at
// http://127.0.0.1:10000, with DevelopmentStorageProxyUri as its host
// if given). Other services' endpoints are ignored; an unknown setting is
// an error.
func parseConnectionString(s string) (connectionString, error) {
	kv := map[string]string{}
	for part := range strings.SplitSeq(strings.TrimSpace(s), ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return connectionString{}, fmt.Errorf("setting %q is not Key=Value", redactSetting(part))
		}
		k = strings.ToLower(strings.TrimSpace(k))
		if _, dup := kv[k]; dup {
			return connectionString{}, fmt.Errorf("setting %s given twice", k)
		}
		kv[k] = strings.TrimSpace(v)
	}
	var cs connectionString
	if dev, ok := kv["usedevelopmentstorage"]; ok {
		if !strings.EqualFold(dev, "true") {
			return cs, fmt.Errorf("UseDevelopmentStorage=%s: only true is meaningful", dev)
		}
		cs = connectionString{accountName: devAccountName, accountKey: devAccountKey, serviceURL: devServiceURL}
		if proxy, ok := kv["developmentstorageproxyuri"]; ok {
			u, err := url.Parse(proxy)
			if err != nil || u.Host == "" {
				return cs, fmt.Errorf("DevelopmentStorageProxyUri %q is not a URL", proxy)
			}
			cs.serviceURL = fmt.Sprintf("%s://%s:10000/%s", u.Scheme, u.Hostname(), devAccountName)
		}
		for k := range kv {
			if k != "usedevelopmentstorage" && k != "developmentstorageproxyuri" {
				return cs, fmt.Errorf("setting %s: not allowed with UseDevelopmentStorage", k)
			}
		}
		return cs, nil
	}
	protocol, suffix := "https", DefaultRealm
	for k, v := range kv {
		switch k {
		case "defaultendpointsprotocol":
			protocol = strings.ToLower(v)
			if protocol != "http" && protocol != "https" {
				return cs, fmt.Errorf("DefaultEndpointsProtocol %q: want http or https", v)
			}
		case "accountname":
			cs.accountName = v
		case "accountkey":
			cs.accountKey = v
		case "endpointsuffix":
			suffix = v
		case "blobendpoint":
			cs.serviceURL = v
		case "sharedaccesssignature":
			cs.sas = strings.TrimPrefix(v, "?")
		default:
			if !connStringOtherKeys[k] {
				return cs, fmt.Errorf("unknown setting %s", k)
			}
		}
	}
	if cs.serviceURL == "" {
		if cs.accountName == "" {
			return cs, fmt.Errorf("needs AccountName or BlobEndpoint")
		}
		cs.serviceURL = fmt.Sprintf("%s://%s.blob.%s", protocol, cs.accountName, suffix)
	}
	if cs.accountKey != "" && cs.sas != "" {
		return cs, fmt.Errorf("has both AccountKey and SharedAccessSignature: give one")
	}
	if cs.accountKey == "" && cs.sas == "" {
		return cs, fmt.Errorf("has neither AccountKey nor SharedAccessSignature")
	}
	return cs, nil
}

// redactSetting returns a connection string setting fit for an error
// message: its key only.
func redactSetting(part string) string {
	if k, _, ok := strings.Cut(part, "="); ok {
		return k + "=..."
	}
	if len(part) > 16 {
		return part[:16] + "..."
	}
	return part
}

// isSAS reports whether the URL query q is a shared access signature (it
// carries a signature, sig).
func isSAS(q url.Values) bool { return q.Get("sig") != "" }

// sasAllowsRead reports whether the SAS query sas grants reading blobs:
// read permission (sp has "r") and, for an account SAS (one with ss), the
// blob service (ss has "b") and objects (srt has "o").
func sasAllowsRead(sas string) bool {
	q, err := url.ParseQuery(sas)
	if err != nil {
		return false
	}
	if !strings.Contains(q.Get("sp"), "r") {
		return false
	}
	if ss := q.Get("ss"); ss != "" {
		return strings.Contains(ss, "b") && strings.Contains(q.Get("srt"), "o")
	}
	return true
}
