package fakegoogle

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
)

// ServiceAccountKey returns a service-account key file around key, shaped as
// the Cloud console hands it out, for the service account clientEmail, with
// private_key_id keyID and token_uri tokenURI (TokenURL for this fake).
func ServiceAccountKey(key *rsa.PrivateKey, clientEmail, keyID, tokenURI string) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("service-account key: %w", err)
	}
	return json.Marshal(map[string]string{
		"type": "service_account", "project_id": "project", "private_key_id": keyID,
		"private_key":  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email": clientEmail, "client_id": "1234567890",
		"auth_uri": "https://accounts.google.com/o/oauth2/auth", "token_uri": tokenURI,
	})
}
