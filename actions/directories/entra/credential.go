package entra

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

// The environment variables CredentialFromEnv reads (azidentity's names).
const (
	EnvTenantID            = "AZURE_TENANT_ID"
	EnvClientID            = "AZURE_CLIENT_ID"
	EnvClientSecret        = "AZURE_CLIENT_SECRET"
	EnvCertificatePath     = "AZURE_CLIENT_CERTIFICATE_PATH"
	EnvCertificatePassword = "AZURE_CLIENT_CERTIFICATE_PASSWORD"
	EnvFederatedTokenFile  = "AZURE_FEDERATED_TOKEN_FILE"
	EnvAuthorityHost       = "AZURE_AUTHORITY_HOST"
)

// DefaultAuthorityHost is the public cloud's Microsoft Entra authority.
const DefaultAuthorityHost = "https://login.microsoftonline.com/"

// publicAuthorities are the hosts for which Microsoft Entra instance
// discovery stays on: Azure public, Azure US Government, Azure operated by
// 21Vianet.
var publicAuthorities = map[string]bool{
	"login.microsoftonline.com": true,
	"login.microsoftonline.us":  true,
	"login.chinacloudapi.cn":    true,
}

// CredentialFromEnv builds the app-only credential that the environment
// describes, reading it only through getenv:
//
//   - AZURE_CLIENT_SECRET: a client secret, with AZURE_TENANT_ID and
//     AZURE_CLIENT_ID;
//   - else AZURE_CLIENT_CERTIFICATE_PATH (PEM or PKCS#12, optionally
//     AZURE_CLIENT_CERTIFICATE_PASSWORD): a client certificate, with
//     AZURE_TENANT_ID and AZURE_CLIENT_ID;
//   - else AZURE_FEDERATED_TOKEN_FILE: workload identity, with
//     AZURE_TENANT_ID and AZURE_CLIENT_ID;
//   - else a managed identity: user-assigned when AZURE_CLIENT_ID is set,
//     system-assigned otherwise. (azidentity finds the managed identity
//     endpoint of the host from the process environment itself.)
//
// AZURE_AUTHORITY_HOST (default https://login.microsoftonline.com/) selects
// the cloud; any host but the public clouds' also turns instance discovery
// off. transport, when not nil, sends the token requests (an *http.Client
// will do). A missing or malformed value gives one error naming the
// variable; no secret value is ever part of an error.
func CredentialFromEnv(getenv func(string) string, transport policy.Transporter) (azcore.TokenCredential, error) {
	if getenv == nil {
		return nil, errors.New("credential: no environment given")
	}
	if c, ok := transport.(*http.Client); ok && c == nil {
		transport = nil
	}
	env := func(k string) string { return strings.TrimSpace(getenv(k)) }

	authority := env(EnvAuthorityHost)
	if authority == "" {
		authority = DefaultAuthorityHost
	}
	u, err := url.Parse(authority)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.RawQuery != "" || u.User != nil {
		return nil, fmt.Errorf("%s: %q is not an https URL", EnvAuthorityHost, authority)
	}
	noDiscovery := !publicAuthorities[strings.ToLower(u.Hostname())]
	opts := azcore.ClientOptions{
		Cloud:     cloud.Configuration{ActiveDirectoryAuthorityHost: authority},
		Transport: transport,
	}

	tenant, client := env(EnvTenantID), env(EnvClientID)
	needApp := func(how string) error {
		if tenant == "" {
			return fmt.Errorf("%s is required with %s", EnvTenantID, how)
		}
		if !validTenant(tenant) {
			return fmt.Errorf("%s: malformed tenant ID %q (want a GUID or a domain name)", EnvTenantID, tenant)
		}
		if client == "" {
			return fmt.Errorf("%s is required with %s", EnvClientID, how)
		}
		if !isGUID(client) {
			return fmt.Errorf("%s: malformed application (client) ID %q (want a GUID)", EnvClientID, client)
		}
		return nil
	}

	switch {
	case getenv(EnvClientSecret) != "":
		if err := needApp(EnvClientSecret); err != nil {
			return nil, err
		}
		cred, err := azidentity.NewClientSecretCredential(tenant, client, getenv(EnvClientSecret),
			&azidentity.ClientSecretCredentialOptions{ClientOptions: opts, DisableInstanceDiscovery: noDiscovery})
		if err != nil {
			return nil, fmt.Errorf("%s: client secret credential: %w", EnvClientSecret, err)
		}
		return cred, nil

	case env(EnvCertificatePath) != "":
		if err := needApp(EnvCertificatePath); err != nil {
			return nil, err
		}
		path := env(EnvCertificatePath)
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("%s: cannot read %q: %w", EnvCertificatePath, path, err)
		}
		var password []byte
		if p := getenv(EnvCertificatePassword); p != "" {
			password = []byte(p)
		}
		certs, key, err := azidentity.ParseCertificates(data, password)
		if err != nil {
			return nil, fmt.Errorf("%s: cannot load a certificate and private key from %q (is %s right?): %w",
				EnvCertificatePath, path, EnvCertificatePassword, err)
		}
		cred, err := azidentity.NewClientCertificateCredential(tenant, client, certs, key,
			&azidentity.ClientCertificateCredentialOptions{ClientOptions: opts, DisableInstanceDiscovery: noDiscovery})
		if err != nil {
			return nil, fmt.Errorf("%s: client certificate credential: %w", EnvCertificatePath, err)
		}
		return cred, nil

	case env(EnvFederatedTokenFile) != "":
		if err := needApp(EnvFederatedTokenFile); err != nil {
			return nil, err
		}
		file := env(EnvFederatedTokenFile)
		if _, err := os.Stat(file); err != nil {
			return nil, fmt.Errorf("%s: %w", EnvFederatedTokenFile, err)
		}
		cred, err := azidentity.NewWorkloadIdentityCredential(&azidentity.WorkloadIdentityCredentialOptions{
			ClientOptions: opts, ClientID: client, TenantID: tenant, TokenFilePath: file,
			DisableInstanceDiscovery: noDiscovery,
		})
		if err != nil {
			return nil, fmt.Errorf("%s: workload identity credential: %w", EnvFederatedTokenFile, err)
		}
		return cred, nil
	}

	mo := &azidentity.ManagedIdentityCredentialOptions{ClientOptions: opts}
	if client != "" {
		if !isGUID(client) {
			return nil, fmt.Errorf("%s: malformed managed identity client ID %q (want a GUID)", EnvClientID, client)
		}
		mo.ID = azidentity.ClientID(client)
	}
	cred, err := azidentity.NewManagedIdentityCredential(mo)
	if err != nil {
		return nil, fmt.Errorf("no %s, %s or %s set, and no managed identity: %w",
			EnvClientSecret, EnvCertificatePath, EnvFederatedTokenFile, err)
	}
	return cred, nil
}

// isGUID reports whether s looks like 01234567-89ab-cdef-0123-456789abcdef.
func isGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, r := range s {
		switch i {
		case 8, 13, 18, 23:
			if r != '-' {
				return false
			}
		default:
			if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f' || r >= 'A' && r <= 'F') {
				return false
			}
		}
	}
	return true
}

// validTenant accepts what Microsoft Entra accepts as a tenant: a GUID or a
// domain name.
func validTenant(t string) bool {
	for _, r := range t {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.') {
			return false
		}
	}
	return t != ""
}
