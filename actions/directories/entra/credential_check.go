package entra

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

// ManagedIdentityOnly reports whether getenv names no app credential
// (AZURE_CLIENT_SECRET, AZURE_CLIENT_CERTIFICATE_PATH,
// AZURE_FEDERATED_TOKEN_FILE), so that CredentialFromEnv falls back to a
// managed identity, which only the host can provide.
func ManagedIdentityOnly(getenv func(string) string) bool {
	for _, k := range []string{EnvClientSecret, EnvCertificatePath, EnvFederatedTokenFile} {
		if strings.TrimSpace(getenv(k)) != "" {
			return false
		}
	}
	return true
}

// ErrNoCredentials is wrapped by Authenticate's error when there is no app
// credential and no managed identity answered.
var ErrNoCredentials = errors.New("no credentials")

// Authenticate gets a Graph token, to find out at start whether the
// credential works. Its error is one line; when managedOnly (see
// ManagedIdentityOnly) it wraps ErrNoCredentials and names the variables to
// set.
func (d *Directory) Authenticate(ctx context.Context, managedOnly bool) error {
	_, err := d.cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{d.scope}})
	if err == nil {
		return nil
	}
	if managedOnly {
		return fmt.Errorf("%w: set %s, %s and %s (or %s or %s instead of the secret); no managed identity answered either (%s)",
			ErrNoCredentials, EnvTenantID, EnvClientID, EnvClientSecret, EnvCertificatePath, EnvFederatedTokenFile, credentialProblem(err))
	}
	return fmt.Errorf("cannot get a Graph token: %s", credentialProblem(err))
}

// credentialProblem is a credential error in one line. azidentity's errors
// carry the whole HTTP response over many lines; the line that matters is
// Entra's error_description ("AADSTS7000215: Invalid client secret
// provided."), or the first line.
func credentialProblem(err error) string {
	var afe *azidentity.AuthenticationFailedError
	if errors.As(err, &afe) && afe.RawResponse != nil && afe.RawResponse.Body != nil {
		var body struct {
			Error       string `json:"error"`
			Description string `json:"error_description"`
		}
		raw, _ := runtime.Payload(afe.RawResponse)
		if json.Unmarshal(raw, &body) == nil && (body.Error != "" || body.Description != "") {
			desc, _, _ := strings.Cut(body.Description, "\n")
			desc, _, _ = strings.Cut(desc, " Trace ID:")
			return strings.TrimSpace(fmt.Sprintf("%s: HTTP %d %s: %s", credType(err), afe.RawResponse.StatusCode, body.Error, strings.TrimSpace(desc)))
		}
	}
	first, _, _ := strings.Cut(strings.TrimSpace(err.Error()), "\n")
	return strings.TrimSpace(first)
}

// credType is the credential's kind that azidentity puts first in its
// messages ("ClientSecretCredential").
func credType(err error) string {
	kind, _, _ := strings.Cut(err.Error(), " ")
	kind, _, _ = strings.Cut(kind, ":")
	return kind
}
